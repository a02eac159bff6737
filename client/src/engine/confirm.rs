//! What we sent, kept until the recipients' clients confirm it (issue 21, defect 4): a relay
//! restored from an older backup loses what it accepted after that backup without telling
//! anyone, so "accepted by the relay" is not "delivered".
//!
//! When the relay accepts a payload, it is kept (sealed) under its [`MessageRef`] with the
//! recipients that have not confirmed it. A [`ReceiptKind::Delivered`] receipt from a pending
//! recipient removes them; when none is left, our history entry becomes
//! [`Delivery::Delivered`]. Unconfirmed payloads are sent again, the same bytes under the same
//! client message id (a relay that still has them stores nothing; a recipient that had them
//! recognises the replay), after [`RESEND_AFTER_SECS`] doubled at each attempt, at most
//! [`MAX_RESENDS`] times. A [`ReceiptKind::Undecryptable`] report from a pending recipient of a
//! 1:1 payload sends its content again, once, over a fresh session with the same identity key.

use vigil_protocol::content::{MAX_RECEIPT_REFS, MessageRef, Receipt, ReceiptKind};
use vigil_protocol::{UnixTime, UserId};

use super::records::{Delivery, Event, Job, OutboxEntry, SentRecord};
use super::{Engine, EngineError};
use crate::store::{Batch, Kind, Store};

/// First wait for a confirmation before sending again: a recipient online confirms within
/// seconds; one offline confirms when back (the relay still holds the payload).
pub const RESEND_AFTER_SECS: u64 = 10;

/// Re-sends of one unconfirmed payload at most: with the doubling wait, they cover about 11
/// hours; after that, it stays "sent" and is forgotten.
pub const MAX_RESENDS: u32 = 12;

/// Payloads kept unconfirmed at most: beyond, new ones are not tracked (they stay "sent").
pub const MAX_UNCONFIRMED: usize = 2000;

impl Engine {
    /// Keeps the payload of outbox entry `entry`, which the relay has just accepted, until its
    /// recipients confirm it (in `batch`).
    pub(super) fn track_sent(
        &self,
        batch: &mut Batch,
        entry: &OutboxEntry,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let (recipients, level, payload, channel, direct, reported) = match &entry.job {
            Job::Sealed {
                recipients,
                level,
                payload,
                channel: Some(channel),
            } => (recipients, level, payload, Some(*channel), None, false),
            Job::SealedDirect {
                to,
                identity,
                content,
                payload,
                retried,
            } => (
                &vec![to.clone()],
                &None,
                payload,
                None,
                Some((*identity, content.clone())),
                *retried,
            ),
            Job::Resend { reference, .. } => {
                let key = reference.0;
                if let Some(mut record) = self.store.get::<SentRecord>(Kind::Sent, &key)? {
                    record.last_sent = now;
                    self.store.stage(batch, Kind::Sent, &key, &record);
                }
                return Ok(());
            }
            _ => return Ok(()),
        };
        if self.store.count(Kind::Sent)? >= MAX_UNCONFIRMED {
            tracing::warn!("too many messages unconfirmed: this one is not kept for re-sending");
            return Ok(());
        }
        let record = SentRecord {
            order: self.store.next_id()?,
            id: entry.id,
            payload: payload.clone(),
            level: level.clone(),
            channel,
            pending: recipients.clone(),
            direct,
            history: entry.history,
            last_sent: now,
            resends: 0,
            reported,
        };
        let reference = MessageRef::of(payload);
        self.store.stage(batch, Kind::Sent, &reference.0, &record);
        Ok(())
    }

