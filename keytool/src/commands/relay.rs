//! `relay init`: the relay's TLS key and certificate, its pin, and a ready `relay.toml`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use vigil_protocol::OrgRoot;
use vigil_protocol::provisioning::{FileKind, RelayInfo, armor};

use crate::error::{Damage, Error, Result};
use crate::orgdir::partners::{limits_file, limits_name, root_name};
use crate::orgdir::trust_list::trust_list_name;
use crate::orgdir::{OrgDir, RelayRecord};
use crate::say;
use vigil_common::{fs as fsutil, now};

/// Years the relay's TLS certificate is valid. Clients pin its key, not a CA, so rotation is a
/// new `relay init` and new bundles; five years keeps that rare without being forever.
pub const RELAY_CERT_YEARS: u64 = 5;

/// Default limits written into `relay.toml` (the relay reads these names).
pub mod limits {
    /// Largest frame a client may send, in bytes.
    pub const MAX_FRAME_BYTES: u64 = 1024 * 1024;
    /// Messages a recipient's mailbox holds before senders are refused.
    pub const MAILBOX_MAX_MESSAGES: u64 = 10_000;
    /// Bytes a recipient's mailbox holds before senders are refused.
    pub const MAILBOX_MAX_BYTES: u64 = 256 * 1024 * 1024;
    /// Messages per second one identity may send (sustained).
    pub const MESSAGES_PER_SECOND: u64 = 50;
    /// Simultaneous connections of one identity (devices, reconnect overlap).
    pub const CONNECTIONS_PER_IDENTITY: u64 = 4;
    /// Concurrent streams a connection may open.
    pub const MAX_CONCURRENT_STREAMS: u64 = 64;
    /// Seconds a connection has to log in before it is closed.
    pub const LOGIN_TIMEOUT_SECS: u64 = 10;
    /// Seconds without traffic before a connection is dropped.
    pub const IDLE_TIMEOUT_SECS: u64 = 60;
    /// Seconds between keep-alives, so idle laptops stay reachable.
    pub const KEEP_ALIVE_SECS: u64 = 15;
    /// Prekey bundles one member may fetch at once: the sessions of joining an incident
    /// channel of about 50 members.
    pub const BUNDLE_FETCH_BURST: u64 = 50;
    /// Prekey bundles one member may fetch per hour after that burst: one new contact a
    /// minute, so nobody drains another member's one-time prekeys quickly.
    pub const BUNDLE_FETCHES_PER_HOUR: u64 = 60;
    /// One-time prekeys of one member handed out per hour, whoever asks; past it bundles
    /// carry the signed prekey only.
    pub const ONE_TIME_PREKEYS_PER_TARGET_PER_HOUR: u64 = 100;
}

fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

