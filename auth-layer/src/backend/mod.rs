//! Connection set-up shared by the stores of one backend.

#[cfg(feature = "redis")]
pub(crate) mod redis;
