//! Certificates, roots and revocation lists that are fine are accepted.

use vigil_protocol::cert::{RevocationListBody, RevocationUpdate};
use vigil_protocol::{CertError, MemberCertificate, OrgRoot, RevocationList};

use crate::fixtures::{NOW, Org, World, rng, trust};

#[test]
fn valid_certificate_verifies_and_round_trips() {
    let w = World::new(300);
    let cert = w.alice.certificate();
    let decoded = MemberCertificate::from_bytes(&cert.to_bytes()).unwrap();
    assert_eq!(&decoded, cert);
    let verified = w.trust.verify_certificate(&decoded, NOW).unwrap();
    assert_eq!(verified.body().user.as_str(), "alice@cert-at");
    assert_eq!(verified.body().clearance.level, 2);
}

#[test]
fn partner_roots_extend_trust_across_organisations() {
    let mut r = rng(301);
    let mut at = Org::new(&mut r, "CERT-AT");
    let mut cz = Org::new(&mut r, "CERT-CZ");
    let officer_cz = cz.member(&mut r, "officer1@cert-cz");
    let officer_at = at.member(&mut r, "officer1@cert-at");
    let only_at = trust(&[&at]);
    assert!(
        only_at
            .verify_certificate(officer_cz.certificate(), NOW)
            .is_err()
    );
    let federated = trust(&[&at, &cz]);
    assert!(
        federated
            .verify_certificate(officer_cz.certificate(), NOW)
            .is_ok()
    );
    assert!(
        federated
            .verify_certificate(officer_at.certificate(), NOW)
            .is_ok()
    );
}

#[test]
fn root_files_round_trip_and_carry_a_fingerprint() {
    let mut r = rng(302);
    let org = Org::new(&mut r, "cert-at");
    assert_eq!(org.id().as_str(), "CERT-AT");
    let decoded = OrgRoot::from_bytes(&org.root.to_bytes()).unwrap();
    assert_eq!(decoded, org.root);
    let fingerprint = decoded.fingerprint();
    assert_eq!(fingerprint.split(' ').count(), 16);
    // A tampered root file does not load.
    let mut bytes = org.root.to_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(OrgRoot::from_bytes(&bytes).is_err());
}

#[test]
fn newer_revocation_lists_replace_older_ones() {
    let mut w = World::new(303);
    let list = |version| {
        RevocationList::sign(
            &w.org.key,
            RevocationListBody {
                org: w.org.id().clone(),
                version,
                issued_at: NOW,
                entries: vec![],
            },
        )
    };
    let (v1, v2) = (list(1), list(2));
    assert_eq!(
        w.trust.update_revocations(v1.clone()).unwrap(),
        RevocationUpdate::Applied
    );
    assert_eq!(
        w.trust.update_revocations(v1).unwrap(),
        RevocationUpdate::Unchanged
    );
    assert_eq!(
        w.trust.update_revocations(v2.clone()).unwrap(),
        RevocationUpdate::Applied
    );
    let decoded = RevocationList::from_bytes(&v2.to_bytes()).unwrap();
    assert_eq!(w.trust.revocations(w.org.id()), Some(&decoded));
}

#[test]
fn recheck_sees_revocation_expiry_and_a_replaced_root_without_reverifying() {
    let mut w = World::new(304);
    let verified = w
        .trust
        .verify_certificate(w.alice.certificate(), NOW)
        .unwrap();
    assert_eq!(w.trust.recheck(&verified, NOW), Ok(()));
    assert!(matches!(
        w.trust.recheck(&verified, NOW.plus_days(400)),
        Err(CertError::Expired { .. })
    ));
    let list = RevocationList::sign(
        &w.org.key,
        RevocationListBody {
            org: w.org.id().clone(),
            version: 2,
            issued_at: NOW,
            entries: vec![vigil_protocol::RevokedCertificate {
                serial: verified.body().serial,
                user: verified.body().user.clone(),
                revoked_at: NOW,
                reason: "lost".parse().unwrap(),
            }],
        },
    );
    w.trust.update_revocations(list).unwrap();
    assert!(matches!(
        w.trust.recheck(&verified, NOW),
        Err(CertError::Revoked { .. })
    ));
    // A store trusting another key for the same organisation does not accept it.
    let mut r = rng(305);
    let other = Org::new(&mut r, "CERT-AT");
    let elsewhere = trust(&[&other]);
    assert!(matches!(
        elsewhere.recheck(&verified, NOW),
        Err(CertError::UntrustedRoot { .. })
    ));
}

/// A signer that holds the key elsewhere (a token) signs exactly what the key pair signs, and
/// its failure is the caller's error, never a certificate with a bad signature.
#[test]
fn a_root_signer_elsewhere_signs_as_the_key_and_its_failure_is_returned() {
    use vigil_protocol::keys::{OrgRootPublicKey, RootSigner, Signature, SignatureContext};

    /// A token holding `key`, or removed (`None`).
    struct Token<'a>(
        Option<&'a vigil_protocol::keys::OrgRootKeyPair>,
        OrgRootPublicKey,
    );
    #[derive(Debug, PartialEq)]
    enum TokenError {
        Removed,
        Cert,
    }
    impl From<CertError> for TokenError {
        fn from(_: CertError) -> Self {
            Self::Cert
        }
    }
    impl RootSigner for Token<'_> {
        type Error = TokenError;
        fn root_public(&self) -> OrgRootPublicKey {
            self.1
        }
        fn sign_as_root(&self, c: SignatureContext, m: &[u8]) -> Result<Signature, TokenError> {
            self.0.map(|k| k.sign(c, m)).ok_or(TokenError::Removed)
        }
    }

    let mut r = rng(700);
    let mut org = Org::new(&mut r, "CERT-AT");
    let (body, ..) = org.body(&mut r, "officer@cert-at");
    let by_key = MemberCertificate::issue(&org.key, body.clone()).unwrap();
    let token = Token(Some(&org.key), org.key.public());
    let by_signer = MemberCertificate::issue_with(&token, body.clone()).unwrap();
    assert_eq!(by_key, by_signer);
    let removed = Token(None, org.key.public());
    assert_eq!(
        MemberCertificate::issue_with(&removed, body.clone()).unwrap_err(),
        TokenError::Removed
    );
    let mut broken = body;
    broken.user = "someone@cert-cz".parse().unwrap();
    assert_eq!(
        MemberCertificate::issue_with(&removed, broken).unwrap_err(),
        TokenError::Cert,
        "the body's rules are checked before anything is signed"
    );
}
