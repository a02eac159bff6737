//! Certified members for the benchmarks (one organisation, `CERT-AT`).

use rand_chacha::ChaCha20Rng;
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair};
use vigil_protocol::{CertificateBody, Clearance, LocalIdentity, MemberCertificate, UnixTime};

/// "Now" in every benchmark.
pub(crate) const NOW: UnixTime = UnixTime(1_795_798_504);

/// A member of `CERT-AT` with fresh keys and a certificate valid for a year.
pub(crate) fn certified(
    rng: &mut ChaCha20Rng,
    root: &OrgRootKeyPair,
    serial: u64,
    user: &str,
    level: u8,
) -> LocalIdentity {
    let identity = IdentityKeyPair::generate(rng);
    let agreement = AgreementKeyPair::generate(rng);
    let body = CertificateBody {
        serial,
        org: "CERT-AT".parse().unwrap(),
        user: user.parse().unwrap(),
        display_name: user.parse().unwrap(),
        roles: vec![],
        clearance: Clearance {
            policy: "EU".parse().unwrap(),
            level,
        },
        identity_key: identity.public(),
        agreement_key: agreement.public(),
        not_before: UnixTime(0),
        not_after: NOW.plus_days(365),
    };
    let cert = MemberCertificate::issue(root, body).unwrap();
    LocalIdentity::new(cert, identity, agreement).unwrap()
}
