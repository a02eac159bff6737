//! Errors of `vigil-keytool`, each one line naming what was wrong and what to do, with the exit
//! code it maps to (1: refused by policy or verification; 2: usage or I/O).

use std::path::PathBuf;

use vigil_protocol::policy::PolicyError;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Refusing to overwrite.
    #[error("{0} already exists; refusing to overwrite it")]
    Exists(PathBuf),
    /// Not an org directory.
    #[error("{0} is not an organisation directory (create one with `vigil-keytool org init`)")]
    NotOrgDir(PathBuf),
    /// A file is damaged.
    #[error("{path}: {why}")]
    Corrupt {
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// No passphrase source.
    #[error(
        "no passphrase: standard input is not a terminal; use --passphrase-file FILE or set \
         VIGIL_PASSPHRASE"
    )]
    NoPassphrase,
    /// A passphrase too weak for what it protects.
    #[error("the passphrase must be at least {min} characters long")]
    WeakPassphrase { min: usize },
    /// Two prompts disagreed.
    #[error("the passphrases did not match")]
    PassphraseMismatch,
    /// Opening a sealed file failed.
    #[error("{0}: wrong passphrase, or the file is corrupt")]
    WrongPassphrase(PathBuf),
    /// A bad argument.
    #[error("{0}")]
    Usage(String),
    /// A clearance level the policy does not know.
    #[error(transparent)]
    Clearance(#[from] PolicyError),
    /// Refused by policy or verification (exit code 1).
    #[error("{0}")]
    Refused(String),
}

impl Error {
    /// The process exit code for this error.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) => 1,
            _ => 2,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A damaged file.
    pub fn corrupt(path: impl Into<PathBuf>, why: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            path: path.into(),
            why: why.to_string(),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<vigil_common::Error> for Error {
    fn from(e: vigil_common::Error) -> Self {
        use vigil_common::Error as Common;
        match e {
            Common::Io { path, source } => Self::Io { path, source },
            Common::Exists(path) => Self::Exists(path),
            Common::NotText(path) => Self::corrupt(path, "not a text file"),
            Common::NoPassphrase => Self::NoPassphrase,
            Common::WeakPassphrase { min } => Self::WeakPassphrase { min },
            Common::PassphraseMismatch => Self::PassphraseMismatch,
        }
    }
}
