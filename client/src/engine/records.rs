//! What the engine keeps in the sealed store, and the events it reports.

use bincode::{Decode, Encode};
use vigil_protocol::channel::ChannelId;
use vigil_protocol::channel::{GroupMessage, SenderKeyDistribution, SignedChannelState};
use vigil_protocol::content::{DirectContent, MessageRef, Receipt, ReceiptKind};
use vigil_protocol::keys::IdentityPublicKey;
use vigil_protocol::label::Classification;
use vigil_protocol::relay::RelayError;
use vigil_protocol::{MemberCertificate, UnixTime, UserId};

use crate::store::Place;

/// The record keys of single records.
pub(crate) mod keys {
    /// The enrollment bundle (keys, certificate, relay, roots), in [`super::super::Kind::Identity`].
    pub(crate) const BUNDLE: &[u8] = b"bundle";
    /// The seed of this device's key (made at enrolment), in [`super::super::Kind::Identity`].
    pub(crate) const DEVICE: &[u8] = b"device";
    /// The revocation lists in force, in [`super::super::Kind::Meta`].
    pub(crate) const REVOCATIONS: &[u8] = b"revocations";
    /// The own organisation's trust lists applied, oldest first (a `Vec`, at most
    /// [`super::super::trust_lists::TRUST_LISTS_KEPT`]), in [`super::super::Kind::Meta`].
    pub(crate) const TRUST_LISTS: &[u8] = b"trust-lists";
    /// The prekey secrets, in [`super::super::Kind::Prekeys`].
    pub(crate) const PREKEYS: &[u8] = b"prekeys";
    /// The id of the signed prekey last published, in [`super::super::Kind::Meta`].
    pub(crate) const PUBLISHED: &[u8] = b"published";
    /// The receipts to send, in [`super::super::Kind::Meta`].
    pub(crate) const RECEIPTS: &[u8] = b"receipts";
}

/// How far one of our own messages got.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Delivery {
    /// In the outbox: waiting for the relay.
    Queued,
    /// Stored durably by the relay for every recipient.
    Sent,
    /// Refused; not sent. The reason, for the member.
    Failed(String),
    /// Confirmed by the client of every recipient (an end-to-end delivery receipt).
    Delivered,
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Queued => f.write_str("queued"),
            Self::Sent => f.write_str("sent"),
            Self::Failed(why) => write!(f, "failed: {why}"),
            Self::Delivered => f.write_str("delivered"),
        }
    }
}

/// What a history entry says.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Body {
    /// A member's text.
    Text(String),
    /// Something that happened to the channel (a member invited, the label raised, ...).
    Notice(String),
    /// A message that could not be decrypted or verified: kept, shown, never dropped.
    Undecryptable(String),
    /// Something the member must act on (a fork of the channel's history, a change withheld).
    Alert(String),
}

impl Body {
    /// The kind of entry (`text`, `notice`, `alert`, `undecryptable`) and its text, as
    /// `read --json` and the JSON export write them.
    #[must_use]
    pub fn kind_and_text(&self) -> (&'static str, &str) {
        match self {
            Self::Text(t) => ("text", t),
            Self::Notice(t) => ("notice", t),
            Self::Alert(t) => ("alert", t),
            Self::Undecryptable(t) => ("undecryptable", t),
        }
    }
}

/// One entry of a channel's history.
///
/// Stored in two forms: entries written before signers were recorded end after `delivery`;
/// newer ones carry the signer's key after it when there is one (see the `Encode` and `Decode`
/// implementations below), so both read back and each has exactly one encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Who sent it (the relay's view for an undecryptable one; ourselves for our own).
    pub sender: UserId,
    /// The sender's display name, from their certificate.
    pub sender_name: String,
    /// When the sender wrote it (their clock) or when it happened.
    pub at: UnixTime,
    /// What it says.
    pub body: Body,
    /// For our own messages: how far it got.
    pub delivery: Option<Delivery>,
    /// For a member's message: the identity key that signed it (the sender's certificate in
    /// the channel's state), so its trust marker is that key's, never a later key's. `None`
    /// for our own, for notices, and for entries stored before signers were recorded.
    pub signer: Option<IdentityPublicKey>,
}

impl Encode for Entry {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        encoder: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        self.sender.encode(encoder)?;
        self.sender_name.encode(encoder)?;
        self.at.encode(encoder)?;
        self.body.encode(encoder)?;
        self.delivery.encode(encoder)?;
        // Written only when known: an entry without a signer keeps the first form.
        match &self.signer {
            Some(signer) => signer.encode(encoder),
            None => Ok(()),
        }
    }
}

impl<C> Decode<C> for Entry {
    fn decode<D: bincode::de::Decoder<Context = C>>(
        decoder: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        use bincode::de::read::Reader as _;
        let sender = UserId::decode(decoder)?;
        let sender_name = String::decode(decoder)?;
        let at = UnixTime::decode(decoder)?;
        let body = Body::decode(decoder)?;
        let delivery = Option::<Delivery>::decode(decoder)?;
        // An entry is always a whole record: bytes after `delivery` can only be its signer.
        let signer = if decoder.reader().peek_read(1).is_some() {
            Some(IdentityPublicKey::decode(decoder)?)
        } else {
            None
        };
        Ok(Self {
            sender,
            sender_name,
            at,
            body,
            delivery,
            signer,
        })
    }
}

