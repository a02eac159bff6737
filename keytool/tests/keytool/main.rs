//! `vigil-keytool` end to end: the real binary, in temporary directories, from org init to
//! inspect, and every bad input the issue names. Partner trust and its limits: [`partners`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

mod members;
mod partners;
mod token;
mod trust_lists;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vigil_keytool::Error;
use vigil_keytool::error::Damage;
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair};
use vigil_protocol::provisioning::{
    ArmorError, BundleContents, CertificateRequest, FileKind, SealedFile, armor, dearmor,
};
use vigil_protocol::{CertError, MemberCertificate, OrgRoot, RevocationList, TrustStore, UnixTime};

const PASSPHRASE: &str = "correct horse battery staple";

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let env = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(env.path("pass"), format!("{PASSPHRASE}\n")).unwrap();
        std::fs::write(env.path("bundle-pass"), "one-time bundle passphrase\n").unwrap();
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs the keytool with the org passphrase file and no inherited passphrase.
    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vigil-keytool"));
        command
            .current_dir(self.dir.path())
            .env_remove("VIGIL_PASSPHRASE")
            .arg("--passphrase-file")
            .arg(self.path("pass"))
            .args(args);
        command.output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "{args:?} wrote to stderr on success");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command with `--error-format json` that must fail with exit code `code` and one
    /// line on stderr: the JSON report of an error of `kind`.
    fn fails(&self, args: &[&str], code: i32, kind: &str) {
        let out = self.run(&[&["--error-format", "json"], args].concat());
        assert_reports(&out, code, kind, args);
    }

    /// `org init` of `org` (e.g. `CERT-CZ`) in the country its id ends with (`CZ`).
    fn org(&self, org: &str, dir: &str) {
        let country = org.rsplit('-').next().unwrap();
        self.ok(&[
            "org",
            "init",
            "--org",
            org,
            "--country",
            country,
            "--dir",
            dir,
        ]);
    }

    fn relay(&self, org_dir: &str) {
        self.ok(&[
            "relay",
            "init",
            "--org-dir",
            org_dir,
            "--host",
            "relay.cert-at.example",
            "--listen",
            "0.0.0.0:4433",
            "--out",
            "relay",
        ]);
    }

    fn issue(&self, user: &str, clearance: &str, out: &str) -> String {
        self.ok(&[
            "issue",
            "--org-dir",
            "at",
            "--user",
            user,
            "--name",
            "Duty Officer",
            "--role",
            "duty-officer",
            "--clearance",
            clearance,
            "--out",
            out,
            "--bundle-passphrase-file",
            "bundle-pass",
        ])
    }
}

/// Asserts that `out` failed with exit code `code` and one line on stderr, the JSON report of an
/// error of `kind` with that code and a message.
fn assert_reports(out: &Output, code: i32, kind: &str, args: &[&str]) {
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: one line on stderr, got {stderr:?}"
    );
    let head = format!(r#"{{"error":"{kind}","code":{code},"message":""#);
    let line = stderr.trim_end_matches('\n');
    assert!(
        line.starts_with(&head) && line.ends_with("\"}") && line.len() > head.len() + 2,
        "{args:?}: expected a report of {kind:?}, got {stderr:?}"
    );
}

/// Runs the keytool in this process (absolute paths only), for its typed error.
fn run(env: &Env, args: &[&str]) -> Result<String, Error> {
    let pass = env.path("pass");
    let mut argv = vec!["vigil-keytool", "--passphrase-file", pass.to_str().unwrap()];
    argv.extend_from_slice(args);
    let cli = <vigil_keytool::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();
    let mut out = Vec::new();
    vigil_keytool::run(cli, &mut out).map(|()| String::from_utf8(out).unwrap())
}

/// `env.path(name)` as an argument.
fn p(env: &Env, name: &str) -> String {
    env.path(name).to_string_lossy().into_owned()
}

fn read_kind(path: &Path, kind: FileKind) -> Vec<u8> {
    let (found, bytes) = dearmor(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(found, kind, "{}", path.display());
    bytes
}

fn open_bundle(path: &Path, passphrase: &str) -> BundleContents {
    let sealed = SealedFile::from_bytes(&read_kind(path, FileKind::EnrollmentBundle)).unwrap();
    BundleContents::open(&sealed, passphrase.as_bytes()).unwrap()
}

fn trust_from(org_dir: &Path) -> TrustStore {
    let mut trust = TrustStore::new();
    let root =
        OrgRoot::from_bytes(&read_kind(&org_dir.join("root.vigil"), FileKind::OrgRoot)).unwrap();
    trust.add_root(root).unwrap();
    let list = RevocationList::from_bytes(&read_kind(
        &org_dir.join("revocations.vigil"),
        FileKind::RevocationList,
    ))
    .unwrap();
    trust.update_revocations(list).unwrap();
    trust
}

/// Every file under `dir` with its contents, for "nothing was modified" checks.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn assert_private(dir: &Path) {
    for path in snapshot(dir).keys() {
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", path.display());
        assert!(
            !path.to_string_lossy().contains(".tmp-"),
            "temporary file left: {}",
            path.display()
        );
        let parent = path.parent().unwrap();
        let mode = std::fs::metadata(parent).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} has mode {mode:o}", parent.display());
    }
}

