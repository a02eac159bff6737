//! Signing as an organisation's root without holding its key in memory: the key pair itself,
//! or a key that never leaves a hardware token (PKCS#11), which the keytool drives.

use std::convert::Infallible;

use super::{OrgRootKeyPair, OrgRootPublicKey, Signature, SignatureContext};

/// Something that signs as an organisation's root.
pub trait RootSigner {
    /// Why signing failed (a token removed, a PIN refused); [`Infallible`] for a key in memory.
    type Error;

    /// The root's public key.
    fn root_public(&self) -> OrgRootPublicKey;

    /// An Ed25519 signature over [`signing_input`]`(context, message)`.
    ///
    /// # Errors
    ///
    /// [`Self::Error`] when the signer cannot sign.
    fn sign_as_root(
        &self,
        context: SignatureContext,
        message: &[u8],
    ) -> Result<Signature, Self::Error>;
}

impl RootSigner for OrgRootKeyPair {
    type Error = Infallible;

    fn root_public(&self) -> OrgRootPublicKey {
        self.public()
    }

    fn sign_as_root(
        &self,
        context: SignatureContext,
        message: &[u8],
    ) -> Result<Signature, Infallible> {
        Ok(self.sign(context, message))
    }
}

/// The bytes an Ed25519 signature for `context` covers: the context's label, then `message`.
/// A signer outside this crate (a hardware token) signs exactly these.
#[must_use]
pub fn signing_input(context: SignatureContext, message: &[u8]) -> Vec<u8> {
    context.framed(message)
}
