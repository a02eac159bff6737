//! The `vigil` command line: the headless commands scripts, bots and tests use. They drive the
//! same engine and client as the TUI.
//!
//! Exit codes: 0 ok, 1 refused by policy or verification, 2 usage or I/O error. Errors are one
//! line on stderr naming what was wrong and what to do ([`CliError`]).
//!
//! [`run`] resolves the home directory, starts the log ([`crate::log`]) and the runtime, and
//! hands the command to its module: [`setup`] (`request`, `enroll`), [`session`] (connecting
//! around every command that works on a store), then [`channel`], [`governance`],
//! [`messages`] and [`verify`], one function per command.

mod args;
mod channel;
mod error;
mod governance;
mod messages;
mod session;
mod setup;
mod verify;
mod wait;

use std::io::{IsTerminal as _, Write};

use vigil_client::client::Client;
use vigil_client::sanitize::line;
use vigil_common::passphrase::Source;
use vigil_protocol::UserId;

pub use args::{ChannelCommand, Cli, Command, ErrorFormat};
pub use error::{CliError, UsageError};

/// Environment variable overriding the relay address of the bundle.
pub const RELAY_ENV: &str = "VIGIL_RELAY";

/// What a command prints besides its result: notes for the human on stderr.
pub trait Notes {
    /// Adds a note, e.g. "offline: the message is queued".
    fn note(&mut self, line: &str);
}

/// Notes to the process's stderr.
#[derive(Debug)]
pub struct Stderr;

impl Notes for Stderr {
    #[expect(clippy::print_stderr, reason = "notes for the human at the terminal")]
    fn note(&mut self, note: &str) {
        // Notes quote reasons and names that came from other members or the relay.
        eprintln!("vigil: {}", line(note));
    }
}

/// What every command starts from: the home directory, where the passphrase comes from, and
/// the relay address that overrides the bundle's.
struct Context {
    home: std::path::PathBuf,
    pass: Source,
    relay: Option<String>,
}

impl Context {
    /// Opens the member's store and makes a client over it; while another `vigil` uses this
    /// home, waits for it ([`wait::open_engine`]).
    fn open_client(
        &self,
        relay: Option<String>,
        notes: &mut dyn Notes,
    ) -> Result<Client, CliError> {
        let passphrase = self.pass.existing("your Vigil store")?;
        let engine = wait::open_engine(&self.home, &passphrase, notes)?;
        drop(passphrase);
        let mut client = Client::new(engine);
        client.set_relay_address(relay);
        Ok(client)
    }
}

/// Runs a command, or the TUI when none is given. Starts the log in the home directory when
/// it is a member's (not for `demo`).
///
/// # Errors
///
/// [`CliError`], whose [`CliError::exit_code`] the process exits with.
pub fn run(cli: Cli, out: &mut dyn Write, notes: &mut dyn Notes) -> Result<(), CliError> {
    let home = vigil_client::home::resolve(cli.home.as_deref())?;
    // The demo's members live in a temporary directory and its relay runs in this process:
    // none of that belongs in the log of the member whose home this is.
    if !matches!(cli.command, Some(Command::Demo)) {
        crate::log::start(&home);
    }
    let context = Context {
        home,
        pass: Source {
            file: cli.passphrase_file,
        },
        relay: cli
            .relay
            .or_else(|| std::env::var(RELAY_ENV).ok().filter(|v| !v.is_empty())),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let result = match cli.command {
        None => runtime.block_on(tui(&context)),
        Some(Command::Demo) => runtime
            .block_on(crate::demo::run(out, std::io::stdout().is_terminal()))
            .map_err(CliError::from),
        Some(Command::Request {
            user,
            name,
            out: file,
        }) => setup::request(&context, &user, &name, &file, out),
        Some(Command::Enroll {
            bundle,
            bundle_passphrase_file,
        }) => runtime.block_on(setup::enroll(
            &context,
            &bundle,
            bundle_passphrase_file.as_deref(),
            cli.offline,
            out,
            notes,
        )),
        Some(command) => context
            .open_client(context.relay.clone(), notes)
            .and_then(|client| {
                runtime.block_on(session::networked(client, cli.offline, command, out, notes))
            }),
    };
    // Tasks still waiting for a relay that stopped answering are not waited for: whatever they
    // would send is in the sealed outbox.
    runtime.shutdown_timeout(crate::tui::SHUTDOWN_GRACE);
    if let Err(e) = &result {
        // The message can name contacts; the log is not sealed, so only on request.
        tracing::info!(code = e.exit_code(), "command failed");
        tracing::debug!(error = %e, "command failed");
    }
    result
}

/// `vigil` without a command: the TUI, with the settings of `config.toml`.
async fn tui(context: &Context) -> Result<(), CliError> {
    let config = match crate::config::default_path() {
        Some(path) => crate::config::Config::load(&path)?,
        None => crate::config::Config::default(),
    };
    if !std::io::stdout().is_terminal() {
        return Err(UsageError::NoTerminal.into());
    }
    let client =
        context.open_client(context.relay.clone().or(config.relay.clone()), &mut Stderr)?;
    Ok(crate::tui::run(client, &config).await?)
}

/// The user id `given` on the command line.
fn parse_user(given: &str) -> Result<UserId, UsageError> {
    UserId::new(given).map_err(|why| UsageError::User {
        given: given.to_owned(),
        why,
    })
}

/// Every user id in `given`.
fn parse_users(given: &[String]) -> Result<Vec<UserId>, UsageError> {
    given.iter().map(|u| parse_user(u)).collect()
}
