//! Why a command failed, as one line for stderr, and the exit code each reason maps to: 1 when
//! policy or verification refused, 2 for usage and I/O errors (the engine's, the client's and
//! the request's own errors say which they are).

use std::path::PathBuf;

use vigil_client::client::ClientError;
use vigil_client::engine::EngineError;
use vigil_client::home::NoHome;
use vigil_client::request::RequestError;
use vigil_protocol::IdError;
use vigil_protocol::label::LabelError;

use super::args::ErrorFormat;
use crate::config::ConfigError;
use crate::demo::DemoError;
use crate::tui::TuiError;

/// A command's failure.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line asks for something that cannot be done as asked.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// Neither `--home` nor the environment names a home directory.
    #[error(transparent)]
    NoHome(#[from] NoHome),
    /// The TUI's settings file is unreadable or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The engine refused (exit code 1) or failed (2).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The client, the relay or the connection refused (1) or failed (2).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `vigil request` wrote nothing.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A file could not be read or written, or no usable passphrase was given.
    #[error(transparent)]
    Files(#[from] vigil_common::Error),
    /// The TUI could not run.
    #[error(transparent)]
    Tui(#[from] TuiError),
    /// `vigil demo` could not set itself up.
    #[error(transparent)]
    Demo(Box<DemoError>),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// `vigil send` without TEXT could not read standard input.
    #[error("cannot read standard input: {0}")]
    Input(std::io::Error),
    /// The bundle's passphrase could not be read from the terminal.
    #[error("cannot read the passphrase: {0}")]
    Passphrase(std::io::Error),
    /// Standard output could not be written (a closed pipe, a full disk).
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
    /// The network task of `read --follow` panicked or was cancelled.
    #[error("the network worker failed: {0}")]
    Worker(tokio::task::JoinError),
}

impl CliError {
    /// A stable name of this error, in snake_case, for programs that act on it (`vigil --error-format json`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Usage(e) => e.kind(),
            Self::NoHome(..) => "no_home",
            Self::Config(..) => "config",
            Self::Engine(e) => e.kind(),
            Self::Client(e) => e.kind(),
            Self::Request(e) => e.kind(),
            Self::Files(e) => e.kind(),
            Self::Tui(..) => "tui",
            Self::Demo(..) => "demo",
            Self::Runtime(..) => "runtime",
            Self::Input(..) => "input",
            Self::Passphrase(..) => "passphrase",
            Self::Output(..) => "output",
            Self::Worker(..) => "worker",
        }
    }

    /// The process exit code: 1 refused by policy or verification, 2 usage or I/O.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Engine(e) => e.exit_code(),
            Self::Client(e) => e.exit_code(),
            Self::Request(e) => e.exit_code(),
            Self::Usage(_)
            | Self::NoHome(_)
            | Self::Config(_)
            | Self::Files(_)
            | Self::Tui(_)
            | Self::Demo(_)
            | Self::Runtime(_)
            | Self::Input(_)
            | Self::Passphrase(_)
            | Self::Output(_)
            | Self::Worker(_) => 2,
        }
    }
}

