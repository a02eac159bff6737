//! The key-value engine under the sealed store: a small trait, so sled (unmaintained since
//! 0.34.7) can be replaced without touching the rest; one tree per record kind.

use super::{Kind, StoreError};

/// Page-cache bound for sled: the store never holds more than this in memory, whatever the
/// history size.
pub const CACHE_CAPACITY: u64 = 16 * 1024 * 1024;

/// How often opening retries while sled's own lock is still held (40 ms apart): by the
/// flusher thread of a process that has just closed the store.
const SLED_LOCK_RETRIES: u32 = 50;

/// One entry as the engine returns it: (record key, sealed value).
pub type Entry = (Vec<u8>, Vec<u8>);

/// Entries as the engine returns them.
pub type Entries = Vec<Entry>;

/// One write of an atomic batch: a value to store, or `None` to remove the key.
pub type Op = (Kind, Vec<u8>, Option<Vec<u8>>);

/// What the sealed store needs from an engine. Values are already sealed when they get here.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// The value under `key`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    fn get(&self, kind: Kind, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` under `key`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    fn put(&self, kind: Kind, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// Removes `key`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    fn remove(&self, kind: Kind, key: &[u8]) -> Result<(), StoreError>;
    /// Up to `limit` entries whose key starts with `prefix` and sorts before `before` (if
    /// given), newest (highest key) first, reading only those entries.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    fn newest(
        &self,
        kind: Kind,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError>;
    /// Applies every write of `ops` or none of them, even across a crash.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    fn apply(&self, ops: &[Op]) -> Result<(), StoreError>;
    /// Every entry whose key starts with `prefix`, in key order.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    fn scan(&self, kind: Kind, prefix: &[u8]) -> Result<Entries, StoreError>;
    /// The entry with the lowest key.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    fn first(&self, kind: Kind) -> Result<Option<Entry>, StoreError>;
    /// How many entries there are.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    fn count(&self, kind: Kind) -> Result<usize, StoreError>;
    /// A number larger than any this engine returned before, across restarts.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    fn next_id(&self) -> Result<u64, StoreError>;
    /// Makes everything written so far durable.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    fn flush(&self) -> Result<(), StoreError>;
}

/// sled, one tree per [`Kind`].
#[derive(Debug)]
pub struct Sled {
    db: sled::Db,
    trees: Vec<sled::Tree>,
}

fn engine(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => StoreError::Checksums,
        other => StoreError::Engine(other),
    }
}

impl Sled {
    /// Opens (or creates) the engine in `dir`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    pub fn open(dir: &std::path::Path) -> Result<Self, StoreError> {
        // sled is unmaintained; whatever a damaged file makes it do, opening gives an error,
        // never a crash of the client.
        // A snapshot a kill -9 interrupted would make sled refuse the whole database.
        vigil_common::fs::before_sled_open(dir);
        let open = || {
            std::panic::catch_unwind(|| {
                sled::Config::new()
                    .path(dir)
                    .cache_capacity(CACHE_CAPACITY)
                    .open()
            })
            .map_err(|_| StoreError::Unopenable(dir.to_owned()))
        };
        let mut opened = open()?;
        // The caller holds the home's lock (`lock.rs`), so sled's own lock can only still be
        // held by the flusher thread of a process that just closed the store: wait for it a
        // moment. sled reports it only as an I/O error of kind `Other` naming the lock.
        for _ in 0..SLED_LOCK_RETRIES {
            match &opened {
                Err(sled::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::Other
                        && e.to_string().contains("could not acquire lock") =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(40));
                    opened = open()?;
                }
                _ => break,
            }
        }
        let db = opened.map_err(engine)?;
        let trees = Kind::ALL
            .iter()
            .map(|k| db.open_tree(k.name()).map_err(engine))
            .collect::<Result<_, _>>()?;
        Ok(Self { db, trees })
    }

    fn tree(&self, kind: Kind) -> Result<&sled::Tree, StoreError> {
        self.trees
            .get(kind as usize)
            .ok_or(StoreError::Missing("a tree of the local database"))
    }
}

impl Backend for Sled {
    fn get(&self, kind: Kind, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tree(kind)?
            .get(key)
            .map_err(engine)?
            .map(|v| v.to_vec()))
    }

    fn put(&self, kind: Kind, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.tree(kind)?.insert(key, value).map_err(engine)?;
        Ok(())
    }

    fn remove(&self, kind: Kind, key: &[u8]) -> Result<(), StoreError> {
        self.tree(kind)?.remove(key).map_err(engine)?;
        Ok(())
    }

    fn newest(
        &self,
        kind: Kind,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        let tree = self.tree(kind)?;
        let start = prefix.to_vec();
        let range = match before {
            Some(end) => tree.range(start..end.to_vec()),
            None => {
                let mut end = prefix.to_vec();
                end.push(0xFF);
                end.extend_from_slice(&[0xFF; 16]);
                tree.range(start..end)
            }
        };
        range
            .rev()
            .take(limit)
            .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(engine))
            .collect()
    }

    fn apply(&self, ops: &[Op]) -> Result<(), StoreError> {
        use sled::Transactional as _;
        self.trees
            .as_slice()
            .transaction(|trees| {
                for (kind, key, value) in ops {
                    let Some(tree) = trees.get(*kind as usize) else {
                        return sled::transaction::abort("a tree of the local database");
                    };
                    match value {
                        Some(value) => tree.insert(key.as_slice(), value.as_slice())?,
                        None => tree.remove(key.as_slice())?,
                    };
                }
                Ok(())
            })
            .map_err(|e| match e {
                sled::transaction::TransactionError::Abort(what) => StoreError::Missing(what),
                sled::transaction::TransactionError::Storage(e) => engine(e),
            })
    }

    fn scan(&self, kind: Kind, prefix: &[u8]) -> Result<Entries, StoreError> {
        self.tree(kind)?
            .scan_prefix(prefix)
            .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(engine))
            .collect()
    }

    fn first(&self, kind: Kind) -> Result<Option<Entry>, StoreError> {
        Ok(self
            .tree(kind)?
            .first()
            .map_err(engine)?
            .map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    fn count(&self, kind: Kind) -> Result<usize, StoreError> {
        Ok(self.tree(kind)?.len())
    }

    fn next_id(&self) -> Result<u64, StoreError> {
        self.db.generate_id().map_err(engine)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(engine)?;
        Ok(())
    }
}
