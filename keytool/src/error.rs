//! Errors of `vigil-keytool`, each one line naming what was wrong and what to do, with the exit
//! code it maps to (1: refused by policy or verification; 2: usage or I/O) and a stable
//! snake_case [`Error::kind`] for scripts (`--error-format json`, see [`crate::report`]).
//!
//! Every variant carries the data of its refusal (paths, ids, the protocol's typed errors), not
//! a sentence: the sentence is its `Display`, and tests match the variant or its kind.

use std::path::PathBuf;

use vigil_protocol::cert::RootDecodeError;
use vigil_protocol::policy::PolicyError;
use vigil_protocol::provisioning::{ArmorError, FileKind, RequestError, SealError};
use vigil_protocol::{CertError, DecodeError, IdError, OrgId, RevocationError, UnixTime, UserId};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Refusing to overwrite.
    #[error("{0} already exists; refusing to overwrite it")]
    Exists(PathBuf),
    /// Not an org directory.
    #[error("{0} is not an organisation directory (create one with `vigil-keytool org init`)")]
    NotOrgDir(PathBuf),
    /// `inspect --check-passphrase` of a file that is not a sealed org root key.
    #[error("--check-passphrase is for a sealed org root key, not a {0:?} file")]
    NotSealedRootKey(FileKind),
    /// `issue` without --csv lacks one of --user, --name, --role, --clearance, --out (the
    /// command line requires them; a program calling [`crate::run`] may not).
    #[error("issue needs --user, --name, --role, --clearance and --out (or --csv)")]
    IssueNeeds,
    /// A row of `issue --csv` is refused; nothing was issued.
    #[error("{}:{line}: {why}; nothing was issued", path.display())]
    CsvRow {
        path: PathBuf,
        /// The line number in the file (from 1).
        line: usize,
        #[source]
        why: Box<CsvProblem>,
    },
    /// A file is damaged.
    #[error("{path}: {why}")]
    Corrupt {
        path: PathBuf,
        /// What is wrong with it (boxed: it can carry a whole refused certificate).
        #[source]
        why: Box<Damage>,
    },
    /// No passphrase source.
    #[error(
        "no passphrase: standard input is not a terminal; use --passphrase-file FILE or set \
         VIGIL_PASSPHRASE"
    )]
    NoPassphrase,
    /// A passphrase too weak for what it protects.
    #[error("the passphrase must be at least {min} characters long")]
    WeakPassphrase { min: usize },
    /// A passphrase for something sealed shorter than any Vigil seals under.
    #[error(
        "the passphrase given is too short: Vigil passphrases are at least {min} characters, so \
         it cannot be the right one (a truncated line or the wrong file?)"
    )]
    ShortPassphrase { min: usize },
    /// Two prompts disagreed.
    #[error("the passphrases did not match")]
    PassphraseMismatch,
    /// Opening a sealed file failed.
    #[error("{0}: wrong passphrase, or the file is corrupt")]
    WrongPassphrase(PathBuf),
    /// A clearance level the policy does not know, or one it cannot tell apart.
    #[error(transparent)]
    Clearance(#[from] PolicyError),
    /// The arguments of [`crate::run_args`] are not a command line the tool accepts.
    #[error("{0}")]
    CommandLine(#[from] clap::Error),
    /// Another `vigil-keytool` holds the directory's lock.
    #[error("{} is in use by another vigil-keytool; try again", .0.display())]
    InUse(PathBuf),
    /// An option's value is not a valid id, role or text (`--user`, `--role`, `--country`, ...).
    #[error("{option}: {why}")]
    InvalidOption {
        /// The option, e.g. `--role`.
        option: &'static str,
        /// What is wrong with its value.
        #[source]
        why: IdError,
    },
    /// `org init --org` is not a valid organisation id.
    #[error("{0}")]
    InvalidOrgId(#[source] IdError),
    /// `org init` without `--country`.
    #[error(
        "org init needs --country CC: the organisation's ISO 3166-1 alpha-2 country code \
         (e.g. --country AT); it is signed into the root and REL TO caveats are checked \
         against it"
    )]
    NoCountry,
    /// `org init` into a directory that holds other files.
    #[error("{} is not empty; choose a new directory for the organisation", .0.display())]
    OrgDirNotEmpty(PathBuf),
    /// A user id of another organisation.
    #[error(
        "user id {user} is not in {org}: it must end in @{}",
        org.as_str().to_ascii_lowercase()
    )]
    NotInOrg { user: UserId, org: OrgId },
    /// A member who holds a live certificate already.
    #[error(
        "{user} already holds certificate {serial} (valid until {not_after}); revoke it first \
         with `vigil-keytool revoke --user {user}`"
    )]
    AlreadyIssued {
        user: UserId,
        /// The live certificate's serial.
        serial: u64,
        /// When it expires.
        not_after: UnixTime,
    },
    /// More `--role`s than a certificate holds.
    #[error("at most {max} roles")]
    TooManyRoles { given: usize, max: usize },
    /// `--days` outside 1 to [`crate::commands::issue::MAX_DAYS`].
    #[error("--days must be between 1 and {max}")]
    DaysOutOfRange { given: u64, max: u64 },
    /// The built-in classification policy's name is not valid text (a bug).
    #[error("{0}")]
    PolicyName(#[source] IdError),
    /// The root refused to sign the certificate (its content breaks a rule).
    #[error(transparent)]
    Issue(CertError),
    /// The generated keys do not match the certificate just issued (a bug).
    #[error(transparent)]
    Identity(CertError),
    /// A key or bundle could not be sealed.
    #[error(transparent)]
    Seal(SealError),
    /// `issue` before the organisation has a relay.
    #[error(
        "{} has no relay yet: run `vigil-keytool relay init` first, so bundles can tell \
         devices where to connect",
        .0.display()
    )]
    NoRelay(PathBuf),
    /// `--host` (or a relay.toml's host) is not a DNS name or IP address.
    #[error("--host {0:?} is not a DNS name or IP address")]
    InvalidHost(String),
    /// `--listen` is not a socket address.
    #[error("--listen {0:?} is not an address and port, e.g. 0.0.0.0:4433")]
    InvalidListen(String),
    /// `relay init` into a directory that holds other files.
    #[error("{} is not empty; choose a new relay directory", .0.display())]
    RelayDirNotEmpty(PathBuf),
    /// The relay's TLS certificate could not be made.
    #[error("cannot create the relay certificate: {0}")]
    RelayCertificate(#[source] rcgen::Error),
    /// `relay use` with neither a relay.toml nor an address, host and pin.
    #[error("give --config RELAY_TOML, or --address, --host and --pin")]
    NoRelayGiven,
    /// `relay use --address` is not `host:port`.
    #[error("--address {0:?} is not host:port")]
    InvalidAddress(String),
    /// `relay use --pin` is not 64 hex digits.
    #[error("--pin must be 64 hex digits")]
    InvalidPin(String),
    /// `revoke` of a member with no certificate left to revoke.
    #[error("{user} holds no certificate of {org} that is not revoked")]
    NothingToRevoke { user: UserId, org: OrgId },
    /// `trust add` of the organisation's own root.
    #[error("{} is your own organisation's root", .0.display())]
    OwnRoot(PathBuf),
    /// The ledger could not be written as TOML.
    #[error("cannot write the ledger: {0}")]
    LedgerEncode(#[source] toml::ser::Error),
    /// A certificate request whose proof of possession does not verify (exit code 1).
    #[error("{}: {why}", path.display())]
    Request {
        path: PathBuf,
        #[source]
        why: RequestError,
    },
    /// A signature `inspect` checked does not verify (exit code 1).
    #[error(transparent)]
    Unverified(#[from] Unverified),
    /// A partner's certificate beyond what this organisation accepts from it (exit code 1).
    #[error(transparent)]
    BeyondLimits(CertError),
    /// A partner root whose fingerprint differs from the one given (exit code 1).
    #[error(
        "the root of {org} has fingerprint {fingerprint}, not the one given; do not trust it \
         until you know why"
    )]
    FingerprintMismatch {
        org: OrgId,
        /// The fingerprint of the root in the file.
        fingerprint: String,
    },
    /// Another root of a partner already trusted (exit code 1).
    #[error(
        "a different root of {org} is already trusted (fingerprint {trusted}, in {}); if {org} \
         really changed its root, confirm the new fingerprint with them and run `vigil-keytool \
         trust rotate`",
        path.display()
    )]
    RootConflict {
        org: OrgId,
        /// The fingerprint of the root trusted now.
        trusted: String,
        /// Where that root is.
        path: PathBuf,
    },
    /// `trust remove` or `trust rotate` of an organisation that is not a trusted partner.
    #[error("{partner} is not a partner of {org} (see `vigil-keytool trust list`)")]
    NotAPartner { org: OrgId, partner: OrgId },
    /// A PKCS#11 token refused or failed an operation.
    #[error("token {token}: {doing} failed: {source}")]
    Token {
        token: String,
        /// What the keytool was doing.
        doing: &'static str,
        #[source]
        source: cryptoki::error::Error,
    },
    /// The token refused the PIN.
    #[error("token {0}: wrong PIN (a token locks itself after a few wrong PINs)")]
    WrongPin(String),
    /// No token with the recorded label is present.
    #[error("no token labelled {0} is present: insert it, or check [root_token] in org.toml")]
    NoToken(String),
    /// The token holds no key with the recorded label.
    #[error("token {token} holds no key labelled {key}")]
    NoTokenKey { token: String, key: String },
    /// `org init --pkcs11-module` on a token that already holds a key with that label.
    #[error("token {token} already holds a key labelled {key}: choose another --key-label")]
    TokenKeyExists { token: String, key: String },
    /// More than one key pair with the label.
    #[error("token {token} holds several keys labelled {key}")]
    TokenKeyAmbiguous { token: String, key: String },
    /// The key on the token is not an Ed25519 key.
    #[error("key {key} on token {token} is not an Ed25519 key")]
    TokenKeyNotEd25519 { token: String, key: String },
    /// The key on the token is not the organisation's root.
    #[error("key {key} on token {token} is not the root of {}", org_dir.display())]
    TokenKeyNotRoot {
        token: String,
        key: String,
        org_dir: PathBuf,
    },
    /// The token returned something that is not a valid signature by the root.
    #[error("token {0} returned a signature that does not verify")]
    TokenSignature(String),
    /// `org rotate` of a root on a token (not supported yet).
    #[error(
        "org rotate works on a sealed root key; a root on a token is rotated by creating a new organisation directory on the token"
    )]
    RotateOnToken,
    /// `trust rotate` with the root already trusted.
    #[error(
        "{org} is already trusted with this root (fingerprint {fingerprint}): nothing to rotate"
    )]
    SameRoot { org: OrgId, fingerprint: String },
}