fn relay_toml(org: &str, host: &str, listen: &SocketAddr, pin: &str) -> String {
    use limits::*;
    format!(
        "# vigil-relay configuration for {org}, written by vigil-keytool relay init on {date}.\n\
         # Paths are relative to this file. Run: vigil-relay --config relay.toml\n\
         \n\
         [relay]\n\
         # Address and port to listen on (UDP, QUIC).\n\
         listen = {listen}\n\
         # The name clients connect to; it is in the TLS certificate.\n\
         host = {host}\n\
         # SHA-256 of the certificate's public key: the pin clients check (in their bundles).\n\
         pin = \"{pin}\"\n\
         # TLS certificate and private key (ECDSA P-256).\n\
         certificate = \"relay.crt\"\n\
         private_key = \"relay.key\"\n\
         # Where mailboxes and the directory are stored (ciphertext only).\n\
         data_dir = \"data\"\n\
         # Serve metrics (Prometheus text) on this address; keep it on localhost.\n\
         # metrics = \"127.0.0.1:9464\"\n\
         \n\
         [trust]\n\
         # Every *.root.vigil here is a trusted org root (yours and your partners'). Beside a\n\
         # partner's root, ORG.limits.vigil (vigil-keytool trust add) bounds the clearance and\n\
         # roles its certificates may assert; a root without one is trusted without limit.\n\
         roots_dir = \"roots\"\n\
         # Every *.vigil here is a signed revocation list; reloaded when it changes.\n\
         revocations_dir = \"revocations\"\n\
         \n\
         [limits]\n\
         # Largest frame a client may send, in bytes.\n\
         max_frame_bytes = {MAX_FRAME_BYTES}\n\
         # Messages and bytes a recipient's mailbox holds before senders are refused.\n\
         mailbox_max_messages = {MAILBOX_MAX_MESSAGES}\n\
         mailbox_max_bytes = {MAILBOX_MAX_BYTES}\n\
         # Messages per second one identity may send.\n\
         messages_per_second = {MESSAGES_PER_SECOND}\n\
         # Simultaneous connections of one identity.\n\
         connections_per_identity = {CONNECTIONS_PER_IDENTITY}\n\
         # Concurrent streams per connection.\n\
         max_concurrent_streams = {MAX_CONCURRENT_STREAMS}\n\
         # Seconds a new connection has to log in.\n\
         login_timeout_secs = {LOGIN_TIMEOUT_SECS}\n\
         # Seconds without traffic before a connection is dropped.\n\
         idle_timeout_secs = {IDLE_TIMEOUT_SECS}\n\
         # Seconds between keep-alives.\n\
         keep_alive_secs = {KEEP_ALIVE_SECS}\n\
         # Prekey bundles one member may fetch at once, then per hour; over it: RateLimited.\n\
         bundle_fetch_burst = {BUNDLE_FETCH_BURST}\n\
         bundle_fetches_per_hour = {BUNDLE_FETCHES_PER_HOUR}\n\
         # One-time prekeys of one member handed out per hour, whoever asks; past it,\n\
         # bundles carry the signed prekey only.\n\
         one_time_prekeys_per_target_per_hour = {ONE_TIME_PREKEYS_PER_TARGET_PER_HOUR}\n",
        date = now(),
        listen = toml_string(&listen.to_string()),
        host = toml_string(host),
    )
}

fn check_host(host: &str) -> Result<()> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && (host.parse::<std::net::IpAddr>().is_ok()
            || host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
            }));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidHost(host.to_owned()))
    }
}

/// Creates the relay directory `dir` for the organisation in `org_dir`.
pub fn init(
    org_dir: &Path,
    host: &str,
    listen: &str,
    dir: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    let mut org = OrgDir::open(org_dir)?;
    check_host(host)?;
    let listen: SocketAddr = listen
        .parse()
        .map_err(|_| Error::InvalidListen(listen.to_owned()))?;
    if dir.join("relay.toml").exists() {
        return Err(Error::Exists(dir.join("relay.toml")));
    }
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Error::RelayDirNotEmpty(dir.to_owned()));
    }
    let (key_pair, cert) = tls_certificate(host, org.org.as_str())?;
    let pin = RelayInfo::pin_of(&key_pair.public_key_der());
    let pin_hex: String = pin.iter().map(|b| format!("{b:02x}")).collect();

    fsutil::create_private_dir(dir)?;
    let dir = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    for sub in ["data", "roots", "revocations"] {
        fsutil::create_private_dir(&dir.join(sub))?;
    }
    fsutil::write_new(&dir.join("relay.key"), key_pair.serialize_pem().as_bytes())?;
    fsutil::write_new(&dir.join("relay.crt"), cert.pem().as_bytes())?;
    fill_trust(&org, &dir)?;
    fsutil::write_new(
        &dir.join("relay.toml"),
        relay_toml(org.org.as_str(), host, &listen, &pin_hex).as_bytes(),
    )?;
    let address = match host.parse::<std::net::Ipv6Addr>() {
        Ok(_) => format!("[{host}]:{}", listen.port()),
        Err(_) => format!("{host}:{}", listen.port()),
    };
    org.ledger.relay = Some(RelayRecord {
        dir: dir.clone(),
        address: address.clone(),
        server_name: host.to_owned(),
        pin: pin_hex.clone(),
        shared: false,
    });
    org.save_ledger()?;
    say(out, format!("Created relay directory {}", dir.display()));
    say(
        out,
        format!("Clients connect to {address} and pin its key: {pin_hex}"),
    );
    say(
        out,
        format!(
            "Start it with: vigil-relay --config {}",
            dir.join("relay.toml").display()
        ),
    );
    Ok(())
}

