//! One device per certificate (issue 21, defect 3), as an attacker holding a stolen bundle
//! would try it against the relay: raw logins over QUIC on 127.0.0.1 (port 0), the relay in
//! this process. The first device key that logs in with a certificate is bound to it, durably;
//! another device is refused with a typed code, whether it borrows the bound device's public
//! key, replays a captured login, or races the first login; a reissued certificate binds a new
//! device once the old one is revoked.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::net::SocketAddr;
use std::time::Duration;

use vigil_client::transport::client_config;
use vigil_protocol::LocalIdentity;
use vigil_protocol::keys::DeviceKeyPair;
use vigil_protocol::relay::{
    ErrorCode, LOGIN_EXPORTER_LABEL, LOGIN_EXPORTER_LEN, RelayError, Request, Response,
    decode_frame, encode_frame, login_proofs, login_request,
};
use vigil_tests::Deployment;

/// A new QUIC connection to the relay and its exporter value, not logged in.
async fn open(addr: SocketAddr, pin: [u8; 32]) -> (quinn::Connection, [u8; 32]) {
    let connection = vigil_tests::endpoint()
        .connect_with(client_config(pin).unwrap(), addr, "localhost")
        .unwrap()
        .await
        .unwrap();
    let mut exporter = [0u8; LOGIN_EXPORTER_LEN];
    connection
        .export_keying_material(&mut exporter, LOGIN_EXPORTER_LABEL, b"")
        .unwrap();
    (connection, exporter)
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

/// Logs in as `who` on `device` over a new connection: the relay's answer.
async fn login(
    addr: SocketAddr,
    pin: [u8; 32],
    who: &LocalIdentity,
    device: &DeviceKeyPair,
) -> Option<Response> {
    let (connection, exporter) = open(addr, pin).await;
    let request = login_request(who.certificate(), who.identity(), device, &exporter);
    exchange(&connection, &request).await
}

/// The code of a refusal, or `None` for anything else (`LoggedIn` included).
fn code(response: &Option<Response>) -> Option<ErrorCode> {
    match response {
        Some(Response::Error(RelayError { code, .. })) => Some(*code),
        _ => None,
    }
}

fn logged_in(response: &Option<Response>) -> bool {
    matches!(response, Some(Response::LoggedIn { .. }))
}

fn device() -> DeviceKeyPair {
    DeviceKeyPair::generate(&mut rand_core::OsRng)
}

#[tokio::test]
async fn a_stolen_bundle_logs_in_on_no_other_device_however_it_tries() {
    let d = Deployment::new(&[("alice@cert-at", 3)]);
    let (relay, addr) = d.start().await;
    let alice = &d.members["alice@cert-at"];
    let (laptop, thief) = (device(), device());
    assert!(logged_in(&login(addr, d.pin, alice, &laptop).await));
    assert!(logged_in(&login(addr, d.pin, alice, &laptop).await));

    // The thief has the bundle (the identity key), not the laptop's device key.
    let refused = login(addr, d.pin, alice, &thief).await;
    assert_eq!(
        code(&refused),
        Some(ErrorCode::CertificateInUse),
        "{refused:?}"
    );
    // Claiming the laptop's public key: the device proof must be the laptop's own signature.
    let (connection, exporter) = open(addr, d.pin).await;
    let claimed = login_proofs(alice.identity(), &laptop, &exporter);
    let own = login_proofs(alice.identity(), &thief, &exporter);
    let borrowed = Request::Login {
        certificate: Box::new(alice.certificate().clone()),
        device: laptop.public(),
        proof: claimed.proof,
        device_proof: own.device_proof,
    };
    let refused = exchange(&connection, &borrowed).await;
    assert_eq!(code(&refused), Some(ErrorCode::LoginRefused), "{refused:?}");
    // A login the laptop made, captured and replayed on another connection.
    let captured_exporter = closed_connection(addr, d.pin).await;
    let captured = login_request(
        alice.certificate(),
        alice.identity(),
        &laptop,
        &captured_exporter,
    );
    let (replay_on, _) = open(addr, d.pin).await;
    let refused = exchange(&replay_on, &captured).await;
    assert_eq!(code(&refused), Some(ErrorCode::LoginRefused), "{refused:?}");

    // The binding is durable: after a restart the thief is still refused, the laptop is not.
    relay.shutdown().await;
    let (relay, addr) = d.start().await;
    let refused = login(addr, d.pin, alice, &thief).await;
    assert_eq!(
        code(&refused),
        Some(ErrorCode::CertificateInUse),
        "{refused:?}"
    );
    assert!(logged_in(&login(addr, d.pin, alice, &laptop).await));
    relay.shutdown().await;
}

/// The exporter value of a connection since closed (where a login was seen on the wire).
async fn closed_connection(addr: SocketAddr, pin: [u8; 32]) -> [u8; 32] {
    let (connection, exporter) = open(addr, pin).await;
    connection.close(0u32.into(), b"done");
    exporter
}

#[tokio::test]
async fn of_two_devices_racing_for_a_new_certificate_exactly_one_is_bound() {
    let users = [
        "b0@cert-at",
        "b1@cert-at",
        "b2@cert-at",
        "b3@cert-at",
        "b4@cert-at",
    ];
    let d = Deployment::new(&users.map(|u| (u, 3)));
    let (relay, addr) = d.start().await;
    for user in users {
        let member = &d.members[user];
        let (a, b) = (device(), device());
        let (first, second) = tokio::join!(
            login(addr, d.pin, member, &a),
            login(addr, d.pin, member, &b)
        );
        let bound = [&first, &second].iter().filter(|r| logged_in(r)).count();
        assert_eq!(bound, 1, "{first:?} {second:?}");
        let refused = if logged_in(&first) { &second } else { &first };
        assert_eq!(
            code(refused),
            Some(ErrorCode::CertificateInUse),
            "{refused:?}"
        );
    }
    relay.shutdown().await;
}

#[tokio::test]
async fn a_reissued_certificate_binds_a_new_device_once_the_old_one_is_revoked() {
    let mut d = Deployment::new(&[("carol@cert-at", 3)]);
    let (relay, addr) = d.start().await;
    let old = d.members.remove("carol@cert-at").unwrap();
    let (old_device, new_device) = (device(), device());
    assert!(logged_in(&login(addr, d.pin, &old, &old_device).await));

    // A second live certificate for the same member: a second device, refused clearly.
    let reissued = d.issue("carol@cert-at", 3, 365);
    let refused = login(addr, d.pin, &reissued, &new_device).await;
    assert_eq!(
        code(&refused),
        Some(ErrorCode::OtherDeviceEnrolled),
        "{refused:?}"
    );

    // Once the relay has the revocation of the old certificate, the new one binds afresh.
    d.revoke(&old, 2, "laptop replaced");
    let mut answer = None;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        answer = login(addr, d.pin, &reissued, &new_device).await;
        if logged_in(&answer) {
            break;
        }
    }
    assert!(logged_in(&answer), "{answer:?}");
    let refused = login(addr, d.pin, &old, &old_device).await;
    assert_eq!(code(&refused), Some(ErrorCode::LoginRefused), "{refused:?}");
    let refused = login(addr, d.pin, &reissued, &old_device).await;
    assert_eq!(
        code(&refused),
        Some(ErrorCode::CertificateInUse),
        "{refused:?}"
    );
    relay.shutdown().await;
}