fn now() -> UnixTime {
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

#[test]
fn org_init_relay_init_issue_revoke_trust_inspect() {
    let env = Env::new();
    let out = env.ok(&[
        "org",
        "init",
        "--org",
        "cert-at",
        "--country",
        "at",
        "--dir",
        "at",
    ]);
    assert!(out.contains("Created organisation CERT-AT (AT)"), "{out}");
    assert!(out.contains("Root fingerprint:"), "{out}");
    env.relay("at");
    let relay_toml = std::fs::read_to_string(env.path("relay/relay.toml")).unwrap();
    let table: toml::Table = relay_toml.parse().unwrap();
    assert_eq!(table["relay"]["listen"].as_str(), Some("0.0.0.0:4433"));
    assert_eq!(
        table["limits"]["max_frame_bytes"].as_integer(),
        Some(1024 * 1024)
    );
    assert!(
        relay_toml.contains("# Largest frame a client may send"),
        "limits are commented"
    );

    // Three members, one with a generated passphrase printed once.
    env.issue("officer1@cert-at", "EU SECRET", "o1.bundle");
    env.issue("officer2@cert-at", "CZ:VYHRAZENÉ", "o2.bundle");
    let out = env.ok(&[
        "issue",
        "--org-dir",
        "at",
        "--user",
        "lead@cert-at",
        "--name",
        "Incident Lead",
        "--role",
        "incident-lead",
        "--role",
        "duty-officer",
        "--clearance",
        "streng geheim",
        "--days",
        "30",
        "--out",
        "lead.bundle",
    ]);
    let generated = out
        .lines()
        .find_map(|l| {
            l.split_once("separately from the bundle): ")
                .map(|(_, p)| p.to_owned())
        })
        .expect("a generated passphrase");
    assert_eq!(generated.len(), 24, "{generated}");

    // The bundles open, and their certificates validate in vigil-protocol.
    let trust = trust_from(&env.path("at"));
    let o1 = open_bundle(&env.path("o1.bundle"), "one-time bundle passphrase");
    let o2 = open_bundle(&env.path("o2.bundle"), "one-time bundle passphrase");
    let lead = open_bundle(&env.path("lead.bundle"), &generated);
    for bundle in [&o1, &o2, &lead] {
        bundle.local_identity().unwrap();
        trust
            .verify_certificate(bundle.certificate(), now())
            .unwrap();
        assert_eq!(
            bundle.relay().address.as_str(),
            "relay.cert-at.example:4433"
        );
        assert_eq!(bundle.roots().len(), 1);
    }
    assert_eq!(o1.certificate().body().clearance.level, 3);
    assert_eq!(o2.certificate().body().clearance.level, 1);
    assert_eq!(lead.certificate().body().clearance.level, 4);
    assert_eq!(lead.certificate().body().roles.len(), 2);
    let serials: Vec<u64> = [&o1, &o2, &lead]
        .iter()
        .map(|b| b.certificate().body().serial)
        .collect();
    assert_eq!(serials, [1, 2, 3]);

    // Revoke officer2: the new list is signed, newer, published to the relay, and refuses it.
    let out = env.ok(&[
        "revoke",
        "--org-dir",
        "at",
        "--user",
        "officer2@cert-at",
        "--reason",
        "laptop lost",
    ]);
    assert!(out.contains("Revocation list version 2"), "{out}");
    let trust = trust_from(&env.path("at"));
    let err = trust
        .verify_certificate(o2.certificate(), now())
        .unwrap_err();
    assert!(
        matches!(err, CertError::Revoked { serial: 2, .. }),
        "{err:?}"
    );
    trust.verify_certificate(o1.certificate(), now()).unwrap();
    let relay_list = RevocationList::from_bytes(&read_kind(
        &env.path("relay/revocations/CERT-AT.vigil"),
        FileKind::RevocationList,
    ))
    .unwrap();
    assert_eq!(relay_list.body().version, 2);
    // After revocation the member can be issued again.
    env.issue("officer2@cert-at", "EU RESTRICTED", "o2-new.bundle");

    // A partner organisation, trusted with the fingerprint its administrator read out.
    env.org("CERT-CZ", "cz");
    let cz_root =
        OrgRoot::from_bytes(&read_kind(&env.path("cz/root.vigil"), FileKind::OrgRoot)).unwrap();
    let out = env.ok(&[
        "trust",
        "add",
        "--org-dir",
        "at",
        "--partner",
        "cz",
        "--fingerprint",
        &cz_root.fingerprint(),
    ]);
    assert!(out.contains("Now trusting CERT-CZ"), "{out}");
    let out = env.ok(&[
        "trust",
        "add",
        "--org-dir",
        "at",
        "--partner",
        "cz/root.vigil",
    ]);
    assert!(out.contains("already trusted"), "{out}");
    let list = env.ok(&["trust", "list", "--org-dir", "at"]);
    assert!(
        list.contains("CERT-AT") && list.contains("CERT-CZ"),
        "{list}"
    );
    assert!(list.contains(&cz_root.fingerprint()), "{list}");
    assert!(env.path("relay/roots/CERT-CZ.root.vigil").is_file());
    env.issue("officer4@cert-at", "EU SECRET", "o4.bundle");
    assert_eq!(
        open_bundle(&env.path("o4.bundle"), "one-time bundle passphrase")
            .roots()
            .len(),
        2
    );

    // Inspect every kind of file; nothing secret is printed.
    let cert = "at/certificates/1-officer1@cert-at.vigil";
    for (file, needle) in [
        ("at/root.vigil", "self-signature: valid"),
        ("at/root-key.vigil", "contents are never shown"),
        ("o1.bundle", "officer1@cert-at"),
        ("relay/relay.toml", "max_frame_bytes"),
        ("at/org.toml", "revoked"),
        (cert, "not checked"),
    ] {
        let out = env.ok(&["inspect", file]);
        assert!(out.contains(needle), "inspect {file}: {out}");
        assert!(
            !out.contains(
                &o1.local_identity()
                    .unwrap()
                    .identity()
                    .to_seed()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            )
        );
    }
    let out = env.ok(&["inspect", "--org-dir", "at", cert]);
    assert!(
        out.contains("signature:     valid") && out.contains("not revoked"),
        "{out}"
    );
    let out = env.ok(&[
        "inspect",
        "--org-dir",
        "at",
        "at/certificates/2-officer2@cert-at.vigil",
    ]);
    assert!(
        out.contains("REVOKED") && out.contains("laptop lost"),
        "{out}"
    );
    let out = env.ok(&["inspect", "--root", "at/root.vigil", "at/revocations.vigil"]);
    assert!(
        out.contains("version:       2") && out.contains("signature:     valid"),
        "{out}"
    );

    assert_private(&env.path("at"));
    assert_private(&env.path("relay"));
    for bundle in ["o1.bundle", "o2.bundle", "lead.bundle"] {
        let mode = std::fs::metadata(env.path(bundle))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{bundle}");
    }
}

#[test]
fn sign_request_certifies_keys_generated_on_the_device() {
    let env = Env::new();
    env.org("CERT-AT", "at");
    let mut rng = rand_core::OsRng;
    let identity = IdentityKeyPair::generate(&mut rng);
    let agreement = AgreementKeyPair::generate(&mut rng);
    let request = CertificateRequest::new(
        &identity,
        agreement.public(),
        "officer5@cert-at".parse().unwrap(),
        "Jana Nováková".parse().unwrap(),
        now(),
    );
    std::fs::write(
        env.path("o5.request"),
        armor(FileKind::CertificateRequest, &request.to_bytes()),
    )
    .unwrap();
    let out = env.ok(&["inspect", "o5.request"]);
    assert!(out.contains("proof of possession: valid"), "{out}");
    let out = env.ok(&[
        "sign-request",
        "o5.request",
        "--org-dir",
        "at",
        "--role",
        "duty-officer",
        "--clearance",
        "EU CONFIDENTIAL",
        "--out",
        "o5.cert",
    ]);
    assert!(out.contains(&identity.public().fingerprint()), "{out}");
    let cert =
        MemberCertificate::from_bytes(&read_kind(&env.path("o5.cert"), FileKind::Certificate))
            .unwrap();
    let verified = trust_from(&env.path("at"))
        .verify_certificate(&cert, now())
        .unwrap();
    assert_eq!(verified.body().identity_key, identity.public());
    assert_eq!(verified.body().display_name.as_str(), "Jana Nováková");

    // A request whose proof of possession was forged is refused by policy (exit 1).
    let mut forged = request.to_bytes();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    std::fs::write(
        env.path("forged.request"),
        armor(FileKind::CertificateRequest, &forged),
    )
    .unwrap();
    env.fails(
        &[
            "sign-request",
            "forged.request",
            "--org-dir",
            "at",
            "--role",
            "duty-officer",
            "--clearance",
            "EU SECRET",
            "--out",
            "x.cert",
        ],
        1,
        "bad_request_signature",
    );
    env.fails(&["inspect", "forged.request"], 1, "bad_request_signature");
    assert!(!env.path("x.cert").exists());
}

/// An org with a relay, ready for the bad-input tests.
fn ready() -> Env {
    let env = Env::new();
    env.org("CERT-AT", "at");
    env.relay("at");
    env.issue("officer1@cert-at", "EU SECRET", "o1.bundle");
    env
}

fn issue_args<'a>(user: &'a str, clearance: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "issue",
        "--org-dir",
        "at",
        "--user",
        user,
        "--name",
        "N",
        "--role",
        "duty-officer",
        "--clearance",
        clearance,
        "--out",
        out,
        "--bundle-passphrase-file",
        "bundle-pass",
    ]
}

