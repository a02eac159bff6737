//! `vigil-gen-docs --out DIR`: writes the shell completions and man pages of `vigil`,
//! `vigil-keytool` and `vigil-relay` under DIR (see docs/operations.md for where they go).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Write shell completions (bash, zsh, fish) and man pages for vigil, vigil-keytool and
/// vigil-relay.
///
/// Example: vigil-gen-docs --out target/docs, then copy target/docs/man/man1/*.1 to
/// /usr/local/share/man/man1 and each completion where its shell looks.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// Where to write `completions/{bash,zsh,fish}/` and `man/man1/`.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a command-line front end"
)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    match vigil_packaging::generate(&cli.out) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vigil-gen-docs: {e}");
            ExitCode::from(2)
        }
    }
}
