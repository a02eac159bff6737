//! Signed trust lists, attacked first: a list signed by someone else, by a partner, rolled back,
//! forked at one version, naming the own organisation, a forged partner root or one partner twice;
//! then what a list in force changes (added, removed and rotated partners, new limits).

use vigil_protocol::cert::{
    PartnerLimits, TrustChange, TrustListBody, TrustListUpdate, TrustedPartner,
};
use vigil_protocol::{CertError, Clearance, OrgId, TrustList, TrustListError, TrustStore};

use crate::fixtures::{NOW, Org, rng};

fn eu(level: u8) -> Clearance {
    Clearance {
        policy: "EU".parse().unwrap(),
        level,
    }
}

fn partner(org: &Org, level: u8) -> TrustedPartner {
    TrustedPartner {
        root: org.root.clone(),
        limits: PartnerLimits::up_to(eu(level)),
    }
}

/// `org`'s list `version` naming `partners`, signed by `org`'s root.
fn list(org: &Org, version: u64, partners: Vec<TrustedPartner>) -> TrustList {
    TrustList::sign(
        &org.key,
        TrustListBody {
            org: org.id().clone(),
            version,
            issued_at: NOW,
            partners,
            predecessors: vec![],
        },
    )
}

/// A device of `own` as enrolled: its own root only.
fn device(own: &Org) -> TrustStore {
    let mut trust = TrustStore::new();
    trust.add_root(own.root.clone()).unwrap();
    trust
}

fn applied(update: Result<TrustListUpdate, TrustListError>) -> TrustChange {
    match update {
        Ok(TrustListUpdate::Applied(change)) => change,
        other => panic!("expected the list to apply, got {other:?}"),
    }
}

#[test]
fn a_list_signed_by_anyone_but_the_own_root_is_refused() {
    let mut r = rng(900);
    let at = Org::new(&mut r, "CERT-AT");
    let cz = Org::new(&mut r, "CERT-CZ");
    let mut trust = device(&at);
    trust
        .add_partner(cz.root.clone(), PartnerLimits::up_to(eu(1)))
        .unwrap();
    // A partner's root signs a list in our name: bad signature.
    let forged = TrustList::sign(
        &cz.key,
        TrustListBody {
            org: at.id().clone(),
            version: 9,
            issued_at: NOW,
            partners: vec![partner(&cz, 4)],
            predecessors: vec![],
        },
    );
    assert_eq!(
        trust.apply_trust_list(forged, at.id()),
        Err(TrustListError::BadSignature {
            org: at.id().clone()
        })
    );
    // The partner's own, validly signed list is never applied as ours.
    let theirs = list(&cz, 1, vec![partner(&at, 4)]);
    assert!(matches!(
        trust.apply_trust_list(theirs, at.id()),
        Err(TrustListError::UnknownOrg { .. })
    ));
    assert_eq!(
        trust.limits(cz.id()),
        Some(&PartnerLimits::up_to(eu(1))),
        "nothing changed"
    );
}

#[test]
fn an_older_list_or_a_second_list_with_the_same_version_is_refused() {
    let mut r = rng(901);
    let at = Org::new(&mut r, "CERT-AT");
    let cz = Org::new(&mut r, "CERT-CZ");
    let mut trust = device(&at);
    applied(trust.apply_trust_list(list(&at, 2, vec![]), at.id()));
    assert_eq!(
        trust.apply_trust_list(list(&at, 1, vec![partner(&cz, 1)]), at.id()),
        Err(TrustListError::Stale {
            org: at.id().clone(),
            current: 2,
            offered: 1
        })
    );
    assert_eq!(
        trust.apply_trust_list(list(&at, 2, vec![partner(&cz, 1)]), at.id()),
        Err(TrustListError::Equivocation {
            org: at.id().clone(),
            version: 2
        })
    );
    assert_eq!(
        trust.apply_trust_list(list(&at, 2, vec![]), at.id()),
        Ok(TrustListUpdate::Unchanged)
    );
    assert!(trust.root(cz.id()).is_none());
}

