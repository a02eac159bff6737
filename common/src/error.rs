//! Errors of files and passphrases, each naming the file or what to do.

use std::path::PathBuf;

/// A file could not be read or written, or no usable passphrase was given.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused a read or write of `path`.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// [`fs::write_new`](crate::fs::write_new) refuses to replace a file.
    #[error("{0} already exists; refusing to overwrite it")]
    Exists(PathBuf),
    /// A file read as text holds bytes that are not UTF-8.
    #[error("{0}: not a text file")]
    NotText(PathBuf),
    /// Standard input is not a terminal and no file or environment variable gave one.
    #[error(
        "no passphrase: standard input is not a terminal; use --passphrase-file FILE or set \
         VIGIL_PASSPHRASE"
    )]
    NoPassphrase,
    /// A new passphrase shorter than [`MIN_PASSPHRASE_LEN`](crate::passphrase::MIN_PASSPHRASE_LEN).
    #[error("the passphrase must be at least {min} characters long")]
    WeakPassphrase {
        /// The minimum length in characters.
        min: usize,
    },
    /// A passphrase given for something sealed is shorter than any Vigil accepts when it
    /// seals, so it cannot be the right one (a truncated line, a wrong file): said as such,
    /// not as a wrong passphrase.
    #[error(
        "the passphrase given is too short: Vigil passphrases are at least {min} characters, so          it cannot be the right one (a truncated line or the wrong file?)"
    )]
    ShortPassphrase {
        /// The minimum length in characters.
        min: usize,
    },
    /// The two prompts for a new passphrase disagreed.
    #[error("the passphrases did not match")]
    PassphraseMismatch,
}

impl Error {
    /// A stable name of this error, in snake_case, for programs that act on it.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::Exists(_) => "exists",
            Self::NotText(_) => "not_text",
            Self::NoPassphrase => "no_passphrase",
            Self::WeakPassphrase { .. } => "weak_passphrase",
            Self::ShortPassphrase { .. } => "short_passphrase",
            Self::PassphraseMismatch => "passphrase_mismatch",
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
