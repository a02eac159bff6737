//! The mailboxes in sled: a payload stored once in `blobs`, an entry per recipient in
//! `mailboxes` referring to it, a reference count in `refs` when there is more than one, a
//! dedup record per (sender, client message id), and the stored-messages counter in `meta`.
//! Writes are applied by the writer thread ([`super::commit`]), many in one transaction
//! ([`super::write`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use vigil_protocol::relay::MessageId;
use vigil_protocol::{UnixTime, UserId};

use super::{decode, key, prefix};
use crate::store::{DEDUP_RETENTION_SECS, Pending, StoreError, Usage};

/// The key of the stored-messages counter in the `meta` tree.
pub(super) const STORED: &[u8] = b"stored";

/// A mailbox entry: a reference to a stored payload.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(super) struct Entry {
    /// The payload's key in `blobs`.
    pub(super) blob: u64,
    pub(super) sender: UserId,
    pub(super) stored_at: UnixTime,
    /// Payload bytes (for quotas).
    pub(super) len: u64,
}

pub(super) fn counter(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map_or(0, u64::from_be_bytes)
}

/// The trees a mailbox write touches (shared with the writer thread, [`super::commit`]).
#[derive(Clone, Debug)]
pub(super) struct MailTrees {
    pub(super) dedup: sled::Tree,
    pub(super) blobs: sled::Tree,
    pub(super) refs: sled::Tree,
    pub(super) mailboxes: sled::Tree,
    pub(super) meta: sled::Tree,
    /// Where the ids of payloads and entries come from.
    pub(super) db: sled::Db,
    /// What each mailbox holds; only mailboxes holding something are present.
    pub(super) held: Arc<Mutex<HashMap<UserId, Usage>>>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MailTrees {
    /// Opens the trees (what they hold is counted by [`Self::count_held`]).
    pub(super) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            dedup: db.open_tree("dedup")?,
            blobs: db.open_tree("blobs")?,
            refs: db.open_tree("refs")?,
            mailboxes: db.open_tree("mailboxes")?,
            meta: db.open_tree("meta")?,
            db: db.clone(),
            held: Arc::default(),
        })
    }

    /// The `meta` tree (the wire version is kept there too).
    pub(super) fn meta(&self) -> &sled::Tree {
        &self.meta
    }

    /// `blobs`, `refs`, `mailboxes`, `dedup`, `meta`.
    pub(super) fn trees(&self) -> [&sled::Tree; 5] {
        [
            &self.blobs,
            &self.refs,
            &self.mailboxes,
            &self.dedup,
            &self.meta,
        ]
    }

    /// Counts what every mailbox holds from its entries (at open).
    pub(super) fn count_held(&self) -> Result<(), StoreError> {
        let mut held: HashMap<UserId, Usage> = HashMap::new();
        for item in &self.mailboxes {
            let (k, v) = item?;
            let entry: Entry = decode(&v)?;
            let user = k
                .iter()
                .position(|&b| b == 0)
                .and_then(|end| std::str::from_utf8(k.get(..end)?).ok())
                .and_then(|name| name.parse::<UserId>().ok())
                .ok_or_else(|| {
                    StoreError::Corrupt(vigil_protocol::DecodeError::Malformed(
                        "a mailbox key without a user id".into(),
                    ))
                })?;
            let usage = held.entry(user).or_default();
            usage.messages += 1;
            usage.bytes += entry.len;
        }
        *lock(&self.held) = held;
        Ok(())
    }

    /// Entries of `user`'s mailbox after `after` (exclusive), oldest first, with payloads.
    pub(super) fn pending(
        &self,
        user: &UserId,
        after: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Pending>, StoreError> {
        let start = match after {
            Some(MessageId(seq)) => key(user, &(seq + 1).to_be_bytes()),
            None => prefix(user),
        };
        let end = key(user, &[0xFF; 9]);
        let mut out = Vec::new();
        for item in self.mailboxes.range(start..end).take(limit) {
            let (k, v) = item?;
            let seq_bytes: [u8; 8] = k
                .get(k.len().saturating_sub(8)..)
                .and_then(|s| s.try_into().ok())
                .unwrap_or_default();
            let entry: Entry = decode(&v)?;
            let payload = self
                .blobs
                .get(entry.blob.to_be_bytes())?
                .map(|b| b.to_vec())
                .unwrap_or_default();
            out.push(Pending {
                id: MessageId(u64::from_be_bytes(seq_bytes)),
                sender: entry.sender,
                stored_at: entry.stored_at,
                payload,
            });
        }
        Ok(out)
    }

    pub(super) fn usage(&self, user: &UserId) -> Usage {
        lock(&self.held).get(user).copied().unwrap_or_default()
    }

    pub(super) fn totals(&self) -> (u64, Usage) {
        let held = lock(&self.held);
        let mut total = Usage::default();
        for usage in held.values() {
            total.messages += usage.messages;
            total.bytes += usage.bytes;
        }
        (held.len() as u64, total)
    }

    pub(super) fn stored_count(&self) -> Result<u64, StoreError> {
        Ok(self.meta.get(STORED)?.map_or(0, |b| counter(&b)))
    }

    /// Forgets client message ids older than [`DEDUP_RETENTION_SECS`]; returns how many.
    pub(super) fn prune_dedup(&self, now: UnixTime) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in &self.dedup {
            let (k, v) = item?;
            let stored = <[u8; 8]>::try_from(v.as_ref()).map_or(0, u64::from_be_bytes);
            if now.0.saturating_sub(stored) > DEDUP_RETENTION_SECS {
                self.dedup.remove(k)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use vigil_protocol::relay::ClientMessageId;

    use super::*;
    use crate::store::sled::SledStore;
    use crate::store::{MailboxStore as _, NewMessage, Quota};

    fn user(name: &str) -> UserId {
        name.parse().unwrap()
    }

    const QUOTA: Quota = Quota {
        messages: 3,
        bytes: 1000,
    };

    fn message(
        sender: &UserId,
        id: ClientMessageId,
        recipients: &[UserId],
        payload: &[u8],
        stored_at: UnixTime,
    ) -> NewMessage {
        NewMessage {
            sender: sender.clone(),
            id,
            recipients: recipients.to_vec(),
            payload: payload.to_vec(),
            stored_at,
            quota: QUOTA,
        }
    }

    #[tokio::test]
    async fn stored_once_referenced_by_each_mailbox_gone_after_the_last_ack() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (a, b, c) = (user("a@x"), user("b@x"), user("c@x"));
        let id = ClientMessageId([1; 16]);
        let to = [b.clone(), c.clone()];
        assert!(
            !store
                .enqueue(message(&a, id, &to, b"payload", UnixTime(5)))
                .await
                .unwrap()
        );
        assert!(
            store
                .enqueue(message(&a, id, &to, b"payload", UnixTime(6)))
                .await
                .unwrap()
        );
        assert_eq!(store.mail.blobs.len(), 1);
        let for_b = store.pending(&b, None, 10).await.unwrap();
        assert_eq!(for_b.len(), 1);
        assert_eq!(for_b[0].payload, b"payload");
        assert_eq!(store.ack(&b, &[for_b[0].id]).await.unwrap(), 1);
        assert_eq!(store.ack(&b, &[for_b[0].id]).await.unwrap(), 0);
        assert_eq!(store.mail.blobs.len(), 1, "c still holds it");
        let for_c = store.pending(&c, None, 10).await.unwrap();
        store.ack(&c, &[for_c[0].id]).await.unwrap();
        assert_eq!(store.mail.blobs.len(), 0);
        assert_eq!(store.usage(&c), Usage::default());
    }

    #[tokio::test]
    async fn old_client_ids_are_forgotten_after_the_retention() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (a, b) = (user("a@x"), user("b@x"));
        let id = ClientMessageId([3; 16]);
        let to = std::slice::from_ref(&b);
        store
            .enqueue(message(&a, id, to, b"m", UnixTime(1000)))
            .await
            .unwrap();
        let retention = DEDUP_RETENTION_SECS;
        assert_eq!(
            store.prune_dedup(UnixTime(1000 + retention)).await.unwrap(),
            0
        );
        assert!(
            store
                .enqueue(message(&a, id, to, b"m", UnixTime(1001)))
                .await
                .unwrap()
        );
        assert_eq!(
            store.prune_dedup(UnixTime(1001 + retention)).await.unwrap(),
            1
        );
        assert_eq!(store.mail.dedup.len(), 0);
    }

    #[tokio::test]
    async fn quota_refuses_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (a, b) = (user("a@x"), user("b@x"));
        let to = std::slice::from_ref(&b);
        for i in 0..3u8 {
            let id = ClientMessageId([i; 16]);
            store
                .enqueue(message(&a, id, to, b"m", UnixTime(1)))
                .await
                .unwrap();
        }
        let id = ClientMessageId([9; 16]);
        let err = store
            .enqueue(message(&a, id, to, b"m", UnixTime(1)))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::QuotaExceeded(_)));
        assert_eq!(store.usage(&b).messages, 3);
        assert_eq!(store.mail.blobs.len(), 3);
    }

    #[tokio::test]
    async fn what_mailboxes_hold_is_counted_again_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (user("a@x"), user("b@x"), user("c@x"));
        {
            let store = SledStore::open(dir.path()).unwrap();
            for i in 0..3u8 {
                let id = ClientMessageId([i; 16]);
                let to = [b.clone(), c.clone()];
                store
                    .enqueue(message(&a, id, &to, &[i; 10], UnixTime(1)))
                    .await
                    .unwrap();
            }
            let first = store.pending(&c, None, 10).await.unwrap()[0].id;
            store.ack(&c, &[first]).await.unwrap();
            assert_eq!(store.totals().1.messages, 5);
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(
            store.usage(&b),
            Usage {
                messages: 3,
                bytes: 30
            }
        );
        assert_eq!(
            store.usage(&c),
            Usage {
                messages: 2,
                bytes: 20
            }
        );
        assert_eq!(store.usage(&a), Usage::default());
        assert_eq!(
            store.totals(),
            (
                2,
                Usage {
                    messages: 5,
                    bytes: 50
                }
            )
        );
    }
}
