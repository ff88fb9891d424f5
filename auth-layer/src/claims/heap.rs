//! What the allocator reserves: the unit the verified-token cache weighs
//! entries in.

/// What the allocator reserves for a request of `bytes` (glibc on 64-bit:
/// the request plus an 8-byte header, in 16-byte steps, at least 32), 0 for
/// nothing requested.
pub(crate) const fn heap_chunk(bytes: usize) -> usize {
    if bytes == 0 {
        return 0;
    }
    let chunk = (bytes + 8 + 15) & !15;
    if chunk < 32 { 32 } else { chunk }
}
