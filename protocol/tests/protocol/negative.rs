//! Each attack or malformed input the 1:1 core must refuse, one test each (after libsignal's).

use vigil_protocol::cert::{RevocationListBody, RevokedCertificate};
use vigil_protocol::codec::{self, DecodeError};
use vigil_protocol::keys::{AgreementPublicKey, Signature};
use vigil_protocol::message::{Envelope, RatchetMessage};
use vigil_protocol::prekey::PrekeyBundle;
use vigil_protocol::ratchet::{MAX_MESSAGE_GAP, SessionError};
use vigil_protocol::{
    CertError, HandshakeError, MemberCertificate, RevocationList, Session, TrustStore, UnixTime,
};

use crate::fixtures::{NOW, Org, World, rng, trust};

fn flip_last_byte(mut bytes: Vec<u8>) -> Vec<u8> {
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    bytes
}

fn first_message(envelope: Envelope) -> Box<vigil_protocol::message::PrekeyMessage> {
    match envelope {
        Envelope::Prekey(first) => first,
        Envelope::Ratchet(_) => panic!("expected a prekey message"),
    }
}

#[test]
fn bad_prekey_signature() {
    let mut w = World::new(1);
    let mut bundle = w.bob.bundle(true);
    bundle.signed_prekey.signature.0[0] ^= 1;
    let bob = w.bob.verified_by(&w.trust);
    let err = Session::initiate(&mut w.rng, &w.alice.local, &bob, &bundle, NOW).unwrap_err();
    assert!(
        matches!(err, HandshakeError::BadPrekeySignature { .. }),
        "{err:?}"
    );

    // A one-time prekey the relay swapped for its own key is refused too.
    let mut bundle = w.bob.bundle(true);
    bundle.one_time_prekey.as_mut().unwrap().key = AgreementPublicKey([9; 32]);
    let err = Session::initiate(&mut w.rng, &w.alice.local, &bob, &bundle, NOW).unwrap_err();
    assert!(
        matches!(err, HandshakeError::BadPrekeySignature { .. }),
        "{err:?}"
    );
}

#[test]
fn bundle_of_another_member_is_refused() {
    let mut w = World::new(2);
    let bundle = w.carol.bundle(true);
    let bob = w.bob.verified_by(&w.trust);
    let err = Session::initiate(&mut w.rng, &w.alice.local, &bob, &bundle, NOW).unwrap_err();
    assert!(
        matches!(err, HandshakeError::BundleMismatch { .. }),
        "{err:?}"
    );
}

#[test]
fn replayed_stale_bundle_is_refused() {
    let mut w = World::new(3);
    let bob = w.bob.verified_by(&w.trust);
    let bundle = w.bob.bundle(true);
    let later = NOW.plus_days(36);
    let err = Session::initiate(&mut w.rng, &w.alice.local, &bob, &bundle, later).unwrap_err();
    assert!(
        matches!(err, HandshakeError::StaleSignedPrekey { .. }),
        "{err:?}"
    );
}

#[test]
fn certificate_from_untrusted_root() {
    let mut r = rng(404);
    let mut rogue = Org::new(&mut r, "CERT-AT");
    let mallory = rogue.member(&mut r, "bob@cert-at");
    let w = World::new(4);
    // Same org name, different root key: refused.
    let err = w
        .trust
        .verify_certificate(mallory.certificate(), NOW)
        .unwrap_err();
    assert!(matches!(err, CertError::BadSignature { .. }), "{err:?}");
    // An org nobody trusts.
    let mut other = Org::new(&mut r, "CERT-XX");
    let stranger = other.member(&mut r, "eve@cert-xx");
    let err = w
        .trust
        .verify_certificate(stranger.certificate(), NOW)
        .unwrap_err();
    assert!(matches!(err, CertError::UntrustedRoot { .. }), "{err:?}");
}

