//! The member's home directory: `--home DIR`, `VIGIL_HOME`, or the XDG data directory.

use std::path::{Path, PathBuf};

/// Environment variable naming the home directory.
pub const HOME_ENV: &str = "VIGIL_HOME";

/// None of `--home`, `VIGIL_HOME`, `XDG_DATA_HOME` or `HOME` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no home directory: use --home DIR or set VIGIL_HOME")]
pub struct NoHome;

/// The home directory: `explicit`, else `VIGIL_HOME`, else `$XDG_DATA_HOME/vigil`, else
/// `$HOME/.local/share/vigil`.
///
/// # Errors
///
/// [`NoHome`] when none of those is set.
pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf, NoHome> {
    if let Some(dir) = explicit {
        return Ok(dir.to_owned());
    }
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = from_env(HOME_ENV) {
        return Ok(dir);
    }
    if let Some(data) = from_env("XDG_DATA_HOME") {
        return Ok(data.join("vigil"));
    }
    if let Some(home) = from_env("HOME") {
        return Ok(home.join(".local/share/vigil"));
    }
    Err(NoHome)
}

/// Where the keys of a pending certificate request are kept.
#[must_use]
pub fn pending_identity(home: &Path) -> PathBuf {
    home.join("pending-identity.vigil")
}

/// Whether `home` is a member's home: it holds a store, or the keys of a pending certificate
/// request. What a program writes into a home (a log) it writes only into one of these, not
/// into any directory named by `--home`.
#[must_use]
pub fn holds_member(home: &Path) -> bool {
    crate::store::key_file(home).is_file() || pending_identity(home).is_file()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn only_a_directory_with_a_store_key_or_pending_keys_holds_a_member() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!holds_member(dir.path()));
        std::fs::write(pending_identity(dir.path()), "keys").unwrap();
        assert!(holds_member(dir.path()));
        std::fs::remove_file(pending_identity(dir.path())).unwrap();
        std::fs::write(crate::store::key_file(dir.path()), "key").unwrap();
        assert!(holds_member(dir.path()));
    }
}
