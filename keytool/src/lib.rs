//! `vigil-keytool`: the administrator's tool for an organisation's trust. The binary parses
//! arguments and calls [`run`]; every command lives in [`commands`].

pub mod cli;
pub mod commands;
pub mod error;
pub mod orgdir;
pub mod report;
pub mod token;

use std::io::Write;

pub use error::{Error, Result};
pub use report::ErrorFormat;

/// Runs `vigil-keytool ARGS` in this process with the org root passphrase read from
/// `passphrase_file`, as a program embedding the tool would (the demo, the test fixtures).
/// Returns what the command printed.
///
/// # Errors
///
/// [`Error::CommandLine`] for arguments the command line refuses, else the command's [`Error`].
pub fn run_args(passphrase_file: &std::path::Path, args: &[&str]) -> Result<String> {
    let mut argv = vec![
        "vigil-keytool".to_owned(),
        "--passphrase-file".to_owned(),
        passphrase_file.to_string_lossy().into_owned(),
    ];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    let cli = <cli::Cli as clap::Parser>::try_parse_from(argv)?;
    let mut out = Vec::new();
    run(cli, &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Runs one command, writing what the administrator should read to `out`.
///
/// # Errors
///
/// [`Error`], whose [`Error::exit_code`] the binary exits with.
pub fn run(cli: cli::Cli, out: &mut dyn Write) -> Result<()> {
    use cli::{Command, OrgCommand, RelayCommand};
    let pass = vigil_common::passphrase::Source {
        file: cli.passphrase_file,
    };
    match cli.command {
        Command::Org(OrgCommand::Init {
            org,
            country,
            dir,
            pkcs11_module,
            token,
            key_label,
        }) => {
            let token = pkcs11_module
                .zip(token)
                .map(|(module, token)| token::TokenRecord {
                    module,
                    key: key_label.unwrap_or_else(|| format!("vigil-root-{org}")),
                    token,
                });
            commands::org::init(&org, country.as_deref(), &dir, token, &pass, out)
        }
        Command::Org(OrgCommand::Rotate { org_dir }) => {
            commands::rotate::rotate(&org_dir, &pass, out)
        }
        Command::Relay(RelayCommand::Init {
            org_dir,
            host,
            listen,
            out: dir,
        }) => commands::relay::init(&org_dir, &host, &listen, &dir, out),
        Command::Relay(RelayCommand::Use {
            org_dir,
            config,
            address,
            host,
            pin,
        }) => {
            commands::relay::use_relay(&org_dir, config.as_deref(), address.zip(host).zip(pin), out)
        }
        Command::Issue(args) => commands::issue::issue(&args, &pass, out),
        Command::SignRequest(args) => commands::issue::sign_request(&args, &pass, out),
        Command::Revoke(args) => commands::revoke::revoke(&args, &pass, out),
        Command::Trust(command) => trust(command, &pass, out),
        Command::Inspect(args) => commands::inspect::inspect(&args, &pass, out),
        Command::Members(cli::MembersCommand::List { org_dir, all }) => {
            commands::members::list(&org_dir, all, out)
        }
    }
}

/// Runs a `trust` subcommand.
fn trust(
    command: cli::TrustCommand,
    pass: &vigil_common::passphrase::Source,
    out: &mut dyn Write,
) -> Result<()> {
    use cli::TrustCommand;
    match command {
        TrustCommand::Add {
            org_dir,
            partner,
            fingerprint,
            max_clearance,
            roles,
        } => {
            let limits = commands::trust::LimitArgs {
                max_clearance,
                roles,
            };
            let fingerprint = fingerprint.as_deref();
            commands::trust::add(&org_dir, &partner, fingerprint, &limits, pass, out)
        }
        TrustCommand::Remove { org_dir, partner } => {
            commands::partner_change::remove(&org_dir, &partner, pass, out)
        }
        TrustCommand::Rotate {
            org_dir,
            partner,
            fingerprint,
        } => {
            commands::partner_change::rotate(&org_dir, &partner, fingerprint.as_deref(), pass, out)
        }
        TrustCommand::List { org_dir } => commands::trust::list(&org_dir, out),
    }
}

/// Writes a line of output; a closed stdout is not worth failing a finished command for.
pub(crate) fn say(out: &mut dyn Write, text: impl std::fmt::Display) {
    let _ = writeln!(out, "{text}");
}
