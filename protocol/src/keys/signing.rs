//! Ed25519 signing shared by identity keys and org root keys, with domain separation.

use bincode::{Decode, Encode};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

/// What a signature is for. The context's label is signed together with the message, so a
/// signature made for one purpose can never be presented as one for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureContext {
    /// An org root's self-signature on its public root file.
    OrgRoot,
    /// An org root's signature on a member certificate.
    MemberCertificate,
    /// An org root's signature on a revocation list.
    RevocationList,
    /// A member's signature on a signed prekey.
    SignedPrekey,
    /// A member's signature on a one-time prekey.
    OneTimePrekey,
    /// A member's proof of possession on a certificate request.
    CertificateRequest,
    /// An owner's or admin's signature on a channel state.
    ChannelState,
    /// A member's per-epoch signature on a channel message.
    GroupMessage,
    /// A member's login to a relay, bound to the TLS connection and the device key.
    RelayLogin,
    /// An org root's signature on its organisation's trust list (its partners and their limits).
    TrustList,
    /// A device key's proof of possession at login, bound to the TLS connection.
    DeviceLogin,
}

impl SignatureContext {
    /// The label signed before the message; each ends in a NUL so no label prefixes another.
    #[must_use]
    pub const fn label(self) -> &'static [u8] {
        match self {
            Self::OrgRoot => b"vigil/1 org-root\0",
            Self::MemberCertificate => b"vigil/1 member-certificate\0",
            Self::RevocationList => b"vigil/1 revocation-list\0",
            Self::SignedPrekey => b"vigil/1 signed-prekey\0",
            Self::OneTimePrekey => b"vigil/1 one-time-prekey\0",
            Self::CertificateRequest => b"vigil/1 certificate-request\0",
            Self::ChannelState => b"vigil/1 channel-state\0",
            Self::GroupMessage => b"vigil/1 group-message\0",
            Self::RelayLogin => b"vigil/1 relay-login\0",
            Self::TrustList => b"vigil/1 trust-list\0",
            Self::DeviceLogin => b"vigil/1 device-login\0",
        }
    }

    pub(super) fn framed(self, message: &[u8]) -> Vec<u8> {
        let label = self.label();
        let mut framed = Vec::with_capacity(label.len() + message.len());
        framed.extend_from_slice(label);
        framed.extend_from_slice(message);
        framed
    }
}

/// An Ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Signature(pub [u8; 64]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({})", super::hex(&self.0))
    }
}

/// A signature did not verify (or the public key is not a valid Ed25519 point).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify")]
pub struct SignatureError;

/// The secret half of an Ed25519 key: boxed, zeroized on drop (by `ed25519-dalek`'s
/// `ZeroizeOnDrop`), never printed.
pub(super) struct SigningSecret(Box<SigningKey>);

