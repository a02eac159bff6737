//! `vigil-keytool`: parse the command line, run the command, exit 0, 1 or 2.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = vigil_keytool::cli::Cli::parse();
    let format = cli.error_format;
    let mut stdout = std::io::stdout().lock();
    match vigil_keytool::run(cli, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            #[expect(
                clippy::print_stderr,
                reason = "the one line an error gets, as the contract says"
            )]
            {
                eprintln!("{}", error.report(format));
            }
            ExitCode::from(error.exit_code())
        }
    }
}
