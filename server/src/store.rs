//! Durable storage in sled: the directory (certificates, prekeys) and the mailboxes. Only
//! ciphertext and routing metadata are stored. Every acknowledged write is flushed first.
//!
//! Trees: `certs` (user → certificate), `signed_prekeys` (user → signed prekey), `otks`
//! (user ‖ 0 ‖ id → one-time prekey), `blobs` (blob id → payload), `refs` (blob id →
//! mailboxes still holding it, when more than one: no record means one), `mailboxes` (user ‖ 0 ‖ seq → entry), `dedup` (sender ‖ 0 ‖
//! client id → when it was stored), `revocations` (org → the newest revocation list seen).
//!
//! What each mailbox holds (messages and bytes, for quotas) is derived from `mailboxes` when
//! the store opens and kept in memory: storing it too would cost two more writes per
//! recipient of every message (a tree `usage` of earlier versions is dropped at open).

use std::collections::HashMap;
use std::path::Path;

use sled::Transactional as _;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use vigil_protocol::prekey::{OneTimePrekey, SignedPrekey};
use vigil_protocol::relay::{ClientMessageId, MessageId};
use vigil_protocol::{MemberCertificate, UnixTime, UserId, codec};

/// How long a (sender, client message id) is remembered to make a resend a no-op: a client
/// resends only until the relay acknowledged, so a week covers a laptop closed over a long
/// weekend with room to spare.
pub const DEDUP_RETENTION_SECS: u64 = 7 * 86_400;

/// Bytes of sled's page cache: bounded, whatever the data size.
pub const CACHE_CAPACITY: u64 = 64 * 1024 * 1024;

/// A storage operation failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O, a full disk, corruption).
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// A stored value does not decode: the data directory is damaged.
    #[error("storage holds a damaged record: {0}")]
    Corrupt(#[from] vigil_protocol::DecodeError),
    /// The data directory cannot be opened at all.
    #[error(
        "the data directory {0} is damaged and cannot be opened; restore it from a backup \
         (docs/operations.md, Backups)"
    )]
    Damaged(std::path::PathBuf),
    /// The data directory was written by a relay of another wire version (section 16 of
    /// docs/protocol.md): its records cannot be read, and are not migrated.
    #[error(
        "the data directory {dir} was written by a relay of {found}; this relay speaks wire \
         version {expected}: move it aside and start with an empty one (docs/operations.md, \
         upgrading)"
    )]
    OtherVersion {
        /// The data directory.
        dir: std::path::PathBuf,
        /// What wrote it.
        found: String,
        /// [`vigil_protocol::WIRE_VERSION`].
        expected: u8,
    },
    /// A recipient's mailbox is full.
    #[error("mailbox of {0} is full")]
    QuotaExceeded(UserId),
    /// A member would hold more one-time prekeys than allowed; nothing was stored.
    #[error("{user} would hold {would} one-time prekeys; at most {max} are kept")]
    PrekeyQuota {
        /// The member.
        user: UserId,
        /// How many they would hold.
        would: usize,
        /// [`vigil_protocol::prekey::MAX_ONE_TIME_PREKEYS`].
        max: usize,
    },
}

impl From<TransactionError<Self>> for StoreError {
    fn from(e: TransactionError<Self>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => Self::Sled(e),
        }
    }
}

/// A mailbox entry: a reference to a stored payload.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct Entry {
    /// The payload's blob.
    pub blob: u64,
    /// Who sent it.
    pub sender: UserId,
    /// When it was stored.
    pub stored_at: UnixTime,
    /// Payload size (for quotas).
    pub len: u64,
}

/// Messages and bytes a mailbox holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct Usage {
    /// Messages.
    pub messages: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Mailbox quotas.
#[derive(Clone, Copy, Debug)]
pub struct Quota {
    /// Most messages.
    pub messages: u64,
    /// Most bytes.
    pub bytes: u64,
}

/// The relay's storage.
#[derive(Clone, Debug)]
pub struct Store {
    certs: sled::Tree,
    signed_prekeys: sled::Tree,
    otks: sled::Tree,
    /// The mailboxes, their payloads and what they hold (written by the writer thread).
    mail: MailTrees,
    revocations: sled::Tree,
    /// Flushes for every request at once ([`crate::commit`]).
    commit: std::sync::Arc<crate::commit::GroupCommit>,
}

