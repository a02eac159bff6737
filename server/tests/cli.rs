//! The relay binary's operator conventions (issue 21): `--check-config` checks what the
//! configuration claims against the files it names (the real pin, the certificate's names,
//! a metrics address on loopback).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::process::{Command, Output};

use vigil_server::check::{CheckError, check};
use vigil_tests::Deployment;

const RELAY: &str = env!("CARGO_BIN_EXE_vigil-relay");

/// `relay.toml` with the line setting `key` replaced by `key = value` (added under `[relay]`
/// when there is none).
fn set(d: &Deployment, key: &str, value: &str) {
    let text = std::fs::read_to_string(&d.config).unwrap();
    let line = format!("{key} = {value}");
    let replaced: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key} = ")) {
                line.clone()
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(replaced.contains(&line), "no line for {key}");
    std::fs::write(&d.config, replaced.join("\n") + "\n").unwrap();
}

fn check_config(d: &Deployment) -> Output {
    Command::new(RELAY)
        .arg("--config")
        .arg(&d.config)
        .arg("--check-config")
        .output()
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn checked(d: &Deployment) -> Result<vigil_server::check::Checked, CheckError> {
    check(&vigil_server::Config::load(&d.config).unwrap())
}

#[test]
fn check_config_prints_the_certificates_pin_and_refuses_a_configured_one_that_differs() {
    let d = Deployment::new(&[]);
    let out = check_config(&d);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(&format!("pin {}", hex(&d.pin))), "{stdout}");

    set(&d, "pin", &format!("\"{}\"", "ab".repeat(32)));
    assert_eq!(check_config(&d).status.code(), Some(2));
    assert!(
        matches!(checked(&d), Err(CheckError::Pin { actual, .. }) if actual == hex(&d.pin)),
        "the computed pin is not the one clients check"
    );
}

#[test]
fn check_config_refuses_a_host_the_certificate_is_not_for() {
    let d = Deployment::new(&[]);
    set(&d, "host", "\"relay.example.org\"");
    assert_eq!(check_config(&d).status.code(), Some(2));
    assert!(
        matches!(checked(&d), Err(CheckError::Host { host, .. }) if host == "relay.example.org")
    );
}

#[test]
fn check_config_refuses_metrics_beyond_loopback() {
    let d = Deployment::new(&[]);
    set(&d, "metrics", "\"127.0.0.1:9464\"");
    assert!(check_config(&d).status.success());
    set(&d, "metrics", "\"0.0.0.0:9464\"");
    assert_eq!(check_config(&d).status.code(), Some(2));
    assert!(matches!(checked(&d), Err(CheckError::Metrics { .. })));
    set(&d, "metrics", "\"[::1]:9464\"");
    assert!(checked(&d).is_ok());
}

#[test]
fn a_config_error_names_the_line_and_the_key() {
    let d = Deployment::new(&[]);
    set(&d, "keep_alive_secs", "\"often\"");
    let text = std::fs::read_to_string(&d.config).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("keep_alive_secs"))
        .unwrap()
        + 1;
    assert_eq!(check_config(&d).status.code(), Some(2));
    assert!(matches!(
        vigil_server::Config::load(&d.config),
        Err(vigil_server::ConfigError::Line { line: l, key: Some(k), .. }) if l == line && k == "keep_alive_secs"
    ));
}

/// The relay's log (standard error) up to its startup line, with `args` and `env`.
fn startup_log(d: &Deployment, args: &[&str], env: &[(&str, &str)]) -> String {
    let log = d.dir.path().join("relay.log");
    let mut command = Command::new(RELAY);
    command
        .arg("--config")
        .arg(&d.config)
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("JOURNAL_STREAM")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.contains("listening on"), "{line:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::read_to_string(&log).unwrap()
}

#[test]
fn json_logs_are_one_json_object_per_line() {
    let d = Deployment::new(&[]);
    let log = startup_log(&d, &["--log-format", "json"], &[]);
    let mut listening = false;
    for line in log.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            value["level"].is_string() && value["timestamp"].is_string(),
            "{line}"
        );
        listening |= value["fields"]["message"] == "vigil-relay listening";
    }
    assert!(listening, "{log}");
}

#[test]
fn text_logs_read_by_the_journal_carry_no_timestamp() {
    let d = Deployment::new(&[]);
    let stamped = startup_log(&d, &[], &[]);
    assert!(
        stamped
            .lines()
            .all(|l| l.starts_with(|c: char| c.is_ascii_digit())),
        "{stamped}"
    );
    let journal = startup_log(&d, &[], &[("JOURNAL_STREAM", "8:12345")]);
    assert!(journal.contains("vigil-relay listening"), "{journal}");
    assert!(
        journal
            .lines()
            .all(|l| !l.starts_with(|c: char| c.is_ascii_digit())),
        "{journal}"
    );
}
