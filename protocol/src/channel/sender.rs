//! The sender chains of a channel view: our own sender key per epoch, the other members' keys
//! as they arrived over the 1:1 sessions, and sealing and opening channel messages with them.

use std::collections::BTreeMap;

use rand_core::CryptoRngCore;

use super::error::ChannelError;
use super::message::{GroupHeader, GroupMessage, GroupPlaintext, SenderKeyDistribution};
use super::view::{ChannelView, KeptState, MAX_PAST_EPOCHS};
use crate::crypto::{Secret32, aead, kdf};
use crate::ids::UserId;
use crate::keys::{IdentityKeyPair, IdentityPublicKey, SignatureContext};
use crate::message::MAX_PLAINTEXT_LEN;
use crate::time::UnixTime;

/// Most keys derived ahead in a sender's chain for one message.
pub const MAX_GROUP_GAP: u32 = 2000;

/// Most skipped message keys stored per sender and epoch; past it the oldest are erased.
pub const MAX_SKIPPED_PER_SENDER: usize = 500;

/// How long after this member applied a new epoch messages of the epoch before it are still
/// opened. Long enough for messages already on their way when the change was made; past it a
/// message of the old epoch means its sender never received the change (a relay may be
/// withholding it while a removed member still reads the old epoch): it is refused, visibly.
pub const EPOCH_GRACE_SECS: u64 = 600;

/// Generations of one sender's key kept per epoch: a member rotates its key within an epoch
/// when it learns that another member is no longer valid (before an owner or admin removes
/// them); late messages of the generation before still open, older ones are dropped.
pub const MAX_GENERATIONS_KEPT: u32 = 2;

/// Where a receiving chain is kept: epoch, sender, generation.
pub(super) type Slot = (u64, UserId, u32);

#[derive(Debug)]
pub(super) struct SendingChain {
    pub(super) epoch: u64,
    pub(super) generation: u32,
    pub(super) key: Secret32,
    pub(super) index: u32,
    pub(super) signing: IdentityKeyPair,
}

#[derive(Debug)]
pub(super) struct ReceivingChain {
    pub(super) signing_key: IdentityPublicKey,
    pub(super) key: Secret32,
    pub(super) next: u32,
    pub(super) skipped: BTreeMap<u32, Secret32>,
}

impl SendingChain {
    /// A new random chain key and signing key for `epoch` and `generation`.
    fn fresh(rng: &mut impl CryptoRngCore, epoch: u64, generation: u32) -> Self {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        let chain = Self {
            epoch,
            generation,
            key: Secret32::new(key),
            index: 0,
            signing: IdentityKeyPair::generate(rng),
        };
        zeroize::Zeroize::zeroize(&mut key);
        chain
    }
}

