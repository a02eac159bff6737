//! Online backups of the data directory: [`SledStore::export`] writes every record to a
//! stream while mailbox writes are paused, [`import`] makes a new data directory of such a
//! stream (with the stored-messages count a restored relay checks at start).
//!
//! Consistency: the writer thread (`commit.rs`) applies every mailbox write, and it holds the
//! pause lock for each batch; an export takes that lock, flushes and reads every tree, so it
//! sees every acknowledged message and ack up to a point, and none after it (the senders of
//! writes that arrive meanwhile wait, and are answered after the export). Directory writes
//! (certificates, prekeys) are single records and are not paused: each is in the backup
//! whole, or not.
//!
//! The stream: records `1 ‖ tree name (u8 length) ‖ key (u32 length) ‖ value (u32 length)`,
//! then `0 ‖ records (u64)`. A stream without its end is a failed backup, never imported.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::PoisonError;

use super::SledStore;
use crate::store::StoreError;

/// A backup or its import failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing or reading the stream, or the backup directory, failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The stream is not a complete backup (the relay stopped, or something else answered).
    #[error("the backup stream is incomplete or damaged: {0}")]
    Damaged(&'static str),
    /// The backup directory exists and is not empty.
    #[error("{0} exists and is not empty: back up into a new directory")]
    NotEmpty(std::path::PathBuf),
}

const RECORD: u8 = 1;
const END: u8 = 0;

impl SledStore {
    /// Writes every record to `out` while mailbox writes are paused. Returns how many.
    ///
    /// # Errors
    ///
    /// [`BackupError`]: a storage error or a failed write.
    pub fn export(&self, out: &mut dyn Write) -> Result<u64, BackupError> {
        let _paused = self
            .commit
            .pause
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut records = 0u64;
        for (name, tree) in self.trees() {
            tree.flush().map_err(StoreError::Sled)?;
            for item in tree.iter() {
                let (key, value) = item.map_err(StoreError::Sled)?;
                out.write_all(&[RECORD])?;
                write_part(out, name.as_bytes(), 1)?;
                write_part(out, &key, 4)?;
                write_part(out, &value, 4)?;
                records += 1;
            }
        }
        out.write_all(&[END])?;
        out.write_all(&records.to_be_bytes())?;
        out.flush()?;
        Ok(records)
    }
}

/// `bytes` after its length in `width` bytes, big-endian.
fn write_part(out: &mut dyn Write, bytes: &[u8], width: usize) -> Result<(), BackupError> {
    let length = (bytes.len() as u64).to_be_bytes();
    let prefix = length
        .get(8 - width..)
        .ok_or(BackupError::Damaged("length"))?;
    if bytes.len() as u64 >= 1u64 << (8 * width) {
        return Err(BackupError::Damaged("a record too large"));
    }
    out.write_all(prefix)?;
    out.write_all(bytes)?;
    Ok(())
}

fn read_part(input: &mut dyn Read, width: usize) -> Result<Vec<u8>, BackupError> {
    let mut length = [0u8; 8];
    let tail = length
        .get_mut(8 - width..)
        .ok_or(BackupError::Damaged("length"))?;
    input.read_exact(tail)?;
    let length =
        usize::try_from(u64::from_be_bytes(length)).map_err(|_| BackupError::Damaged("length"))?;
    let mut bytes = Vec::new();
    input.take(length as u64).read_to_end(&mut bytes)?;
    if bytes.len() != length {
        return Err(BackupError::Damaged("a record cut short"));
    }
    Ok(bytes)
}

/// Makes `dir` (new, or empty) a data directory holding what the stream `input` holds, and
/// records its stored-messages count beside it (`stored`), so the relay started on it checks
/// it as its own. Returns how many records, and the stored-messages count.
///
/// # Errors
///
/// [`BackupError`]: `dir` not empty, an incomplete stream, or a storage error. What was
/// written to `dir` then is no backup: remove it.
pub fn import(input: &mut dyn Read, dir: &Path) -> Result<(u64, u64), BackupError> {
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(BackupError::NotEmpty(dir.to_owned()));
    }
    vigil_common::fs::create_private_dir(dir)
        .map_err(|_| BackupError::Damaged("cannot create the backup directory"))?;
    let db = sled::Config::new()
        .path(dir)
        .cache_capacity(super::CACHE_CAPACITY)
        .open()
        .map_err(StoreError::Sled)?;
    let mut records = 0u64;
    let mut stored = 0u64;
    loop {
        let mut tag = [0u8; 1];
        input.read_exact(&mut tag)?;
        match tag {
            [RECORD] => {
                let name = read_part(input, 1)?;
                let key = read_part(input, 4)?;
                let value = read_part(input, 4)?;
                if name == b"meta" && key == super::mailbox::STORED {
                    stored = super::mailbox::counter(&value);
                }
                db.open_tree(&name)
                    .and_then(|tree| tree.insert(key, value))
                    .map_err(StoreError::Sled)?;
                records += 1;
            }
            [END] => {
                let mut count = [0u8; 8];
                input.read_exact(&mut count)?;
                if u64::from_be_bytes(count) != records {
                    return Err(BackupError::Damaged("record count"));
                }
                break;
            }
            _ => return Err(BackupError::Damaged("unknown tag")),
        }
    }
    db.flush().map_err(StoreError::Sled)?;
    drop(db);
    crate::watermark::Watermark::new(dir).write(stored);
    Ok((records, stored))
}
