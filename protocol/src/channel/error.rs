//! Why a channel state, sender key or channel message was refused.

use crate::cert::CertError;
use crate::crypto::DecryptError;
use crate::ids::UserId;

/// A channel action refused by the label rules. Each reads as a sentence a duty officer
/// understands.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyRefusal {
    /// A member's clearance does not dominate the channel's level.
    #[error("{user} has clearance {has}; channel requires {needs}")]
    InsufficientClearance {
        user: UserId,
        has: String,
        /// The channel's level.
        needs: String,
    },
    /// `TLP:AMBER+STRICT` admits only the owner's organisation.
    #[error(
        "{user} is not in {owner_org}; TLP:AMBER+STRICT channels admit only the owner's organisation"
    )]
    OutsideOwnerOrg {
        user: UserId,
        /// The owner's organisation.
        owner_org: String,
    },
    /// Only the owner or an admin may change the channel (only the owner may name admins).
    #[error("{user} may not {action}: only {who} may")]
    NotAuthorized {
        /// Who tried.
        user: UserId,
        /// What they tried.
        action: &'static str,
        /// Who may.
        who: &'static str,
    },
    /// Lowering a label is the originating owner's decision alone.
    #[error("{user} may not lower the label from {from} to {to}: only the originating owner may")]
    LoweringByNonOwner {
        /// Who tried.
        user: UserId,
        /// The current label.
        from: String,
        /// The proposed label.
        to: String,
    },
    /// A `REL TO` caveat does not name the member's organisation's country.
    #[error("{user} is of {country}; this channel is releasable to {allowed} only")]
    NotReleasable {
        user: UserId,
        /// Their organisation's country.
        country: String,
        /// The countries the label names.
        allowed: String,
    },
    /// `TLP:RED` content may not be exported or forwarded.
    #[error("TLP:RED messages may not be exported or forwarded")]
    RedNoExport,
}

impl PolicyRefusal {
    /// A stable name of this error, in snake_case, for programs that act on it (`vigil --error-format json`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InsufficientClearance { .. } => "insufficient_clearance",
            Self::OutsideOwnerOrg { .. } => "outside_owner_org",
            Self::NotAuthorized { .. } => "not_authorized",
            Self::LoweringByNonOwner { .. } => "lowering_by_non_owner",
            Self::NotReleasable { .. } => "not_releasable",
            Self::RedNoExport => "red_no_export",
        }
    }
}