#[test]
fn wrong_passphrase_is_one_clear_error_and_modifies_nothing() {
    let env = ready();
    let before = snapshot(&env.path("at"));
    std::fs::write(env.path("pass"), "not the passphrase at all\n").unwrap();
    env.fails(
        &issue_args("officer2@cert-at", "EU SECRET", "o2.bundle"),
        2,
        "wrong_passphrase",
    );
    env.fails(
        &[
            "revoke",
            "--org-dir",
            "at",
            "--user",
            "officer1@cert-at",
            "--reason",
            "x",
        ],
        2,
        "wrong_passphrase",
    );
    assert_eq!(snapshot(&env.path("at")), before);
    assert!(!env.path("o2.bundle").exists());
}

#[test]
fn corrupt_and_truncated_files_are_named() {
    let env = ready();
    let list = ["trust", "list", "--org-dir", &p(&env, "at")];
    std::fs::write(env.path("at/root-key.vigil"), "garbage\n").unwrap();
    env.fails(
        &issue_args("officer2@cert-at", "EU SECRET", "o2.bundle"),
        2,
        "corrupt",
    );
    let revoke = [
        "revoke",
        "--org-dir",
        &p(&env, "at"),
        "--user",
        "officer1@cert-at",
    ];
    let garbage = run(&env, &[&revoke[..], &["--reason", "x"]].concat());
    assert!(
        matches!(&garbage, Err(Error::Corrupt { path, why })
            if matches!(**why, Damage::Armor(ArmorError::NotVigil)) && path.ends_with("at/root-key.vigil")),
        "{garbage:?}"
    );
    let root = std::fs::read_to_string(env.path("at/root.vigil")).unwrap();
    std::fs::write(env.path("at/root.vigil"), &root[..root.len() / 2]).unwrap();
    env.fails(&["trust", "list", "--org-dir", "at"], 2, "corrupt");
    let truncated = run(&env, &list);
    assert!(
        matches!(&truncated, Err(Error::Corrupt { path, why })
            if matches!(**why, Damage::Armor(ArmorError::Truncated(_))) && path.ends_with("at/root.vigil")),
        "{truncated:?}"
    );
    std::fs::write(env.path("at/org.toml"), "next_serial = \"many\"\n").unwrap();
    env.fails(&["trust", "list", "--org-dir", "at"], 2, "corrupt");
    let ledger = run(&env, &list);
    assert!(
        matches!(&ledger, Err(Error::Corrupt { path, why })
            if matches!(**why, Damage::Toml(_)) && path.ends_with("at/org.toml")),
        "{ledger:?}"
    );
    assert!(!env.path("o2.bundle").exists());
}