impl SigningSecret {
    pub(super) fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self(Box::new(SigningKey::generate(rng)))
    }

    pub(super) fn from_seed(seed: &[u8; 32]) -> Self {
        Self(Box::new(SigningKey::from_bytes(seed)))
    }

    pub(super) fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub(super) fn public_bytes(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    pub(super) fn sign(&self, context: SignatureContext, message: &[u8]) -> Signature {
        Signature(self.0.sign(&context.framed(message)).to_bytes())
    }

    /// Raw Ed25519 signature over `message`, for the RFC 8032 known-answer tests only.
    #[cfg(test)]
    pub(super) fn sign_raw(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

/// Verifies with `verify_strict`: rejects small-order keys and non-canonical signatures.
pub(super) fn verify(
    public: &[u8; 32],
    context: SignatureContext,
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    verify_raw(public, &context.framed(message), signature)
}

pub(super) fn verify_raw(
    public: &[u8; 32],
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    let key = VerifyingKey::from_bytes(public).map_err(|_| SignatureError)?;
    let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
    key.verify_strict(message, &signature)
        .map_err(|_| SignatureError)
}

/// Defines an Ed25519 key pair newtype around [`SigningSecret`] and its public key type, so
/// identity keys and org root keys cannot be confused for one another.
macro_rules! signing_key_type {
    ($(#[$pair_doc:meta])* $pair:ident, $(#[$pub_doc:meta])* $public:ident) => {
        $(#[$pair_doc])*
        pub struct $pair(super::signing::SigningSecret);

        impl $pair {
            /// Generates a fresh key pair from `rng`.
            #[must_use]
            pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
                Self(super::signing::SigningSecret::generate(rng))
            }

            /// Rebuilds the key pair from its 32-byte secret seed.
            #[must_use]
            pub fn from_seed(seed: &[u8; 32]) -> Self {
                Self(super::signing::SigningSecret::from_seed(seed))
            }

            /// The secret seed, for sealing into an encrypted store; zeroized when dropped.
            ///
            /// # Security
            ///
            /// Never write this anywhere unencrypted.
            #[must_use]
            pub fn to_seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
                self.0.seed()
            }

            /// The public half.
            #[must_use]
            pub fn public(&self) -> $public {
                $public(self.0.public_bytes())
            }

            /// Signs `message` for `context`.
            #[must_use]
            pub fn sign(
                &self,
                context: super::SignatureContext,
                message: &[u8],
            ) -> super::Signature {
                self.0.sign(context, message)
            }
        }

        impl std::fmt::Debug for $pair {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($pair))
                    .field("public", &self.public())
                    .field("secret", &"[secret elided]")
                    .finish()
            }
        }

        $(#[$pub_doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, bincode::Encode, bincode::Decode)]
        pub struct $public(pub [u8; 32]);

        impl $public {
            /// Verifies `signature` over `message` for `context` (strict Ed25519).
            ///
            /// # Errors
            ///
            /// [`super::SignatureError`] when it does not verify.
            pub fn verify(
                &self,
                context: super::SignatureContext,
                message: &[u8],
                signature: &super::Signature,
            ) -> Result<(), super::SignatureError> {
                super::signing::verify(&self.0, context, message, signature)
            }

            /// The key bytes.
            #[must_use]
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lower-case hex of the key, for display and fingerprints.
            #[must_use]
            pub fn to_hex(&self) -> String {
                super::hex(&self.0)
            }

            /// SHA-256 of the key as 16 groups of 4 hex digits, for humans to compare.
            #[must_use]
            pub fn fingerprint(&self) -> String {
                super::fingerprint(&self.0)
            }
        }

        impl std::fmt::Debug for $public {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($public), self.to_hex())
            }
        }
    };
}

pub(super) use signing_key_type;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::kat::{Vectors, hex_bytes, hex32};

    /// RFC 8032 section 7.1, through our seed handling, signing and strict verification.
    #[test]
    fn rfc8032_known_answers() {
        let vectors = Vectors::parse(include_str!("../../tests/data/kat/rfc8032-ed25519.txt"));
        assert_eq!(vectors.len(), 4);
        for v in vectors.iter() {
            let secret = SigningSecret::from_seed(&hex32(v.get("SECRET")));
            let public = hex32(v.get("PUBLIC"));
            assert_eq!(secret.public_bytes(), public, "{}", v.name);
            let message = hex_bytes(v.get("MESSAGE"));
            let expected = Signature(hex_bytes(v.get("SIGNATURE")).try_into().unwrap());
            assert_eq!(secret.sign_raw(&message), expected, "{}", v.name);
            assert_eq!(verify_raw(&public, &message, &expected), Ok(()));
            let mut forged = expected;
            forged.0[5] ^= 0x40;
            assert_eq!(verify_raw(&public, &message, &forged), Err(SignatureError));
        }
    }

    #[test]
    fn contexts_separate_signatures() {
        let secret = SigningSecret::from_seed(&[9; 32]);
        let public = secret.public_bytes();
        let sig = secret.sign(SignatureContext::SignedPrekey, b"key");
        assert_eq!(
            verify(&public, SignatureContext::SignedPrekey, b"key", &sig),
            Ok(())
        );
        assert_eq!(
            verify(&public, SignatureContext::OneTimePrekey, b"key", &sig),
            Err(SignatureError)
        );
    }
}
