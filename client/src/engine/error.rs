//! Why the engine refused or failed: one variant per refusal, carrying what it is about rather
//! than a sentence, so callers and tests match the refusal and the user reads the sentence.
//!
//! # Security
//!
//! Channel names and reasons are chosen by other members: a variant that shows one passes it
//! through [`crate::sanitize::line`] in its message.

use std::path::PathBuf;

use vigil_protocol::channel::{ChannelError, ChannelId};
use vigil_protocol::label::Tlp;
use vigil_protocol::provisioning::{ArmorError, FileKind};
use vigil_protocol::{CertError, DecodeError, HandshakeError, IdError, UserId};

use super::listing::Candidate;
use crate::sanitize::line;
use crate::store::StoreError;

/// Why the engine refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store failed (a full disk, a damaged record, a wrong passphrase).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A channel state, sender key or message was refused by the channel's rules or did not
    /// verify.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// A member's certificate was refused (untrusted root, expired, revoked).
    #[error(transparent)]
    Certificate(#[from] CertError),

    /// The bundle file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadBundle {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The bundle file is not an armoured Vigil file.
    #[error("{}: {source}", path.display())]
    BundleArmor { path: PathBuf, source: ArmorError },
    /// The file is another kind of Vigil file.
    #[error("{} is a {kind:?} file, not an enrollment bundle", path.display())]
    NotABundle { path: PathBuf, kind: FileKind },
    /// The sealed bundle does not decode.
    #[error("{}: {source}", path.display())]
    BundleEncoding { path: PathBuf, source: DecodeError },
    /// The bundle does not open with this passphrase (or was altered).
    #[error("wrong bundle passphrase for {}, or the bundle was altered", path.display())]
    BundlePassphrase { path: PathBuf },
    /// The bundle's keys do not match its certificate.
    #[error(transparent)]
    BundleIdentity(CertError),
    /// The bundle's certificate is not valid under the bundle's own roots.
    #[error("the bundle's certificate: {0}")]
    BundleCertificate(#[source] CertError),
    /// A root the bundle trusts does not verify.
    #[error("a trusted root in the bundle: {0}")]
    BundleRoot(#[source] CertError),

    /// No channel of ours has the name (or id prefix) the user typed.
    #[error("no channel {0:?}: see `vigil channel list`")]
    NoChannelNamed(String),
    /// Several of our channels have the name the user typed (channels other members created
    /// can have any name): every one of them, to name one by its id.
    #[error(
        "{} channels are called {:?}; name one by its id: {}",
        candidates.len(),
        line(name),
        candidates.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    AmbiguousChannel {
        name: String,
        candidates: Vec<Candidate>,
    },
    /// We already hold a channel of this name: a second one could not be told apart by name.
    #[error(
        "you already have a channel called {:?} ({}): choose another name",
        line(name),
        existing.short()
    )]
    DuplicateChannelName { name: String, existing: ChannelId },
    /// We hold no channel with this id.
    #[error("unknown channel")]
    UnknownChannel(ChannelId),
    /// The channel name is not acceptable text (empty, too long, a control character).
    #[error("channel name: {0}")]
    ChannelName(#[source] IdError),
    /// The reason for a removal is not acceptable text.
    #[error("reason: {0}")]
    Reason(#[source] IdError),
    /// The member to remove is not in the channel.
    #[error("{user} is not a member")]
    NotMember { channel: ChannelId, user: UserId },
    /// We were removed from the channel: nothing can be sent to it.
    #[error("you are no longer a member of this channel")]
    NoLongerMember(ChannelId),
    /// The text to send is empty or only white space.
    #[error("nothing to send: the message is empty")]
    EmptyMessage,
    /// `TLP:RED` channels are never exported.
    #[error("{}: {tlp} channels are never exported or forwarded", line(name))]
    NoExport { name: String, tlp: Tlp },

    /// We share no channel with this member, so we hold no certificate of theirs.
    #[error("no certificate of {0} known here: share a channel with them first")]
    UnknownContact(UserId),
    /// Our own certificate is no longer valid (expired, revoked).
    #[error("our own certificate: {0}")]
    OwnCertificate(#[source] CertError),
    /// The safety number read out does not match ours.
    #[error(
        "the safety number does not match the one for {0}: do not trust this contact until you \
         have found out why"
    )]
    SafetyNumberMismatch(UserId),
    /// The keys of a member we are inviting differ from those we pinned.
    #[error(
        "{0}'s keys changed since you last saw them: compare safety numbers (`vigil verify {0}`) \
         before inviting them"
    )]
    KeyChanged(UserId),
    /// The relay answered a request for one member's certificate with another's.
    #[error(
        "the relay answered a request for {requested}'s certificate with one of {got}: nothing \
         was signed"
    )]
    CertificateOfOther { requested: UserId, got: UserId },
    /// The relay answered a request for one member's keys with another member's certificate.
    #[error("the relay answered a request for {requested}'s keys with a certificate of {got}")]
    BundleOfOther { requested: UserId, got: UserId },
    /// The relay's certificate of a member has another identity key than the channel's.
    #[error(
        "{0}'s certificate at the relay has another identity key than the one this channel holds \
         for them: an owner must renew them in the channel first (`vigil channel renew`), or the \
         relay is lying"
    )]
    IdentityKeyMismatch(UserId),
    /// A session cannot be started from the member's prekey bundle.
    #[error("{user}'s prekeys: {source}")]
    Prekeys {
        user: UserId,
        source: HandshakeError,
    },
}

