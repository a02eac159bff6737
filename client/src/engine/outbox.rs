//! The outbox: everything we send, in order, until the relay has stored it.
//!
//! An entry is written (sealed, durable) before anything is sent. A 1:1 entry is encrypted
//! when its turn comes, and the ciphertext replaces the entry in the same atomic commit that
//! advances the session: from then on, whatever crashes, the same bytes go out with the same
//! client message id, and the relay stores them once.
//!
//! A 1:1 entry is bound to the (user, identity key) of the certificate it is meant for, and
//! goes out only over a session with exactly that key, to a certificate valid when it is sent.
//! Channel messages still queued when their channel starts a new epoch are sealed again in it
//! (a removed member reads nothing typed before the removal reached us but sent after).

use vigil_protocol::channel::ChannelError;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::content::{ChannelContent, DirectContent, Payload};
use vigil_protocol::relay::{ErrorCode, Request, Response};
use vigil_protocol::{MemberCertificate, UnixTime, UserId};

use super::records::{Body, Delivery, Entry, Event, Job, OutboxEntry};
use super::{Engine, EngineError};
use crate::store::{Batch, Kind, Place, Store};

/// What the worker should do next for the outbox.
#[derive(Debug)]
pub enum Outgoing {
    /// The outbox is empty.
    Idle,
    /// The first entry needs a session with this member: fetch their bundle, then call
    /// [`Engine::add_bundle`] (or [`Engine::drop_first`] if the relay refuses).
    NeedBundle(UserId),
    /// Send this request and report the response with [`Engine::sent`].
    Send { key: Vec<u8>, request: Request },
}

/// What a response meant for the outbox entry.
#[derive(Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Stored by the relay; the entry is gone.
    Done,
    /// A temporary refusal (rate, quota, relay storage): try again later.
    Retry(String),
    /// A recipient's certificate is revoked or expired at the relay: refresh the revocation
    /// lists, then call [`Engine::retarget`].
    Revoked(String),
    /// Refused for good; the entry is gone and the message marked failed.
    Failed(String),
}