#[test]
fn first_message_from_untrusted_sender_is_refused() {
    let mut w = World::new(5);
    let mut r = rng(55);
    let mut other = Org::new(&mut r, "CERT-XX");
    let eve = other.member(&mut r, "eve@cert-xx");
    let bob = w.bob.verified_by(&trust(&[&w.org, &other]));
    let mut session =
        Session::initiate(&mut r, &eve.local, &bob, &w.bob.bundle(true), NOW).unwrap();
    let first = first_message(session.encrypt(&mut r, b"hi").unwrap());
    let err = Session::accept(&w.bob.local, &mut w.bob.prekeys, &w.trust, &first, NOW).unwrap_err();
    assert!(
        matches!(
            err,
            HandshakeError::Certificate(CertError::UntrustedRoot { .. })
        ),
        "{err:?}"
    );
    // Nothing was consumed: the one-time prekey is still there.
    assert_eq!(w.bob.prekeys.one_time_prekeys().len(), 10);
}

#[test]
fn expired_certificate() {
    let w = World::new(6);
    let after = NOW.plus_days(366);
    let err = w
        .trust
        .verify_certificate(w.alice.certificate(), after)
        .unwrap_err();
    assert!(matches!(err, CertError::Expired { .. }), "{err:?}");
    let before = UnixTime(NOW.0 - 2 * 86_400);
    let err = w
        .trust
        .verify_certificate(w.alice.certificate(), before)
        .unwrap_err();
    assert!(
        matches!(&err, CertError::NotYetValid { user, .. } if user.as_str() == "alice@cert-at"),
        "{err:?}"
    );
}

fn revoke(org: &Org, version: u64, serial: u64, user: &str) -> RevocationList {
    RevocationList::sign(
        &org.key,
        RevocationListBody {
            org: org.id().clone(),
            version,
            issued_at: NOW,
            entries: vec![RevokedCertificate {
                serial,
                user: user.parse().unwrap(),
                revoked_at: NOW,
                reason: "laptop lost".parse().unwrap(),
            }],
        },
    )
}

#[test]
fn revoked_certificate() {
    let mut w = World::new(7);
    let serial = w.alice.certificate().body().serial;
    w.trust
        .update_revocations(revoke(&w.org, 1, serial, "alice@cert-at"))
        .unwrap();
    let err = w
        .trust
        .verify_certificate(w.alice.certificate(), NOW)
        .unwrap_err();
    assert!(
        matches!(&err, CertError::Revoked { reason, .. } if reason == "laptop lost"),
        "{err:?}"
    );
    // A revoked initiator's first message is refused by the responder.
    let (_, first) = {
        let bob = w.bob.verified_by(&w.trust);
        let mut s =
            Session::initiate(&mut w.rng, &w.alice.local, &bob, &w.bob.bundle(true), NOW).unwrap();
        let e = s.encrypt(&mut w.rng, b"hi").unwrap();
        (s, e)
    };
    let err = Session::accept(
        &w.bob.local,
        &mut w.bob.prekeys,
        &w.trust,
        &first_message(first),
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(err, HandshakeError::Certificate(CertError::Revoked { .. })),
        "{err:?}"
    );
}

#[test]
fn older_or_forged_revocation_list_never_replaces_newer() {
    let mut w = World::new(8);
    let serial = w.alice.certificate().body().serial;
    let empty = RevocationList::sign(
        &w.org.key,
        RevocationListBody {
            org: w.org.id().clone(),
            version: 1,
            issued_at: NOW,
            entries: vec![],
        },
    );
    w.trust
        .update_revocations(revoke(&w.org, 2, serial, "alice@cert-at"))
        .unwrap();
    let err = w.trust.update_revocations(empty).unwrap_err();
    assert!(matches!(
        err,
        vigil_protocol::RevocationError::Stale {
            current: 2,
            offered: 1,
            ..
        }
    ));
    // A list signed by someone else's key.
    let mut r = rng(88);
    let rogue = Org::new(&mut r, "CERT-AT");
    let err = w
        .trust
        .update_revocations(revoke(&rogue, 3, 999, "bob@cert-at"))
        .unwrap_err();
    assert!(
        matches!(err, vigil_protocol::RevocationError::BadSignature { .. }),
        "{err:?}"
    );
    // The same version with other content is equivocation.
    let err = w
        .trust
        .update_revocations(revoke(&w.org, 2, serial + 1, "bob@cert-at"))
        .unwrap_err();
    assert!(
        matches!(err, vigil_protocol::RevocationError::Equivocation { .. }),
        "{err:?}"
    );
    assert!(
        w.trust
            .verify_certificate(w.alice.certificate(), NOW)
            .is_err()
    );
}

