//! The relay end to end: a real `vigil-relay` (in this process) on 127.0.0.1:0 and real QUIC
//! clients using the protocol crate.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::time::Duration;

use vigil_protocol::relay::{ClientMessageId, ErrorCode, Push, Request, Response, encode_frame};
use vigil_protocol::{LocalIdentity, UserId};
use vigil_tests::{Deployment, connect, now};

fn user(name: &str) -> UserId {
    name.parse().unwrap()
}

fn code(response: &Response) -> Option<ErrorCode> {
    match response {
        Response::Error(e) => Some(e.code),
        _ => None,
    }
}

/// The next message pushed to `connection`, waiting up to `wait`.
async fn delivery_within(
    connection: &mut vigil_client::transport::RelayConnection,
    wait: Duration,
) -> Option<(vigil_protocol::relay::MessageId, Vec<u8>)> {
    loop {
        match tokio::time::timeout(wait, connection.next_push()).await {
            Ok(Ok(Some(Push::Deliver { id, payload, .. }))) => return Some((id, payload)),
            Ok(Ok(Some(Push::PrekeysLow { .. } | Push::Revocations { .. }))) => {}
            _ => return None,
        }
    }
}

/// The next message pushed (generous timeout: machines under load are slow).
async fn next_delivery(
    connection: &mut vigil_client::transport::RelayConnection,
) -> Option<(vigil_protocol::relay::MessageId, Vec<u8>)> {
    delivery_within(connection, Duration::from_secs(10)).await
}

/// Asserts nothing more is pushed for a while.
async fn assert_no_delivery(connection: &mut vigil_client::transport::RelayConnection) {
    let extra = delivery_within(connection, Duration::from_millis(700)).await;
    assert_eq!(extra, None, "unexpected delivery");
}

fn send(recipients: &[&str], id: u8, payload: &[u8]) -> Request {
    Request::Send {
        id: ClientMessageId([id; 16]),
        recipients: recipients.iter().map(|r| user(r)).collect(),
        level: None,
        payload: payload.to_vec(),
    }
}

#[tokio::test]
async fn login_succeeds_and_is_refused_for_untrusted_expired_and_revoked_members() {
    let mut d = Deployment::new(&[("alice@cert-at", 3)]);
    let expired = d.issue("old@cert-at", 3, 0);
    let revoked = d.issue("lost@cert-at", 3, 365);
    let stranger = Deployment::new(&[("eve@cert-at", 3)]);
    let (relay, addr) = d.start().await;

    let (_alice, response) = connect(addr, d.pin, &d.members["alice@cert-at"]).await;
    assert!(
        matches!(response, Response::LoggedIn { pending: 0, .. }),
        "{response:?}"
    );
    let (_, response) = connect(addr, d.pin, &stranger.members["eve@cert-at"]).await;
    assert_eq!(
        code(&response),
        Some(ErrorCode::LoginRefused),
        "{response:?}"
    );
    let (_, response) = connect(addr, d.pin, &expired).await;
    assert_eq!(
        code(&response),
        Some(ErrorCode::LoginRefused),
        "{response:?}"
    );
    let Response::Error(e) = &response else {
        panic!()
    };
    assert!(e.message.contains("expired"), "{e:?}");

    // Revoked while the relay runs: it reloads the list and refuses the next login.
    let (_, response) = connect(addr, d.pin, &revoked).await;
    assert!(matches!(response, Response::LoggedIn { .. }));
    d.revoke(&revoked, 2, "laptop lost");
    let mut refused = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let (_, response) = connect(addr, d.pin, &revoked).await;
        if code(&response) == Some(ErrorCode::LoginRefused) {
            refused = true;
            break;
        }
    }
    assert!(refused, "the revocation list was not reloaded");
    // And messages to the revoked member are refused with the reason.
    let alice = login(&d, addr, &d.members["alice@cert-at"]).await;
    let response = alice
        .request(&send(&["lost@cert-at"], 9, b"x"))
        .await
        .unwrap();
    assert_eq!(
        code(&response),
        Some(ErrorCode::RevokedRecipient),
        "{response:?}"
    );
    let Response::Error(e) = response else {
        panic!()
    };
    assert!(e.message.contains("laptop lost"), "{e:?}");
    relay.shutdown().await;
}