impl ChannelView {
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
        if self.own.as_ref().is_none_or(|own| own.epoch != epoch) {
            self.own = Some(SendingChain::fresh(rng, epoch, 0));
        }
        self.own_distribution()
    }

    /// Replaces our sender key for the current epoch by a fresh one (the next generation),
    /// for a member who learned that another member is no longer valid: sent only to the
    /// valid members, it is what everything we seal from now on needs, so the invalid member
    /// reads nothing more of ours even before an owner or admin removes them.
    ///
    /// # Errors
    ///
    /// [`ChannelError::NotMember`]; [`ChannelError::Malformed`] when the generations of the
    /// epoch are exhausted.
    pub fn rotate_own_sender_key(
        &mut self,
        rng: &mut impl CryptoRngCore,
    ) -> Result<SenderKeyDistribution, ChannelError> {
        if !self.is_member() {
            return Err(ChannelError::NotMember);
        }
        let epoch = self.head.state().epoch;
        let generation = match &self.own {
            Some(own) if own.epoch == epoch => own
                .generation
                .checked_add(1)
                .ok_or(ChannelError::Malformed("sender key generations exhausted"))?,
            _ => 0,
        };
        self.own = Some(SendingChain::fresh(rng, epoch, generation));
        self.own_distribution()
    }

    /// The generation of our sender key for the current epoch, once we made one.
    #[must_use]
    pub fn sending_generation(&self) -> Option<u32> {
        let epoch = self.head.state().epoch;
        self.own
            .as_ref()
            .filter(|own| own.epoch == epoch)
            .map(|own| own.generation)
    }

    fn own_distribution(&self) -> Result<SenderKeyDistribution, ChannelError> {
        let own = self.own.as_ref().ok_or(ChannelError::NoOwnSenderKey)?;
        Ok(SenderKeyDistribution {
            channel: self.head.state().channel,
            epoch: own.epoch,
            generation: own.generation,
            sender: self.me.clone(),
            chain_key: *own.key.expose(),
            index: own.index,
            signing_key: own.signing.public(),
        })
    }

    /// Stores a sender key that arrived over the 1:1 session with `from`, whose identity key
    /// (as certified when the session started) is `from_identity`.
    ///
    /// # Errors
    ///
    /// [`ChannelError`]: a key of someone else than `from`, over a session with another
    /// identity key than the one in the channel state's certificate of `from`, of another
    /// channel, of an epoch no longer kept, of a non-member, or a different key for a sender
    /// and epoch we already have.
    pub fn add_sender_key(
        &mut self,
        from: &UserId,
        from_identity: &IdentityPublicKey,
        key: &SenderKeyDistribution,
    ) -> Result<(), ChannelError> {
        self.check_sender_key(from, from_identity, key)?;
        let slot = (key.epoch, from.clone(), key.generation);
        if let Some(known) = self.receiving.get(&slot) {
            return if known.signing_key == key.signing_key {
                Ok(())
            } else {
                Err(ChannelError::BadSenderKey(
                    "a different key for a sender, epoch and generation we already have",
                ))
            };
        }
        let mut generations = self.generations(key.epoch, from);
        if generations
            .last()
            .is_some_and(|g| key.generation.saturating_add(MAX_GENERATIONS_KEPT) <= *g)
        {
            return Err(ChannelError::BadSenderKey(
                "a generation of this sender's key older than those kept",
            ));
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
        // Keep the newest generations of this sender and epoch only.
        generations.push(key.generation);
        generations.sort_unstable();
        let excess = generations
            .len()
            .saturating_sub(MAX_GENERATIONS_KEPT as usize);
        for old in generations.into_iter().take(excess) {
            self.receiving.remove(&(key.epoch, from.clone(), old));
        }
        Ok(())
    }

    /// The generations of `from`'s key we hold for `epoch`, sorted.
    fn generations(&self, epoch: u64, from: &UserId) -> Vec<u32> {
        let mut generations: Vec<u32> = self
            .receiving
            .keys()
            .filter(|(e, s, _)| *e == epoch && s == from)
            .map(|(_, _, g)| *g)
            .collect();
        generations.sort_unstable();
        generations
    }

    /// Everything about a sender key but what we already hold: from its sender, of this
    /// channel, of a kept epoch not before the sender was invited, over a session with the
    /// identity key the state holds for them.
    fn check_sender_key(
        &self,
        from: &UserId,
        from_identity: &IdentityPublicKey,
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
        let Some(certificate) = state.member(from) else {
            return Err(ChannelError::SenderNotMember {
                sender: from.clone(),
            });
        };
        if &certificate.body().identity_key != from_identity {
            return Err(ChannelError::BadSenderKey(
                "it came over a session with another identity key than the channel's certificate \
                 of its sender",
            ));
        }
        let joined = self
            .kept
            .iter()
            .filter(|k| k.newcomers.contains(from))
            .map(|k| k.epoch)
            .max();
        if joined.is_some_and(|epoch| key.epoch < epoch) {
            return Err(ChannelError::BadSenderKey(
                "it is for an epoch before its sender was invited",
            ));
        }
        Ok(())
    }

    /// Encrypts and signs `plaintext` for every member of the current state. The cost does not
    /// depend on the number of members.
    ///
    /// # Errors
    ///
    /// [`ChannelError::NotMember`], [`ChannelError::NoOwnSenderKey`] (call
    /// [`Self::own_sender_key`] after a new epoch), [`ChannelError::TooLong`].
    pub fn seal(
        &mut self,
        rng: &mut impl CryptoRngCore,
        plaintext: &[u8],
    ) -> Result<GroupMessage, ChannelError> {
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
            generation: own.generation,
            counter: own.index,
        };
        let ad = crate::codec::encode(&header);
        let (message_key, next) = kdf::chain_step(&own.key);
        let (nonce, ciphertext) = aead::seal_random(message_key.expose(), rng, &ad, plaintext);
        let signature = own.signing.sign(
            SignatureContext::GroupMessage,
            &GroupMessage::signed_bytes(&ad, &nonce, &ciphertext),
        );
        own.key = next;
        own.index = next_index;
        Ok(GroupMessage {
            header,
            nonce,
            ciphertext,
            signature,
        })
    }

    /// Verifies and decrypts a channel message received at `now`. On any error the view is
    /// unchanged.
    ///
    /// # Errors
    ///
    /// [`ChannelError`]: another channel, a state we do not hold (fork), a label that is not
    /// the state's, a sender who is not a member now, an epoch that ended more than
    /// [`EPOCH_GRACE_SECS`] ago, no sender key yet, a bad signature, a replay, a gap over the
    /// limit, or a failed decryption.
    pub fn open(
        &mut self,
        message: &GroupMessage,
        now: UnixTime,
    ) -> Result<GroupPlaintext, ChannelError> {
        let header = &message.header;
        self.check_header(header, now)?;
        let slot = (header.epoch, header.sender.clone(), header.generation);
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
                &GroupMessage::signed_bytes(&ad, &message.nonce, &message.ciphertext),
                &message.signature,
            )
            .map_err(|_| ChannelError::BadMessageSignature {
                sender: header.sender.clone(),
            })?;
        let (plaintext, missing) = chain.open(header, &ad, &message.nonce, &message.ciphertext)?;
        Ok(GroupPlaintext {
            sender: header.sender.clone(),
            epoch: header.epoch,
            counter: header.counter,
            plaintext,
            missing,
        })
    }

    /// Everything about a message's header that does not need its sender's key: this channel,
    /// a state we hold with the label, epoch and membership it names, a sender who is a member
    /// now, and an epoch still kept and within its grace.
    fn check_header(&self, header: &GroupHeader, now: UnixTime) -> Result<(), ChannelError> {
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
        // Invited after the state the message names: not a member of it.
        let invited_since = self
            .kept
            .iter()
            .skip_while(|k| k.hash != header.state)
            .skip(1)
            .any(|k| k.newcomers.contains(&header.sender));
        if invited_since {
            return Err(ChannelError::SenderNotMember {
                sender: header.sender.clone(),
            });
        }
        if let Some(ended) = epoch_ended(&self.kept, header.epoch)
            && now.secs_since(ended) > EPOCH_GRACE_SECS
        {
            return Err(ChannelError::EpochSuperseded {
                epoch: header.epoch,
                grace_secs: EPOCH_GRACE_SECS,
            });
        }
        Ok(())
    }
}