#[test]
fn forged_certificate_signature() {
    let w = World::new(9);
    let forged = flip_last_byte(w.alice.certificate().to_bytes());
    let forged = MemberCertificate::from_bytes(&forged).unwrap();
    let err = w.trust.verify_certificate(&forged, NOW).unwrap_err();
    assert!(matches!(err, CertError::BadSignature { .. }), "{err:?}");
}

#[test]
fn certificate_for_a_user_of_another_org_is_refused() {
    let mut r = rng(10);
    let mut org = Org::new(&mut r, "CERT-AT");
    let (mut body, _, _) = org.body(&mut r, "spy@cert-cz");
    body.user = "spy@cert-cz".parse().unwrap();
    let err = MemberCertificate::issue(&org.key, body).unwrap_err();
    assert!(matches!(err, CertError::Malformed { .. }), "{err:?}");
}

#[test]
fn replayed_prekey_message() {
    let mut w = World::new(11);
    let (_alice, first) = w.alice_to_bob(b"first");
    let first = first_message(first);
    let (mut bob, _) =
        Session::accept(&w.bob.local, &mut w.bob.prekeys, &w.trust, &first, NOW).unwrap();
    // Handed to accept again (e.g. after the session was dropped): refused, nothing changes.
    let err = Session::accept(&w.bob.local, &mut w.bob.prekeys, &w.trust, &first, NOW).unwrap_err();
    assert_eq!(err, HandshakeError::ReplayedPrekeyMessage);
    // Handed to the session it created: a duplicate.
    let err = bob.decrypt(&Envelope::Prekey(first)).unwrap_err();
    assert_eq!(err, SessionError::Replayed { counter: 0 });
}

#[test]
fn replayed_prekey_message_without_one_time_prekey() {
    let mut w = World::new(12);
    let bob_cert = w.bob.verified_by(&w.trust);
    let mut alice = Session::initiate(
        &mut w.rng,
        &w.alice.local,
        &bob_cert,
        &w.bob.bundle(false),
        NOW,
    )
    .unwrap();
    let first = first_message(alice.encrypt(&mut w.rng, b"no otk").unwrap());
    assert_eq!(first.one_time_prekey_id, None);
    Session::accept(&w.bob.local, &mut w.bob.prekeys, &w.trust, &first, NOW).unwrap();
    let err = Session::accept(&w.bob.local, &mut w.bob.prekeys, &w.trust, &first, NOW).unwrap_err();
    assert_eq!(err, HandshakeError::ReplayedPrekeyMessage);
}

#[test]
fn used_one_time_prekey_is_refused() {
    let mut w = World::new(13);
    let bundle = w.bob.bundle(true);
    let (_a1, first1) = w.alice_to_bob(b"one");
    Session::accept(
        &w.bob.local,
        &mut w.bob.prekeys,
        &w.trust,
        &first_message(first1),
        NOW,
    )
    .unwrap();
    // A relay that hands the same one-time prekey out twice.
    let bob_cert = w.bob.verified_by(&w.trust);
    let mut carol = Session::initiate(&mut w.rng, &w.carol.local, &bob_cert, &bundle, NOW).unwrap();
    let first2 = first_message(carol.encrypt(&mut w.rng, b"two").unwrap());
    let err =
        Session::accept(&w.bob.local, &mut w.bob.prekeys, &w.trust, &first2, NOW).unwrap_err();
    assert!(
        matches!(err, HandshakeError::UnknownOneTimePrekey { .. }),
        "{err:?}"
    );
}

#[test]
fn duplicate_message() {
    let mut w = World::new(14);
    let (mut alice, mut bob) = w.established();
    let m = alice.encrypt(&mut w.rng, b"once").unwrap();
    assert_eq!(bob.decrypt(&m).unwrap(), b"once");
    let err = bob.decrypt(&m).unwrap_err();
    assert_eq!(err, SessionError::Replayed { counter: 0 });
    // An out-of-order message decrypts once, then is a duplicate too.
    let m1 = alice.encrypt(&mut w.rng, b"one").unwrap();
    let m2 = alice.encrypt(&mut w.rng, b"two").unwrap();
    assert_eq!(bob.decrypt(&m2).unwrap(), b"two");
    assert_eq!(bob.decrypt(&m1).unwrap(), b"one");
    assert!(matches!(
        bob.decrypt(&m1),
        Err(SessionError::Replayed { .. })
    ));
    assert!(matches!(
        bob.decrypt(&m2),
        Err(SessionError::Replayed { .. })
    ));
}

