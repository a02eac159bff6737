//! One process per home: a second `vigil` on a home another one is using (`read --follow`,
//! the TUI) waits for it, saying which process it waits for, up to [`wait_limit`] seconds,
//! then fails with `home_busy` (exit code 2). It never fails on the database's own lock.

use std::path::Path;
use std::time::{Duration, Instant};

use vigil_client::engine::{Engine, EngineError};
use vigil_client::store::StoreError;
use vigil_client::store::lock::HomeLock;

use super::{CliError, Notes};

/// Environment variable: how many seconds a second `vigil` waits for the home (default
/// [`DEFAULT_WAIT_SECS`]; 0 does not wait).
pub(super) const WAIT_ENV: &str = "VIGIL_HOME_WAIT_SECS";

/// How long a second `vigil` waits for the home by default.
pub(super) const DEFAULT_WAIT_SECS: u64 = 30;

/// How often the waiting process looks again.
const POLL: Duration = Duration::from_millis(200);

/// The wait limit: [`WAIT_ENV`] when it is a number of seconds, else the default.
fn wait_limit() -> Duration {
    let secs = std::env::var(WAIT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_WAIT_SECS);
    Duration::from_secs(secs)
}

/// Who holds the home, for a human: `pid N`, or `process` when its id cannot be read.
fn who(pid: Option<u32>) -> String {
    pid.map_or_else(|| "process".to_owned(), |p| format!("pid {p}"))
}

/// Opens the engine in `home`; while another process holds the home, notes it once and waits
/// (looking without unsealing anything) until it lets go or the limit passes.
///
/// # Errors
///
/// [`CliError`] from opening, [`StoreError::Busy`] after the limit.
pub(super) fn open_engine(
    home: &Path,
    passphrase: &str,
    notes: &mut dyn Notes,
) -> Result<Engine, CliError> {
    let limit = wait_limit();
    let deadline = Instant::now() + limit;
    let mut told = false;
    loop {
        let busy = match HomeLock::holder(home) {
            Some(pid) => Some(pid),
            None => match Engine::open(home, passphrase) {
                Err(EngineError::Store(StoreError::Busy { pid, .. })) => Some(pid),
                other => return Ok(other?),
            },
        };
        if let Some(pid) = busy {
            if Instant::now() >= deadline {
                return Err(EngineError::Store(StoreError::Busy {
                    home: home.to_owned(),
                    pid,
                })
                .into());
            }
            if !told {
                notes.note(&format!(
                    "another vigil ({}) is using this home; waiting up to {} s for it to finish…",
                    who(pid),
                    limit.as_secs()
                ));
                told = true;
            }
            std::thread::sleep(POLL);
        }
    }
}