bincode::impl_borrow_decode!(Entry);

/// A job in the outbox, in the order it must reach the relay.
#[derive(Clone, Debug, Encode, Decode)]
pub(crate) enum Job {
    /// Content for one member, encrypted over the 1:1 session with them when it is sent (the
    /// session may have to be started from their prekey bundle first).
    Direct {
        to: UserId,
        /// Their identity key, from the certificate it is meant for (a channel state's): the
        /// session used must be with exactly this key.
        identity: IdentityPublicKey,
        /// What to tell them.
        content: DirectContent,
    },
    /// A payload already encrypted: sent as it is, with the same id, until acknowledged.
    Sealed {
        /// Who gets it.
        recipients: Vec<UserId>,
        /// The channel's level, for the relay's second-line check.
        level: Option<Classification>,
        payload: Vec<u8>,
        /// The channel, when it is a channel message (to recompute recipients after a
        /// revocation).
        channel: Option<ChannelId>,
    },
    /// Receipts for one peer's payloads, over a session with their current certificate; a
    /// `fresh` one (a failure report) over a new session started from their prekey bundle.
    Receipt {
        to: UserId,
        receipt: Receipt,
        fresh: bool,
    },
    /// A [`Job::Direct`] encrypted: sent as it is until acknowledged, and its content kept
    /// until the recipient's client confirms it (see [`SentRecord`]).
    SealedDirect {
        to: UserId,
        identity: IdentityPublicKey,
        content: DirectContent,
        payload: Vec<u8>,
        /// A re-send after a failure report: a second report is ignored.
        retried: bool,
    },
    /// A [`Job::Direct`] sent again after its recipient reported it undecryptable.
    DirectRetry {
        to: UserId,
        identity: IdentityPublicKey,
        content: DirectContent,
    },
    /// A payload we sent, again to the recipients that have not confirmed it (a restored
    /// relay may have lost it): the same bytes with the same client message id.
    Resend {
        reference: MessageRef,
        recipients: Vec<UserId>,
    },
}

/// A payload the relay accepted, kept (sealed) until every recipient's client confirmed it.
#[derive(Clone, Debug, Encode, Decode)]
pub(crate) struct SentRecord {
    /// When it was accepted, in the store's sequence: re-sends go out in this order.
    pub order: u64,
    /// The client message id it was sent with (a re-send uses it again).
    pub id: [u8; 16],
    pub payload: Vec<u8>,
    pub level: Option<Classification>,
    pub channel: Option<ChannelId>,
    /// The recipients whose clients have not confirmed it.
    pub pending: Vec<UserId>,
    /// For a 1:1 payload: the identity key it was encrypted to and its content (sent again over
    /// a fresh session after a failure report).
    pub direct: Option<(IdentityPublicKey, DirectContent)>,
    /// Our history entry to mark delivered, if any.
    pub history: Option<(ChannelId, u64)>,
    /// When it was last handed to the relay.
    pub last_sent: UnixTime,
    /// How many times it was sent again for want of a confirmation.
    pub resends: u32,
    /// Whether a failure report was acted on (or it is itself a re-send after one).
    pub reported: bool,
}

/// One outbox entry.
#[derive(Clone, Debug, Encode, Decode)]
pub(crate) struct OutboxEntry {
    /// The client message id: a resend with it is stored once by the relay.
    pub id: [u8; 16],
    /// What to send.
    pub job: Job,
    /// Our history entry to mark sent or failed, if any.
    pub history: Option<(ChannelId, u64)>,
}

/// A received item that cannot be processed yet, with when it arrived and its size (for the
/// per-sender limits and the warnings of [`super::waiting`]).
#[derive(Clone, Debug, Encode, Decode)]
pub(crate) struct ParkedEntry {
    /// When it was parked.
    pub at: UnixTime,
    /// Its encoded size.
    pub bytes: u64,
    /// Whether the member was warned that it waits too long.
    pub warned: bool,
    pub item: Parked,
}

/// A received item that cannot be processed yet.
#[derive(Clone, Debug, Encode, Decode)]
pub(crate) enum Parked {
    /// A channel message whose sender key or state has not arrived.
    Message {
        /// The relay's view of the sender.
        from: UserId,
        message: Box<GroupMessage>,
    },
    /// A sender key for an epoch or channel we do not have yet.
    SenderKey {
        /// The 1:1 peer it came from.
        from: UserId,
        /// The identity key of the session it came over.
        identity: IdentityPublicKey,
        key: Box<SenderKeyDistribution>,
    },
    /// Part of a channel's chain, sent to us before an invitation (compact form).
    History {
        /// The 1:1 peer it came from.
        from: UserId,
        history: Box<vigil_protocol::content::History>,
    },
    /// A channel state that does not follow our head yet.
    State {
        /// The 1:1 peer it came from.
        from: UserId,
        state: Box<SignedChannelState>,
    },
}

