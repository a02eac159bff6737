//! What the relay delivers: 1:1 envelopes (channel states, histories, sender keys) and channel
//! messages. Channel states themselves are handled in [`super::states`].
//!
//! Nothing is dropped silently: a payload that does not decrypt or verify becomes a visible
//! placeholder; one that cannot be processed yet (its sender key or channel state has not
//! arrived, or a state this member may not rely on yet) is parked, sealed in the store, and
//! processed when what it needs arrives. Duplicates (a redelivery after a crash before our
//! acknowledgement) are recognised and ignored. The sender's certificate is checked against
//! the revocation lists in force for every delivery.

use vigil_protocol::channel::ChannelId;
use vigil_protocol::channel::{ChannelError, GroupMessage, SenderKeyDistribution};
use vigil_protocol::content::{ChannelContent, DirectContent, MessageRef, Payload, ReceiptKind};
use vigil_protocol::keys::IdentityPublicKey;
use vigil_protocol::{
    Envelope, HandshakeError, MemberCertificate, Session, SessionError, UnixTime, UserId,
};

use super::records::{Body, Entry, Event, Parked};
use super::sessions::PeerSession;
use super::{Engine, EngineError};
use crate::store::Place;
use crate::store::{Batch, Kind};

/// What handling one item did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Progress {
    /// Handled (or recognised as a duplicate, or shown as undecryptable).
    Done,
    /// Handled, and it may unblock parked items (a new state or sender key).
    Unblocked,
    /// Cannot be handled yet.
    Wait,
    /// Cannot be handled yet itself, but it let parked states be applied: keep it, and retry
    /// what waits.
    WaitUnblocked,
}

/// Why a direct envelope did not open.
#[derive(Debug, thiserror::Error)]
enum Unopened {
    /// Already processed: a redelivery, not a failure.
    #[error("a replay of a message already processed")]
    Replayed,
    #[error("no session with the sender")]
    NoSession,
    /// The last of the sessions with the sender that were tried refused it.
    #[error(transparent)]
    Session(SessionError),
    /// A first message whose certificate is not of the member the relay names as sender.
    #[error("a first message from {claimed} that the relay says {from} sent")]
    SenderMismatch { claimed: UserId, from: UserId },
    #[error(transparent)]
    Handshake(HandshakeError),
}

