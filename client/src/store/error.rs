//! Why the store could not be used: not there, locked with another passphrase, damaged (each
//! way it can be), or the database engine failing.

use std::path::PathBuf;

use vigil_protocol::DecodeError;
use vigil_protocol::provisioning::{ArmorError, SealError};

use super::Kind;

/// The store could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No store in this home directory.
    #[error("no Vigil store in {0}: enroll this device first (`vigil enroll BUNDLE`)")]
    NotEnrolled(PathBuf),
    /// Another process holds the home's lock (see `lock.rs`): one process per home.
    #[error(
        "another vigil ({}) is using {}: one process per home; stop it or let it finish, then \
         try again",
        pid.map_or_else(|| "process".to_owned(), |p| format!("pid {p}")),
        home.display()
    )]
    Busy {
        /// The home directory.
        home: PathBuf,
        /// The holder's process id, when it could be read.
        pid: Option<u32>,
    },
    /// A store exists already.
    #[error("{0} already holds a Vigil store")]
    Exists(PathBuf),
    /// Wrong passphrase (nothing was read or changed).
    #[error("wrong passphrase for the Vigil store in {0}")]
    WrongPassphrase(PathBuf),
    /// The store was written by a client of another wire version: not read, not migrated.
    #[error(
        "the Vigil store in {home} was written by a client of wire version {found}; this client \
         speaks version {expected}: enroll again with a new bundle in a new home directory (see \
         the user guide, upgrading)"
    )]
    OtherVersion {
        /// The home directory.
        home: PathBuf,
        /// The version found.
        found: u8,
        /// The version spoken.
        expected: u8,
    },
    /// The key file does not hold this store's sealed key.
    #[error("the store is damaged: {}: {damage}", path.display())]
    KeyFile {
        path: PathBuf,
        damage: KeyFileDamage,
    },
    /// A record does not open with the store's key where it lies: altered, or moved there
    /// from another key.
    #[error("the store is damaged: a {} record does not open with this store's key", .0.name())]
    Sealed(Kind),
    /// A record opens but does not decode as what it must be.
    #[error("the store is damaged: {} record: {source}", kind.name())]
    Decode { kind: Kind, source: DecodeError },
    /// A record the engine needs is missing, or is not what it must be.
    #[error("the store is damaged: {0} missing or damaged")]
    Missing(&'static str),
    /// The database fails its checksums.
    #[error(
        "the store is damaged: the local database fails its checksums (a damaged or truncated \
         file); restore the home directory from a backup, or enroll this device again"
    )]
    Checksums,
    /// The database engine failed on the files it was opening (it is unmaintained: a damaged
    /// file may make it panic, which is caught).
    #[error(
        "the store is damaged: the local database in {} cannot be opened (the engine failed on \
         it); restore the home directory from a backup, or enroll this device again",
        .0.display()
    )]
    Unopenable(PathBuf),
    /// The database holds fewer commits than the counter beside it recorded: its end was lost
    /// (a damaged log tail that the engine recovered silently, or an old copy put back).
    #[error(
        "the store is damaged: the local database has lost {0} of its last changes (a damaged \
         file); restore the home directory from a backup, or enroll this device again"
    )]
    LostChanges(u64),
    /// The store key cannot be sealed under these parameters.
    #[error("cannot seal the store key: {0}")]
    Seal(#[source] SealError),
    /// The database engine failed (I/O, a full disk).
    #[error("store engine: {0}")]
    Engine(#[source] sled::Error),
    /// A commit failed on purpose (see `Store::fail_next_commit`).
    #[error("store engine: injected failure (a test of failed commits)")]
    InjectedFailure,
    /// Files around the store could not be read or written.
    #[error(transparent)]
    Files(#[from] vigil_common::Error),
}

impl StoreError {
    /// Whether the store is damaged (as opposed to absent, locked, of another version, or the
    /// database engine failing).
    #[must_use]
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            Self::KeyFile { .. }
                | Self::Sealed(_)
                | Self::Decode { .. }
                | Self::Missing(_)
                | Self::Checksums
                | Self::Unopenable(_)
                | Self::LostChanges(_)
        )
    }
}

/// How the key file is damaged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileDamage {
    #[error(transparent)]
    Armor(ArmorError),
    #[error("not a store key file")]
    NotAKeyFile,
    #[error(transparent)]
    Decode(DecodeError),
    #[error(transparent)]
    Seal(SealError),
    #[error("not a 32-byte key")]
    NotAKey,
    /// The key does not have the id the file names.
    #[error("key id mismatch")]
    KeyIdMismatch,
}
