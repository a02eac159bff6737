//! `vigil-common`: what the member's client (`vigil-client`), the relay (`vigil-server`) and
//! the administrator's tool (`vigil-keytool`) all need from the operating system, so that none
//! of them depends on another: the wall clock ([`now`]), passphrase sources ([`passphrase`]),
//! private files written atomically ([`fs`]), and JSON string literals for what programs read
//! ([`json`]).

pub mod error;
pub mod fs;
pub mod json;
pub mod passphrase;

pub use error::Error;
use vigil_protocol::UnixTime;

/// The current time from the system clock, in whole seconds (0 if the clock is set before
/// 1970). The protocol and the client engine never read the clock themselves: their callers
/// pass this, or a simulated time in tests.
#[must_use]
pub fn now() -> UnixTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime(secs)
}
