//! Channels as the member works with them: creating, changing (invite, remove, relabel,
//! admins, transfer, renewal; what the member reads of them is in [`super::listing`]) and what an applied change asks of us (notices, sender
//! keys for a new epoch or a new member, queued messages sealed again for a new epoch).

use vigil_protocol::channel::ChannelId;
use vigil_protocol::channel::{
    Applied, Change, ChannelError, ChannelState, ChannelView, Proposal, SignedChannelState,
};
use vigil_protocol::content::{DirectContent, History};
use vigil_protocol::label::Label;
use vigil_protocol::prekey::PrekeyBundle;
use vigil_protocol::{MemberCertificate, Text, UnixTime, UserId};

use super::records::{Body, Event};
use super::{Engine, EngineError};
use crate::store::Batch;
use crate::trust::Verdict;

/// Who was invited, as the inviter should see them before trusting the invitation went to
/// the right person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitee {
    pub user: UserId,
    /// Their display name.
    pub display_name: String,
    pub org: String,
    /// Their clearance, as a marking.
    pub clearance: String,
    /// The fingerprint of their identity key.
    pub fingerprint: String,
    /// Whether we had seen (and pinned) them before.
    pub known: bool,
}

impl Engine {
    /// Creates a channel with us as owner and only member.
    ///
    /// # Errors
    ///
    /// [`EngineError::Channel`] when a rule forbids it (our clearance below the level),
    /// [`EngineError::ChannelName`] for a name that is not acceptable text,
    /// [`EngineError::DuplicateChannelName`] when we hold a channel of that name already.
    pub fn create_channel(
        &mut self,
        name: &str,
        label: Label,
        now: UnixTime,
    ) -> Result<(ChannelId, Vec<Event>), EngineError> {
        let name = Text::new(name).map_err(EngineError::ChannelName)?;
        if let Some(existing) = self.channel_named(name.as_str()) {
            return Err(EngineError::DuplicateChannelName {
                name: name.to_string(),
                existing,
            });
        }
        let (mut view, created) = ChannelView::create(
            &mut self.rng,
            &self.local,
            name,
            label,
            Vec::new(),
            Vec::new(),
            &self.trust,
            now,
        )?;
        view.own_sender_key(&mut self.rng)?;
        let id = view.id();
        let notice = format!(
            "{} created this channel, labelled {}",
            self.local.user(),
            view.label()
        );
        self.channels.insert(id, view);
        let me = self.local.user().clone();
        let events = self.transact(|engine, batch, events| {
            engine.stage_chain(batch, &created);
            engine.stage_channel(batch, id);
            engine.notice(batch, events, id, me, Body::Notice(notice), now)?;
            events.push(Event::ChannelChanged { channel: id });
            Ok(())
        })?;
        Ok((id, events))
    }

    /// Invites `requested`, whose certificate and prekey bundle the relay gave us: the
    /// certificate must be of exactly that member and chain to a trusted root, and a contact
    /// whose keys changed since we last saw them is refused until verified. The channel's
    /// rules are checked before anything is signed. The invitee is sent the channel's whole
    /// chain of states, then the state that invites them.
    ///
    /// # Errors
    ///
    /// [`EngineError::Channel`] with the rule's reason.
    pub fn invite(
        &mut self,
        channel: ChannelId,
        requested: &UserId,
        certificate: &MemberCertificate,
        bundle: &PrekeyBundle,
        now: UnixTime,
    ) -> Result<(Invitee, Vec<Event>), EngineError> {
        let proposal = Proposal::Invite(Box::new(certificate.clone()));
        self.admit(channel, requested, certificate, bundle, proposal, now)
    }

    /// Replaces `requested`'s certificate in the channel by the one the relay gave us (after
    /// their administrator renewed it): the same checks as [`Self::invite`], except that new
    /// keys are expected (the member is then shown as changed until verified).
    ///
    /// # Errors
    ///
    /// [`EngineError::Channel`] with the rule's reason.
    pub fn renew(
        &mut self,
        channel: ChannelId,
        requested: &UserId,
        certificate: &MemberCertificate,
        bundle: &PrekeyBundle,
        now: UnixTime,
    ) -> Result<(Invitee, Vec<Event>), EngineError> {
        let proposal = Proposal::Renew(Box::new(certificate.clone()));
        self.admit(channel, requested, certificate, bundle, proposal, now)
    }

    /// Checks that `certificate` is `requested`'s and trusted, starts a session with it, and
    /// makes the change that brings it into the channel.
    fn admit(
        &mut self,
        channel: ChannelId,
        requested: &UserId,
        certificate: &MemberCertificate,
        bundle: &PrekeyBundle,
        proposal: Proposal,
        now: UnixTime,
    ) -> Result<(Invitee, Vec<Event>), EngineError> {
        let body = certificate.body();
        if &body.user != requested {
            return Err(EngineError::CertificateOfOther {
                requested: requested.clone(),
                got: body.user.clone(),
            });
        }
        let inviting = matches!(proposal, Proposal::Invite(_));
        let mut invitee = Invitee {
            user: body.user.clone(),
            display_name: body.display_name.to_string(),
            org: body.org.to_string(),
            clearance: body.clearance.marking(),
            fingerprint: body.identity_key.fingerprint(),
            known: false,
        };
        let events = self.transact(|engine, batch, events| {
            let verdict = engine.start_session(batch, events, certificate, bundle, now)?;
            if inviting && matches!(verdict, Verdict::KeyChanged { .. }) {
                return Err(EngineError::KeyChanged(requested.clone()));
            }
            invitee.known = matches!(verdict, Verdict::Known { .. });
            engine.change_channel(batch, events, channel, proposal, now)
        })?;
        Ok((invitee, events))
    }

