//! A federation provisioned the way administrators do it, with `vigil-keytool`: several
//! organisations that trust each other, one shared relay run by the first, and members issued
//! enrollment bundles. The relay runs in this process on 127.0.0.1, port 0; members are real
//! `vigil` processes (see [`Member`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The org root passphrase of every organisation (test only).
const ADMIN_PASSPHRASE: &str = "federation admin passphrase";
/// Every bundle's one-time passphrase (test only).
const BUNDLE_PASSPHRASE: &str = "federation bundle passphrase";
/// Every member's store passphrase (test only).
pub const STORE_PASSPHRASE: &str = "federation store passphrase";

/// Several organisations trusting each other, sharing one relay.
#[derive(Debug)]
pub struct Federation {
    /// Everything lives here; removed when dropped.
    pub dir: tempfile::TempDir,
    /// The shared relay's `relay.toml`.
    pub config: PathBuf,
    orgs: Vec<String>,
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

impl Federation {
    /// `org init` for each of `orgs` (e.g. `CERT-AT`, in the country its id ends with),
    /// `relay init` by the first, `relay use` by the others, and `trust add` between every pair
    /// up to EU TOP SECRET: these stories test channels, not partner limits (the keytool's,
    /// protocol's and relay's own tests do).
    ///
    /// # Panics
    ///
    /// When provisioning fails: the test cannot run.
    #[must_use]
    pub fn new(orgs: &[&str]) -> Self {
        let this = Self::untrusted(orgs);
        for a in orgs {
            for b in orgs {
                if a != b {
                    this.trust(a, b, "EU TOP SECRET");
                }
            }
        }
        this
    }

    /// As [`Self::new`], without any `trust add`: each organisation trusts only itself until a
    /// test calls [`Self::trust`].
    ///
    /// # Panics
    ///
    /// When provisioning fails: the test cannot run.
    #[must_use]
    pub fn untrusted(orgs: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, value) in [
            ("admin-pass", ADMIN_PASSPHRASE),
            ("bundle-pass", BUNDLE_PASSPHRASE),
            ("store-pass", STORE_PASSPHRASE),
        ] {
            std::fs::write(dir.path().join(name), value).expect("passphrase file");
        }
        let this = Self {
            config: dir.path().join("relay/relay.toml"),
            orgs: orgs.iter().map(|o| (*o).to_owned()).collect(),
            dir,
        };
        for org in orgs {
            this.keytool(&[
                "org",
                "init",
                "--org",
                org,
                "--country",
                org.rsplit('-').next().expect("CERT-CC"),
                "--dir",
                &path(&this.org_dir(org)),
            ]);
        }
        let relay = this.dir.path().join("relay");
        this.keytool(&[
            "relay",
            "init",
            "--org-dir",
            &path(&this.org_dir(orgs[0])),
            "--host",
            "localhost",
            "--listen",
            "127.0.0.1:0",
            "--out",
            &path(&relay),
        ]);
        for org in &orgs[1..] {
            this.keytool(&[
                "relay",
                "use",
                "--org-dir",
                &path(&this.org_dir(org)),
                "--config",
                &path(&this.config),
            ]);
        }
        this
    }

    /// `trust add`: `org` trusts `partner` up to `max_clearance` (signing and publishing its
    /// next trust list).
    ///
    /// # Panics
    ///
    /// When the keytool fails.
    pub fn trust(&self, org: &str, partner: &str, max_clearance: &str) {
        self.keytool(&[
            "trust",
            "add",
            "--org-dir",
            &path(&self.org_dir(org)),
            "--partner",
            &path(&self.org_dir(partner)),
            "--max-clearance",
            max_clearance,
        ]);
    }

    /// The shared relay's `roots/` directory.
    #[must_use]
    pub fn relay_roots(&self) -> PathBuf {
        self.dir.path().join("relay/roots")
    }

    /// Runs `vigil-keytool` (in this process) with the admin passphrase.
    ///
    /// # Panics
    ///
    /// When it fails.
    pub fn keytool(&self, args: &[&str]) -> String {
        let pass = self.dir.path().join("admin-pass");
        crate::keytool(args, &pass).unwrap_or_else(|e| panic!("vigil-keytool {args:?}: {e}"))
    }

    /// The organisation directory of `org`.
    #[must_use]
    pub fn org_dir(&self, org: &str) -> PathBuf {
        self.dir.path().join(org.to_lowercase())
    }

    /// The file holding every member's store passphrase.
    #[must_use]
    pub fn store_passphrase_file(&self) -> PathBuf {
        self.dir.path().join("store-pass")
    }

