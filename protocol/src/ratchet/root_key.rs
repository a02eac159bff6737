//! The root key: advanced by each Diffie-Hellman ratchet step.

use super::chain_key::ChainKey;
use crate::crypto::{Secret32, kdf};
use crate::keys::{AgreementKeyPair, AgreementPublicKey, NonContributoryError};

const ROOT_INFO: &[u8] = b"vigil/1 ratchet\0";

/// The root key of a session.
#[derive(Debug)]
pub(super) struct RootKey(Secret32);

impl RootKey {
    pub(super) fn new(key: Secret32) -> Self {
        Self(key)
    }

    pub(super) fn expose(&self) -> &[u8; 32] {
        self.0.expose()
    }

    /// One ratchet step: `(RK', CK) = HKDF(salt = RK, ikm = DH(ours, theirs), info)`.
    pub(super) fn advance(
        &self,
        ours: &AgreementKeyPair,
        theirs: &AgreementPublicKey,
    ) -> Result<(Self, ChainKey), NonContributoryError> {
        let shared = ours.diffie_hellman(theirs)?;
        let out: zeroize::Zeroizing<[u8; 64]> =
            kdf::hkdf_sha256(self.0.expose(), &*shared, &[ROOT_INFO]);
        let (root, chain) = out.split_at(32);
        Ok((Self(secret(root)), ChainKey::new(secret(chain), 0)))
    }
}

fn secret(half: &[u8]) -> Secret32 {
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(half);
    let key = Secret32::new(bytes);
    zeroize::Zeroize::zeroize(&mut bytes);
    key
}
