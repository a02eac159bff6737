//! End-to-end fixtures: a provisioned organisation (made with `vigil-keytool`), its relay
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    clippy::indexing_slicing,
    reason = "test support: a provisioning failure is a failed test"
)]
//! running on 127.0.0.1 with port 0, and logged-in clients.

pub mod federation;
pub mod fuzz;
pub mod governance;
pub mod partner;
pub mod proxy;
pub mod relay_binary;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use vigil_client::transport::RelayConnection;
use vigil_keytool::orgdir::OrgDir;
use vigil_protocol::keys::{AgreementKeyPair, DeviceKeyPair, IdentityKeyPair, OrgRootKeyPair};
use vigil_protocol::relay::Response;
use vigil_protocol::{CertificateBody, Clearance, LocalIdentity, MemberCertificate, UnixTime};

const PASSPHRASE: &str = "end-to-end test passphrase";

/// The current time.
#[must_use]
pub fn now() -> UnixTime {
    vigil_common::now()
}

fn keytool(args: &[&str], passphrase_file: &Path) -> vigil_keytool::Result<String> {
    vigil_keytool::run_args(passphrase_file, args)
}

/// An organisation provisioned by `vigil-keytool`, with members and a relay directory.
#[derive(Debug)]
pub struct Deployment {
    /// Everything lives here; removed when dropped.
    pub dir: tempfile::TempDir,
    /// `relay.toml`.
    pub config: PathBuf,
    /// The relay's pin.
    pub pin: [u8; 32],
    root: OrgRootKeyPair,
    serial: u64,
    /// The members, by user id.
    pub members: BTreeMap<String, LocalIdentity>,
}