    /// Issues `user` of the organisation named in their id (`name@cert-at` → `CERT-AT`) with
    /// `clearance`; returns the bundle.
    ///
    /// # Panics
    ///
    /// When issuing fails.
    #[must_use]
    pub fn issue(&self, user: &str, clearance: &str) -> PathBuf {
        let org = self.org_of(user);
        let bundle = self.bundle(user);
        self.keytool(&[
            "issue",
            "--org-dir",
            &path(&self.org_dir(&org)),
            "--user",
            user,
            "--name",
            &display_name(user),
            "--role",
            "duty-officer",
            "--clearance",
            clearance,
            "--out",
            &path(&bundle),
            "--bundle-passphrase-file",
            &path(&self.dir.path().join("bundle-pass")),
        ]);
        bundle
    }

    /// Where [`Self::issue`] writes `user`'s bundle.
    #[must_use]
    pub fn bundle(&self, user: &str) -> PathBuf {
        self.dir.path().join(format!("{user}.bundle"))
    }

    fn org_of(&self, user: &str) -> String {
        let domain = user.rsplit_once('@').map_or("", |(_, d)| d);
        self.orgs
            .iter()
            .find(|o| o.eq_ignore_ascii_case(domain))
            .cloned()
            .unwrap_or_else(|| panic!("{user} belongs to no organisation of this federation"))
    }

    /// Revokes every certificate of `user`; the list reaches the relay's directory, which
    /// reloads it within seconds.
    pub fn revoke(&self, user: &str, reason: &str) {
        let org = self.org_of(user);
        self.keytool(&[
            "revoke",
            "--org-dir",
            &path(&self.org_dir(&org)),
            "--user",
            user,
            "--reason",
            reason,
        ]);
    }

    /// Makes the relay listen on `addr` from its next start (to restart it where its clients
    /// expect it, as a real relay would be).
    ///
    /// # Panics
    ///
    /// When `relay.toml` cannot be rewritten.
    pub fn listen_on(&self, addr: SocketAddr) {
        let text = std::fs::read_to_string(&self.config).expect("relay.toml");
        let text: String = text
            .lines()
            .map(|line| {
                if line.starts_with("listen = ") {
                    format!("listen = \"{addr}\"\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        std::fs::write(&self.config, text).expect("relay.toml");
    }

    /// Opens `user`'s bundle (as `vigil enroll` does) and enrolls an engine in a new home.
    ///
    /// # Panics
    ///
    /// When enrolling fails.
    #[must_use]
    pub fn engine(&self, user: &str, bundle: &Path) -> vigil_client::engine::Engine {
        let contents =
            vigil_client::engine::open_bundle(bundle, BUNDLE_PASSPHRASE).expect("bundle");
        let home = self.dir.path().join("engines").join(user);
        vigil_client::engine::Engine::enroll(&home, contents, STORE_PASSPHRASE, crate::now())
            .expect("enroll")
    }

    /// The relay's data directory.
    #[must_use]
    pub fn relay_data(&self) -> PathBuf {
        self.dir.path().join("relay/data")
    }

    /// Starts the shared relay in this process (on its own runtime).
    ///
    /// # Panics
    ///
    /// When it cannot start.
    #[must_use]
    pub fn start_relay(&self) -> RunningRelay {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let config = vigil_server::Config::load(&self.config).expect("relay config");
        let relay = runtime
            .block_on(vigil_server::Relay::start(&config))
            .expect("relay starts");
        let addr = relay.local_addr().expect("relay address");
        RunningRelay {
            runtime,
            relay: Some(relay),
            addr,
        }
    }

    /// Issues and enrolls `users` (id, clearance) with the `vigil` at `binary`, against the
    /// relay at `relay`.
    ///
    /// # Panics
    ///
    /// When issuing or enrolling fails.
    #[must_use]
    pub fn enroll_all(
        &self,
        binary: &Path,
        relay: SocketAddr,
        users: &[(&str, &str)],
    ) -> Vec<Member> {
        users
            .iter()
            .map(|(user, clearance)| {
                let bundle = self.issue(user, clearance);
                let mut member = self.member(user);
                member.use_relay(relay);
                member.enroll(binary, &bundle);
                member
            })
            .collect()
    }

    /// A member with their own home directory (not yet enrolled).
    #[must_use]
    pub fn member(&self, user: &str) -> Member {
        Member {
            user: user.to_owned(),
            home: self.dir.path().join("homes").join(user),
            passphrase_file: self.store_passphrase_file(),
            bundle_passphrase_file: self.dir.path().join("bundle-pass"),
            relay: None,
        }
    }
}

fn display_name(user: &str) -> String {
    let name = user.split('@').next().unwrap_or(user);
    let mut chars = name.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().collect::<String>() + chars.as_str()
    })
}

/// The shared relay, running in this process until dropped (or [`RunningRelay::stop`]).
#[derive(Debug)]
pub struct RunningRelay {
    runtime: tokio::runtime::Runtime,
    relay: Option<vigil_server::Relay>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl RunningRelay {
    /// Shuts the relay down gracefully (everything acknowledged is on disk).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(relay) = self.relay.take() {
            self.runtime.block_on(relay.shutdown());
        }
    }
}

impl Drop for RunningRelay {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A member's device: the real `vigil` binary with its own home directory.
#[derive(Debug, Clone)]
pub struct Member {
    /// Their user id.
    pub user: String,
    /// Their home directory.
    pub home: PathBuf,
    passphrase_file: PathBuf,
    bundle_passphrase_file: PathBuf,
    relay: Option<SocketAddr>,
}

/// What a `vigil` run printed and returned.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with everything printed unless the exit code is `code`.
    ///
    /// # Panics
    ///
    /// On another exit code.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit code {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The kind of the failure reported on standard error by a run with `--error-format json`
    /// (`{"error": KIND, "code": N, "message": REASON}`, the last line: notes come before it).
    ///
    /// # Panics
    ///
    /// When standard error holds no such object, or its code is not the exit code.
    #[must_use]
    pub fn error_kind(&self) -> String {
        let line = self.stderr.trim().lines().last().unwrap_or_default();
        let kind = line
            .strip_prefix("{\"error\":\"")
            .and_then(|rest| rest.split_once('"'))
            .map(|(kind, _)| kind.to_owned())
            .unwrap_or_else(|| panic!("no JSON error on stderr: {line}"));
        assert!(
            line.contains(&format!("\"code\":{},", self.code)),
            "the reported code is not the exit code {}: {line}",
            self.code
        );
        kind
    }

