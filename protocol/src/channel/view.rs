//! One member's view of a channel: the verified head state, recent states messages may refer
//! to, the member's own sender chain and the sender chains of the others.

use std::collections::{BTreeMap, VecDeque};

use rand_core::CryptoRngCore;

use super::error::ChannelError;
use super::message::{GroupHeader, GroupMessage, GroupPlaintext, SenderKeyDistribution};
use super::rules;
use super::state::{Change, ChannelId, ChannelState, SignedChannelState, StateHash};
use crate::cert::{LocalIdentity, MemberCertificate, TrustStore};
use crate::crypto::{Secret32, aead, kdf};
use crate::ids::{Text, UserId};
use crate::keys::{IdentityKeyPair, IdentityPublicKey, SignatureContext};
use crate::label::Label;
use crate::message::MAX_PLAINTEXT_LEN;
use crate::prekey::MAX_CLOCK_SKEW_SECS;
use crate::time::UnixTime;

/// Recent states a message may name. A message naming an older state (or one we never saw) is
/// refused: a forked or stale view.
pub const MAX_KEPT_STATES: usize = 16;

/// Epochs before the current one whose sender keys are kept for late messages.
pub const MAX_PAST_EPOCHS: u64 = 2;

/// Most keys derived ahead in a sender's chain for one message.
pub const MAX_GROUP_GAP: u32 = 2000;

/// Most skipped message keys stored per sender and epoch; past it the oldest are erased.
pub const MAX_SKIPPED_PER_SENDER: usize = 500;

/// A change an owner or admin proposes.
#[derive(Clone, Debug)]
pub enum Proposal {
    /// Invite a member (their certificate, as verified by the proposer).
    Invite(Box<MemberCertificate>),
    /// Remove a member (new epoch).
    Remove {
        /// The member.
        user: UserId,
        /// Why.
        reason: Text,
    },
    /// Change the label (new epoch).
    Relabel(Label),
    /// Name the admins (owner only).
    SetAdmins(Vec<UserId>),
    /// New sender keys for everyone (new epoch).
    Rekey {
        /// Why.
        reason: Text,
    },
}

/// What applying a state did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The change.
    pub change: Change,
    /// A new epoch began: call [`ChannelView::own_sender_key`] and send it to every member.
    pub new_epoch: bool,
    /// We were removed: nothing sent from now on can be read.
    pub removed_us: bool,
}

#[derive(Debug, bincode::Encode, bincode::Decode)]
struct KeptState {
    hash: StateHash,
    epoch: u64,
    label: Label,
    membership: [u8; 32],
}

#[derive(Debug)]
struct SendingChain {
    epoch: u64,
    key: Secret32,
    index: u32,
    signing: IdentityKeyPair,
}

#[derive(Debug)]
struct ReceivingChain {
    signing_key: IdentityPublicKey,
    key: Secret32,
    next: u32,
    skipped: BTreeMap<u32, Secret32>,
}

