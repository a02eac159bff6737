//! Chain keys: one HMAC step per message.

use super::message_key::MessageKey;
use crate::crypto::{Secret32, kdf};

/// A sending or receiving chain key and the counter of the next message it yields.
#[derive(Debug)]
pub(super) struct ChainKey {
    key: Secret32,
    index: u32,
}

impl ChainKey {
    pub(super) fn new(key: Secret32, index: u32) -> Self {
        Self { key, index }
    }

    /// The counter of the next message key.
    pub(super) fn index(&self) -> u32 {
        self.index
    }

    pub(super) fn expose(&self) -> &[u8; 32] {
        self.key.expose()
    }

    /// A copy, for tentative derivation that is committed only if decryption succeeds.
    pub(super) fn duplicate(&self) -> Self {
        Self {
            key: self.key.duplicate(),
            index: self.index,
        }
    }

    /// Yields the message key for [`Self::index`] and moves to the next:
    /// `MK = HMAC(CK, 0x01)`, `CK' = HMAC(CK, 0x02)`.
    ///
    /// Returns `None` when the counter space is exhausted.
    pub(super) fn step(&mut self) -> Option<MessageKey> {
        let next_index = self.index.checked_add(1)?;
        let (message, next) = kdf::chain_step(&self.key);
        let key = MessageKey::new(message, self.index);
        self.key = next;
        self.index = next_index;
        Some(key)
    }
}