#[test]
fn a_list_naming_itself_a_partner_twice_or_a_forged_root_is_refused() {
    let mut r = rng(902);
    let at = Org::new(&mut r, "CERT-AT");
    let cz = Org::new(&mut r, "CERT-CZ");
    let sk = Org::new(&mut r, "CERT-SK");
    let mut trust = device(&at);
    let own = list(&at, 1, vec![partner(&at, 4)]);
    assert_eq!(
        trust.apply_trust_list(own, at.id()),
        Err(TrustListError::OwnOrgListed {
            org: at.id().clone()
        })
    );
    let twice = list(&at, 1, vec![partner(&cz, 1), partner(&cz, 4)]);
    assert!(matches!(
        trust.apply_trust_list(twice, at.id()),
        Err(TrustListError::DuplicatePartner { .. })
    ));
    // A root whose self-signature does not verify, in a list the own root signed anyway.
    let honest = list(&at, 1, vec![partner(&sk, 1)]).to_bytes();
    // Nested, the root is encoded without the codec's leading version byte.
    let root = sk.root.to_bytes()[1..].to_vec();
    let at_root = honest
        .windows(root.len())
        .position(|w| w == root.as_slice())
        .unwrap();
    let mut tampered = honest.clone();
    tampered[at_root + root.len() - 1] ^= 1;
    let decoded = TrustList::from_bytes(&tampered).unwrap();
    let bad = TrustList::sign(&at.key, decoded.body().clone());
    assert_eq!(
        trust.apply_trust_list(bad, at.id()),
        Err(TrustListError::BadPartnerRoot {
            org: at.id().clone(),
            partner: sk.id().clone()
        })
    );
    assert_eq!(trust.roots().count(), 1, "only the own root is trusted");
}

#[test]
fn a_newer_list_adds_removes_rotates_and_relimits_partners() {
    let mut r = rng(903);
    let at = Org::new(&mut r, "CERT-AT");
    let mut cz = Org::new(&mut r, "CERT-CZ");
    let sk = Org::new(&mut r, "CERT-SK");
    let mut trust = device(&at);
    let change = applied(trust.apply_trust_list(list(&at, 1, vec![partner(&cz, 1)]), at.id()));
    assert_eq!(change.added, vec![cz.id().clone()]);
    let member = cz.member_cleared(&mut r, "officer@cert-cz", 1);
    assert!(trust.verify_certificate(member.certificate(), NOW).is_ok());

    // CZ's limit lowered and SK added in one version.
    let change = applied(trust.apply_trust_list(
        list(&at, 2, vec![partner(&cz, 0), partner(&sk, 1)]),
        at.id(),
    ));
    assert_eq!(change.added, vec![sk.id().clone()]);
    assert_eq!(change.limits_changed, vec![cz.id().clone()]);
    assert!(matches!(
        trust.verify_certificate(member.certificate(), NOW),
        Err(CertError::ClearanceAboveLimit { .. })
    ));

    // CZ rotates its root: its old certificates no longer verify, the new root's do.
    let old_member = member;
    let rotated_cz = Org::new(&mut r, "CERT-CZ");
    cz = rotated_cz;
    let change = applied(trust.apply_trust_list(
        list(&at, 3, vec![partner(&cz, 1), partner(&sk, 1)]),
        at.id(),
    ));
    assert_eq!(change.rotated, vec![cz.id().clone()]);
    assert!(matches!(
        trust.verify_certificate(old_member.certificate(), NOW),
        Err(CertError::BadSignature { .. } | CertError::UntrustedRoot { .. })
    ));
    let new_member = cz.member_cleared(&mut r, "officer@cert-cz", 1);
    assert!(
        trust
            .verify_certificate(new_member.certificate(), NOW)
            .is_ok()
    );

    // SK removed: its members are no longer trusted, the own root stays.
    let change = applied(trust.apply_trust_list(list(&at, 4, vec![partner(&cz, 1)]), at.id()));
    assert_eq!(change.removed, vec![sk.id().clone()]);
    let sk_member = Org::new(&mut r, "CERT-SK").member(&mut r, "x@cert-sk");
    assert!(matches!(
        trust.verify_certificate(sk_member.certificate(), NOW),
        Err(CertError::UntrustedRoot { .. } | CertError::BadSignature { .. })
    ));
    assert!(trust.root(at.id()).is_some());
    assert_eq!(trust.trust_list(at.id()).map(TrustList::version), Some(4));
}

#[test]
fn a_relay_keeps_lists_without_changing_whom_it_trusts() {
    let mut r = rng(904);
    let at = Org::new(&mut r, "CERT-AT");
    let cz = Org::new(&mut r, "CERT-CZ");
    let mut relay = device(&at);
    assert_eq!(
        relay.keep_trust_list(list(&at, 1, vec![partner(&cz, 1)])),
        Ok(true)
    );
    assert!(relay.root(cz.id()).is_none());
    assert_eq!(
        relay.keep_trust_list(list(&at, 1, vec![partner(&cz, 1)])),
        Ok(false)
    );
    // A list of an organisation the relay does not trust is refused.
    assert!(matches!(
        relay.keep_trust_list(list(&cz, 1, vec![])),
        Err(TrustListError::UnknownOrg { .. })
    ));
    let bytes = list(&at, 2, vec![]).to_bytes();
    let decoded = TrustList::from_bytes(&bytes).unwrap();
    assert_eq!(decoded.version(), 2);
    assert_eq!(decoded.org(), &OrgId::new("CERT-AT").unwrap());
}

