//! Message keys: each encrypts exactly one message.

use crate::crypto::{DecryptError, Secret32, aead};

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

    fn nonce(&self) -> [u8; 12] {
        aead::counter_nonce(self.index)
    }

    pub(super) fn seal(&self, ad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        aead::seal(self.key.expose(), &self.nonce(), ad, plaintext)
    }

    pub(super) fn open(&self, ad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, DecryptError> {
        aead::open(self.key.expose(), &self.nonce(), ad, ciphertext)
    }
}
