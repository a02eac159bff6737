//! The relay's trust while it runs (issue 21): a partner root copied into `roots/` lets its
//! members in on SIGHUP or when the directory changes, a removed root closes their
//! connections, a `roots/` that no longer loads keeps the trust in force, and a stray file in
//! `revocations/` is skipped (logged, counted) without blocking the start or later reloads.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use vigil_protocol::keys::OrgRootKeyPair;
use vigil_protocol::provisioning::{FileKind, armor};
use vigil_protocol::relay::Response;
use vigil_protocol::{LocalIdentity, RevocationList};
use vigil_tests::{Deployment, connect, now};

/// The partner's root in `roots/`, as `vigil-keytool trust add` names it.
const PARTNER_ROOT: &str = "CERT-CZ.root.vigil";

/// `GET path` on the metrics port: the status line and the body.
fn scrape(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    // In pieces, as a client may send it.
    for piece in ["GET ", path, " HTTP/1.1\r\n", "Host: localhost\r\n\r\n"] {
        stream.write_all(piece.as_bytes()).unwrap();
        stream.flush().unwrap();
    }
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// The value of the metric line starting with `name` (labels included), if any.
fn value(metrics: &str, name: &str) -> Option<u64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Whether `who` logs in.
async fn logs_in(addr: SocketAddr, d: &Deployment, who: &LocalIdentity) -> bool {
    let (connection, response) = connect(addr, d.pin, who).await;
    connection.close();
    matches!(response, Response::LoggedIn { .. })
}

/// Polls `logs_in` until it says `want` (housekeeping looks at the directories every 2 s).
async fn until_logs_in(addr: SocketAddr, d: &Deployment, who: &LocalIdentity, want: bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while logs_in(addr, d, who).await != want {
        assert!(Instant::now() < deadline, "login never became {want}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_partner_root_copied_into_roots_lets_its_members_in_and_its_removal_closes_them() {
    let d = Deployment::new(&[("alice@cert-at", 3)]);
    let mut cz = d.partner("CERT-CZ", "CZ", None);
    let petr = cz.issue("petr@cert-cz", 3);
    let root = d.roots_dir().join(PARTNER_ROOT);
    let aside = d.dir.path().join("CERT-CZ.root.vigil");
    std::fs::rename(&root, &aside).unwrap();
    let mut relay =
        vigil_tests::RelayProcess::start(Path::new(env!("CARGO_BIN_EXE_vigil-relay")), &d.config);
    assert!(!logs_in(relay.addr, &d, &petr).await, "not trusted yet");

    // SIGHUP right after the copy: the partner's member logs in, without a restart.
    std::fs::copy(&aside, &root).unwrap();
    std::process::Command::new("kill")
        .arg("-HUP")
        .arg(relay.pid().to_string())
        .status()
        .unwrap();
    until_logs_in(relay.addr, &d, &petr, true).await;

    // The root removed (no signal): petr's live connection is closed, and he is refused.
    let (mut live, response) = connect(relay.addr, d.pin, &petr).await;
    assert!(
        matches!(response, Response::LoggedIn { .. }),
        "{response:?}"
    );
    std::fs::remove_file(&root).unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(15), live.next_push()).await;
    assert!(
        matches!(closed, Ok(Ok(None) | Err(_))),
        "still connected: {closed:?}"
    );
    assert!(!logs_in(relay.addr, &d, &petr).await);
    assert!(logs_in(relay.addr, &d, &d.members["alice@cert-at"]).await);

    // Copied back without a signal: housekeeping notices the change.
    std::fs::copy(&aside, &root).unwrap();
    until_logs_in(relay.addr, &d, &petr, true).await;
    assert!(relay.is_running());
    assert!(relay.signal("TERM").success());
}

/// A revocation list signed by `key` for `org`, armoured.
fn list_file(key: &OrgRootKeyPair, org: &str, version: u64) -> String {
    let list = RevocationList::sign(
        key,
        vigil_protocol::cert::RevocationListBody {
            org: org.parse().unwrap(),
            version,
            issued_at: now(),
            entries: vec![],
        },
    );
    armor(FileKind::RevocationList, &list.to_bytes())
}

// Multi-threaded: `scrape` blocks its thread while the relay in this process answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stray_files_in_revocations_are_skipped_counted_and_block_neither_start_nor_reload() {
    let mut d = Deployment::new(&[("alice@cert-at", 3)]);
    let lost = d.issue("lost@cert-at", 3, 365);
    d.enable_metrics();
    let dir = d.revocations_dir();
    let stranger = OrgRootKeyPair::generate(&mut rand_core::OsRng);
    // Not armoured; a list of an organisation nobody trusts; CERT-AT's name, another key.
    std::fs::write(dir.join("notes.vigil"), "not a revocation list\n").unwrap();
    std::fs::write(
        dir.join("CERT-XX.vigil"),
        list_file(&stranger, "CERT-XX", 1),
    )
    .unwrap();
    std::fs::write(dir.join("forged.vigil"), list_file(&stranger, "CERT-AT", 9)).unwrap();

    let (relay, addr) = d.start().await;
    let metrics = relay.metrics_addr().unwrap();
    let (status, body) = scrape(metrics, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert_eq!(
        value(&body, "vigil_relay_revocation_files_skipped"),
        Some(3)
    );
    assert!(logs_in(addr, &d, &lost).await);

    // The administrator publishes a real revocation: applied despite the stray files.
    d.revoke(&lost, 2, "stolen");
    let reloaded = relay.reload().unwrap();
    assert!(reloaded.revocations, "{reloaded:?}");
    assert_eq!(reloaded.skipped, 3);
    assert!(
        !logs_in(addr, &d, &lost).await,
        "the revocation was not applied"
    );
    assert!(logs_in(addr, &d, &d.members["alice@cert-at"]).await);
    let (_, body) = scrape(metrics, "/metrics");
    assert_eq!(
        value(
            &body,
            "vigil_relay_revocation_list_version{org=\"CERT-AT\"}"
        ),
        Some(2)
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roots_directory_that_no_longer_loads_keeps_the_trust_in_force_and_is_counted() {
    let d = Deployment::new(&[("alice@cert-at", 3)]);
    let mut cz = d.partner("CERT-CZ", "CZ", None);
    let petr = cz.issue("petr@cert-cz", 3);
    d.enable_metrics();
    let (relay, addr) = d.start().await;
    let metrics = relay.metrics_addr().unwrap();
    assert!(logs_in(addr, &d, &petr).await);

    // A damaged file lands in roots/ while the partner's root is removed: nothing changes.
    std::fs::write(d.roots_dir().join("damaged.root.vigil"), "torn\n").unwrap();
    std::fs::remove_file(d.roots_dir().join(PARTNER_ROOT)).unwrap();
    assert!(relay.reload().is_err());
    assert!(
        logs_in(addr, &d, &petr).await,
        "the trust in force was dropped"
    );
    assert!(logs_in(addr, &d, &d.members["alice@cert-at"]).await);
    let (_, body) = scrape(metrics, "/metrics");
    let failures = value(&body, "vigil_relay_reload_failures_total{dir=\"roots\"}");
    assert!(failures >= Some(1), "{body}");
    assert_eq!(value(&body, "vigil_relay_trusted_roots"), Some(2));

    // Fixed: the removal takes effect.
    std::fs::remove_file(d.roots_dir().join("damaged.root.vigil")).unwrap();
    let reloaded = relay.reload().unwrap();
    assert_eq!(reloaded.removed, vec!["CERT-CZ".parse().unwrap()]);
    assert!(!logs_in(addr, &d, &petr).await);
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_carry_version_uptime_lists_and_disk_use_and_only_at_metrics() {
    let d = Deployment::new(&[("alice@cert-at", 3)]);
    d.enable_metrics();
    let (relay, _) = d.start().await;
    let metrics = relay.metrics_addr().unwrap();
    for path in ["/", "/metricsx", "/other", "/metrics/../x"] {
        let (status, _) = scrape(metrics, path);
        assert!(status.contains(" 404 "), "{path}: {status}");
    }
    let (status, body) = scrape(metrics, "/metrics?x=1");
    assert!(status.contains(" 200 "), "{status}");
    let version = format!(
        "vigil_relay_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&body, &version), Some(1), "{body}");
    assert!(value(&body, "vigil_relay_uptime_seconds").is_some());
    assert!(value(&body, "vigil_relay_data_dir_bytes") > Some(0));
    assert_eq!(value(&body, "vigil_relay_trusted_roots"), Some(1));
    // `org init` issues CERT-AT's first (empty) list: its version and age are there.
    assert!(
        value(
            &body,
            "vigil_relay_revocation_list_version{org=\"CERT-AT\"}"
        )
        .is_some()
    );
    let age = value(
        &body,
        "vigil_relay_revocation_list_age_seconds{org=\"CERT-AT\"}",
    );
    assert!(age.is_some_and(|a| a < 3600), "{body}");
    // And its first trust list, which the relay serves to CERT-AT's members.
    assert_eq!(
        value(&body, "vigil_relay_trust_list_version{org=\"CERT-AT\"}"),
        Some(1),
        "{body}"
    );
    let age = value(&body, "vigil_relay_trust_list_age_seconds{org=\"CERT-AT\"}");
    assert!(age.is_some_and(|a| a < 3600), "{body}");
    assert_eq!(
        value(&body, "vigil_relay_reload_failures_total{dir=\"roots\"}"),
        Some(0)
    );
    assert_eq!(
        value(&body, "vigil_relay_revocation_files_skipped"),
        Some(0)
    );
    relay.shutdown().await;
}
