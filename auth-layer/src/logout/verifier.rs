//! The layer's verifier, seen by the receiver without its claims type.

use crate::layer::Shared;
use crate::verify::{Accepted, LogoutRules, Refusal};

/// A layer's verifier, whatever its claims type.
pub(crate) trait VerifyLogout: Send + Sync + 'static {
    /// Checks a logout token (section 2.6).
    fn verify_logout<'r>(
        &self,
        token: &str,
        rules: &'r LogoutRules,
    ) -> Result<Accepted, Refusal<'r>>;

    /// Whether the layer has keys for `issuer`; `Err` says how to fix it.
    fn check_logout_issuer(&self, issuer: &str) -> Result<(), &'static str>;
}

impl<C: Send + Sync + 'static> VerifyLogout for Shared<C> {
    fn verify_logout<'r>(
        &self,
        token: &str,
        rules: &'r LogoutRules,
    ) -> Result<Accepted, Refusal<'r>> {
        self.verifier.verify_logout(token, rules)
    }

    fn check_logout_issuer(&self, issuer: &str) -> Result<(), &'static str> {
        self.verifier.check_logout_issuer(issuer)
    }
}