/// When this member applied the first state after `epoch` (`None` while it is current).
fn epoch_ended(kept: &std::collections::VecDeque<KeptState>, epoch: u64) -> Option<UnixTime> {
    kept.iter().find(|k| k.epoch > epoch).map(|k| k.applied_at)
}

impl ReceivingChain {
    /// Opens the message at `header.counter`: a skipped key when it is late, else derives
    /// ahead (at most [`MAX_GROUP_GAP`]), keeping the skipped keys. Returns the plaintext and
    /// the counters skipped. Unchanged on error.
    fn open(
        &mut self,
        header: &GroupHeader,
        ad: &[u8],
        nonce: &[u8; 24],
        ciphertext: &[u8],
    ) -> Result<(Vec<u8>, Option<std::ops::Range<u32>>), ChannelError> {
        let counter = header.counter;
        if counter < self.next {
            let key = self
                .skipped
                .get(&counter)
                .ok_or_else(|| ChannelError::Replayed {
                    sender: header.sender.clone(),
                    counter,
                })?;
            let plaintext = aead::open_x(key.expose(), nonce, ad, ciphertext)?;
            self.skipped.remove(&counter);
            return Ok((plaintext, None));
        }
        let gap = counter - self.next;
        let after = counter
            .checked_add(1)
            .ok_or(ChannelError::Malformed("sender chain exhausted"))?;
        if gap > MAX_GROUP_GAP {
            return Err(ChannelError::GapTooLarge {
                gap: u64::from(gap),
                max: MAX_GROUP_GAP,
            });
        }
        let mut key = self.key.duplicate();
        let mut skipped = Vec::with_capacity(gap as usize);
        for index in self.next..counter {
            let (message_key, next) = kdf::chain_step(&key);
            skipped.push((index, message_key));
            key = next;
        }
        let (message_key, next) = kdf::chain_step(&key);
        let plaintext = aead::open_x(message_key.expose(), nonce, ad, ciphertext)?;
        let missing = (gap > 0).then_some(self.next..counter);
        self.key = next;
        self.next = after;
        self.skipped.extend(skipped);
        while self.skipped.len() > MAX_SKIPPED_PER_SENDER {
            self.skipped.pop_first();
        }
        Ok((plaintext, missing))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

    use rand_core::SeedableRng as _;

    use super::*;
    use crate::cert::{CertificateBody, LocalIdentity, MemberCertificate, OrgRoot, TrustStore};
    use crate::channel::{ChannelError, Proposal};
    use crate::keys::{AgreementKeyPair, OrgRootKeyPair};
    use crate::label::Label;
    use crate::policy::ClassificationPolicy;

    const NOW: UnixTime = UnixTime(1_795_798_504);

    fn member(rng: &mut rand_chacha::ChaCha20Rng, root: &OrgRootKeyPair, n: u64) -> LocalIdentity {
        let identity = IdentityKeyPair::generate(rng);
        let agreement = AgreementKeyPair::generate(rng);
        let body = CertificateBody {
            serial: n,
            org: "CERT-AT".parse().unwrap(),
            user: format!("m{n}@cert-at").parse().unwrap(),
            display_name: format!("member {n}").parse().unwrap(),
            roles: vec![],
            clearance: crate::cert::Clearance {
                policy: "EU".parse().unwrap(),
                level: 3,
            },
            identity_key: identity.public(),
            agreement_key: agreement.public(),
            not_before: UnixTime(NOW.0 - 60),
            not_after: NOW.plus_days(30),
        };
        let certificate = MemberCertificate::issue(root, body).unwrap();
        LocalIdentity::new(certificate, identity, agreement).unwrap()
    }

    /// A member invited since a state cannot send a message naming that state (or a key for
    /// an epoch before they were invited), even with a client that builds one.
    #[test]
    fn a_member_invited_since_cannot_post_into_the_time_before() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let root = OrgRootKeyPair::generate(&mut rng);
        let mut trust = TrustStore::new();
        let org_root = OrgRoot::create(
            &root,
            "CERT-AT".parse().unwrap(),
            "AT".parse().unwrap(),
            NOW,
        );
        trust.add_root(org_root).unwrap();
        let (owner, old, newcomer) = (
            member(&mut rng, &root, 1),
            member(&mut rng, &root, 2),
            member(&mut rng, &root, 3),
        );
        let label = Label::parse("TLP:AMBER | EU RESTRICTED", ClassificationPolicy::eu()).unwrap();
        let name = "c".parse().unwrap();
        let members = vec![old.certificate().clone()];
        let (mut owner_view, created) =
            ChannelView::create(&mut rng, &owner, name, label, members, vec![], &trust, NOW)
                .unwrap();
        let mut old_view =
            ChannelView::join(old.user(), std::slice::from_ref(&created), &trust, NOW).unwrap();
        let invite = owner_view
            .propose(
                &owner,
                Proposal::Invite(Box::new(newcomer.certificate().clone())),
                &trust,
                NOW,
            )
            .unwrap();
        owner_view.apply(&invite, &trust, NOW).unwrap();
        old_view.apply(&invite, &trust, NOW).unwrap();
        let mut new_view =
            ChannelView::join(newcomer.user(), &[created, invite], &trust, NOW).unwrap();
        let identity = newcomer.certificate().body().identity_key;
        let key = new_view.own_sender_key(&mut rng).unwrap();
        old_view
            .add_sender_key(newcomer.user(), &identity, &key)
            .unwrap();
        // The newcomer's client names the state before its invitation (it has the chain).
        let before = ChannelView::from_bytes(&old_view.to_bytes()).unwrap().kept[0].clone_kept();
        new_view.kept.push_back(before);
        let forged = new_view.seal(&mut rng, b"written into the past").unwrap();
        assert!(matches!(
            old_view.open(&forged, NOW),
            Err(ChannelError::SenderNotMember { .. })
        ));
        // Nor is a key for an epoch before the invitation accepted.
        let rekey = owner_view
            .propose(
                &owner,
                Proposal::Rekey {
                    reason: "r".parse().unwrap(),
                },
                &trust,
                NOW,
            )
            .unwrap();
        old_view.apply(&rekey, &trust, NOW).unwrap();
        let second = member(&mut rng, &root, 4);
        owner_view.apply(&rekey, &trust, NOW).unwrap();
        let invite = owner_view
            .propose(
                &owner,
                Proposal::Invite(Box::new(second.certificate().clone())),
                &trust,
                NOW,
            )
            .unwrap();
        old_view.apply(&invite, &trust, NOW).unwrap();
        let mut past = key;
        past.sender = second.user().clone();
        past.epoch = 0;
        let identity = second.certificate().body().identity_key;
        assert!(matches!(
            old_view.add_sender_key(second.user(), &identity, &past),
            Err(ChannelError::BadSenderKey(_))
        ));
    }
}
