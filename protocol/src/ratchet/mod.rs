//! The Double Ratchet for 1:1 sessions.
//!
//! Root key and chain keys as in the Signal specification, with HKDF-SHA256 for the root step,
//! HMAC-SHA256 for the chain step and XChaCha20-Poly1305 per message under a random nonce (so a
//! session restored from an older copy of the store never repeats a key/nonce pair). State
//! changes only after a message authenticates, so a forged or replayed message never disturbs a
//! session.

mod chain_key;
mod message_key;
mod pickle;
mod receiving;
mod root_key;
mod session;

pub use session::Session;

use crate::crypto::DecryptError;
use crate::keys::NonContributoryError;

/// Most message keys we derive ahead in one chain to reach a message's counter. Matches
/// vodozemac's `MAX_MESSAGE_GAP` and the Signal guidance: generous for real loss, and it caps
/// the HMACs one forged header can make us compute.
pub const MAX_MESSAGE_GAP: u32 = 2000;

/// Most skipped message keys stored over all receiving chains, for messages that arrive late.
/// Past it the oldest are erased (those messages then fail as replays). 2000 keys of 32 bytes
/// each keeps a session's state under 100 KiB.
pub const MAX_SKIPPED_KEYS: usize = 2000;

/// Most receiving chains kept (libsignal keeps five). A message on an older chain cannot be
/// decrypted; each turn of the conversation makes one chain.
pub const MAX_RECEIVING_CHAINS: usize = 5;

/// A message was refused by a session. The state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Authentication failed (opaque by design).
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    /// Already decrypted, or so old its key was erased under [`MAX_SKIPPED_KEYS`].
    #[error("duplicate or replayed message (counter {counter} was already used or has expired)")]
    Replayed {
        /// The message's counter.
        counter: u32,
    },
    /// The message skips more messages than [`MAX_MESSAGE_GAP`].
    #[error("message jumps {gap} messages ahead; at most {max} are accepted")]
    GapTooLarge {
        /// How many messages it would skip.
        gap: u64,
        /// [`MAX_MESSAGE_GAP`].
        max: u32,
    },
    /// A ratchet public key of low order.
    #[error(transparent)]
    NonContributory(#[from] NonContributoryError),
    /// A first message for a different handshake than this session's.
    #[error("first message belongs to another handshake than this session")]
    OtherHandshake,
    /// The plaintext is longer than [`crate::message::MAX_PLAINTEXT_LEN`].
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLong { len: usize, max: usize },
    /// The sending chain has used every counter (after 2^32 messages without a reply).
    #[error("sending chain exhausted; the session must be restarted")]
    ChainExhausted,
}
