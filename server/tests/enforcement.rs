//! What the relay enforces on members who are already logged in (issue 14, findings 5 and 9):
//! a member revoked or expired while connected is closed and refused, live clients are pushed
//! the new revocation lists, and bundle fetches are rate-limited so that no member drains
//! another's one-time prekeys. Relays run in this process on 127.0.0.1, port 0; members speak
//! raw QUIC where the test needs the close code.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::net::SocketAddr;
use std::time::Duration;

use vigil_client::transport::client_config;
use vigil_protocol::prekey::PrekeyStore;
use vigil_protocol::relay::{
    ClientMessageId, ErrorCode, LOGIN_EXPORTER_LABEL, LOGIN_EXPORTER_LEN, Push, RelayError,
    Request, Response, decode_frame, encode_frame, login_request,
};
use vigil_protocol::{LocalIdentity, UnixTime, UserId};
use vigil_server::server::close;
use vigil_tests::{Deployment, connect, now};

fn user(name: &str) -> UserId {
    name.parse().unwrap()
}

/// Connects over raw QUIC and logs in as `who`.
async fn raw_login(addr: SocketAddr, pin: [u8; 32], who: &LocalIdentity) -> quinn::Connection {
    let connection = vigil_tests::endpoint()
        .connect_with(client_config(pin).unwrap(), addr, "localhost")
        .unwrap()
        .await
        .unwrap();
    let mut exporter = [0u8; LOGIN_EXPORTER_LEN];
    connection
        .export_keying_material(&mut exporter, LOGIN_EXPORTER_LABEL, b"")
        .unwrap();
    let device = vigil_tests::device_of(who);
    let login = login_request(who.certificate(), who.identity(), &device, &exporter);
    let response = exchange(&connection, &login).await;
    assert!(
        matches!(response, Some(Response::LoggedIn { .. })),
        "{response:?}"
    );
    connection
}

/// One request on its own stream; `None` when the connection or the stream failed.
async fn exchange(connection: &quinn::Connection, request: &Request) -> Option<Response> {
    let (mut send, mut recv) = connection.open_bi().await.ok()?;
    send.write_all(&encode_frame(request)).await.ok()?;
    let _ = send.finish();
    let body = tokio::time::timeout(Duration::from_secs(10), recv.read_to_end(2 << 20))
        .await
        .ok()?
        .ok()?;
    decode_frame(body.get(4..)?).ok()
}

/// The application close code the relay closed `connection` with (waiting up to 15 s).
async fn close_code(connection: &quinn::Connection) -> Option<u32> {
    match tokio::time::timeout(Duration::from_secs(15), connection.closed()).await {
        Ok(quinn::ConnectionError::ApplicationClosed(close)) => {
            u32::try_from(close.error_code.into_inner()).ok()
        }
        other => panic!("not closed by the relay: {other:?}"),
    }
}

fn refused_with(response: &Option<Response>, code: ErrorCode) -> bool {
    matches!(response, Some(Response::Error(RelayError { code: c, .. })) if *c == code)
}

fn send_to(recipient: &str, id: u8) -> Request {
    Request::Send {
        id: ClientMessageId([id; 16]),
        recipients: vec![user(recipient)],
        level: None,
        payload: vec![id; 32],
    }
}

