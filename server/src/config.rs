//! `relay.toml`, as `vigil-keytool relay init` writes it: parsed, paths resolved against the
//! file's directory, and the trust store loaded from the roots (with partner limits) and
//! revocation directories.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vigil_protocol::TrustStore;

/// The configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A value is missing or wrong.
    #[error("{path}: {why}")]
    Invalid {
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A line of `relay.toml` is wrong: the line, the key on it (none for a table header or
    /// the end of the file), and why.
    #[error("{} line {line}: {}{why}", path.display(), key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
    Line {
        path: PathBuf,
        /// 1-based.
        line: usize,
        key: Option<String>,
        /// What is wrong.
        why: String,
    },
}

impl ConfigError {
    /// The file the error is about.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. } | Self::Invalid { path, .. } | Self::Line { path, .. } => path,
        }
    }
}

/// The error for byte `offset` of `text` (the file at `path`): its line, and the key on it.
fn at_offset(path: &Path, text: &str, offset: usize, why: impl std::fmt::Display) -> ConfigError {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let key = text
        .lines()
        .nth(line - 1)
        .map(str::trim)
        .filter(|l| !l.starts_with('['))
        .and_then(|l| l.split_once('='))
        .map(|(key, _)| key.trim().trim_matches(['"', '\'']).to_owned());
    ConfigError::Line {
        path: path.to_owned(),
        line,
        key,
        why: why.to_string(),
    }
}

/// The error for `key` of `text`: the line that sets it (or the whole file's error when no
/// line does, as for a default).
fn at_key(path: &Path, text: &str, key: &str, why: impl std::fmt::Display) -> ConfigError {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return at_offset(path, text, offset, why);
        }
        offset += line.len();
    }
    invalid(path, format!("{key}: {why}"))
}

pub(crate) fn invalid(path: &Path, why: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_owned(),
        why: why.to_string(),
    }
}

/// Refuses limits out of range, naming the key and its line.
fn check_limits(path: &Path, text: &str, limits: &Limits) -> Result<(), ConfigError> {
    let max = vigil_protocol::relay::MAX_FRAME_LEN;
    if limits.max_frame_bytes == 0 || limits.max_frame_bytes > max {
        return Err(at_key(
            path,
            text,
            "max_frame_bytes",
            format!("must be 1 to {max}"),
        ));
    }
    for (key, value) in [
        ("max_concurrent_streams", limits.max_concurrent_streams),
        ("connections_per_identity", limits.connections_per_identity),
        ("messages_per_second", limits.messages_per_second),
        ("bundle_fetch_burst", limits.bundle_fetch_burst),
        ("bundle_fetches_per_hour", limits.bundle_fetches_per_hour),
        (
            "one_time_prekeys_per_target_per_hour",
            limits.one_time_prekeys_per_target_per_hour,
        ),
    ] {
        if value == 0 {
            return Err(at_key(path, text, key, "must be at least 1"));
        }
    }
    Ok(())
}

/// Defaults of the limits added after the first `relay.toml`s were written: a file without
/// them still loads, with these values.
pub mod defaults {
    /// Prekey bundles one member may fetch at once. Joining a channel means a session with
    /// every member not met before, so this covers the sessions of an incident channel of
    /// about 50 members at once; past it [`BUNDLE_FETCHES_PER_HOUR`] applies.
    pub const BUNDLE_FETCH_BURST: u32 = 50;
    /// Prekey bundles one member may fetch per hour, sustained: one new contact a minute is
    /// far above what a person does, and holds one member draining another's one-time
    /// prekeys (200 at most, refilled when fewer than 10 remain) to 60 an hour.
    pub const BUNDLE_FETCHES_PER_HOUR: u32 = 60;
    /// One-time prekeys of one member the relay hands out per hour, whoever asks (also the
    /// burst). Per-requester limits count identities, and whoever holds an org root can mint
    /// identities; this bounds how fast any number of requesters can use up a member's
    /// stock. Past it a bundle carries the signed prekey only (never a refusal), so nobody
    /// can stop others from reaching a member.
    pub const ONE_TIME_PREKEYS_PER_TARGET_PER_HOUR: u32 = 100;

    pub(crate) const fn bundle_fetch_burst() -> u32 {
        BUNDLE_FETCH_BURST
    }

