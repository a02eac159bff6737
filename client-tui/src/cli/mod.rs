//! The `vigil` command line: the headless commands scripts, bots and tests use. They drive the
//! same engine and client as the TUI.
//!
//! Exit codes: 0 ok, 1 refused by policy or verification, 2 usage or I/O error. Errors are one
//! line on stderr naming what was wrong and what to do.

mod governance;

use std::io::{IsTerminal as _, Read as _, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use vigil_common::passphrase::Source;
use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;

use crate::export::{self, Format};
use vigil_client::client::{Client, ClientError};
use vigil_client::engine::{Engine, EngineError, Entry, Event, Place};
use vigil_client::history::{Marks, all_history, mark};
use vigil_client::sanitize::line;
use vigil_common::now;

/// Vigil: end-to-end encrypted messaging for CSIRTs.
///
/// Exit codes: 0 ok, 1 refused by policy or verification, 2 usage or I/O error.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about)]
pub struct Cli {
    /// Home directory for keys and history (default: VIGIL_HOME, else the XDG data directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Read the passphrase of your local keys from the first line of FILE (else
    /// VIGIL_PASSPHRASE, else a prompt).
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// Connect to the relay at HOST:PORT instead of the address in your enrollment bundle
    /// (else VIGIL_RELAY). The relay is still recognised by its pin.
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub relay: Option<String>,

    /// Do not contact the relay: work on the local store only. Messages sent are queued and
    /// go out the next time vigil runs without --offline.
    #[arg(long, global = true)]
    pub offline: bool,

    /// What to do (without one: the TUI).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole system locally: a demo organisation, a relay on loopback, colleagues
    /// posting, and the TUI open as a duty officer.
    ///
    /// Example: cargo run --release --bin vigil -- demo
    Demo,
    /// Set up this device from the enrollment bundle your administrator gave you: creates your
    /// sealed local store (under a new passphrase) and publishes your certificate and prekeys
    /// to the relay. Once per device.
    ///
    /// Example: vigil enroll officer1.bundle
    Enroll {
        /// The bundle file (`vigil-keytool issue ... --out BUNDLE`).
        bundle: PathBuf,
        /// Read the bundle's one-time passphrase from the first line of FILE (else a prompt).
        #[arg(long, value_name = "FILE")]
        bundle_passphrase_file: Option<PathBuf>,
    },
    /// Create, invite to, remove from, and list channels.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Send a message to a channel: TEXT, or standard input when TEXT is not given. Typed
    /// while the relay is unreachable, it is queued and sent the next time vigil connects.
    ///
    /// Example: echo "IOC: 198.51.100.23" | vigil send incident-42
    Send {
        /// The channel (its name, or the start of its id).
        channel: String,
        /// The message.
        text: Option<String>,
    },
    /// Print a channel's messages, oldest first, between its label banners.
    ///
    /// Example: vigil read incident-42 --follow --json
    Read {
        /// The channel.
        channel: String,
        /// Keep running and print new messages as they arrive (Ctrl-C to stop).
        #[arg(long)]
        follow: bool,
        /// One JSON object per line instead of text (no banners).
        #[arg(long)]
        json: bool,
        /// Only the newest N messages.
        #[arg(long, value_name = "N")]
        last: Option<usize>,
    },
    /// Show the safety number you share with a contact; with --number, mark them verified
    /// when the number they read out to you matches.
    ///
    /// Example: vigil verify officer2@cert-cz --number "12345 67890 ..."
    Verify {
        /// The contact.
        user: String,
        /// The safety number your contact read out (spaces optional).
        #[arg(long, value_name = "DIGITS")]
        number: Option<String>,
    },
    /// Export a channel's history to a labelled file (refused for TLP:RED).
    ///
    /// Example: vigil export incident-42 --out incident-42.md
    Export {
        /// The channel.
        channel: String,
        /// The file to write (refuses to overwrite).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The format.
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
    },
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

/// `vigil channel ...`.
#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Create a channel with you as its owner. The label is mandatory: TLP and level.
    ///
    /// Example: vigil channel create incident-42 --tlp TLP:AMBER --level "EU RESTRICTED"
    Create {
        /// The channel's name.
        name: String,
        /// TLP 2.0: TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT or TLP:RED.
        #[arg(long, value_name = "TLP")]
        tlp: String,
        /// Classification level, e.g. UNCLASSIFIED, "EU RESTRICTED" (or a national
        /// equivalent).
        #[arg(long, value_name = "LEVEL")]
        level: String,
        /// A caveat or handling instruction, e.g. "REL TO AT,CZ" (repeatable).
        #[arg(long, value_name = "TEXT")]
        caveat: Vec<String>,
    },
    /// Invite a member: their clearance, organisation and the label's rules are checked first.
    ///
    /// Example: vigil channel invite incident-42 officer2@cert-cz
    Invite {
        /// The channel.
        channel: String,
        /// The member, NAME@ORG.
        user: String,
    },
    /// Remove members (one change, new keys for everyone else; they read nothing sent
    /// after). Members whose certificates are revoked or expired are removed with them.
    /// Removing the owner is an admin's takeover, allowed once the owner's certificate is
    /// revoked or expired.
    ///
    /// Example: vigil channel remove incident-42 officer2@cert-cz --reason "left the team"
    Remove {
        /// The channel.
        channel: String,
        /// The members.
        #[arg(required = true)]
        users: Vec<String>,
        /// Why (shown to every member).
        #[arg(long, default_value = "removed by the owner")]
        reason: String,
    },
    /// Name the channel's admins (owner only): they may invite, remove, raise the label, renew
    /// certificates, and take the channel over if the owner's certificate is revoked. No
    /// members: no admins.
    ///
    /// Example: vigil channel admins incident-42 deputy@cert-at officer1@cert-cz
    Admins {
        /// The channel.
        channel: String,
        /// The admins (members of the channel).
        users: Vec<String>,
    },
    /// Hand ownership of a channel to another member (owner only; shown to every member).
    ///
    /// Example: vigil channel transfer incident-42 deputy@cert-at
    Transfer {
        /// The channel.
        channel: String,
        /// The new owner.
        user: String,
    },
    /// Replace a member's certificate in the channel by their current one from the relay
    /// (after their administrator renewed it), without them leaving. New keys for everyone
    /// when their identity key changed.
    ///
    /// Example: vigil channel renew incident-42 officer2@cert-cz
    Renew {
        /// The channel.
        channel: String,
        /// The member.
        user: String,
    },
    /// The channel's verified history of changes, from its creation: who changed what, when,
    /// in which epoch (compare it with other members when the client reports a fork).
    History {
        /// The channel.
        channel: String,
    },
    /// List your channels with their labels and members.
    List,
}

/// Environment variable overriding the relay address of the bundle.
pub const RELAY_ENV: &str = "VIGIL_RELAY";

/// A command's failure: the message and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// One line for stderr.
    pub message: String,
    /// 1 refused by policy or verification, 2 usage or I/O.
    pub code: u8,
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Self {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        ClientError::from(e).into()
    }
}