/// A member's view of one channel.
#[derive(Debug)]
pub struct ChannelView {
    me: UserId,
    head: SignedChannelState,
    kept: VecDeque<KeptState>,
    own: Option<SendingChain>,
    receiving: BTreeMap<(u64, UserId), ReceivingChain>,
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
        rules::check_state(&state, trust, now)?;
        let signed = SignedChannelState::sign(owner, state);
        let view = Self::join(owner.user(), &signed, trust, now)?;
        Ok((view, signed))
    }

    /// Starts a view from the state that created the channel or invited us, as a new member
    /// does. Our trust in the channel starts there.
    ///
    /// # Errors
    ///
    /// [`ChannelError`]: a state that neither creates the channel nor invites us, a bad
    /// signature, or a broken rule.
    pub fn join(
        me: &UserId,
        signed: &SignedChannelState,
        trust: &TrustStore,
        now: UnixTime,
    ) -> Result<Self, ChannelError> {
        let state = signed.state();
        let entry = match &state.change {
            Change::Create => {
                state.version == 0 && state.previous.is_none() && state.author == state.owner
            }
            Change::Invite { user } => user == me && state.may_change(&state.author),
            _ => false,
        };
        if !entry {
            return Err(ChannelError::Malformed(
                "a view starts at the creation or at our invite",
            ));
        }
        Self::check_signature(state, signed, state)?;
        if state.timestamp.secs_since(now) > MAX_CLOCK_SKEW_SECS {
            return Err(ChannelError::Malformed("timestamp in the future"));
        }
        // Members are checked as of when the state was signed: an invite processed days
        // later (a laptop closed over the weekend) is still valid if a member was revoked
        // meanwhile; the owner removes them with a later state.
        rules::check_state(state, trust, state.timestamp)?;
        if !state.is_member(me) {
            return Err(ChannelError::NotMember);
        }
        let mut view = Self {
            me: me.clone(),
            head: signed.clone(),
            kept: VecDeque::new(),
            own: None,
            receiving: BTreeMap::new(),
        };
        view.keep(signed);
        Ok(view)
    }

    fn check_signature(
        authority: &ChannelState,
        signed: &SignedChannelState,
        next: &ChannelState,
    ) -> Result<(), ChannelError> {
        let author =
            authority
                .member(&next.author)
                .ok_or_else(|| ChannelError::BadStateSignature {
                    author: next.author.clone(),
                })?;
        if signed.signature_valid(&author.body().identity_key) {
            Ok(())
        } else {
            Err(ChannelError::BadStateSignature {
                author: next.author.clone(),
            })
        }
    }

    fn keep(&mut self, signed: &SignedChannelState) {
        let state = signed.state();
        self.kept.push_back(KeptState {
            hash: signed.hash(),
            epoch: state.epoch,
            label: state.label.clone(),
            membership: state.membership_hash(),
        });
        while self.kept.len() > MAX_KEPT_STATES {
            self.kept.pop_front();
        }
    }

    /// The channel.
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
    /// or admin removes them, which starts a new epoch.
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
    /// (e.g. an invitee whose clearance is too low).
    pub fn propose(
        &self,
        author: &LocalIdentity,
        proposal: Proposal,
        trust: &TrustStore,
        now: UnixTime,
    ) -> Result<SignedChannelState, ChannelError> {
        let previous = self.head.state();
        let mut next = previous.clone();
        next.version = previous
            .version
            .checked_add(1)
            .ok_or(ChannelError::Malformed("version exhausted"))?;
        next.previous = Some(self.head.hash());
        next.author = author.user().clone();
        next.timestamp = now.max(previous.timestamp);
        let next_epoch = previous
            .epoch
            .checked_add(1)
            .ok_or(ChannelError::Malformed("epoch exhausted"))?;
        next.change = match proposal {
            Proposal::Invite(certificate) => {
                let user = certificate.body().user.clone();
                next.members.push(*certificate);
                next.members
                    .sort_by(|a, b| a.body().user.cmp(&b.body().user));
                Change::Invite { user }
            }
            Proposal::Remove { user, reason } => {
                next.members.retain(|m| m.body().user != user);
                next.admins.retain(|a| a != &user);
                next.epoch = next_epoch;
                Change::Remove { user, reason }
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
        };
        rules::check_authority(author.user(), previous, &next.change)?;
        rules::check_change(previous, &next)?;
        rules::check_state(&next, trust, now)?;
        Ok(SignedChannelState::sign(author, next))
    }

    /// Verifies `signed` as the next state and makes it the head: it must follow our head, be
    /// signed by an owner or admin of our head, say what its change claims, and obey every rule
    /// for every member at `now`.
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
        let previous = self.head.state();
        let next = signed.state();
        if next.channel != previous.channel {
            return Err(ChannelError::OtherChannel);
        }
        if next.version <= previous.version {
            return Err(ChannelError::StaleState {
                current: previous.version,
                offered: next.version,
            });
        }
        if next.version != previous.version + 1 || next.previous != Some(self.head.hash()) {
            return Err(ChannelError::NotNext {
                current: previous.version,
                offered: next.version,
            });
        }
        rules::check_authority(&next.author, previous, &next.change)?;
        Self::check_signature(previous, signed, next)?;
        if next.timestamp < previous.timestamp
            || next.timestamp.secs_since(now) > MAX_CLOCK_SKEW_SECS
        {
            return Err(ChannelError::Malformed(
                "timestamp before the previous state or in the future",
            ));
        }
        rules::check_change(previous, next)?;
        // As of when it was signed (see `join`).
        rules::check_state(next, trust, next.timestamp)?;

        let new_epoch = next.epoch != previous.epoch;
        let removed: Vec<UserId> = previous
            .members
            .iter()
            .map(|m| m.body().user.clone())
            .filter(|u| !next.is_member(u))
            .collect();
        self.head = signed.clone();
        self.keep(signed);
        let oldest_kept = next.epoch.saturating_sub(MAX_PAST_EPOCHS);
        self.receiving
            .retain(|(epoch, sender), _| *epoch >= oldest_kept && !removed.contains(sender));
        let removed_us = removed.contains(&self.me);
        if new_epoch || removed_us {
            self.own = None;
        }
        if removed_us {
            self.receiving.clear();
        }
        Ok(Applied {
            change: next.change.clone(),
            new_epoch,
            removed_us,
        })
    }

    /// Our sender key for the current epoch (made on first use), at its current position: send
    /// it to every other member over the 1:1 sessions, and to each member invited later.
    ///
    /// # Errors
    ///
    /// [`ChannelError::NotMember`].
    pub fn own_sender_key(
        &mut self,
        rng: &mut impl CryptoRngCore,
    ) -> Result<SenderKeyDistribution, ChannelError> {
        if !self.is_member() {
            return Err(ChannelError::NotMember);
        }
        let epoch = self.head.state().epoch;
        let own = match &mut self.own {
            Some(own) if own.epoch == epoch => own,
            slot => {
                let mut key = [0u8; 32];
                rng.fill_bytes(&mut key);
                let chain = SendingChain {
                    epoch,
                    key: Secret32::new(key),
                    index: 0,
                    signing: IdentityKeyPair::generate(rng),
                };
                zeroize::Zeroize::zeroize(&mut key);
                slot.insert(chain)
            }
        };
        Ok(SenderKeyDistribution {
            channel: self.head.state().channel,
            epoch,
            sender: self.me.clone(),
            chain_key: *own.key.expose(),
            index: own.index,
            signing_key: own.signing.public(),
        })
    }

    /// Stores a sender key that arrived over the 1:1 session with `from`.
    ///
    /// # Errors
    ///
    /// [`ChannelError`]: a key of someone else than `from`, of another channel, of an epoch no
    /// longer kept, of a non-member, or a different key for a sender and epoch we already have.
    pub fn add_sender_key(
        &mut self,
        from: &UserId,
        key: &SenderKeyDistribution,
    ) -> Result<(), ChannelError> {
        let state = self.head.state();
        if &key.sender != from {
            return Err(ChannelError::BadSenderKey(
                "it names another sender than the session it came over",
            ));
        }
        if key.channel != state.channel {
            return Err(ChannelError::OtherChannel);
        }
        if key.epoch > state.epoch {
            return Err(ChannelError::EpochNotYet { epoch: key.epoch });
        }
        if key.epoch < state.epoch.saturating_sub(MAX_PAST_EPOCHS) {
            return Err(ChannelError::EpochGone { epoch: key.epoch });
        }
        if !state.is_member(from) {
            return Err(ChannelError::SenderNotMember {
                sender: from.clone(),
            });
        }
        let slot = (key.epoch, from.clone());
        if let Some(known) = self.receiving.get(&slot) {
            return if known.signing_key == key.signing_key {
                Ok(())
            } else {
                Err(ChannelError::BadSenderKey(
                    "a different key for a sender and epoch we already have",
                ))
            };
        }
        self.receiving.insert(
            slot,
            ReceivingChain {
                signing_key: key.signing_key,
                key: Secret32::from_slice(&key.chain_key),
                next: key.index,
                skipped: BTreeMap::new(),
            },
        );
        Ok(())
    }

    /// Encrypts and signs `plaintext` for every member of the current state. The cost does not
    /// depend on the number of members.
    ///
    /// # Errors
    ///
    /// [`ChannelError::NotMember`], [`ChannelError::NoOwnSenderKey`] (call
    /// [`Self::own_sender_key`] after a new epoch), [`ChannelError::TooLong`].
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<GroupMessage, ChannelError> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(ChannelError::TooLong {
                len: plaintext.len(),
                max: MAX_PLAINTEXT_LEN,
            });
        }
        if !self.is_member() {
            return Err(ChannelError::NotMember);
        }
        let kept = self.kept.back().ok_or(ChannelError::NotMember)?;
        let own = self
            .own
            .as_mut()
            .filter(|o| o.epoch == kept.epoch)
            .ok_or(ChannelError::NoOwnSenderKey)?;
        let next_index = own
            .index
            .checked_add(1)
            .ok_or(ChannelError::Malformed("sending chain exhausted"))?;
        let header = GroupHeader {
            channel: self.head.state().channel,
            epoch: kept.epoch,
            state: kept.hash,
            membership: kept.membership,
            label: kept.label.clone(),
            sender: self.me.clone(),
            counter: own.index,
        };
        let ad = crate::codec::encode(&header);
        let (message_key, next) = kdf::chain_step(&own.key);
        let ciphertext = aead::seal(
            message_key.expose(),
            &aead::counter_nonce(own.index),
            &ad,
            plaintext,
        );
        let signature = own.signing.sign(
            SignatureContext::GroupMessage,
            &GroupMessage::signed_bytes(&ad, &ciphertext),
        );
        own.key = next;
        own.index = next_index;
        Ok(GroupMessage {
            header,
            ciphertext,
            signature,
        })
    }

    /// Verifies and decrypts a channel message. On any error the view is unchanged.
    ///
    /// # Errors
    ///
    /// [`ChannelError`]: another channel, a state we do not hold (fork), a label that is not
    /// the state's, a sender who is not a member now, no sender key yet, a bad signature, a
    /// replay, a gap over the limit, or a failed decryption.
    pub fn open(&mut self, message: &GroupMessage) -> Result<GroupPlaintext, ChannelError> {
        let header = &message.header;
        let state = self.head.state();
        if header.channel != state.channel {
            return Err(ChannelError::OtherChannel);
        }
        if !self.is_member() {
            return Err(ChannelError::NotMember);
        }
        if header.epoch < state.epoch.saturating_sub(MAX_PAST_EPOCHS) {
            return Err(ChannelError::EpochGone {
                epoch: header.epoch,
            });
        }
        let kept = self
            .kept
            .iter()
            .find(|k| k.hash == header.state)
            .ok_or_else(|| ChannelError::UnknownState {
                sender: header.sender.clone(),
            })?;
        if kept.label != header.label {
            return Err(ChannelError::LabelMismatch);
        }
        if kept.epoch != header.epoch || kept.membership != header.membership {
            return Err(ChannelError::Malformed(
                "message epoch or membership differ from its state",
            ));
        }
        if !state.is_member(&header.sender) {
            return Err(ChannelError::SenderNotMember {
                sender: header.sender.clone(),
            });
        }
        let slot = (header.epoch, header.sender.clone());
        let chain =
            self.receiving
                .get_mut(&slot)
                .ok_or_else(|| ChannelError::MissingSenderKey {
                    sender: header.sender.clone(),
                    epoch: header.epoch,
                })?;
        let ad = crate::codec::encode(header);
        chain
            .signing_key
            .verify(
                SignatureContext::GroupMessage,
                &GroupMessage::signed_bytes(&ad, &message.ciphertext),
                &message.signature,
            )
            .map_err(|_| ChannelError::BadMessageSignature {
                sender: header.sender.clone(),
            })?;
        let counter = header.counter;
        if counter < chain.next {
            let key = chain
                .skipped
                .get(&counter)
                .ok_or_else(|| ChannelError::Replayed {
                    sender: header.sender.clone(),
                    counter,
                })?;
            let plaintext = aead::open(
                key.expose(),
                &aead::counter_nonce(counter),
                &ad,
                &message.ciphertext,
            )?;
            chain.skipped.remove(&counter);
            return Ok(GroupPlaintext {
                sender: header.sender.clone(),
                epoch: header.epoch,
                counter,
                plaintext,
                missing: None,
            });
        }
        let gap = counter - chain.next;
        let after = counter
            .checked_add(1)
            .ok_or(ChannelError::Malformed("sender chain exhausted"))?;
        if gap > MAX_GROUP_GAP {
            return Err(ChannelError::GapTooLarge {
                gap: u64::from(gap),
                max: MAX_GROUP_GAP,
            });
        }
        let mut key = chain.key.duplicate();
        let mut skipped = Vec::with_capacity(gap as usize);
        for index in chain.next..counter {
            let (message_key, next) = kdf::chain_step(&key);
            skipped.push((index, message_key));
            key = next;
        }
        let (message_key, next) = kdf::chain_step(&key);
        let plaintext = aead::open(
            message_key.expose(),
            &aead::counter_nonce(counter),
            &ad,
            &message.ciphertext,
        )?;
        let missing = (gap > 0).then_some(chain.next..counter);
        chain.key = next;
        chain.next = after;
        chain.skipped.extend(skipped);
        while chain.skipped.len() > MAX_SKIPPED_PER_SENDER {
            chain.skipped.pop_first();
        }
        Ok(GroupPlaintext {
            sender: header.sender.clone(),
            epoch: header.epoch,
            counter,
            plaintext,
            missing,
        })
    }
}

