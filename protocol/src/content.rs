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
}

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