/// A self-signed TLS certificate for `host`, valid from a year ago for [`RELAY_CERT_YEARS`]
/// (clients pin its key, not the certificate's chain or dates).
fn tls_certificate(host: &str, org: &str) -> Result<(rcgen::KeyPair, rcgen::Certificate)> {
    let tls_error = Error::RelayCertificate;
    let mut params = rcgen::CertificateParams::new(vec![host.to_owned()]).map_err(tls_error)?;
    let (year, month, day) = now().date();
    let ymd = |y: u64| {
        rcgen::date_time_ymd(
            i32::try_from(y).unwrap_or(9999),
            u8::try_from(month).unwrap_or(1),
            u8::try_from(day.min(28)).unwrap_or(1),
        )
    };
    params.not_before = ymd(year.saturating_sub(1));
    params.not_after = ymd(year + RELAY_CERT_YEARS);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, host);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, org);
    let key_pair = rcgen::KeyPair::generate().map_err(tls_error)?;
    let cert = params.self_signed(&key_pair).map_err(tls_error)?;
    Ok((key_pair, cert))
}

/// Writes the relay's `roots/` (own root; partner roots, each after its limits) and
/// `revocations/` (own list), and the own trust list in `roots/`.
fn fill_trust(org: &OrgDir, dir: &Path) -> Result<()> {
    let roots = dir.join("roots");
    let write_root = |root: &OrgRoot| {
        fsutil::write_atomic(
            &roots.join(root_name(root.org())),
            armor(FileKind::OrgRoot, &root.to_bytes()).as_bytes(),
        )
    };
    write_root(&org.root)?;
    for partner in org.partners()? {
        let org_id = partner.root.org();
        fsutil::write_atomic(
            &roots.join(limits_name(org_id)),
            limits_file(org_id, &partner.limits).as_bytes(),
        )?;
        write_root(&partner.root)?;
    }
    if let Some(list) = org.trust_list()? {
        fsutil::write_atomic(
            &roots.join(trust_list_name(&org.org)),
            armor(FileKind::TrustList, &list.to_bytes()).as_bytes(),
        )?;
    }
    let revocations = org.revocations()?;
    fsutil::write_atomic(
        &dir.join("revocations").join(format!("{}.vigil", org.org)),
        armor(FileKind::RevocationList, &revocations.to_bytes()).as_bytes(),
    )?;
    Ok(())
}

/// `relay use`: records a relay run by another organisation in this organisation's ledger.
pub fn use_relay(
    org_dir: &Path,
    config: Option<&Path>,
    explicit: Option<((String, String), String)>,
    out: &mut dyn Write,
) -> Result<()> {
    let mut org = OrgDir::open(org_dir)?;
    let (dir, address, host, pin) = match (config, explicit) {
        (Some(path), _) => {
            let text = fsutil::read_text(path)?;
            let value: toml::Table = toml::from_str(&text).map_err(|e| Error::corrupt(path, e))?;
            let field = |name: &'static str| {
                value
                    .get("relay")
                    .and_then(|r| r.get(name))
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| Error::corrupt(path, Damage::MissingRelayField(name)))
            };
            let listen: SocketAddr = field("listen")?
                .parse()
                .map_err(|_| Error::corrupt(path, Damage::RelayListen))?;
            let host = field("host")?;
            let address = match host.parse::<std::net::Ipv6Addr>() {
                Ok(_) => format!("[{host}]:{}", listen.port()),
                Err(_) => format!("{host}:{}", listen.port()),
            };
            let dir = path
                .parent()
                .map(Path::to_owned)
                .unwrap_or_default()
                .canonicalize()
                .map_err(|e| Error::io(path, e))?;
            (dir, address, host, field("pin")?)
        }
        (None, Some(((address, host), pin))) => (PathBuf::new(), address, host, pin),
        (None, None) => {
            return Err(Error::NoRelayGiven);
        }
    };
    check_host(&host)?;
    if address
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
    {
        return Err(Error::InvalidAddress(address));
    }
    let record = RelayRecord {
        dir,
        address: address.clone(),
        server_name: host,
        pin: pin.to_lowercase(),
        shared: true,
    };
    if record.pin_bytes().is_none() {
        return Err(Error::InvalidPin(pin));
    }
    org.ledger.relay = Some(record);
    org.save_ledger()?;
    say(
        out,
        format!(
            "Devices of {} will connect to {address}, pinning {pin}",
            org.org
        ),
    );
    say(
        out,
        "Bundles issued from now on carry this relay.".to_owned(),
    );
    Ok(())
}
