//! Partner limits and country codes, each rule attacked first: a partner root asserting a
//! clearance or a role beyond what it is trusted for, a channel offered such a member, a
//! bundle carrying the limits, and a root file whose country was moved.

use vigil_protocol::cert::{PartnerLimits, RootDecodeError};
use vigil_protocol::channel::{ChannelError, ChannelView};
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::provisioning::{BundleContents, KdfParams, RelayInfo, TrustedRoot};
use vigil_protocol::{
    CertError, Clearance, CountryCode, DecodeError, MemberCertificate, OrgId, OrgRoot, Role,
    TrustStore, UserId,
};

use crate::fixtures::{Member, NOW, Org, rng};

fn eu(level: u8) -> Clearance {
    Clearance {
        policy: "EU".parse().unwrap(),
        level,
    }
}

fn role(name: &str) -> Role {
    Role::new(name).unwrap()
}

/// CERT-AT's view: its own root without limit, CERT-CZ's within `limits`.
fn at_trusting_cz(at: &Org, cz: &Org, limits: PartnerLimits) -> TrustStore {
    let mut trust = TrustStore::new();
    trust.add_root(at.root.clone()).unwrap();
    trust.add_partner(cz.root.clone(), limits).unwrap();
    trust
}

/// A member of `org` with clearance `level` and `roles`.
fn cleared(org: &mut Org, seed: u64, user: &str, level: u8, roles: &[&str]) -> MemberCertificate {
    let mut r = rng(seed);
    let (mut body, ..) = org.body(&mut r, user);
    body.clearance = eu(level);
    body.roles = roles.iter().map(|r| role(r)).collect();
    MemberCertificate::issue(&org.key, body).unwrap()
}

fn above_limit(user: &str, org: &str, has: &str, max: &str) -> CertError {
    CertError::ClearanceAboveLimit {
        user: UserId::new(user).unwrap(),
        org: OrgId::new(org).unwrap(),
        has: has.to_owned(),
        max: max.to_owned(),
    }
}

#[test]
fn a_partner_root_cannot_assert_a_clearance_above_its_limit() {
    let mut r = rng(600);
    let mut at = Org::new(&mut r, "CERT-AT");
    let mut cz = Org::new(&mut r, "CERT-CZ");
    let trust = at_trusting_cz(&at, &cz, PartnerLimits::up_to(eu(1)));
    let top_secret = cleared(&mut cz, 601, "officer@cert-cz", 4, &["duty-officer"]);
    let expected = above_limit(
        "officer@cert-cz",
        "CERT-CZ",
        "EU TOP SECRET",
        "EU RESTRICTED",
    );
    assert_eq!(
        trust.verify_certificate(&top_secret, NOW),
        Err(expected.clone())
    );
    assert_eq!(trust.verify_certificate_at(&top_secret, NOW), Err(expected));
    let confidential = cleared(&mut cz, 602, "analyst@cert-cz", 2, &["duty-officer"]);
    assert!(matches!(
        trust.verify_certificate(&confidential, NOW),
        Err(CertError::ClearanceAboveLimit { .. })
    ));
    // At the limit and below it, the partner is trusted as before; the own organisation has no
    // limit at all.
    for level in [0, 1] {
        let within = cleared(&mut cz, 603, "intern@cert-cz", level, &["duty-officer"]);
        trust.verify_certificate(&within, NOW).unwrap();
    }
    let own = cleared(&mut at, 604, "lead@cert-at", 4, &["incident-lead"]);
    trust.verify_certificate(&own, NOW).unwrap();
    assert_eq!(trust.limits(at.id()), None);
    assert_eq!(trust.limits(cz.id()), Some(&PartnerLimits::up_to(eu(1))));
}

#[test]
fn a_clearance_of_another_policy_is_beyond_any_limit() {
    let mut r = rng(610);
    let at = Org::new(&mut r, "CERT-AT");
    let mut cz = Org::new(&mut r, "CERT-CZ");
    let trust = at_trusting_cz(&at, &cz, PartnerLimits::up_to(eu(4)));
    let mut body = cz.body(&mut r, "liaison@cert-cz").0;
    body.clearance = Clearance {
        policy: "NATO".parse().unwrap(),
        level: 0,
    };
    let nato = MemberCertificate::issue(&cz.key, body).unwrap();
    assert_eq!(
        trust.verify_certificate(&nato, NOW),
        Err(above_limit(
            "liaison@cert-cz",
            "CERT-CZ",
            "NATO level 0",
            "EU TOP SECRET"
        ))
    );
}