#[derive(bincode::Encode, bincode::Decode, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct SendingPickle {
    epoch: u64,
    key: [u8; 32],
    index: u32,
    signing_seed: [u8; 32],
}

#[derive(bincode::Encode, bincode::Decode, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct ReceivingPickle {
    epoch: u64,
    #[zeroize(skip)]
    sender: UserId,
    #[zeroize(skip)]
    signing_key: IdentityPublicKey,
    key: [u8; 32],
    next: u32,
    skipped: Vec<(u32, [u8; 32])>,
}

#[derive(bincode::Encode, bincode::Decode, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct ViewPickle {
    #[zeroize(skip)]
    me: UserId,
    #[zeroize(skip)]
    head: SignedChannelState,
    #[zeroize(skip)]
    kept: Vec<KeptState>,
    own: Option<SendingPickle>,
    receiving: Vec<ReceivingPickle>,
}

impl ChannelView {
    /// The view as bytes, for sealing into the client's store.
    ///
    /// # Security
    ///
    /// Contains sender keys: never write it anywhere unencrypted.
    #[must_use]
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let pickle = ViewPickle {
            me: self.me.clone(),
            head: self.head.clone(),
            kept: self
                .kept
                .iter()
                .map(|k| KeptState {
                    hash: k.hash,
                    epoch: k.epoch,
                    label: k.label.clone(),
                    membership: k.membership,
                })
                .collect(),
            own: self.own.as_ref().map(|o| SendingPickle {
                epoch: o.epoch,
                key: *o.key.expose(),
                index: o.index,
                signing_seed: *o.signing.to_seed(),
            }),
            receiving: self
                .receiving
                .iter()
                .map(|((epoch, sender), chain)| ReceivingPickle {
                    epoch: *epoch,
                    sender: sender.clone(),
                    signing_key: chain.signing_key,
                    key: *chain.key.expose(),
                    next: chain.next,
                    skipped: chain
                        .skipped
                        .iter()
                        .map(|(i, k)| (*i, *k.expose()))
                        .collect(),
                })
                .collect(),
        };
        zeroize::Zeroizing::new(crate::codec::encode(&pickle))
    }

    /// Restores a view written by [`Self::to_bytes`]. The head state was verified when it was
    /// applied; it is not verified again.
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`] for bytes that are not a view or break its limits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        let mut pickle: ViewPickle = crate::codec::decode(bytes)?;
        let epochs = usize::try_from(MAX_PAST_EPOCHS)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let max_chains = super::state::MAX_MEMBERS.saturating_mul(epochs);
        if pickle.kept.is_empty()
            || pickle.kept.len() > MAX_KEPT_STATES
            || pickle.receiving.len() > max_chains
            || pickle
                .receiving
                .iter()
                .any(|r| r.skipped.len() > MAX_SKIPPED_PER_SENDER)
        {
            return Err(crate::DecodeError::Malformed(
                "channel view exceeds its limits".into(),
            ));
        }
        let own = pickle.own.as_ref().map(|o| SendingChain {
            epoch: o.epoch,
            key: Secret32::from_slice(&o.key),
            index: o.index,
            signing: IdentityKeyPair::from_seed(&o.signing_seed),
        });
        let receiving = pickle
            .receiving
            .iter()
            .map(|r| {
                let chain = ReceivingChain {
                    signing_key: r.signing_key,
                    key: Secret32::from_slice(&r.key),
                    next: r.next,
                    skipped: r
                        .skipped
                        .iter()
                        .map(|(i, k)| (*i, Secret32::from_slice(k)))
                        .collect(),
                };
                ((r.epoch, r.sender.clone()), chain)
            })
            .collect();
        Ok(Self {
            me: pickle.me.clone(),
            head: pickle.head.clone(),
            kept: std::mem::take(&mut pickle.kept).into(),
            own,
            receiving,
        })
    }
}
