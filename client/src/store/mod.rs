//! The member's local store: every value sealed under a store key, the store key wrapped under
//! the member's passphrase.
//!
//! ```text
//! HOME/
//!   store-key.vigil   the store key, sealed under the passphrase (Argon2id parameters inside)
//!   store/            the engine (sled): record keys and sealed values only
//! ```
//!
//! A record is `nonce || ChaCha20-Poly1305(store key, AD = label, key id, kind, record key)`.
//! Record keys that would name a contact are blinded with a keyed hash. History is keyed by
//! channel and sequence, so the newest page of a channel is read without touching the rest.

pub mod backend;
mod error;
pub mod lock;
mod place;

use std::path::{Path, PathBuf};

use vigil_common::fs as fsutil;
use vigil_protocol::codec;
use vigil_protocol::provisioning::{FileKind, KdfParams, SealError, SealedFile, armor, dearmor};
use vigil_protocol::storage::StoreKey;

use backend::{Backend, Op, Sled};
pub use error::{KeyFileDamage, StoreError};
pub use place::Place;

/// An opened record's bytes, zeroized on drop.
pub type Plain = zeroize::Zeroizing<Vec<u8>>;

/// Writes that the store applies together or not at all (see [`Store::commit`]).
#[derive(Default)]
pub struct Batch {
    ops: Vec<Op>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("writes", &self.ops.len())
            .finish_non_exhaustive()
    }
}

impl Batch {
    /// Whether nothing was written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// What a record is: bound into its associated data, and the tree it lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Store metadata.
    Meta = 0,
    /// The member's identity and certificate.
    Identity = 1,
    /// The member's prekey secrets.
    Prekeys = 2,
    /// 1:1 sessions, by contact.
    Session = 3,
    /// Channel views and their state history.
    Channel = 4,
    /// Sender keys.
    SenderKey = 5,
    /// Message history, by channel and sequence.
    History = 6,
    /// Messages waiting to be acknowledged by the relay.
    Outbox = 7,
    /// Trust decisions about contacts (pinned keys, verification).
    Trust = 8,
    /// Received payloads that cannot be processed yet (a sender key or channel state that has
    /// not arrived), kept until it does.
    Parked = 9,
    /// Every channel's verified chain of states, by channel and version: its audit history,
    /// what an invitee is sent, and what a fork is recognised against.
    Chain = 10,
    /// What we sent and the relay accepted, kept until its recipients' clients confirm it, by
    /// its end-to-end reference.
    Sent = 11,
}

impl Kind {
    /// Every kind, in tree order.
    pub const ALL: [Self; 12] = [
        Self::Meta,
        Self::Identity,
        Self::Prekeys,
        Self::Session,
        Self::Channel,
        Self::SenderKey,
        Self::History,
        Self::Outbox,
        Self::Trust,
        Self::Parked,
        Self::Chain,
        Self::Sent,
    ];

    /// The tree's name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Meta => "meta",
            Self::Identity => "identity",
            Self::Prekeys => "prekeys",
            Self::Session => "sessions",
            Self::Channel => "channels",
            Self::SenderKey => "sender_keys",
            Self::History => "history",
            Self::Outbox => "outbox",
            Self::Trust => "trust",
            Self::Parked => "parked",
            Self::Chain => "chain",
            Self::Sent => "sent",
        }
    }
}

/// The sealed store.
#[derive(Debug)]
pub struct Store {
    home: PathBuf,
    key: StoreKey,
    engine: Box<dyn Backend>,
    /// This process's hold on the home (dropped after the engine: declared after it).
    _lock: lock::HomeLock,
    /// Commits so far (sealed in the store, and mirrored in `store/commits` after each).
    commits: std::sync::atomic::AtomicU64,
    /// Set by [`Self::fail_next_commit`]: tests of what the engine does when a commit fails.
    fail_next_commit: std::sync::atomic::AtomicBool,
}

/// The record key of the commit counter, in [`Kind::Meta`].
const COMMITS: &[u8] = b"commits";

/// The file beside the engine that mirrors the commit counter (see [`Store::open`]).
fn commits_file(home: &Path) -> PathBuf {
    home.join("store").join("commits")
}

