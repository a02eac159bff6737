//! The fuzz targets' bodies, shared by `fuzz/` (cargo-fuzz, nightly) and by the corpus replay
//! that `cargo test` runs on stable (`tests/tests/fuzz_corpus.rs`).
//!
//! Decoders: any input either fails to decode or decodes to a value whose encoding is exactly
//! the input (the codec is canonical), and nothing panics. Interactions (in the style of
//! libsignal's `interaction` target): the input drives two members over a lossy, reordering,
//! duplicating channel; every plaintext accepted is one that was sent, at most once.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::channel::{ChannelView, GroupMessage, SignedChannelState};
use vigil_protocol::content::{ChannelContent, DirectContent, Payload};
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair};
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::prekey::PrekeyStore;
use vigil_protocol::provisioning::{BundleContents, SealedFile};
use vigil_protocol::relay::{Push, Request, Response, decode_frame};
use vigil_protocol::storage::StoreKey;
use vigil_protocol::{
    CertificateBody, Clearance, CountryCode, Envelope, LocalIdentity, MemberCertificate, OrgId,
    OrgRoot, RevocationList, Session, Text, TrustStore, UnixTime, UserId,
};

/// A target: its name (of `fuzz/fuzz_targets/*.rs` and `fuzz/corpus/*`) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("envelope", envelope),
    ("relay_frames", relay_frames),
    ("certificate", certificate),
    ("revocation_list", revocation_list),
    ("bundle", bundle),
    ("channel_state", channel_state),
    ("group_message", group_message),
    ("payload", payload),
    ("store_record", store_record),
    ("session_interaction", session_interaction),
    ("channel_interaction", channel_interaction),
    ("channel_governance", crate::governance::channel_governance),
];

/// Asserts the canonical round trip of whatever decodes.
macro_rules! round_trip {
    ($ty:ty, $data:expr) => {
        if let Ok(value) = <$ty>::from_bytes($data) {
            assert_eq!(
                value.to_bytes().as_slice(),
                $data,
                "non-canonical {}",
                stringify!($ty)
            );
        }
    };
}

/// 1:1 envelopes.
pub fn envelope(data: &[u8]) {
    round_trip!(Envelope, data);
}

/// Client–relay frames: requests, responses, pushes.
pub fn relay_frames(data: &[u8]) {
    let _ = decode_frame::<Request>(data);
    let _ = decode_frame::<Response>(data);
    let _ = decode_frame::<Push>(data);
}

/// Member certificates, org roots and partner limits records.
pub fn certificate(data: &[u8]) {
    round_trip!(MemberCertificate, data);
    round_trip!(OrgRoot, data);
    if let Ok((org, limits)) = PartnerLimits::from_record(data) {
        assert_eq!(
            limits.to_record(&org).as_slice(),
            data,
            "non-canonical partner limits"
        );
    }
}

/// Revocation lists.
pub fn revocation_list(data: &[u8]) {
    round_trip!(RevocationList, data);
}

/// Sealed files (bundles and the rest): the container, its header, and opening it.
pub fn bundle(data: &[u8]) {
    if let Ok(sealed) = SealedFile::from_bytes(data) {
        assert_eq!(sealed.to_bytes(), data, "non-canonical SealedFile");
        // Opening costs an Argon2id run (parameters bounded when read); the header is public.
        let _ = BundleContents::peek_header(&sealed);
    }
}

/// Signed channel states.
pub fn channel_state(data: &[u8]) {
    round_trip!(SignedChannelState, data);
}

/// Channel messages.
pub fn group_message(data: &[u8]) {
    round_trip!(GroupMessage, data);
}

/// Client payloads and their contents.
pub fn payload(data: &[u8]) {
    round_trip!(Payload, data);
    let _ = DirectContent::from_bytes(data);
    let _ = ChannelContent::from_bytes(data);
}

/// Sealed store records: nothing but the genuine record opens.
pub fn store_record(data: &[u8]) {
    let key = StoreKey::from_bytes(&[7; 32]);
    if let Ok(plain) = key.open(3, b"record", data) {
        // Only a record sealed under this key, kind and place opens: re-sealing must yield
        // something that opens to the same bytes (and the input was not forged without the key).
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let again = key.seal(&mut rng, 3, b"record", &plain);
        let reopened = key.open(3, b"record", &again).expect("a fresh seal opens");
        assert_eq!(reopened.as_slice(), plain.as_slice());
    }
}