#[test]
fn counter_jump_over_the_limit() {
    let mut w = World::new(15);
    let (mut alice, mut bob) = w.established();
    let mut last = None;
    for _ in 0..=MAX_MESSAGE_GAP + 1 {
        last = Some(alice.encrypt(&mut w.rng, b"x").unwrap());
    }
    let err = bob.decrypt(&last.unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            SessionError::GapTooLarge {
                max: MAX_MESSAGE_GAP,
                ..
            }
        ),
        "{err:?}"
    );
    // Exactly at the limit is accepted.
    let mut w = World::new(15);
    let (mut alice, mut bob) = w.established();
    let mut last = None;
    for _ in 0..=MAX_MESSAGE_GAP {
        last = Some(alice.encrypt(&mut w.rng, b"y").unwrap());
    }
    assert_eq!(bob.decrypt(&last.unwrap()).unwrap(), b"y");
}

#[test]
fn forged_huge_counter_is_refused_cheaply() {
    let mut w = World::new(16);
    let (mut alice, mut bob) = w.established();
    let Envelope::Ratchet(mut m) = alice.encrypt(&mut w.rng, b"x").unwrap() else {
        panic!()
    };
    m.header.counter = u32::MAX;
    let err = bob.decrypt(&Envelope::Ratchet(m)).unwrap_err();
    assert!(matches!(err, SessionError::GapTooLarge { .. }), "{err:?}");
}

#[test]
fn message_addressed_to_someone_else() {
    let mut w = World::new(17);
    // A first message for Carol delivered to Bob.
    let carol = w.carol.verified_by(&w.trust);
    let mut to_carol = Session::initiate(
        &mut w.rng,
        &w.alice.local,
        &carol,
        &w.carol.bundle(true),
        NOW,
    )
    .unwrap();
    let first = first_message(to_carol.encrypt(&mut w.rng, b"for carol").unwrap());
    let err = Session::accept(&w.bob.local, &mut w.bob.prekeys, &w.trust, &first, NOW).unwrap_err();
    assert!(matches!(err, HandshakeError::NotForUs { .. }), "{err:?}");
    // A ratchet message of the Alice-Bob session fed into Carol's session with Alice.
    let (mut carol_session, _) =
        Session::accept(&w.carol.local, &mut w.carol.prekeys, &w.trust, &first, NOW).unwrap();
    let (mut alice, _bob) = w.established();
    let for_bob = alice.encrypt(&mut w.rng, b"for bob").unwrap();
    let Envelope::Ratchet(m) = for_bob else {
        panic!()
    };
    let err = carol_session.decrypt(&Envelope::Ratchet(m)).unwrap_err();
    assert!(matches!(err, SessionError::Decrypt(_)), "{err:?}");
}

#[test]
fn low_order_public_key() {
    let mut w = World::new(18);
    let bob_cert = w.bob.verified_by(&w.trust);
    // A (compromised) Bob who signs an all-zero signed prekey: Alice refuses to derive keys.
    let zero = AgreementPublicKey([0; 32]);
    let mut bundle: PrekeyBundle = w.bob.bundle(false);
    bundle.signed_prekey.key = zero;
    bundle.signed_prekey.signature = resign_signed_prekey(&w, &bundle);
    let err = Session::initiate(&mut w.rng, &w.alice.local, &bob_cert, &bundle, NOW).unwrap_err();
    assert!(matches!(err, HandshakeError::NonContributory(_)), "{err:?}");

    // A ratchet message whose ratchet key has low order.
    let (mut alice, mut bob) = w.established();
    let Envelope::Ratchet(mut m) = alice.encrypt(&mut w.rng, b"x").unwrap() else {
        panic!()
    };
    m.header.ratchet_key = zero;
    let err = bob.decrypt(&Envelope::Ratchet(m)).unwrap_err();
    assert!(matches!(err, SessionError::NonContributory(_)), "{err:?}");
}