#[tokio::test]
async fn a_wrong_pin_is_refused_by_the_client() {
    let d = Deployment::new(&[("alice@cert-at", 3)]);
    let (relay, addr) = d.start().await;
    let result = vigil_client::transport::RelayConnection::connect(
        &vigil_tests::endpoint(),
        addr,
        "localhost",
        [0; 32],
        &d.members["alice@cert-at"],
        &vigil_tests::device_of(&d.members["alice@cert-at"]),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(vigil_client::transport::TransportError::Handshake(_))
        ),
        "{result:?}"
    );
    relay.shutdown().await;
}

async fn login(
    d: &Deployment,
    addr: std::net::SocketAddr,
    who: &LocalIdentity,
) -> vigil_client::transport::RelayConnection {
    let (connection, response) = connect(addr, d.pin, who).await;
    assert!(
        matches!(response, Response::LoggedIn { .. }),
        "{response:?}"
    );
    connection
}

#[tokio::test]
async fn offline_recipients_get_their_mail_on_reconnect_until_they_acknowledge_it() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    let (relay, addr) = d.start().await;
    let bob = login(&d, addr, &d.members["bob@cert-at"]).await;
    bob.close();
    let alice = login(&d, addr, &d.members["alice@cert-at"]).await;
    assert_eq!(
        alice
            .request(&send(&["bob@cert-at"], 1, b"ciphertext 1"))
            .await
            .unwrap(),
        Response::Sent { duplicate: false }
    );
    // The same client id again is stored once.
    assert_eq!(
        alice
            .request(&send(&["bob@cert-at"], 1, b"ciphertext 1"))
            .await
            .unwrap(),
        Response::Sent { duplicate: true }
    );

    let (mut bob, response) = connect(addr, d.pin, &d.members["bob@cert-at"]).await;
    assert!(
        matches!(response, Response::LoggedIn { pending: 1, .. }),
        "{response:?}"
    );
    let (id, payload) = next_delivery(&mut bob).await.expect("delivered");
    assert_eq!(payload, b"ciphertext 1");
    assert_no_delivery(&mut bob).await;
    bob.close();

    // Not acknowledged: delivered again.
    let mut bob = login(&d, addr, &d.members["bob@cert-at"]).await;
    assert_eq!(next_delivery(&mut bob).await.map(|(i, _)| i), Some(id));
    assert_eq!(
        bob.request(&Request::Ack { ids: vec![id] }).await.unwrap(),
        Response::Acked { removed: 1 }
    );
    bob.close();
    let (mut bob, response) = connect(addr, d.pin, &d.members["bob@cert-at"]).await;
    assert!(
        matches!(response, Response::LoggedIn { pending: 0, .. }),
        "{response:?}"
    );
    assert_no_delivery(&mut bob).await;

    // A live recipient gets a push without asking.
    alice
        .request(&send(&["bob@cert-at"], 2, b"live"))
        .await
        .unwrap();
    assert_eq!(
        next_delivery(&mut bob).await.map(|(_, p)| p),
        Some(b"live".to_vec())
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn unknown_revoked_and_uncleared_recipients_are_refused() {
    let mut d = Deployment::new(&[("alice@cert-at", 3), ("low@cert-at", 1)]);
    let expired = d.issue("gone@cert-at", 3, 0);
    let _ = expired;
    let (relay, addr) = d.start().await;
    login(&d, addr, &d.members["low@cert-at"]).await.close();
    let alice = login(&d, addr, &d.members["alice@cert-at"]).await;
    let response = alice
        .request(&send(&["nobody@cert-at"], 1, b"x"))
        .await
        .unwrap();
    assert_eq!(code(&response), Some(ErrorCode::UnknownRecipient));
    let secret = Request::Send {
        id: ClientMessageId([2; 16]),
        recipients: vec![user("low@cert-at")],
        level: Some(vigil_protocol::label::Classification {
            policy: "EU".parse().unwrap(),
            level: 3,
        }),
        payload: b"x".to_vec(),
    };
    let response = alice.request(&secret).await.unwrap();
    assert_eq!(
        code(&response),
        Some(ErrorCode::InsufficientClearance),
        "{response:?}"
    );
    let Response::Error(e) = response else {
        panic!()
    };
    assert!(
        e.message.contains("EU RESTRICTED") && e.message.contains("EU SECRET"),
        "{e:?}"
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn a_one_time_prekey_is_handed_out_once_under_concurrent_requests() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    let (relay, addr) = d.start().await;
    let bob_identity = &d.members["bob@cert-at"];
    let mut store =
        vigil_protocol::prekey::PrekeyStore::new(&mut rand_core::OsRng, bob_identity, now());
    let otks = store.generate_one_time_prekeys(&mut rand_core::OsRng, bob_identity.identity(), 20);
    let bob = login(&d, addr, bob_identity).await;
    let response = bob
        .request(&Request::PublishPrekeys {
            signed_prekey: store.signed_prekey().unwrap().clone(),
            one_time_prekeys: otks,
        })
        .await
        .unwrap();
    assert_eq!(
        response,
        Response::Published {
            one_time_prekeys: 20
        }
    );
    let alice = std::sync::Arc::new(login(&d, addr, &d.members["alice@cert-at"]).await);
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let alice = std::sync::Arc::clone(&alice);
        tasks.push(tokio::spawn(async move {
            alice
                .request(&Request::FetchBundle {
                    user: user("bob@cert-at"),
                })
                .await
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    let mut without = 0;
    for task in tasks {
        let Response::Bundle {
            bundle,
            certificate,
        } = task.await.unwrap()
        else {
            panic!("no bundle")
        };
        assert_eq!(certificate.body().user, user("bob@cert-at"));
        match bundle.one_time_prekey {
            Some(k) => ids.push(k.id),
            None => without += 1,
        }
    }
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        ids.len(),
        "a one-time prekey was handed out twice"
    );
    assert_eq!((ids.len(), without), (20, 10));
    // Bob, still connected, was told that his one-time prekeys ran low.
    let mut bob = bob;
    let mut told = false;
    while !told {
        let Ok(Ok(Some(push))) =
            tokio::time::timeout(Duration::from_secs(10), bob.next_push()).await
        else {
            break;
        };
        told |= matches!(push, Push::PrekeysLow { .. });
    }
    assert!(told, "no PrekeysLow push");
    relay.shutdown().await;
}

#[tokio::test]
async fn fan_out_to_fifty_recipients_stores_once() {
    let names: Vec<String> = (0..50).map(|i| format!("officer{i}@cert-at")).collect();
    let mut users: Vec<(&str, u8)> = names.iter().map(|n| (n.as_str(), 3)).collect();
    users.push(("lead@cert-at", 3));
    let d = Deployment::new(&users);
    let (relay, addr) = d.start().await;
    let mut connections = Vec::new();
    for name in &names {
        connections.push(login(&d, addr, &d.members[name]).await);
    }
    let lead = login(&d, addr, &d.members["lead@cert-at"]).await;
    let recipients: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(
        lead.request(&send(&recipients, 7, b"to everyone"))
            .await
            .unwrap(),
        Response::Sent { duplicate: false }
    );
    for connection in &mut connections {
        assert_eq!(
            next_delivery(connection).await.map(|(_, p)| p),
            Some(b"to everyone".to_vec())
        );
    }
    relay.shutdown().await;
}

#[tokio::test]
async fn limits_refuse_the_offender_with_a_typed_error_and_a_new_login_replaces_the_oldest() {
    let d = Deployment::new(&[
        ("alice@cert-at", 3),
        ("bob@cert-at", 3),
        ("carol@cert-at", 3),
    ]);
    d.set_limit("max_frame_bytes", 4096);
    d.set_limit("messages_per_second", 5);
    d.set_limit("mailbox_max_messages", 3);
    d.set_limit("connections_per_identity", 2);
    let (relay, addr) = d.start().await;
    login(&d, addr, &d.members["bob@cert-at"]).await.close();
    let alice = login(&d, addr, &d.members["alice@cert-at"]).await;
    let big = alice
        .request(&send(&["bob@cert-at"], 1, &[0u8; 8192]))
        .await
        .unwrap();
    assert_eq!(code(&big), Some(ErrorCode::TooLarge), "{big:?}");
    let mut codes = Vec::new();
    for i in 0..8 {
        codes.push(code(
            &alice
                .request(&send(&["bob@cert-at"], 10 + i, b"m"))
                .await
                .unwrap(),
        ));
    }
    assert!(codes.contains(&Some(ErrorCode::QuotaExceeded)), "{codes:?}");
    assert!(codes.contains(&Some(ErrorCode::RateLimited)), "{codes:?}");
    // Over the connection limit, the oldest connection of that member gives way: a client
    // killed without closing (kill -9, power loss) must not lock its member out.
    let c1 = login(&d, addr, &d.members["carol@cert-at"]).await;
    let c2 = login(&d, addr, &d.members["carol@cert-at"]).await;
    let (c3, third) = connect(addr, d.pin, &d.members["carol@cert-at"]).await;
    assert!(matches!(third, Response::LoggedIn { .. }), "{third:?}");
    assert!(c1.request(&Request::Revocations).await.is_err());
    for live in [&c2, &c3] {
        assert!(matches!(
            live.request(&Request::Revocations).await.unwrap(),
            Response::Revocations { .. }
        ));
    }
    relay.shutdown().await;
}

#[tokio::test]
async fn bad_frames_get_errors_while_another_client_keeps_working() {
    let d = Deployment::new(&[
        ("alice@cert-at", 3),
        ("bob@cert-at", 3),
        ("mallory@cert-at", 3),
    ]);
    let (relay, addr) = d.start().await;
    let mut bob = login(&d, addr, &d.members["bob@cert-at"]).await;
    let alice = login(&d, addr, &d.members["alice@cert-at"]).await;
    let mallory = login(&d, addr, &d.members["mallory@cert-at"]).await;
    let valid = encode_frame(&send(&["bob@cert-at"], 1, b"x"));
    let mut random = vec![0u8, 0, 0, 40];
    random.extend((0..40u8).map(|i| i.wrapping_mul(37)));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("4 GiB length prefix", vec![0xFF, 0xFF, 0xFF, 0xFF]),
        ("truncated", valid[..valid.len() - 3].to_vec()),
        ("random body", random),
        ("unknown version", {
            let mut v = valid.clone();
            v[4] = 9;
            v
        }),
        ("empty", vec![]),
    ];
    for (name, bytes) in cases {
        let response = mallory.raw_request(&bytes).await.unwrap();
        let code = response.as_ref().and_then(code);
        assert!(
            matches!(code, Some(ErrorCode::Malformed | ErrorCode::TooLarge)),
            "{name}: {response:?}"
        );
        let fine = alice
            .request(&send(&["bob@cert-at"], 1, b"still fine"))
            .await
            .unwrap();
        assert!(matches!(fine, Response::Sent { .. }), "{name}: {fine:?}");
    }
    assert_eq!(
        next_delivery(&mut bob).await.map(|(_, p)| p),
        Some(b"still fine".to_vec())
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn a_request_before_login_is_refused_and_the_connection_closed() {
    let d = Deployment::new(&[("alice@cert-at", 3)]);
    d.set_limit("login_timeout_secs", 1);
    let (relay, addr) = d.start().await;
    let connection = vigil_tests::endpoint()
        .connect_with(
            vigil_client::transport::client_config(d.pin).unwrap(),
            addr,
            "localhost",
        )
        .unwrap()
        .await
        .unwrap();
    let (mut tx, mut rx) = connection.open_bi().await.unwrap();
    tx.write_all(&encode_frame(&send(&["alice@cert-at"], 1, b"x")))
        .await
        .unwrap();
    let _ = tx.finish();
    let mut response = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut rx, &mut response).await;
    let decoded: Response = vigil_protocol::relay::decode_frame(&response[4..]).unwrap();
    assert_eq!(code(&decoded), Some(ErrorCode::NotLoggedIn));
    // A connection that never logs in is closed after the login timeout.
    let idle = vigil_tests::endpoint()
        .connect_with(
            vigil_client::transport::client_config(d.pin).unwrap(),
            addr,
            "localhost",
        )
        .unwrap()
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.closed()).await;
    assert!(closed.is_ok(), "not closed after the login timeout");
    relay.shutdown().await;
}

#[tokio::test]
async fn the_relay_stores_only_ciphertext_and_survives_a_graceful_restart() {
    const SECRET: &str = "IOC 203.0.113.77 beacon, incident CERT-AT-2026-4711";
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    let trust = vigil_server::Config::load(&d.config)
        .unwrap()
        .trust_store()
        .unwrap();
    let (relay, addr) = d.start().await;
    let (alice_id, bob_id) = (&d.members["alice@cert-at"], &d.members["bob@cert-at"]);

    // Bob publishes prekeys and goes offline.
    let mut prekeys =
        vigil_protocol::prekey::PrekeyStore::new(&mut rand_core::OsRng, bob_id, now());
    let otks = prekeys.generate_one_time_prekeys(&mut rand_core::OsRng, bob_id.identity(), 5);
    let bob = login(&d, addr, bob_id).await;
    let publish = Request::PublishPrekeys {
        signed_prekey: prekeys.signed_prekey().unwrap().clone(),
        one_time_prekeys: otks,
    };
    assert!(matches!(
        bob.request(&publish).await.unwrap(),
        Response::Published { .. }
    ));
    bob.close();

    // Alice fetches Bob's bundle and sends him an end-to-end encrypted message.
    let alice = login(&d, addr, alice_id).await;
    let Response::Bundle {
        certificate,
        bundle,
    } = alice
        .request(&Request::FetchBundle {
            user: user("bob@cert-at"),
        })
        .await
        .unwrap()
    else {
        panic!("no bundle")
    };
    let bob_cert = trust.verify_certificate(&certificate, now()).unwrap();
    let mut session = vigil_protocol::Session::initiate(
        &mut rand_core::OsRng,
        alice_id,
        &bob_cert,
        &bundle,
        now(),
    )
    .unwrap();
    let envelope = session
        .encrypt(&mut rand_core::OsRng, SECRET.as_bytes())
        .unwrap();
    let sent = alice
        .request(&send(&["bob@cert-at"], 1, &envelope.to_bytes()))
        .await
        .unwrap();
    assert_eq!(sent, Response::Sent { duplicate: false });

    // Graceful restart: the acknowledged message is still there.
    relay.shutdown().await;
    let (relay, addr) = d.start().await;
    let mut bob = login(&d, addr, bob_id).await;
    let (id, payload) = next_delivery(&mut bob)
        .await
        .expect("delivered after restart");
    let vigil_protocol::Envelope::Prekey(first) =
        vigil_protocol::Envelope::from_bytes(&payload).unwrap()
    else {
        panic!("expected a first message")
    };
    let (_, text) =
        vigil_protocol::Session::accept(bob_id, &mut prekeys, &trust, &first, now()).unwrap();
    assert_eq!(text, SECRET.as_bytes());
    bob.request(&Request::Ack { ids: vec![id] }).await.unwrap();
    relay.shutdown().await;

    // Nothing in the relay's data directory contains the text, or any 12 bytes of it.
    let mut files = vec![d.data_dir()];
    let mut scanned = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        scanned += bytes.len();
        for window in SECRET.as_bytes().windows(12) {
            assert!(
                !bytes.windows(12).any(|w| w == window),
                "{} holds plaintext",
                path.display()
            );
        }
    }
    assert!(scanned > 0, "the data directory was empty");
}

#[tokio::test]
async fn operators_read_connections_traffic_mailboxes_and_refusals() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    d.enable_metrics();
    let (relay, addr) = d.start().await;
    login(&d, addr, &d.members["bob@cert-at"]).await.close();
    let alice = login(&d, addr, &d.members["alice@cert-at"]).await;
    alice
        .request(&send(&["bob@cert-at"], 1, b"waiting"))
        .await
        .unwrap();
    alice
        .request(&send(&["nobody@cert-at"], 2, b"x"))
        .await
        .unwrap();
    let metrics_addr = relay.metrics_addr().unwrap();
    let mut stream = tokio::net::TcpStream::connect(metrics_addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, b"GET /metrics HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut text)
        .await
        .unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("vigil_relay_connections ")),
        "{text}"
    );
    for line in [
        "vigil_relay_logins_total 2",
        "vigil_relay_messages_in_total 1",
        "vigil_relay_mailbox_messages 1",
        "vigil_relay_refusals_total{reason=\"UnknownRecipient\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    relay.shutdown().await;
}

#[tokio::test]
async fn a_connection_cannot_open_more_streams_than_the_limit() {
    let d = Deployment::new(&[("alice@cert-at", 3)]);
    d.set_limit("max_concurrent_streams", 2);
    let (relay, addr) = d.start().await;
    let _alice = login(&d, addr, &d.members["alice@cert-at"]).await;
    let raw = vigil_tests::endpoint()
        .connect_with(
            vigil_client::transport::client_config(d.pin).unwrap(),
            addr,
            "localhost",
        )
        .unwrap()
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..2 {
        let (mut tx, rx) = raw.open_bi().await.unwrap();
        tx.write_all(&[0]).await.unwrap();
        held.push((tx, rx));
    }
    let third = tokio::time::timeout(Duration::from_millis(500), raw.open_bi()).await;
    assert!(third.is_err(), "a third concurrent stream was allowed");
    relay.shutdown().await;
}

#[tokio::test]
async fn an_older_revocation_list_never_replaces_a_newer_one_even_across_restarts() {
    let mut d = Deployment::new(&[]);
    let lost = d.issue("lost@cert-at", 3, 365);
    let file = d.revocations_dir().join("CERT-AT.vigil");
    let original = std::fs::read_to_string(&file).unwrap();
    d.revoke(&lost, 2, "stolen");
    let (relay, addr) = d.start().await;
    let (_, response) = connect(addr, d.pin, &lost).await;
    assert_eq!(code(&response), Some(ErrorCode::LoginRefused));
    relay.shutdown().await;
    // Someone puts the old (empty, version 1) list back and restarts the relay.
    std::fs::write(&file, original).unwrap();
    let (relay, addr) = d.start().await;
    let (_, response) = connect(addr, d.pin, &lost).await;
    assert_eq!(
        code(&response),
        Some(ErrorCode::LoginRefused),
        "{response:?}"
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn a_roaming_client_keeps_its_connection_and_a_dropped_request_is_resent_once() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    let (relay, addr) = d.start().await;
    let (mut bob, _) = connect(addr, d.pin, &d.members["bob@cert-at"]).await;
    // Alice's laptop changes network: same connection, a new local port (QUIC migration).
    let endpoint = vigil_tests::endpoint();
    let (alice, _) = vigil_client::transport::RelayConnection::connect(
        &endpoint,
        addr,
        "localhost",
        d.pin,
        &d.members["alice@cert-at"],
        &vigil_tests::device_of(&d.members["alice@cert-at"]),
    )
    .await
    .unwrap();
    let first = alice
        .request(&send(&["bob@cert-at"], 1, b"before"))
        .await
        .unwrap();
    assert!(matches!(first, Response::Sent { .. }), "{first:?}");
    let before = endpoint.local_addr().unwrap();
    endpoint
        .rebind(std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
        .unwrap();
    assert_ne!(endpoint.local_addr().unwrap(), before);
    let second = alice
        .request(&send(&["bob@cert-at"], 2, b"after"))
        .await
        .unwrap();
    assert!(matches!(second, Response::Sent { .. }), "{second:?}");

    // A request cut off mid-stream (half a frame, then the stream is reset) leaves nothing.
    let frame = encode_frame(&send(&["bob@cert-at"], 3, b"cut off"));
    alice.raw_reset(&frame[..frame.len() / 2]).await;
    // The connection dies with a request in flight; the client resends with the same id.
    let (alice2, _) = connect(addr, d.pin, &d.members["alice@cert-at"]).await;
    let request = send(&["bob@cert-at"], 4, b"in flight");
    let pending = alice2.request(&request);
    alice2.close();
    let _ = pending.await;
    let (alice3, _) = connect(addr, d.pin, &d.members["alice@cert-at"]).await;
    let resent = alice3.request(&request).await.unwrap();
    assert!(matches!(resent, Response::Sent { .. }), "{resent:?}");

    let mut got = Vec::new();
    while let Some((_, payload)) = delivery_within(&mut bob, Duration::from_secs(2)).await {
        got.push(payload);
    }
    assert_eq!(
        got,
        [b"before".to_vec(), b"after".to_vec(), b"in flight".to_vec()]
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn a_partner_beyond_its_limits_is_refused_at_login_and_as_a_recipient() {
    use vigil_protocol::cert::PartnerLimits;
    let up_to = |level| {
        PartnerLimits::up_to(vigil_protocol::Clearance {
            policy: "EU".parse().unwrap(),
            level,
        })
    };
    let d = Deployment::new(&[("alice@cert-at", 3)]);
    let mut cz = d.partner("CERT-CZ", "CZ", Some(&up_to(3)));
    let petra = cz.issue("petra@cert-cz", 3);
    let intern = cz.issue("intern@cert-cz", 1);
    // Within the limits, both log in (and so enter the relay's directory).
    let (relay, addr) = d.start().await;
    for member in [&petra, &intern] {
        login(&d, addr, member).await.close();
    }
    relay.shutdown().await;

    // The operator lowers CERT-CZ to EU RESTRICTED (as `trust add --max-clearance` publishes
    // it) and restarts the relay: EU SECRET is now beyond it, at login and as a recipient.
    d.set_partner_limits(&cz, Some(&up_to(1)));
    let (relay, addr) = d.start().await;
    let (_, response) = connect(addr, d.pin, &petra).await;
    assert_eq!(
        code(&response),
        Some(ErrorCode::LoginRefused),
        "{response:?}"
    );
    login(&d, addr, &intern).await.close();
    let alice = login(&d, addr, &d.members["alice@cert-at"]).await;
    let response = alice
        .request(&send(&["petra@cert-cz"], 1, b"x"))
        .await
        .unwrap();
    assert_eq!(
        code(&response),
        Some(ErrorCode::RevokedRecipient),
        "{response:?}"
    );
    let response = alice
        .request(&send(&["intern@cert-cz"], 2, b"y"))
        .await
        .unwrap();
    assert_eq!(response, Response::Sent { duplicate: false });
    alice.close();
    relay.shutdown().await;

    // A root without a limits file is the operator's own decision (shared-relay mode): it is
    // trusted without limit.
    d.set_partner_limits(&cz, None);
    let (relay, addr) = d.start().await;
    login(&d, addr, &petra).await.close();
    relay.shutdown().await;
}
