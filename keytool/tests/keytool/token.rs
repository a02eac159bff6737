//! The org root on a PKCS#11 token, with SoftHSM (`softhsm2` from Debian; `.ci/run` installs
//! it): `org init --pkcs11-module` generates the key on the token and writes no sealed key;
//! issuing, revoking and trusting sign on the token; a wrong PIN, a missing token and a label
//! already in use are clear errors that change nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vigil_keytool::orgdir::OrgDir;
use vigil_protocol::provisioning::FileKind;
use vigil_protocol::{MemberCertificate, RevocationList, TrustList};

use crate::{Env, assert_reports, read_kind};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "318274";

/// A SoftHSM configuration and an initialised token `vigil-test` in `env`'s directory, or
/// `None` (with the reason printed) when SoftHSM is not installed.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn softhsm(env: &Env) -> Option<PathBuf> {
    if !Path::new(MODULE).exists() {
        eprintln!("skipped: {MODULE} not found (apt-get install softhsm2)");
        return None;
    }
    let tokens = env.path("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = env.path("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let init = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", "vigil-test"])
        .args(["--pin", PIN, "--so-pin", "99887766"])
        .output()
        .expect("softhsm2-util runs");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    std::fs::write(env.path("pin"), format!("{PIN}\n")).unwrap();
    Some(conf)
}

/// The keytool with the token's PIN (in `pin_file`) as the passphrase source.
fn keytool(env: &Env, conf: &Path, pin_file: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil-keytool"))
        .current_dir(env.path(""))
        .env("SOFTHSM2_CONF", conf)
        .env_remove("VIGIL_PASSPHRASE")
        .args(["--error-format", "json", "--passphrase-file", pin_file])
        .args(args)
        .output()
        .unwrap()
}

fn ok(env: &Env, conf: &Path, args: &[&str]) -> String {
    let out = keytool(env, conf, "pin", args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `relay init` for `at`: bundles need a relay to point at.
fn relay(env: &Env, conf: &Path) {
    ok(
        env,
        conf,
        &[
            "relay",
            "init",
            "--org-dir",
            "at",
            "--host",
            "relay.example",
            "--listen",
            "127.0.0.1:4433",
            "--out",
            "relay",
        ],
    );
}

const INIT: [&str; 10] = [
    "org",
    "init",
    "--org",
    "CERT-AT",
    "--country",
    "AT",
    "--pkcs11-module",
    MODULE,
    "--token",
    "vigil-test",
];

#[test]
fn a_root_on_a_token_signs_members_revocations_and_trust_lists() {
    let env = Env::new();
    let Some(conf) = softhsm(&env) else { return };
    let said = ok(&env, &conf, &[&INIT[..], &["--dir", "at"]].concat());
    assert!(said.contains("generated on token vigil-test"), "{said}");
    relay(&env, &conf);
    assert!(
        !env.path("at/root-key.vigil").exists(),
        "no sealed key is written"
    );
    let org = OrgDir::open(&env.path("at")).unwrap();
    assert!(org.ledger.root_token.is_some());
    let root = org.root.clone();
    drop(org);

    ok(
        &env,
        &conf,
        &[
            "issue",
            "--org-dir",
            "at",
            "--user",
            "officer@cert-at",
            "--name",
            "Officer",
            "--role",
            "duty-officer",
            "--clearance",
            "EU SECRET",
            "--out",
            "officer.bundle",
            "--bundle-passphrase-file",
            "bundle-pass",
        ],
    );
    let cert = MemberCertificate::from_bytes(&read_kind(
        &env.path("at/certificates/1-officer@cert-at.vigil"),
        FileKind::Certificate,
    ))
    .unwrap();
    cert.verify_signature(root.key()).unwrap();

    ok(
        &env,
        &conf,
        &[
            "revoke",
            "--org-dir",
            "at",
            "--user",
            "officer@cert-at",
            "--reason",
            "laptop lost",
        ],
    );
    let list = RevocationList::from_bytes(&read_kind(
        &env.path("at/revocations.vigil"),
        FileKind::RevocationList,
    ))
    .unwrap();
    list.verify(&root).unwrap();
    assert_eq!(list.body().version, 2);

    // A partner trusted: the trust list is signed on the token too.
    std::fs::write(env.path("pass-cz"), "cz root passphrase long enough\n").unwrap();
    let out = keytool(
        &env,
        &conf,
        "pass-cz",
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
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(
        &env,
        &conf,
        &["trust", "add", "--org-dir", "at", "--partner", "cz"],
    );
    let trust = TrustList::from_bytes(&read_kind(
        &env.path("at/trust-list.vigil"),
        FileKind::TrustList,
    ))
    .unwrap();
    trust.verify(&root).unwrap();
    assert_eq!(trust.version(), 2);
}

#[test]
fn a_wrong_pin_a_missing_token_or_a_label_in_use_are_clear_errors() {
    let env = Env::new();
    let Some(conf) = softhsm(&env) else { return };
    ok(&env, &conf, &[&INIT[..], &["--dir", "at"]].concat());
    relay(&env, &conf);
    std::fs::write(env.path("wrong-pin"), "000000\n").unwrap();
    let args = [
        "issue",
        "--org-dir",
        "at",
        "--user",
        "x@cert-at",
        "--name",
        "X",
        "--role",
        "duty-officer",
        "--clearance",
        "EU RESTRICTED",
        "--out",
        "x.bundle",
        "--bundle-passphrase-file",
        "bundle-pass",
    ];
    assert_reports(
        &keytool(&env, &conf, "wrong-pin", &args),
        2,
        "wrong_pin",
        &args,
    );
    assert!(!env.path("x.bundle").exists());

    // The same label on the same token: refused, the first key untouched.
    let again = [&INIT[..], &["--dir", "at2"]].concat();
    assert_reports(
        &keytool(&env, &conf, "pin", &again),
        2,
        "token_key_exists",
        &again,
    );

    let other = [
        "org",
        "init",
        "--org",
        "CERT-AT",
        "--country",
        "AT",
        "--pkcs11-module",
        MODULE,
        "--token",
        "no-such-token",
        "--dir",
        "at3",
    ];
    assert_reports(&keytool(&env, &conf, "pin", &other), 2, "no_token", &other);
    ok(&env, &conf, &args);
}