/// Where the store key of the member at `home` is, sealed under their passphrase.
#[must_use]
pub fn key_file(home: &Path) -> PathBuf {
    home.join("store-key.vigil")
}

/// Removes the store a just-enrolled device made in `home` (its key file, then its database),
/// leaving the home as it was before `vigil enroll`: for a device the relay refused, so that
/// enrolling again later (a reissued bundle) starts afresh. The store must be closed.
///
/// # Errors
///
/// [`StoreError::Files`] when a file cannot be removed.
pub fn remove_enrolled(home: &Path) -> Result<(), StoreError> {
    let key = key_file(home);
    std::fs::remove_file(&key).map_err(|e| vigil_common::Error::io(&key, e))?;
    let dir = home.join("store");
    std::fs::remove_dir_all(&dir).map_err(|e| vigil_common::Error::io(&dir, e))?;
    Ok(())
}

fn wrap(key: &StoreKey, passphrase: &str, kdf: KdfParams) -> Result<String, StoreError> {
    let sealed = SealedFile::seal(
        &mut rand_core::OsRng,
        passphrase.as_bytes(),
        kdf,
        key.id().to_vec(),
        key.to_bytes().as_slice(),
    )
    .map_err(StoreError::Seal)?;
    Ok(armor(FileKind::SealedStoreKey, &sealed.to_bytes()))
}

