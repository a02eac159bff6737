//! What clients put inside the relay's opaque payloads.
//!
//! A [`Request::Send`](crate::relay::Request::Send) carries one [`Payload`]: either a 1:1
//! [`Envelope`] for one recipient, or a channel [`GroupMessage`] stored once for every member.
//! A 1:1 envelope decrypts to a [`DirectContent`] (channel states and sender keys travel only
//! inside sessions, so the relay never sees a member list or a key); a channel message
//! decrypts to a [`ChannelContent`].

use bincode::{Decode, Encode};
use zeroize::Zeroizing;

use crate::channel::{CompactState, GroupMessage, SenderKeyDistribution, SignedChannelState};
use crate::message::Envelope;

/// One relay payload.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Payload {
    /// For one recipient, over the 1:1 session with them.
    Direct(Envelope),
    /// For every member of a channel (the relay stores it once).
    Channel(Box<GroupMessage>),
}

impl Payload {
    /// The codec encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// Decodes a payload.
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }
}

/// What a 1:1 session carries between clients.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum DirectContent {
    /// A signed channel state: the creation or our invite (we join from it), the next state of
    /// a channel we are in, or the state that removed us.
    ChannelState(Box<SignedChannelState>),
    /// The sender's key for one epoch of a channel.
    SenderKey(Box<SenderKeyDistribution>),
    /// Part of a channel's chain of states, in order, sent to an invitee before the state that
    /// invites them: the invitee verifies the whole chain from the creation before joining.
    History(Box<History>),
    /// What the sender's client learned of payloads we sent it: delivered, or that it could not
    /// decrypt them. Never acknowledged itself (no receipt for a receipt).
    Receipt(Receipt),
}

/// A reference to one relay payload, end to end: the first 16 bytes of SHA-256 over the
/// payload's bytes exactly as the sender handed them to its relay (and as the recipient's
/// relay delivers them). A re-send of the same bytes has the same reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct MessageRef(pub [u8; 16]);

impl MessageRef {
    /// The reference of `payload`.
    #[must_use]
    pub fn of(payload: &[u8]) -> Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::new()
            .chain_update(b"vigil/1 message-ref\0")
            .chain_update(payload)
            .finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Self(out)
    }
}

/// What a [`Receipt`] says of the payloads it names. Later kinds (a read receipt) are added
/// after these; a client that does not know a kind ignores the receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ReceiptKind {
    /// Processed and committed durably by the recipient's client (or recognised as a duplicate
    /// of something it had): the sender may forget it.
    Delivered,
    /// The recipient's client could not decrypt it (sent over a fresh session, started from the
    /// sender's prekey bundle): the sender may send its content again, once, over a fresh
    /// session with the same member and identity key.
    Undecryptable,
}

/// End-to-end receipts for payloads from the receiving member's peer, batched: at most
/// [`MAX_RECEIPT_REFS`] references (a client ignores the ones beyond).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Receipt {
    pub kind: ReceiptKind,
    pub messages: Vec<MessageRef>,
}

/// Most references one [`Receipt`] carries: 16 bytes each, 8 KiB in all, well under a
/// message's size limit; a recipient acknowledging more sends several receipts.
pub const MAX_RECEIPT_REFS: usize = 512;

/// Consecutive states of one channel's chain in compact form (see [`CompactState`]), at most
/// [`MAX_HISTORY_BYTES`] encoded (but at least one state), sent over a 1:1 session.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct History {
    /// The states, consecutive, oldest first.
    pub states: Vec<CompactState>,
}

/// Most bytes of states one [`History`] carries: well under
/// [`crate::message::MAX_PLAINTEXT_LEN`], so a chain of any length travels in several 1:1
/// messages.
pub const MAX_HISTORY_BYTES: usize = 256 * 1024;

impl History {
    /// Splits a chain, from its creation, into messages of at most [`MAX_HISTORY_BYTES`] (a
    /// single larger state travels alone).
    #[must_use]
    pub fn split(chain: &[SignedChannelState]) -> Vec<Self> {
        let mut parts: Vec<Self> = Vec::new();
        let mut size = 0;
        for state in crate::channel::compact_chain(None, chain) {
            let len = crate::codec::encode(&state).len();
            match parts.last_mut() {
                Some(part) if size + len <= MAX_HISTORY_BYTES => {
                    part.states.push(state);
                    size += len;
                }
                _ => {
                    parts.push(Self {
                        states: vec![state],
                    });
                    size = len;
                }
            }
        }
        parts
    }
}

impl DirectContent {
    /// The codec encoding (to be encrypted by a session). May hold a sender key: zeroized.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(crate::codec::encode(self))
    }

    /// Decodes decrypted content.
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }
}

/// What a channel message carries.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ChannelContent {
    /// Text typed by a member.
    Text {
        /// The text (UTF-8, at most [`crate::message::MAX_PLAINTEXT_LEN`] bytes in all).
        text: String,
        /// When the sender's clock says it was written.
        sent_at: crate::UnixTime,
    },
}

impl ChannelContent {
    /// The codec encoding (to be sealed by a channel view).
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(crate::codec::encode(self))
    }

    /// Decodes decrypted content.
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "test code: a failed unwrap is a failed test"
    )]

    use super::{DirectContent, MessageRef, Receipt, ReceiptKind};

    #[test]
    fn a_reference_names_exactly_one_payload_and_a_receipt_reads_back() {
        let payload = b"a payload as the relay carries it".to_vec();
        let mut changed = payload.clone();
        changed[0] ^= 1;
        assert_eq!(MessageRef::of(&payload), MessageRef::of(&payload));
        assert_ne!(MessageRef::of(&payload), MessageRef::of(&changed));
        let receipt = DirectContent::Receipt(Receipt {
            kind: ReceiptKind::Undecryptable,
            messages: vec![MessageRef::of(&payload), MessageRef::of(&changed)],
        });
        let bytes = receipt.to_bytes();
        assert_eq!(DirectContent::from_bytes(&bytes).unwrap(), receipt);
        // Cut short: refused, never read as something else.
        assert!(DirectContent::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }
}
