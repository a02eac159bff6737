//! The 1:1 envelopes: what a session puts on the wire.
//!
//! The header is authenticated (it is part of the associated data) but not encrypted; the relay
//! sees ratchet public keys, counters and random nonces, never content.

use bincode::{Decode, Encode};

use crate::cert::MemberCertificate;
use crate::ids::UserId;
use crate::keys::{AgreementPublicKey, IdentityPublicKey};
use crate::prekey::PrekeyId;

/// Largest plaintext a session encrypts: 512 KiB, half of [`crate::codec::MAX_ENCODED_LEN`],
/// which leaves ample room for headers and the sender's certificate.
pub const MAX_PLAINTEXT_LEN: usize = 512 * 1024;

/// Length of a ratchet message's nonce: XChaCha20-Poly1305's 192 bits, enough to draw at random.
pub const RATCHET_NONCE_LEN: usize = crate::crypto::aead::XNONCE_LEN;

/// The ratchet header of every message.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RatchetHeader {
    /// The sender's current ratchet public key.
    pub ratchet_key: AgreementPublicKey,
    /// How many messages the sender sent on its previous sending chain.
    pub previous_chain_length: u32,
    /// This message's index in the current sending chain.
    pub counter: u32,
}

/// A message of an established session.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RatchetMessage {
    /// The header, authenticated as associated data.
    pub header: RatchetHeader,
    /// The XChaCha20-Poly1305 nonce, drawn at random for this message (authenticated as the
    /// AEAD's nonce). Random rather than the counter, so a session restored from an older copy
    /// of the store, which derives the same message key again, never repeats a (key, nonce)
    /// pair.
    pub nonce: [u8; RATCHET_NONCE_LEN],
    /// XChaCha20-Poly1305 ciphertext with its 16-byte tag.
    pub ciphertext: Vec<u8>,
}

/// A message sent before the responder has answered: it carries what the responder needs to
/// complete the handshake. The initiator sends these until the first reply arrives.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PrekeyMessage {
    /// The initiator's certificate, verified by the responder against its trust store.
    pub sender: MemberCertificate,
    pub recipient: UserId,
    /// The addressee's identity key the initiator found in their certificate.
    pub recipient_identity: IdentityPublicKey,
    /// Which signed prekey the initiator used.
    pub signed_prekey_id: PrekeyId,
    /// Which one-time prekey, if any.
    pub one_time_prekey_id: Option<PrekeyId>,
    /// The initiator's ephemeral handshake key.
    pub base_key: AgreementPublicKey,
    /// The ratchet message itself.
    pub message: RatchetMessage,
}

/// Everything a 1:1 session sends.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Envelope {
    /// A first message (or one sent before the first reply).
    Prekey(Box<PrekeyMessage>),
    /// A message of an established session.
    Ratchet(RatchetMessage),
}

impl Envelope {
    /// The codec encoding: version byte, then the envelope.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// Decodes an envelope.
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`] for anything that is not exactly one envelope of our version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }

    /// The ratchet message inside.
    #[must_use]
    pub fn ratchet_message(&self) -> &RatchetMessage {
        match self {
            Self::Prekey(p) => &p.message,
            Self::Ratchet(m) => m,
        }
    }
}
