//! The command line's grammar (clap): global options, the commands and their arguments, with
//! the help text and an example per command.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::export::Format;

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

    /// How a failure is reported on standard error: `text`, one line `vigil: REASON`; or `json`,
    /// one object `{"error": KIND, "code": EXIT_CODE, "message": REASON}` for scripts and bots,
    /// where KIND is a stable snake_case name of the refusal (e.g. `insufficient_clearance`,
    /// `no_longer_member`, `login_refused`).
    #[arg(long, global = true, value_enum, default_value_t = ErrorFormat::Text)]
    pub error_format: ErrorFormat,

    /// What to do (without one: the TUI).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How `vigil` reports a failure on standard error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ErrorFormat {
    /// One line: `vigil: REASON`.
    #[default]
    Text,
    /// One JSON object with the error's kind, exit code and reason.
    Json,
}

/// What `vigil` does when given a command (without one it opens the TUI).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole system locally: a demo organisation, a relay on loopback, colleagues
    /// posting, and the TUI open as a duty officer.
    ///
    /// Example: cargo run --release --bin vigil -- demo
    Demo,
    /// Set up this device from the enrollment bundle your administrator gave you: creates your
    /// sealed local store (under a new passphrase) and publishes your certificate and prekeys
    /// to the relay (with --offline: does not contact the relay; they are published at the
    /// next connection). A bundle enrols one device: the relay refuses it on any other.
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
        /// The message (else standard input).
        text: Option<String>,
    },
    /// Print a channel's messages, oldest first, between its label banners.
    ///
    /// Example: vigil read incident-42 --follow --json
    Read {
        /// The channel (its name, or the start of its id).
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
        /// The contact, NAME@ORG.
        user: String,
        /// The safety number your contact read out (spaces optional).
        #[arg(long, value_name = "DIGITS")]
        number: Option<String>,
    },
    /// Export a channel's history to a labelled file (refused for TLP:RED).
    ///
    /// Example: vigil export incident-42 --out incident-42.md
    Export {
        /// The channel (its name, or the start of its id).
        channel: String,
        /// The file to write (refuses to overwrite).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The file's format; both carry the channel's label.
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

/// `vigil channel ...`: making channels, changing who is in them and who governs them.
#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Create a channel with you as its owner. The label is mandatory: TLP and level. A name
    /// you already have is refused (channels are named by name or id everywhere).
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
        /// The channel (its name, or the start of its id).
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
        /// The channel (its name, or the start of its id).
        channel: String,
        /// The members to remove, NAME@ORG each.
        #[arg(required = true)]
        users: Vec<String>,
        /// Why (shown to every member).
        #[arg(long, default_value = "removed by the owner")]
        reason: String,
    },
    /// Change the channel's label (a new epoch: new keys for everyone). Raising it is for the
    /// owner and admins, lowering it (anything that does not dominate the old label) for the
    /// owner only; a label that a current member's clearance, organisation (TLP:AMBER+STRICT)
    /// or country (REL TO) would not admit is refused, naming the member: remove them first.
    ///
    /// Example: vigil channel relabel incident-42 --tlp TLP:RED --level "EU RESTRICTED"
    Relabel {
        /// The channel (its name, or the start of its id).
        channel: String,
        /// TLP 2.0, as for `create`.
        #[arg(long, value_name = "TLP")]
        tlp: String,
        /// Classification level, as for `create`.
        #[arg(long, value_name = "LEVEL")]
        level: String,
        /// A caveat or handling instruction (repeatable); the new label has only those given.
        #[arg(long, value_name = "TEXT")]
        caveat: Vec<String>,
    },
    /// Name the channel's admins (owner only): they may invite, remove, raise the label, renew
    /// certificates, and take the channel over if the owner's certificate is revoked. No
    /// members: no admins.
    ///
    /// Example: vigil channel admins incident-42 deputy@cert-at officer1@cert-cz
    Admins {
        /// The channel (its name, or the start of its id).
        channel: String,
        /// The admins (members of the channel).
        users: Vec<String>,
    },
    /// Hand ownership of a channel to another member (owner only; shown to every member).
    ///
    /// Example: vigil channel transfer incident-42 deputy@cert-at
    Transfer {
        /// The channel (its name, or the start of its id).
        channel: String,
        /// The new owner, NAME@ORG (a member of the channel).
        user: String,
    },
    /// Replace a member's certificate in the channel by their current one from the relay
    /// (after their administrator renewed it), without them leaving. New keys for everyone
    /// when their identity key changed.
    ///
    /// Example: vigil channel renew incident-42 officer2@cert-cz
    Renew {
        /// The channel (its name, or the start of its id).
        channel: String,
        /// The member, NAME@ORG.
        user: String,
    },
    /// The channel's verified history of changes, from its creation: who changed what, when,
    /// in which epoch (compare it with other members when the client reports a fork).
    History {
        /// The channel (its name, or the start of its id).
        channel: String,
    },
    /// List your channels with their labels and members.
    List,
}
