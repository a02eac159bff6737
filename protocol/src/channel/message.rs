//! What channels put on the wire: sender-key distributions (inside 1:1 sessions) and channel
//! messages (through the relay).

use bincode::{Decode, Encode};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::state::{ChannelId, StateHash};
use crate::ids::UserId;
use crate::keys::{IdentityPublicKey, Signature};
use crate::label::Label;

/// A member's sender key for one epoch: their chain key at its current position and the public
/// half of their per-epoch signing key. Secret: it travels only inside 1:1 sessions.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Zeroize, ZeroizeOnDrop)]
pub struct SenderKeyDistribution {
    #[zeroize(skip)]
    pub channel: ChannelId,
    /// The epoch the key is for.
    pub epoch: u64,
    /// Which of the sender's keys for the epoch (0 first; the next after the sender rotated
    /// it, having learned that a member is no longer valid).
    pub generation: u32,
    /// Whose key it is (must be the 1:1 peer it came from).
    #[zeroize(skip)]
    pub sender: UserId,
    /// The chain key at `index`.
    pub chain_key: [u8; 32],
    /// The counter of the next message `chain_key` yields.
    pub index: u32,
    /// The public half of the sender's signing key for this epoch.
    #[zeroize(skip)]
    pub signing_key: IdentityPublicKey,
}

impl std::fmt::Debug for SenderKeyDistribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            channel,
            epoch,
            generation,
            sender,
            chain_key: _,
            index,
            signing_key,
        } = self;
        f.debug_struct("SenderKeyDistribution")
            .field("channel", channel)
            .field("epoch", epoch)
            .field("generation", generation)
            .field("sender", sender)
            .field("index", index)
            .field("signing_key", signing_key)
            .field("chain_key", &"[secret elided]")
            .finish()
    }
}

impl SenderKeyDistribution {
    /// The codec encoding (to be encrypted by a 1:1 session).
    #[must_use]
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(crate::codec::encode(self))
    }

    /// Decodes a distribution.
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }
}

/// The header of a channel message. Visible to the relay (it routes by channel and checks the
/// level as a second line) and, whole, the message's associated data.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct GroupHeader {
    pub channel: ChannelId,
    /// The sender-key epoch.
    pub epoch: u64,
    /// The channel state the sender was in.
    pub state: StateHash,
    /// That state's membership hash.
    pub membership: [u8; 32],
    /// That state's label.
    pub label: Label,
    pub sender: UserId,
    /// The generation of the sender's key for this epoch.
    pub generation: u32,
    /// The message's counter in the sender's chain for this epoch.
    pub counter: u32,
}

/// A channel message: header, nonce, ciphertext, and the sender's per-epoch signature over
/// them.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct GroupMessage {
    /// The header (associated data).
    pub header: GroupHeader,
    /// The XChaCha20-Poly1305 nonce, random: a sender chain restored from a rolled-back store
    /// never repeats a (key, nonce) pair.
    pub nonce: [u8; 24],
    /// XChaCha20-Poly1305 ciphertext with tag.
    pub ciphertext: Vec<u8>,
    /// Ed25519 signature over the encoded header, the nonce and the ciphertext.
    pub signature: Signature,
}

impl GroupMessage {
    /// The codec encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// Decodes a message.
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }

    /// The bytes the signature covers: the header's encoding, the nonce, then the ciphertext.
    pub(crate) fn signed_bytes(ad: &[u8], nonce: &[u8; 24], ciphertext: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(ad.len() + nonce.len() + ciphertext.len());
        bytes.extend_from_slice(ad);
        bytes.extend_from_slice(nonce);
        bytes.extend_from_slice(ciphertext);
        bytes
    }
}

/// A decrypted channel message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupPlaintext {
    /// Who sent it (authenticated by their per-epoch signing key).
    pub sender: UserId,
    pub epoch: u64,
    pub counter: u32,
    pub plaintext: Vec<u8>,
    /// Counters of this sender skipped over by this message and not yet received: a gap the
    /// client shows. Late arrivals fill it.
    pub missing: Option<std::ops::Range<u32>>,
}
