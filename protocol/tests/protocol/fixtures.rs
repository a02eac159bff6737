//! Organisations, members and sessions for the tests, all from seeded RNGs.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair};
use vigil_protocol::prekey::PrekeyStore;
use vigil_protocol::{
    CertificateBody, Clearance, CountryCode, Envelope, LocalIdentity, MemberCertificate, OrgId,
    OrgRoot, Role, Session, Text, TrustStore, UnixTime, UserId, VerifiedCertificate,
};

/// 2026-11-27T16:55:04Z: "now" in every test.
pub(crate) const NOW: UnixTime = UnixTime(1_795_798_504);

pub(crate) fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub(crate) struct Org {
    pub(crate) key: OrgRootKeyPair,
    pub(crate) root: OrgRoot,
    next_serial: u64,
}

/// The country an organisation of the tests is in: its id's suffix (`CERT-CZ` is in `CZ`), or
/// `AT` when that is not an assigned code (`CERT-XX`).
pub(crate) fn country_of(name: &str) -> CountryCode {
    name.rsplit('-')
        .next()
        .and_then(|suffix| CountryCode::new(suffix).ok())
        .unwrap_or_else(|| CountryCode::new("AT").unwrap())
}

impl Org {
    pub(crate) fn new(rng: &mut ChaCha20Rng, name: &str) -> Self {
        let key = OrgRootKeyPair::generate(rng);
        let root = OrgRoot::create(
            &key,
            OrgId::new(name).unwrap(),
            country_of(name),
            NOW.plus_days(0),
        );
        Self {
            key,
            root,
            next_serial: 1,
        }
    }

    pub(crate) fn id(&self) -> &OrgId {
        self.root.org()
    }

    pub(crate) fn body(
        &mut self,
        rng: &mut ChaCha20Rng,
        user: &str,
    ) -> (CertificateBody, IdentityKeyPair, AgreementKeyPair) {
        let identity = IdentityKeyPair::generate(rng);
        let agreement = AgreementKeyPair::generate(rng);
        let serial = self.next_serial;
        self.next_serial += 1;
        let body = CertificateBody {
            serial,
            org: self.id().clone(),
            user: UserId::new(user).unwrap(),
            display_name: Text::new(&format!("Duty officer {user}")).unwrap(),
            roles: vec![Role::new("duty-officer").unwrap()],
            clearance: Clearance {
                policy: Text::new("EU").unwrap(),
                level: 2,
            },
            identity_key: identity.public(),
            agreement_key: agreement.public(),
            not_before: UnixTime(NOW.0 - 86_400),
            not_after: NOW.plus_days(365),
        };
        (body, identity, agreement)
    }

    pub(crate) fn member(&mut self, rng: &mut ChaCha20Rng, user: &str) -> Member {
        self.member_cleared(rng, user, 2)
    }

    /// A member with clearance `level` in the EU policy (0 UNCLASSIFIED .. 4 EU TOP SECRET).
    pub(crate) fn member_cleared(
        &mut self,
        rng: &mut ChaCha20Rng,
        user: &str,
        level: u8,
    ) -> Member {
        let (mut body, identity, agreement) = self.body(rng, user);
        body.clearance.level = level;
        let certificate = MemberCertificate::issue(&self.key, body).unwrap();
        let local = LocalIdentity::new(certificate, identity, agreement).unwrap();
        let mut prekeys = PrekeyStore::new(rng, &local, NOW);
        prekeys.generate_one_time_prekeys(rng, local.identity(), 10);
        Member { local, prekeys }
    }
}

pub(crate) struct Member {
    pub(crate) local: LocalIdentity,
    pub(crate) prekeys: PrekeyStore,
}

impl Member {
    pub(crate) fn certificate(&self) -> &MemberCertificate {
        self.local.certificate()
    }

    pub(crate) fn verified_by(&self, trust: &TrustStore) -> VerifiedCertificate {
        trust.verify_certificate(self.certificate(), NOW).unwrap()
    }

    pub(crate) fn bundle(&self, with_one_time: bool) -> vigil_protocol::prekey::PrekeyBundle {
        self.prekeys
            .bundle(self.local.identity().public(), with_one_time)
            .unwrap()
    }
}

pub(crate) fn trust(orgs: &[&Org]) -> TrustStore {
    let mut trust = TrustStore::new();
    for org in orgs {
        trust.add_root(org.root.clone()).unwrap();
    }
    trust
}

/// One organisation with Alice, Bob and Carol.
pub(crate) struct World {
    pub(crate) rng: ChaCha20Rng,
    pub(crate) org: Org,
    pub(crate) alice: Member,
    pub(crate) bob: Member,
    pub(crate) carol: Member,
    pub(crate) trust: TrustStore,
}

impl World {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = rng(seed);
        let mut org = Org::new(&mut rng, "CERT-AT");
        let alice = org.member(&mut rng, "alice@cert-at");
        let bob = org.member(&mut rng, "bob@cert-at");
        let carol = org.member(&mut rng, "carol@cert-at");
        let trust = trust(&[&org]);
        Self {
            rng,
            org,
            alice,
            bob,
            carol,
            trust,
        }
    }

    /// Alice starts a session with Bob and sends `first`; returns her session and the envelope.
    pub(crate) fn alice_to_bob(&mut self, first: &[u8]) -> (Session, Envelope) {
        let bob_cert = self.bob.verified_by(&self.trust);
        let mut session = Session::initiate(
            &mut self.rng,
            &self.alice.local,
            &bob_cert,
            &self.bob.bundle(true),
            NOW,
        )
        .unwrap();
        let envelope = session.encrypt(&mut self.rng, first).unwrap();
        (session, envelope)
    }

    /// A full handshake: Alice sends, Bob accepts and answers, Alice reads the answer.
    pub(crate) fn established(&mut self) -> (Session, Session) {
        let (mut alice, first) = self.alice_to_bob(b"hello bob");
        let Envelope::Prekey(first) = first else {
            panic!("first message must be a prekey message")
        };
        let (mut bob, plaintext) = Session::accept(
            &self.bob.local,
            &mut self.bob.prekeys,
            &self.trust,
            &first,
            NOW,
        )
        .unwrap();
        assert_eq!(plaintext, b"hello bob");
        let reply = bob.encrypt(&mut self.rng, b"hello alice").unwrap();
        assert_eq!(alice.decrypt(&reply).unwrap(), b"hello alice");
        assert!(alice.is_established());
        (alice, bob)
    }
}