/// Signs a signed prekey the way its owner would (same bytes as `PrekeyStore`).
fn resign_signed_prekey(w: &World, bundle: &PrekeyBundle) -> Signature {
    #[derive(bincode::Encode)]
    struct Tbs<'a> {
        user: &'a vigil_protocol::UserId,
        id: u32,
        key: &'a AgreementPublicKey,
        created: UnixTime,
    }
    let spk = &bundle.signed_prekey;
    let tbs = Tbs {
        user: &bundle.user,
        id: spk.id,
        key: &spk.key,
        created: spk.created,
    };
    w.bob.local.identity().sign(
        vigil_protocol::keys::SignatureContext::SignedPrekey,
        &codec::encode(&tbs),
    )
}

#[test]
fn tampered_ciphertext() {
    let mut w = World::new(19);
    let (mut alice, mut bob) = w.established();
    let Envelope::Ratchet(mut m) = alice.encrypt(&mut w.rng, b"attack at dawn").unwrap() else {
        panic!()
    };
    let original = m.clone();
    m.ciphertext[3] ^= 0x20;
    assert!(matches!(
        bob.decrypt(&Envelope::Ratchet(m)),
        Err(SessionError::Decrypt(_))
    ));
    // The session is untouched: the genuine message still decrypts.
    assert_eq!(
        bob.decrypt(&Envelope::Ratchet(original)).unwrap(),
        b"attack at dawn"
    );
}

#[test]
fn tampered_associated_data() {
    let mut w = World::new(20);
    let (mut alice, mut bob) = w.established();
    let _skip = alice.encrypt(&mut w.rng, b"0").unwrap();
    let Envelope::Ratchet(m) = alice.encrypt(&mut w.rng, b"1").unwrap() else {
        panic!()
    };
    let mut counter = m.clone();
    counter.header.counter = 0;
    assert!(matches!(
        bob.decrypt(&Envelope::Ratchet(counter)),
        Err(SessionError::Decrypt(_))
    ));
    let mut previous = m.clone();
    previous.header.previous_chain_length += 1;
    assert!(matches!(
        bob.decrypt(&Envelope::Ratchet(previous)),
        Err(SessionError::Decrypt(_))
    ));
    let truncated = RatchetMessage {
        header: m.header.clone(),
        nonce: m.nonce,
        ciphertext: m.ciphertext[..4].to_vec(),
    };
    assert!(matches!(
        bob.decrypt(&Envelope::Ratchet(truncated)),
        Err(SessionError::Decrypt(_))
    ));
    let mut other_nonce = m.clone();
    other_nonce.nonce[23] ^= 1;
    assert!(matches!(
        bob.decrypt(&Envelope::Ratchet(other_nonce)),
        Err(SessionError::Decrypt(_))
    ));
    assert_eq!(bob.decrypt(&Envelope::Ratchet(m)).unwrap(), b"1");
}

#[test]
fn unknown_version() {
    let mut w = World::new(21);
    let (mut alice, _bob) = w.established();
    let mut bytes = alice.encrypt(&mut w.rng, b"v").unwrap().to_bytes();
    for other in [1, 3] {
        bytes[0] = other;
        assert_eq!(
            Envelope::from_bytes(&bytes),
            Err(DecodeError::UnknownVersion {
                expected: 2,
                got: other
            })
        );
    }
    bytes[0] = 0;
    assert!(matches!(
        Envelope::from_bytes(&bytes),
        Err(DecodeError::UnknownVersion { got: 0, .. })
    ));
}

#[test]
fn trailing_bytes_are_refused() {
    let mut w = World::new(22);
    let (mut alice, _bob) = w.established();
    let mut bytes = alice.encrypt(&mut w.rng, b"v").unwrap().to_bytes();
    bytes.push(0);
    assert_eq!(
        Envelope::from_bytes(&bytes),
        Err(DecodeError::TrailingBytes { extra: 1 })
    );
}

#[test]
fn trust_store_refuses_a_conflicting_root() {
    let mut r = rng(23);
    let org = Org::new(&mut r, "CERT-AT");
    let rogue = Org::new(&mut r, "CERT-AT");
    let mut trust = TrustStore::new();
    trust.add_root(org.root.clone()).unwrap();
    trust.add_root(org.root.clone()).unwrap();
    assert!(matches!(
        trust.add_root(rogue.root.clone()),
        Err(CertError::RootConflict { .. })
    ));
}
