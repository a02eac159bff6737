//! The client's log: `vigil.log` in the member's home directory, private (0600) like every
//! other file there, appended to by every run. Never the terminal: while the TUI runs, stdout
//! and stderr belong to it, and a headless command's stderr is for the one-line error.
//!
//! `RUST_LOG` chooses what is logged (e.g. `RUST_LOG=debug`, `RUST_LOG=vigil_client=trace`);
//! without it, [`DEFAULT_FILTER`]. Lines carry no ANSI colour codes, and tracing-subscriber
//! escapes the terminal's escape characters (ESC, BEL, C1) in what is logged, but not line
//! breaks: so nothing at the default levels logs text another member or the relay chose
//! (`vigil-client` logs such text at `debug` only).
//!
//! The file is opened without following a symbolic link, only if it is a regular file, and
//! only in a member's home ([`vigil_client::home::holds_member`]): a `vigil.log` planted as a
//! link to another file, or a `--home` pointing at some other directory, gets no log.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The log's file name in the home directory.
pub const LOG_FILE: &str = "vigil.log";

/// What is logged without `RUST_LOG`: Vigil's own crates at `info`, everything else (the QUIC
/// and TLS stacks, the runtime) at `warn`.
pub const DEFAULT_FILTER: &str = "warn,vigil=info,vigil_tui=info,vigil_client=info,\
                                  vigil_common=info,vigil_protocol=info,vigil_server=info,\
                                  vigil_keytool=info";

/// Where the log of the member at `home` is.
#[must_use]
pub fn path(home: &Path) -> PathBuf {
    home.join(LOG_FILE)
}

/// Starts logging to `<home>/vigil.log` when `home` exists (a member's home is made by
/// `request` or `enroll`, which call this again once it is). Does nothing once a log is
/// started, and nothing when the file cannot be opened: a missing log never stops a command.
pub fn start(home: &Path) {
    if tracing::dispatcher::has_been_set() || !vigil_client::home::holds_member(home) {
        return;
    }
    let Ok(file) = open(&path(home)) else {
        return;
    };
    let _ = tracing::subscriber::set_global_default(subscriber(Mutex::new(file), filter()));
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "vigil started");
}

/// The filter from `RUST_LOG`, else [`DEFAULT_FILTER`] (also when `RUST_LOG` does not parse).
#[must_use]
pub fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// The subscriber: plain lines (no ANSI codes) to `writer`, as `filter` allows.
pub fn subscriber<W>(writer: W, filter: EnvFilter) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .finish()
}

/// Opens `path` to append, creating it with [`vigil_common::fs::FILE_MODE`]; a file that is
/// already there is made private too. Never through a symbolic link (`O_NOFOLLOW`), never a
/// FIFO or device (`O_NONBLOCK`, then checked to be a regular file).
fn open(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(vigil_common::fs::FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    file.set_permissions(std::fs::Permissions::from_mode(vigil_common::fs::FILE_MODE))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;

        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    #[test]
    fn vigil_info_is_logged_plain_escaped_and_other_crates_only_from_warn() {
        let captured = Captured::default();
        let subscriber = subscriber(captured.clone(), EnvFilter::new(DEFAULT_FILTER));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "vigil_client::worker", "offline");
            tracing::info!(target: "quinn::connection", "chatty");
            tracing::warn!(target: "quinn::connection", "worth knowing");
            tracing::warn!(target: "vigil_client::engine", reason = "\u{1b}]0;pwned\u{7}", "hostile");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("offline"), "{text}");
        assert!(!text.contains("chatty"), "{text}");
        assert!(text.contains("worth knowing"), "{text}");
        assert!(text.contains("hostile"), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "ANSI codes or raw escapes in {text:?}"
        );
    }

    #[test]
    fn a_planted_link_or_fifo_is_not_opened_and_its_target_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("bashrc");
        std::fs::write(&target, "kept\n").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let log = path(dir.path());
        std::os::unix::fs::symlink(&target, &log).unwrap();
        assert!(open(&log).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept\n");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        // A link to nowhere creates nothing.
        std::fs::remove_file(&log).unwrap();
        let nowhere = dir.path().join("nowhere");
        std::os::unix::fs::symlink(&nowhere, &log).unwrap();
        assert!(open(&log).is_err());
        assert!(!nowhere.exists());
        // A FIFO does not hang the start.
        std::fs::remove_file(&log).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(&log)
            .status()
            .unwrap();
        assert!(status.success());
        assert!(open(&log).is_err());
    }

    #[test]
    fn the_file_is_private_even_when_it_was_not() {
        let dir = tempfile::tempdir().unwrap();
        let log = path(dir.path());
        std::fs::write(&log, "old line\n").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(open(&log).unwrap());
        let mode = std::fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "old line\n");
    }
}
