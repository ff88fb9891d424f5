//! What the allocator reserves: the unit the verified-token cache weighs
//! entries in.

use std::sync::Arc;

/// A string shared between many tokens (a configured issuer, a key's
/// `kid`): one word in each token that holds it, where an `Arc<str>`
/// would take two.
pub(crate) type SharedStr = Arc<Box<str>>;

/// A new [`SharedStr`].
pub(crate) fn shared_str(text: &str) -> SharedStr {
    Arc::new(Box::from(text))
}

/// What a [`SharedStr`] of `len` bytes reserves on the heap, when a token
/// holds the only copy.
pub(crate) const fn shared_str_bytes(len: usize) -> usize {
    heap_chunk(2 * size_of::<usize>() + size_of::<Box<str>>()) + heap_chunk(len)
}

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