#[test]
fn missing_directory_unknown_clearance_duplicate_user_and_overwrite_are_refused() {
    let env = ready();
    env.fails(&["trust", "list", "--org-dir", "nowhere"], 2, "not_org_dir");
    env.fails(
        &issue_args("officer2@cert-at", "COSMIC TOP SECRET", "o2.bundle"),
        2,
        "unknown_clearance",
    );
    env.fails(
        &issue_args("officer1@cert-at", "EU SECRET", "again.bundle"),
        2,
        "already_issued",
    );
    env.fails(
        &issue_args("spy@cert-cz", "EU SECRET", "spy.bundle"),
        2,
        "not_in_org",
    );
    env.fails(
        &issue_args("officer2@cert-at", "EU SECRET", "o1.bundle"),
        2,
        "exists",
    );
    env.fails(
        &[
            "org",
            "init",
            "--org",
            "CERT-AT",
            "--country",
            "AT",
            "--dir",
            "at",
        ],
        2,
        "exists",
    );
    env.fails(
        &[
            "revoke",
            "--org-dir",
            "at",
            "--user",
            "nobody@cert-at",
            "--reason",
            "x",
        ],
        2,
        "nothing_to_revoke",
    );
    for bundle in ["o2.bundle", "again.bundle", "spy.bundle"] {
        assert!(!env.path(bundle).exists(), "{bundle}");
    }
    // Serials are never reused: refused issues did not burn or reuse one.
    env.issue("officer2@cert-at", "EU SECRET", "o2.bundle");
    let bundle = open_bundle(&env.path("o2.bundle"), "one-time bundle passphrase");
    assert_eq!(bundle.certificate().body().serial, 2);
}

