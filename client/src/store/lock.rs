//! One process per home: the store holds an exclusive lock on `store.lock` in the home
//! directory for as long as it is open, with the holder's process id written in it, so a second
//! `vigil` on the same home is told which process is using it (and can wait for it) instead of
//! failing on the database engine's own lock.
//!
//! The lock is advisory (`flock`): it is released by the kernel when the holder exits, however
//! it exits, so a crashed process never leaves a home locked. The file is `0600` in the `0700`
//! home and holds nothing but a process id.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use super::StoreError;

/// The lock file of the home `home`.
#[must_use]
pub fn lock_file(home: &Path) -> PathBuf {
    home.join("store.lock")
}

/// The exclusive lock on a home, held until dropped.
#[derive(Debug)]
pub struct HomeLock {
    _file: File,
}

fn open(home: &Path) -> Result<File, StoreError> {
    let path = lock_file(home);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(vigil_common::fs::FILE_MODE)
        // A symlink planted as the lock file is not followed.
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| vigil_common::Error::io(&path, e).into())
}

/// The process id the holder wrote, if it is readable.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

impl HomeLock {
    /// Takes the lock on `home` without waiting, and writes our process id into it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Busy`] when another process holds it; [`StoreError::Files`] when the lock
    /// file cannot be opened or written.
    pub fn acquire(home: &Path) -> Result<Self, StoreError> {
        let mut file = open(home)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Busy {
                    home: home.to_owned(),
                    pid: holder(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(vigil_common::Error::io(lock_file(home), e).into());
            }
        }
        let written = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()));
        written.map_err(|e| vigil_common::Error::io(lock_file(home), e))?;
        Ok(Self { _file: file })
    }

    /// The process holding the lock on `home` now (its id, when it could be read), or `None`
    /// when nobody holds it (or `home` holds no store: nothing is created there). Takes and
    /// releases the lock to find out: for a process waiting its turn, which then opens the
    /// store (and may still find it taken).
    #[must_use]
    pub fn holder(home: &Path) -> Option<Option<u32>> {
        if !super::key_file(home).is_file() {
            return None;
        }
        let mut file = open(home).ok()?;
        match file.try_lock() {
            Ok(()) => None,
            Err(TryLockError::WouldBlock) => Some(holder(&mut file)),
            Err(TryLockError::Error(_)) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn a_second_holder_is_told_who_holds_the_home_until_it_is_released() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(HomeLock::holder(home.path()), None);
        assert!(
            !lock_file(home.path()).exists(),
            "a directory without a store is left alone"
        );
        std::fs::write(super::super::key_file(home.path()), "key").unwrap();
        let lock = HomeLock::acquire(home.path()).unwrap();
        let me = Some(std::process::id());
        assert_eq!(HomeLock::holder(home.path()), Some(me));
        assert!(matches!(
            HomeLock::acquire(home.path()),
            Err(StoreError::Busy { pid, .. }) if pid == me
        ));
        drop(lock);
        assert_eq!(HomeLock::holder(home.path()), None);
        drop(HomeLock::acquire(home.path()).unwrap());
    }
}
