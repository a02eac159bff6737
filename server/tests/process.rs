//! The real `vigil-relay` binary as a child process: startup line, `--check-config`, graceful
//! shutdown on SIGTERM, kill -9 losing no acknowledged message, and plain-text logs.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::process::Command;
use std::time::Duration;

use vigil_protocol::relay::{ClientMessageId, Push, Request, Response};
use vigil_server::StartError;
use vigil_tests::{Deployment, connect};

/// The relay binary of this build.
struct RelayProcess;

impl RelayProcess {
    fn start(d: &Deployment) -> vigil_tests::RelayProcess {
        vigil_tests::RelayProcess::start(
            std::path::Path::new(env!("CARGO_BIN_EXE_vigil-relay")),
            &d.config,
        )
    }
}

/// Everything pushed until the relay falls silent (the first push may take a while on a busy
/// machine; later ones follow at once).
async fn deliveries(connection: &mut vigil_client::transport::RelayConnection) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut wait = Duration::from_secs(10);
    while let Ok(Ok(Some(push))) = tokio::time::timeout(wait, connection.next_push()).await {
        if let Push::Deliver { payload, .. } = push {
            out.push(payload);
        }
        wait = Duration::from_millis(700);
    }
    out
}

fn send(i: u8) -> Request {
    Request::Send {
        id: ClientMessageId([i; 16]),
        recipients: vec!["bob@cert-at".parse().unwrap()],
        level: None,
        payload: vec![i; 64],
    }
}

#[test]
fn check_config_reports_the_relay_and_refuses_a_broken_file() {
    let d = Deployment::new(&[]);
    let out = Command::new(env!("CARGO_BIN_EXE_vigil-relay"))
        .arg("--config")
        .arg(&d.config)
        .arg("--check-config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(": ok (listen 127.0.0.1:0") && stdout.contains("roots CERT-AT"),
        "{stdout}"
    );
    std::fs::write(&d.config, "[relay]\nlisten = 'nowhere'\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vigil-relay"))
        .arg("--config")
        .arg(&d.config)
        .arg("--check-config")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // What it reported names the file to fix.
    assert!(
        matches!(
            vigil_server::Config::load(&d.config),
            Err(ref e) if e.path() == d.config
        ),
        "the error does not name {}",
        d.config.display()
    );
}

#[tokio::test]
async fn a_data_directory_holding_fewer_messages_than_counted_is_refused() {
    let d = Deployment::new(&[]);
    std::fs::create_dir_all(d.data_dir()).unwrap();
    std::fs::write(d.data_dir().join("stored"), "5\n").unwrap();
    let config = vigil_server::Config::load(&d.config).unwrap();
    let refused = vigil_server::Relay::start(&config).await.map(drop);
    assert!(
        matches!(
            refused,
            Err(StartError::MessagesLost {
                stored: 0,
                seen: 5,
                ..
            })
        ),
        "{refused:?}"
    );
}

#[test]
fn logs_written_to_a_file_are_plain_text() {
    let d = Deployment::new(&[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil-relay"))
        .arg("--config")
        .arg(&d.config)
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.contains("listening on"), "{line:?}");
    // The log line is written before the startup line; nothing more is needed.
    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(log.contains("vigil-relay listening"), "{log}");
    assert!(!log.contains('\x1b'), "colour codes in a log file: {log:?}");
}

#[tokio::test]
async fn kill_9_and_sigterm_lose_no_acknowledged_message() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    let mut relay = RelayProcess::start(&d);
    let (bob, _) = connect(relay.addr, d.pin, &d.members["bob@cert-at"]).await;
    bob.close();
    let (alice, _) = connect(relay.addr, d.pin, &d.members["alice@cert-at"]).await;
    for i in 1..=20 {
        assert_eq!(
            alice.request(&send(i)).await.unwrap(),
            Response::Sent { duplicate: false }
        );
    }
    // kill -9 right after the acknowledgements: all 20 must survive.
    let status = relay.signal("KILL");
    assert!(!status.success());
    let mut relay = RelayProcess::start(&d);
    let (mut bob, response) = connect(relay.addr, d.pin, &d.members["bob@cert-at"]).await;
    assert!(
        matches!(response, Response::LoggedIn { pending: 20, .. }),
        "{response:?}"
    );
    let got = deliveries(&mut bob).await;
    assert_eq!(
        got,
        (1..=20).map(|i| vec![i; 64]).collect::<Vec<_>>(),
        "in order, each once"
    );
    bob.close();
    // SIGTERM: a graceful shutdown that keeps everything.
    let (alice, _) = connect(relay.addr, d.pin, &d.members["alice@cert-at"]).await;
    assert_eq!(
        alice.request(&send(21)).await.unwrap(),
        Response::Sent { duplicate: false }
    );
    assert!(relay.signal("TERM").success(), "SIGTERM exits 0");
    let relay = RelayProcess::start(&d);
    let (mut bob, _) = connect(relay.addr, d.pin, &d.members["bob@cert-at"]).await;
    assert_eq!(deliveries(&mut bob).await.len(), 21);
}

