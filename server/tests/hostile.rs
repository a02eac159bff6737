//! Hostile input against the real `vigil-relay` process, spoken as raw QUIC: a wrong ALPN, a
//! forged login, frames of every type with random bodies, a 4 GiB length prefix, 10,000
//! streams, slow-loris connections and streams, and a flood over the rate limit. Each gets its
//! error or close, the relay's memory stays bounded, and a well-behaved client talking the
//! whole time sees no error at all.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test; it prints the memory figures"
)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use rand_core::RngCore as _;
use vigil_client::transport::client_config;
use vigil_protocol::keys::{DeviceKeyPair, IdentityKeyPair};
use vigil_protocol::relay::{
    ClientMessageId, ErrorCode, LOGIN_EXPORTER_LABEL, LOGIN_EXPORTER_LEN, Push, Request, Response,
    decode_frame, encode_frame, login_request,
};
use vigil_tests::{Deployment, RelayProcess};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vigil-relay"))
}

async fn raw_connection(addr: std::net::SocketAddr, pin: [u8; 32]) -> quinn::Connection {
    vigil_tests::endpoint()
        .connect_with(client_config(pin).unwrap(), addr, "localhost")
        .unwrap()
        .await
        .unwrap()
}

/// Sends `bytes` on a new stream and reads the answer (None if the stream was closed).
async fn exchange(connection: &quinn::Connection, bytes: &[u8]) -> Option<Response> {
    let (mut send, mut recv) = connection.open_bi().await.ok()?;
    send.write_all(bytes).await.ok()?;
    let _ = send.finish();
    let body = tokio::time::timeout(Duration::from_secs(5), recv.read_to_end(2 << 20))
        .await
        .ok()?
        .ok()?;
    decode_frame(body.get(4..)?).ok()
}