#[tokio::test]
async fn a_member_revoked_while_connected_is_closed_at_the_reload_and_refused_after_it() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    let (relay, addr) = d.start().await;
    let alice = raw_login(addr, d.pin, &d.members["alice@cert-at"]).await;
    let bob = raw_login(addr, d.pin, &d.members["bob@cert-at"]).await;
    let sent = exchange(&bob, &send_to("alice@cert-at", 1)).await;
    assert_eq!(sent, Some(Response::Sent { duplicate: false }));

    // The administrator publishes a list revoking bob; the relay reloads it (as on SIGHUP).
    d.revoke(&d.members["bob@cert-at"], 2, "laptop lost");
    assert!(relay.reload().unwrap().revocations);

    // Whatever bob sends now is refused (or cannot even reach the relay): never stored.
    let after = exchange(&bob, &send_to("alice@cert-at", 2)).await;
    assert!(
        after.is_none() || refused_with(&after, ErrorCode::LoginRefused),
        "a revoked member was served: {after:?}"
    );
    assert_eq!(close_code(&bob).await, Some(close::CERTIFICATE_REFUSED));
    // Alice, still valid, is still served.
    let response = exchange(&alice, &Request::Revocations).await;
    assert!(
        matches!(response, Some(Response::Revocations { .. })),
        "{response:?}"
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn a_member_whose_certificate_expires_while_connected_is_refused_then_closed() {
    let mut d = Deployment::new(&[("alice@cert-at", 3)]);
    let not_after = UnixTime(now().0 + 3);
    let brief = d.issue_until("temp@cert-at", 3, not_after);
    let (relay, addr) = d.start().await;
    let temp = raw_login(addr, d.pin, &brief).await;
    let mut served = 0;
    for _ in 0..150 {
        let asked_at = now();
        let response = exchange(&temp, &Request::Revocations).await;
        match response {
            Some(Response::Revocations { .. }) => {
                assert!(asked_at < not_after, "served after the certificate expired");
                served += 1;
            }
            None => break,
            Some(Response::Error(RelayError {
                code: ErrorCode::LoginRefused,
                ..
            })) => {
                assert!(now() >= not_after, "refused before the certificate expired");
                break;
            }
            other => panic!("{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served > 0, "never served while valid");
    assert_eq!(close_code(&temp).await, Some(close::CERTIFICATE_REFUSED));
    assert!(now() >= not_after);
    relay.shutdown().await;
}

#[tokio::test]
async fn live_clients_are_pushed_the_new_lists_when_a_revocation_is_published() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    let (relay, addr) = d.start().await;
    let (mut alice, response) = connect(addr, d.pin, &d.members["alice@cert-at"]).await;
    assert!(
        matches!(response, Response::LoggedIn { .. }),
        "{response:?}"
    );
    let bob = raw_login(addr, d.pin, &d.members["bob@cert-at"]).await;

    // Written into the revocations directory only: the relay's housekeeping notices it.
    let bob_serial = d.members["bob@cert-at"].certificate().body().serial;
    d.revoke(&d.members["bob@cert-at"], 2, "stolen");
    let lists = loop {
        match tokio::time::timeout(Duration::from_secs(15), alice.next_push()).await {
            Ok(Ok(Some(Push::Revocations { lists }))) => break lists,
            Ok(Ok(Some(_))) => {}
            other => panic!("no Revocations push: {other:?}"),
        }
    };
    let list = lists
        .iter()
        .find(|l| l.body().org.as_str() == "CERT-AT")
        .unwrap();
    assert_eq!(list.body().version, 2);
    assert!(list.find(bob_serial).is_some(), "{list:?}");
    assert_eq!(close_code(&bob).await, Some(close::CERTIFICATE_REFUSED));
    relay.shutdown().await;
}

/// Publishes `count` one-time prekeys for `who` (and a signed prekey); returns the store.
async fn publish_prekeys(
    addr: SocketAddr,
    d: &Deployment,
    who: &str,
    count: usize,
) -> (quinn::Connection, PrekeyStore) {
    let identity = &d.members[who];
    let mut store = PrekeyStore::new(&mut rand_core::OsRng, identity, now());
    let one_time =
        store.generate_one_time_prekeys(&mut rand_core::OsRng, identity.identity(), count);
    let connection = raw_login(addr, d.pin, identity).await;
    let request = Request::PublishPrekeys {
        signed_prekey: store.signed_prekey().unwrap().clone(),
        one_time_prekeys: one_time,
    };
    let expected = u32::try_from(count).unwrap();
    assert_eq!(
        exchange(&connection, &request).await,
        Some(Response::Published {
            one_time_prekeys: expected
        })
    );
    (connection, store)
}

/// How many one-time prekeys the relay holds for the owner of `connection` (publishing none).
async fn stock(connection: &quinn::Connection, store: &PrekeyStore) -> u32 {
    let request = Request::PublishPrekeys {
        signed_prekey: store.signed_prekey().unwrap().clone(),
        one_time_prekeys: Vec::new(),
    };
    match exchange(connection, &request).await {
        Some(Response::Published { one_time_prekeys }) => one_time_prekeys,
        other => panic!("{other:?}"),
    }
}

/// Fetches bob's bundle: `Some(true)` with a one-time prekey, `Some(false)` without, `None`
/// when refused with `RateLimited`.
async fn fetch_bob(connection: &quinn::Connection) -> Option<bool> {
    let response = exchange(
        connection,
        &Request::FetchBundle {
            user: user("bob@cert-at"),
        },
    )
    .await;
    match response {
        Some(Response::Bundle { bundle, .. }) => Some(bundle.one_time_prekey.is_some()),
        ref refused if refused_with(refused, ErrorCode::RateLimited) => None,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_member_fetching_bundles_in_a_loop_drains_nothing_more_and_is_never_refused() {
    let d = Deployment::new(&[
        ("alice@cert-at", 3),
        ("bob@cert-at", 3),
        ("mallory@cert-at", 3),
    ]);
    d.set_limit("bundle_fetch_burst", 5);
    d.set_limit("bundle_fetches_per_hour", 1);
    let (relay, addr) = d.start().await;
    let (bob, bob_store) = publish_prekeys(addr, &d, "bob@cert-at", 50).await;
    let mallory = raw_login(addr, d.pin, &d.members["mallory@cert-at"]).await;
    let mut with = 0;
    let mut without = 0;
    for _ in 0..40 {
        match fetch_bob(&mallory).await {
            Some(true) => {
                assert_eq!(
                    without, 0,
                    "a one-time prekey again after the budget ran out"
                );
                with += 1;
            }
            Some(false) => without += 1,
            None => panic!("a bundle was refused: a member joining a large channel would wait"),
        }
    }
    assert_eq!(
        (with, without),
        (5, 35),
        "the burst with one-time prekeys, then the signed prekey only"
    );
    // Another member is unaffected and still gets a one-time prekey.
    let alice = raw_login(addr, d.pin, &d.members["alice@cert-at"]).await;
    assert_eq!(fetch_bob(&alice).await, Some(true));
    // Bob lost exactly the prekeys handed out, not one more.
    assert_eq!(stock(&bob, &bob_store).await, 50 - 5 - 1);
    relay.shutdown().await;
}

#[tokio::test]
async fn many_requesters_get_at_most_the_per_target_one_time_prekeys_then_the_signed_prekey() {
    let names = ["alice", "carol", "dave", "erin"].map(|n| format!("{n}@cert-at"));
    let mut members: Vec<(&str, u8)> = names.iter().map(|n| (n.as_str(), 3)).collect();
    members.push(("bob@cert-at", 3));
    let d = Deployment::new(&members);
    d.set_limit("one_time_prekeys_per_target_per_hour", 3);
    let (relay, addr) = d.start().await;
    let (bob, bob_store) = publish_prekeys(addr, &d, "bob@cert-at", 50).await;
    let mut with = 0;
    let mut without = 0;
    for name in &names {
        let requester = raw_login(addr, d.pin, &d.members[name]).await;
        for _ in 0..2 {
            match fetch_bob(&requester).await {
                Some(true) => with += 1,
                Some(false) => without += 1,
                None => panic!("{name} was refused within its own limit"),
            }
        }
    }
    // Nobody is refused a bundle: past the cap it carries the signed prekey only.
    assert_eq!((with, without), (3, 5));
    assert_eq!(stock(&bob, &bob_store).await, 50 - 3);
    relay.shutdown().await;
}

#[tokio::test]
async fn an_owner_whose_one_time_prekeys_ran_low_while_offline_is_told_at_login() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    let (relay, addr) = d.start().await;
    let (bob, _) = publish_prekeys(addr, &d, "bob@cert-at", 12).await;
    bob.close(0u32.into(), b"bye");
    let alice = raw_login(addr, d.pin, &d.members["alice@cert-at"]).await;
    for _ in 0..3 {
        assert_eq!(fetch_bob(&alice).await, Some(true));
    }
    // Bob was offline when his stock fell below the threshold: he hears it when he returns.
    let (mut bob, _) = connect(addr, d.pin, &d.members["bob@cert-at"]).await;
    let remaining = loop {
        match tokio::time::timeout(Duration::from_secs(10), bob.next_push()).await {
            Ok(Ok(Some(Push::PrekeysLow { remaining }))) => break remaining,
            Ok(Ok(Some(_))) => {}
            other => panic!("no PrekeysLow push: {other:?}"),
        }
    };
    assert_eq!(remaining, 9);
    relay.shutdown().await;
}

/// What the relay logs, captured for one test (the relay runs on the test's own thread).
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    fn lines_with(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }
}

#[tokio::test]
async fn a_member_fetching_bundles_in_a_loop_cannot_fill_the_relays_log() {
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let d = Deployment::new(&[("bob@cert-at", 3), ("mallory@cert-at", 3)]);
    d.set_limit("bundle_fetch_burst", 5);
    d.set_limit("bundle_fetches_per_hour", 1);
    let (relay, addr) = d.start().await;
    let _bob = publish_prekeys(addr, &d, "bob@cert-at", 50).await;
    let mallory = raw_login(addr, d.pin, &d.members["mallory@cert-at"]).await;
    // Nothing refuses a bundle any more: a member asks as fast as the connection carries, and
    // every request past their budget wrote a line at INFO (the default), for ever.
    for _ in 0..200 {
        assert_eq!(fetch_bob(&mallory).await.map(|_| ()), Some(()));
    }
    let lines = log.lines_with("held back");
    assert!(
        lines <= 10,
        "{lines} log lines for 200 bundle fetches by one member"
    );
    relay.shutdown().await;
}
