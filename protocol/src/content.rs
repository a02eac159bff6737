//! What clients put inside the relay's opaque payloads.
//!
//! A [`Request::Send`](crate::relay::Request::Send) carries one [`Payload`]: either a 1:1
//! [`Envelope`] for one recipient, or a channel [`GroupMessage`] stored once for every member.
//! A 1:1 envelope decrypts to a [`DirectContent`] (channel states and sender keys travel only
//! inside sessions, so the relay never sees a member list or a key); a channel message
//! decrypts to a [`ChannelContent`].

use bincode::{Decode, Encode};
use zeroize::Zeroizing;

use crate::channel::{GroupMessage, SenderKeyDistribution, SignedChannelState};
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
