//! A damaged client store: a truncated, bit-flipped or zeroed database file is one clear error
//! when the store is opened (exit code 2 for the commands), never a crash and never a record
//! accepted after it was altered.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

use rand_core::{OsRng, RngCore as _};
use vigil_client::engine::{Engine, EngineError};
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair};
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::provisioning::{BundleContents, RelayInfo, TrustedRoot};
use vigil_protocol::{
    CertificateBody, Clearance, LocalIdentity, MemberCertificate, OrgId, OrgRoot, Text, UnixTime,
    UserId,
};

const PASSPHRASE: &str = "integrity test passphrase";

fn now() -> UnixTime {
    vigil_common::now()
}

/// A store with an identity, a channel and a thousand messages of history.
fn populated(home: &std::path::Path) {
    let root_key = OrgRootKeyPair::generate(&mut OsRng);
    let root = OrgRoot::create(
        &root_key,
        OrgId::new("CERT-AT").unwrap(),
        "AT".parse().unwrap(),
        now(),
    );
    let identity = IdentityKeyPair::generate(&mut OsRng);
    let agreement = AgreementKeyPair::generate(&mut OsRng);
    let body = CertificateBody {
        serial: 1,
        org: root.org().clone(),
        user: UserId::new("lead@cert-at").unwrap(),
        display_name: Text::new("Lead").unwrap(),
        roles: vec![],
        clearance: Clearance {
            policy: Text::new("EU").unwrap(),
            level: 3,
        },
        identity_key: identity.public(),
        agreement_key: agreement.public(),
        not_before: UnixTime(now().0 - 60),
        not_after: now().plus_days(30),
    };
    let certificate = MemberCertificate::issue(&root_key, body).unwrap();
    let local = LocalIdentity::new(certificate, identity, agreement).unwrap();
    let relay = RelayInfo {
        address: Text::new("127.0.0.1:1").unwrap(),
        server_name: Text::new("localhost").unwrap(),
        pin: [1; 32],
    };
    let bundle = BundleContents::new(&local, relay, vec![TrustedRoot::own(root)], vec![]);
    let mut engine = Engine::enroll(home, bundle, PASSPHRASE, now()).unwrap();
    let label = Label::new(
        "TLP:AMBER",
        "EU RESTRICTED",
        &[],
        ClassificationPolicy::eu(),
    )
    .unwrap();
    let (channel, _) = engine.create_channel("ops", label, now()).unwrap();
    for i in 0..1000 {
        engine
            .send_text(
                channel,
                &format!("note {i}: nothing new on 203.0.113.47"),
                now(),
            )
            .unwrap();
    }
}

fn damage(db: &std::path::Path, how: &str) {
    let mut bytes = std::fs::read(db).unwrap();
    match how {
        "truncated" => bytes.truncate(bytes.len() / 3),
        "flipped" => {
            for _ in 0..64 {
                let i = usize::try_from(OsRng.next_u64()).unwrap() % bytes.len();
                bytes[i] ^= 0xFF;
            }
        }
        "zeroed" => {
            let end = bytes.len() / 2;
            bytes[..end].fill(0);
        }
        _ => unreachable!(),
    }
    std::fs::write(db, bytes).unwrap();
}

#[test]
fn a_damaged_store_is_a_clear_error_at_open_never_a_crash() {
    for how in ["truncated", "flipped", "zeroed"] {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        populated(&home);
        damage(&home.join("store/db"), how);
        match Engine::open(&home, PASSPHRASE) {
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{how}: {e}");
                assert!(
                    matches!(&e, EngineError::Store(s) if s.is_damage()),
                    "{how}: {e}"
                );
            }
            // sled found nothing wrong (the damage missed live data): whatever it returns
            // must be what was written, since an altered sealed record never opens.
            Ok(engine) => {
                let channel = engine.find_channel("ops").unwrap();
                if let Ok(page) = engine.history(channel, None, 2000) {
                    for (_, entry) in page {
                        let genuine = match &entry.body {
                            vigil_client::engine::Body::Text(t) => {
                                t.starts_with("note ") && t.ends_with("nothing new on 203.0.113.47")
                            }
                            vigil_client::engine::Body::Notice(t) => {
                                t.contains("created this channel")
                            }
                            vigil_client::engine::Body::Undecryptable(_)
                            | vigil_client::engine::Body::Alert(_) => false,
                        };
                        assert!(genuine, "{how}: an altered record was accepted: {entry:?}");
                    }
                }
            }
        }
    }
}

/// A process killed while sled wrote a snapshot leaves `snap.LSN.generating` behind, and sled
/// 0.34 then takes that unfinished file for the newest snapshot and refuses the whole database
/// (seen once in the outbox campaign's soak). The store removes it first and opens whole.
#[test]
fn a_snapshot_a_kill_interrupted_does_not_make_the_store_unopenable() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    populated(&home);
    let store = home.join("store");
    // What the killed process left: a snapshot file begun and never completed.
    let unfinished = store.join("snap.7FFFFFFFFFFFFFFF.generating");
    std::fs::write(&unfinished, vec![0xA5; 4096]).unwrap();
    // sled alone refuses the database.
    assert!(matches!(
        sled::Config::new().path(&store).open(),
        Err(sled::Error::Corruption { .. })
    ));
    std::fs::write(&unfinished, vec![0xA5; 4096]).unwrap();
    let engine = Engine::open(&home, PASSPHRASE).unwrap();
    let channel = engine.find_channel("ops").unwrap();
    let page = engine.history(channel, None, 2000).unwrap();
    assert_eq!(page.len(), 1001, "the channel's notice and every message");
    assert!(!unfinished.exists());
}
