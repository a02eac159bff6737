//! Files the way a security tool must write them: private permissions, and atomically (a
//! temporary file, fsync, rename, fsync of the directory), so a crash or a full disk never
//! leaves a half-written file behind.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::Error;

/// Permissions of every file we write.
pub const FILE_MODE: u32 = 0o600;

/// Permissions of every directory we create.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` (and missing parents) with [`DIR_MODE`]; an existing directory is fine.
pub fn create_private_dir(dir: &Path) -> Result<(), Error> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| Error::io(dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE)).map_err(|e| Error::io(dir, e))
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `contents` to `path` atomically with [`FILE_MODE`], replacing any file there.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let temp = temp_path(path);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(parent)?.sync_all()?;
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = fs::remove_file(&temp);
        Error::io(path, e)
    })
}

/// Writes a new file; refuses if `path` exists.
pub fn write_new(path: &Path, contents: &[u8]) -> Result<(), Error> {
    if path.exists() {
        return Err(Error::Exists(path.to_owned()));
    }
    write_atomic(path, contents)
}

/// Reads a text file with an error naming it.
pub fn read_text(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => Error::NotText(path.to_owned()),
        _ => Error::io(path, e),
    })
}

/// Removes the snapshots sled began writing in `dir` and never finished (`snap.*.generating`);
/// returns those it removed.
///
/// sled 0.34 writes a snapshot to `snap.LSN.generating` and renames it when complete, but on
/// open it takes the newest `snap.*` file *including* an unfinished one: a process killed while
/// writing a snapshot leaves a database that no longer opens (`Corruption`; sled issues 1527
/// and 1533; seen once in the client kill -9 campaign). An unfinished snapshot holds nothing the
/// log does not: the previous snapshot (removed only after a rename) and the log rebuild the
/// same state. [`before_sled_open`] calls it before every open of a sled database.
///
/// # Errors
///
/// [`Error::Io`] when `dir` cannot be listed or a file cannot be removed.
pub fn remove_unfinished_snapshots(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let path = entry.map_err(io)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            fs::remove_file(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// What every open of a sled database does first: [`remove_unfinished_snapshots`], with a
/// warning (naming nothing but a count) when it removed any or could not look. A failure here
/// only leaves sled to report the damage itself.
pub fn before_sled_open(dir: &Path) {
    match remove_unfinished_snapshots(dir) {
        Ok(removed) if removed.is_empty() => {}
        Ok(removed) => tracing::warn!(
            count = removed.len(),
            "removed snapshots sled never finished writing (an interrupted process)"
        ),
        Err(Error::Io { source, .. }) => tracing::warn!(
            kind = %source.kind(),
            "cannot look for unfinished sled snapshots"
        ),
        Err(_) => tracing::warn!("cannot look for unfinished sled snapshots"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_directories_are_private_and_replaced_whole() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), DIR_MODE);
        let file = dir.join("secret");
        write_atomic(&file, b"first").unwrap();
        write_atomic(&file, b"second").unwrap();
        assert_eq!(mode(&file), FILE_MODE);
        assert_eq!(read_text(&file).unwrap(), "second");
        // No temporary file is left beside it.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn write_new_refuses_an_existing_file_and_keeps_it() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("bundle");
        write_new(&file, b"kept").unwrap();
        assert!(matches!(write_new(&file, b"lost"), Err(Error::Exists(p)) if p == file));
        assert_eq!(read_text(&file).unwrap(), "kept");
    }

    #[test]
    fn a_binary_file_is_not_read_as_text() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("binary");
        write_atomic(&file, &[0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(read_text(&file), Err(Error::NotText(_))));
        let missing = root.path().join("missing");
        assert!(matches!(read_text(&missing), Err(Error::Io { .. })));
    }
}
