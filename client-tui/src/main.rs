//! `vigil`: the duty officer's terminal client.
//!
//! This build can write a certificate request; the client engine, the TUI and the other
//! headless commands arrive with their issues, and `vigil demo` says so plainly.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vigil: end-to-end encrypted messaging for CSIRTs.
///
/// Exit codes: 0 ok, 1 refused by policy or verification, 2 usage or I/O error.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// Home directory for keys and history (default: VIGIL_HOME, else the XDG data directory).
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,

    /// Read the passphrase of your local keys from the first line of FILE (else
    /// VIGIL_PASSPHRASE, else a prompt).
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,

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
    /// Generate your keys on this device and write a certificate request for your
    /// administrator (`vigil-keytool sign-request`). The secret keys never leave this device:
    /// they stay in your home directory, sealed under your passphrase.
    ///
    /// Example: vigil request --user officer2@cert-at --name "Jana Nováková" --out officer2.request
    Request {
        /// Your user id, NAME@ORG.
        #[arg(long, value_name = "ID")]
        user: String,
        /// Your name as colleagues see it.
        #[arg(long)]
        name: String,
        /// Where to write the request (give this file to your administrator).
        #[arg(long, value_name = "REQ")]
        out: PathBuf,
    },
}

const NOT_READY: &str = "\
vigil: this build cannot run the demo yet.

What is ready: the protocol core (vigil-protocol: sessions, labelled channels) with its tests
and benchmarks, the administrator's tool (vigil-keytool), the relay (vigil-relay), and
`vigil request` for keys generated on this device.

Not ready yet: the client engine and its store, the TUI, and so the demo. Nothing was started
and nothing was written.";

#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a command-line front end"
)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Demo) | None => {
            eprintln!("{NOT_READY}");
            ExitCode::from(2)
        }
        Some(Command::Request { user, name, out }) => {
            let home = match vigil_client::home::resolve(cli.home.as_deref()) {
                Ok(home) => home,
                Err(e) => {
                    eprintln!("vigil: {e}");
                    return ExitCode::from(2);
                }
            };
            let pass = vigil_keytool::passphrase::Source {
                file: cli.passphrase_file,
            };
            match vigil_client::request::request(
                &home,
                &user,
                &name,
                &out,
                &pass,
                vigil_keytool::now(),
            ) {
                Ok(done) => {
                    println!("Wrote certificate request {}", out.display());
                    println!("Your identity key fingerprint: {}", done.fingerprint);
                    println!(
                        "Give the request to your administrator and read them the fingerprint; \
                         your keys stay sealed in {}.",
                        done.pending.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("vigil: {e}");
                    ExitCode::from(e.exit_code())
                }
            }
        }
    }
}