/// A signature `inspect` checked that does not verify; the message quotes the line printed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unverified {
    /// An org root's self-signature.
    #[error("signature check failed: DOES NOT VERIFY")]
    RootSelfSignature { org: OrgId },
    /// A revocation list's signature, against its organisation's root.
    #[error("signature check failed:     DOES NOT VERIFY against the {org} root")]
    RevocationList { org: OrgId },
    /// A certificate's signature, against its organisation's root.
    #[error("signature check failed:     DOES NOT VERIFY against the {org} root ({fingerprint})")]
    Certificate {
        user: UserId,
        org: OrgId,
        /// The fingerprint of the root it was checked against.
        fingerprint: String,
    },
    /// A certificate request's proof of possession.
    #[error("signature check failed: DOES NOT VERIFY")]
    Request { user: UserId },
    /// A trust list's signature or content, against its organisation's root.
    #[error("signature check failed:     DOES NOT VERIFY against the {org} root")]
    TrustList { org: OrgId },
}

impl Unverified {
    /// A stable snake_case name of this refusal.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RootSelfSignature { .. } => "bad_root_signature",
            Self::RevocationList { .. } => "bad_revocation_list_signature",
            Self::Certificate { .. } => "bad_signature",
            Self::Request { .. } => "bad_request_signature",
            Self::TrustList { .. } => "bad_trust_list",
        }
    }
}