#[test]
fn issue_needs_a_relay_and_passphrases_need_a_source() {
    let env = Env::new();
    env.org("CERT-AT", "at");
    env.fails(
        &issue_args("officer1@cert-at", "EU SECRET", "o1.bundle"),
        2,
        "no_relay",
    );
    // Without --error-format, the same failure is one line of text for the administrator,
    // and the flag is accepted after the subcommand too.
    let args = issue_args("officer1@cert-at", "EU SECRET", "o1.bundle");
    let text = env.run(&args);
    let stderr = String::from_utf8(text.stderr).unwrap();
    assert_eq!(text.status.code(), Some(2));
    assert!(
        stderr.starts_with("vigil-keytool: ") && stderr.lines().count() == 1,
        "{stderr:?}"
    );
    let late = env.run(&[&args[..], &["--error-format", "json"]].concat());
    assert_reports(&late, 2, "no_relay", &args);
    let out = Command::new(env!("CARGO_BIN_EXE_vigil-keytool"))
        .current_dir(env.dir.path())
        .env_remove("VIGIL_PASSPHRASE")
        .args([
            "--error-format",
            "json",
            "org",
            "init",
            "--org",
            "CERT-CZ",
            "--country",
            "CZ",
            "--dir",
            "cz",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_reports(&out, 2, "no_passphrase", &["org", "init"]);
    assert!(!env.path("cz").exists());
    std::fs::write(env.path("pass"), "short\n").unwrap();
    env.fails(
        &[
            "org",
            "init",
            "--org",
            "CERT-CZ",
            "--country",
            "CZ",
            "--dir",
            "cz",
        ],
        2,
        "weak_passphrase",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_vigil-keytool"))
        .current_dir(env.dir.path())
        .env("VIGIL_PASSPHRASE", PASSPHRASE)
        .args([
            "org",
            "init",
            "--org",
            "CERT-CZ",
            "--country",
            "CZ",
            "--dir",
            "cz",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "VIGIL_PASSPHRASE is a passphrase source"
    );
}

#[test]
fn tampered_certificates_and_wrong_partner_fingerprints_are_refused_by_verification() {
    let env = ready();
    let cert_path = env.path("at/certificates/1-officer1@cert-at.vigil");
    let mut bytes = read_kind(&cert_path, FileKind::Certificate);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(
        env.path("tampered.cert"),
        armor(FileKind::Certificate, &bytes),
    )
    .unwrap();
    env.fails(
        &["inspect", "--org-dir", "at", "tampered.cert"],
        1,
        "bad_signature",
    );

    env.org("CERT-CZ", "cz");
    env.fails(
        &[
            "trust",
            "add",
            "--org-dir",
            "at",
            "--partner",
            "cz",
            "--fingerprint",
            "0000 1111",
        ],
        1,
        "fingerprint_mismatch",
    );
    env.ok(&["trust", "add", "--org-dir", "at", "--partner", "cz"]);
    // A second CERT-CZ root (an impostor) is refused.
    env.org("CERT-CZ", "impostor");
    env.fails(
        &["trust", "add", "--org-dir", "at", "--partner", "impostor"],
        1,
        "root_conflict",
    );
    env.fails(
        &["trust", "add", "--org-dir", "at", "--partner", "at"],
        2,
        "own_root",
    );
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for args in [
        vec!["org", "init"],
        vec!["relay", "init"],
        vec!["issue"],
        vec!["sign-request"],
        vec!["revoke"],
        vec!["trust", "add"],
        vec!["trust", "list"],
        vec!["inspect"],
        vec!["members", "list"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil-keytool"))
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            help.contains("Example"),
            "{args:?} --help has no example:\n{help}"
        );
    }
}