/// The key of the stored-messages counter in the `meta` tree.
const STORED: &[u8] = b"stored";

fn key(user: &UserId, suffix: &[u8]) -> Vec<u8> {
    let mut k = user.as_str().as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(suffix);
    k
}

fn prefix(user: &UserId) -> Vec<u8> {
    key(user, &[])
}

fn abort<T>(e: StoreError) -> Result<T, ConflictableTransactionError<StoreError>> {
    Err(ConflictableTransactionError::Abort(e))
}

fn counter(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map_or(0, u64::from_be_bytes)
}

/// The key of the wire version the data directory was written with, in the `meta` tree.
const WIRE: &[u8] = b"wire-version";

/// Refuses a data directory written with another wire version (records and no marker: version
/// 1); marks a new one with ours.
fn check_version(db: &sled::Db, meta: &sled::Tree, dir: &Path) -> Result<(), StoreError> {
    let other = |found: String| StoreError::OtherVersion {
        dir: dir.to_owned(),
        found,
        expected: codec::WIRE_VERSION,
    };
    match meta.get(WIRE)?.as_deref() {
        Some([v]) if *v == codec::WIRE_VERSION => Ok(()),
        Some([v]) => Err(other(format!("wire version {v}"))),
        Some(_) => Err(other("an unknown version".into())),
        None => {
            let written = db
                .tree_names()
                .iter()
                .filter_map(|name| db.open_tree(name).ok())
                .any(|tree| !tree.is_empty());
            if written {
                return Err(other("wire version 1".into()));
            }
            meta.insert(WIRE, &[codec::WIRE_VERSION])?;
            db.flush()?;
            Ok(())
        }
    }
}

