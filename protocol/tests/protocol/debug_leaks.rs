//! `format!("{:?}")` of every key-holding type must not contain key bytes.

use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair};

use crate::fixtures::World;

/// Fails when `shown` contains any 32-byte window of `secret_state` in hex or as a Rust byte
/// list, except public keys printed as such.
fn assert_state_not_shown(what: &str, shown: &str, secret_state: &[u8]) {
    for window in secret_state.windows(32) {
        let hex = hex::encode(window);
        let is_public = shown.contains(&format!("PublicKey({hex})"));
        assert!(
            is_public || !shown.contains(&hex),
            "Debug of {what} shows {hex}: {shown}"
        );
        assert!(
            !shown.contains(&format!("{window:?}")),
            "Debug of {what} shows bytes: {shown}"
        );
    }
}

#[test]
fn key_pairs_do_not_print_secrets() {
    let seed = [0x5a; 32];
    let identity = IdentityKeyPair::from_seed(&seed);
    assert_state_not_shown("IdentityKeyPair", &format!("{identity:?}"), &seed);
    assert!(format!("{identity:?}").contains("[secret elided]"));
    let root = OrgRootKeyPair::from_seed(&seed);
    assert_state_not_shown("OrgRootKeyPair", &format!("{root:?}"), &seed);
    assert_state_not_shown("OrgRootKeyPair", &format!("{root:#?}"), &seed);
    let agreement = AgreementKeyPair::from_bytes(&seed);
    assert_state_not_shown(
        "AgreementKeyPair",
        &format!("{agreement:?}"),
        &*agreement.to_bytes(),
    );
    assert!(format!("{agreement:#?}").contains("[secret elided]"));
}

#[test]
fn identities_prekeys_and_sessions_do_not_print_secrets() {
    let mut w = World::new(200);
    let (mut alice, bob) = w.established();
    // Leave skipped keys and a pending chain behind so the state holds every kind of key.
    let _ = alice.encrypt(&mut w.rng, b"lost").unwrap();
    let local = format!("{:?}", w.alice.local);
    assert_state_not_shown(
        "LocalIdentity",
        &local,
        &*w.alice.local.identity().to_seed(),
    );
    assert_state_not_shown(
        "LocalIdentity",
        &local,
        &*w.alice.local.agreement().to_bytes(),
    );
    assert!(local.contains("[secret elided]"));

    let prekeys = format!("{:?}", w.bob.prekeys);
    assert_state_not_shown("PrekeyStore", &prekeys, &w.bob.prekeys.to_bytes());
    assert!(prekeys.contains("[secret elided]"));

    for (name, session) in [("alice's session", &alice), ("bob's session", &bob)] {
        let shown = format!("{session:?}");
        assert_state_not_shown(name, &shown, &session.to_bytes());
        assert_state_not_shown(name, &format!("{session:#?}"), &session.to_bytes());
        assert!(shown.contains("[secret elided]"));
    }
}
