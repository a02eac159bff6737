//! What ends the TUI besides a key: SIGTERM and SIGHUP (a closed terminal, a service manager,
//! `kill`) quit as the quit key does, so the terminal is restored and the state saved.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The signals that stop the TUI.
#[derive(Debug)]
pub(super) struct Stop {
    term: Option<Signal>,
    hup: Option<Signal>,
}

/// Listens for `kind`; one that cannot be listened for is left to its default.
fn listen(kind: SignalKind) -> Option<Signal> {
    signal(kind)
        .inspect_err(|e| tracing::warn!(error = %e, "cannot listen for a signal"))
        .ok()
}

/// The next `signal`; never, when it is not listened for.
async fn next(signal: &mut Option<Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

impl Stop {
    /// Listens for SIGTERM and SIGHUP.
    pub(super) fn new() -> Self {
        Self {
            term: listen(SignalKind::terminate()),
            hup: listen(SignalKind::hangup()),
        }
    }

    /// Waits for one of them.
    pub(super) async fn recv(&mut self) {
        tokio::select! {
            Some(()) = next(&mut self.term) => {}
            Some(()) = next(&mut self.hup) => {}
            else => std::future::pending().await,
        }
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
pub(super) async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