#[test]
fn a_role_outside_the_allowed_roles_is_refused() {
    let mut r = rng(620);
    let at = Org::new(&mut r, "CERT-AT");
    let mut cz = Org::new(&mut r, "CERT-CZ");
    let limits = PartnerLimits {
        max_clearance: eu(3),
        roles: Some(vec![role("duty-officer"), role("incident-lead")]),
    };
    let trust = at_trusting_cz(&at, &cz, limits);
    let admin = cleared(&mut cz, 621, "boss@cert-cz", 1, &["duty-officer", "admin"]);
    assert_eq!(
        trust.verify_certificate(&admin, NOW),
        Err(CertError::RoleNotAllowed {
            user: UserId::new("boss@cert-cz").unwrap(),
            org: cz.id().clone(),
            role: role("admin"),
        })
    );
    let officer = cleared(&mut cz, 622, "officer@cert-cz", 3, &["incident-lead"]);
    trust.verify_certificate(&officer, NOW).unwrap();
    // An empty list allows no role at all (a certificate without roles still passes).
    let none = at_trusting_cz(
        &at,
        &cz,
        PartnerLimits {
            max_clearance: eu(3),
            roles: Some(vec![]),
        },
    );
    assert!(matches!(
        none.verify_certificate(&officer, NOW),
        Err(CertError::RoleNotAllowed { .. })
    ));
    let roleless = cleared(&mut cz, 623, "guest@cert-cz", 0, &[]);
    none.verify_certificate(&roleless, NOW).unwrap();
}

#[test]
fn lowered_limits_reach_certificates_verified_before_and_add_root_never_lifts_them() {
    let mut r = rng(630);
    let at = Org::new(&mut r, "CERT-AT");
    let mut cz = Org::new(&mut r, "CERT-CZ");
    let mut trust = at_trusting_cz(&at, &cz, PartnerLimits::up_to(eu(3)));
    let secret = cleared(&mut cz, 631, "officer@cert-cz", 3, &["duty-officer"]);
    let verified = trust.verify_certificate(&secret, NOW).unwrap();
    // Re-adding the same root with lower limits replaces them; the hot-path recheck sees it.
    trust
        .add_partner(cz.root.clone(), PartnerLimits::up_to(eu(1)))
        .unwrap();
    assert!(matches!(
        trust.recheck(&verified, NOW),
        Err(CertError::ClearanceAboveLimit { .. })
    ));
    trust.add_root(cz.root.clone()).unwrap();
    assert_eq!(trust.limits(cz.id()), Some(&PartnerLimits::up_to(eu(1))));
    assert!(trust.verify_certificate(&secret, NOW).is_err());
    // A different key for a trusted partner is a conflict, whatever the limits.
    let rogue = Org::new(&mut r, "CERT-CZ");
    assert!(matches!(
        trust.add_partner(rogue.root.clone(), PartnerLimits::up_to(eu(0))),
        Err(CertError::RootConflict { .. })
    ));
    assert_eq!(trust.country(cz.id()).map(CountryCode::as_str), Some("CZ"));
    assert_eq!(trust.country(&OrgId::new("CERT-SK").unwrap()), None);
}

#[test]
fn a_channel_refuses_a_partner_member_beyond_the_limit() {
    let mut r = rng(640);
    let mut at = Org::new(&mut r, "CERT-AT");
    let mut cz = Org::new(&mut r, "CERT-CZ");
    let lead: Member = at.member_cleared(&mut r, "lead@cert-at", 4);
    let officer: Member = cz.member_cleared(&mut r, "officer@cert-cz", 3);
    let trust = at_trusting_cz(&at, &cz, PartnerLimits::up_to(eu(1)));
    let label = Label::parse("TLP:AMBER | EU RESTRICTED", ClassificationPolicy::eu()).unwrap();
    let created = ChannelView::create(
        &mut r,
        &lead.local,
        "incident".parse().unwrap(),
        label,
        vec![lead.certificate().clone(), officer.certificate().clone()],
        vec![],
        &trust,
        NOW,
    );
    assert!(
        matches!(
            created,
            Err(ChannelError::Certificate(
                CertError::ClearanceAboveLimit { .. }
            ))
        ),
        "{created:?}"
    );
}

