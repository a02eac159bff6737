//! The command line, as in the design's command-line contract.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::ErrorFormat;

/// Vigil key tool: run your organisation's trust.
///
/// Creates the org root, issues member certificates with clearances, sets up the relay's
/// certificate, revokes, and trusts partner organisations. Passphrases come from
/// --passphrase-file, VIGIL_PASSPHRASE, or a prompt. Exit codes: 0 ok, 1 refused by policy or
/// verification, 2 usage or I/O error.
#[derive(Debug, Parser)]
#[command(name = "vigil-keytool", version, about, long_about)]
pub struct Cli {
    /// Read the org root passphrase from the first line of FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// How a failure is reported on standard error: `text`, one line `vigil-keytool: REASON`;
    /// or `json`, one object `{"error": KIND, "code": EXIT_CODE, "message": REASON}` for
    /// scripts, where KIND is a stable snake_case name of the refusal (e.g.
    /// `fingerprint_mismatch`, `already_issued`, `wrong_passphrase`).
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = ErrorFormat::Text)]
    pub error_format: ErrorFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an organisation: its sealed root key, public root, empty revocation list.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Set up the relay: TLS key and certificate, the pin clients check, relay.toml.
    #[command(subcommand)]
    Relay(RelayCommand),
    /// Issue a member's keys and certificate as a sealed enrollment bundle (or one per row of
    /// a CSV file: --csv).
    Issue(IssueArgs),
    /// Sign a certificate request made on the member's own device (keys never leave it).
    SignRequest(SignRequestArgs),
    /// Revoke every live certificate of a member.
    Revoke(RevokeArgs),
    /// Trust partner organisations (closed federation between national teams).
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Show any Vigil file for a human: never a secret, always whether signatures verify.
    Inspect(InspectArgs),
    /// Who holds certificates of the organisation.
    #[command(subcommand)]
    Members(MembersCommand),
}

/// `org` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create a new organisation directory.
    ///
    /// Example: vigil-keytool org init --org CERT-AT --country AT --dir /srv/vigil/cert-at
    Init {
        /// The organisation id, e.g. CERT-AT (letters, digits, . _ -).
        #[arg(long)]
        org: String,
        /// Required: the organisation's country, an ISO 3166-1 alpha-2 code (AT, CZ, DE, ...).
        /// It is signed into the root; REL TO caveats are checked against it.
        #[arg(long, value_name = "CC")]
        country: Option<String>,
        /// The directory to create (must not hold an organisation already).
        #[arg(long, value_name = "ORGDIR")]
        dir: PathBuf,
        /// Generate the root key on a PKCS#11 token (smartcard, HSM) through this module, e.g.
        /// /usr/lib/softhsm/libsofthsm2.so; the key never leaves the token, and the token's PIN
        /// is asked wherever the root key's passphrase would be.
        #[arg(long, value_name = "MODULE", requires = "token")]
        pkcs11_module: Option<PathBuf>,
        /// The token's label (with --pkcs11-module).
        #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
        token: Option<String>,
        /// The key's label on the token. Default: vigil-root-ORG.
        #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
        key_label: Option<String>,
    },
    /// Move the organisation to a new root key (the old one is lost, stolen or due): asks the
    /// old key's passphrase, then a new one. The trust list keeps naming the old root, so
    /// channel histories it signed stay verifiable; reissue every member afterwards and send
    /// the new root.vigil to partners (`trust rotate`).
    ///
    /// Example: vigil-keytool org rotate --org-dir /srv/vigil/cert-at
    Rotate {
        /// The organisation directory.
        #[arg(long, value_name = "ORGDIR")]
        org_dir: PathBuf,
    },
}

/// `relay` subcommands.
#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Create the relay directory with its key, certificate, pin and relay.toml.
    ///
    /// Example: vigil-keytool relay init --org-dir /srv/vigil/cert-at
    ///   --host relay.cert-at.example --listen 0.0.0.0:4433 --out /srv/vigil/relay
    Init {
        /// The organisation directory.
        #[arg(long, value_name = "ORGDIR")]
        org_dir: PathBuf,
        /// The name clients connect to (DNS name or IP address), put in the certificate.
        #[arg(long)]
        host: String,
        /// The address the relay listens on, e.g. 0.0.0.0:4433.
        #[arg(long, value_name = "ADDR")]
        listen: String,
        /// The relay directory to create.
        #[arg(long, value_name = "RELAYDIR")]
        out: PathBuf,
    },
    /// Use a relay another organisation runs (a shared relay of the federation): bundles then
    /// tell this organisation's devices to connect there. Give the relay's `relay.toml` (on
    /// this machine) or its address, name and pin as its operator told you.
    ///
    /// Example: vigil-keytool relay use --org-dir /srv/vigil/cert-cz
    ///   --address relay.cert-at.example:4433 --host relay.cert-at.example --pin 9f86d08...
    Use {
        /// The organisation directory.
        #[arg(long, value_name = "ORGDIR")]
        org_dir: PathBuf,
        /// The relay's configuration, when its directory is on this machine.
        #[arg(long, value_name = "RELAY_TOML", conflicts_with_all = ["address", "host", "pin"])]
        config: Option<PathBuf>,
        /// `host:port` devices connect to.
        #[arg(long, value_name = "ADDR", requires_all = ["host", "pin"])]
        address: Option<String>,
        /// The TLS name in the relay's certificate.
        #[arg(long)]
        host: Option<String>,
        /// The relay's pin (64 hex digits), compared with its operator by phone.
        #[arg(long)]
        pin: Option<String>,
    },
}