/// A channel state, sender key or message was refused. State is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// Refused by the label rules.
    #[error(transparent)]
    Policy(#[from] PolicyRefusal),
    /// A member's certificate was refused.
    #[error(transparent)]
    Certificate(#[from] CertError),
    /// The state's signature does not verify with its author's identity key.
    #[error("channel state is not validly signed by {author}")]
    BadStateSignature {
        /// The claimed author.
        author: UserId,
    },
    /// A state of another channel.
    #[error("state or message of another channel")]
    OtherChannel,
    /// An old state (version not after ours): a replay.
    #[error("replayed channel state: version {offered} is not newer than version {current}")]
    StaleState {
        current: u64,
        /// The offered version.
        offered: u64,
    },
    /// A state that claims to follow ours but names a different predecessor: the channel's
    /// history has forked (two different states with our version exist).
    #[error(
        "channel state version {offered} was built on a different version {current} than ours: \
         the channel's history has forked"
    )]
    Forked {
        current: u64,
        /// The offered version.
        offered: u64,
    },
    /// A state that does not follow ours: states were withheld or are still on their way.
    #[error(
        "channel state version {offered} does not follow our state version {current} (fork or missing states)"
    )]
    NotNext {
        current: u64,
        /// The offered version.
        offered: u64,
    },
    /// Nothing is wrong with the state, but this member may not rely on it yet: its author, or
    /// a certificate it adds, is not valid now, it is too old, or dated ahead of our clock.
    /// Held until a later state confirms it, newer revocation lists settle it, or its time
    /// comes.
    #[error("channel state version {version} is held: {reason}")]
    Unconfirmed {
        /// The version held.
        version: u64,
        reason: Box<Self>,
    },
    /// The newest state of a step is older than the bound.
    #[error("channel state version {version} is more than {max_days} days old")]
    TooOld {
        version: u64,
        /// The bound, in days.
        max_days: u64,
    },
    /// A state dated further ahead of this member's clock than the skew allowed: one of the
    /// two clocks is wrong. Held (it applies when its time comes), never refused: refusing it
    /// would leave every later state of the channel waiting behind it.
    #[error(
        "channel state version {version} is dated {secs_ahead} s ahead of this device's clock \
         (more than {max_skew_secs} s): check both clocks"
    )]
    Early {
        version: u64,
        /// How far ahead.
        secs_ahead: u64,
        /// The skew allowed.
        max_skew_secs: u64,
    },
    /// An admin tried to take over from an owner whose certificate is still valid.
    #[error(
        "the owner {owner} can still act: an admin takes over only from a revoked or expired owner"
    )]
    OwnerStillValid { owner: UserId },
    /// A message of an epoch that ended longer ago than the grace period: its sender may have
    /// been kept unaware of the change (a relay withholding it).
    #[error(
        "message of epoch {epoch}, which ended more than {grace_secs} s ago: its sender may not \
         have received the channel's change"
    )]
    EpochSuperseded {
        epoch: u64,
        /// The grace period.
        grace_secs: u64,
    },
    /// The state's content does not match the change it declares, or breaks a structural rule.
    #[error("malformed channel state: {0}")]
    Malformed(&'static str),
    /// A message names a channel state we do not hold: a forked view, or one not yet received.
    #[error(
        "message from {sender} refers to a channel state we do not hold (forked view or missing update)"
    )]
    UnknownState { sender: UserId },
    /// The message's label is not the channel's: tampered in transit.
    #[error("message label does not match the channel state: tampered")]
    LabelMismatch,
    /// The sender is not (or no longer) a member.
    #[error("{sender} is not a member of this channel")]
    SenderNotMember { sender: UserId },
    /// We are not a member (removed, or never invited).
    #[error("we are not a member of this channel")]
    NotMember,
    /// No sender key of this sender for this epoch yet: keep the message and retry when it
    /// arrives.
    #[error("no sender key of {sender} for epoch {epoch} yet")]
    MissingSenderKey { sender: UserId, epoch: u64 },
    /// A sender key (or message) of an epoch whose state we have not applied yet: keep it and
    /// retry once the state arrives.
    #[error("epoch {epoch} has not begun for us yet; apply the channel state that starts it first")]
    EpochNotYet { epoch: u64 },
    /// We have not made our own sender key for this epoch: call `own_sender_key` first.
    #[error("no own sender key for the current epoch")]
    NoOwnSenderKey,
    /// A sender key of someone else than the 1:1 peer who sent it, or a second, different key
    /// for the same sender and epoch.
    #[error("sender key refused: {0}")]
    BadSenderKey(&'static str),
    /// The message's signature does not verify with the sender's key for that epoch.
    #[error("message signature of {sender} does not verify")]
    BadMessageSignature {
        /// The claimed sender.
        sender: UserId,
    },
    /// Already decrypted (or so old its key was erased).
    #[error("duplicate or replayed channel message (counter {counter} of {sender})")]
    Replayed { sender: UserId, counter: u32 },
    /// The message skips too far ahead.
    #[error("message jumps {gap} messages ahead; at most {max} are accepted")]
    GapTooLarge {
        /// How many it would skip.
        gap: u64,
        max: u32,
    },
    /// The message is of an epoch we no longer keep.
    #[error("message of epoch {epoch}, which is no longer kept")]
    EpochGone { epoch: u64 },
    /// Authentication failed (opaque).
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    /// Plaintext too long.
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLong { len: usize, max: usize },
    /// A chain in compact form would rebuild into more bytes of full states than allowed:
    /// refused before it is rebuilt any further (a few hundred bytes of compact state can
    /// stand for a full state of 2000 certificates).
    #[error("a channel history would rebuild into more than {max_bytes} bytes of states")]
    HistoryTooLarge { max_bytes: usize },
}

impl ChannelError {
    /// A stable name of this error, in snake_case, for programs that act on it (`vigil --error-format json`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Policy(e) => e.kind(),
            Self::Certificate(e) => e.kind(),
            Self::BadStateSignature { .. } => "bad_state_signature",
            Self::OtherChannel => "other_channel",
            Self::StaleState { .. } => "stale_state",
            Self::Forked { .. } => "forked",
            Self::NotNext { .. } => "not_next",
            Self::Unconfirmed { .. } => "unconfirmed",
            Self::TooOld { .. } => "too_old",
            Self::Early { .. } => "early",
            Self::OwnerStillValid { .. } => "owner_still_valid",
            Self::EpochSuperseded { .. } => "epoch_superseded",
            Self::Malformed(..) => "malformed",
            Self::UnknownState { .. } => "unknown_state",
            Self::LabelMismatch => "label_mismatch",
            Self::SenderNotMember { .. } => "sender_not_member",
            Self::NotMember => "not_member",
            Self::MissingSenderKey { .. } => "missing_sender_key",
            Self::EpochNotYet { .. } => "epoch_not_yet",
            Self::NoOwnSenderKey => "no_own_sender_key",
            Self::BadSenderKey(..) => "bad_sender_key",
            Self::BadMessageSignature { .. } => "bad_message_signature",
            Self::Replayed { .. } => "replayed",
            Self::GapTooLarge { .. } => "gap_too_large",
            Self::EpochGone { .. } => "epoch_gone",
            Self::Decrypt(..) => "decrypt",
            Self::TooLong { .. } => "too_long",
            Self::HistoryTooLarge { .. } => "history_too_large",
        }
    }

    /// The reason an [`Self::Unconfirmed`] state is held; any other error as it is.
    #[must_use]
    pub fn unwrap_unconfirmed(self) -> Self {
        match self {
            Self::Unconfirmed { reason, .. } => *reason,
            other => other,
        }
    }
}