const NOW: UnixTime = UnixTime(1_795_798_504);

struct Member {
    local: LocalIdentity,
}

fn member(rng: &mut ChaCha20Rng, root: &OrgRootKeyPair, serial: u64, name: &str) -> Member {
    let identity = IdentityKeyPair::generate(rng);
    let agreement = AgreementKeyPair::generate(rng);
    let body = CertificateBody {
        serial,
        org: OrgId::new("CERT-AT").expect("valid"),
        user: UserId::new(name).expect("valid"),
        display_name: Text::new(name).expect("valid"),
        roles: vec![],
        clearance: Clearance {
            policy: Text::new("EU").expect("valid"),
            level: 3,
        },
        identity_key: identity.public(),
        agreement_key: agreement.public(),
        not_before: UnixTime(NOW.0 - 60),
        not_after: NOW.plus_days(30),
    };
    let certificate = MemberCertificate::issue(root, body).expect("valid");
    Member {
        local: LocalIdentity::new(certificate, identity, agreement).expect("valid"),
    }
}

fn org(rng: &mut ChaCha20Rng) -> (OrgRootKeyPair, TrustStore) {
    let root = OrgRootKeyPair::generate(rng);
    let mut trust = TrustStore::new();
    let _ = trust.add_root(OrgRoot::create(
        &root,
        OrgId::new("CERT-AT").expect("valid"),
        CountryCode::new("AT").expect("valid"),
        NOW,
    ));
    (root, trust)
}

/// In flight: (from alice?, message number, bytes).
type Wire = Vec<(bool, u32, Vec<u8>)>;

/// Delivers, reorders, duplicates and drops 1:1 messages as `data` says.
pub fn session_interaction(data: &[u8]) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (root, trust) = org(&mut rng);
    let alice = member(&mut rng, &root, 1, "alice@cert-at");
    let bob = member(&mut rng, &root, 2, "bob@cert-at");
    let mut bob_prekeys = PrekeyStore::new(&mut rng, &bob.local, NOW);
    bob_prekeys.generate_one_time_prekeys(&mut rng, bob.local.identity(), 2);
    let Some(bundle) = bob_prekeys.bundle(bob.local.certificate().body().identity_key, true) else {
        return;
    };
    let Ok(bob_cert) = trust.verify_certificate(bob.local.certificate(), NOW) else {
        return;
    };
    let Ok(mut a) = Session::initiate(&mut rng, &alice.local, &bob_cert, &bundle, NOW) else {
        return;
    };
    let mut b: Option<Session> = None;
    let mut wire: Wire = Vec::new();
    let mut delivered: Vec<(bool, u32)> = Vec::new();
    let (mut sent_a, mut sent_b) = (0u32, 0u32);
    for pair in data.chunks(2) {
        let op = pair.first().copied().unwrap_or(0);
        let arg = usize::from(pair.get(1).copied().unwrap_or(0));
        match op % 6 {
            0 => {
                let text = format!("a{sent_a}");
                if let Ok(env) = a.encrypt(&mut rng, text.as_bytes()) {
                    wire.push((true, sent_a, env.to_bytes()));
                    sent_a += 1;
                }
            }
            1 => {
                if let Some(session) = &mut b {
                    let text = format!("b{sent_b}");
                    if let Ok(env) = session.encrypt(&mut rng, text.as_bytes()) {
                        wire.push((false, sent_b, env.to_bytes()));
                        sent_b += 1;
                    }
                }
            }
            2..=4 => {
                if wire.is_empty() {
                    continue;
                }
                let index = if op % 6 == 2 { 0 } else { arg % wire.len() };
                let (from_a, n, bytes) = if op % 6 == 4 {
                    wire[index].clone() // duplicate: stays in flight
                } else {
                    wire.remove(index)
                };
                let Ok(env) = Envelope::from_bytes(&bytes) else {
                    continue;
                };
                let opened = if from_a {
                    match (&mut b, &env) {
                        (Some(session), _) => session.decrypt(&env).ok(),
                        (None, Envelope::Prekey(first)) => {
                            match Session::accept(&bob.local, &mut bob_prekeys, &trust, first, NOW)
                            {
                                Ok((session, plain)) => {
                                    b = Some(session);
                                    Some(plain)
                                }
                                Err(_) => None,
                            }
                        }
                        (None, Envelope::Ratchet(_)) => None,
                    }
                } else {
                    a.decrypt(&env).ok()
                };
                if let Some(plain) = opened {
                    let expected = format!("{}{n}", if from_a { 'a' } else { 'b' });
                    assert_eq!(plain, expected.as_bytes(), "a message opened as another");
                    assert!(
                        !delivered.contains(&(from_a, n)),
                        "accepted twice: {expected}"
                    );
                    delivered.push((from_a, n));
                }
            }
            _ => {
                if !wire.is_empty() {
                    let index = arg % wire.len();
                    let mut entry = wire.remove(index);
                    let at = arg % entry.2.len().max(1);
                    if let Some(byte) = entry.2.get_mut(at) {
                        *byte ^= 0x01; // tampered in transit: must never open
                    }
                    let Ok(env) = Envelope::from_bytes(&entry.2) else {
                        continue;
                    };
                    let opened = if entry.0 {
                        b.as_mut().and_then(|s| s.decrypt(&env).ok())
                    } else {
                        a.decrypt(&env).ok()
                    };
                    // A change the AEAD does not cover (the session-setup fields of a first
                    // message, once the session exists) may still open: then it must be the
                    // genuine plaintext, and only once.
                    if let Some(plain) = opened {
                        let expected = format!("{}{}", if entry.0 { 'a' } else { 'b' }, entry.1);
                        assert_eq!(
                            plain,
                            expected.as_bytes(),
                            "a tampered message opened as another"
                        );
                        assert!(!delivered.contains(&(entry.0, entry.1)), "accepted twice");
                        delivered.push((entry.0, entry.1));
                    }
                }
            }
        }
    }
}