fn decode<T: bincode::Decode<()> + bincode::Encode>(bytes: &[u8]) -> Result<T, StoreError> {
    Ok(codec::decode(bytes)?)
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`].
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        // A damaged data directory is an error at start, never a crash (sled is unmaintained).
        let opened = std::panic::catch_unwind(|| {
            sled::Config::new()
                .path(dir)
                .cache_capacity(CACHE_CAPACITY)
                .open()
        });
        let db = match opened {
            Err(_) | Ok(Err(sled::Error::Corruption { .. })) => {
                return Err(StoreError::Damaged(dir.to_owned()));
            }
            Ok(db) => db?,
        };
        let mail = MailTrees {
            dedup: db.open_tree("dedup")?,
            blobs: db.open_tree("blobs")?,
            refs: db.open_tree("refs")?,
            mailboxes: db.open_tree("mailboxes")?,
            meta: db.open_tree("meta")?,
            db: db.clone(),
            held: std::sync::Arc::default(),
        };
        check_version(&db, &mail.meta, dir)?;
        // Earlier versions stored what each mailbox holds; it is counted at open now.
        db.drop_tree("usage")?;
        mail.count_held()?;
        Ok(Self {
            certs: db.open_tree("certs")?,
            signed_prekeys: db.open_tree("signed_prekeys")?,
            otks: db.open_tree("otks")?,
            revocations: db.open_tree("revocations")?,
            commit: std::sync::Arc::new(
                crate::commit::GroupCommit::start(db.clone(), mail.clone())
                    .map_err(sled::Error::Io)?,
            ),
            mail,
        })
    }

    /// Waits until everything written so far is on disk. Concurrent callers share flushes
    /// (group commit, [`crate::commit`]): under load one flush covers every caller that came
    /// while the previous one ran.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`].
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.commit.submit(None).await.map(drop)
    }

    /// Flushes made since the store was opened, and requests that waited for one.
    #[must_use]
    pub fn flush_counts(&self) -> (u64, u64) {
        self.commit.counts()
    }

    /// Remembers the revocation lists in force, so a restart never falls back to an older list
    /// left in the revocations directory.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn put_revocations(
        &self,
        lists: &[vigil_protocol::RevocationList],
    ) -> Result<(), StoreError> {
        for list in lists {
            self.revocations
                .insert(list.body().org.as_str(), list.to_bytes())?;
        }
        Ok(())
    }

    /// The revocation lists remembered by [`Self::put_revocations`].
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn revocations(&self) -> Result<Vec<vigil_protocol::RevocationList>, StoreError> {
        self.revocations
            .iter()
            .map(|item| {
                let (_, v) = item?;
                Ok(vigil_protocol::RevocationList::from_bytes(&v)?)
            })
            .collect()
    }

    /// Records a member's certificate (at login).
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    /// Returns whether it changed what was stored (then flush before relying on it).
    pub fn put_certificate(&self, certificate: &MemberCertificate) -> Result<bool, StoreError> {
        let bytes = certificate.to_bytes();
        let previous = self
            .certs
            .insert(certificate.body().user.as_str(), bytes.as_slice())?;
        Ok(previous.is_none_or(|p| p.as_ref() != bytes.as_slice()))
    }

    /// Reads every record once, so a damaged file is found at start rather than when a
    /// mailbox happens to touch it (sled checks each page's checksum as it reads it). Costs one
    /// pass over the data directory.
    ///
    /// # Errors
    ///
    /// [`StoreError::Damaged`] naming `dir`.
    pub fn verify(&self, dir: &Path) -> Result<u64, StoreError> {
        let mut records = 0u64;
        for tree in [
            &self.certs,
            &self.signed_prekeys,
            &self.otks,
            &self.mail.blobs,
            &self.mail.refs,
            &self.mail.mailboxes,
            &self.mail.dedup,
            &self.revocations,
            &self.mail.meta,
        ] {
            for item in tree.iter() {
                match item {
                    Ok(_) => records += 1,
                    Err(_) => return Err(StoreError::Damaged(dir.to_owned())),
                }
            }
        }
        Ok(records)
    }

    /// What each tree holds: its name, its records, and the bytes of their keys and values
    /// (what the relay stores, before sled's own overhead). Reads every record: for reports and
    /// benchmarks, not for a hot path.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn footprint(&self) -> Result<Vec<(&'static str, u64, u64)>, StoreError> {
        let trees = [
            ("certs", &self.certs),
            ("signed_prekeys", &self.signed_prekeys),
            ("otks", &self.otks),
            ("blobs", &self.mail.blobs),
            ("refs", &self.mail.refs),
            ("mailboxes", &self.mail.mailboxes),
            ("dedup", &self.mail.dedup),
            ("revocations", &self.revocations),
            ("meta", &self.mail.meta),
        ];
        trees
            .into_iter()
            .map(|(name, tree)| {
                let (mut records, mut bytes) = (0u64, 0u64);
                for item in tree.iter() {
                    let (k, v) = item?;
                    records += 1;
                    bytes += (k.len() + v.len()) as u64;
                }
                Ok((name, records, bytes))
            })
            .collect()
    }

    /// How many messages were ever stored (and so acknowledged): it only grows, in the same
    /// transaction as each message. A data directory that recovers a smaller count than one
    /// seen earlier has lost acknowledged messages.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn stored_count(&self) -> Result<u64, StoreError> {
        Ok(self.mail.meta.get(STORED)?.map_or(0, |b| counter(&b)))
    }

    /// A member's certificate.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn certificate(&self, user: &UserId) -> Result<Option<MemberCertificate>, StoreError> {
        self.certs
            .get(user.as_str())?
            .map(|b| Ok(MemberCertificate::from_bytes(&b)?))
            .transpose()
    }

    /// Stores a member's signed prekey and adds one-time prekeys; returns how many one-time
    /// prekeys the member now has. A member holds at most
    /// [`vigil_protocol::prekey::MAX_ONE_TIME_PREKEYS`], as their own client does: more would
    /// only let one member fill the relay's disk.
    ///
    /// # Errors
    ///
    /// [`StoreError::PrekeyQuota`] (nothing stored), or a storage error.
    pub fn publish_prekeys(
        &self,
        user: &UserId,
        signed: &SignedPrekey,
        one_time: &[OneTimePrekey],
    ) -> Result<usize, StoreError> {
        let max = vigil_protocol::prekey::MAX_ONE_TIME_PREKEYS;
        let held = self.otks.scan_prefix(prefix(user)).count();
        let mut new = 0;
        for otk in one_time {
            if !self.otks.contains_key(key(user, &otk.id.to_be_bytes()))? {
                new += 1;
            }
        }
        if held + new > max {
            return Err(StoreError::PrekeyQuota {
                user: user.clone(),
                would: held + new,
                max,
            });
        }
        self.signed_prekeys
            .insert(user.as_str(), codec::encode(signed))?;
        for otk in one_time {
            self.otks
                .insert(key(user, &otk.id.to_be_bytes()), codec::encode(otk))?;
        }
        Ok(self.otks.scan_prefix(prefix(user)).count())
    }

    /// A member's signed prekey.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn signed_prekey(&self, user: &UserId) -> Result<Option<SignedPrekey>, StoreError> {
        self.signed_prekeys
            .get(user.as_str())?
            .map(|b| decode(&b))
            .transpose()
    }

    /// How many one-time prekeys a member has at the relay (at most
    /// [`vigil_protocol::prekey::MAX_ONE_TIME_PREKEYS`] to count).
    pub fn one_time_prekeys_held(&self, user: &UserId) -> usize {
        self.otks.scan_prefix(prefix(user)).count()
    }

    /// Takes one of a member's one-time prekeys, atomically: concurrent callers never get the
    /// same one. Returns it and how many remain.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn take_one_time_prekey(
        &self,
        user: &UserId,
    ) -> Result<(Option<OneTimePrekey>, usize), StoreError> {
        loop {
            let Some(entry) = self.otks.scan_prefix(prefix(user)).next() else {
                return Ok((None, 0));
            };
            let (k, v) = entry?;
            if self
                .otks
                .compare_and_swap(&k, Some(&v), None::<&[u8]>)?
                .is_ok()
            {
                let remaining = self.otks.scan_prefix(prefix(user)).count();
                return Ok((Some(decode(&v)?), remaining));
            }
        }
    }

    /// Stores `payload` once for every recipient, unless `sender` already sent `id`. Not yet
    /// durable: call [`Self::flush`] before acknowledging, or use [`Self::write`]. Returns
    /// whether it was a duplicate.
    ///
    /// # Errors
    ///
    /// [`StoreError::QuotaExceeded`] (nothing stored) or a storage error.
    pub fn enqueue(
        &self,
        sender: &UserId,
        id: ClientMessageId,
        recipients: &[UserId],
        payload: &[u8],
        now: UnixTime,
        quota: Quota,
    ) -> Result<bool, StoreError> {
        let write = Write::enqueue(sender, id, recipients, payload.to_vec(), now, quota);
        self.apply_one(write)?.enqueued()
    }

    /// Applies `writes` in one transaction, without waiting for the writer thread or a flush
    /// ([`MailTrees::apply`]).
    pub(crate) fn apply(&self, writes: &[Write]) -> Result<Vec<Applied>, StoreError> {
        self.mail.apply(writes)
    }

    fn apply_one(&self, write: Write) -> Result<Applied, StoreError> {
        self.apply(std::slice::from_ref(&write))?
            .pop()
            .ok_or_else(|| StoreError::Sled(sled::Error::ReportableBug("no result".into())))
    }

    /// Applies `write` together with whatever other requests are writing at the same time, in
    /// one transaction, and returns once it is on disk ([`crate::commit`]).
    ///
    /// # Errors
    ///
    /// A storage error; the write's own refusal (a full mailbox) is in [`Applied`].
    pub async fn write(&self, write: Write) -> Result<Applied, StoreError> {
        self.commit
            .submit(Some(write))
            .await?
            .ok_or_else(|| StoreError::Sled(sled::Error::ReportableBug("no result".into())))
    }

    /// Forgets client message ids older than [`DEDUP_RETENTION_SECS`]; returns how many.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn prune_dedup(&self, now: UnixTime) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in &self.mail.dedup {
            let (k, v) = item?;
            let stored = <[u8; 8]>::try_from(v.as_ref()).map_or(0, u64::from_be_bytes);
            if now.0.saturating_sub(stored) > DEDUP_RETENTION_SECS {
                self.mail.dedup.remove(k)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Entries of `user`'s mailbox after `after` (exclusive), oldest first, with payloads.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn pending(
        &self,
        user: &UserId,
        after: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<(MessageId, Entry, Vec<u8>)>, StoreError> {
        let start = match after {
            Some(MessageId(seq)) => key(user, &(seq + 1).to_be_bytes()),
            None => prefix(user),
        };
        let end = key(user, &[0xFF; 9]);
        let mut out = Vec::new();
        for item in self.mail.mailboxes.range(start..end).take(limit) {
            let (k, v) = item?;
            let seq_bytes: [u8; 8] = k
                .get(k.len().saturating_sub(8)..)
                .and_then(|s| s.try_into().ok())
                .unwrap_or_default();
            let entry: Entry = decode(&v)?;
            let payload = self
                .mail
                .blobs
                .get(entry.blob.to_be_bytes())?
                .map(|b| b.to_vec())
                .unwrap_or_default();
            out.push((MessageId(u64::from_be_bytes(seq_bytes)), entry, payload));
        }
        Ok(out)
    }

    /// How many messages `user`'s mailbox holds.
    #[must_use]
    pub fn usage(&self, user: &UserId) -> Usage {
        lock(&self.mail.held).get(user).copied().unwrap_or_default()
    }

    /// Non-empty mailboxes and the messages and bytes they hold, over all members.
    #[must_use]
    pub fn totals(&self) -> (u64, Usage) {
        let held = lock(&self.mail.held);
        let mut total = Usage::default();
        for usage in held.values() {
            total.messages += usage.messages;
            total.bytes += usage.bytes;
        }
        (held.len() as u64, total)
    }

    /// Removes acknowledged messages from `user`'s mailbox (a payload goes when its last
    /// reference does). Not yet durable: call [`Self::flush`], or use [`Self::write`].
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn ack(&self, user: &UserId, ids: &[MessageId]) -> Result<u32, StoreError> {
        let write = Write::Ack {
            user: user.clone(),
            ids: ids.to_vec(),
        };
        self.apply_one(write)?.acked()
    }
}