/// `issue` arguments.
#[derive(Debug, Args)]
#[command(
    after_help = "Example: vigil-keytool issue --org-dir /srv/vigil/cert-at \
    --user officer1@cert-at --name \"Anna Huber\" --role duty-officer \
    --clearance \"EU SECRET\" --out officer1.bundle\n\
    Example: vigil-keytool issue --org-dir /srv/vigil/cert-at --csv members.csv \
    --out-dir bundles --passphrases passphrases.txt\n\n\
    The CSV file: a header line `user,name,roles,clearance,days` (days optional), then one \
    member per line; roles separated by `;`; a field with a comma in \"double quotes\"; \
    lines starting with # and empty lines are skipped. Every row is checked before anything \
    is issued; a bad row is named by its line number and nothing is issued. Each bundle \
    (OUTDIR/USER.bundle) gets its own generated one-time passphrase, written only to the \
    --passphrases file (created 0600, never printed)."
)]
pub struct IssueArgs {
    /// The organisation directory.
    #[arg(long, value_name = "ORGDIR")]
    pub org_dir: PathBuf,
    /// The member's user id, NAME@ORG in lower case.
    #[arg(long, value_name = "ID", required_unless_present = "csv")]
    pub user: Option<String>,
    /// The name colleagues see.
    #[arg(long, required_unless_present = "csv")]
    pub name: Option<String>,
    /// A role (repeat for several), e.g. duty-officer, incident-lead.
    #[arg(long = "role", value_name = "ROLE", required_unless_present = "csv")]
    pub roles: Vec<String>,
    /// Clearance: an EU marking (EU SECRET, SECRET UE) or a national one (GEHEIM, CZ:TAJNÉ).
    #[arg(long, value_name = "LEVEL", required_unless_present = "csv")]
    pub clearance: Option<String>,
    /// Days the certificate is valid (with --csv: for rows without a days column).
    #[arg(long, value_name = "N", default_value_t = 365)]
    pub days: u64,
    /// Where to write the sealed bundle (must not exist).
    #[arg(long, value_name = "BUNDLE", required_unless_present = "csv")]
    pub out: Option<PathBuf>,
    /// Read the bundle's one-time passphrase from FILE instead of generating one.
    #[arg(long, value_name = "FILE", conflicts_with = "csv")]
    pub bundle_passphrase_file: Option<PathBuf>,
    /// Issue one bundle per row of this CSV file (see below) instead of one member.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["user", "name", "roles", "clearance", "out"],
        requires_all = ["out_dir", "passphrases"]
    )]
    pub csv: Option<PathBuf>,
    /// With --csv: the directory the bundles are written to (created 0700 if missing).
    #[arg(long, value_name = "DIR", requires = "csv")]
    pub out_dir: Option<PathBuf>,
    /// With --csv: the file the one-time passphrases are written to, one `USER<TAB>PASSPHRASE<TAB>BUNDLE`
    /// line each (must not exist; created 0600). Hand each passphrase over separately from its
    /// bundle, then delete the file.
    #[arg(long, value_name = "FILE", requires = "csv")]
    pub passphrases: Option<PathBuf>,
}

/// `sign-request` arguments.
#[derive(Debug, Args)]
#[command(after_help = "Example: vigil-keytool sign-request officer2.request \
    --org-dir /srv/vigil/cert-at --role duty-officer --clearance \"EU RESTRICTED\" \
    --out officer2.cert")]
pub struct SignRequestArgs {
    /// The request file written by `vigil` on the member's device.
    #[arg(value_name = "REQ")]
    pub request: PathBuf,
    /// The organisation directory.
    #[arg(long, value_name = "ORGDIR")]
    pub org_dir: PathBuf,
    /// A role (repeat for several).
    #[arg(long = "role", value_name = "ROLE", required = true)]
    pub roles: Vec<String>,
    /// Clearance level, as for `issue`.
    #[arg(long, value_name = "LEVEL")]
    pub clearance: String,
    /// Days the certificate is valid.
    #[arg(long, value_name = "N", default_value_t = 365)]
    pub days: u64,
    /// Where to write the certificate (must not exist).
    #[arg(long, value_name = "CERT")]
    pub out: PathBuf,
}

