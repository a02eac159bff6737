//! The outbox: everything we send, in order, until the relay has stored it.
//!
//! An entry is written (sealed, durable) before anything is sent. A 1:1 entry is encrypted
//! when its turn comes, and the ciphertext replaces the entry in the same atomic commit that
//! advances the session: from then on, whatever crashes, the same bytes go out with the same
//! client message id, and the relay stores them once.

use vigil_protocol::UserId;
use vigil_protocol::content::{DirectContent, Payload};
use vigil_protocol::relay::{ClientMessageId, ErrorCode, Request, Response};

use super::records::{Delivery, Event, Job, OutboxEntry};
use super::{Engine, EngineError, rng};
use crate::store::{Batch, Kind, Store, StoreError};

/// What the worker should do next for the outbox.
#[derive(Debug)]
pub enum Outgoing {
    /// The outbox is empty.
    Idle,
    /// The first entry needs a session with this member: fetch their bundle, then call
    /// [`Engine::add_bundle`] (or [`Engine::drop_first`] if the relay refuses).
    NeedBundle(UserId),
    /// Send this request and report the response with [`Engine::sent`].
    Send {
        /// The outbox entry.
        key: Vec<u8>,
        /// The request.
        request: Request,
    },
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
        &self,
        batch: &mut Batch,
        job: Job,
        history: Option<([u8; 32], u64)>,
    ) -> Result<(), EngineError> {
        let mut id = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rng(), &mut id);
        let key = self.store.next_id()?.to_be_bytes();
        self.store
            .stage(batch, Kind::Outbox, &key, &OutboxEntry { id, job, history });
        Ok(())
    }

    pub(super) fn enqueue_direct(
        &self,
        batch: &mut Batch,
        to: UserId,
        content: DirectContent,
        history: Option<([u8; 32], u64)>,
    ) -> Result<(), EngineError> {
        self.enqueue(batch, Job::Direct { to, content }, history)
    }

    fn first(&self) -> Result<Option<(Vec<u8>, OutboxEntry)>, EngineError> {
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

    /// The next thing to send. Encrypts the first entry if it is still plaintext (durably,
    /// before it is sent).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn next_outgoing(&mut self) -> Result<Outgoing, EngineError> {
        let Some((key, mut entry)) = self.first()? else {
            return Ok(Outgoing::Idle);
        };
        if let Job::Direct { to, content } = &entry.job {
            let mut sessions = self.load_sessions(to)?;
            let Some(session) = sessions.first_mut() else {
                return Ok(Outgoing::NeedBundle(to.clone()));
            };
            let envelope = match session.encrypt(&mut rng(), &content.to_bytes()) {
                Ok(envelope) => envelope,
                Err(e) => {
                    // The session cannot send (exhausted or broken): start a new one.
                    let reason = e.to_string();
                    sessions.remove(0);
                    let mut batch = Batch::default();
                    self.stage_sessions(&mut batch, to, &sessions);
                    self.store.commit(batch)?;
                    tracing::warn!(%reason, "session dropped");
                    return Ok(Outgoing::NeedBundle(to.clone()));
                }
            };
            let to = to.clone();
            entry.job = Job::Sealed {
                recipients: vec![to.clone()],
                level: None,
                payload: Payload::Direct(envelope).to_bytes(),
                channel: None,
            };
            let mut batch = Batch::default();
            self.stage_sessions(&mut batch, &to, &sessions);
            self.store.stage(&mut batch, Kind::Outbox, &key, &entry);
            self.store.commit(batch)?;
        }
        let Job::Sealed {
            recipients,
            level,
            payload,
            ..
        } = entry.job
        else {
            return Err(StoreError::Corrupt("outbox entry".into()).into());
        };
        Ok(Outgoing::Send {
            key,
            request: Request::Send {
                id: ClientMessageId(entry.id),
                recipients,
                level,
                payload,
            },
        })
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
        now: vigil_protocol::UnixTime,
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
        self.store.commit(batch)?;
        Ok((true, Vec::new()))
    }

    /// Removes entry `key` and records how its message ended.
    fn finish(&mut self, key: &[u8], delivery: Delivery) -> Result<Vec<Event>, EngineError> {
        let mut events = Vec::new();
        let mut batch = Batch::default();
        let entry = self.store.get::<OutboxEntry>(Kind::Outbox, key)?;
        Store::stage_remove(&mut batch, Kind::Outbox, key);
        if let Some((channel, seq)) = entry.and_then(|e| e.history) {
            let record = Store::history_key(&channel, seq);
            if let Some(mut old) = self.store.get::<super::Entry>(Kind::History, &record)? {
                old.delivery = Some(delivery.clone());
                self.store.stage(&mut batch, Kind::History, &record, &old);
                events.push(Event::Delivery {
                    channel,
                    seq,
                    state: delivery,
                });
            }
        } else if let Delivery::Failed(reason) = delivery {
            tracing::warn!(%reason, "outbox entry refused by the relay");
        }
        self.store.commit(batch)?;
        Ok(events)
    }
}
