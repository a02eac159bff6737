//! Message keys: each encrypts one message, under a random nonce.
//!
//! A message key is derived from the chain key in the stored session, so a store rolled back to
//! an earlier copy derives the same key again for the next message. The nonce is therefore not
//! derived from the counter but drawn at random and sent with the message (XChaCha20-Poly1305,
//! [`aead::seal_random`]): the (key, nonce) pair still never repeats.

use rand_core::CryptoRngCore;

use crate::crypto::aead::{self, XNONCE_LEN};
use crate::crypto::{DecryptError, Secret32};

/// The key of one message, with its counter.
#[derive(Debug)]
pub(super) struct MessageKey {
    key: Secret32,
    index: u32,
}

impl MessageKey {
    pub(super) fn new(key: Secret32, index: u32) -> Self {
        Self { key, index }
    }

    pub(super) fn index(&self) -> u32 {
        self.index
    }

    pub(super) fn expose(&self) -> &[u8; 32] {
        self.key.expose()
    }

    /// Encrypts under a fresh random nonce; returns (nonce, ciphertext with tag).
    pub(super) fn seal(
        &self,
        rng: &mut impl CryptoRngCore,
        ad: &[u8],
        plaintext: &[u8],
    ) -> ([u8; XNONCE_LEN], Vec<u8>) {
        aead::seal_random(self.key.expose(), rng, ad, plaintext)
    }

    pub(super) fn open(
        &self,
        nonce: &[u8; XNONCE_LEN],
        ad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, DecryptError> {
        aead::open_x(self.key.expose(), nonce, ad, ciphertext)
    }
}