    /// Panics unless the run succeeded.
    ///
    /// # Panics
    ///
    /// On a non-zero exit code.
    pub fn ok(self) -> Self {
        self.expect_code(0)
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Member {
    /// Connect to the relay at `addr` (it listens on port 0, so not where the bundle says).
    pub fn use_relay(&mut self, addr: SocketAddr) {
        self.relay = Some(addr);
    }

    /// The `vigil` command for this member: `binary --home HOME --passphrase-file F ARGS`,
    /// with the relay address override and a clean environment.
    #[must_use]
    pub fn command(&self, binary: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(binary);
        command
            .arg("--home")
            .arg(&self.home)
            .arg("--passphrase-file")
            .arg(&self.passphrase_file)
            .args(args)
            .env_remove("VIGIL_PASSPHRASE")
            .env_remove("VIGIL_HOME")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null());
        match self.relay {
            Some(addr) => command.env("VIGIL_RELAY", addr.to_string()),
            None => command.env_remove("VIGIL_RELAY"),
        };
        command
    }

    /// Runs `vigil ARGS` and waits for it.
    ///
    /// # Panics
    ///
    /// When the binary cannot be started.
    #[must_use]
    pub fn run(&self, binary: &Path, args: &[&str]) -> Run {
        self.command(binary, args)
            .output()
            .expect("vigil runs")
            .into()
    }

    /// Creates channel `ops` (`TLP:AMBER`, `EU RESTRICTED`) owned by this member and invites
    /// `invitee`.
    ///
    /// # Panics
    ///
    /// When either command fails.
    pub fn open_ops_channel(&self, binary: &Path, invitee: &str) {
        self.run(
            binary,
            &[
                "channel",
                "create",
                "ops",
                "--tlp",
                "TLP:AMBER",
                "--level",
                "EU RESTRICTED",
            ],
        )
        .ok();
        self.run(binary, &["channel", "invite", "ops", invitee])
            .ok();
    }

    /// `vigil OPTIONS enroll BUNDLE` with this member's bundle passphrase, whatever it
    /// answers (`options`: e.g. `--offline`). Panics when the binary cannot be started.
    #[must_use]
    pub fn try_enroll(&self, binary: &Path, options: &[&str], bundle: &Path) -> Run {
        let pass = path(&self.bundle_passphrase_file);
        let bundle = path(bundle);
        let mut args = options.to_vec();
        args.extend(["enroll", &bundle, "--bundle-passphrase-file", &pass]);
        self.run(binary, &args)
    }

    /// `vigil enroll` with this member's bundle. Panics when enrolling fails.
    pub fn enroll(&self, binary: &Path, bundle: &Path) {
        let run = self.try_enroll(binary, &[], bundle).ok();
        assert!(
            run.stdout
                .contains("Published your certificate and prekeys"),
            "{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

/// The message texts of `vigil read` output: `TIME  Name <id> (trust) [delivery]: TEXT`.
#[must_use]
pub fn texts(read_stdout: &str) -> Vec<String> {
    read_stdout
        .lines()
        .filter_map(|l| {
            let (_, after) = l.split_once("> (")?;
            let (_, text) = after.split_once(": ")?;
            Some(text.to_owned())
        })
        .collect()
}

impl Member {
    /// The texts `vigil read CHANNEL` shows this member (the command must succeed).
    ///
    /// # Panics
    ///
    /// When it fails.
    #[must_use]
    pub fn read_texts(&self, binary: &Path, channel: &str) -> Vec<String> {
        texts(&self.run(binary, &["read", channel]).ok().stdout)
    }
}
