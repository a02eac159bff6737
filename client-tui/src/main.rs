//! `vigil`: the duty officer's terminal client.
//!
//! This build carries the protocol core only; the client engine, the TUI and the headless
//! commands arrive with their issues. Until then every command says plainly what is missing.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vigil: end-to-end encrypted messaging for CSIRTs.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole system locally: a demo organisation, a relay on loopback, colleagues
    /// posting, and the TUI open as a duty officer.
    ///
    /// Example: cargo run --release --bin vigil -- demo
    Demo,
}

const NOT_READY: &str = "\
vigil: this build cannot run the demo yet.

What is ready: the protocol core (vigil-protocol): member certificates and revocation, the
X3DH handshake, the Double Ratchet, safety numbers and the wire codec, with their tests
(cargo test --workspace --locked) and benchmarks (cargo bench -p vigil-protocol).

Not ready yet: vigil-keytool (provisioning), vigil-relay (the QUIC relay), the client engine
and store, the TUI, and so the demo. Nothing was started and nothing was written.";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Demo) | None => {
            #[expect(
                clippy::print_stderr,
                reason = "the one message this command exists to give"
            )]
            {
                eprintln!("{NOT_READY}");
            }
            ExitCode::from(2)
        }
    }
}
