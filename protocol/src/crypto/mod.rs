//! The primitives as Vigil wires them: ChaCha20-Poly1305, XChaCha20-Poly1305, HKDF-SHA256 and
//! HMAC-SHA256.

pub(crate) mod aead;
#[cfg(test)]
pub(crate) mod kat;
pub(crate) mod kdf;

/// Decryption failed. Deliberately opaque: it never says whether the key, the tag, the
/// associated data or the ciphertext was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("message could not be decrypted")]
pub struct DecryptError;

/// 32 secret bytes on the heap, zeroized on drop, never printed or implicitly copied.
pub(crate) struct Secret32(Box<[u8; 32]>);

impl Secret32 {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        Self(Box::new(bytes))
    }

    pub(crate) fn from_slice(bytes: &[u8; 32]) -> Self {
        Self::new(*bytes)
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// An explicit copy, for state that is updated only once a decryption succeeds.
    pub(crate) fn duplicate(&self) -> Self {
        Self::from_slice(&self.0)
    }
}

impl Drop for Secret32 {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(self.0.as_mut_slice());
    }
}

impl std::fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[secret elided]")
    }
}