#[test]
fn a_removed_or_rotated_partner_still_verifies_for_what_it_signed_while_trusted() {
    let mut r = rng(905);
    let at = Org::new(&mut r, "CERT-AT");
    let mut cz = Org::new(&mut r, "CERT-CZ");
    let mut trust = device(&at);
    applied(trust.apply_trust_list(list(&at, 1, vec![partner(&cz, 1)]), at.id()));
    let member = cz.member_cleared(&mut r, "officer@cert-cz", 1);
    let removal = TrustList::sign(
        &at.key,
        TrustListBody {
            org: at.id().clone(),
            version: 2,
            issued_at: NOW.plus_days(1),
            partners: vec![],
            predecessors: vec![],
        },
    );
    applied(trust.apply_trust_list(removal, at.id()));
    let cert = member.certificate();
    // Now: refused. As of a time before the removal: the partner was trusted then.
    assert!(matches!(
        trust.verify_certificate(cert, NOW),
        Err(CertError::UntrustedRoot { .. })
    ));
    assert!(trust.verify_certificate_at(cert, NOW).is_ok());
    assert!(matches!(
        trust.verify_certificate_at(cert, NOW.plus_days(1)),
        Err(CertError::UntrustedRoot { .. })
    ));
    // The limits of then still apply to what was signed then.
    let above = cz.member_cleared(&mut r, "analyst@cert-cz", 3);
    assert!(
        trust
            .verify_certificate_at(above.certificate(), NOW)
            .is_err()
    );
    // A certificate of a different CERT-CZ root (never trusted) gains nothing.
    let stranger = Org::new(&mut r, "CERT-CZ").member(&mut r, "x@cert-cz");
    assert!(
        trust
            .verify_certificate_at(stranger.certificate(), NOW)
            .is_err()
    );
}

#[test]
fn lowered_limits_still_admit_what_was_signed_within_the_old_ones_and_roles_are_bounded() {
    let mut r = rng(906);
    let at = Org::new(&mut r, "CERT-AT");
    let mut cz = Org::new(&mut r, "CERT-CZ");
    let mut trust = device(&at);
    applied(trust.apply_trust_list(list(&at, 1, vec![partner(&cz, 3)]), at.id()));
    let secret = cz.member_cleared(&mut r, "analyst@cert-cz", 3);
    let lowered = TrustList::sign(
        &at.key,
        TrustListBody {
            org: at.id().clone(),
            version: 2,
            issued_at: NOW.plus_days(1),
            partners: vec![partner(&cz, 1)],
            predecessors: vec![],
        },
    );
    applied(trust.apply_trust_list(lowered, at.id()));
    let cert = secret.certificate();
    assert!(matches!(
        trust.verify_certificate(cert, NOW),
        Err(CertError::ClearanceAboveLimit { .. })
    ));
    assert!(
        trust.verify_certificate_at(cert, NOW).is_ok(),
        "signed under the old limits"
    );
    assert!(trust.verify_certificate_at(cert, NOW.plus_days(1)).is_err());

    let mut roles = partner(&cz, 1);
    roles.limits.roles = Some(
        (0..=vigil_protocol::cert::MAX_ROLES)
            .map(|i| vigil_protocol::Role::new(&format!("role-{i}")).unwrap())
            .collect(),
    );
    assert!(matches!(
        trust.apply_trust_list(list(&at, 3, vec![roles]), at.id()),
        Err(TrustListError::TooManyRoles { .. })
    ));
}

#[test]
fn a_predecessor_root_admits_what_it_signed_before_the_rotation_only() {
    use vigil_protocol::cert::PredecessorRoot;
    let mut r = rng(907);
    let mut old_at = Org::new(&mut r, "CERT-AT");
    let new_at = Org::new(&mut r, "CERT-AT");
    let cz = Org::new(&mut r, "CERT-CZ");
    let old_member = old_at.member_cleared(&mut r, "lead@cert-at", 3);
    let mut trust = device(&new_at);
    let with = |predecessors: Vec<PredecessorRoot>| {
        TrustList::sign(
            &new_at.key,
            TrustListBody {
                org: new_at.id().clone(),
                version: 2,
                issued_at: NOW,
                partners: vec![],
                predecessors,
            },
        )
    };
    // Another organisation's root, or the current one, is no predecessor.
    for bad in [cz.root.clone(), new_at.root.clone()] {
        let list = with(vec![PredecessorRoot {
            root: bad,
            until: NOW,
        }]);
        assert!(matches!(
            trust.apply_trust_list(list, new_at.id()),
            Err(TrustListError::BadPredecessor { .. })
        ));
    }
    let until = NOW.plus_days(1);
    let list = with(vec![PredecessorRoot {
        root: old_at.root.clone(),
        until,
    }]);
    applied(trust.apply_trust_list(list, new_at.id()));
    let cert = old_member.certificate();
    assert!(trust.verify_certificate(cert, NOW).is_err(), "never now");
    assert!(
        trust.verify_certificate_at(cert, NOW).is_ok(),
        "signed before the rotation"
    );
    assert!(trust.verify_certificate_at(cert, until).is_err());
}
