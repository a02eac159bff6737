//! Taking the outbox's first entry to the relay: a 1:1 entry or a receipt is encrypted when
//! its turn comes, durably, over a session with the certificate it is bound to (see
//! [`super::outbox`]); a re-send takes the bytes kept in [`super::confirm`].

use vigil_protocol::UnixTime;
use vigil_protocol::UserId;
use vigil_protocol::content::{DirectContent, Payload};
use vigil_protocol::keys::IdentityPublicKey;
use vigil_protocol::relay::{ClientMessageId, Request};

use super::outbox::Outgoing;
use super::records::{Delivery, Job, OutboxEntry, SentRecord};
use super::{Engine, EngineError};
use crate::store::{Batch, Kind};

impl Engine {
    /// The recipient of the first outbox entry when it is a 1:1 entry: who, and which identity
    /// key it is bound to.
    pub(super) fn first_direct_recipient(
        &self,
    ) -> Result<Option<(UserId, IdentityPublicKey)>, EngineError> {
        Ok(match self.first()? {
            Some((
                _,
                OutboxEntry {
                    job: Job::Direct { to, identity, .. } | Job::DirectRetry { to, identity, .. },
                    ..
                },
            )) => Some((to, identity)),
            _ => None,
        })
    }

    /// The peer of the first outbox entry when it is a receipt, and whether it needs a fresh
    /// session.
    pub(super) fn first_receipt_recipient(&self) -> Result<Option<(UserId, bool)>, EngineError> {
        Ok(match self.first()? {
            Some((
                _,
                OutboxEntry {
                    job: Job::Receipt { to, fresh, .. },
                    ..
                },
            )) => Some((to, fresh)),
            _ => None,
        })
    }

    /// The fresh session the first entry (a failure report) needed is started: it goes out
    /// over it.
    pub(super) fn receipt_started(&self, batch: &mut Batch) -> Result<(), EngineError> {
        if let Some((key, mut entry)) = self.first()?
            && let Job::Receipt { fresh, .. } = &mut entry.job
        {
            *fresh = false;
            self.store.stage(batch, Kind::Outbox, &key, &entry);
        }
        Ok(())
    }

