//! The `vigil` binary: `vigil demo` without a terminal, `--help`, `vigil request` end to end
//! with `vigil-keytool sign-request`, `vigil read` facing a hostile member's text, and the log
//! file in the home directory.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use vigil_protocol::provisioning::{FileKind, dearmor};
use vigil_tests::federation::Federation;

#[test]
fn demo_without_a_terminal_runs_headless_and_prints_the_transcript() {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("demo")
        .env_remove("VIGIL_HOME")
        .env_remove("VIGIL_RELAY")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let banner = "==== TLP:AMBER | EU RESTRICTED | REL TO AT,CZ ====";
    assert_eq!(stdout.matches(banner).count(), 2, "{stdout}");
    for expected in [
        "added you to ransomware-linz-2026",
        "203.0.113.47:443",
        "Petra Svobodová <petra@cert-cz> (unverified): CERT-CZ here",
        "changed the label to TLP:AMBER | EU RESTRICTED | REL TO AT,CZ",
        "refused: intern@cert-at has clearance UNCLASSIFIED; channel requires EU RESTRICTED",
        "Handover note for the day shift",
        // Confirmed end to end by every member (issue 21) by the time the transcript prints.
        "Anna Huber <officer@cert-at> (you) [delivered]",
        "Thanks Anna, noted",
        "now removed",
    ] {
        assert!(stdout.contains(expected), "{expected:?} missing:\n{stdout}");
    }
}

#[test]
fn help_explains_the_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for command in [
        "demo", "enroll", "channel", "send", "read", "verify", "export", "request",
    ] {
        assert!(help.contains(command), "{command}: {help}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["request", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("Example"));
}

#[test]
fn request_keeps_keys_sealed_here_and_is_signed_by_the_keytool() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .current_dir(dir.path())
            .env("VIGIL_PASSPHRASE", "my device passphrase")
            .arg("--home")
            .arg(&home)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[
        "request",
        "--user",
        "officer2@cert-at",
        "--name",
        "Jana Nováková",
        "--out",
        "o2.request",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let fingerprint = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Your identity key fingerprint: "))
        .unwrap();

    let pending = home.join("pending-identity.vigil");
    let (kind, _) = dearmor(&std::fs::read_to_string(&pending).unwrap()).unwrap();
    assert_eq!(kind, FileKind::PendingIdentity);
    assert_eq!(
        std::fs::metadata(&pending).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&home).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // A second request on the same device is refused and changes nothing.
    let before = std::fs::read(&pending).unwrap();
    let again = run(&[
        "--error-format",
        "json",
        "request",
        "--user",
        "officer2@cert-at",
        "--name",
        "J",
        "--out",
        "again.request",
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .starts_with(r#"{"error":"already_pending","code":2,"message":"#),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read(&pending).unwrap(), before);
    assert!(!dir.path().join("again.request").exists());

    // The administrator signs it (the keytool's library, in this process).
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(dir.path().join("admin-pass"), "administrator passphrase\n").unwrap();
    let keytool = |args: &[&str]| {
        let mut argv = vec![
            "vigil-keytool".to_owned(),
            "--passphrase-file".to_owned(),
            path("admin-pass"),
        ];
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        let cli = <vigil_keytool::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();
        let mut out = Vec::new();
        vigil_keytool::run(cli, &mut out).map(|()| String::from_utf8(out).unwrap())
    };
    keytool(&[
        "org",
        "init",
        "--org",
        "CERT-AT",
        "--country",
        "AT",
        "--dir",
        &path("at"),
    ])
    .unwrap();
    let signed = keytool(&[
        "sign-request",
        &path("o2.request"),
        "--org-dir",
        &path("at"),
        "--role",
        "duty-officer",
        "--clearance",
        "EU RESTRICTED",
        "--out",
        &path("o2.cert"),
    ])
    .unwrap();
    assert!(signed.contains(fingerprint), "{signed}");
}

/// Finding 11: a member sends an OSC title change, BEL, a carriage return and a right-to-left
/// override; `vigil read` shows them escaped, as text and as JSON, never raw.
#[test]
fn read_escapes_control_and_bidi_characters_in_text_and_json() {
    let vigil = Path::new(env!("CARGO_BIN_EXE_vigil"));
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let [lead, officer]: [_; 2] = fed
        .enroll_all(
            vigil,
            relay.addr,
            &[
                ("lead@cert-at", "EU SECRET"),
                ("officer@cert-at", "EU SECRET"),
            ],
        )
        .try_into()
        .unwrap();
    lead.open_ops_channel(vigil, "officer@cert-at");
    let hostile = "pwn\u{1b}]0;pwned\u{7}\r\u{202e}gpj.exe";
    officer.run(vigil, &["send", "ops", hostile]).ok();
    let plain = lead.run(vigil, &["read", "ops"]).ok();
    let json = lead.run(vigil, &["read", "ops", "--json"]).ok();
    for out in [&plain.stdout, &plain.stderr, &json.stdout, &json.stderr] {
        for c in ['\u{1b}', '\r', '\u{7}', '\u{202e}'] {
            assert!(!out.contains(c), "raw {c:?} in {out:?}");
        }
    }
    assert!(
        plain
            .stdout
            .contains(r"pwn\u{1b}]0;pwned\u{7}\u{d}\u{202e}gpj.exe"),
        "{}",
        plain.stdout
    );
    assert!(
        json.stdout
            .contains(r#""text":"pwn\u001b]0;pwned\u0007\r\u202egpj.exe""#),
        "{}",
        json.stdout
    );
}

/// The log is `<home>/vigil.log`, private, appended to by every run, and never on the
/// terminal: a failing command still prints exactly its one line on stderr.
#[test]
fn logs_go_to_a_private_file_in_the_home_never_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let request = |out: &str| {
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .current_dir(dir.path())
            .env("VIGIL_PASSPHRASE", "my device passphrase")
            .env("RUST_LOG", "debug")
            .arg("--home")
            .arg(&home)
            .args(["request", "--user", "officer2@cert-at", "--name", "Jana"])
            .args(["--out", out])
            .output()
            .unwrap()
    };
    let first = request("o2.request");
    assert!(first.status.success(), "{first:?}");
    assert!(first.stderr.is_empty(), "{first:?}");
    let log = home.join("vigil.log");
    assert_eq!(
        std::fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("INFO") && l.contains("certificate request written")),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "ANSI codes in {text:?}");

    let again = request("again.request");
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(String::from_utf8(again.stderr).unwrap().lines().count(), 1);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("certificate request written"), "{text}");
    assert!(text.contains("command failed"), "{text}");
}