/// An argument that is malformed, or a command that cannot run in this situation (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// `vigil` without a command, with standard output not a terminal.
    #[error("the TUI needs a terminal; for scripts use the headless commands (see --help)")]
    NoTerminal,
    /// `vigil enroll` with no passphrase file and no terminal to prompt on.
    #[error(
        "no bundle passphrase: standard input is not a terminal; use --bundle-passphrase-file \
         FILE"
    )]
    NoBundlePassphrase,
    /// `vigil enroll` into a home that already holds a store.
    #[error(
        "{} already holds an enrolled Vigil store; use another --home for another member",
        .0.display()
    )]
    AlreadyEnrolled(PathBuf),
    /// `read --follow --offline`.
    #[error("--follow needs the relay; drop --offline")]
    FollowOffline,
    /// `channel invite` while offline.
    #[error(
        "cannot invite while the relay is unreachable: the invitee's certificate and keys come \
         from it; try again when it is back"
    )]
    InviteOffline,
    /// `channel renew` while offline.
    #[error(
        "cannot renew while the relay is unreachable: the member's current certificate comes \
         from it; try again when it is back"
    )]
    RenewOffline,
    /// A user given as an argument is not a user id.
    #[error("{given:?}: {why}")]
    User {
        /// What was typed.
        given: String,
        /// What is wrong with it.
        why: IdError,
    },
    /// An option's value is not a valid id or text (`--user`, `--name`).
    #[error("{option}: {why}")]
    Option {
        /// The option, e.g. `--user`.
        option: &'static str,
        /// What is wrong with its value.
        why: IdError,
    },
    /// A command that needs no store reached the code that runs commands on one (a bug).
    #[error("not a networked command")]
    NotNetworked,
    /// `channel relabel` to the label the channel has.
    #[error("the channel is labelled {0} already; nothing changed")]
    SameLabel(String),
    /// `channel create` with a label the policy does not accept.
    #[error(transparent)]
    Label(#[from] LabelError),
}

impl UsageError {
    /// A stable name of this error, in snake_case, for programs that act on it (`vigil --error-format json`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoTerminal => "no_terminal",
            Self::NoBundlePassphrase => "no_bundle_passphrase",
            Self::AlreadyEnrolled(..) => "already_enrolled",
            Self::FollowOffline => "follow_offline",
            Self::InviteOffline => "invite_offline",
            Self::RenewOffline => "renew_offline",
            Self::User { .. } => "user",
            Self::Option { .. } => "option",
            Self::NotNetworked => "not_networked",
            Self::Label(..) => "label",
            Self::SameLabel(..) => "same_label",
        }
    }
}

impl From<DemoError> for CliError {
    fn from(e: DemoError) -> Self {
        Self::Demo(Box::new(e))
    }
}

impl CliError {
    /// The line `vigil` prints on standard error for this failure, in `format`. The reason can
    /// quote a name or a reason another member chose: it is sanitised here, and escaped in
    /// JSON.
    #[must_use]
    pub fn report(&self, format: ErrorFormat) -> String {
        let reason = vigil_client::sanitize::line(&self.to_string()).into_owned();
        match format {
            ErrorFormat::Text => format!("vigil: {reason}"),
            ErrorFormat::Json => format!(
                "{{\"error\":{},\"code\":{},\"message\":{}}}",
                vigil_common::json::string(self.kind()),
                self.exit_code(),
                vigil_common::json::string(&reason)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_and_io_errors_exit_with_2() {
        assert_eq!(CliError::from(UsageError::FollowOffline).exit_code(), 2);
        assert_eq!(CliError::from(NoHome).exit_code(), 2);
        let io = std::io::Error::other("closed");
        assert_eq!(CliError::Output(io).exit_code(), 2);
    }

    #[test]
    fn a_failure_is_one_line_of_text_or_one_json_object_naming_its_kind() {
        let hostile = "ops\u{1b}]0;pwned\u{7}\"\n";
        let error = CliError::from(EngineError::NoChannelNamed(hostile.to_owned()));
        let text = error.report(ErrorFormat::Text);
        assert!(text.starts_with("vigil: "), "{text}");
        assert!(!text.contains('\u{1b}') && !text.contains('\n'), "{text:?}");
        let json = error.report(ErrorFormat::Json);
        assert!(
            json.starts_with(r#"{"error":"no_channel_named","code":2,"message":""#),
            "{json}"
        );
        assert!(!json.contains('\u{1b}') && !json.contains('\n'), "{json:?}");
        let refused = CliError::from(UsageError::InviteOffline);
        assert!(
            refused
                .report(ErrorFormat::Json)
                .starts_with(r#"{"error":"invite_offline","code":2,"#)
        );
    }
}
