//! What the relay delivers: 1:1 envelopes (channel states, sender keys) and channel messages.
//!
//! Nothing is dropped silently: a payload that does not decrypt or verify becomes a visible
//! placeholder; one that cannot be processed yet (its sender key or channel state has not
//! arrived) is parked, sealed in the store, and processed when what it needs arrives.
//! Duplicates (a redelivery after a crash before our acknowledgement) are recognised and
//! ignored.

use vigil_protocol::channel::{
    Change, ChannelError, ChannelView, GroupMessage, SenderKeyDistribution, SignedChannelState,
};
use vigil_protocol::content::{ChannelContent, DirectContent, Payload};
use vigil_protocol::{Envelope, HandshakeError, Session, SessionError, UnixTime, UserId};

use super::records::{Body, Entry, Event, Parked, SYSTEM_CHANNEL};
use super::{Engine, EngineError, MAX_PARKED, describe_change};
use crate::store::{Batch, Kind, Store};

/// What handling one item did.
#[derive(Debug, PartialEq, Eq)]
enum Progress {
    /// Handled (or recognised as a duplicate, or shown as undecryptable).
    Done,
    /// Handled, and it may unblock parked items (a new state or sender key).
    Unblocked,
    /// Cannot be handled yet.
    Wait,
}

impl Engine {
    /// Processes one delivered payload and commits the result durably: only then may the
    /// worker acknowledge it to the relay. (Revoked and expired members are removed when the
    /// revocation lists are refreshed, [`Engine::update_revocations`], not per delivery: that
    /// check verifies every member's certificate.)
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] only: anything wrong with the payload itself becomes an event
    /// and a visible placeholder.
    pub fn receive(
        &mut self,
        from: &UserId,
        payload: &[u8],
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        self.transact(|engine, batch, events| {
            let progress = match Payload::from_bytes(payload) {
                Err(e) => {
                    let why = format!("not a Vigil payload: {e}");
                    engine.undecryptable(batch, events, None, from, why, now)?;
                    Progress::Done
                }
                Ok(Payload::Direct(envelope)) => {
                    engine.receive_direct(batch, events, from, &envelope, now)?
                }
                Ok(Payload::Channel(message)) => {
                    let parked = Parked::Message {
                        from: from.clone(),
                        message,
                    };
                    engine.handle_or_park(batch, events, parked, now)?
                }
            };
            if progress == Progress::Unblocked {
                engine.retry_parked(batch, events, now)?;
            }
            Ok(())
        })
    }

    /// How many received messages of `channel` wait for their sender's key or a state.
    #[must_use]
    pub fn waiting(&self, channel: [u8; 32]) -> usize {
        self.parked
            .iter()
            .filter(|(_, p)| matches!(p, Parked::Message { .. }) && parked_channel(p) == channel)
            .count()
    }

    fn receive_direct(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        from: &UserId,
        envelope: &Envelope,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        let mut sessions = self.load_sessions(from)?;
        let mut plaintext = None;
        let mut failure = String::from("no session with the sender");
        for i in 0..sessions.len() {
            match sessions.get_mut(i).map(|s| s.decrypt(envelope)) {
                Some(Ok(p)) => {
                    plaintext = Some(p);
                    let session = sessions.remove(i);
                    sessions.insert(0, session);
                    break;
                }
                Some(Err(SessionError::Replayed { .. })) => return Ok(Progress::Done),
                Some(Err(e)) => failure = e.to_string(),
                None => {}
            }
        }
        if plaintext.is_none()
            && let Envelope::Prekey(first) = envelope
        {
            if &first.sender.body().user != from {
                let why = format!(
                    "a first message from {} that the relay says {from} sent",
                    first.sender.body().user
                );
                self.undecryptable(batch, events, None, from, why, now)?;
                return Ok(Progress::Done);
            }
            match Session::accept(&self.local, &mut self.prekeys, &self.trust, first, now) {
                Ok((session, p)) => {
                    if let Ok(verified) = self.trust.verify_certificate(&first.sender, now) {
                        self.observe(events, &verified, now)?;
                    }
                    sessions.insert(0, session);
                    self.store.stage_raw(
                        batch,
                        Kind::Prekeys,
                        super::keys::PREKEYS,
                        &self.prekeys.to_bytes(),
                    );
                    plaintext = Some(p);
                }
                Err(HandshakeError::ReplayedPrekeyMessage) => return Ok(Progress::Done),
                Err(e) => failure = e.to_string(),
            }
        }
        let Some(plaintext) = plaintext.map(zeroize::Zeroizing::new) else {
            let why = format!("a direct message from {from} could not be decrypted: {failure}");
            self.undecryptable(batch, events, None, from, why, now)?;
            return Ok(Progress::Done);
        };
        self.stage_sessions(batch, from, &sessions);
        let parked = match DirectContent::from_bytes(&plaintext) {
            Ok(DirectContent::ChannelState(state)) => Parked::State {
                from: from.clone(),
                state,
            },
            Ok(DirectContent::SenderKey(key)) => Parked::SenderKey {
                from: from.clone(),
                key,
            },
            Err(e) => {
                let why = format!("a direct message from {from} is not understood: {e}");
                self.undecryptable(batch, events, None, from, why, now)?;
                return Ok(Progress::Done);
            }
        };
        self.handle_or_park(batch, events, parked, now)
    }

    fn handle_or_park(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        item: Parked,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        let progress = self.handle(batch, events, &item, now)?;
        if progress == Progress::Wait {
            self.park(batch, events, item, now)?;
        }
        Ok(progress)
    }

    fn handle(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        item: &Parked,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        match item {
            Parked::State { from, state } => self.handle_state(batch, events, from, state, now),
            Parked::SenderKey { from, key } => {
                self.handle_sender_key(batch, events, from, key, now)
            }
            Parked::Message { from, message } => {
                self.handle_message(batch, events, from, message, now)
            }
        }
    }

    fn handle_state(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        from: &UserId,
        signed: &SignedChannelState,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        let state = signed.state();
        let id = state.channel.0;
        let Some(view) = self.channels.get(&id) else {
            let for_us = match &state.change {
                Change::Create => true,
                Change::Invite { user } => user == self.local.user(),
                _ => false,
            };
            if !for_us {
                return Ok(Progress::Wait);
            }
            return match ChannelView::join(self.local.user(), signed, &self.trust, now) {
                Ok(view) => {
                    let others = super::others(state, self.local.user());
                    self.channels.insert(id, view);
                    let notice = format!(
                        "{} added you to {}, labelled {}",
                        state.author, state.name, state.label
                    );
                    let at = state.timestamp.min(now);
                    self.notice(batch, events, id, state.author.clone(), notice, at)?;
                    if !state.label.history_for_joiners() {
                        self.notice(
                            batch,
                            events,
                            id,
                            state.author.clone(),
                            format!("{}: you see only what is sent from now on", state.label.tlp),
                            now,
                        )?;
                    }
                    self.distribute_sender_key(batch, id, &others)?;
                    events.push(Event::ChannelChanged { channel: id });
                    Ok(Progress::Unblocked)
                }
                Err(e) => {
                    let why = format!("refused an invitation to {} from {from}: {e}", state.name);
                    self.undecryptable(batch, events, None, from, why, now)?;
                    Ok(Progress::Done)
                }
            };
        };
        let current = view.head().state().version;
        if state.version <= current {
            return Ok(Progress::Done); // already applied: a redelivery
        }
        if state.version > current + 1 {
            return Ok(Progress::Wait);
        }
        match self.apply_state(batch, events, id, signed, from.clone(), now) {
            Ok(()) => Ok(Progress::Unblocked),
            Err(EngineError::Refused(e)) => {
                let why = format!(
                    "refused a change from {} ({}): {e}",
                    state.author,
                    describe_change(state, &state.change)
                );
                self.undecryptable(batch, events, Some(id), from, why, now)?;
                Ok(Progress::Done)
            }
            Err(other) => Err(other),
        }
    }

    fn handle_sender_key(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        from: &UserId,
        key: &SenderKeyDistribution,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        let id = key.channel.0;
        let Some(view) = self.channels.get_mut(&id) else {
            return Ok(Progress::Wait);
        };
        match view.add_sender_key(from, key) {
            Ok(()) => {
                self.stage_channel(batch, id);
                Ok(Progress::Unblocked)
            }
            Err(ChannelError::EpochNotYet { .. }) => Ok(Progress::Wait),
            // Too old to matter.
            Err(ChannelError::EpochGone { .. }) => Ok(Progress::Done),
            // Of an epoch that ended when the sender was removed: not needed any more. Of the
            // current epoch: the state that invites them has not reached us yet.
            Err(ChannelError::SenderNotMember { .. }) => {
                let current = self.channels.get(&id).map_or(0, |v| v.head().state().epoch);
                if key.epoch < current {
                    tracing::debug!(%from, "sender key of a removed member ignored");
                    Ok(Progress::Done)
                } else {
                    Ok(Progress::Wait)
                }
            }
            Err(e) => {
                let why = format!("refused a sender key from {from}: {e}");
                self.undecryptable(batch, events, Some(id), from, why, now)?;
                Ok(Progress::Done)
            }
        }
    }

    fn handle_message(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        from: &UserId,
        message: &GroupMessage,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        let id = message.header.channel.0;
        let Some(view) = self.channels.get_mut(&id) else {
            return Ok(Progress::Wait);
        };
        let opened = match view.open(message) {
            Ok(opened) => opened,
            Err(
                ChannelError::MissingSenderKey { .. }
                | ChannelError::EpochNotYet { .. }
                | ChannelError::UnknownState { .. },
            ) => return Ok(Progress::Wait),
            Err(ChannelError::Replayed { .. }) => return Ok(Progress::Done),
            Err(e) => {
                let why = format!("a message could not be verified or decrypted: {e}");
                self.undecryptable(batch, events, Some(id), from, why, now)?;
                return Ok(Progress::Done);
            }
        };
        self.stage_channel(batch, id);
        let sender = opened.sender.clone();
        if let Some(missing) = opened.missing {
            let count = missing.end.saturating_sub(missing.start);
            events.push(Event::Gap {
                channel: id,
                sender: sender.clone(),
                missing: count,
            });
            let notice = format!(
                "{count} message(s) from {sender} are missing (lost or withheld on the way)"
            );
            self.notice(batch, events, id, sender.clone(), notice, now)?;
        }
        let sender_name = self.display_name(id, &sender);
        let (body, at) = match ChannelContent::from_bytes(&opened.plaintext) {
            Ok(ChannelContent::Text { text, sent_at }) => (Body::Text(text), sent_at),
            Err(e) => (
                Body::Undecryptable(format!(
                    "a message in a format this client does not know: {e}"
                )),
                now,
            ),
        };
        self.append(
            batch,
            events,
            id,
            Entry {
                sender,
                sender_name,
                at,
                body,
                delivery: None,
            },
        )?;
        Ok(Progress::Done)
    }

    fn park(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        item: Parked,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let key = self.store.next_id()?.to_be_bytes().to_vec();
        self.store.stage(batch, Kind::Parked, &key, &item);
        self.parked.push((key, item));
        while self.parked.len() > MAX_PARKED {
            let (key, oldest) = self.parked.remove(0);
            Store::stage_remove(batch, Kind::Parked, &key);
            let channel = parked_channel(&oldest);
            let (from, what) = match &oldest {
                Parked::Message { from, .. } => (from, "a message"),
                Parked::SenderKey { from, .. } => (from, "a sender key"),
                Parked::State { from, .. } => (from, "a channel state"),
            };
            let why = format!("{what} whose key or state never arrived");
            let channel = (channel != SYSTEM_CHANNEL).then_some(channel);
            self.undecryptable(batch, events, channel, &from.clone(), why, now)?;
        }
        Ok(())
    }

    /// Processes parked items until none makes progress.
    fn retry_parked(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        loop {
            let mut progressed = false;
            let mut i = 0;
            while i < self.parked.len() {
                let item = match self.parked.get(i) {
                    Some((_, item)) => item.clone(),
                    None => break,
                };
                match self.handle(batch, events, &item, now)? {
                    Progress::Wait => i += 1,
                    _ => {
                        let (key, _) = self.parked.remove(i);
                        Store::stage_remove(batch, Kind::Parked, &key);
                        progressed = true;
                    }
                }
            }
            if !progressed {
                return Ok(());
            }
        }
    }

    /// Records what could not be decrypted or verified, visibly.
    pub(super) fn undecryptable(
        &self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: Option<[u8; 32]>,
        from: &UserId,
        why: String,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        tracing::warn!(%from, reason = %why, "undecryptable");
        events.push(Event::DecryptFailed {
            channel,
            sender: from.clone(),
            reason: why.clone(),
        });
        let channel = channel.unwrap_or(SYSTEM_CHANNEL);
        let sender_name = self.display_name(channel, from);
        self.append(
            batch,
            events,
            channel,
            Entry {
                sender: from.clone(),
                sender_name,
                at: now,
                body: Body::Undecryptable(why),
                delivery: None,
            },
        )?;
        Ok(())
    }
}

fn parked_channel(item: &Parked) -> [u8; 32] {
    match item {
        Parked::Message { message, .. } => message.header.channel.0,
        Parked::SenderKey { key, .. } => key.channel.0,
        Parked::State { state, .. } => state.state().channel.0,
    }
}