#[tokio::test]
async fn sighup_reloads_revocations_and_keeps_running() {
    let mut d = Deployment::new(&[("alice@cert-at", 3)]);
    let lost = d.issue("lost@cert-at", 3, 365);
    let mut relay = RelayProcess::start(&d);
    let (_, response) = connect(relay.addr, d.pin, &lost).await;
    assert!(
        matches!(response, Response::LoggedIn { .. }),
        "{response:?}"
    );
    d.revoke(&lost, 2, "stolen");
    Command::new("kill")
        .arg("-HUP")
        .arg(relay.pid().to_string())
        .status()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(relay.is_running(), "SIGHUP stopped the relay");
    let (_, response) = connect(relay.addr, d.pin, &lost).await;
    assert!(matches!(response, Response::Error(_)), "{response:?}");
    let (_, response) = connect(relay.addr, d.pin, &d.members["alice@cert-at"]).await;
    assert!(
        matches!(response, Response::LoggedIn { .. }),
        "{response:?}"
    );
    assert!(relay.signal("TERM").success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_data_directory_is_refused_or_loses_records_but_never_alters_one() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    let mut relay = RelayProcess::start(&d);
    let (alice, _) = connect(relay.addr, d.pin, &d.members["alice@cert-at"]).await;
    let (bob, _) = connect(relay.addr, d.pin, &d.members["bob@cert-at"]).await;
    bob.close();
    let sent: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 64]).collect();
    for i in 0..20 {
        let _ = alice.request(&send(i)).await.unwrap();
    }
    alice.close();
    // The relay records how many messages it stored every 2 s (data/stored).
    let stored = d.data_dir().join("stored");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&stored)
        .ok()
        .as_deref()
        .map(str::trim)
        != Some("20")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the stored count was not recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    relay.signal("KILL");
    let db = d.data_dir().join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    for i in (100..bytes.len().min(60_000)).step_by(997) {
        bytes[i] ^= 0xFF;
    }
    std::fs::write(&db, &bytes).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil-relay"))
        .arg("--config")
        .arg(&d.config)
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Either it refuses to start, clearly (a checksum failed on the verification pass)...
    let mut line = String::new();
    let started = std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap()
        > 0;
    if !started {
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(2), "{stderr}");
        // Either refusal (damaged, or fewer messages than counted) names the data directory.
        assert!(
            stderr.contains(&d.data_dir().display().to_string()),
            "{stderr}"
        );
        println!(
            "damaged data directory: refused at start: {}",
            stderr.trim()
        );
        return;
    }
    // ...or sled recovered up to the damage (as after a torn write): records may be missing,
    // never altered; recipients see a loss as a gap, and the end-to-end AEAD rejects anything
    // altered anyway.
    let addr: std::net::SocketAddr = line
        .strip_prefix("vigil-relay listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let (mut bob, _) = connect(addr, d.pin, &d.members["bob@cert-at"]).await;
    let got = deliveries(&mut bob).await;
    let _ = child.kill();
    let _ = child.wait();
    for payload in &got {
        assert!(
            sent.contains(payload),
            "an altered record was served: {payload:?}"
        );
    }
    println!(
        "damaged data directory: started; {} of {} stored messages recovered unaltered",
        got.len(),
        sent.len()
    );
}
