//! Mailbox writes in sled: many requests' writes applied in one transaction (by the writer
//! thread, [`super::commit`]), each with its own result. A message is a payload in `blobs`,
//! an entry per recipient in `mailboxes`, a reference count in `refs` when it has more than
//! one recipient, a dedup record, and one more in the stored-messages counter.

use std::collections::HashMap;

use sled::Transactional as _;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use vigil_protocol::relay::MessageId;
use vigil_protocol::{UserId, codec};

use super::mailbox::{Entry, MailTrees, STORED, counter, lock};
use super::{bug, decode, key};
use crate::store::{NewMessage, StoreError, Usage};

impl From<TransactionError<Self>> for StoreError {
    fn from(e: TransactionError<Self>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => Self::Sled(e),
        }
    }
}

fn abort<T>(e: StoreError) -> Result<T, ConflictableTransactionError<StoreError>> {
    Err(ConflictableTransactionError::Abort(e))
}

impl MailTrees {
    /// Applies `writes` in one transaction: all of them or none are stored. Each gets its own
    /// result (a full mailbox refuses its message only); only a storage failure fails all.
    /// Not yet durable: flush before acknowledging.
    pub(super) fn apply(&self, writes: &[Write]) -> Result<Vec<Applied>, StoreError> {
        // Ids for each message and its mailbox entries, taken here, in the order writes are
        // applied (so mailbox order is the order writes are committed in: a pusher that has
        // sent entry n never misses a later-committed entry below n), and outside the
        // transaction: sled persists its id counter with a flush now and then, which cannot
        // complete inside a transaction.
        let ids = writes
            .iter()
            .map(|write| match write {
                Write::Enqueue(enqueue) => (0..=enqueue.recipients.len())
                    .map(|_| self.db.generate_id())
                    .collect::<Result<Vec<u64>, _>>(),
                Write::Ack { .. } => Ok(Vec::new()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Held for the whole transaction: what the quotas see is what it commits against.
        let mut held = lock(&self.held);
        let (results, changed) = (
            &self.dedup,
            &self.blobs,
            &self.refs,
            &self.mailboxes,
            &self.meta,
        )
            .transaction(|trees| {
                // Fresh on every attempt (sled may run this again after a conflict).
                let mut changed = Changed {
                    held: &held,
                    now: HashMap::new(),
                    stored: 0,
                };
                let results = writes
                    .iter()
                    .zip(&ids)
                    .map(|(write, ids)| match write {
                        Write::Enqueue(enqueue) => {
                            enqueue_in(ids, trees, &mut changed, enqueue).map(Applied::Enqueued)
                        }
                        Write::Ack { user, ids } => {
                            ack_in(trees, &mut changed, user, ids).map(|n| Applied::Acked(Ok(n)))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if changed.stored > 0 {
                    let meta = &trees.4;
                    let stored = meta.get(STORED)?.map_or(0, |b| counter(&b));
                    meta.insert(STORED, &(stored + changed.stored).to_be_bytes())?;
                }
                Ok((results, changed.now))
            })?;
        // Committed: the counts follow.
        for (user, usage) in changed {
            if usage.messages == 0 {
                held.remove(&user);
            } else {
                held.insert(user, usage);
            }
        }
        Ok(results)
    }
}

/// A mailbox write, as the writer thread applies it.
#[derive(Debug)]
pub(super) enum Write {
    /// Store a message for its recipients.
    Enqueue(Box<NewMessage>),
    /// Remove delivered messages from `user`'s mailbox.
    Ack { user: UserId, ids: Vec<MessageId> },
}

/// What a [`Write`] did.
#[derive(Debug)]
pub(super) enum Applied {
    /// Stored (`Ok(false)`), a duplicate (`Ok(true)`), or refused (a full mailbox).
    Enqueued(Result<bool, StoreError>),
    /// How many messages were removed.
    Acked(Result<u32, StoreError>),
}

impl Applied {
    /// What [`Write::Enqueue`] did: whether the message was a duplicate.
    pub(super) fn enqueued(self) -> Result<bool, StoreError> {
        match self {
            Self::Enqueued(result) => result,
            Self::Acked(_) => Err(bug("a write was answered with another write's result")),
        }
    }

    /// What [`Write::Ack`] did: how many messages were removed.
    pub(super) fn acked(self) -> Result<u32, StoreError> {
        match self {
            Self::Acked(result) => result,
            Self::Enqueued(_) => Err(bug("a write was answered with another write's result")),
        }
    }
}

/// The trees a mailbox write touches, inside a transaction.
type Trees = (
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
);

/// What mailboxes hold as a transaction changes it: the committed counts, and the new counts
/// of the mailboxes it touched.
struct Changed<'a> {
    held: &'a HashMap<UserId, Usage>,
    now: HashMap<UserId, Usage>,
    /// Messages stored (added to the counter once per transaction).
    stored: u64,
}

impl Changed<'_> {
    fn get(&self, user: &UserId) -> Usage {
        self.now
            .get(user)
            .or_else(|| self.held.get(user))
            .copied()
            .unwrap_or_default()
    }
}

/// Stores one message inside a transaction; a full mailbox refuses it before anything of it
/// is written (the transaction goes on for the others).
fn enqueue_in(
    ids: &[u64],
    (dedup, blobs, refs, mailboxes, _): &Trees,
    changed: &mut Changed<'_>,
    enqueue: &NewMessage,
) -> Result<Result<bool, StoreError>, ConflictableTransactionError<StoreError>> {
    let dedup_key = key(&enqueue.sender, &enqueue.id.0);
    if dedup.get(&dedup_key)?.is_some() {
        return Ok(Ok(true));
    }
    let len = enqueue.payload.len() as u64;
    let mut updated = Vec::with_capacity(enqueue.recipients.len());
    for recipient in &enqueue.recipients {
        let held = changed.get(recipient);
        let after = Usage {
            messages: held.messages + 1,
            bytes: held.bytes + len,
        };
        if after.messages > enqueue.quota.messages || after.bytes > enqueue.quota.bytes {
            return Ok(Err(StoreError::QuotaExceeded(recipient.clone())));
        }
        updated.push(after);
    }
    for (recipient, after) in enqueue.recipients.iter().zip(updated) {
        changed.now.insert(recipient.clone(), after);
    }
    let (&blob_id, seqs) = ids.split_first().ok_or_else(|| {
        ConflictableTransactionError::Storage(sled::Error::ReportableBug("no ids".into()))
    })?;
    dedup.insert(dedup_key.as_slice(), &enqueue.stored_at.0.to_be_bytes())?;
    let blob = blob_id.to_be_bytes();
    blobs.insert(&blob, enqueue.payload.as_slice())?;
    if enqueue.recipients.len() > 1 {
        // A message for one recipient needs no count: no record means one reference.
        refs.insert(&blob, &(enqueue.recipients.len() as u64).to_be_bytes())?;
    }
    // Every recipient's entry is the same reference: encoded once, shared (an `IVec` clone is
    // a reference count).
    let entry = sled::IVec::from(codec::encode(&Entry {
        blob: blob_id,
        sender: enqueue.sender.clone(),
        stored_at: enqueue.stored_at,
        len,
    }));
    for (recipient, seq) in enqueue.recipients.iter().zip(seqs) {
        mailboxes.insert(key(recipient, &seq.to_be_bytes()), entry.clone())?;
    }
    changed.stored += 1;
    Ok(Ok(false))
}

/// Removes delivered messages inside a transaction; returns how many were there.
fn ack_in(
    (_, blobs, refs, mailboxes, _): &Trees,
    changed: &mut Changed<'_>,
    user: &UserId,
    ids: &[MessageId],
) -> Result<u32, ConflictableTransactionError<StoreError>> {
    let mut removed = 0u32;
    for MessageId(seq) in ids {
        let Some(bytes) = mailboxes.remove(key(user, &seq.to_be_bytes()))? else {
            continue;
        };
        let entry: Entry = decode(&bytes).or_else(abort)?;
        removed += 1;
        let blob = entry.blob.to_be_bytes();
        let count = refs
            .get(blob)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map_or(0, u64::from_be_bytes);
        if count <= 1 {
            refs.remove(&blob)?;
            blobs.remove(&blob)?;
        } else {
            refs.insert(&blob, &(count - 1).to_be_bytes())?;
        }
        let held = changed.get(user);
        let after = Usage {
            messages: held.messages.saturating_sub(1),
            bytes: held.bytes.saturating_sub(entry.len),
        };
        changed.now.insert(user.clone(), after);
    }
    Ok(removed)
}