fn code(response: &Option<Response>) -> Option<ErrorCode> {
    match response {
        Some(Response::Error(e)) => Some(e.code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_get_their_errors_and_a_good_client_sees_nothing() {
    let d = Deployment::new(&[
        ("alice@cert-at", 3),
        ("bob@cert-at", 3),
        ("mallory@cert-at", 3),
    ]);
    d.set_limit("messages_per_second", 20);
    d.set_limit("login_timeout_secs", 2);
    let relay = RelayProcess::start(binary(), &d.config);
    let addr = relay.addr;
    let rss_before = relay.rss_kib().unwrap_or(0);

    // The well-behaved pair: alice sends to bob every 100 ms for the whole test.
    let (mut bob, _) = vigil_tests::connect(addr, d.pin, &d.members["bob@cert-at"]).await;
    let (alice, _) = vigil_tests::connect(addr, d.pin, &d.members["alice@cert-at"]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let good_sent = Arc::new(AtomicU32::new(0));
    let good = {
        let (stop, good_sent) = (Arc::clone(&stop), Arc::clone(&good_sent));
        tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let mut id = [0u8; 16];
                id[..4].copy_from_slice(&n.to_be_bytes());
                let request = Request::Send {
                    id: ClientMessageId(id),
                    recipients: vec!["bob@cert-at".parse().unwrap()],
                    level: None,
                    payload: n.to_be_bytes().to_vec(),
                };
                let response = alice.request(&request).await.unwrap();
                assert!(
                    matches!(response, Response::Sent { .. }),
                    "good client: {response:?}"
                );
                n += 1;
                good_sent.store(n, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    // A wrong ALPN: no connection.
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(AcceptAnything))
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let config = quinn::ClientConfig::new(Arc::new(
        quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap(),
    ));
    let refused = vigil_tests::endpoint()
        .connect_with(config, addr, "localhost")
        .unwrap()
        .await;
    assert!(refused.is_err(), "a wrong ALPN was accepted");

    // A login whose proof is signed by another key than the certificate's.
    let connection = raw_connection(addr, d.pin).await;
    let mut exporter = [0u8; LOGIN_EXPORTER_LEN];
    connection
        .export_keying_material(&mut exporter, LOGIN_EXPORTER_LABEL, b"")
        .unwrap();
    let forged = login_request(
        d.members["mallory@cert-at"].certificate(),
        &IdentityKeyPair::generate(&mut rand_core::OsRng),
        &DeviceKeyPair::generate(&mut rand_core::OsRng),
        &exporter,
    );
    let answer = exchange(&connection, &encode_frame(&forged)).await;
    assert_eq!(code(&answer), Some(ErrorCode::LoginRefused), "{answer:?}");

    // Logged in as mallory: frames of every type with random bodies, and a 4 GiB prefix.
    let (mallory, _) = vigil_tests::connect(addr, d.pin, &d.members["mallory@cert-at"]).await;
    let mut rng = rand_core::OsRng;
    let mut answered = 0;
    for tag in 0u8..8 {
        for _ in 0..25 {
            let len = usize::try_from(rng.next_u32() % 300).unwrap();
            let mut body = vec![1u8, tag];
            body.resize(len + 2, 0);
            rng.fill_bytes(&mut body[2..]);
            let mut frame = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
            frame.extend_from_slice(&body);
            let response = mallory.raw_request(&frame).await.unwrap();
            assert!(response.is_some(), "tag {tag}: no answer");
            answered += 1;
        }
    }
    let huge = mallory
        .raw_request(&[0xFF, 0xFF, 0xFF, 0xFF])
        .await
        .unwrap();
    assert_eq!(code(&huge), Some(ErrorCode::TooLarge), "{huge:?}");

    // 10,000 streams, 64 at a time (the relay's stream limit), each with a request.
    let connection = Arc::new(mallory);
    let mut streams = tokio::task::JoinSet::new();
    let answers = Arc::new(AtomicU32::new(0));
    for _ in 0..64 {
        let (connection, answers) = (Arc::clone(&connection), Arc::clone(&answers));
        streams.spawn(async move {
            for _ in 0..(10_000 / 64 + 1) {
                if let Ok(Response::Revocations { .. }) =
                    connection.request(&Request::Revocations).await
                {
                    answers.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while streams.join_next().await.is_some() {}
    assert!(answers.load(Ordering::Relaxed) >= 10_000);

    // Slow-loris: connections that never log in are closed after the login timeout; streams
    // opened and never written hold nothing but their slot.
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(raw_connection(addr, d.pin).await);
    }
    let mut silent = Vec::new();
    for _ in 0..32 {
        silent.push(connection.raw_open().await);
    }
    for connection in &idle {
        let closed = tokio::time::timeout(Duration::from_secs(10), connection.closed()).await;
        assert!(closed.is_ok(), "an idle connection was not closed");
    }

    // A flood over the rate limit: refused with RateLimited, nothing else.
    let mut limited = 0;
    for i in 0..200u32 {
        let mut id = [0xEE; 16];
        id[..4].copy_from_slice(&i.to_be_bytes());
        let response = connection
            .request(&Request::Send {
                id: ClientMessageId(id),
                recipients: vec!["bob@cert-at".parse().unwrap()],
                level: None,
                payload: vec![0; 32],
            })
            .await
            .unwrap();
        match response {
            Response::Sent { .. } => {}
            Response::Error(e) if e.code == ErrorCode::RateLimited => limited += 1,
            other => panic!("flood: {other:?}"),
        }
    }
    assert!(limited > 100, "only {limited} of 200 refused");

    let rss_after = relay.rss_kib().unwrap_or(0);
    stop.store(true, Ordering::Relaxed);
    good.await.unwrap();
    drop(silent);

    // The good client's messages all arrived, in order.
    let sent = good_sent.load(Ordering::Relaxed);
    let mut next = 0u32;
    while next < sent {
        match tokio::time::timeout(Duration::from_secs(10), bob.next_push()).await {
            Ok(Ok(Some(Push::Deliver {
                sender, payload, ..
            }))) => {
                if sender.as_str() == "alice@cert-at" {
                    assert_eq!(payload, next.to_be_bytes());
                    next += 1;
                }
            }
            Ok(Ok(Some(_))) => {}
            other => panic!("bob: {other:?} after {next} of {sent}"),
        }
    }
    println!(
        "hostile: {answered} random frames answered, 10,000 streams, 100 slow-loris \
         connections closed, {limited} of 200 flood messages refused; relay RSS {rss_before} KiB \
         before, {rss_after} KiB after; the good client sent {sent} messages without an error"
    );
    assert!(
        rss_after < rss_before + 128 * 1024,
        "relay memory grew from {rss_before} to {rss_after} KiB"
    );
}

/// For the wrong-ALPN case only: accepts any certificate (the handshake must fail on ALPN).
#[derive(Debug)]
struct AcceptAnything;

impl rustls::client::danger::ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
