//! The member's home directory: `--home DIR`, `VIGIL_HOME`, or the XDG data directory.

use std::path::{Path, PathBuf};

/// Environment variable naming the home directory.
pub const HOME_ENV: &str = "VIGIL_HOME";

/// The home directory: `explicit`, else `VIGIL_HOME`, else `$XDG_DATA_HOME/vigil`, else
/// `$HOME/.local/share/vigil`.
///
/// # Errors
///
/// When none of those is set.
pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf, String> {
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
    Err("no home directory: use --home DIR or set VIGIL_HOME".to_owned())
}

/// Where the keys of a pending certificate request are kept.
#[must_use]
pub fn pending_identity(home: &Path) -> PathBuf {
    home.join("pending-identity.vigil")
}
