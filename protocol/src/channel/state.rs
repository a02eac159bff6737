//! The signed channel state: who is in a channel, under which label, at which epoch, and the
//! hash of the state before it. The chain of states is the channel's auditable history.

use bincode::{Decode, Encode};
use sha2::{Digest as _, Sha256};

use crate::cert::{LocalIdentity, MemberCertificate};
use crate::ids::{Text, UserId};
use crate::keys::{IdentityPublicKey, Signature, SignatureContext};
use crate::label::Label;
use crate::time::UnixTime;

/// Most members a channel holds: a national channel of 1000 with room to spare. Every state
/// carries every member's certificate (~300 bytes), so this keeps a state under 1 MiB.
pub const MAX_MEMBERS: usize = 2000;

/// A channel's identity: 32 random bytes chosen by its creator.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct ChannelId(pub [u8; 32]);

impl std::fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChannelId({})", crate::keys::hex(&self.0))
    }
}

impl ChannelId {
    /// The id's bytes, as a store or wire key.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first six bytes in hex: enough to tell a member's channels apart when two share a
    /// name.
    #[must_use]
    pub fn short(&self) -> String {
        crate::keys::hex(&self.0[..6])
    }
}

/// The id in lowercase hex (64 digits), as the command line shows and accepts it.
impl std::fmt::Display for ChannelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&crate::keys::hex(&self.0))
    }
}

/// The SHA-256 of a signed state; each state names its predecessor by it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct StateHash(pub [u8; 32]);

impl std::fmt::Debug for StateHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StateHash({})", crate::keys::hex(&self.0))
    }
}

/// What a state changed, for the history and for checking that the state says what it claims.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Change {
    /// The channel was created.
    Create,
    /// A member was invited (same epoch: they get current sender keys, no earlier ones).
    Invite {
        /// The new member.
        user: UserId,
    },
    /// Members were removed (new epoch). Removing the owner is an admin's takeover: the author
    /// becomes the owner, and only when the owner's certificate is no longer valid.
    Remove {
        /// The removed members, sorted, each once.
        users: Vec<UserId>,
        /// Why, e.g. "certificate revoked".
        reason: Text,
    },
    /// The label changed (new epoch); the old label is in the previous state.
    Relabel,
    /// The owner named the admins.
    SetAdmins,
    /// New sender keys for everyone without a membership change (new epoch).
    Rekey { reason: Text },
    /// The owner handed ownership (and the originator's right to lower the label) to another
    /// member.
    Transfer {
        /// The new owner.
        to: UserId,
    },
    /// A member's certificate was replaced by a newer one of the same member (a new epoch when
    /// the identity key changed).
    Renew { user: UserId },
}

/// The content of a channel state.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ChannelState {
    pub channel: ChannelId,
    pub name: Text,
    /// Its label: mandatory, in every message's associated data.
    pub label: Label,
    /// The owner: the creator, or whom ownership was transferred to (a signed change in the
    /// history). Holds the originator's right to lower the label.
    pub owner: UserId,
    /// Members the owner allowed to change the channel.
    pub admins: Vec<UserId>,
    /// The members with their certificates, sorted by user id.
    pub members: Vec<MemberCertificate>,
    /// Sender-key epoch: a new one starts on removal, relabel, rekey and a renewal that
    /// changes an identity key.
    pub epoch: u64,
    /// 0 at creation, one more per change.
    pub version: u64,
    /// The hash of the state this one follows (`None` at creation).
    pub previous: Option<StateHash>,
    /// What this state changed.
    pub change: Change,
    /// Who signed it.
    pub author: UserId,
    /// When it was signed.
    pub timestamp: UnixTime,
}

impl ChannelState {
    /// The certificate of `user`, if a member.
    #[must_use]
    pub fn member(&self, user: &UserId) -> Option<&MemberCertificate> {
        self.members.iter().find(|m| &m.body().user == user)
    }

    /// Whether `user` is a member.
    #[must_use]
    pub fn is_member(&self, user: &UserId) -> bool {
        self.member(user).is_some()
    }

    /// Whether `user` is the owner or an admin.
    #[must_use]
    pub fn may_change(&self, user: &UserId) -> bool {
        &self.owner == user || self.admins.contains(user)
    }

    /// SHA-256 over the sorted (user id, identity key) pairs: bound into every message so a
    /// relay cannot make members disagree silently about who is in the channel.
    #[must_use]
    pub fn membership_hash(&self) -> [u8; 32] {
        let pairs: Vec<(&UserId, &IdentityPublicKey)> = self
            .members
            .iter()
            .map(|m| (&m.body().user, &m.body().identity_key))
            .collect();
        let mut hasher = Sha256::new();
        hasher.update(b"vigil/1 membership\0");
        hasher.update(crate::codec::encode(&pairs));
        hasher.finalize().into()
    }
}

/// A channel state signed by its author (the owner or an admin of the previous state).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedChannelState {
    state: ChannelState,
    signature: Signature,
}

impl SignedChannelState {
    /// Signs `state` with `author`'s identity key, without checking anything. Members verify
    /// every state they apply; to make states that pass, use
    /// [`crate::channel::ChannelView::propose`], which checks every rule before signing.
    #[must_use]
    pub fn sign(author: &LocalIdentity, state: ChannelState) -> Self {
        let signature = author.identity().sign(
            SignatureContext::ChannelState,
            &crate::codec::encode(&state),
        );
        Self { state, signature }
    }

    /// What the state says (not yet verified).
    #[must_use]
    pub fn state(&self) -> &ChannelState {
        &self.state
    }

    /// The author's signature.
    #[must_use]
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// A state and a signature, not checked (for rebuilding a state from its compact form).
    pub(crate) fn from_parts(state: ChannelState, signature: Signature) -> Self {
        Self { state, signature }
    }

    /// Checks the signature with `key`.
    pub(crate) fn signature_valid(&self, key: &IdentityPublicKey) -> bool {
        key.verify(
            SignatureContext::ChannelState,
            &crate::codec::encode(&self.state),
            &self.signature,
        )
        .is_ok()
    }

    /// Whether this state's author is the owner or an admin of `authority` and the signature
    /// verifies with the author's identity key there. Evidence that someone who may change
    /// the channel signed it (a state on another branch is a fork to show the members; junk
    /// from anyone else is not), never a reason to apply it.
    #[must_use]
    pub fn signed_by_authority_of(&self, authority: &ChannelState) -> bool {
        let author = &self.state.author;
        authority.may_change(author)
            && authority
                .member(author)
                .is_some_and(|c| self.signature_valid(&c.body().identity_key))
    }

    /// The state's hash.
    #[must_use]
    pub fn hash(&self) -> StateHash {
        let mut hasher = Sha256::new();
        hasher.update(b"vigil/1 channel-state-hash\0");
        hasher.update(crate::codec::encode(self));
        StateHash(hasher.finalize().into())
    }

    /// The codec encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// Decodes a state (apply it to a [`crate::channel::ChannelView`] to verify it).
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }
}
