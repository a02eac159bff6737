//! The fixtures of the engine tests: organisations, members, labels, and two members talking.
//! The members' engines and their relay are the simulator's ([`crate::sim::Sim`]).

use std::sync::OnceLock;

use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore as _, SeedableRng as _};
use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair};
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::{
    CertificateBody, Clearance, CountryCode, LocalIdentity, MemberCertificate, OrgId, OrgRoot,
    Text, UnixTime, UserId,
};

pub(crate) use crate::sim::Sim as Net;

pub(crate) const PASSPHRASE: &str = "engine test passphrase";

/// The time of the tests: the wall clock when the first test asked, the same for all (the
/// simulated clock starts there, so what a test signs and what the engines see agree).
pub(crate) fn now() -> UnixTime {
    static START: OnceLock<UnixTime> = OnceLock::new();
    *START.get_or_init(vigil_common::now)
}

pub(crate) struct Org {
    pub(crate) key: OrgRootKeyPair,
    pub(crate) root: OrgRoot,
    pub(crate) serial: u64,
    /// Where its members' keys come from.
    rng: ChaCha20Rng,
    /// When it issues certificates.
    at: UnixTime,
}

impl Org {
    /// Organisation `name`, in the country its id ends with (`CERT-CZ`: `CZ`).
    pub(crate) fn new(name: &str) -> Self {
        Self::seeded(name, OsRng.next_u64(), now())
    }

    /// Organisation `name` created at `at`, its keys and its members' from `seed`.
    pub(crate) fn seeded(name: &str, seed: u64, at: UnixTime) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let key = OrgRootKeyPair::generate(&mut rng);
        let country = CountryCode::new(name.rsplit('-').next().unwrap()).unwrap();
        let root = OrgRoot::create(&key, OrgId::new(name).unwrap(), country, at);
        Self {
            key,
            root,
            serial: 0,
            rng,
            at,
        }
    }

    pub(crate) fn member(&mut self, user: &str, level: u8, not_after: UnixTime) -> LocalIdentity {
        self.serial += 1;
        let identity = IdentityKeyPair::generate(&mut self.rng);
        let agreement = AgreementKeyPair::generate(&mut self.rng);
        let body = CertificateBody {
            serial: self.serial,
            org: self.root.org().clone(),
            user: UserId::new(user).unwrap(),
            display_name: Text::new(user).unwrap(),
            roles: vec![],
            clearance: Clearance {
                policy: Text::new("EU").unwrap(),
                level,
            },
            identity_key: identity.public(),
            agreement_key: agreement.public(),
            not_before: UnixTime(self.at.0 - 3600),
            not_after,
        };
        let certificate = MemberCertificate::issue(&self.key, body).unwrap();
        LocalIdentity::new(certificate, identity, agreement).unwrap()
    }
}

/// Partner limits up to EU level `level`, any role.
pub(crate) fn up_to(level: u8) -> PartnerLimits {
    PartnerLimits::up_to(Clearance {
        policy: Text::new("EU").unwrap(),
        level,
    })
}

pub(crate) fn label(tlp: &str, level: &str) -> Label {
    Label::new(tlp, level, &[], ClassificationPolicy::eu()).unwrap()
}

/// CERT-AT's lead and officer in an AMBER channel, talking.
pub(crate) fn two_members() -> (Net, Org) {
    let mut at = Org::new("CERT-AT");
    let far = now().plus_days(30);
    let lead = at.member("lead@cert-at", 3, far);
    let officer = at.member("officer@cert-at", 3, far);
    let mut net = Net::new(&[&at]);
    net.enroll(&lead);
    net.enroll(&officer);
    let (id, _) = net
        .engine("lead@cert-at")
        .create_channel("ops", label("TLP:AMBER", "EU RESTRICTED"), now())
        .unwrap();
    let (certificate, bundle) = net.bundle("officer@cert-at");
    let officer = certificate.body().user.clone();
    let (_, events) = net
        .engine("lead@cert-at")
        .invite(id, &officer, &certificate, &bundle, now())
        .unwrap();
    net.events.insert("lead@cert-at".to_owned(), events);
    net.settle();
    (net, at)
}

/// `text` sent by lead to `ops` and taken from officer's mailbox, with a copy whose last byte
/// the relay flipped: (genuine, tampered).
pub(crate) fn genuine_and_tampered(net: &mut Net, text: &str) -> (Vec<u8>, Vec<u8>) {
    let id = net.engine("lead@cert-at").find_channel("ops").unwrap();
    net.engine("lead@cert-at")
        .send_text(id, text, now())
        .unwrap();
    net.send_all();
    let (_, payload) = net
        .mail
        .get_mut("officer@cert-at")
        .unwrap()
        .pop_front()
        .unwrap();
    let mut tampered = payload.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    (payload, tampered)
}