impl Deployment {
    /// `org init` (CERT-AT), `relay init` on 127.0.0.1:0, and members issued with clearance
    /// `EU SECRET` (level 3) unless given.
    ///
    /// # Panics
    ///
    /// When provisioning fails: the test cannot run.
    #[must_use]
    pub fn new(users: &[(&str, u8)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let pass = dir.path().join("pass");
        std::fs::write(&pass, PASSPHRASE).expect("passphrase file");
        let org = dir.path().join("org");
        let relay = dir.path().join("relay");
        let path = |p: &Path| p.to_string_lossy().into_owned();
        keytool(
            &[
                "org",
                "init",
                "--org",
                "CERT-AT",
                "--country",
                "AT",
                "--dir",
                &path(&org),
            ],
            &pass,
        )
        .expect("org init");
        keytool(
            &[
                "relay",
                "init",
                "--org-dir",
                &path(&org),
                "--host",
                "localhost",
                "--listen",
                "127.0.0.1:0",
                "--out",
                &path(&relay),
            ],
            &pass,
        )
        .expect("relay init");
        let org_dir = OrgDir::open(&org).expect("org dir");
        let vigil_keytool::orgdir::RootKey::Sealed(root) =
            org_dir.root_key(PASSPHRASE).expect("root key")
        else {
            panic!("the test organisation's root key is sealed, not on a token");
        };
        let pin = org_dir
            .ledger
            .relay
            .as_ref()
            .and_then(|r| r.pin_bytes())
            .expect("relay pin");
        drop(org_dir);
        let mut deployment = Self {
            config: relay.join("relay.toml"),
            pin,
            root,
            serial: 100,
            members: BTreeMap::new(),
            dir,
        };
        for (user, level) in users {
            let member = deployment.issue(user, *level, 365);
            deployment.members.insert((*user).to_owned(), member);
        }
        deployment
    }

    /// Issues a member certificate directly with the root key (`days` of validity, possibly 0
    /// for an already expired one).
    ///
    /// # Panics
    ///
    /// On an invalid user id.
    pub fn issue(&mut self, user: &str, level: u8, days: u64) -> LocalIdentity {
        self.serial += 1;
        certify(&self.root, "CERT-AT", self.serial, user, level, days)
    }

    /// Issues a member certificate valid from an hour ago until `not_after` (seconds may do:
    /// a member whose certificate expires while connected).
    ///
    /// # Panics
    ///
    /// On an invalid user id.
    pub fn issue_until(&mut self, user: &str, level: u8, not_after: UnixTime) -> LocalIdentity {
        self.serial += 1;
        certify_until(&self.root, "CERT-AT", self.serial, user, level, not_after)
    }

    /// Rewrites a limit in `relay.toml` (before the relay starts).
    ///
    /// # Panics
    ///
    /// When the file cannot be rewritten.
    pub fn set_limit(&self, name: &str, value: u64) {
        let text = std::fs::read_to_string(&self.config).expect("relay.toml");
        let mut out = String::new();
        for line in text.lines() {
            if line.starts_with(&format!("{name} = ")) {
                out.push_str(&format!("{name} = {value}\n"));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        std::fs::write(&self.config, out).expect("relay.toml");
    }

    /// Turns on the metrics endpoint (on 127.0.0.1, port 0).
    pub fn enable_metrics(&self) {
        let text = std::fs::read_to_string(&self.config).expect("relay.toml");
        let text = text.replace(
            "# metrics = \"127.0.0.1:9464\"",
            "metrics = \"127.0.0.1:0\"",
        );
        std::fs::write(&self.config, text).expect("relay.toml");
    }

    /// The relay's data directory.
    #[must_use]
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("relay/data")
    }

    /// The relay's revocations directory.
    #[must_use]
    pub fn revocations_dir(&self) -> PathBuf {
        self.dir.path().join("relay/revocations")
    }

    /// Signs a revocation list of `version` revoking `member`'s certificate and writes it into
    /// the relay's revocations directory, as an administrator publishing a revocation would.
    pub fn revoke(&self, member: &LocalIdentity, version: u64, reason: &str) {
        let body = vigil_protocol::cert::RevocationListBody {
            org: "CERT-AT".parse().expect("org"),
            version,
            issued_at: now(),
            entries: vec![vigil_protocol::RevokedCertificate {
                serial: member.certificate().body().serial,
                user: member.user().clone(),
                revoked_at: now(),
                reason: reason.parse().expect("reason"),
            }],
        };
        let list = vigil_protocol::RevocationList::sign(&self.root, body);
        let kind = vigil_protocol::provisioning::FileKind::RevocationList;
        std::fs::write(
            self.revocations_dir().join("CERT-AT.vigil"),
            vigil_protocol::provisioning::armor(kind, &list.to_bytes()),
        )
        .expect("revocation list written");
    }

    /// Starts the relay in this process.
    ///
    /// # Panics
    ///
    /// When it cannot start.
    #[must_use]
    pub async fn start(&self) -> (vigil_server::Relay, SocketAddr) {
        let config = vigil_server::Config::load(&self.config).expect("config");
        let relay = vigil_server::Relay::start(&config)
            .await
            .expect("relay starts");
        let addr = relay.local_addr().expect("address");
        (relay, addr)
    }
}

/// A certificate of `org` for `user` (a duty officer with EU clearance `level`, valid for
/// `days`, 0 for an already expired one), signed directly with `root`.
///
/// # Panics
///
/// On an invalid organisation or user id.
#[must_use]
pub fn certify(
    root: &OrgRootKeyPair,
    org: &str,
    serial: u64,
    user: &str,
    level: u8,
    days: u64,
) -> LocalIdentity {
    let now = now();
    let not_after = if days == 0 {
        UnixTime(now.0 - 60)
    } else {
        now.plus_days(days)
    };
    certify_until(root, org, serial, user, level, not_after)
}

/// Issues a certificate of `org` valid from an hour ago until `not_after`.
///
/// # Panics
///
/// On an invalid org or user id.
#[must_use]
pub fn certify_until(
    root: &OrgRootKeyPair,
    org: &str,
    serial: u64,
    user: &str,
    level: u8,
    not_after: UnixTime,
) -> LocalIdentity {
    let mut rng = rand_core::OsRng;
    let identity = IdentityKeyPair::generate(&mut rng);
    let agreement = AgreementKeyPair::generate(&mut rng);
    let now = now();
    let body = CertificateBody {
        serial,
        org: org.parse().expect("org"),
        user: user.parse().expect("user id"),
        display_name: user.parse().expect("name"),
        roles: vec!["duty-officer".parse().expect("role")],
        clearance: Clearance {
            policy: "EU".parse().expect("policy"),
            level,
        },
        identity_key: identity.public(),
        agreement_key: agreement.public(),
        not_before: UnixTime(now.0 - 3600),
        not_after,
    };
    let certificate = MemberCertificate::issue(root, body).expect("certificate");
    LocalIdentity::new(certificate, identity, agreement).expect("identity")
}

/// A client endpoint on 127.0.0.1.
///
/// # Panics
///
/// When no socket can be bound.
#[must_use]
pub fn endpoint() -> quinn::Endpoint {
    quinn::Endpoint::client("127.0.0.1:0".parse().expect("address")).expect("client endpoint")
}

/// The device key a test member logs in with: one per member, the same at every connection
/// (the relay binds a certificate to one device). Derived from the public identity key, so
/// only for tests: a real device draws its key at random and keeps it sealed.
#[must_use]
pub fn device_of(identity: &LocalIdentity) -> DeviceKeyPair {
    DeviceKeyPair::from_seed(identity.certificate().body().identity_key.as_bytes())
}

/// Connects and logs in (as the member's one test device, [`device_of`]); returns the
/// connection and the relay's answer.
///
/// # Panics
///
/// When the connection itself fails.
pub async fn connect(
    addr: SocketAddr,
    pin: [u8; 32],
    identity: &LocalIdentity,
) -> (RelayConnection, Response) {
    let device = device_of(identity);
    RelayConnection::connect(&endpoint(), addr, "localhost", pin, identity, &device)
        .await
        .expect("connects")
}

/// A `vigil-relay` child process (the real binary), killed when dropped.
#[derive(Debug)]
pub struct RelayProcess {
    child: std::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl RelayProcess {
    /// Starts `binary --config CONFIG` and reads its startup line.
    ///
    /// # Panics
    ///
    /// When it does not start.
    #[must_use]
    pub fn start(binary: &Path, config: &Path) -> Self {
        Self::start_with(binary, config, None)
    }

    /// Starts the relay with its files limited to `max_file_kib` KiB each (`ulimit -f`, with
    /// SIGXFSZ ignored so a write past it fails with an error instead of killing the process):
    /// a full disk, as far as the relay can tell.
    ///
    /// # Panics
    ///
    /// When it does not start.
    #[must_use]
    pub fn start_with_full_disk(binary: &Path, config: &Path, max_file_kib: u64) -> Self {
        Self::start_with(binary, config, Some(max_file_kib))
    }

    fn start_with(binary: &Path, config: &Path, max_file_kib: Option<u64>) -> Self {
        let mut command = match max_file_kib {
            Some(kib) => {
                let mut c = std::process::Command::new("bash");
                c.arg("-c")
                    .arg(format!(
                        "trap '' XFSZ; ulimit -f {kib}; exec \"$0\" --config \"$1\""
                    ))
                    .arg(binary)
                    .arg(config);
                c
            }
            None => {
                let mut c = std::process::Command::new(binary);
                c.arg("--config").arg(config);
                c
            }
        };
        command.env("RUST_LOG", "warn");
        Self::spawn(command)
    }

    /// Starts `command` (a relay, or another server printing the same kind of startup line:
    /// `... listening on ADDRESS ...` first on stdout) and reads where it listens.
    ///
    /// # Panics
    ///
    /// When it does not start.
    #[must_use]
    pub fn spawn(mut command: std::process::Command) -> Self {
        use std::io::BufRead as _;
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("vigil-relay starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("startup line");
        let addr = line
            .split_once("listening on ")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected startup line {line:?}"))
            .parse()
            .expect("address");
        Self { child, addr }
    }

    /// The process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (e.g. `TERM`, `KILL`) and waits for the process to end.
    ///
    /// # Panics
    ///
    /// When `kill` cannot run.
    pub fn signal(&mut self, signal: &str) -> std::process::ExitStatus {
        std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        self.child.wait().expect("wait")
    }

    /// Whether the process is still running.
    ///
    /// # Panics
    ///
    /// When its status cannot be read.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("status").is_none()
    }

    /// CPU time the process has used so far (user + system, all threads, Linux), in seconds.
    #[must_use]
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.child.id())
    }

    /// Resident memory of the process in KiB (Linux), when known.
    #[must_use]
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

/// CPU time process `pid` has used (user + system, all its threads, from `/proc/PID/stat`),
/// in seconds; `None` off Linux or when the process is gone.
#[must_use]
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    /// Clock ticks per second of `/proc` figures: `USER_HZ`, 100 on every Linux architecture
    /// Vigil builds for.
    const USER_HZ: f64 = 100.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir` with its bytes, sorted by path (for greps of stores and data
/// directories, and before/after comparisons).
///
/// # Panics
///
/// When the directory cannot be read.
#[must_use]
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                // (Not a socket: the relay's admin socket lives in its data directory.)
                let bytes = std::fs::read(&path).expect("readable file");
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}