impl EngineError {
    /// A stable name of this error, in snake_case, for programs that act on it (`vigil --error-format json`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Store(StoreError::Busy { .. }) => "home_busy",
            Self::Store(..) => "store",
            Self::Channel(e) => e.kind(),
            Self::Certificate(e) => e.kind(),
            Self::ReadBundle { .. } => "read_bundle",
            Self::BundleArmor { .. } => "bundle_armor",
            Self::NotABundle { .. } => "not_a_bundle",
            Self::BundleEncoding { .. } => "bundle_encoding",
            Self::BundlePassphrase { .. } => "bundle_passphrase",
            Self::BundleIdentity(..) => "bundle_identity",
            Self::BundleCertificate(..) => "bundle_certificate",
            Self::BundleRoot(..) => "bundle_root",
            Self::NoChannelNamed(..) => "no_channel_named",
            Self::AmbiguousChannel { .. } => "ambiguous_channel",
            Self::DuplicateChannelName { .. } => "duplicate_channel_name",
            Self::UnknownChannel(..) => "unknown_channel",
            Self::ChannelName(..) => "channel_name",
            Self::Reason(..) => "reason",
            Self::NotMember { .. } => "not_member",
            Self::NoLongerMember(..) => "no_longer_member",
            Self::EmptyMessage => "empty_message",
            Self::NoExport { .. } => "no_export",
            Self::UnknownContact(..) => "unknown_contact",
            Self::OwnCertificate(..) => "own_certificate",
            Self::SafetyNumberMismatch(..) => "safety_number_mismatch",
            Self::KeyChanged(..) => "key_changed",
            Self::CertificateOfOther { .. } => "certificate_of_other",
            Self::BundleOfOther { .. } => "bundle_of_other",
            Self::IdentityKeyMismatch(..) => "identity_key_mismatch",
            Self::Prekeys { .. } => "prekeys",
        }
    }

    /// Whether this is a refusal by policy or verification (exit code 1), as opposed to a
    /// usage, I/O or store error.
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::Channel(_)
            | Self::Certificate(_)
            | Self::BundleIdentity(_)
            | Self::BundleCertificate(_)
            | Self::BundleRoot(_)
            | Self::NoLongerMember(_)
            | Self::NoExport { .. }
            | Self::OwnCertificate(_)
            | Self::SafetyNumberMismatch(_)
            | Self::KeyChanged(_)
            | Self::CertificateOfOther { .. }
            | Self::BundleOfOther { .. }
            | Self::IdentityKeyMismatch(_)
            | Self::Prekeys { .. } => true,
            Self::Store(_)
            | Self::BundlePassphrase { .. }
            | Self::ReadBundle { .. }
            | Self::BundleArmor { .. }
            | Self::NotABundle { .. }
            | Self::BundleEncoding { .. }
            | Self::NoChannelNamed(_)
            | Self::AmbiguousChannel { .. }
            | Self::DuplicateChannelName { .. }
            | Self::UnknownChannel(_)
            | Self::ChannelName(_)
            | Self::Reason(_)
            | Self::NotMember { .. }
            | Self::EmptyMessage
            | Self::UnknownContact(_) => false,
        }
    }

    /// The process exit code for this error: 1 refused by policy or verification, 2 otherwise.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        if self.is_refusal() { 1 } else { 2 }
    }
}
