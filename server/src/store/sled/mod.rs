//! The embedded engine: both traits on one sled database in the data directory. Every
//! acknowledged write is flushed first, through one writer thread (`commit.rs`).
//!
//! Trees: `certs` (user → certificate), `devices` (user → the certificate and device key it
//! is bound to), `signed_prekeys` (user → signed prekey), `otks`
//! (user ‖ 0 ‖ id → one-time prekey), `revocations` (org → the newest revocation list seen),
//! all in `directory.rs`; `blobs` (blob id → payload), `refs` (blob id → mailboxes still
//! holding it, when more than one: no record means one), `mailboxes` (user ‖ 0 ‖ seq →
//! entry), `dedup` (sender ‖ 0 ‖ client id → when it was stored), `meta` (the wire version and
//! the stored-messages counter), in `mailbox.rs` and `write.rs`.
//!
//! What each mailbox holds (messages and bytes, for quotas) is derived from `mailboxes` when
//! the store opens and kept in memory: storing it too would cost two more writes per
//! recipient of every message (a tree `usage` of earlier versions is dropped at open).

use std::path::Path;
use std::sync::Arc;

use vigil_protocol::prekey::{OneTimePrekey, SignedPrekey};
use vigil_protocol::relay::MessageId;
use vigil_protocol::{MemberCertificate, RevocationList, UnixTime, UserId, codec};

use super::{
    DeviceBinding, Directory, MailboxStore, NewMessage, Pending, StoreError, StoreFuture, Usage,
    ready,
};
use commit::GroupCommit;
use directory::DirectoryTrees;
use mailbox::MailTrees;
use write::{Applied, Write};

pub use backup::{BackupError, import};

mod backup;
mod commit;
mod directory;
mod mailbox;
mod write;

/// Bytes of sled's page cache: bounded, whatever the data size.
pub const CACHE_CAPACITY: u64 = 64 * 1024 * 1024;

/// The key of the wire version the data directory was written with, in the `meta` tree.
const WIRE: &[u8] = b"wire-version";

/// The relay's storage in one sled database. Clones share it; the writer thread stops, and
/// the data directory is released, when the last clone goes.
#[derive(Clone, Debug)]
pub struct SledStore {
    directory: DirectoryTrees,
    /// The mailboxes, their payloads and what they hold (written by the writer thread).
    mail: MailTrees,
    /// Flushes for every request at once.
    commit: Arc<GroupCommit>,
}

/// `user ‖ 0 ‖ suffix`: a user's records sort together, each user's apart from the next.
fn key(user: &UserId, suffix: &[u8]) -> Vec<u8> {
    let mut k = user.as_str().as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(suffix);
    k
}

/// What every key of `user`'s records starts with.
fn prefix(user: &UserId) -> Vec<u8> {
    key(user, &[])
}

fn decode<T: bincode::Decode<()> + bincode::Encode>(bytes: &[u8]) -> Result<T, StoreError> {
    Ok(codec::decode(bytes)?)
}

/// The error for an answer that cannot happen (the writer answered with nothing, or with
/// another write's result).
fn bug(what: &str) -> StoreError {
    StoreError::Sled(sled::Error::ReportableBug(what.into()))
}

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

impl SledStore {
    /// Opens (or creates) the store in `dir`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Damaged`] when sled cannot open it, [`StoreError::OtherVersion`], or
    /// [`StoreError::Sled`].
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        // A damaged data directory is an error at start, never a crash (sled is unmaintained).
        // A snapshot a kill -9 interrupted would make sled refuse the whole database.
        vigil_common::fs::before_sled_open(dir);
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
        let mail = MailTrees::open(&db)?;
        check_version(&db, mail.meta(), dir)?;
        // Earlier versions stored what each mailbox holds; it is counted at open now.
        db.drop_tree("usage")?;
        mail.count_held()?;
        Ok(Self {
            directory: DirectoryTrees::open(&db)?,
            commit: Arc::new(GroupCommit::start(db, mail.clone()).map_err(sled::Error::Io)?),
            mail,
        })
    }

    /// Every tree, by name.
    fn trees(&self) -> [(&'static str, &sled::Tree); 10] {
        let [certs, devices, signed_prekeys, otks, revocations] = self.directory.trees();
        let [blobs, refs, mailboxes, dedup, meta] = self.mail.trees();
        [
            ("certs", certs),
            ("devices", devices),
            ("signed_prekeys", signed_prekeys),
            ("otks", otks),
            ("blobs", blobs),
            ("refs", refs),
            ("mailboxes", mailboxes),
            ("dedup", dedup),
            ("revocations", revocations),
            ("meta", meta),
        ]
    }

    /// Reads every record once, so a damaged file is found at start rather than when a
    /// mailbox happens to touch it (sled checks each page's checksum as it reads it). Costs one
    /// pass over the data directory. Returns how many records there are.
    ///
    /// # Errors
    ///
    /// [`StoreError::Damaged`] naming `dir`.
    pub fn verify(&self, dir: &Path) -> Result<u64, StoreError> {
        let mut records = 0u64;
        for (_, tree) in self.trees() {
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
    /// [`StoreError::Sled`].
    pub fn footprint(&self) -> Result<Vec<(&'static str, u64, u64)>, StoreError> {
        self.trees()
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

    /// Waits until everything written so far is on disk. Concurrent callers share flushes
    /// (group commit, `commit.rs`): under load one flush covers every caller that came while
    /// the previous one ran.
    async fn flushed(&self) -> Result<(), StoreError> {
        self.commit.submit(None).await.map(drop)
    }

    /// Applies `write` together with whatever other requests are writing at the same time, in
    /// one transaction, and returns once it is on disk.
    async fn write(&self, write: Write) -> Result<Applied, StoreError> {
        self.commit
            .submit(Some(write))
            .await?
            .ok_or_else(|| bug("no result"))
    }
}

impl MailboxStore for SledStore {
    fn enqueue(&self, message: NewMessage) -> StoreFuture<'_, bool> {
        let write = Write::Enqueue(Box::new(message));
        Box::pin(async move { self.write(write).await?.enqueued() })
    }

    fn ack<'a>(&'a self, user: &'a UserId, ids: &'a [MessageId]) -> StoreFuture<'a, u32> {
        let write = Write::Ack {
            user: user.clone(),
            ids: ids.to_vec(),
        };
        Box::pin(async move { self.write(write).await?.acked() })
    }

    fn pending<'a>(
        &'a self,
        user: &'a UserId,
        after: Option<MessageId>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Pending>> {
        ready(self.mail.pending(user, after, limit))
    }

    fn usage(&self, user: &UserId) -> Usage {
        self.mail.usage(user)
    }

    fn totals(&self) -> (u64, Usage) {
        self.mail.totals()
    }

    fn stored_count(&self) -> StoreFuture<'_, u64> {
        ready(self.mail.stored_count())
    }

    fn prune_dedup(&self, now: UnixTime) -> StoreFuture<'_, usize> {
        ready(self.mail.prune_dedup(now))
    }

    fn flush(&self) -> StoreFuture<'_, ()> {
        Box::pin(self.flushed())
    }

    fn flush_counts(&self) -> (u64, u64) {
        self.commit.counts()
    }
}

