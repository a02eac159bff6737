//! Golden encodings: our envelopes, certificates, roots, lists and bundles, frozen in
//! `tests/data/golden/`. A change to the wire format shows up here as a diff.
//!
//! After an intended format change, regenerate with
//! `VIGIL_BLESS=1 cargo test -p vigil-protocol --test protocol golden` and review the diff.

use std::path::PathBuf;

use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::cert::{RevocationListBody, RevokedCertificate, TrustListBody, TrustedPartner};
use vigil_protocol::message::Envelope;
use vigil_protocol::prekey::PrekeyBundle;
use vigil_protocol::provisioning::{
    BundleContents, CertificateRequest, KdfParams, RelayInfo, SealedFile, TrustedRoot,
};
use vigil_protocol::{MemberCertificate, OrgRoot, RevocationList, Session, TrustList, codec};

use crate::fixtures::{NOW, Org, World, rng};

const SEED: u64 = 0x5EED;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/golden")
        .join(format!("{name}.hex"))
}

fn to_text(bytes: &[u8]) -> String {
    let hex = hex::encode(bytes);
    let mut text = String::new();
    for line in hex.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).unwrap());
        text.push('\n');
    }
    text
}

fn read_golden(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(golden_path(name))
        .unwrap_or_else(|e| panic!("golden file {name}.hex: {e} (bless with VIGIL_BLESS=1)"));
    hex::decode(text.split_whitespace().collect::<String>()).unwrap()
}

/// Compares `bytes` with the golden file, or rewrites it under `VIGIL_BLESS=1`.
fn check(name: &str, bytes: &[u8]) {
    if std::env::var_os("VIGIL_BLESS").is_some() {
        std::fs::write(golden_path(name), to_text(bytes)).unwrap();
        return;
    }
    let golden = read_golden(name);
    assert!(
        golden == bytes,
        "encoding of {name} changed:\n--- golden\n{}+++ now\n{}",
        to_text(&golden),
        to_text(bytes)
    );
}

const BUNDLE_PASSPHRASE: &[u8] = b"golden bundle passphrase";

/// The cheapest parameters a sealed file may use: golden files need not be slow to open.
const FAST: KdfParams = KdfParams {
    memory_kib: KdfParams::MIN_MEMORY_KIB,
    iterations: 1,
    parallelism: 1,
};

struct Samples {
    world: World,
    request: CertificateRequest,
    bundle_file: SealedFile,
    bundle: PrekeyBundle,
    first: Envelope,
    reply: Envelope,
    revocations: RevocationList,
    trust_list: TrustList,
}

fn samples() -> Samples {
    let mut world = World::new(SEED);
    let bundle = world.bob.bundle(true);
    let (_, first) = world.alice_to_bob(b"TLP:AMBER incident 2026-11-27: IOC 198.51.100.7");
    let (_alice, mut bob) = world.established();
    let reply = bob.encrypt(&mut world.rng, b"ack").unwrap();
    let revocations = RevocationList::sign(
        &world.org.key,
        RevocationListBody {
            org: world.org.id().clone(),
            version: 3,
            issued_at: NOW,
            entries: vec![RevokedCertificate {
                serial: 3,
                user: "carol@cert-at".parse().unwrap(),
                revoked_at: NOW,
                reason: "device lost".parse().unwrap(),
            }],
        },
    );
    let request = CertificateRequest::new(
        world.carol.local.identity(),
        world.carol.local.agreement().public(),
        "carol@cert-at".parse().unwrap(),
        "Carol".parse().unwrap(),
        NOW,
    );
    let relay = RelayInfo {
        address: "relay.cert-at.example:4433".parse().unwrap(),
        server_name: "relay.cert-at.example".parse().unwrap(),
        pin: [7; 32],
    };
    // A partner trusted up to EU RESTRICTED for two roles, from its own RNG so that the other
    // samples do not move.
    let partner = Org::new(&mut rng(SEED + 1), "CERT-CZ");
    let limits = PartnerLimits {
        max_clearance: vigil_protocol::Clearance {
            policy: "EU".parse().unwrap(),
            level: 1,
        },
        roles: Some(vec![
            "duty-officer".parse().unwrap(),
            "incident-lead".parse().unwrap(),
        ]),
    };
    let trust_list = TrustList::sign(
        &world.org.key,
        TrustListBody {
            org: world.org.id().clone(),
            version: 2,
            issued_at: NOW,
            partners: vec![TrustedPartner {
                root: partner.root.clone(),
                limits: limits.clone(),
            }],
            predecessors: vec![],
        },
    );
    let contents = BundleContents::new(
        &world.bob.local,
        relay,
        vec![
            TrustedRoot::own(world.org.root.clone()),
            TrustedRoot::partner(partner.root, limits),
        ],
        vec![revocations.clone()],
    )
    .with_trust_list(trust_list.clone());
    let bundle_file = contents
        .seal(&mut world.rng, BUNDLE_PASSPHRASE, FAST, NOW)
        .unwrap();
    Samples {
        world,
        request,
        bundle_file,
        bundle,
        first,
        reply,
        revocations,
        trust_list,
    }
}

