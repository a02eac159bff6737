//! X25519 key agreement keys: identity agreement keys, prekeys and ratchet keys.

use bincode::{Decode, Encode};
use rand_core::CryptoRngCore;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// An X25519 key pair. The secret is boxed and zeroized on drop (`x25519-dalek`'s
/// `ZeroizeOnDrop`); `Debug` prints the public half only.
pub struct AgreementKeyPair {
    secret: Box<StaticSecret>,
    public: AgreementPublicKey,
}

/// The public half of an X25519 key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct AgreementPublicKey(pub [u8; 32]);

/// A Diffie-Hellman result was all zeros: the peer's public key has small order, so the result
/// does not depend on our secret. We refuse it rather than derive keys an attacker knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("non-contributory Diffie-Hellman result (low-order public key)")]
pub struct NonContributoryError;

impl AgreementKeyPair {
    /// Generates a fresh key pair from `rng`.
    #[must_use]
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self::from_secret(StaticSecret::random_from_rng(rng))
    }

    /// Rebuilds a key pair from its 32 secret bytes (clamped by X25519 as RFC 7748 says).
    #[must_use]
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self::from_secret(StaticSecret::from(*bytes))
    }

    fn from_secret(secret: StaticSecret) -> Self {
        let public = AgreementPublicKey(PublicKey::from(&secret).to_bytes());
        Self {
            secret: Box::new(secret),
            public,
        }
    }

    /// The secret bytes, for sealing into an encrypted store; zeroized when dropped.
    ///
    /// # Security
    ///
    /// Never write this anywhere unencrypted.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public half.
    #[must_use]
    pub fn public(&self) -> AgreementPublicKey {
        self.public
    }

    /// X25519 with `their` public key; the shared secret is zeroized when dropped.
    ///
    /// # Errors
    ///
    /// [`NonContributoryError`] when the result is all zeros (a low-order `their`).
    pub fn diffie_hellman(
        &self,
        their: &AgreementPublicKey,
    ) -> Result<Zeroizing<[u8; 32]>, NonContributoryError> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(their.0));
        if !shared.was_contributory() {
            return Err(NonContributoryError);
        }
        Ok(Zeroizing::new(shared.to_bytes()))
    }
}

impl std::fmt::Debug for AgreementKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { secret: _, public } = self;
        f.debug_struct("AgreementKeyPair")
            .field("public", public)
            .field("secret", &"[secret elided]")
            .finish()
    }
}

impl AgreementPublicKey {
    /// The key bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex of the key.
    #[must_use]
    pub fn to_hex(&self) -> String {
        super::hex(&self.0)
    }
}

impl std::fmt::Debug for AgreementPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AgreementPublicKey({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::kat::{Vectors, hex32};

    /// RFC 7748 sections 5.2 and 6.1, through `from_bytes`, `public` and `diffie_hellman`.
    #[test]
    fn rfc7748_known_answers() {
        let vectors = Vectors::parse(include_str!("../../tests/data/kat/rfc7748-x25519.txt"));
        assert_eq!(vectors.len(), 3);
        for v in vectors.iter().take(2) {
            let pair = AgreementKeyPair::from_bytes(&hex32(v.get("SCALAR")));
            let out = pair
                .diffie_hellman(&AgreementPublicKey(hex32(v.get("U"))))
                .unwrap();
            assert_eq!(*out, hex32(v.get("OUTPUT")), "{}", v.name);
        }
        let v = vectors.iter().nth(2).unwrap();
        let alice = AgreementKeyPair::from_bytes(&hex32(v.get("ALICE_PRIVATE")));
        let bob = AgreementKeyPair::from_bytes(&hex32(v.get("BOB_PRIVATE")));
        assert_eq!(alice.public().0, hex32(v.get("ALICE_PUBLIC")));
        assert_eq!(bob.public().0, hex32(v.get("BOB_PUBLIC")));
        let shared = hex32(v.get("SHARED"));
        assert_eq!(*alice.diffie_hellman(&bob.public()).unwrap(), shared);
        assert_eq!(*bob.diffie_hellman(&alice.public()).unwrap(), shared);
    }

    #[test]
    fn low_order_points_are_refused() {
        let pair = AgreementKeyPair::from_bytes(&[7; 32]);
        // The identity and a point of order 8 on Curve25519 (both give an all-zero result).
        let zero = AgreementPublicKey([0; 32]);
        let mut order8 = [0u8; 32];
        order8[0] = 1;
        assert_eq!(pair.diffie_hellman(&zero), Err(NonContributoryError));
        assert_eq!(
            pair.diffie_hellman(&AgreementPublicKey(order8)),
            Err(NonContributoryError)
        );
    }
}