/// A receipt owed to a peer, kept until the outbox takes it (see [`super::receipts`]).
#[derive(Clone, Debug, Encode, Decode)]
pub(crate) struct OwedReceipt {
    pub to: UserId,
    pub kind: ReceiptKind,
    pub message: MessageRef,
}

/// One stored session and the certificate of its peer.
#[derive(Encode, Decode)]
pub(crate) struct StoredSession {
    /// The peer's certificate when the session started.
    pub certificate: MemberCertificate,
    /// The pickled session (secret).
    pub session: Vec<u8>,
}

impl Drop for StoredSession {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.session);
    }
}

/// The sessions with one contact: the current one first.
#[derive(Encode, Decode)]
pub(crate) struct Sessions(pub Vec<StoredSession>);

/// What the engine tells the UI. Exhaustive on purpose: a user interface must decide how to
/// show every kind of event, so a new one is a compile error there, not a silent drop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A new history entry, in a channel or in the member's own history.
    Message {
        /// Where it is kept.
        place: Place,
        /// Its sequence number in the channel's history.
        seq: u64,
        entry: Entry,
    },
    /// A channel was joined, changed, or we were removed from it.
    ChannelChanged { channel: ChannelId },
    /// A contact's keys are new to us, or changed (loud until verified again).
    Trust { user: UserId, warning: TrustWarning },
    /// One of our messages changed delivery state.
    Delivery {
        channel: ChannelId,
        /// The sequence number of our entry in the channel's history.
        seq: u64,
        state: Delivery,
    },
    /// Messages of a sender are missing (lost or withheld).
    Gap {
        channel: ChannelId,
        /// The member whose messages are missing.
        sender: UserId,
        missing: u32,
    },
    /// A message could not be decrypted or verified (it is kept as a placeholder).
    DecryptFailed {
        /// The channel, when known.
        channel: Option<ChannelId>,
        /// The relay's view of the sender.
        sender: UserId,
        reason: String,
    },
    /// A channel needs the member's attention: its history forked, or a change or key has
    /// not arrived in time (the relay may be withholding it). The text says what to do.
    Alert {
        channel: ChannelId,
        /// What happened and what to do.
        text: String,
    },
    /// The connection to the relay changed.
    Connection(Connection),
    /// How many entries wait in the outbox.
    Outbox(usize),
    /// The organisation's trust list changed whom this device trusts (see
    /// [`super::describe_trust_change`]).
    Partners(vigil_protocol::cert::TrustChange),
}

/// A warning about a contact's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustWarning {
    /// First contact: keys pinned now.
    New,
    /// The keys differ from those pinned: verify the safety number again.
    KeyChanged,
}

/// The connection state, for the status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Connecting or logging in.
    Connecting,
    /// Logged in.
    Online,
    /// Logged in, but the relay has not answered for [`crate::client::NOT_ANSWERING_AFTER`]
    /// (a relay that froze, or a path that stopped carrying packets). Local actions go on;
    /// sending waits in the outbox; it is online again at the next answer.
    Degraded,
    /// Not connected; retrying. The last error.
    Offline(String),
    /// The relay refused us (e.g. a revoked certificate); not retrying.
    Refused(RelayError),
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "test code: a failed unwrap is a failed test"
    )]

    use bincode::{Decode, Encode};
    use vigil_protocol::codec;
    use vigil_protocol::keys::IdentityPublicKey;
    use vigil_protocol::{UnixTime, UserId};

    use super::{Body, Delivery, Entry};

    /// An entry as stored before signers were recorded.
    #[derive(Encode, Decode)]
    struct FirstForm {
        sender: UserId,
        sender_name: String,
        at: UnixTime,
        body: Body,
        delivery: Option<Delivery>,
    }

    #[test]
    fn entries_of_both_forms_read_back_and_have_one_encoding() {
        let sender = UserId::new("lead@cert-at").unwrap();
        let old = FirstForm {
            sender: sender.clone(),
            sender_name: "Markus Gruber".into(),
            at: UnixTime(1_795_798_504),
            body: Body::Text("stored by an earlier version".into()),
            delivery: Some(Delivery::Sent),
        };
        let read: Entry = codec::decode(&codec::encode(&old)).unwrap();
        assert_eq!(read.signer, None);
        assert_eq!(read.delivery, Some(Delivery::Sent));
        assert_eq!(codec::encode(&read), codec::encode(&old));

        let signed = Entry {
            signer: Some(IdentityPublicKey([9; 32])),
            delivery: None,
            ..read
        };
        let bytes = codec::encode(&signed);
        assert_eq!(codec::decode::<Entry>(&bytes).unwrap(), signed);
        // A signer cut short is refused, not read as the first form.
        assert!(codec::decode::<Entry>(&bytes[..bytes.len() - 1]).is_err());
    }
}