#[test]
fn encodings_match_golden_files() {
    let s = samples();
    check("org-root", &s.world.org.root.to_bytes());
    check(
        "member-certificate",
        &s.world.alice.certificate().to_bytes(),
    );
    check("revocation-list", &s.revocations.to_bytes());
    check("prekey-bundle", &codec::encode(&s.bundle));
    check("envelope-prekey", &s.first.to_bytes());
    check("envelope-ratchet", &s.reply.to_bytes());
    check("certificate-request", &s.request.to_bytes());
    check("enrollment-bundle", &s.bundle_file.to_bytes());
    check("trust-list", &s.trust_list.to_bytes());
}

#[test]
fn golden_files_still_decode_and_verify() {
    if std::env::var_os("VIGIL_BLESS").is_some() {
        return;
    }
    let mut fresh = World::new(SEED);
    let root = OrgRoot::from_bytes(&read_golden("org-root")).unwrap();
    assert_eq!(root, fresh.org.root);
    let cert = MemberCertificate::from_bytes(&read_golden("member-certificate")).unwrap();
    assert!(fresh.trust.verify_certificate(&cert, NOW).is_ok());
    let list = RevocationList::from_bytes(&read_golden("revocation-list")).unwrap();
    fresh.trust.update_revocations(list).unwrap();
    let trust_list = TrustList::from_bytes(&read_golden("trust-list")).unwrap();
    trust_list.verify(&fresh.org.root).unwrap();
    assert_eq!(trust_list.version(), 2);
    let bundle: PrekeyBundle = codec::decode(&read_golden("prekey-bundle")).unwrap();
    bundle
        .verify(&fresh.bob.verified_by(&fresh.trust), NOW)
        .unwrap();
    // A stored first message from an older build still opens with the same keys.
    let Envelope::Prekey(first) = Envelope::from_bytes(&read_golden("envelope-prekey")).unwrap()
    else {
        panic!("golden envelope-prekey is not a prekey message")
    };
    let (_, text) = Session::accept(
        &fresh.bob.local,
        &mut fresh.bob.prekeys,
        &fresh.trust,
        &first,
        NOW,
    )
    .unwrap();
    assert_eq!(text, b"TLP:AMBER incident 2026-11-27: IOC 198.51.100.7");
    assert!(Envelope::from_bytes(&read_golden("envelope-ratchet")).is_ok());
    let request = CertificateRequest::from_bytes(&read_golden("certificate-request")).unwrap();
    assert_eq!(
        request.verify().unwrap().identity_key,
        fresh.carol.local.identity().public()
    );
    let sealed = SealedFile::from_bytes(&read_golden("enrollment-bundle")).unwrap();
    let bundle = BundleContents::open(&sealed, BUNDLE_PASSPHRASE).unwrap();
    assert_eq!(
        bundle.local_identity().unwrap().user().as_str(),
        "bob@cert-at"
    );
    assert_eq!(
        BundleContents::peek_header(&sealed).unwrap().user.as_str(),
        "bob@cert-at"
    );
    let partner = &bundle.roots()[1];
    assert_eq!(partner.root.country().as_str(), "CZ");
    assert_eq!(
        partner.limits.as_ref().map(ToString::to_string).as_deref(),
        Some("up to EU RESTRICTED, roles duty-officer, incident-lead")
    );
    assert_eq!(root.country().as_str(), "AT");
}