/// Three members of a channel exchanging messages delivered as `data` says.
pub fn channel_interaction(data: &[u8]) {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let (root, trust) = org(&mut rng);
    let names = ["lead@cert-at", "a@cert-at", "b@cert-at"];
    let members: Vec<Member> = names
        .iter()
        .zip(1u64..)
        .map(|(n, s)| member(&mut rng, &root, s, n))
        .collect();
    let Ok(label) = Label::new(
        "TLP:AMBER",
        "EU RESTRICTED",
        &[],
        ClassificationPolicy::eu(),
    ) else {
        return;
    };
    let certs = members
        .iter()
        .map(|m| m.local.certificate().clone())
        .collect();
    let Ok((lead, created)) = ChannelView::create(
        &mut rng,
        &members[0].local,
        Text::new("fuzz").expect("valid"),
        label,
        certs,
        vec![],
        &trust,
        NOW,
    ) else {
        return;
    };
    let mut views = vec![lead];
    for m in &members[1..] {
        match ChannelView::join(m.local.user(), std::slice::from_ref(&created), &trust, NOW) {
            Ok(v) => views.push(v),
            Err(_) => return,
        }
    }
    let mut keys = Vec::new();
    for v in &mut views {
        match v.own_sender_key(&mut rng) {
            Ok(k) => keys.push(k),
            Err(_) => return,
        }
    }
    for (i, v) in views.iter_mut().enumerate() {
        for (j, k) in keys.iter().enumerate() {
            let identity = members[j].local.certificate().body().identity_key;
            if i != j && v.add_sender_key(&k.sender, &identity, k).is_err() {
                return;
            }
        }
    }
    // In flight: (sender index, number, recipient index, bytes).
    let mut wire: Vec<(usize, u32, usize, Vec<u8>)> = Vec::new();
    let mut sent = [0u32; 3];
    let mut delivered: Vec<(usize, u32, usize)> = Vec::new();
    for pair in data.chunks(2) {
        let op = pair.first().copied().unwrap_or(0);
        let arg = usize::from(pair.get(1).copied().unwrap_or(0));
        let who = arg % 3;
        match op % 4 {
            0 => {
                let text = format!("{who}:{}", sent[who]);
                if let Ok(message) = views[who].seal(&mut rng, text.as_bytes()) {
                    for to in (0..3).filter(|t| *t != who) {
                        wire.push((who, sent[who], to, message.to_bytes()));
                    }
                    sent[who] += 1;
                }
            }
            1 | 2 => {
                if wire.is_empty() {
                    continue;
                }
                let index = arg % wire.len();
                let (from, n, to, bytes) = if op % 4 == 2 {
                    wire[index].clone()
                } else {
                    wire.remove(index)
                };
                let Ok(message) = GroupMessage::from_bytes(&bytes) else {
                    continue;
                };
                if let Ok(opened) = views[to].open(&message, NOW) {
                    assert_eq!(opened.plaintext, format!("{from}:{n}").as_bytes());
                    assert!(!delivered.contains(&(from, n, to)), "accepted twice");
                    delivered.push((from, n, to));
                }
            }
            _ => {
                let at = arg % wire.len().max(1);
                if let Some(entry) = wire.get_mut(at) {
                    let len = entry.3.len();
                    if let Some(byte) = entry.3.get_mut(arg % len.max(1)) {
                        *byte ^= 0x80;
                    }
                    let to = entry.2;
                    if let Ok(message) = GroupMessage::from_bytes(&entry.3) {
                        assert!(
                            views[to].open(&message, NOW).is_err(),
                            "a tampered message opened"
                        );
                    }
                    wire.remove(at);
                }
            }
        }
    }
}