impl Engine {
    /// Processes one delivered payload and commits the result durably: only then may the
    /// worker acknowledge it to the relay. (Revoked and expired members are removed when the
    /// revocation lists are refreshed, [`Engine::update_revocations`], not per delivery.)
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
        let reference = MessageRef::of(payload);
        self.transact(|engine, batch, events| {
            let progress = match Payload::from_bytes(payload) {
                Err(e) => {
                    let why = format!("not a Vigil payload: {e}");
                    engine.undecryptable(batch, events, None, from, why, now)?;
                    Progress::Done
                }
                Ok(Payload::Direct(envelope)) => {
                    engine.receive_direct(batch, events, from, (&envelope, reference), now)?
                }
                Ok(Payload::Channel(message)) => {
                    // Committed (handled, parked, or a placeholder) with this receipt: owed
                    // only to the member the message names as its sender, of a channel we are
                    // in, so a relay cannot make us contact whoever it names.
                    let ours = engine.channels.contains_key(&message.header.channel);
                    if ours && message.header.sender == *from {
                        engine.owe_receipt(batch, from, ReceiptKind::Delivered, reference)?;
                    }
                    let parked = Parked::Message {
                        from: from.clone(),
                        message,
                    };
                    engine.handle_or_park(batch, events, parked, payload.len(), now)?
                }
            };
            if matches!(progress, Progress::Unblocked | Progress::WaitUnblocked) {
                engine.retry_parked(batch, events, now)?;
            }
            engine.check_waiting(batch, events, now)
        })
    }

    /// Decrypts `envelope` with one of the sessions with `from` (or a new one it starts).
    fn open_envelope(
        &mut self,
        batch: &mut Batch,
        from: &UserId,
        envelope: &Envelope,
        now: UnixTime,
    ) -> Result<Result<(MemberCertificate, Vec<u8>), Unopened>, EngineError> {
        let mut sessions = self.load_sessions(from)?;
        let mut failure = Unopened::NoSession;
        for i in 0..sessions.len() {
            match sessions.get_mut(i).map(|s| s.session.decrypt(envelope)) {
                Some(Ok(plaintext)) => {
                    let peer = sessions.remove(i);
                    let certificate = peer.certificate.clone();
                    sessions.insert(0, peer);
                    self.stage_sessions(batch, from, &sessions);
                    return Ok(Ok((certificate, plaintext)));
                }
                Some(Err(SessionError::Replayed { .. })) => return Ok(Err(Unopened::Replayed)),
                Some(Err(e)) => failure = Unopened::Session(e),
                None => {}
            }
        }
        let Envelope::Prekey(first) = envelope else {
            return Ok(Err(failure));
        };
        if &first.sender.body().user != from {
            return Ok(Err(Unopened::SenderMismatch {
                claimed: first.sender.body().user.clone(),
                from: from.clone(),
            }));
        }
        match Session::accept(&self.local, &mut self.prekeys, &self.trust, first, now) {
            Ok((session, plaintext)) => {
                if let Ok(verified) = self.trust.verify_certificate(&first.sender, now) {
                    let mut events = Vec::new();
                    self.observe(&mut events, &verified, now)?;
                }
                let certificate = first.sender.clone();
                sessions.insert(
                    0,
                    PeerSession {
                        certificate: certificate.clone(),
                        session,
                    },
                );
                super::sessions::supersede(&mut sessions, &certificate);
                self.stage_sessions(batch, from, &sessions);
                self.store.stage_raw(
                    batch,
                    Kind::Prekeys,
                    super::keys::PREKEYS,
                    &self.prekeys.to_bytes(),
                );
                Ok(Ok((certificate, plaintext)))
            }
            Err(HandshakeError::ReplayedPrekeyMessage) => Ok(Err(Unopened::Replayed)),
            Err(e) => Ok(Err(Unopened::Handshake(e))),
        }
    }

    /// Opens and handles a 1:1 envelope (with its end-to-end reference): a receipt is applied;
    /// anything else is confirmed to its sender once committed, or reported back when it does
    /// not decrypt (the sender sends it again over a fresh session).
    fn receive_direct(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        from: &UserId,
        (envelope, reference): (&Envelope, MessageRef),
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        let (certificate, plaintext) = match self.open_envelope(batch, from, envelope, now)? {
            Ok(opened) => opened,
            // A replay of something already processed: a redelivery (a re-send after our
            // receipt was lost). Confirmed again; a receipt replayed is confirmed once more
            // for nothing, ignored by its sender.
            Err(Unopened::Replayed) => {
                self.owe_receipt(batch, from, ReceiptKind::Delivered, reference)?;
                return Ok(Progress::Done);
            }
            Err(why) => {
                if !matches!(why, Unopened::SenderMismatch { .. }) {
                    self.owe_receipt(batch, from, ReceiptKind::Undecryptable, reference)?;
                }
                let why = format!("a direct message from {from} could not be decrypted: {why}");
                self.undecryptable(batch, events, None, from, why, now)?;
                return Ok(Progress::Done);
            }
        };
        let plaintext = zeroize::Zeroizing::new(plaintext);
        if let Err(e) = self.check_certificate(&certificate, now) {
            let why = format!("refused a direct message from {from}: {e}");
            self.undecryptable(batch, events, None, from, why, now)?;
            return Ok(Progress::Done);
        }
        let identity = certificate.body().identity_key;
        let content = DirectContent::from_bytes(&plaintext);
        if let Ok(DirectContent::Receipt(receipt)) = &content {
            self.handle_receipt(batch, events, from, receipt)?;
            return Ok(Progress::Done);
        }
        self.owe_receipt(batch, from, ReceiptKind::Delivered, reference)?;
        let items = match content {
            Ok(DirectContent::ChannelState(state)) => vec![Parked::State {
                from: from.clone(),
                state,
            }],
            Ok(DirectContent::History(history)) => vec![Parked::History {
                from: from.clone(),
                history,
            }],
            Ok(DirectContent::SenderKey(key)) => vec![Parked::SenderKey {
                from: from.clone(),
                identity,
                key,
            }],
            Ok(DirectContent::Receipt(_)) => Vec::new(),
            Err(e) => {
                let why = format!("a direct message from {from} is not understood: {e}");
                self.undecryptable(batch, events, None, from, why, now)?;
                return Ok(Progress::Done);
            }
        };
        let mut progress = Progress::Done;
        for item in items {
            // A history kept for a channel we are not in may complete the chain of an
            // invitation that arrived before it: what waits is tried again.
            let history = matches!(item, Parked::History { .. });
            let size = vigil_protocol::codec::encode(&item).len();
            let step = self.handle_or_park(batch, events, item, size, now)?;
            if history && step == Progress::Wait
                || matches!(step, Progress::Unblocked | Progress::WaitUnblocked)
            {
                progress = Progress::Unblocked;
            }
        }
        Ok(progress)
    }

    fn handle_or_park(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        item: Parked,
        size: usize,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        let progress = self.handle(batch, events, &item, now)?;
        if matches!(progress, Progress::Wait | Progress::WaitUnblocked) {
            self.park(batch, events, item, size, now)?;
        }
        Ok(progress)
    }

    pub(super) fn handle(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        item: &Parked,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        match item {
            Parked::State { from, state } => self.handle_state(batch, events, from, state, now),
            Parked::History { history, .. } => Ok(self.history_progress(history)),
            Parked::SenderKey {
                from,
                identity,
                key,
            } => self.handle_sender_key(batch, events, from, identity, key, now),
            Parked::Message { from, message } => {
                self.handle_message(batch, events, from, message, now)
            }
        }
    }

    fn handle_sender_key(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        from: &UserId,
        identity: &IdentityPublicKey,
        key: &SenderKeyDistribution,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        let id = key.channel;
        let Some(view) = self.channels.get_mut(&id) else {
            return Ok(Progress::Wait);
        };
        match view.add_sender_key(from, identity, key) {
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
        let id = message.header.channel;
        let Some(view) = self.channels.get(&id) else {
            return Ok(Progress::Wait);
        };
        // The sender's certificate as the channel holds it, checked now.
        if let Some(certificate) = view.head().state().member(&message.header.sender).cloned()
            && let Err(e) = self.check_certificate(&certificate, now)
        {
            let why = format!("refused a message from {}: {e}", message.header.sender);
            self.undecryptable(batch, events, Some(id), from, why, now)?;
            return Ok(Progress::Done);
        }
        let Some(view) = self.channels.get_mut(&id) else {
            return Ok(Progress::Wait);
        };
        let opened = match view.open(message, now) {
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
            self.notice(batch, events, id, sender.clone(), Body::Notice(notice), now)?;
        }
        let sender_name = self.display_name(Some(id), &sender);
        let (body, at) = match ChannelContent::from_bytes(&opened.plaintext) {
            Ok(ChannelContent::Text { text, sent_at }) => (Body::Text(text), sent_at),
            Err(e) => (
                Body::Undecryptable(format!(
                    "a message in a format this client does not know: {e}"
                )),
                now,
            ),
        };
        let signer = self.signer(id, &sender);
        let entry = Entry {
            sender,
            sender_name,
            at,
            body,
            delivery: None,
            signer,
        };
        self.append(batch, events, Place::Channel(id), entry)?;
        Ok(Progress::Done)
    }

    /// Records what could not be decrypted or verified, visibly.
    pub(super) fn undecryptable(
        &self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: Option<ChannelId>,
        from: &UserId,
        why: String,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        tracing::warn!("undecryptable delivery kept as a placeholder");
        tracing::debug!(%from, reason = %why, "undecryptable");
        events.push(Event::DecryptFailed {
            channel,
            sender: from.clone(),
            reason: why.clone(),
        });
        let sender_name = self.display_name(channel, from);
        let entry = Entry {
            sender: from.clone(),
            sender_name,
            at: now,
            body: Body::Undecryptable(why),
            delivery: None,
            signer: None,
        };
        let place = channel.map_or(Place::System, Place::Channel);
        self.append(batch, events, place, entry)?;
        Ok(())
    }
}