    /// The next thing to send. Encrypts the first entry if it is still plaintext (durably,
    /// before it is sent), over a session with the identity key it is bound to, whose
    /// certificate must be valid now (else the entry fails, with the reason).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn next_outgoing(&mut self, now: UnixTime) -> Result<Outgoing, EngineError> {
        self.outgoing_at = now;
        loop {
            let Some((key, entry)) = self.first()? else {
                return Ok(Outgoing::Idle);
            };
            let step = match &entry.job {
                Job::Direct { .. } | Job::DirectRetry { .. } => {
                    self.seal_direct(&key, entry, now)?
                }
                Job::Receipt { .. } => self.seal_receipt(&key, entry, now)?,
                Job::Resend {
                    reference,
                    recipients,
                } => {
                    let record = self.store.get::<SentRecord>(Kind::Sent, &reference.0)?;
                    match record {
                        // Confirmed meanwhile: nothing to send.
                        None => {
                            self.finish(&key, Delivery::Sent)?;
                            None
                        }
                        Some(record) => Some(Outgoing::Send {
                            key,
                            request: Request::Send {
                                id: ClientMessageId(record.id),
                                recipients: recipients.clone(),
                                level: record.level,
                                payload: record.payload,
                            },
                        }),
                    }
                }
                Job::Sealed {
                    recipients,
                    level,
                    payload,
                    ..
                } => Some(Outgoing::Send {
                    request: Request::Send {
                        id: ClientMessageId(entry.id),
                        recipients: recipients.clone(),
                        level: level.clone(),
                        payload: payload.clone(),
                    },
                    key,
                }),
                Job::SealedDirect { to, payload, .. } => Some(Outgoing::Send {
                    request: Request::Send {
                        id: ClientMessageId(entry.id),
                        recipients: vec![to.clone()],
                        level: None,
                        payload: payload.clone(),
                    },
                    key,
                }),
            };
            if let Some(step) = step {
                return Ok(step);
            }
        }
    }

    /// Encrypts a 1:1 entry over a session with the identity key it is bound to, durably
    /// (`None`: it failed, or was sealed; look at the outbox again).
    fn seal_direct(
        &mut self,
        key: &[u8],
        mut entry: OutboxEntry,
        now: UnixTime,
    ) -> Result<Option<Outgoing>, EngineError> {
        let (Job::Direct {
            to,
            identity,
            content,
        }
        | Job::DirectRetry {
            to,
            identity,
            content,
        }) = &entry.job
        else {
            return Ok(None);
        };
        let retried = matches!(entry.job, Job::DirectRetry { .. });
        let mut sessions = self.load_sessions(to)?;
        let Some(index) = sessions
            .iter()
            .position(|s| s.session.remote_identity() == identity)
        else {
            return Ok(Some(Outgoing::NeedBundle(to.clone())));
        };
        if let Err(e) = self.check_certificate(&sessions[index].certificate, now) {
            // A 1:1 entry belongs to no history entry: no event to report.
            let why = format!("not sent to {to}: {e}");
            self.finish(key, Delivery::Failed(why))?;
            return Ok(None);
        }
        let envelope = match sessions[index]
            .session
            .encrypt(&mut self.rng, &content.to_bytes())
        {
            Ok(envelope) => envelope,
            Err(e) => return self.drop_broken_session(to, sessions, index, &e).map(Some),
        };
        let to = to.clone();
        entry.job = Job::SealedDirect {
            to: to.clone(),
            identity: *identity,
            content: content.clone(),
            payload: Payload::Direct(envelope).to_bytes(),
            retried,
        };
        let mut batch = Batch::default();
        self.stage_sessions(&mut batch, &to, &sessions);
        self.store.stage(&mut batch, Kind::Outbox, key, &entry);
        self.commit(batch)?;
        Ok(None)
    }

    /// The session cannot send (exhausted or broken): a new one is started.
    fn drop_broken_session(
        &mut self,
        to: &UserId,
        mut sessions: Vec<super::sessions::PeerSession>,
        index: usize,
        error: &vigil_protocol::SessionError,
    ) -> Result<Outgoing, EngineError> {
        let reason = error.to_string();
        sessions.remove(index);
        let mut batch = Batch::default();
        self.stage_sessions(&mut batch, to, &sessions);
        self.commit(batch)?;
        tracing::warn!("session dropped; a new one is started");
        tracing::debug!(%reason, "session dropped");
        Ok(Outgoing::NeedBundle(to.clone()))
    }

    /// Encrypts a receipt entry over the session with the peer's newest valid certificate (a
    /// fresh one first needs their bundle), durably.
    fn seal_receipt(
        &mut self,
        key: &[u8],
        mut entry: OutboxEntry,
        now: UnixTime,
    ) -> Result<Option<Outgoing>, EngineError> {
        let Job::Receipt { to, receipt, fresh } = &entry.job else {
            return Ok(None);
        };
        let to = to.clone();
        if *fresh {
            return Ok(Some(Outgoing::NeedBundle(to)));
        }
        let mut sessions = self.load_sessions(&to)?;
        let Some(index) = self.receipt_session(&sessions, now) else {
            return Ok(Some(Outgoing::NeedBundle(to)));
        };
        let content = DirectContent::Receipt(receipt.clone());
        let envelope = match sessions[index]
            .session
            .encrypt(&mut self.rng, &content.to_bytes())
        {
            Ok(envelope) => envelope,
            Err(e) => return self.drop_broken_session(&to, sessions, index, &e).map(Some),
        };
        // Not kept once sent: a receipt is never confirmed.
        entry.job = Job::Sealed {
            recipients: vec![to.clone()],
            level: None,
            payload: Payload::Direct(envelope).to_bytes(),
            channel: None,
        };
        let mut batch = Batch::default();
        self.stage_sessions(&mut batch, &to, &sessions);
        self.store.stage(&mut batch, Kind::Outbox, key, &entry);
        self.commit(batch)?;
        Ok(None)
    }
}
