//! The `vigil-relay` command line, in the library so completions and the man page are
//! generated from the same definition (`packaging/`).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Vigil relay: authenticates members and stores and forwards ciphertext over QUIC.
///
/// Logs go to standard error; set RUST_LOG (e.g. RUST_LOG=debug) for more. SIGINT or SIGTERM
/// shuts down gracefully; SIGHUP re-reads roots/ and revocations/. Under systemd
/// (Type=notify) the relay reports readiness, reloads and shutdown. Exit codes: 0 ok, 2
/// configuration or I/O error.
#[derive(Debug, Parser)]
#[command(name = "vigil-relay", version, about, long_about)]
pub struct Cli {
    /// The relay configuration written by `vigil-keytool relay init`.
    ///
    /// Example: vigil-relay --config /srv/vigil/relay/relay.toml
    #[arg(long, global = true, value_name = "RELAYDIR/relay.toml")]
    pub config: Option<PathBuf>,

    /// Check the configuration, certificate, key, roots and revocation lists, then exit.
    #[arg(long)]
    pub check_config: bool,

    /// How log lines are written: plain text, or one JSON object per line for log shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Plain text (colours only at a terminal; no timestamps under journald, which adds its own).
    Text,
    /// One JSON object per line.
    Json,
}

/// What else the binary does besides running the relay.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Back up the data directory into a new directory, consistently, while the relay runs.
    ///
    /// Mailbox writes pause for the copy. Restore: stop the relay, move its data directory
    /// aside, move the backup in its place, start it (docs/operations.md, Backups).
    ///
    /// Example: vigil-relay --config /srv/vigil/relay/relay.toml backup --to /var/backups/vigil/2026-11-29
    Backup {
        /// A new (or empty) directory for the backup.
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
    },
}