/// Valid inputs for every target, to seed the corpus (`VIGIL_BLESS=1 cargo test -p vigil-tests
/// --test fuzz_corpus` writes them to `fuzz/corpus/`).
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    use vigil_protocol::channel::Proposal;
    use vigil_protocol::provisioning::{KdfParams, RelayInfo, TrustedRoot};
    use vigil_protocol::relay::{ClientMessageId, MessageId, encode_frame};

    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let (root, trust) = org(&mut rng);
    let alice = member(&mut rng, &root, 1, "alice@cert-at");
    let bob = member(&mut rng, &root, 2, "bob@cert-at");
    let mut prekeys = PrekeyStore::new(&mut rng, &bob.local, NOW);
    let otks = prekeys.generate_one_time_prekeys(&mut rng, bob.local.identity(), 1);
    let bundle = prekeys
        .bundle(bob.local.certificate().body().identity_key, true)
        .expect("bundle");
    let bob_cert = trust
        .verify_certificate(bob.local.certificate(), NOW)
        .expect("valid");
    let mut a =
        Session::initiate(&mut rng, &alice.local, &bob_cert, &bundle, NOW).expect("session");
    let first = a.encrypt(&mut rng, b"first").expect("encrypt");
    let Envelope::Prekey(prekey) = &first else {
        unreachable!("a first message is a prekey message")
    };
    let (mut b, _) =
        Session::accept(&bob.local, &mut prekeys, &trust, prekey, NOW).expect("accept");
    let reply = b.encrypt(&mut rng, b"reply").expect("encrypt");

    let label = Label::new(
        "TLP:AMBER",
        "EU RESTRICTED",
        &[],
        ClassificationPolicy::eu(),
    )
    .expect("label");
    let (mut view, created) = ChannelView::create(
        &mut rng,
        &alice.local,
        Text::new("seed").expect("name"),
        label,
        vec![bob.local.certificate().clone()],
        vec![],
        &trust,
        NOW,
    )
    .expect("channel");
    let key = view.own_sender_key(&mut rng).expect("key");
    let message = view.seal(&mut rng, b"channel seed").expect("seal");
    let removal = view
        .propose(
            &alice.local,
            Proposal::Remove {
                users: vec![bob.local.user().clone()],
                reason: Text::new("seed").expect("reason"),
            },
            &trust,
            NOW,
        )
        .expect("proposal");

    let revocations = RevocationList::sign(
        &root,
        vigil_protocol::cert::RevocationListBody {
            org: OrgId::new("CERT-AT").expect("org"),
            version: 2,
            issued_at: NOW,
            entries: vec![vigil_protocol::RevokedCertificate {
                serial: 2,
                user: bob.local.user().clone(),
                revoked_at: NOW,
                reason: Text::new("seed").expect("reason"),
            }],
        },
    );
    let relay = RelayInfo {
        address: Text::new("127.0.0.1:4433").expect("address"),
        server_name: Text::new("localhost").expect("name"),
        pin: [3; 32],
    };
    let own = trust.root(&OrgId::new("CERT-AT").expect("org")).cloned();
    let partner_key = OrgRootKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(12));
    let partner = OrgRoot::create(
        &partner_key,
        OrgId::new("CERT-CZ").expect("org"),
        CountryCode::new("CZ").expect("country"),
        NOW,
    );
    let limits = PartnerLimits {
        max_clearance: Clearance {
            policy: Text::new("EU").expect("policy"),
            level: 1,
        },
        roles: Some(vec!["duty-officer".parse().expect("role")]),
    };
    let roots = own
        .into_iter()
        .map(TrustedRoot::own)
        .chain([TrustedRoot::partner(partner.clone(), limits.clone())])
        .collect();
    let contents = BundleContents::new(&alice.local, relay, roots, vec![revocations.clone()]);
    let small = KdfParams {
        memory_kib: KdfParams::MIN_MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
    };
    let sealed = contents
        .seal(&mut rng, b"seed passphrase", small, NOW)
        .expect("sealed");
    let store_key = StoreKey::from_bytes(&[7; 32]);
    let frame = |bytes: Vec<u8>| bytes.get(4..).map(<[u8]>::to_vec).unwrap_or_default();
    let send = Request::Send {
        id: ClientMessageId([1; 16]),
        recipients: vec![bob.local.user().clone()],
        level: None,
        payload: Payload::Direct(first.clone()).to_bytes(),
    };
    vec![
        ("envelope", vec![first.to_bytes(), reply.to_bytes()]),
        (
            "relay_frames",
            vec![
                frame(encode_frame(&send)),
                frame(encode_frame(&Request::Ack {
                    ids: vec![MessageId(1), MessageId(2)],
                })),
                frame(encode_frame(&Request::Revocations)),
                frame(encode_frame(&vigil_protocol::relay::login_request(
                    alice.local.certificate(),
                    alice.local.identity(),
                    &vigil_protocol::keys::DeviceKeyPair::from_seed(&[5; 32]),
                    &[9; 32],
                ))),
                frame(encode_frame(&Request::PublishPrekeys {
                    signed_prekey: bundle.signed_prekey.clone(),
                    one_time_prekeys: otks,
                })),
                frame(encode_frame(&Response::Sent { duplicate: false })),
                frame(encode_frame(&Push::PrekeysLow { remaining: 3 })),
            ],
        ),
        (
            "certificate",
            vec![
                alice.local.certificate().to_bytes(),
                partner.to_bytes(),
                limits.to_record(partner.org()),
            ],
        ),
        ("revocation_list", vec![revocations.to_bytes()]),
        ("bundle", vec![sealed.to_bytes()]),
        (
            "channel_state",
            vec![created.to_bytes(), removal.to_bytes()],
        ),
        ("group_message", vec![message.to_bytes()]),
        (
            "payload",
            vec![
                Payload::Direct(first).to_bytes(),
                Payload::Channel(Box::new(message)).to_bytes(),
                DirectContent::SenderKey(Box::new(key)).to_bytes().to_vec(),
                ChannelContent::Text {
                    text: "seed".into(),
                    sent_at: NOW,
                }
                .to_bytes()
                .to_vec(),
            ],
        ),
        (
            "store_record",
            vec![store_key.seal(&mut rng, 3, b"record", b"a sealed store record")],
        ),
        (
            "session_interaction",
            vec![
                vec![0, 0, 2, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 1, 4, 0, 2, 0],
                vec![0, 0, 0, 0, 0, 0, 3, 2, 3, 1, 1, 0, 5, 3, 2, 0, 4, 0, 2, 0],
            ],
        ),
        (
            "channel_interaction",
            vec![
                vec![0, 0, 0, 1, 0, 2, 1, 0, 1, 1, 2, 0, 1, 2, 3, 1],
                vec![0, 0, 0, 0, 1, 3, 1, 0, 2, 1, 3, 0, 1, 1],
            ],
        ),
        ("channel_governance", crate::governance::seeds()),
    ]
}
