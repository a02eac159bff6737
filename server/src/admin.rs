//! The relay's admin socket, `DATA_DIR/admin.sock` (mode 0600, in the relay's own private
//! data directory: only the relay's user and root reach it), and `vigil-relay backup`, its
//! one command: an online backup streamed to the caller, who writes the new data directory
//! (so the relay itself never writes outside its data directory). When no relay runs on the
//! data directory, `backup` reads it directly.

use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::store::SledStore;
use crate::store::sled::{BackupError, import};

/// The socket's name in the data directory.
pub const SOCKET: &str = "admin.sock";

/// How long an export waits for its caller to read on before it gives up (and writes resume).
const STALLED: Duration = Duration::from_secs(30);

/// What a client sends to ask for a backup.
const BACKUP: &[u8] = b"backup\n";

/// Where the admin socket of the relay on `data_dir` is.
#[must_use]
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// A backup made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backup {
    /// Records copied.
    pub records: u64,
    /// Messages the relay had stored (and acknowledged) up to the backup, in all.
    pub stored: u64,
    /// Whether a running relay made it (else the data directory was read directly).
    pub online: bool,
}

/// Binds the admin socket in `data_dir` (replacing one a killed relay left: the store's lock
/// is held, so no other relay uses this directory) and serves it until `stop` changes.
///
/// # Errors
///
/// The socket's error.
pub(crate) fn bind(data_dir: &Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = socket_path(data_dir);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Answers admin requests on `listener` until `stop` changes ([`crate::Relay::shutdown`]
/// removes the socket: this task may end after a new relay bound it again).
pub(crate) async fn serve(
    listener: tokio::net::UnixListener,
    store: Arc<SledStore>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => answer(stream, Arc::clone(&store)).await,
                Err(e) => warn!(error = %e, "admin socket: accept failed"),
            },
            _ = stop.changed() => break,
        }
    }
}

/// One request: `backup\n`, answered with the export (one at a time: a backup pauses writes).
async fn answer(mut stream: tokio::net::UnixStream, store: Arc<SledStore>) {
    let mut request = [0u8; BACKUP.len()];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut request)).await;
    if !matches!(read, Ok(Ok(_))) || request != BACKUP {
        warn!("admin socket: an unknown request; closed");
        return;
    }
    // Mailbox writes wait while the export runs: a caller that stops reading (suspended, or
    // hostile) must not hold them for longer than this.
    let stream = stream.into_std().and_then(|s| {
        s.set_nonblocking(false)?;
        s.set_write_timeout(Some(STALLED))?;
        Ok(s)
    });
    let Ok(stream) = stream else {
        return;
    };
    let exported = tokio::task::spawn_blocking(move || {
        let mut out = BufWriter::new(stream);
        store.export(&mut out)
    })
    .await;
    match exported {
        Ok(Ok(records)) => info!(records, "backup streamed"),
        Ok(Err(e)) => warn!(error = %e, "backup failed"),
        Err(e) => warn!(error = %e, "backup failed"),
    }
}

/// Backs up the data directory `data_dir` into the new directory `to`: through the running
/// relay's admin socket, or directly when no relay runs on it.
///
/// # Errors
///
/// [`BackupError`]; `to` then holds no usable backup.
pub fn backup(data_dir: &Path, to: &Path) -> Result<Backup, BackupError> {
    if std::fs::read_dir(to).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(BackupError::NotEmpty(to.to_owned()));
    }
    match std::os::unix::net::UnixStream::connect(socket_path(data_dir)) {
        Ok(mut stream) => {
            stream.write_all(BACKUP)?;
            let (records, stored) = import(&mut BufReader::new(stream), to)?;
            Ok(Backup {
                records,
                stored,
                online: true,
            })
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            offline(data_dir, to)
        }
        Err(e) => Err(e.into()),
    }
}

/// The backup of a data directory no relay runs on.
fn offline(data_dir: &Path, to: &Path) -> Result<Backup, BackupError> {
    let store = SledStore::open(data_dir)?;
    let (mut reader, mut writer) = std::io::pipe()?;
    let exporter = std::thread::spawn(move || {
        let mut out = BufWriter::new(&mut writer);
        store.export(&mut out)
    });
    let imported = import(&mut BufReader::new(&mut reader), to);
    drop(reader);
    let exported = exporter
        .join()
        .map_err(|_| BackupError::Damaged("the export stopped"))?;
    exported?;
    let (records, stored) = imported?;
    Ok(Backup {
        records,
        stored,
        online: false,
    })
}
