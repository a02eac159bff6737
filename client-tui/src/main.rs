//! `vigil`: the duty officer's terminal client and its headless commands.

use std::process::ExitCode;

use clap::Parser as _;
use vigil_tui::cli::{Cli, Stderr, run};

#[expect(clippy::print_stderr, reason = "a command-line front end")]
fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.error_format;
    // Not locked: the TUI writes to the terminal from its own task.
    let mut stdout = std::io::stdout();
    match run(cli, &mut stdout, &mut Stderr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", error.report(format));
            ExitCode::from(error.exit_code())
        }
    }
}