/// What is wrong with a row of `issue --csv` ([`Error::CsvRow`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsvProblem {
    /// The first line is not the header.
    #[error(
        "the first line must be the header `user,name,roles,clearance` or `user,name,roles,clearance,days`"
    )]
    Header,
    /// A row with another number of fields than the header.
    #[error("{found} fields; the header has {expected}")]
    Fields { expected: usize, found: usize },
    /// A quoted field is not closed on its line.
    #[error("a quoted field is not closed")]
    Quote,
    /// The days field is not a number.
    #[error("days: {0:?} is not a number")]
    Days(String),
    /// A row without a role.
    #[error("no role: give at least one (several separated by `;`)")]
    NoRole,
    /// The same user as an earlier row.
    #[error("the same user as line {first}")]
    Duplicate { first: usize },
    /// The file has a header and no member.
    #[error("no member in the file")]
    Empty,
    /// What `issue` refuses for one member (a bad id, an unknown clearance, a live
    /// certificate, an existing bundle file).
    #[error(transparent)]
    Refused(Error),
}

/// What is wrong with a damaged file ([`Error::Corrupt`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// Not a text file.
    #[error("not a text file")]
    NotText,
    /// The armour is missing, truncated or not base64.
    #[error(transparent)]
    Armor(#[from] ArmorError),
    /// An armoured file of another kind.
    #[error("expected a {expected} file, found a {found} file")]
    WrongKind { expected: FileKind, found: FileKind },
    /// The bytes inside the armour do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A TOML file that does not parse as what it should be.
    #[error("{}", .0.message())]
    Toml(#[from] toml::de::Error),
    /// The ledger's organisation id is not valid.
    #[error(transparent)]
    OrgId(#[from] IdError),
    /// `root.vigil` is the root of another organisation than the ledger's.
    #[error("root of another organisation")]
    RootOfOtherOrg { ledger: OrgId, root: OrgId },
    /// A sealed file that is damaged (not a wrong passphrase).
    #[error(transparent)]
    Seal(SealError),
    /// The sealed root key has the wrong length.
    #[error("not a root key")]
    NotRootKey,
    /// The sealed root key does not match `root.vigil`.
    #[error("this key does not belong to root.vigil")]
    KeyNotOfRoot,
    /// A revocation list that does not verify, or that the trust store refuses.
    #[error(transparent)]
    Revocations(#[from] RevocationError),
    /// A root file that does not decode, or whose self-signature does not verify.
    #[error(transparent)]
    Root(#[from] RootDecodeError),
    /// A root the trust store refuses.
    #[error(transparent)]
    Trust(#[from] CertError),
    /// A trust list that does not verify against the own root.
    #[error(transparent)]
    TrustList(#[from] vigil_protocol::TrustListError),
    /// A stored certificate that is not the one the ledger records under its file name.
    #[error("not the certificate org.toml records under this serial and user")]
    NotInLedger,
    /// A user id recorded in the ledger is not a valid user id.
    #[error("a recorded user id is not valid: {0}")]
    LedgerUser(IdError),
    /// The ledger's serial counter is at its maximum.
    #[error("serials exhausted")]
    SerialsExhausted,
    /// The revocation list's version is at its maximum.
    #[error("version exhausted")]
    VersionExhausted,
    /// A partner's limits file names another organisation.
    #[error("limits of {named}, not {expected}")]
    LimitsOfOtherOrg { named: OrgId, expected: OrgId },
    /// The ledger's relay pin is not 64 hex digits.
    #[error("relay pin is not 64 hex digits")]
    RelayPin,
    /// The ledger's relay address is not valid text.
    #[error("bad relay address")]
    RelayAddress,
    /// The ledger's relay server name is not valid text.
    #[error("bad relay name")]
    RelayName,
    /// A `relay.toml` without a field of `[relay]`.
    #[error("no [relay] {0}")]
    MissingRelayField(&'static str),
    /// A `relay.toml` whose `[relay] listen` is not a socket address.
    #[error("[relay] listen is not an address")]
    RelayListen,
    /// An armoured kind `inspect` does not show.
    #[error("cannot inspect a {0} file")]
    NotInspectable(FileKind),
    /// Neither armoured nor a Vigil TOML file.
    #[error("not a Vigil file (no Vigil armour, not a Vigil TOML file)")]
    NotVigil,
}

impl Error {
    /// The process exit code for this error: 1 refused by policy or verification, 2 usage or
    /// I/O.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Request { .. }
            | Self::Unverified(_)
            | Self::BeyondLimits(_)
            | Self::FingerprintMismatch { .. }
            | Self::RootConflict { .. } => 1,
            _ => 2,
        }
    }

    /// A stable snake_case name of this error, for scripts (`--error-format json`); errors of
    /// the protocol that have a kind give theirs.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::Exists(_) => "exists",
            Self::NotOrgDir(_) => "not_org_dir",
            Self::IssueNeeds => "issue_needs",
            Self::CsvRow { .. } => "csv_row",
            Self::NotSealedRootKey(_) => "not_sealed_root_key",
            Self::Corrupt { .. } => "corrupt",
            Self::NoPassphrase => "no_passphrase",
            Self::WeakPassphrase { .. } => "weak_passphrase",
            Self::ShortPassphrase { .. } => "short_passphrase",
            Self::PassphraseMismatch => "passphrase_mismatch",
            Self::WrongPassphrase(_) => "wrong_passphrase",
            Self::Clearance(e) => clearance_kind(e),
            Self::CommandLine(_) => "command_line",
            Self::InUse(_) => "in_use",
            Self::InvalidOption { .. } => "invalid_option",
            Self::InvalidOrgId(_) => "invalid_org_id",
            Self::NoCountry => "no_country",
            Self::OrgDirNotEmpty(_) => "org_dir_not_empty",
            Self::NotInOrg { .. } => "not_in_org",
            Self::AlreadyIssued { .. } => "already_issued",
            Self::TooManyRoles { .. } => "too_many_roles",
            Self::DaysOutOfRange { .. } => "days_out_of_range",
            Self::PolicyName(_) => "policy_name",
            Self::Issue(e) | Self::Identity(e) | Self::BeyondLimits(e) => e.kind(),
            Self::Seal(_) => "seal",
            Self::NoRelay(_) => "no_relay",
            Self::InvalidHost(_) => "invalid_host",
            Self::InvalidListen(_) => "invalid_listen",
            Self::RelayDirNotEmpty(_) => "relay_dir_not_empty",
            Self::RelayCertificate(_) => "relay_certificate",
            Self::NoRelayGiven => "no_relay_given",
            Self::InvalidAddress(_) => "invalid_address",
            Self::InvalidPin(_) => "invalid_pin",
            Self::NothingToRevoke { .. } => "nothing_to_revoke",
            Self::OwnRoot(_) => "own_root",
            Self::LedgerEncode(_) => "ledger_encode",
            Self::Request { .. } => "bad_request_signature",
            Self::Unverified(e) => e.kind(),
            Self::FingerprintMismatch { .. } => "fingerprint_mismatch",
            Self::RootConflict { .. } => "root_conflict",
            Self::NotAPartner { .. } => "not_a_partner",
            Self::RotateOnToken => "rotate_on_token",
            Self::Token { .. } => "token",
            Self::WrongPin(_) => "wrong_pin",
            Self::NoToken(_) => "no_token",
            Self::NoTokenKey { .. } => "no_token_key",
            Self::TokenKeyExists { .. } => "token_key_exists",
            Self::TokenKeyAmbiguous { .. } => "token_key_ambiguous",
            Self::TokenKeyNotEd25519 { .. } => "token_key_not_ed25519",
            Self::TokenKeyNotRoot { .. } => "token_key_not_root",
            Self::TokenSignature(_) => "token_signature",
            Self::SameRoot { .. } => "same_root",
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A damaged file.
    pub fn corrupt(path: impl Into<PathBuf>, why: impl Into<Damage>) -> Self {
        Self::Corrupt {
            path: path.into(),
            why: Box::new(why.into()),
        }
    }
}

/// The kind of a clearance the policy refused.
fn clearance_kind(e: &PolicyError) -> &'static str {
    match e {
        PolicyError::UnknownLevel { .. } => "unknown_clearance",
        PolicyError::Ambiguous { .. } => "ambiguous_clearance",
        _ => "clearance",
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<vigil_common::Error> for Error {
    fn from(e: vigil_common::Error) -> Self {
        use vigil_common::Error as Common;
        match e {
            Common::Io { path, source } => Self::Io { path, source },
            Common::Exists(path) => Self::Exists(path),
            Common::NotText(path) => Self::corrupt(path, Damage::NotText),
            Common::NoPassphrase => Self::NoPassphrase,
            Common::WeakPassphrase { min } => Self::WeakPassphrase { min },
            Common::ShortPassphrase { min } => Self::ShortPassphrase { min },
            Common::PassphraseMismatch => Self::PassphraseMismatch,
        }
    }
}

impl From<CertError> for Error {
    /// The root refused to sign: what the certificate's content breaks.
    fn from(e: CertError) -> Self {
        Self::Issue(e)
    }
}