/// The trees a mailbox write touches (for the writer thread, [`crate::commit`]).
#[derive(Clone, Debug)]
pub(crate) struct MailTrees {
    dedup: sled::Tree,
    blobs: sled::Tree,
    refs: sled::Tree,
    mailboxes: sled::Tree,
    meta: sled::Tree,
    /// For ids.
    db: sled::Db,
    /// What each mailbox holds; only mailboxes holding something are present.
    held: std::sync::Arc<std::sync::Mutex<HashMap<UserId, Usage>>>,
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MailTrees {
    /// Counts what every mailbox holds from its entries (at open).
    fn count_held(&self) -> Result<(), StoreError> {
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

    /// Applies `writes` in one transaction: all of them or none are stored. Each gets its own
    /// result (a full mailbox refuses its message only); only a storage failure fails all.
    /// Not yet durable: flush before acknowledging.
    pub(crate) fn apply(&self, writes: &[Write]) -> Result<Vec<Applied>, StoreError> {
        // Ids for each message and its mailbox entries, taken here, in the order writes are
        // applied (see `Write::enqueue`), and outside the transaction: sled persists its
        // id counter with a flush now and then, which cannot complete inside a transaction.
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

/// A mailbox write ([`Store::write`]).
#[derive(Debug)]
pub enum Write {
    /// Store a message for its recipients ([`Write::enqueue`]).
    Enqueue(Box<Enqueue>),
    /// Remove delivered messages from a mailbox.
    Ack {
        /// The mailbox's owner.
        user: UserId,
        /// The messages.
        ids: Vec<MessageId>,
    },
}

impl Write {
    /// The write that stores `payload` for `recipients`. Its ids are taken when it is
    /// applied, so mailbox order is the order writes are committed in (a pusher that has sent
    /// entry n never misses a later-committed entry below n).
    #[must_use]
    pub fn enqueue(
        sender: &UserId,
        id: ClientMessageId,
        recipients: &[UserId],
        payload: Vec<u8>,
        now: UnixTime,
        quota: Quota,
    ) -> Self {
        Self::Enqueue(Box::new(Enqueue {
            sender: sender.clone(),
            id,
            recipients: recipients.to_vec(),
            payload,
            now,
            quota,
        }))
    }
}

/// A message to store.
#[derive(Debug)]
pub struct Enqueue {
    sender: UserId,
    id: ClientMessageId,
    recipients: Vec<UserId>,
    payload: Vec<u8>,
    now: UnixTime,
    quota: Quota,
}

/// What a [`Write`] did.
#[derive(Debug)]
pub enum Applied {
    /// Stored (`Ok(false)`), a duplicate (`Ok(true)`), or refused (a full mailbox).
    Enqueued(Result<bool, StoreError>),
    /// How many messages were removed.
    Acked(Result<u32, StoreError>),
}

fn mismatched() -> StoreError {
    StoreError::Sled(sled::Error::ReportableBug(
        "a write was answered with another write's result".into(),
    ))
}

impl Applied {
    /// What [`Write::Enqueue`] did: whether the message was a duplicate.
    ///
    /// # Errors
    ///
    /// Its refusal (a full mailbox).
    pub fn enqueued(self) -> Result<bool, StoreError> {
        match self {
            Self::Enqueued(result) => result,
            Self::Acked(_) => Err(mismatched()),
        }
    }

    /// What [`Write::Ack`] did: how many messages were removed.
    ///
    /// # Errors
    ///
    /// Its failure.
    pub fn acked(self) -> Result<u32, StoreError> {
        match self {
            Self::Acked(result) => result,
            Self::Enqueued(_) => Err(mismatched()),
        }
    }
}

/// The trees a mailbox write touches, inside a transaction.
type Trees = (
    sled::transaction::TransactionalTree,
    sled::transaction::TransactionalTree,
    sled::transaction::TransactionalTree,
    sled::transaction::TransactionalTree,
    sled::transaction::TransactionalTree,
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
    enqueue: &Enqueue,
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
    dedup.insert(dedup_key.as_slice(), &enqueue.now.0.to_be_bytes())?;
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
        stored_at: enqueue.now,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> UserId {
        name.parse().unwrap()
    }

    #[test]
    fn a_data_directory_of_another_wire_version_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        // Written by version 1: records, and no version marker.
        {
            let db = sled::open(dir.path()).unwrap();
            db.open_tree("mailboxes")
                .unwrap()
                .insert(b"k", b"v")
                .unwrap();
            db.flush().unwrap();
        }
        // sled's flusher may hold the directory's lock for a moment after the drop.
        let mut opened = Store::open(dir.path());
        for _ in 0..50 {
            if !matches!(opened, Err(StoreError::Sled(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            opened = Store::open(dir.path());
        }
        assert!(
            matches!(
                &opened,
                Err(StoreError::OtherVersion { expected, .. }) if *expected == codec::WIRE_VERSION
            ),
            "{:?}",
            opened.err()
        );
        // A new directory is marked, and opens again.
        let fresh = tempfile::tempdir().unwrap();
        drop(Store::open(fresh.path()).unwrap());
        assert!(Store::open(fresh.path()).is_ok());
    }

    const QUOTA: Quota = Quota {
        messages: 3,
        bytes: 1000,
    };

    #[test]
    fn stored_once_referenced_by_each_mailbox_gone_after_the_last_ack() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (a, b, c) = (user("a@x"), user("b@x"), user("c@x"));
        let id = ClientMessageId([1; 16]);
        assert!(
            !store
                .enqueue(
                    &a,
                    id,
                    &[b.clone(), c.clone()],
                    b"payload",
                    UnixTime(5),
                    QUOTA
                )
                .unwrap()
        );
        assert!(
            store
                .enqueue(
                    &a,
                    id,
                    &[b.clone(), c.clone()],
                    b"payload",
                    UnixTime(6),
                    QUOTA
                )
                .unwrap()
        );
        assert_eq!(store.mail.blobs.len(), 1);
        let for_b = store.pending(&b, None, 10).unwrap();
        assert_eq!(for_b.len(), 1);
        assert_eq!(for_b[0].2, b"payload");
        assert_eq!(store.ack(&b, &[for_b[0].0]).unwrap(), 1);
        assert_eq!(store.ack(&b, &[for_b[0].0]).unwrap(), 0);
        assert_eq!(store.mail.blobs.len(), 1, "c still holds it");
        let for_c = store.pending(&c, None, 10).unwrap();
        store.ack(&c, &[for_c[0].0]).unwrap();
        assert_eq!(store.mail.blobs.len(), 0);
        assert_eq!(store.usage(&c), Usage::default());
    }

    #[test]
    fn old_client_ids_are_forgotten_after_the_retention() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (a, b) = (user("a@x"), user("b@x"));
        let id = ClientMessageId([3; 16]);
        store
            .enqueue(
                &a,
                id,
                std::slice::from_ref(&b),
                b"m",
                UnixTime(1000),
                QUOTA,
            )
            .unwrap();
        assert_eq!(
            store
                .prune_dedup(UnixTime(1000 + DEDUP_RETENTION_SECS))
                .unwrap(),
            0
        );
        assert!(
            store
                .enqueue(
                    &a,
                    id,
                    std::slice::from_ref(&b),
                    b"m",
                    UnixTime(1001),
                    QUOTA
                )
                .unwrap()
        );
        assert_eq!(
            store
                .prune_dedup(UnixTime(1001 + DEDUP_RETENTION_SECS))
                .unwrap(),
            1
        );
        assert_eq!(store.mail.dedup.len(), 0);
    }

    #[test]
    fn one_time_prekeys_are_capped_per_member() {
        use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair};
        use vigil_protocol::prekey::{MAX_ONE_TIME_PREKEYS, PrekeyStore};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut rng = rand_core::OsRng;
        // Keys and signatures are not checked here (the relay checks them before storing).
        let identity = IdentityKeyPair::generate(&mut rng);
        let agreement = AgreementKeyPair::generate(&mut rng);
        let root = vigil_protocol::keys::OrgRootKeyPair::generate(&mut rng);
        let body = vigil_protocol::CertificateBody {
            serial: 1,
            org: "X".parse().unwrap(),
            user: "a@x".parse().unwrap(),
            display_name: "A".parse().unwrap(),
            roles: vec![],
            clearance: vigil_protocol::Clearance {
                policy: "EU".parse().unwrap(),
                level: 0,
            },
            identity_key: identity.public(),
            agreement_key: agreement.public(),
            not_before: UnixTime(0),
            not_after: UnixTime(u64::MAX),
        };
        let cert = MemberCertificate::issue(&root, body).unwrap();
        let local = vigil_protocol::LocalIdentity::new(cert, identity, agreement).unwrap();
        let mut prekeys = PrekeyStore::new(&mut rng, &local, UnixTime(1));
        let batch =
            prekeys.generate_one_time_prekeys(&mut rng, local.identity(), MAX_ONE_TIME_PREKEYS);
        let signed = prekeys.signed_prekey().unwrap().clone();
        assert_eq!(
            store
                .publish_prekeys(local.user(), &signed, &batch)
                .unwrap(),
            MAX_ONE_TIME_PREKEYS
        );
        // The same keys again are not new; one more is refused and nothing changes.
        assert_eq!(
            store
                .publish_prekeys(local.user(), &signed, &batch)
                .unwrap(),
            MAX_ONE_TIME_PREKEYS
        );
        store.take_one_time_prekey(local.user()).unwrap();
        let more = prekeys.generate_one_time_prekeys(&mut rng, local.identity(), 2);
        assert_eq!(more.len(), 0, "the client's own store is full too");
        let mut extra = batch[..2].to_vec();
        extra[0].id = 60_000;
        extra[1].id = 60_001;
        let err = store
            .publish_prekeys(local.user(), &signed, &extra)
            .unwrap_err();
        assert!(
            matches!(err, StoreError::PrekeyQuota { would: 201, .. }),
            "{err}"
        );
        assert_eq!(
            store.otks.scan_prefix(prefix(local.user())).count(),
            MAX_ONE_TIME_PREKEYS - 1
        );
    }

    #[test]
    fn quota_refuses_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (a, b) = (user("a@x"), user("b@x"));
        for i in 0..3u8 {
            store
                .enqueue(
                    &a,
                    ClientMessageId([i; 16]),
                    std::slice::from_ref(&b),
                    b"m",
                    UnixTime(1),
                    QUOTA,
                )
                .unwrap();
        }
        let err = store
            .enqueue(
                &a,
                ClientMessageId([9; 16]),
                std::slice::from_ref(&b),
                b"m",
                UnixTime(1),
                QUOTA,
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::QuotaExceeded(_)));
        assert_eq!(store.usage(&b).messages, 3);
        assert_eq!(store.mail.blobs.len(), 3);
    }

    #[test]
    fn what_mailboxes_hold_is_counted_again_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (user("a@x"), user("b@x"), user("c@x"));
        {
            let store = Store::open(dir.path()).unwrap();
            for i in 0..3u8 {
                store
                    .enqueue(
                        &a,
                        ClientMessageId([i; 16]),
                        &[b.clone(), c.clone()],
                        &[i; 10],
                        UnixTime(1),
                        QUOTA,
                    )
                    .unwrap();
            }
            let first = store.pending(&c, None, 10).unwrap()[0].0;
            store.ack(&c, &[first]).unwrap();
            assert_eq!(store.totals().1.messages, 5);
        }
        let store = Store::open(dir.path()).unwrap();
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
