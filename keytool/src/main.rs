//! `vigil-keytool`: the administrator's tool for an organisation's keys and certificates.
//!
//! This build carries the protocol core only; provisioning arrives with its issue. Until then
//! the tool refuses every command and says so.

use std::process::ExitCode;

use clap::Parser;

/// Vigil key tool: org root, member certificates, relay certificate, revocation, partner trust.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// The command and its arguments (none is implemented in this build yet).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    #[expect(
        clippy::print_stderr,
        reason = "the one message this command exists to give"
    )]
    {
        eprintln!(
            "vigil-keytool: provisioning is not implemented in this build yet; nothing was \
             written."
        );
    }
    ExitCode::from(2)
}
