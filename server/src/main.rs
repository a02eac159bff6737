//! `vigil-relay`: the relay an organisation runs.
//!
//! This build carries the protocol core only; the relay arrives with its issue. Until then it
//! refuses to start and says so.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Vigil relay: authenticates members and stores and forwards ciphertext over QUIC.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// The relay configuration written by `vigil-keytool relay init`.
    ///
    /// Example: vigil-relay --config /etc/vigil/relay/relay.toml
    #[arg(long, value_name = "RELAYDIR/relay.toml")]
    config: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    #[expect(
        clippy::print_stderr,
        reason = "the one message this command exists to give"
    )]
    {
        eprintln!(
            "vigil-relay: the relay is not implemented in this build yet; nothing was started \
             (config {} was not read).",
            cli.config.display()
        );
    }
    ExitCode::from(2)
}
