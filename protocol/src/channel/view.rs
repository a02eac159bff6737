//! One member's view of a channel: the verified head state and the recent states messages may
//! refer to. How states are accepted is here; the sender chains (sealing and opening messages)
//! are in [`super::sender`], the stored form in [`super::pickle`].

use std::collections::{BTreeMap, VecDeque};

use rand_core::CryptoRngCore;

use super::error::ChannelError;
use super::sender::{ReceivingChain, SendingChain};
use super::state::{Change, ChannelId, ChannelState, SignedChannelState, StateHash};
use super::{change, judge, rules};
use crate::cert::{LocalIdentity, MemberCertificate, TrustStore};
use crate::ids::{Text, UserId};
use crate::keys::IdentityPublicKey;
use crate::label::Label;
use crate::time::UnixTime;

/// Recent states a message may name. A message naming an older state (or one we never saw) is
/// refused: a forked or stale view.
pub const MAX_KEPT_STATES: usize = 16;

/// Epochs before the current one whose sender keys are kept for late messages.
pub const MAX_PAST_EPOCHS: u64 = 2;

/// A change an owner or admin proposes.
#[derive(Clone, Debug)]
pub enum Proposal {
    /// Invite a member (their certificate, as verified by the proposer).
    Invite(Box<MemberCertificate>),
    /// Remove members (new epoch). Listing the owner is an admin's takeover, allowed once the
    /// owner's certificate is no longer valid.
    Remove { users: Vec<UserId>, reason: Text },
    /// Change the label (new epoch).
    Relabel(Label),
    /// Name the admins (owner only).
    SetAdmins(Vec<UserId>),
    /// New sender keys for everyone (new epoch).
    Rekey { reason: Text },
    /// Hand ownership to another member (owner only).
    Transfer(UserId),
    /// Replace a member's certificate by their newer one (new epoch when the key changed).
    Renew(Box<MemberCertificate>),
}

/// What applying a state did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub change: Change,
    /// The state's version.
    pub version: u64,
    /// A new epoch began: call [`ChannelView::own_sender_key`] and send it to every member.
    pub new_epoch: bool,
    /// We were removed: nothing sent from now on can be read.
    pub removed_us: bool,
    /// Members the state added (an invitee).
    pub added: Vec<UserId>,
    /// Members the state removed.
    pub removed: Vec<UserId>,
}

#[derive(Debug, bincode::Encode, bincode::Decode)]
pub(super) struct KeptState {
    pub(super) hash: StateHash,
    pub(super) epoch: u64,
    pub(super) label: Label,
    pub(super) membership: [u8; 32],
    /// When this member applied it (its own clock): the grace of the epoch before it runs from
    /// here.
    pub(super) applied_at: UnixTime,
    /// Who this state invited: they were not members of the states kept before it, so they
    /// may not send in those states or their epochs.
    pub(super) newcomers: Vec<UserId>,
}

#[cfg(test)]
impl KeptState {
    /// A copy, for tests that build what a hostile client would.
    pub(super) fn clone_kept(&self) -> Self {
        Self {
            hash: self.hash,
            epoch: self.epoch,
            label: self.label.clone(),
            membership: self.membership,
            applied_at: self.applied_at,
            newcomers: self.newcomers.clone(),
        }
    }
}

/// A member's view of one channel.
#[derive(Debug)]
pub struct ChannelView {
    pub(super) me: UserId,
    pub(super) head: SignedChannelState,
    pub(super) kept: VecDeque<KeptState>,
    pub(super) own: Option<SendingChain>,
    pub(super) receiving: BTreeMap<super::sender::Slot, ReceivingChain>,
}

impl ChannelView {
    /// Creates a channel owned by `owner` with `members` (the owner is added if missing),
    /// checking every rule before signing the first state.
    ///
    /// # Errors
    ///
    /// [`ChannelError`]: a member's certificate refused, insufficient clearance, a member
    /// outside the owner's organisation for `TLP:AMBER+STRICT`, or a malformed member list.
    #[expect(clippy::too_many_arguments, reason = "a channel has this many parts")]
    pub fn create(
        rng: &mut impl CryptoRngCore,
        owner: &LocalIdentity,
        name: Text,
        label: Label,
        mut members: Vec<MemberCertificate>,
        admins: Vec<UserId>,
        trust: &TrustStore,
        now: UnixTime,
    ) -> Result<(Self, SignedChannelState), ChannelError> {
        let mut id = [0u8; 32];
        rng.fill_bytes(&mut id);
        if !members.iter().any(|m| &m.body().user == owner.user()) {
            members.push(owner.certificate().clone());
        }
        members.sort_by(|a, b| a.body().user.cmp(&b.body().user));
        let state = ChannelState {
            channel: ChannelId(id),
            name,
            label,
            owner: owner.user().clone(),
            admins,
            members,
            epoch: 0,
            version: 0,
            previous: None,
            change: Change::Create,
            author: owner.user().clone(),
            timestamp: now,
        };
        change::check_structure(&state)?;
        rules::check_members(&state, trust)?;
        judge::check_proposal(None, &state, trust, now)?;
        let signed = SignedChannelState::sign(owner, state);
        let view = Self::join(owner.user(), std::slice::from_ref(&signed), trust, now)?;
        Ok((view, signed))
    }