impl Directory for SledStore {
    fn certificate<'a>(&'a self, user: &'a UserId) -> StoreFuture<'a, Option<MemberCertificate>> {
        ready(self.directory.certificate(user))
    }

    fn put_certificate<'a>(&'a self, certificate: &'a MemberCertificate) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if self.directory.put_certificate(certificate)? {
                self.flushed().await?;
            }
            Ok(())
        })
    }

    fn device_binding<'a>(&'a self, user: &'a UserId) -> StoreFuture<'a, Option<DeviceBinding>> {
        ready(self.directory.device_binding(user))
    }

    fn bind_device<'a>(
        &'a self,
        binding: &'a DeviceBinding,
        previous: Option<&'a DeviceBinding>,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let bound = self.directory.bind_device(binding, previous)?;
            if bound {
                self.flushed().await?;
            }
            Ok(bound)
        })
    }

    fn publish_prekeys<'a>(
        &'a self,
        user: &'a UserId,
        signed: &'a SignedPrekey,
        one_time: &'a [OneTimePrekey],
    ) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let held = self.directory.publish_prekeys(user, signed, one_time)?;
            self.flushed().await?;
            Ok(held)
        })
    }

    fn signed_prekey<'a>(&'a self, user: &'a UserId) -> StoreFuture<'a, Option<SignedPrekey>> {
        ready(self.directory.signed_prekey(user))
    }

    fn one_time_prekeys_held<'a>(&'a self, user: &'a UserId) -> StoreFuture<'a, usize> {
        ready(Ok(self.directory.one_time_prekeys_held(user)))
    }

    fn take_one_time_prekey<'a>(
        &'a self,
        user: &'a UserId,
    ) -> StoreFuture<'a, (Option<OneTimePrekey>, usize)> {
        Box::pin(async move {
            let taken = self.directory.take_one_time_prekey(user)?;
            self.flushed().await?;
            Ok(taken)
        })
    }

    fn remember_revocations(&self, lists: &[RevocationList]) -> Result<(), StoreError> {
        self.directory.put_revocations(lists)
    }

    fn revocations(&self) -> StoreFuture<'_, Vec<RevocationList>> {
        ready(self.directory.revocations())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut opened = SledStore::open(dir.path());
        for _ in 0..50 {
            if !matches!(opened, Err(StoreError::Sled(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            opened = SledStore::open(dir.path());
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
        drop(SledStore::open(fresh.path()).unwrap());
        assert!(SledStore::open(fresh.path()).is_ok());
    }

    /// A relay killed while sled wrote a snapshot leaves `snap.LSN.generating`, which sled
    /// alone takes for the newest snapshot and refuses the directory over; the store removes
    /// it first.
    #[test]
    fn a_snapshot_a_kill_interrupted_does_not_make_the_data_directory_unopenable() {
        let dir = tempfile::tempdir().unwrap();
        drop(SledStore::open(dir.path()).unwrap());
        let unfinished = dir.path().join("snap.7FFFFFFFFFFFFFFF.generating");
        std::fs::write(&unfinished, vec![0xA5; 4096]).unwrap();
        let mut opened = SledStore::open(dir.path());
        for _ in 0..50 {
            // sled's flusher may hold the directory's lock for a moment after the drop.
            if !matches!(opened, Err(StoreError::Sled(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            opened = SledStore::open(dir.path());
        }
        assert!(opened.is_ok(), "{:?}", opened.err());
        assert!(!unfinished.exists());
    }
}