impl Store {
    /// Creates a new store in `home`, its key wrapped under `passphrase`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Exists`], or files that cannot be written.
    pub fn create(home: &Path, passphrase: &str) -> Result<Self, StoreError> {
        if key_file(home).exists() {
            return Err(StoreError::Exists(home.to_owned()));
        }
        fsutil::create_private_dir(home)?;
        let lock = lock::HomeLock::acquire(home)?;
        let key = StoreKey::generate(&mut rand_core::OsRng);
        fsutil::write_new(
            &key_file(home),
            wrap(&key, passphrase, KdfParams::DEFAULT)?.as_bytes(),
        )?;
        let dir = home.join("store");
        fsutil::create_private_dir(&dir)?;
        let engine = Box::new(Sled::open(&dir)?);
        Ok(Self {
            home: home.to_owned(),
            key,
            engine,
            _lock: lock,
            commits: std::sync::atomic::AtomicU64::new(0),
            fail_next_commit: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Opens the store in `home`. A wrong passphrase is refused before the engine is opened:
    /// nothing is read or changed.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotEnrolled`], [`StoreError::WrongPassphrase`], [`StoreError::Sealed`] or [`StoreError::Decode`].
    pub fn open(home: &Path, passphrase: &str) -> Result<Self, StoreError> {
        let path = key_file(home);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotEnrolled(home.to_owned()));
            }
            Err(e) => return Err(vigil_common::Error::io(&path, e).into()),
        };
        let damaged = |damage| StoreError::KeyFile {
            path: path.clone(),
            damage,
        };
        let (kind, bytes) = dearmor(&text).map_err(|e| damaged(KeyFileDamage::Armor(e)))?;
        if kind != FileKind::SealedStoreKey {
            return Err(damaged(KeyFileDamage::NotAKeyFile));
        }
        let sealed = SealedFile::from_bytes(&bytes).map_err(|e| match e {
            vigil_protocol::DecodeError::UnknownVersion { expected, got } => {
                StoreError::OtherVersion {
                    home: home.to_owned(),
                    found: got,
                    expected,
                }
            }
            other => damaged(KeyFileDamage::Decode(other)),
        })?;
        let bytes = sealed.open(passphrase.as_bytes()).map_err(|e| match e {
            SealError::WrongPassphraseOrCorrupt => StoreError::WrongPassphrase(home.to_owned()),
            other => damaged(KeyFileDamage::Seal(other)),
        })?;
        let bytes: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| damaged(KeyFileDamage::NotAKey))?;
        let key = StoreKey::from_bytes(&bytes);
        if key.id().as_slice() != sealed.header.as_slice() {
            return Err(damaged(KeyFileDamage::KeyIdMismatch));
        }
        let lock = lock::HomeLock::acquire(home)?;
        let engine = Box::new(Sled::open(&home.join("store"))?);
        let store = Self {
            home: home.to_owned(),
            key,
            engine,
            _lock: lock,
            commits: std::sync::atomic::AtomicU64::new(0),
            fail_next_commit: std::sync::atomic::AtomicBool::new(false),
        };
        // sled recovers a damaged end of its log like a torn write, silently: the counter
        // file (written after each flushed commit) says how many commits there must be.
        let commits: u64 = store.get(Kind::Meta, COMMITS)?.unwrap_or(0);
        let recorded = std::fs::read_to_string(commits_file(home))
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        if let Some(recorded) = recorded
            && recorded > commits
        {
            return Err(StoreError::LostChanges(recorded - commits));
        }
        store
            .commits
            .store(commits, std::sync::atomic::Ordering::SeqCst);
        Ok(store)
    }

    /// Re-wraps the store key under a new passphrase or stronger parameters (the records stay
    /// as they are).
    ///
    /// # Errors
    ///
    /// Files that cannot be written, or parameters out of range.
    pub fn rewrap(&self, passphrase: &str, kdf: KdfParams) -> Result<(), StoreError> {
        fsutil::write_atomic(
            &key_file(&self.home),
            wrap(&self.key, passphrase, kdf)?.as_bytes(),
        )?;
        Ok(())
    }

    /// The home directory the store is in.
    #[must_use]
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The record key for a name that must not appear on disk (e.g. a contact's user id).
    #[must_use]
    pub fn blind(&self, kind: Kind, name: &str) -> [u8; 16] {
        self.key.blind(kind as u8, name.as_bytes())
    }

    /// Seals and stores `value` under `key` (not yet durable: see [`Self::flush`]).
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    pub fn put<T: bincode::Encode>(
        &self,
        kind: Kind,
        key: &[u8],
        value: &T,
    ) -> Result<(), StoreError> {
        let plaintext = zeroize::Zeroizing::new(codec::encode(value));
        self.put_raw(kind, key, &plaintext)
    }

    /// Seals and stores bytes (e.g. a session's own serialisation) under `key`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    pub fn put_raw(&self, kind: Kind, key: &[u8], plaintext: &[u8]) -> Result<(), StoreError> {
        let sealed = self
            .key
            .seal(&mut rand_core::OsRng, kind as u8, key, plaintext);
        self.engine.put(kind, key, &sealed)
    }

    /// Reads and opens the record under `key`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sealed`] or [`StoreError::Decode`] for a record that does not open or decode here.
    pub fn get<T: bincode::Decode<()> + bincode::Encode>(
        &self,
        kind: Kind,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.get_raw(kind, key)?
            .map(|bytes| {
                codec::decode(&bytes).map_err(|source| StoreError::Decode { kind, source })
            })
            .transpose()
    }

    /// Reads and opens raw bytes under `key`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sealed`] or [`StoreError::Decode`].
    pub fn get_raw(
        &self,
        kind: Kind,
        key: &[u8],
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError> {
        let Some(sealed) = self.engine.get(kind, key)? else {
            return Ok(None);
        };
        self.open_record(kind, key, &sealed).map(Some)
    }

    fn open_record(
        &self,
        kind: Kind,
        key: &[u8],
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
        self.key
            .open(kind as u8, key, sealed)
            .map_err(|_| StoreError::Sealed(kind))
    }

    /// Seals `value` into `batch` under `key`.
    pub fn stage<T: bincode::Encode>(&self, batch: &mut Batch, kind: Kind, key: &[u8], value: &T) {
        let plaintext = zeroize::Zeroizing::new(codec::encode(value));
        self.stage_raw(batch, kind, key, &plaintext);
    }

    /// Seals bytes into `batch` under `key`.
    pub fn stage_raw(&self, batch: &mut Batch, kind: Kind, key: &[u8], plaintext: &[u8]) {
        let sealed = self
            .key
            .seal(&mut rand_core::OsRng, kind as u8, key, plaintext);
        batch.ops.push((kind, key.to_vec(), Some(sealed)));
    }

    /// Removes `key` as part of `batch`.
    pub fn stage_remove(batch: &mut Batch, kind: Kind, key: &[u8]) {
        batch.ops.push((kind, key.to_vec(), None));
    }

    /// Applies `batch` atomically and makes it durable: after a crash, all of it or none of it
    /// is there.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] (e.g. a full disk): then none of it was applied.
    pub fn commit(&self, mut batch: Batch) -> Result<(), StoreError> {
        if batch.ops.is_empty() {
            return Ok(());
        }
        if self
            .fail_next_commit
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(StoreError::InjectedFailure);
        }
        let next = self.commits.load(std::sync::atomic::Ordering::SeqCst) + 1;
        self.stage(&mut batch, Kind::Meta, COMMITS, &next);
        self.engine.apply(&batch.ops)?;
        self.engine.flush()?;
        self.commits
            .store(next, std::sync::atomic::Ordering::SeqCst);
        // After the flush: the file never claims more than is on disk. Best effort (a stale
        // count only weakens the check); written whole, then renamed.
        let file = commits_file(&self.home);
        let temporary = file.with_extension("tmp");
        let _ = std::fs::write(&temporary, format!("{next}\n"))
            .and_then(|()| std::fs::rename(&temporary, &file));
        Ok(())
    }

    /// Makes the next non-empty commit fail as a full disk would, applying nothing: for tests
    /// of what callers do after a failed commit.
    #[doc(hidden)]
    pub fn fail_next_commit(&self) {
        self.fail_next_commit
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Every record of `kind` whose key starts with `prefix`, in key order, opened.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sealed`] or [`StoreError::Decode`] for a record that does not open.
    pub fn scan<T: bincode::Decode<()> + bincode::Encode>(
        &self,
        kind: Kind,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        self.engine
            .scan(kind, prefix)?
            .into_iter()
            .map(|(key, sealed)| {
                let plain = self.open_record(kind, &key, &sealed)?;
                let value =
                    codec::decode(&plain).map_err(|source| StoreError::Decode { kind, source })?;
                Ok((key, value))
            })
            .collect()
    }

    /// Every record of `kind` whose key starts with `prefix`, in key order, opened as bytes.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sealed`] or [`StoreError::Decode`] for a record that does not open.
    pub fn scan_raw(&self, kind: Kind, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Plain)>, StoreError> {
        self.engine
            .scan(kind, prefix)?
            .into_iter()
            .map(|(key, sealed)| {
                let plain = self.open_record(kind, &key, &sealed)?;
                Ok((key, plain))
            })
            .collect()
    }

    /// The record of `kind` with the lowest key, opened.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sealed`] or [`StoreError::Decode`] for a record that does not open.
    pub fn scan_first<T: bincode::Decode<()> + bincode::Encode>(
        &self,
        kind: Kind,
    ) -> Result<Option<(Vec<u8>, T)>, StoreError> {
        let Some((key, sealed)) = self.engine.first(kind)? else {
            return Ok(None);
        };
        let plain = self.open_record(kind, &key, &sealed)?;
        let value = codec::decode(&plain).map_err(|source| StoreError::Decode { kind, source })?;
        Ok(Some((key, value)))
    }

    /// How many records of `kind` there are.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    pub fn count(&self, kind: Kind) -> Result<usize, StoreError> {
        self.engine.count(kind)
    }

    /// A number larger than any returned before, across restarts (orders outbox entries and
    /// history).
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    pub fn next_id(&self) -> Result<u64, StoreError> {
        self.engine.next_id()
    }

    /// The record key of history entry `seq` kept at `place`.
    #[must_use]
    pub fn history_key(place: Place, seq: u64) -> Vec<u8> {
        let mut key = place.key_prefix().to_vec();
        key.extend_from_slice(&seq.to_be_bytes());
        key
    }

    /// Removes the record under `key`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    pub fn remove(&self, kind: Kind, key: &[u8]) -> Result<(), StoreError> {
        self.engine.remove(kind, key)
    }

    /// Appends `value` to the history kept at `place`; returns its sequence number.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    pub fn append_history<T: bincode::Encode>(
        &self,
        place: Place,
        value: &T,
    ) -> Result<u64, StoreError> {
        let seq = self.engine.next_id()?;
        self.put(Kind::History, &Self::history_key(place, seq), value)?;
        Ok(seq)
    }

    /// The newest `limit` history records kept at `place` older than `before` (if given),
    /// newest first, reading only those records.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn history_page<T: bincode::Decode<()> + bincode::Encode>(
        &self,
        place: Place,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, T)>, StoreError> {
        let end = before.map(|seq| Self::history_key(place, seq));
        self.engine
            .newest(Kind::History, &place.key_prefix(), end.as_deref(), limit)?
            .into_iter()
            .map(|(key, sealed)| {
                let seq = key
                    .get(32..40)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map_or(0, u64::from_be_bytes);
                let plain = self.open_record(Kind::History, &key, &sealed)?;
                let value = codec::decode(&plain).map_err(|source| StoreError::Decode {
                    kind: Kind::History,
                    source,
                })?;
                Ok((seq, value))
            })
            .collect()
    }

    /// Makes everything written so far durable. Called at every point the client relies on:
    /// after an outbox write, after a ratchet advanced, before acknowledging to the relay.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] (e.g. a full disk).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.engine.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use vigil_protocol::channel::ChannelId;

    use vigil_tests::files_under as files;

    #[test]
    fn a_store_of_another_wire_version_is_refused_clearly() {
        let home = tempfile::tempdir().unwrap();
        drop(Store::create(home.path(), "correct horse battery").unwrap());
        let path = key_file(home.path());
        let (kind, mut bytes) = dearmor(&std::fs::read_to_string(&path).unwrap()).unwrap();
        bytes[0] = 1; // as a client of wire version 1 wrote it
        std::fs::write(&path, armor(kind, &bytes)).unwrap();
        let err = Store::open(home.path(), "correct horse battery").unwrap_err();
        assert!(
            matches!(err, StoreError::OtherVersion { found: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn wrong_passphrase_is_one_error_and_changes_nothing() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::create(home.path(), "correct horse battery").unwrap();
        store.put(Kind::Meta, b"x", &7u32).unwrap();
        store.flush().unwrap();
        drop(store);
        let before = files(home.path());
        let err = Store::open(home.path(), "wrong horse battery").unwrap_err();
        assert!(matches!(err, StoreError::WrongPassphrase(_)), "{err}");
        assert_eq!(files(home.path()), before);
        let store = Store::open(home.path(), "correct horse battery").unwrap();
        assert_eq!(store.get::<u32>(Kind::Meta, b"x").unwrap(), Some(7));
        assert!(matches!(
            Store::create(home.path(), "x"),
            Err(StoreError::Exists(_))
        ));
    }

    #[test]
    fn nothing_on_disk_is_unsealed() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::create(home.path(), "correct horse battery").unwrap();
        let text = "TLP:RED IOC 198.51.100.23 exfiltration via port 8443".to_owned();
        let secret = [0x5Au8; 32];
        store
            .append_history(Place::Channel(ChannelId([1; 32])), &text)
            .unwrap();
        store.put_raw(Kind::Identity, b"seed", &secret).unwrap();
        let contact = store.blind(Kind::Session, "bob@cert-at");
        store
            .put_raw(Kind::Session, &contact, b"session state")
            .unwrap();
        store.flush().unwrap();
        drop(store);
        for (path, bytes) in files(home.path()) {
            for needle in [
                text.as_bytes(),
                &secret[..16],
                b"bob@cert-at",
                b"session state",
            ] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "{} holds {needle:?} unsealed",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn history_pages_come_newest_first_and_records_cannot_be_moved() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::create(home.path(), "correct horse battery").unwrap();
        let (a, b) = (
            Place::Channel(ChannelId([1; 32])),
            Place::Channel(ChannelId([2; 32])),
        );
        for i in 0..500u32 {
            store.append_history(a, &i).unwrap();
            store.append_history(b, &(10_000 + i)).unwrap();
        }
        let page: Vec<(u64, u32)> = store.history_page(a, None, 50).unwrap();
        let values: Vec<u32> = page.iter().map(|(_, v)| *v).collect();
        assert_eq!(values, (450..500).rev().collect::<Vec<_>>());
        let older: Vec<(u64, u32)> = store
            .history_page(a, Some(page.last().unwrap().0), 50)
            .unwrap();
        assert_eq!(older.first().unwrap().1, 449);
        // A record copied to another key does not open there.
        let sealed = store.engine.get(Kind::Meta, b"nothing").unwrap();
        assert!(sealed.is_none());
        store.put(Kind::Trust, b"one", &1u8).unwrap();
        let raw = store.engine.get(Kind::Trust, b"one").unwrap().unwrap();
        store.engine.put(Kind::Trust, b"two", &raw).unwrap();
        assert!(matches!(
            store.get::<u8>(Kind::Trust, b"two"),
            Err(StoreError::Sealed(Kind::Trust))
        ));
        store.engine.put(Kind::Session, b"one", &raw).unwrap();
        assert!(matches!(
            store.get::<u8>(Kind::Session, b"one"),
            Err(StoreError::Sealed(Kind::Session))
        ));
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy_dir(&path, &target);
            } else {
                std::fs::copy(&path, &target).unwrap();
            }
        }
    }

    #[test]
    fn a_database_that_lost_its_last_commits_is_refused() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::create(home.path(), "correct horse battery").unwrap();
        let commit = |i: u32| {
            let mut batch = Batch::default();
            store.stage(&mut batch, Kind::Outbox, &i.to_be_bytes(), &i);
            store.commit(batch).unwrap();
        };
        (0..5).for_each(commit);
        let old = tempfile::tempdir().unwrap();
        copy_dir(&home.path().join("store"), old.path());
        (5..15).for_each(commit);
        drop(store);
        // The database goes back to an older state (a damaged log tail recovered silently, or
        // an old copy put back); the counter file beside it remembers 15 commits.
        for name in ["db", "conf"] {
            std::fs::copy(old.path().join(name), home.path().join("store").join(name)).unwrap();
        }
        for entry in std::fs::read_dir(home.path().join("store")).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("snap.")
            {
                std::fs::remove_file(path).unwrap();
            }
        }
        for entry in std::fs::read_dir(old.path()).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("snap.")
            {
                std::fs::copy(
                    &path,
                    home.path().join("store").join(path.file_name().unwrap()),
                )
                .unwrap();
            }
        }
        let err = Store::open(home.path(), "correct horse battery").unwrap_err();
        assert!(matches!(err, StoreError::LostChanges(10)), "{err}");
    }

    #[test]
    fn an_altered_sealed_value_is_refused_not_returned() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::create(home.path(), "correct horse battery").unwrap();
        store
            .put(Kind::Outbox, b"entry", &"send this".to_owned())
            .unwrap();
        let sealed = store.engine.get(Kind::Outbox, b"entry").unwrap().unwrap();
        for i in [0, sealed.len() / 2, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[i] ^= 1;
            store.engine.put(Kind::Outbox, b"entry", &altered).unwrap();
            assert!(matches!(
                store.get::<String>(Kind::Outbox, b"entry"),
                Err(StoreError::Sealed(Kind::Outbox))
            ));
        }
        store
            .engine
            .put(Kind::Outbox, b"entry", &sealed[..10])
            .unwrap();
        assert!(matches!(
            store.get::<String>(Kind::Outbox, b"entry"),
            Err(StoreError::Sealed(Kind::Outbox))
        ));
    }

    #[test]
    fn the_key_can_be_rewrapped_under_a_new_passphrase() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::create(home.path(), "first passphrase").unwrap();
        store.put(Kind::Meta, b"k", &1u8).unwrap();
        store.flush().unwrap();
        let stronger = KdfParams {
            memory_kib: 128 * 1024,
            ..KdfParams::DEFAULT
        };
        store.rewrap("second passphrase", stronger).unwrap();
        drop(store);
        assert!(matches!(
            Store::open(home.path(), "first passphrase"),
            Err(StoreError::WrongPassphrase(_))
        ));
        let store = Store::open(home.path(), "second passphrase").unwrap();
        assert_eq!(store.get::<u8>(Kind::Meta, b"k").unwrap(), Some(1));
    }
}