    /// Removes members (one new epoch: they read nothing sent after). Members whose
    /// certificates are no longer valid are removed in the same change.
    ///
    /// # Errors
    ///
    /// [`EngineError::Channel`] when we may not, [`EngineError::NotMember`] for a non-member,
    /// [`EngineError::Reason`] for a reason that is not acceptable text.
    pub fn remove(
        &mut self,
        channel: ChannelId,
        users: &[UserId],
        reason: &str,
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        let view = self.view(channel)?;
        if let Some(stranger) = users.iter().find(|u| !view.head().state().is_member(u)) {
            return Err(EngineError::NotMember {
                channel,
                user: stranger.clone(),
            });
        }
        let mut users = users.to_vec();
        users.extend(view.invalid_members(&self.trust, now));
        let reason = Text::new(reason).map_err(EngineError::Reason)?;
        self.transact(|engine, batch, events| {
            engine.change_channel(
                batch,
                events,
                channel,
                Proposal::Remove { users, reason },
                now,
            )
        })
    }

    /// Proposes, applies and distributes `proposal` (relabel, admins, transfer, renewal,
    /// rekey) as one unit of work.
    ///
    /// # Errors
    ///
    /// [`EngineError::Channel`] with the rule's reason.
    pub fn change(
        &mut self,
        channel: ChannelId,
        proposal: Proposal,
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        self.transact(|engine, batch, events| {
            engine.change_channel(batch, events, channel, proposal, now)
        })
    }

    /// Changes the channel's label (a new epoch). Raising is for the owner and admins;
    /// lowering only for the owner.
    ///
    /// # Errors
    ///
    /// [`EngineError::Channel`] with the rule's reason.
    pub fn relabel(
        &mut self,
        channel: ChannelId,
        label: Label,
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        self.change(channel, Proposal::Relabel(label), now)
    }