    /// Starts a view from the channel's whole chain of states, from its creation to the newest
    /// state we have (which must list us), as a new member does: every link is checked by the
    /// same rules as [`Self::catch_up`], so the owner, the history and the member list are what
    /// their signers made them, not what one signer claims.
    ///
    /// # Errors
    ///
    /// [`ChannelError`]: a chain that does not start at the creation, a broken link, a last
    /// state that does not list us, or [`ChannelError::Unconfirmed`] when this member may not
    /// rely on the newest state yet (keep the chain and retry with later states).
    pub fn join(
        me: &UserId,
        chain: &[SignedChannelState],
        trust: &TrustStore,
        now: UnixTime,
    ) -> Result<Self, ChannelError> {
        let (first, rest) = chain
            .split_first()
            .ok_or(ChannelError::Malformed("an empty chain of states"))?;
        check_creation(first, trust, now)?;
        let mut previous = first;
        for next in rest {
            check_link(previous, next, trust, now)?;
            previous = next;
        }
        let states: Vec<&ChannelState> = chain.iter().map(SignedChannelState::state).collect();
        judge::check_at_receipt(None, &states, trust, now)?;
        if !previous.state().is_member(me) {
            return Err(ChannelError::NotMember);
        }
        let mut view = Self {
            me: me.clone(),
            head: previous.clone(),
            kept: VecDeque::new(),
            own: None,
            receiving: BTreeMap::new(),
        };
        // Messages may name the states since we (last) entered the channel.
        let entered = chain
            .iter()
            .rposition(|s| match &s.state().change {
                Change::Create => true,
                Change::Invite { user } => user == me,
                _ => false,
            })
            .unwrap_or(0);
        for signed in chain.iter().skip(entered) {
            view.keep(signed, now);
        }
        Ok(view)
    }

    pub(super) fn keep(&mut self, signed: &SignedChannelState, now: UnixTime) {
        let state = signed.state();
        let newcomers = match &state.change {
            Change::Invite { user } => vec![user.clone()],
            _ => Vec::new(),
        };
        self.kept.push_back(KeptState {
            hash: signed.hash(),
            epoch: state.epoch,
            label: state.label.clone(),
            membership: state.membership_hash(),
            applied_at: now,
            newcomers,
        });
        while self.kept.len() > MAX_KEPT_STATES {
            self.kept.pop_front();
        }
    }

    #[must_use]
    pub fn id(&self) -> ChannelId {
        self.head.state().channel
    }

    /// The current state.
    #[must_use]
    pub fn head(&self) -> &SignedChannelState {
        &self.head
    }

    /// The current label.
    #[must_use]
    pub fn label(&self) -> &Label {
        &self.head.state().label
    }

    /// Whether we are still a member.
    #[must_use]
    pub fn is_member(&self) -> bool {
        self.head.state().is_member(&self.me)
    }

    /// Members whose certificates are no longer valid at `now` (revoked or expired): an owner
    /// or admin removes them all in one removal, which starts a new epoch.
    #[must_use]
    pub fn invalid_members(&self, trust: &TrustStore, now: UnixTime) -> Vec<UserId> {
        self.head
            .state()
            .members
            .iter()
            .filter(|m| trust.verify_certificate(m, now).is_err())
            .map(|m| m.body().user.clone())
            .collect()
    }

    /// Builds, checks and signs the next state. It is not applied: apply it like everyone else.
    ///
    /// # Errors
    ///
    /// [`ChannelError`]: the author may not make the change, or the result breaks a rule
    /// (e.g. an invitee whose clearance is too low, or a member left in it whose certificate is
    /// no longer valid: remove them in the same removal).
    pub fn propose(
        &self,
        author: &LocalIdentity,
        proposal: Proposal,
        trust: &TrustStore,
        now: UnixTime,
    ) -> Result<SignedChannelState, ChannelError> {
        let previous = self.head.state();
        let held = previous
            .member(author.user())
            .map(|c| c.body().identity_key);
        if held.is_some_and(|key| key != author.identity().public()) {
            return Err(ChannelError::Malformed(
                "the channel holds another certificate of yours (other keys): an owner or admin \
                 must renew it in the channel first",
            ));
        }
        let mut next = previous.clone();
        next.version = previous
            .version
            .checked_add(1)
            .ok_or(ChannelError::Malformed("version exhausted"))?;
        next.previous = Some(self.head.hash());
        next.author = author.user().clone();
        next.timestamp = now.max(previous.timestamp);
        next.change = build_change(&mut next, proposal)?;
        rules::check_authority(author.user(), previous, &next.change)?;
        change::check_structure(&next)?;
        change::check_change(previous, &next)?;
        rules::check_members(&next, trust)?;
        judge::check_proposal(Some(previous), &next, trust, now)?;
        Ok(SignedChannelState::sign(author, next))
    }

