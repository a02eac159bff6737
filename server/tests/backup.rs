//! `vigil-relay backup --to DIR` (issue 21): an online, consistent backup while members send;
//! the backup restored in place of the data directory starts, and serves what was
//! acknowledged before it.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use vigil_protocol::relay::{ClientMessageId, Push, Request, Response};
use vigil_tests::{Deployment, RelayProcess, connect};

const RELAY: &str = env!("CARGO_BIN_EXE_vigil-relay");

fn send(i: u16) -> Request {
    let mut id = [0u8; 16];
    id[..2].copy_from_slice(&i.to_be_bytes());
    Request::Send {
        id: ClientMessageId(id),
        recipients: vec!["bob@cert-at".parse().unwrap()],
        level: None,
        payload: i.to_be_bytes().repeat(16),
    }
}

/// Everything pushed until the relay falls silent.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_members_send_restores_and_serves_what_was_acknowledged_before_it() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    let mut relay = RelayProcess::start(Path::new(RELAY), &d.config);
    // Bob logs in once, so the relay knows him as a recipient.
    let (bob, _) = connect(relay.addr, d.pin, &d.members["bob@cert-at"]).await;
    bob.close();
    let (alice, _) = connect(relay.addr, d.pin, &d.members["alice@cert-at"]).await;
    for i in 0..20 {
        let sent = alice.request(&send(i)).await.unwrap();
        assert_eq!(sent, Response::Sent { duplicate: false });
    }
    // Alice keeps sending while the backup runs.
    let sending = Arc::new(AtomicBool::new(true));
    let sender = {
        let sending = Arc::clone(&sending);
        tokio::spawn(async move {
            let mut i = 20;
            while sending.load(Ordering::Relaxed) && i < 2000 {
                let sent = alice.request(&send(i)).await.unwrap();
                assert_eq!(sent, Response::Sent { duplicate: false });
                i += 1;
                // Under the relay's 50 messages a second.
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            i
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let to = d.dir.path().join("backup");
    let config = d.config.clone();
    let status = {
        let to = to.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(RELAY)
                .arg("--config")
                .arg(&config)
                .arg("backup")
                .arg("--to")
                .arg(&to)
                .env("RUST_LOG", "off")
                .status()
                .unwrap()
        })
        .await
        .unwrap()
    };
    sending.store(false, Ordering::Relaxed);
    let sent = sender.await.unwrap();
    assert!(status.success(), "backup failed: {status}");
    assert!(relay.signal("TERM").success());

    // Restore: the data directory moved aside, the backup in its place.
    std::fs::rename(d.data_dir(), d.dir.path().join("data.old")).unwrap();
    std::fs::rename(&to, d.data_dir()).unwrap();
    let relay = RelayProcess::start(Path::new(RELAY), &d.config);
    let (mut bob, response) = connect(relay.addr, d.pin, &d.members["bob@cert-at"]).await;
    let Response::LoggedIn { pending, .. } = response else {
        panic!("{response:?}");
    };
    let got = deliveries(&mut bob).await;
    assert_eq!(got.len() as u64, pending);
    // A consistent cut: the first messages, in order, without a gap; at least those
    // acknowledged before the backup started; none that was never sent.
    assert!(got.len() >= 20, "{} messages restored", got.len());
    assert!(got.len() <= usize::from(sent));
    for (i, payload) in got.iter().enumerate() {
        assert_eq!(*payload, u16::try_from(i).unwrap().to_be_bytes().repeat(16));
    }
    println!(
        "backup while sending: {} of {sent} messages in the backup",
        got.len()
    );
}

#[tokio::test]
async fn a_backup_of_a_stopped_relay_reads_the_data_directory_and_refuses_a_used_target() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    let mut relay = RelayProcess::start(Path::new(RELAY), &d.config);
    // Bob logs in once, so the relay knows him as a recipient.
    let (bob, _) = connect(relay.addr, d.pin, &d.members["bob@cert-at"]).await;
    bob.close();
    let (alice, _) = connect(relay.addr, d.pin, &d.members["alice@cert-at"]).await;
    for i in 0..5 {
        assert!(matches!(
            alice.request(&send(i)).await,
            Ok(Response::Sent { .. })
        ));
    }
    assert!(relay.signal("TERM").success());
    let to = d.dir.path().join("offline");
    let done = vigil_server::admin::backup(&d.data_dir(), &to).unwrap();
    assert!(!done.online);
    assert_eq!(done.stored, 5);
    assert_eq!(
        std::fs::read_to_string(to.join("stored")).unwrap().trim(),
        "5"
    );
    assert!(matches!(
        vigil_server::admin::backup(&d.data_dir(), &to),
        Err(vigil_server::store::sled::BackupError::NotEmpty(_))
    ));
}