impl Engine {
    pub(super) fn enqueue(
        &mut self,
        batch: &mut Batch,
        job: Job,
        history: Option<(ChannelId, u64)>,
    ) -> Result<(), EngineError> {
        let mut id = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut self.rng, &mut id);
        let key = self.store.next_id()?.to_be_bytes();
        self.store
            .stage(batch, Kind::Outbox, &key, &OutboxEntry { id, job, history });
        Ok(())
    }

    /// Queues `content` for the member of `certificate`, over a session with its identity key.
    pub(super) fn enqueue_direct(
        &mut self,
        batch: &mut Batch,
        certificate: &MemberCertificate,
        content: DirectContent,
    ) -> Result<(), EngineError> {
        let body = certificate.body();
        let job = Job::Direct {
            to: body.user.clone(),
            identity: body.identity_key,
            content,
        };
        self.enqueue(batch, job, None)
    }

    pub(super) fn first(&self) -> Result<Option<(Vec<u8>, OutboxEntry)>, EngineError> {
        Ok(self.store.scan_first(Kind::Outbox)?)
    }

    /// How many entries wait in the outbox.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn outbox_len(&self) -> Result<usize, EngineError> {
        Ok(self.store.count(Kind::Outbox)?)
    }

    /// Records the relay's answer to the send of outbox entry `key`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn sent(
        &mut self,
        key: &[u8],
        response: &Response,
    ) -> Result<(SendOutcome, Vec<Event>), EngineError> {
        match response {
            Response::Sent { .. } => {
                let events = self.finish(key, Delivery::Sent)?;
                Ok((SendOutcome::Done, events))
            }
            Response::Error(e) => match e.code {
                ErrorCode::RateLimited | ErrorCode::QuotaExceeded | ErrorCode::Storage => {
                    Ok((SendOutcome::Retry(e.message.clone()), Vec::new()))
                }
                ErrorCode::RevokedRecipient => {
                    Ok((SendOutcome::Revoked(e.message.clone()), Vec::new()))
                }
                _ => {
                    let events = self.finish(key, Delivery::Failed(e.message.clone()))?;
                    Ok((SendOutcome::Failed(e.message.clone()), events))
                }
            },
            other => {
                let why = format!("unexpected answer from the relay: {other:?}");
                Ok((SendOutcome::Retry(why), Vec::new()))
            }
        }
    }

    /// Drops the first outbox entry, which cannot be sent (its recipient has no prekeys, is
    /// unknown or revoked): `reason` is recorded.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn drop_first(&mut self, reason: &str) -> Result<Vec<Event>, EngineError> {
        match self.first()? {
            Some((key, _)) => self.finish(&key, Delivery::Failed(reason.to_owned())),
            None => Ok(Vec::new()),
        }
    }

    /// After the revocation lists were refreshed: drops recipients of entry `key` whose
    /// certificates are no longer valid. `Ok(false)` when that changed nothing (the entry is
    /// then marked failed).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn retarget(
        &mut self,
        key: &[u8],
        reason: &str,
        now: UnixTime,
    ) -> Result<(bool, Vec<Event>), EngineError> {
        let Some(mut entry) = self.store.get::<OutboxEntry>(Kind::Outbox, key)? else {
            return Ok((false, Vec::new()));
        };
        let changed = match &mut entry.job {
            Job::Sealed {
                recipients,
                channel: Some(channel),
                ..
            } => {
                let before = recipients.len();
                if let Some(view) = self.channels.get(channel) {
                    let state = view.head().state();
                    recipients.retain(|u| {
                        state
                            .member(u)
                            .is_some_and(|c| self.trust.verify_certificate(c, now).is_ok())
                    });
                }
                recipients.len() != before
            }
            _ => false,
        };
        let empty = matches!(&entry.job, Job::Sealed { recipients, .. } if recipients.is_empty());
        if !changed || empty {
            let delivery = if empty {
                Delivery::Sent
            } else {
                Delivery::Failed(reason.to_owned())
            };
            return Ok((false, self.finish(key, delivery)?));
        }
        let mut batch = Batch::default();
        self.store.stage(&mut batch, Kind::Outbox, key, &entry);
        self.commit(batch)?;
        Ok((true, Vec::new()))
    }

    /// Removes entry `key` and records how its message ended.
    pub(super) fn finish(
        &mut self,
        key: &[u8],
        delivery: Delivery,
    ) -> Result<Vec<Event>, EngineError> {
        let mut events = Vec::new();
        let mut batch = Batch::default();
        let entry = self.store.get::<OutboxEntry>(Kind::Outbox, key)?;
        Store::stage_remove(&mut batch, Kind::Outbox, key);
        if delivery == Delivery::Sent
            && let Some(entry) = &entry
        {
            self.track_sent(&mut batch, entry, self.outgoing_at)?;
        }
        // A re-send belongs to no history entry of its own.
        let entry = entry.filter(|e| !matches!(e.job, Job::Resend { .. }));
        if let Some((channel, seq)) = entry.and_then(|e| e.history) {
            let record = Store::history_key(Place::Channel(channel), seq);
            if let Some(mut old) = self.store.get::<Entry>(Kind::History, &record)? {
                old.delivery = Some(delivery.clone());
                self.store.stage(&mut batch, Kind::History, &record, &old);
                events.push(Event::Delivery {
                    channel,
                    seq,
                    state: delivery,
                });
            }
        } else if let Delivery::Failed(reason) = delivery {
            tracing::warn!("outbox entry not sent");
            tracing::debug!(%reason, "outbox entry not sent");
        }
        self.commit(batch)?;
        Ok(events)
    }

    /// Encrypts `text` for the channel's current members whose certificates are valid and
    /// queues it; it goes out in order with everything queued before it, and is in our history
    /// at once (as queued).
    ///
    /// # Errors
    ///
    /// [`EngineError::NoLongerMember`] when we were removed; [`EngineError::EmptyMessage`] for
    /// empty text; [`EngineError::Channel`] for oversized text.
    pub fn send_text(
        &mut self,
        channel: ChannelId,
        text: &str,
        now: UnixTime,
    ) -> Result<(u64, Vec<Event>), EngineError> {
        if text.trim().is_empty() {
            return Err(EngineError::EmptyMessage);
        }
        let view = self.view(channel)?;
        if !view.is_member() {
            return Err(EngineError::NoLongerMember(channel));
        }
        let head = view.head().state().clone();
        let content = ChannelContent::Text {
            text: text.to_owned(),
            sent_at: now,
        };
        let mut seq = 0;
        let events = self.transact(|engine, batch, events| {
            let recipients = engine.valid_others(&head, now);
            let payload = engine.seal_for(batch, channel, &content, &recipients)?;
            let entry = Entry {
                sender: engine.local.user().clone(),
                sender_name: engine.local.certificate().body().display_name.to_string(),
                at: now,
                body: Body::Text(text.to_owned()),
                delivery: Some(if recipients.is_empty() {
                    Delivery::Sent
                } else {
                    Delivery::Queued
                }),
                signer: None,
            };
            seq = engine.append(batch, events, Place::Channel(channel), entry)?;
            if !recipients.is_empty() {
                let job = Job::Sealed {
                    recipients,
                    level: Some(head.label.level.clone()),
                    payload,
                    channel: Some(channel),
                };
                engine.enqueue(batch, job, Some((channel, seq)))?;
            }
            Ok(())
        })?;
        Ok((seq, events))
    }

    /// Seals `content` in the current epoch of `channel`; a sender key made now (the first
    /// message of an epoch) is queued, in the same batch, before the message it opens.
    fn seal_for(
        &mut self,
        batch: &mut Batch,
        channel: ChannelId,
        content: &ChannelContent,
        recipients: &[UserId],
    ) -> Result<Vec<u8>, EngineError> {
        let bytes = content.to_bytes();
        let view = self
            .channels
            .get_mut(&channel)
            .ok_or(EngineError::UnknownChannel(channel))?;
        let message = match view.seal(&mut self.rng, &bytes) {
            Err(ChannelError::NoOwnSenderKey) => {
                self.distribute_sender_key(batch, channel, recipients)?;
                self.channels
                    .get_mut(&channel)
                    .ok_or(EngineError::UnknownChannel(channel))?
                    .seal(&mut self.rng, &bytes)?
            }
            other => other?,
        };
        self.stage_channel(batch, channel);
        Ok(Payload::Channel(Box::new(message)).to_bytes())
    }

    /// Seals again, in the channel's new epoch (or our key's new generation) and for its valid
    /// members now, our messages of `channel` still queued from before. A message is sealed again only under a
    /// label that dominates the one it was written under: after the label was lowered it is
    /// not sent (marked failed, with the reason), since its writer wrote it for the higher one.
    pub(super) fn reseal_outbox(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: ChannelId,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let view = self.view(channel)?;
        let head = view.head().state().clone();
        // Sealed before the current epoch, or with a generation of our key we replaced.
        let current = (head.epoch, view.sending_generation().unwrap_or(0));
        for (key, mut entry) in self.store.scan::<OutboxEntry>(Kind::Outbox, &[])? {
            let Job::Sealed {
                recipients,
                level,
                payload,
                channel: Some(of),
            } = &mut entry.job
            else {
                continue;
            };
            let written_under = match Payload::from_bytes(payload) {
                Ok(Payload::Channel(message))
                    if (message.header.epoch, message.header.generation) < current =>
                {
                    message.header.label
                }
                _ => continue,
            };
            if *of != channel {
                continue;
            }
            if !head.label.dominates(&written_under) {
                let why = format!(
                    "not sent: the channel's label was lowered from {written_under} to {} before \
                     it went out; send it again if it may go under the new label",
                    head.label
                );
                self.stage_finish(batch, events, &key, entry.history, Delivery::Failed(why))?;
                continue;
            }
            let text = match entry.history {
                Some((c, seq)) => self
                    .store
                    .get::<Entry>(Kind::History, &Store::history_key(Place::Channel(c), seq))?
                    .and_then(|e| match e.body {
                        Body::Text(text) => Some((text, e.at)),
                        _ => None,
                    }),
                None => None,
            };
            let Some((text, sent_at)) = text else {
                continue;
            };
            let content = ChannelContent::Text { text, sent_at };
            *recipients = self.valid_others(&head, now);
            *level = Some(head.label.level.clone());
            *payload = self.seal_for(batch, channel, &content, recipients)?;
            // A new id: the old bytes may already be stored at the relay under the old one.
            rand_core::RngCore::fill_bytes(&mut self.rng, &mut entry.id);
            self.store.stage(batch, Kind::Outbox, &key, &entry);
        }
        Ok(())
    }

    /// Marks our messages of `channel` still queued as failed, for `why`, and drops them.
    pub(super) fn fail_queued(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: ChannelId,
        why: &str,
    ) -> Result<(), EngineError> {
        for (key, entry) in self.store.scan::<OutboxEntry>(Kind::Outbox, &[])? {
            if matches!(&entry.job, Job::Sealed { channel: Some(of), .. } if *of == channel) {
                let delivery = Delivery::Failed(why.to_owned());
                self.stage_finish(batch, events, &key, entry.history, delivery)?;
            }
        }
        Ok(())
    }

    /// Stages the removal of outbox entry `key` and how its message ended, in `batch`.
    fn stage_finish(
        &self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        key: &[u8],
        history: Option<(ChannelId, u64)>,
        delivery: Delivery,
    ) -> Result<(), EngineError> {
        Store::stage_remove(batch, Kind::Outbox, key);
        let Some((channel, seq)) = history else {
            return Ok(());
        };
        let record = Store::history_key(Place::Channel(channel), seq);
        if let Some(mut old) = self.store.get::<Entry>(Kind::History, &record)? {
            old.delivery = Some(delivery.clone());
            self.store.stage(batch, Kind::History, &record, &old);
            events.push(Event::Delivery {
                channel,
                seq,
                state: delivery,
            });
        }
        Ok(())
    }
}