#[test]
fn a_bundle_carries_partner_limits_to_the_device() {
    let mut r = rng(650);
    let mut at = Org::new(&mut r, "CERT-AT");
    let mut cz = Org::new(&mut r, "CERT-CZ");
    let member = at.member(&mut r, "officer@cert-at");
    let limits = PartnerLimits {
        max_clearance: eu(1),
        roles: Some(vec![role("duty-officer")]),
    };
    let relay = RelayInfo {
        address: "relay.cert-at.example:4433".parse().unwrap(),
        server_name: "relay.cert-at.example".parse().unwrap(),
        pin: [1; 32],
    };
    let roots = vec![
        TrustedRoot::own(at.root.clone()),
        TrustedRoot::partner(cz.root.clone(), limits.clone()),
    ];
    let fast = KdfParams {
        memory_kib: KdfParams::MIN_MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
    };
    let sealed = BundleContents::new(&member.local, relay, roots, vec![])
        .seal(&mut r, b"one-time", fast, NOW)
        .unwrap();
    let opened = BundleContents::open(&sealed, b"one-time").unwrap();
    assert_eq!(opened.roots()[1].limits, Some(limits.clone()));
    let trust = opened.trust_store().unwrap();
    assert_eq!(trust.limits(cz.id()), Some(&limits));
    assert_eq!(trust.limits(at.id()), None);
    let secret = cleared(&mut cz, 651, "officer@cert-cz", 3, &["duty-officer"]);
    assert!(matches!(
        trust.verify_certificate(&secret, NOW),
        Err(CertError::ClearanceAboveLimit { .. })
    ));
    trust
        .verify_certificate(member.local.certificate(), NOW)
        .unwrap();
}

#[test]
fn limits_records_round_trip_and_read_as_sentences() {
    let limits = PartnerLimits {
        max_clearance: eu(1),
        roles: Some(vec![role("duty-officer"), role("analyst")]),
    };
    let org = OrgId::new("CERT-CZ").unwrap();
    let record = limits.to_record(&org);
    assert_eq!(
        PartnerLimits::from_record(&record),
        Ok((org, limits.clone()))
    );
    assert_eq!(
        limits.to_string(),
        "up to EU RESTRICTED, roles duty-officer, analyst"
    );
    assert_eq!(
        PartnerLimits::up_to(eu(3)).to_string(),
        "up to EU SECRET, any role"
    );
    let mut trailing = record;
    trailing.push(0);
    assert!(matches!(
        PartnerLimits::from_record(&trailing),
        Err(DecodeError::TrailingBytes { .. })
    ));
}

/// Replaces the only occurrence of `from` in `bytes` with `to` (same length).
fn splice(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at: Vec<usize> = bytes
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "{from:?} occurs once");
    let mut out = bytes.to_vec();
    out[at[0]..at[0] + to.len()].copy_from_slice(to);
    out
}

#[test]
fn a_root_file_whose_country_was_moved_does_not_load() {
    let mut r = rng(660);
    let at = Org::new(&mut r, "CERT-AT");
    assert_eq!(at.root.country().as_str(), "AT");
    let bytes = at.root.to_bytes();
    // The country sits after the organisation id: the two letters after "CERT-AT".
    let moved = splice(&bytes, b"CERT-AT\x02AT", b"CERT-AT\x02CZ");
    assert_eq!(
        OrgRoot::from_bytes(&moved),
        Err(RootDecodeError::Cert(CertError::BadRootSignature {
            org: at.id().clone()
        }))
    );
    // An unassigned or non-canonical code does not even decode.
    for code in [b"XK", b"cz"] {
        let bad = splice(
            &bytes,
            b"CERT-AT\x02AT",
            &[b"CERT-AT\x02".as_slice(), code].concat(),
        );
        assert!(
            matches!(OrgRoot::from_bytes(&bad), Err(RootDecodeError::Decode(_))),
            "{code:?}"
        );
    }
}
