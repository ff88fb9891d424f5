//! Token parsing and verification: see the harness in `src/lib.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| auth_layer_fuzz::run(data));