    /// Verifies `signed` as the next state and makes it the head (see [`Self::catch_up`]).
    ///
    /// # Errors
    ///
    /// [`ChannelError`]; the view is unchanged.
    pub fn apply(
        &mut self,
        signed: &SignedChannelState,
        trust: &TrustStore,
        now: UnixTime,
    ) -> Result<Applied, ChannelError> {
        let mut applied = self.catch_up(std::slice::from_ref(signed), trust, now)?;
        applied
            .pop()
            .ok_or(ChannelError::Malformed("nothing to apply"))
    }

    /// Verifies `chain`, the states that follow our head in order, and applies the longest
    /// prefix this member may rely on now.
    ///
    /// Every link must follow the one before it (version and hash), be signed by an owner or
    /// admin of the state before it, say what its change claims, obey every label rule, and
    /// rely only on certificates valid as of its timestamp; then, at receipt, the last state
    /// applied must be signed by an author whose certificate is valid now, and every
    /// certificate added on the way that stays in the channel must be valid now.
    ///
    /// # Errors
    ///
    /// [`ChannelError`] when not even the first state can be applied (the view is then
    /// unchanged): [`ChannelError::Unconfirmed`] when it is only held (keep it, retry with
    /// later states or newer revocation lists); anything else refuses it.
    pub fn catch_up(
        &mut self,
        chain: &[SignedChannelState],
        trust: &TrustStore,
        now: UnixTime,
    ) -> Result<Vec<Applied>, ChannelError> {
        let confirmed = confirmed_prefix(&self.head, chain, trust, now)?;
        Ok(chain
            .iter()
            .take(confirmed)
            .map(|signed| self.advance(signed, now))
            .collect())
    }

    /// Makes a verified state the head.
    fn advance(&mut self, signed: &SignedChannelState, now: UnixTime) -> Applied {
        let previous = self.head.state();
        let next = signed.state();
        // Keyed by user: states of 2000 members are compared member by member.
        let keys = |s: &ChannelState| -> BTreeMap<UserId, IdentityPublicKey> {
            s.members
                .iter()
                .map(|m| (m.body().user.clone(), m.body().identity_key))
                .collect()
        };
        let (before, after) = (keys(previous), keys(next));
        let removed: Vec<UserId> = before
            .keys()
            .filter(|u| !after.contains_key(*u))
            .cloned()
            .collect();
        let added: Vec<UserId> = after
            .keys()
            .filter(|u| !before.contains_key(*u))
            .cloned()
            .collect();
        // A renewal with a new identity key: the old key's chains are dropped like a removed
        // member's (that key may be why the certificate was replaced).
        let rekeyed: Vec<UserId> = after
            .iter()
            .filter(|(user, key)| before.get(*user).is_some_and(|old| old != *key))
            .map(|(user, _)| user.clone())
            .collect();
        let new_epoch = next.epoch != previous.epoch;
        let applied = Applied {
            change: next.change.clone(),
            version: next.version,
            new_epoch,
            removed_us: removed.contains(&self.me),
            added,
            removed,
        };
        self.head = signed.clone();
        self.keep(signed, now);
        let oldest_kept = next.epoch.saturating_sub(MAX_PAST_EPOCHS);
        self.receiving.retain(|(epoch, sender, _), _| {
            *epoch >= oldest_kept && !applied.removed.contains(sender) && !rekeyed.contains(sender)
        });
        if new_epoch || applied.removed_us || rekeyed.contains(&self.me) {
            self.own = None;
        }
        if applied.removed_us {
            self.receiving.clear();
        }
        applied
    }
}