impl From<vigil_common::Error> for Failure {
    fn from(e: vigil_common::Error) -> Self {
        usage(e.to_string())
    }
}

impl From<vigil_client::request::RequestError> for Failure {
    fn from(e: vigil_client::request::RequestError) -> Self {
        Self {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        code: 2,
    }
}

fn io(e: std::io::Error) -> Failure {
    usage(format!("cannot write output: {e}"))
}

/// What a command prints besides its result: notes for the human on stderr.
pub trait Notes {
    /// A note (e.g. "offline: the message is queued").
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

/// Runs a headless command (not the TUI, not the demo).
///
/// # Errors
///
/// [`Failure`] with its exit code.
pub fn run(cli: Cli, out: &mut dyn Write, notes: &mut dyn Notes) -> Result<(), Failure> {
    let home =
        vigil_client::home::resolve(cli.home.as_deref()).map_err(|e| usage(e.to_string()))?;
    let pass = Source {
        file: cli.passphrase_file,
    };
    let relay = cli
        .relay
        .or_else(|| std::env::var(RELAY_ENV).ok().filter(|v| !v.is_empty()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the runtime: {e}")))?;
    let Some(command) = cli.command else {
        let config = match crate::config::default_path() {
            Some(path) => crate::config::Config::load(&path).map_err(usage)?,
            None => crate::config::Config::default(),
        };
        if !std::io::stdout().is_terminal() {
            return Err(usage(
                "the TUI needs a terminal; for scripts use the headless commands (see --help)",
            ));
        }
        let passphrase = pass.existing("your Vigil store")?;
        let engine = Engine::open(&home, &passphrase)?;
        drop(passphrase);
        let mut client = Client::new(engine);
        client.set_relay_address(relay.or(config.relay.clone()));
        return runtime
            .block_on(crate::tui::run(client, &config))
            .map_err(usage);
    };
    match command {
        Command::Demo => runtime
            .block_on(crate::demo::run(out, std::io::stdout().is_terminal()))
            .map_err(usage),
        Command::Request {
            user,
            name,
            out: file,
        } => {
            let user = UserId::new(&user).map_err(|e| usage(format!("--user: {e}")))?;
            let name =
                vigil_protocol::Text::new(&name).map_err(|e| usage(format!("--name: {e}")))?;
            let done = vigil_client::request::request(&home, user, name, &file, &pass, now())?;
            writeln!(out, "Wrote certificate request {}", file.display()).map_err(io)?;
            writeln!(out, "Your identity key fingerprint: {}", done.fingerprint).map_err(io)?;
            writeln!(
                out,
                "Give the request to your administrator and read them the fingerprint; your \
                 keys stay sealed in {}.",
                done.pending.display()
            )
            .map_err(io)?;
            Ok(())
        }
        Command::Enroll {
            bundle,
            bundle_passphrase_file,
        } => runtime.block_on(enroll(
            &home,
            &bundle,
            bundle_passphrase_file.as_deref(),
            &pass,
            relay,
            out,
            notes,
        )),
        other => {
            let passphrase = pass.existing("your Vigil store")?;
            let engine = Engine::open(&home, &passphrase)?;
            drop(passphrase);
            let mut client = Client::new(engine);
            client.set_relay_address(relay);
            runtime.block_on(networked(client, cli.offline, other, out, notes))
        }
    }
}

fn bundle_passphrase(file: Option<&Path>) -> Result<zeroize::Zeroizing<String>, Failure> {
    if let Some(path) = file {
        let text = zeroize::Zeroizing::new(vigil_common::fs::read_text(path)?);
        return Ok(zeroize::Zeroizing::new(
            text.lines().next().unwrap_or_default().to_owned(),
        ));
    }
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            "no bundle passphrase: standard input is not a terminal; use \
             --bundle-passphrase-file FILE",
        ));
    }
    rpassword::prompt_password("One-time passphrase of the bundle: ")
        .map(zeroize::Zeroizing::new)
        .map_err(|e| usage(format!("cannot read the passphrase: {e}")))
}

async fn enroll(
    home: &Path,
    bundle: &Path,
    bundle_pass: Option<&Path>,
    pass: &Source,
    relay: Option<String>,
    out: &mut dyn Write,
    notes: &mut dyn Notes,
) -> Result<(), Failure> {
    let contents = vigil_client::engine::open_bundle(bundle, &bundle_passphrase(bundle_pass)?)?;
    if home.join("store-key.vigil").exists() {
        return Err(usage(format!(
            "{} already holds an enrolled Vigil store; use another --home for another member",
            home.display()
        )));
    }
    let passphrase = pass.new_passphrase("your Vigil store on this device")?;
    let engine = Engine::enroll(home, contents, &passphrase, now())?;
    drop(passphrase);
    let user = engine.user().clone();
    let fingerprint = engine.certificate().body().identity_key.fingerprint();
    let mut client = Client::new(engine);
    client.set_relay_address(relay);
    writeln!(out, "Enrolled {user} in {}", home.display()).map_err(io)?;
    writeln!(out, "Your identity key fingerprint: {fingerprint}").map_err(io)?;
    match client.connect().await {
        Ok(()) => {
            writeln!(out, "Published your certificate and prekeys to the relay.").map_err(io)?;
        }
        Err(e) => notes.note(&format!(
            "{e}; your prekeys will be published the next time vigil connects"
        )),
    }
    client.close().await;
    Ok(())
}

/// Connects and syncs; offline is a note, not an error, for commands that can work locally.
async fn go_online(client: &mut Client, notes: &mut dyn Notes) -> Result<bool, Failure> {
    match client.connect().await {
        Ok(()) => {}
        Err(e @ ClientError::LoginRefused(_)) => return Err(e.into()),
        Err(e) => {
            notes.note(&format!("offline ({e})"));
            return Ok(false);
        }
    }
    let synced = client.sync().await;
    client.check_waiting()?;
    match synced {
        Ok(()) => Ok(true),
        Err(ClientError::Transport(e)) => {
            notes.note(&format!("offline ({e})"));
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

fn parse_user(user: &str) -> Result<UserId, Failure> {
    UserId::new(user).map_err(|e| usage(format!("{user:?}: {e}")))
}

async fn networked(
    mut client: Client,
    offline: bool,
    command: Command,
    out: &mut dyn Write,
    notes: &mut dyn Notes,
) -> Result<(), Failure> {
    if offline && matches!(command, Command::Read { follow: true, .. }) {
        return Err(usage("--follow needs the relay; drop --offline"));
    }
    let online = !offline && go_online(&mut client, notes).await?;
    let follow_channel = match &command {
        Command::Read {
            channel,
            follow: true,
            json,
            ..
        } => Some((channel.clone(), *json)),
        _ => None,
    };
    let mut result = dispatch(&mut client, online, command, out).await;
    if let (Ok(()), Some((channel, json))) = (&result, follow_channel) {
        let (back, followed) = follow(client, &channel, json, out, notes).await;
        result = followed;
        match back {
            Some(back) => client = back,
            None => return result,
        }
    }
    if client.is_online()
        && let Err(e) = client.flush_outbox().await
    {
        notes.note(&format!("{e}; the rest of the outbox is sent next time"));
    }
    let queued = client.engine().outbox_len().unwrap_or(0);
    if queued > 0 && result.is_ok() {
        notes.note(&format!(
            "{queued} message(s) queued: they are sent the next time vigil reaches the relay"
        ));
    }
    report_warnings(&mut client, notes);
    client.close().await;
    result
}

/// Trust warnings and undecryptable items are never silent.
fn report_warnings(client: &mut Client, notes: &mut dyn Notes) {
    for event in client.take_events() {
        report_warning(&event, notes);
    }
}

fn report_warning(event: &Event, notes: &mut dyn Notes) {
    match event {
        Event::Trust {
            user,
            warning: vigil_client::engine::TrustWarning::KeyChanged,
        } => notes.note(&format!(
            "WARNING: the keys of {user} changed. Compare safety numbers (`vigil verify \
             {user}`) before trusting them."
        )),
        Event::DecryptFailed { sender, reason, .. } => {
            notes.note(&format!(
                "could not decrypt or verify from {sender}: {reason}"
            ));
        }
        _ => {}
    }
}

async fn dispatch(
    client: &mut Client,
    online: bool,
    command: Command,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    match command {
        Command::Channel(ChannelCommand::Create {
            name,
            tlp,
            level,
            caveat,
        }) => {
            let caveats: Vec<&str> = caveat.iter().map(String::as_str).collect();
            let label = Label::new(&tlp, &level, &caveats, ClassificationPolicy::eu())
                .map_err(|e| usage(e.to_string()))?;
            let (id, _) = client.engine_mut().create_channel(&name, label, now())?;
            let summary = client.engine().channel(id)?;
            writeln!(
                out,
                "Created {} [{}] ({})",
                line(&summary.name),
                line(&summary.label.to_string()),
                id.short()
            )
            .map_err(io)?;
            Ok(())
        }
        Command::Channel(ChannelCommand::Invite { channel, user }) => {
            let id = client.engine().find_channel(&channel)?;
            let user = parse_user(&user)?;
            if !online {
                return Err(usage(
                    "cannot invite while the relay is unreachable: the invitee's certificate \
                     and keys come from it; try again when it is back",
                ));
            }
            let who = client.invite(id, &user).await?;
            governance::describe(out, &channel, "Invited", &who)?;
            Ok(())
        }
        Command::Channel(ChannelCommand::Remove {
            channel,
            users,
            reason,
        }) => {
            let id = client.engine().find_channel(&channel)?;
            let users = users
                .iter()
                .map(|u| parse_user(u))
                .collect::<Result<Vec<_>, _>>()?;
            client.engine_mut().remove(id, &users, &reason, now())?;
            let names: Vec<&str> = users.iter().map(UserId::as_str).collect();
            writeln!(
                out,
                "Removed {} from {channel}; new keys for everyone else",
                names.join(", ")
            )
            .map_err(io)?;
            Ok(())
        }
        Command::Channel(
            command @ (ChannelCommand::Admins { .. }
            | ChannelCommand::Transfer { .. }
            | ChannelCommand::Renew { .. }
            | ChannelCommand::History { .. }),
        ) => governance::run(client, online, command, out).await,
        Command::Channel(ChannelCommand::List) => governance::list(client, out),
        Command::Send { channel, text } => {
            let id = client.engine().find_channel(&channel)?;
            let text = match text {
                Some(text) => text,
                None => {
                    let mut text = String::new();
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .map_err(|e| usage(format!("cannot read standard input: {e}")))?;
                    text
                }
            };
            client.engine_mut().send_text(id, &text, now())?;
            Ok(())
        }
        Command::Read {
            channel,
            follow,
            json,
            last,
        } => read(client, &channel, follow, json, last, out).await,
        Command::Verify { user, number } => {
            let user = parse_user(&user)?;
            let (safety, contact) = client.engine().safety_number(&user, now())?;
            match number {
                None => {
                    writeln!(out, "Safety number with {user}:").map_err(io)?;
                    writeln!(out, "{}", safety.display_groups()).map_err(io)?;
                    let state = contact.map_or("unknown", |c| {
                        if c.changed.is_some() {
                            "KEYS CHANGED since first seen: not verified"
                        } else if c.verified {
                            "verified"
                        } else {
                            "not verified"
                        }
                    });
                    writeln!(out, "Status: {state}").map_err(io)?;
                    writeln!(
                        out,
                        "Compare it with {user} in person or by phone; then run `vigil verify \
                         {user} --number \"...\"` with the number they read out."
                    )
                    .map_err(io)?;
                }
                Some(number) => {
                    client.engine().verify(&user, &number, now())?;
                    writeln!(out, "{user} is verified.").map_err(io)?;
                }
            }
            Ok(())
        }
        Command::Export {
            channel,
            out: file,
            format,
        } => {
            let id = client.engine().find_channel(&channel)?;
            let written = export::export(client.engine(), id, format, now())?;
            vigil_common::fs::write_new(&file, written.as_bytes())?;
            writeln!(out, "Exported {channel} to {}", file.display()).map_err(io)?;
            Ok(())
        }
        Command::Demo | Command::Request { .. } | Command::Enroll { .. } => {
            Err(usage("not a networked command"))
        }
    }
}

async fn read(
    client: &mut Client,
    channel: &str,
    follow: bool,
    json: bool,
    last: Option<usize>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let id = client.engine().find_channel(channel)?;
    let summary = client.engine().channel(id)?;
    let entries = all_history(client.engine(), id, last)?;
    let banner = format!("==== {} ====", line(&summary.label.to_string()));
    if !json {
        writeln!(out, "{banner}").map_err(io)?;
        writeln!(
            out,
            "{} ({} members)",
            line(&summary.name),
            summary.members.len()
        )
        .map_err(io)?;
    }
    let mut marks = Marks::new(client.engine());
    for (seq, entry) in &entries {
        print_line(id, *seq, entry, marks.of(&entry.sender), json, out)?;
    }
    let waiting = client.engine().waiting(id);
    if waiting > 0 && !json {
        writeln!(
            out,
            "[{waiting} message(s) waiting for their sender's key; they appear when it arrives]"
        )
        .map_err(io)?;
    }
    if !json && !follow {
        writeln!(out, "{banner}").map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(())
}

/// `read --follow` after the history is printed: the network worker keeps the connection (and
/// reconnects), and new messages of the channel are printed as they arrive, until Ctrl-C.
async fn follow(
    client: Client,
    channel: &str,
    json: bool,
    out: &mut dyn Write,
    notes: &mut dyn Notes,
) -> (Option<Client>, Result<(), Failure>) {
    let id = match client.engine().find_channel(channel) {
        Ok(id) => id,
        Err(e) => return (Some(client), Err(e.into())),
    };
    let me = client.engine().user().clone();
    let banner = client
        .engine()
        .channel(id)
        .map(|c| format!("==== {} ====", line(&c.label.to_string())))
        .unwrap_or_default();
    let (handle, mut events, task) = vigil_client::worker::spawn(client);
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    let mut result = Ok(());
    loop {
        let event = tokio::select! {
            _ = &mut stop => break,
            event = events.recv() => event,
        };
        let Some(event) = event else { break };
        match event {
            Event::Message { place, seq, entry } if place == Place::Channel(id) => {
                let contact = handle.contact(entry.sender.clone()).await.ok().flatten();
                let trust = mark(&me, &entry.sender, contact.as_ref());
                if let Err(e) = print_line(id, seq, &entry, trust, json, out) {
                    result = Err(e);
                    break;
                }
            }
            Event::Connection(vigil_client::engine::Connection::Offline(why)) => {
                notes.note(&format!("offline ({why}); reconnecting"));
            }
            Event::Connection(vigil_client::engine::Connection::Refused(why)) => {
                result = Err(ClientError::LoginRefused(why).into());
                break;
            }
            other => report_warning(&other, notes),
        }
    }
    handle.shutdown().await;
    let client = match task.await {
        Ok(client) => client,
        Err(e) => return (None, Err(usage(format!("the network worker failed: {e}")))),
    };
    if result.is_ok() && !json {
        result = writeln!(out, "{banner}").map_err(io);
    }
    (Some(client), result)
}

fn print_line(
    channel: ChannelId,
    seq: u64,
    entry: &Entry,
    trust: &str,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    if json {
        let (kind, text) = entry.body.kind_and_text();
        let delivery = entry.delivery.as_ref().map_or_else(
            || "null".to_owned(),
            |d| export::json_string(&d.to_string()),
        );
        let channel = export::json_string(&channel.to_string());
        writeln!(
            out,
            "{{\"channel\":{channel},\"seq\":{seq},\"at\":{},\"sender\":{},\"name\":{},\
             \"trust\":{},\"kind\":{},\"text\":{},\"delivery\":{delivery}}}",
            export::json_string(&entry.at.to_string()),
            export::json_string(entry.sender.as_str()),
            export::json_string(&entry.sender_name),
            export::json_string(trust),
            export::json_string(kind),
            export::json_string(text),
        )
        .map_err(io)?;
    } else {
        writeln!(out, "{}", export::text_line(entry, trust)).map_err(io)?;
    }
    out.flush().map_err(io)
}