/// `revoke` arguments.
#[derive(Debug, Args)]
#[command(
    after_help = "Example: vigil-keytool revoke --org-dir /srv/vigil/cert-at \
    --user officer1@cert-at --reason \"laptop lost 2026-11-27\""
)]
pub struct RevokeArgs {
    /// The organisation directory.
    #[arg(long, value_name = "ORGDIR")]
    pub org_dir: PathBuf,
    /// The member whose certificates to revoke.
    #[arg(long, value_name = "ID")]
    pub user: String,
    /// Why (shown to everyone who checks the certificate).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

/// `trust` subcommands.
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Trust a partner organisation's root, up to a maximum clearance. Compare its fingerprint
    /// with the partner first. Run it again with other limits to change them.
    ///
    /// Example: vigil-keytool trust add --org-dir /srv/vigil/cert-at --partner cert-cz.root.vigil
    ///   --fingerprint "1a2b 3c4d ..." --max-clearance "EU SECRET" --role duty-officer
    Add {
        /// The organisation directory.
        #[arg(long, value_name = "ORGDIR")]
        org_dir: PathBuf,
        /// The partner's organisation directory or its root file (root.vigil).
        #[arg(long, value_name = "PARTNER_ORGDIR_OR_ROOTFILE")]
        partner: PathBuf,
        /// The fingerprint the partner read to you; refused if it differs.
        #[arg(long)]
        fingerprint: Option<String>,
        /// The highest clearance the partner's certificates may assert (as for `issue`); higher
        /// ones are refused everywhere. Default: UNCLASSIFIED.
        #[arg(long, value_name = "LEVEL")]
        max_clearance: Option<String>,
        /// A role the partner's certificates may carry (repeat for several); certificates with
        /// another role are refused. Default: any role.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
    },
    /// Stop trusting a partner organisation: its root leaves the relay's roots and the next
    /// trust list, which every device fetches from the relay.
    ///
    /// Example: vigil-keytool trust remove --org-dir /srv/vigil/cert-at --partner CERT-CZ
    Remove {
        /// The organisation directory.
        #[arg(long, value_name = "ORGDIR")]
        org_dir: PathBuf,
        /// The partner organisation's id.
        #[arg(long, value_name = "ORG")]
        partner: String,
    },
    /// Trust a partner under its new root after it rotated its root key (its limits stay).
    /// Compare the new fingerprint with the partner first.
    ///
    /// Example: vigil-keytool trust rotate --org-dir /srv/vigil/cert-at --partner
    ///   cert-cz-new.root.vigil --fingerprint "5e6f 7a8b ..."
    Rotate {
        /// The organisation directory.
        #[arg(long, value_name = "ORGDIR")]
        org_dir: PathBuf,
        /// The partner's new root file (or its organisation directory).
        #[arg(long, value_name = "PARTNER_ORGDIR_OR_ROOTFILE")]
        partner: PathBuf,
        /// The new fingerprint the partner read to you; refused if it differs.
        #[arg(long)]
        fingerprint: Option<String>,
    },
    /// List the own and the trusted partner roots with their countries, fingerprints and limits.
    ///
    /// Example: vigil-keytool trust list --org-dir /srv/vigil/cert-at
    List {
        /// The organisation directory.
        #[arg(long, value_name = "ORGDIR")]
        org_dir: PathBuf,
    },
}

/// `members` subcommands.
#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// The members holding live certificates (not revoked, not expired): user, name,
    /// clearance, roles, serial, expiry; with --all, every certificate ever issued, with its
    /// state (live, expired, revoked).
    ///
    /// Example: vigil-keytool members list --org-dir /srv/vigil/cert-at
    List {
        /// The organisation directory.
        #[arg(long, value_name = "ORGDIR")]
        org_dir: PathBuf,
        /// Every certificate issued, revoked and expired ones too.
        #[arg(long)]
        all: bool,
    },
}

/// `inspect` arguments.
#[derive(Debug, Args)]
#[command(after_help = "Example: vigil-keytool inspect officer1.bundle\n\
    Example: vigil-keytool inspect --org-dir /srv/vigil/cert-at certificates/3-officer1@cert-at.vigil\n\
    Example: vigil-keytool inspect --check-passphrase --org-dir /srv/vigil/cert-at /media/backup/root-key.vigil")]
pub struct InspectArgs {
    /// The file: root, certificate, revocation list, sealed key, bundle, request, relay.toml
    /// or org.toml.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Check signatures against this organisation's own and partner roots.
    #[arg(long, value_name = "ORGDIR")]
    pub org_dir: Option<PathBuf>,
    /// Check signatures against this root file.
    #[arg(long, value_name = "ROOTFILE")]
    pub root: Option<PathBuf>,
    /// For a sealed org root key (or a backup of it): open it with the passphrase
    /// (--passphrase-file, VIGIL_PASSPHRASE, else a prompt) and show its fingerprint; with
    /// --org-dir or --root, check it is that organisation's key. Nothing secret is printed.
    #[arg(long)]
    pub check_passphrase: bool,
}
