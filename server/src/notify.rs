//! The systemd readiness protocol (`sd_notify`, `Type=notify`): one datagram per state change
//! to the unix socket named by `$NOTIFY_SOCKET` (a path, or an abstract name written with a
//! leading `@`). Without `$NOTIFY_SOCKET` (not started by systemd) nothing is sent.

use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::net::{SocketAddr, UnixDatagram};

use tracing::debug;

/// The listener is up: systemd starts what waits for the relay.
pub const READY: &str = "READY=1";
/// Shutting down.
pub const STOPPING: &str = "STOPPING=1";

/// `RELOADING=1` with the monotonic clock systemd wants beside it.
#[must_use]
pub fn reloading() -> String {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let micros = u64::try_from(now.tv_sec).unwrap_or(0) * 1_000_000
        + u64::try_from(now.tv_nsec).unwrap_or(0) / 1000;
    format!("RELOADING=1\nMONOTONIC_USEC={micros}")
}

/// Sends `state` to `$NOTIFY_SOCKET`, if set. Returns whether it was sent (a failure is
/// logged: systemd then times the start out, which says more than a crash would).
pub fn notify(state: &str) -> bool {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return false;
    };
    let bytes = socket.as_encoded_bytes();
    let sent = UnixDatagram::unbound().and_then(|datagram| {
        let address = match bytes.strip_prefix(b"@") {
            Some(name) => SocketAddr::from_abstract_name(name)?,
            None => SocketAddr::from_pathname(std::path::Path::new(&socket))?,
        };
        datagram.send_to_addr(state.as_bytes(), &address)
    });
    match sent {
        Ok(_) => true,
        Err(e) => {
            debug!(error = %e, "cannot notify systemd");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn reloading_carries_the_monotonic_clock() {
        let state = reloading();
        let micros: u64 = state
            .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
            .unwrap()
            .parse()
            .unwrap();
        assert!(micros > 0);
    }
}
