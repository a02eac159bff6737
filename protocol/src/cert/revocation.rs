//! Signed, versioned revocation lists.

use bincode::{Decode, Encode};

use super::{OrgRoot, RevocationError};
use crate::ids::{OrgId, Text, UserId};
use crate::keys::{OrgRootKeyPair, Signature, SignatureContext};
use crate::time::UnixTime;

/// One revoked certificate.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RevokedCertificate {
    /// The certificate's serial.
    pub serial: u64,
    /// Its member, for humans reading the list.
    pub user: UserId,
    /// When it was revoked.
    pub revoked_at: UnixTime,
    pub reason: Text,
}

/// What a revocation list says.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RevocationListBody {
    /// The organisation whose certificates it revokes.
    pub org: OrgId,
    /// Monotonic: a list never replaces one with a higher version.
    pub version: u64,
    /// When it was signed.
    pub issued_at: UnixTime,
    /// The revoked certificates.
    pub entries: Vec<RevokedCertificate>,
}

/// A revocation list signed by the organisation's root.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RevocationList {
    body: RevocationListBody,
    signature: Signature,
}

impl RevocationList {
    /// Signs `body` with the org root key.
    #[must_use]
    pub fn sign(root: &OrgRootKeyPair, body: RevocationListBody) -> Self {
        let signature = super::sign_body(root, SignatureContext::RevocationList, &body);
        Self { body, signature }
    }

    /// As [`Self::sign`], signed by `signer` (e.g. a key on a hardware token).
    ///
    /// # Errors
    ///
    /// The signer's error.
    pub fn sign_with<S: crate::keys::RootSigner>(
        signer: &S,
        body: RevocationListBody,
    ) -> Result<Self, S::Error> {
        let signature = super::sign_body_with(signer, SignatureContext::RevocationList, &body)?;
        Ok(Self { body, signature })
    }

    /// What the list says (not yet verified).
    #[must_use]
    pub fn body(&self) -> &RevocationListBody {
        &self.body
    }

    /// Checks the list is `root`'s and carries its valid signature.
    ///
    /// # Errors
    ///
    /// [`RevocationError::UnknownOrg`] for another org's root; [`RevocationError::BadSignature`].
    pub fn verify(&self, root: &OrgRoot) -> Result<(), RevocationError> {
        if root.org() != &self.body.org {
            return Err(RevocationError::UnknownOrg {
                org: self.body.org.clone(),
            });
        }
        super::verify_body(
            root.key(),
            SignatureContext::RevocationList,
            &self.body,
            &self.signature,
        )
        .map_err(|_| RevocationError::BadSignature {
            org: self.body.org.clone(),
        })
    }

    /// The entry revoking certificate `serial`, if any.
    #[must_use]
    pub fn find(&self, serial: u64) -> Option<&RevokedCertificate> {
        self.body.entries.iter().find(|e| e.serial == serial)
    }

    /// The codec encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// Decodes a list (use the trust store to verify and apply it).
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`] when the bytes are not a revocation list.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }
}