    pub(crate) const fn bundle_fetches_per_hour() -> u32 {
        BUNDLE_FETCHES_PER_HOUR
    }

    pub(crate) const fn one_time_prekeys_per_target_per_hour() -> u32 {
        ONE_TIME_PREKEYS_PER_TARGET_PER_HOUR
    }
}

/// Limits, each named in `relay.toml` (defaults as `vigil-keytool relay init` writes them).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest frame a client may send, in bytes.
    pub max_frame_bytes: usize,
    /// Messages a recipient's mailbox holds before senders are refused.
    pub mailbox_max_messages: u64,
    /// Bytes a recipient's mailbox holds before senders are refused.
    pub mailbox_max_bytes: u64,
    /// Messages per second one identity may send.
    pub messages_per_second: u32,
    /// Simultaneous connections of one identity.
    pub connections_per_identity: u32,
    /// Concurrent streams a connection may open.
    pub max_concurrent_streams: u32,
    /// Seconds a connection has to log in.
    pub login_timeout_secs: u64,
    /// Seconds without traffic before a connection is dropped.
    pub idle_timeout_secs: u64,
    /// Seconds between keep-alives.
    pub keep_alive_secs: u64,
    /// Bundles with a one-time prekey one member may fetch at once (then
    /// `bundle_fetches_per_hour`); over it, bundles carry the signed prekey only.
    #[serde(default = "defaults::bundle_fetch_burst")]
    pub bundle_fetch_burst: u32,
    /// Bundles with a one-time prekey one member may fetch per hour, sustained.
    #[serde(default = "defaults::bundle_fetches_per_hour")]
    pub bundle_fetches_per_hour: u32,
    /// One-time prekeys of one member handed out per hour, whoever asks (also the burst);
    /// past it, bundles carry the signed prekey only.
    #[serde(default = "defaults::one_time_prekeys_per_target_per_hour")]
    pub one_time_prekeys_per_target_per_hour: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RelaySection {
    listen: String,
    host: String,
    pin: String,
    certificate: PathBuf,
    private_key: PathBuf,
    data_dir: PathBuf,
    #[serde(default)]
    metrics: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustSection {
    roots_dir: PathBuf,
    revocations_dir: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    relay: RelaySection,
    trust: TrustSection,
    limits: Limits,
}

/// A loaded, checked configuration.
#[derive(Debug)]
pub struct Config {
    /// The config file.
    pub path: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The name clients connect to.
    pub host: String,
    /// The pin clients check (hex).
    pub pin: String,
    /// TLS certificate (PEM).
    pub certificate: PathBuf,
    /// TLS private key (PEM).
    pub private_key: PathBuf,
    /// Storage directory.
    pub data_dir: PathBuf,
    /// Trusted org roots.
    pub roots_dir: PathBuf,
    /// Revocation lists.
    pub revocations_dir: PathBuf,
    /// Where to serve metrics (Prometheus text format), if anywhere: keep it on localhost.
    pub metrics: Option<SocketAddr>,
    pub limits: Limits,
}

impl Config {
    /// Reads and checks `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        let file: File = toml::from_str(&text).map_err(|e| match e.span() {
            Some(span) => at_offset(path, &text, span.start, e.message()),
            None => invalid(path, e.message()),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let listen = file.relay.listen.parse().map_err(|_| {
            at_key(
                path,
                &text,
                "listen",
                format!("{:?} is not an address and port", file.relay.listen),
            )
        })?;
        let metrics = match &file.relay.metrics {
            None => None,
            Some(value) => Some(value.parse().map_err(|_| {
                at_key(
                    path,
                    &text,
                    "metrics",
                    format!("{value:?} is not an address and port"),
                )
            })?),
        };
        let limits = file.limits;
        check_limits(path, &text, &limits)?;
        Ok(Self {
            path: path.to_owned(),
            listen,
            host: file.relay.host,
            pin: file.relay.pin,
            certificate: base.join(file.relay.certificate),
            private_key: base.join(file.relay.private_key),
            data_dir: base.join(file.relay.data_dir),
            roots_dir: base.join(file.trust.roots_dir),
            revocations_dir: base.join(file.trust.revocations_dir),
            metrics,
            limits,
        })
    }

    /// Loads the trust store from the roots and revocations directories
    /// ([`crate::trust::load`]): what the relay starts with, and what a reload rebuilds.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an unreadable directory, a roots file that is not what it should be,
    /// or two limits files for one organisation.
    pub fn trust_store(&self) -> Result<TrustStore, ConfigError> {
        crate::trust::load(&self.roots_dir, &self.revocations_dir).map(|(trust, _)| trust)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use vigil_protocol::cert::PartnerLimits;
    use vigil_protocol::keys::OrgRootKeyPair;
    use vigil_protocol::provisioning::{FileKind, armor};
    use vigil_protocol::{Clearance, OrgId, OrgRoot, RevocationList, UnixTime};

    use super::*;

    const BEFORE_BUNDLE_LIMITS: &str = "[relay]\nlisten = \"127.0.0.1:0\"\nhost = \"localhost\"\n\
        pin = \"00\"\ncertificate = \"relay.crt\"\nprivate_key = \"relay.key\"\ndata_dir = \"data\"\n\
        [trust]\nroots_dir = \"roots\"\nrevocations_dir = \"revocations\"\n\
        [limits]\nmax_frame_bytes = 1048576\nmailbox_max_messages = 10000\n\
        mailbox_max_bytes = 268435456\nmessages_per_second = 50\nconnections_per_identity = 4\n\
        max_concurrent_streams = 64\nlogin_timeout_secs = 10\nidle_timeout_secs = 60\n\
        keep_alive_secs = 15\n";

    fn load(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path)
    }

    #[test]
    fn a_file_written_before_the_bundle_limits_loads_with_their_defaults() {
        let limits = load(BEFORE_BUNDLE_LIMITS).unwrap().limits;
        assert_eq!(limits.bundle_fetch_burst, defaults::BUNDLE_FETCH_BURST);
        assert_eq!(
            limits.bundle_fetches_per_hour,
            defaults::BUNDLE_FETCHES_PER_HOUR
        );
        assert_eq!(
            limits.one_time_prekeys_per_target_per_hour,
            defaults::ONE_TIME_PREKEYS_PER_TARGET_PER_HOUR
        );
    }

    #[test]
    fn bundle_limits_are_read_and_zero_is_refused() {
        let text = format!(
            "{BEFORE_BUNDLE_LIMITS}bundle_fetch_burst = 5\nbundle_fetches_per_hour = 7\n\
             one_time_prekeys_per_target_per_hour = 9\n"
        );
        let limits = load(&text).unwrap().limits;
        assert_eq!(
            (
                limits.bundle_fetch_burst,
                limits.bundle_fetches_per_hour,
                limits.one_time_prekeys_per_target_per_hour
            ),
            (5, 7, 9)
        );
        let zero = format!("{BEFORE_BUNDLE_LIMITS}bundle_fetches_per_hour = 0\n");
        assert!(matches!(
            load(&zero),
            Err(ConfigError::Line { line, key: Some(key), .. })
                if key == "bundle_fetches_per_hour" && line == BEFORE_BUNDLE_LIMITS.lines().count() + 1
        ));
    }

    /// The 1-based line of `text` that starts with `start`.
    fn line_of(text: &str, start: &str) -> usize {
        text.lines().position(|l| l.starts_with(start)).unwrap() + 1
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        for (from, to, key) in [
            (
                "keep_alive_secs = 15",
                "keep_alive_sec = 15",
                "keep_alive_sec",
            ),
            (
                "messages_per_second = 50",
                "messages_per_second = \"fifty\"",
                "messages_per_second",
            ),
            ("listen = \"127.0.0.1:0\"", "listen = \"nowhere\"", "listen"),
            (
                "max_frame_bytes = 1048576",
                "max_frame_bytes = 0",
                "max_frame_bytes",
            ),
        ] {
            let text = BEFORE_BUNDLE_LIMITS.replace(from, to);
            let error = load(&text).unwrap_err();
            assert!(
                matches!(&error, ConfigError::Line { line, key: Some(k), .. }
                    if k == key && *line == line_of(&text, to)),
                "{error:?}"
            );
        }
    }

    fn config(dir: &Path) -> Config {
        Config {
            path: dir.join("relay.toml"),
            listen: "127.0.0.1:0".parse().unwrap(),
            host: "localhost".into(),
            pin: String::new(),
            certificate: dir.join("relay.crt"),
            private_key: dir.join("relay.key"),
            data_dir: dir.join("data"),
            roots_dir: dir.join("roots"),
            revocations_dir: dir.join("revocations"),
            metrics: None,
            limits: Limits {
                max_frame_bytes: 1024,
                mailbox_max_messages: 1,
                mailbox_max_bytes: 1,
                messages_per_second: 1,
                connections_per_identity: 1,
                max_concurrent_streams: 1,
                login_timeout_secs: 1,
                idle_timeout_secs: 1,
                keep_alive_secs: 1,
                bundle_fetch_burst: 1,
                bundle_fetches_per_hour: 1,
                one_time_prekeys_per_target_per_hour: 1,
            },
        }
    }

    fn write_root(dir: &Path, org: &str, country: &str) {
        let key = OrgRootKeyPair::generate(&mut rand_core::OsRng);
        let root = OrgRoot::create(
            &key,
            org.parse().unwrap(),
            country.parse().unwrap(),
            UnixTime(1),
        );
        let text = armor(FileKind::OrgRoot, &root.to_bytes());
        std::fs::write(dir.join(format!("{org}.root.vigil")), text).unwrap();
    }

    fn write_limits(dir: &Path, name: &str, org: &str, level: u8) {
        let limits = PartnerLimits::up_to(Clearance {
            policy: "EU".parse().unwrap(),
            level,
        });
        let record = limits.to_record(&org.parse().unwrap());
        std::fs::write(dir.join(name), armor(FileKind::PartnerLimits, &record)).unwrap();
    }

    fn relay_dir() -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["roots", "revocations"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let config = config(dir.path());
        write_root(&config.roots_dir, "CERT-AT", "AT");
        write_root(&config.roots_dir, "CERT-CZ", "CZ");
        (dir, config)
    }

    #[test]
    fn partner_limits_beside_a_root_bound_it_and_a_root_without_is_unlimited() {
        let (_dir, config) = relay_dir();
        write_limits(&config.roots_dir, "CERT-CZ.limits.vigil", "CERT-CZ", 1);
        // Limits of an organisation whose root is not here trust nothing and are ignored.
        write_limits(&config.roots_dir, "CERT-SK.limits.vigil", "CERT-SK", 4);
        let trust = config.trust_store().unwrap();
        let cz: OrgId = "CERT-CZ".parse().unwrap();
        let at: OrgId = "CERT-AT".parse().unwrap();
        assert_eq!(trust.limits(&cz).map(|l| l.max_clearance.level), Some(1));
        assert_eq!(
            trust.limits(&at),
            None,
            "shared-relay mode: no file, no limit"
        );
        assert_eq!(trust.limits(&"CERT-SK".parse().unwrap()), None);
        assert!(trust.root(&"CERT-SK".parse().unwrap()).is_none());
        assert_eq!(trust.country(&cz).map(|c| c.as_str()), Some("CZ"));
    }

    #[test]
    fn two_limits_files_for_one_partner_or_a_stray_file_are_refused() {
        let (_dir, config) = relay_dir();
        write_limits(&config.roots_dir, "CERT-CZ.limits.vigil", "CERT-CZ", 1);
        write_limits(&config.roots_dir, "cz-copy.limits.vigil", "CERT-CZ", 4);
        assert!(matches!(
            config.trust_store(),
            Err(ConfigError::Invalid { .. })
        ));
        let (_dir, config) = relay_dir();
        let key = OrgRootKeyPair::generate(&mut rand_core::OsRng);
        let list = RevocationList::sign(
            &key,
            vigil_protocol::cert::RevocationListBody {
                org: "CERT-AT".parse().unwrap(),
                version: 1,
                issued_at: UnixTime(1),
                entries: vec![],
            },
        );
        let stray = config.roots_dir.join("CERT-AT.vigil");
        std::fs::write(&stray, armor(FileKind::RevocationList, &list.to_bytes())).unwrap();
        assert!(matches!(
            config.trust_store(),
            Err(ConfigError::Invalid { path, .. }) if path == stray
        ));
    }
}
