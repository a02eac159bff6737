//! Why a client operation failed: the engine's refusals and failures, the connection's, and
//! the relay's refusals, with one exit code mapping.
//!
//! # Security
//!
//! The relay writes the message of its refusals: it is shown through
//! [`crate::sanitize::line`].

use vigil_protocol::UserId;
use vigil_protocol::relay::{ErrorCode, RelayError};

use crate::engine::EngineError;
use crate::sanitize::line;
use crate::transport::TransportError;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The relay cannot be reached or the connection broke.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The relay refused a request.
    #[error("the relay refused: {}", line(&.0.message))]
    Relay(RelayError),
    /// The relay refused our login (e.g. a revoked or expired certificate).
    #[error("the relay refused the login: {}", line(&.0.message))]
    LoginRefused(RelayError),
    /// The member to invite or renew has no certificate at the relay.
    #[error("{0} is not known to the relay: they must enroll (`vigil enroll`) first")]
    UnknownUser(UserId),
    /// The action needs the relay, which cannot be reached now.
    #[error("cannot {action} while the relay is unreachable; try again when it is back")]
    Offline {
        /// What was asked, as a verb (`invite`).
        action: &'static str,
    },
    /// The network worker is gone (it stopped or failed), so it answers nothing more.
    #[error("the network worker has stopped")]
    WorkerStopped,
}

impl ClientError {
    /// A stable name of this error, in snake_case, for programs that act on it (`vigil --error-format json`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Engine(e) => e.kind(),
            Self::Transport(..) => "transport",
            Self::Relay(..) => "relay",
            Self::LoginRefused(e) => match e.code {
                ErrorCode::CertificateInUse => "certificate_in_use",
                ErrorCode::OtherDeviceEnrolled => "other_device_enrolled",
                _ => "login_refused",
            },
            Self::UnknownUser(..) => "unknown_user",
            Self::Offline { .. } => "offline",
            Self::WorkerStopped => "worker_stopped",
        }
    }

    /// The process exit code: 1 refused by policy or verification, 2 usage or I/O.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Engine(e) => e.exit_code(),
            Self::Relay(e)
                if matches!(
                    e.code,
                    ErrorCode::InsufficientClearance
                        | ErrorCode::RevokedRecipient
                        | ErrorCode::LoginRefused
                ) =>
            {
                1
            }
            Self::LoginRefused(_) => 1,
            Self::Transport(_)
            | Self::Relay(_)
            | Self::UnknownUser(_)
            | Self::Offline { .. }
            | Self::WorkerStopped => 2,
        }
    }
}