/// Fills `next` (a copy of the head with version, link, author and time set) for `proposal`
/// and returns the change it makes.
fn build_change(next: &mut ChannelState, proposal: Proposal) -> Result<Change, ChannelError> {
    let next_epoch = next
        .epoch
        .checked_add(1)
        .ok_or(ChannelError::Malformed("epoch exhausted"))?;
    let sort = |members: &mut Vec<MemberCertificate>| {
        members.sort_by(|a, b| a.body().user.cmp(&b.body().user));
    };
    Ok(match proposal {
        Proposal::Invite(certificate) => {
            let user = certificate.body().user.clone();
            next.members.push(*certificate);
            sort(&mut next.members);
            Change::Invite { user }
        }
        Proposal::Remove { mut users, reason } => {
            users.sort();
            users.dedup();
            next.members.retain(|m| !users.contains(&m.body().user));
            next.admins.retain(|a| !users.contains(a));
            if users.contains(&next.owner) {
                next.owner = next.author.clone();
                let author = next.author.clone();
                next.admins.retain(|a| a != &author);
            }
            next.epoch = next_epoch;
            Change::Remove { users, reason }
        }
        Proposal::Relabel(label) => {
            next.label = label;
            next.epoch = next_epoch;
            Change::Relabel
        }
        Proposal::SetAdmins(admins) => {
            next.admins = admins;
            Change::SetAdmins
        }
        Proposal::Rekey { reason } => {
            next.epoch = next_epoch;
            Change::Rekey { reason }
        }
        Proposal::Transfer(to) => {
            next.owner = to.clone();
            next.admins.retain(|a| a != &to);
            Change::Transfer { to }
        }
        Proposal::Renew(certificate) => {
            let user = certificate.body().user.clone();
            let key_changed = next
                .member(&user)
                .is_some_and(|old| old.body().identity_key != certificate.body().identity_key);
            next.members.retain(|m| m.body().user != user);
            next.members.push(*certificate);
            sort(&mut next.members);
            if key_changed {
                next.epoch = next_epoch;
            }
            Change::Renew { user }
        }
    })
}

/// Checks the author's signature on `next` with their identity key in `authority`.
fn check_signature(
    authority: &ChannelState,
    signed: &SignedChannelState,
) -> Result<(), ChannelError> {
    let author = &signed.state().author;
    match authority.member(author) {
        Some(cert) if signed.signature_valid(&cert.body().identity_key) => Ok(()),
        _ => Err(ChannelError::BadStateSignature {
            author: author.clone(),
        }),
    }
}

/// Everything about the first state of a chain that does not depend on this member's
/// knowledge now: it creates the channel, is signed by its owner, and obeys every rule as of
/// its timestamp.
fn check_creation(
    signed: &SignedChannelState,
    trust: &TrustStore,
    now: UnixTime,
) -> Result<(), ChannelError> {
    let state = signed.state();
    let creates = matches!(state.change, Change::Create)
        && state.version == 0
        && state.epoch == 0
        && state.previous.is_none()
        && state.author == state.owner;
    if !creates {
        return Err(ChannelError::Malformed(
            "a chain of states starts at the channel's creation",
        ));
    }
    change::check_structure(state)?;
    check_signature(state, signed)?;
    rules::check_members(state, trust)?;
    judge::check_as_signed(None, state, trust, now)
}

/// Everything about `next` as the state after `previous` that does not depend on this member's
/// knowledge now (see [`judge`] for what does).
fn check_link(
    previous: &SignedChannelState,
    next: &SignedChannelState,
    trust: &TrustStore,
    now: UnixTime,
) -> Result<(), ChannelError> {
    let (p, n) = (previous.state(), next.state());
    if n.channel != p.channel {
        return Err(ChannelError::OtherChannel);
    }
    if n.version <= p.version {
        return Err(ChannelError::StaleState {
            current: p.version,
            offered: n.version,
        });
    }
    if Some(n.version) != p.version.checked_add(1) {
        return Err(ChannelError::NotNext {
            current: p.version,
            offered: n.version,
        });
    }
    if n.previous != Some(previous.hash()) {
        return Err(ChannelError::Forked {
            current: p.version,
            offered: n.version,
        });
    }
    rules::check_authority(&n.author, p, &n.change)?;
    check_signature(p, next)?;
    change::check_structure(n)?;
    change::check_change(p, n)?;
    rules::check_members(n, trust)?;
    judge::check_as_signed(Some(p), n, trust, now)
}

/// How many states of `chain`, in order after `head`, may be applied now: those that link, up
/// to the first that does not, then the longest prefix of them confirmed at receipt.
fn confirmed_prefix(
    head: &SignedChannelState,
    chain: &[SignedChannelState],
    trust: &TrustStore,
    now: UnixTime,
) -> Result<usize, ChannelError> {
    let mut previous = head;
    let mut states = Vec::with_capacity(chain.len());
    for (i, next) in chain.iter().enumerate() {
        if let Err(e) = check_link(previous, next, trust, now) {
            if i == 0 {
                return Err(e);
            }
            break;
        }
        states.push(next.state());
        previous = next;
    }
    judge::confirmed_prefix(head.state(), &states, trust, now)
}