    /// Proposes, applies and distributes a change: the new state to every member of it (an
    /// invitee first, after the chain before it) and to removed members.
    pub(super) fn change_channel(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: ChannelId,
        proposal: Proposal,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let view = self.view(channel)?;
        let previous = view.head().state().clone();
        let signed = view.propose(&self.local, proposal, &self.trust, now)?;
        let state = signed.state();
        let content = || DirectContent::ChannelState(Box::new(signed.clone()));
        let mut sent: Vec<UserId> = vec![self.local.user().clone()];
        if let Change::Invite { user } = &state.change
            && let Some(invitee) = state.member(user)
        {
            for part in History::split(&self.chain(channel)?) {
                self.enqueue_direct(batch, invitee, DirectContent::History(Box::new(part)))?;
            }
            self.enqueue_direct(batch, invitee, content())?;
            sent.push(user.clone());
        }
        for member in state.members.iter().chain(&previous.members) {
            if !sent.contains(&member.body().user) {
                sent.push(member.body().user.clone());
                self.enqueue_direct(batch, member, content())?;
            }
        }
        let me = self.local.user().clone();
        match self.apply_states(
            batch,
            events,
            channel,
            std::slice::from_ref(&signed),
            &me,
            now,
        )? {
            Ok(_) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies `chain` (states following our head) to the view of `channel` as far as this
    /// member may rely on it now, records each state and a notice, and does what the changes
    /// ask of us. The outer error is the store's; the inner one the protocol's refusal of the
    /// first state (nothing was applied).
    pub(super) fn apply_states(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: ChannelId,
        chain: &[SignedChannelState],
        from: &UserId,
        now: UnixTime,
    ) -> Result<Result<usize, ChannelError>, EngineError> {
        let view = self
            .channels
            .get_mut(&channel)
            .ok_or(EngineError::UnknownChannel(channel))?;
        let mut owner = view.head().state().owner.clone();
        let applied = match view.catch_up(chain, &self.trust, now) {
            Ok(applied) => applied,
            Err(e) => return Ok(Err(e)),
        };
        for (signed, change) in chain.iter().zip(&applied) {
            self.stage_chain(batch, signed);
            let state = signed.state();
            // Dated when the change was signed, not when it reached us.
            let at = state.timestamp.min(now);
            let notice = describe_change(state, &change.change, &owner);
            owner = state.owner.clone();
            self.notice(
                batch,
                events,
                channel,
                from.clone(),
                Body::Notice(notice),
                at,
            )?;
            if change.removed_us {
                let text = "You were removed from this channel: nothing sent from now on \
                            reaches you.";
                let author = state.author.clone();
                self.notice(
                    batch,
                    events,
                    channel,
                    author,
                    Body::Notice(text.into()),
                    at,
                )?;
            }
        }
        self.stage_channel(batch, channel);
        self.after_changes(batch, events, channel, &applied, now)?;
        self.clear_alert(batch, channel);
        events.push(Event::ChannelChanged { channel });
        Ok(Ok(applied.len()))
    }

    /// What applied changes ask of us: when we are no longer a member, our messages of the
    /// channel still queued fail; while we are, a fresh sender key to every
    /// other valid member after a new epoch (and our queued messages sealed again in it, unless
    /// its label no longer dominates theirs) or after we were invited again, or our current
    /// sender key to members added or renewed in the same epoch.
    fn after_changes(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: ChannelId,
        applied: &[Applied],
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let view = self.view(channel)?;
        if !view.is_member() {
            // Removed: what we queued for the channel was sealed for members as we knew them,
            // some of whom may have been removed with us; it cannot be sealed again.
            let why = "not sent: you were removed from this channel before it went out";
            return self.fail_queued(batch, events, channel, why);
        }
        let head = view.head().state().clone();
        // A member renewed with the same keys: our sessions with them carry the new certificate.
        for applied in applied {
            if let Change::Renew { user } = &applied.change
                && let Some(certificate) = head.member(user)
            {
                self.refresh_session_certificate(batch, certificate)?;
            }
        }
        if applied.iter().any(|a| a.new_epoch) {
            let targets = self.valid_others(&head, now);
            self.distribute_sender_key(batch, channel, &targets)?;
            return self.reseal_outbox(batch, events, channel, now);
        }
        // Invited again in the epoch our removal started (our view catching up from it): every
        // other member needs our key, as at a first join, not only those invited meanwhile.
        let me = self.local.user().clone();
        if applied.iter().any(|a| a.added.contains(&me)) {
            let targets = self.valid_others(&head, now);
            return self.distribute_sender_key(batch, channel, &targets);
        }
        // Invitees, and members renewed with the same keys (we may have rotated our key
        // against their old certificate while it was not valid): our current key.
        let added: Vec<UserId> = applied
            .iter()
            .flat_map(|a| {
                let renewed = match &a.change {
                    Change::Renew { user } => Some(user.clone()),
                    _ => None,
                };
                a.added.iter().cloned().chain(renewed)
            })
            .filter(|u| u != self.local.user() && head.is_member(u))
            .collect();
        if added.is_empty() {
            return Ok(());
        }
        let targets: Vec<UserId> = self
            .valid_others(&head, now)
            .into_iter()
            .filter(|u| added.contains(u))
            .collect();
        self.distribute_sender_key(batch, channel, &targets)
    }

    /// The members of `state` other than us whose certificates are valid now: the only ones
    /// we send keys or messages to.
    pub(super) fn valid_others(&mut self, state: &ChannelState, now: UnixTime) -> Vec<UserId> {
        let mut out = Vec::new();
        for member in &state.members {
            let user = &member.body().user;
            if user == self.local.user() {
                continue;
            }
            match self.check_certificate(member, now) {
                Ok(()) => out.push(user.clone()),
                Err(e) => {
                    tracing::debug!(%user, reason = %e, "not sent to a member no longer valid");
                }
            }
        }
        out
    }

    /// Sends our sender key for the current epoch of `channel` to `targets` (members of it).
    pub(super) fn distribute_sender_key(
        &mut self,
        batch: &mut Batch,
        channel: ChannelId,
        targets: &[UserId],
    ) -> Result<(), EngineError> {
        let view = self
            .channels
            .get_mut(&channel)
            .ok_or(EngineError::UnknownChannel(channel))?;
        let key = view.own_sender_key(&mut self.rng)?;
        let state = view.head().state().clone();
        self.stage_channel(batch, channel);
        for to in targets {
            if let Some(member) = state.member(to) {
                let content = DirectContent::SenderKey(Box::new(key.clone()));
                self.enqueue_direct(batch, member, content)?;
            }
        }
        Ok(())
    }
}

/// One line on a change, for the channel's history.
pub(super) fn describe_change(
    state: &ChannelState,
    change: &Change,
    owner_before: &UserId,
) -> String {
    let author = &state.author;
    let list = |users: &[UserId]| {
        users
            .iter()
            .map(UserId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match change {
        Change::Create => format!("{author} created this channel, labelled {}", state.label),
        Change::Invite { user } => format!("{author} invited {user}"),
        Change::Remove { users, reason } => {
            let mut line = format!(
                "{author} removed {} ({reason}); new sender keys for everyone else",
                list(users)
            );
            if users.contains(owner_before) {
                line.push_str(&format!(
                    "; {author} took over as owner (the owner's certificate is no longer valid)"
                ));
            }
            line
        }
        Change::Relabel => format!("{author} changed the label to {}", state.label),
        Change::SetAdmins => format!("{author} named the admins: {}", list(&state.admins)),
        Change::Rekey { reason } => format!("{author} renewed the channel keys ({reason})"),
        Change::Transfer { to } => format!("{author} handed ownership of this channel to {to}"),
        Change::Renew { user } => format!("{author} renewed {user}'s certificate in this channel"),
    }
}
