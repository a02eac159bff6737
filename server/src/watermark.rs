//! The count of messages ever stored, kept in a small file beside the data directory's own
//! (`data/stored`). sled recovers a damaged end of its log silently, like a torn write after a
//! crash, and would serve what is left as if nothing were missing. Every flush happens before
//! its acknowledgement and the file is written after a flush, from a count read before it, so
//! a healthy start always finds at least the count the file says; finding fewer means
//! acknowledged messages were lost, and the relay refuses to start.

use std::path::{Path, PathBuf};

use tracing::warn;

/// The file that holds the count.
#[derive(Debug)]
pub(crate) struct Watermark {
    pub(crate) path: PathBuf,
}

impl Watermark {
    pub(crate) fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join("stored"),
        }
    }

    /// The count written last (none when the file is missing or torn).
    pub(crate) fn read(&self) -> Option<u64> {
        std::fs::read_to_string(&self.path)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Replaces the file (write then rename: never a torn count).
    pub(crate) fn write(&self, count: u64) {
        let temporary = self.path.with_extension("tmp");
        let written = std::fs::write(&temporary, format!("{count}\n"))
            .and_then(|()| std::fs::rename(&temporary, &self.path));
        if let Err(e) = written {
            warn!(error = %e, path = %self.path.display(), "cannot record the stored count");
        }
    }
}
