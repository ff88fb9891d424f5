//! Without the `metrics` feature every recording is a no-op.
#![allow(
    dead_code,
    clippy::missing_const_for_fn,
    reason = "the same calls as the `metrics` feature's, compiled away"
)]
use std::time::Duration;

use crate::error::ErrorKind;
use crate::observe::audit::Outcome;

pub(crate) fn request(_: Outcome, _: Option<ErrorKind>) {}
pub(crate) fn verify_duration(_: Duration) {}
pub(crate) fn token_cache(_: bool) {}
pub(crate) fn revocation_cache(_: bool) {}
pub(crate) fn store_call(_: &'static str, _: &'static str, _: Duration, _: Option<&'static str>) {}
pub(crate) fn jwks_fetch(_: &'static str) {}
pub(crate) fn refresh(_: &'static str) {}
pub(crate) fn timer() -> Option<std::time::Instant> {
    None
}