    /// Applies a receipt from `from` (over a session with them): only references to payloads
    /// we sent them and they have not confirmed count; the rest is ignored.
    pub(super) fn handle_receipt(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        from: &UserId,
        receipt: &Receipt,
    ) -> Result<(), EngineError> {
        for reference in receipt.messages.iter().take(MAX_RECEIPT_REFS) {
            let key = reference.0;
            let Some(mut record) = self.store.get::<SentRecord>(Kind::Sent, &key)? else {
                continue;
            };
            let Some(index) = record.pending.iter().position(|u| u == from) else {
                continue;
            };
            match receipt.kind {
                ReceiptKind::Delivered => {
                    record.pending.remove(index);
                }
                ReceiptKind::Undecryptable => {
                    let Some((identity, content)) = record.direct.clone() else {
                        // A channel payload: what it needs (a sender key) travels 1:1 and is
                        // reported on its own.
                        continue;
                    };
                    if record.reported {
                        tracing::debug!(%from, "second failure report ignored");
                        continue;
                    }
                    record.reported = true;
                    record.pending.remove(index);
                    self.drop_sessions_with(batch, from, &identity)?;
                    let job = Job::DirectRetry {
                        to: from.clone(),
                        identity,
                        content,
                    };
                    self.enqueue(batch, job, None)?;
                    tracing::info!("a message its recipient could not decrypt is sent again");
                }
            }
            if record.pending.is_empty() {
                Store::stage_remove(batch, Kind::Sent, &key);
                if receipt.kind == ReceiptKind::Delivered {
                    self.mark(batch, events, record.history, Delivery::Delivered)?;
                }
            } else {
                self.store.stage(batch, Kind::Sent, &key, &record);
            }
        }
        Ok(())
    }

    /// Sets the delivery state of our history entry `history`, if any.
    fn mark(
        &self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        history: Option<(vigil_protocol::channel::ChannelId, u64)>,
        delivery: Delivery,
    ) -> Result<(), EngineError> {
        let Some((channel, seq)) = history else {
            return Ok(());
        };
        let record = Store::history_key(crate::store::Place::Channel(channel), seq);
        if let Some(mut old) = self.store.get::<super::Entry>(Kind::History, &record)? {
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

    /// Queues again what was sent and not confirmed in time (see the module documentation);
    /// forgets what was sent again [`MAX_RESENDS`] times.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn queue_resends(&mut self, now: UnixTime) -> Result<(), EngineError> {
        // Every flush of the outbox asks; the kept payloads are read at most this often.
        if now.0 < self.resends_checked.0.saturating_add(RESEND_AFTER_SECS / 2) {
            return Ok(());
        }
        self.resends_checked = now;
        let records = self.store.scan::<SentRecord>(Kind::Sent, &[])?;
        let mut due: Vec<_> = records
            .into_iter()
            .filter(|(_, r)| {
                let wait = RESEND_AFTER_SECS.saturating_mul(1 << r.resends.min(30));
                now.0.saturating_sub(r.last_sent.0) >= wait
            })
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        // In the order they were first sent (keys are references, in no order).
        due.sort_by_key(|(_, r)| r.order);
        self.transact(|engine, batch, _| {
            for (key, mut record) in due {
                if record.resends >= MAX_RESENDS {
                    tracing::info!("an unconfirmed message is no longer sent again");
                    Store::stage_remove(batch, Kind::Sent, &key);
                    continue;
                }
                let recipients = engine.still_valid(&record, now);
                if recipients.is_empty() {
                    Store::stage_remove(batch, Kind::Sent, &key);
                    continue;
                }
                record.resends += 1;
                record.last_sent = now;
                let reference = MessageRef::of(&record.payload);
                engine.store.stage(batch, Kind::Sent, &key, &record);
                engine.enqueue(
                    batch,
                    Job::Resend {
                        reference,
                        recipients,
                    },
                    None,
                )?;
            }
            Ok(())
        })
        .map(|_| ())
    }

    /// The pending recipients of `record` that may still get it: for a channel payload, those
    /// still members with a valid certificate.
    fn still_valid(&mut self, record: &SentRecord, now: UnixTime) -> Vec<UserId> {
        let Some(channel) = record.channel else {
            return record.pending.clone();
        };
        let Some(view) = self.channels.get(&channel) else {
            return Vec::new();
        };
        let head = view.head().state().clone();
        let valid = self.valid_others(&head, now);
        record
            .pending
            .iter()
            .filter(|u| valid.contains(u))
            .cloned()
            .collect()
    }

    /// Unconfirmed payloads kept (for tests and the status line).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn unconfirmed(&self) -> Result<usize, EngineError> {
        Ok(self.store.count(Kind::Sent)?)
    }
}
