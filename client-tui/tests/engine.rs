//! The client engine in process, several members, and a relay simulated in memory that can
//! reorder, duplicate, lose and inject: what each member's engine does with what it gets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::collections::{BTreeMap, VecDeque};

use rand_core::{OsRng, RngCore as _};
use vigil_client::engine::{Body, Engine, EngineError, Event, Outgoing, TrustWarning};
use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair};
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::prekey::{OneTimePrekey, PrekeyBundle, SignedPrekey};
use vigil_protocol::provisioning::{BundleContents, RelayInfo, TrustedRoot};
use vigil_protocol::relay::{Request, Response};
use vigil_protocol::{
    CertError, CertificateBody, Clearance, CountryCode, LocalIdentity, MemberCertificate, OrgId,
    OrgRoot, Text, UnixTime, UserId,
};

const PASSPHRASE: &str = "engine test passphrase";

fn now() -> UnixTime {
    vigil_keytool::now()
}

struct Org {
    key: OrgRootKeyPair,
    root: OrgRoot,
    serial: u64,
}

impl Org {
    /// Organisation `name`, in the country its id ends with (`CERT-CZ`: `CZ`).
    fn new(name: &str) -> Self {
        let key = OrgRootKeyPair::generate(&mut OsRng);
        let country = CountryCode::new(name.rsplit('-').next().unwrap()).unwrap();
        let root = OrgRoot::create(&key, OrgId::new(name).unwrap(), country, now());
        Self {
            key,
            root,
            serial: 0,
        }
    }

    fn member(&mut self, user: &str, level: u8, not_after: UnixTime) -> LocalIdentity {
        self.serial += 1;
        let identity = IdentityKeyPair::generate(&mut OsRng);
        let agreement = AgreementKeyPair::generate(&mut OsRng);
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
            not_before: UnixTime(now().0 - 3600),
            not_after,
        };
        let certificate = MemberCertificate::issue(&self.key, body).unwrap();
        LocalIdentity::new(certificate, identity, agreement).unwrap()
    }
}

/// Published prekeys, as the relay's directory holds them.
struct Directory {
    certificate: MemberCertificate,
    signed: SignedPrekey,
    one_time: Vec<OneTimePrekey>,
}

/// Members' engines and an in-memory relay.
struct Net {
    dir: tempfile::TempDir,
    roots: Vec<OrgRoot>,
    /// What bundles enrolled from now on accept from each partner (absent: up to EU TOP
    /// SECRET, any role).
    limits: BTreeMap<OrgId, PartnerLimits>,
    engines: BTreeMap<String, Engine>,
    directory: BTreeMap<String, Directory>,
    /// Per recipient: (sender, payload) in the order the relay stored them.
    mail: BTreeMap<String, VecDeque<(UserId, Vec<u8>)>>,
    events: BTreeMap<String, Vec<Event>>,
}

impl Net {
    fn new(orgs: &[&Org]) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            roots: orgs.iter().map(|o| o.root.clone()).collect(),
            limits: BTreeMap::new(),
            engines: BTreeMap::new(),
            directory: BTreeMap::new(),
            mail: BTreeMap::new(),
            events: BTreeMap::new(),
        }
    }

    fn enroll(&mut self, identity: &LocalIdentity) {
        let user = identity.user().to_string();
        let relay = RelayInfo {
            address: Text::new("127.0.0.1:1").unwrap(),
            server_name: Text::new("localhost").unwrap(),
            pin: [7; 32],
        };
        let roots = self
            .roots
            .iter()
            .map(|root| {
                if root.org() == &identity.certificate().body().org {
                    TrustedRoot::own(root.clone())
                } else {
                    let limits = self.limits.get(root.org()).cloned();
                    TrustedRoot::partner(root.clone(), limits.unwrap_or_else(|| up_to(4)))
                }
            })
            .collect();
        let bundle = BundleContents::new(identity, relay, roots, vec![]);
        let home = self.dir.path().join(format!("{user}-{}", OsRng.next_u32()));
        let mut engine = Engine::enroll(&home, bundle, PASSPHRASE, now()).unwrap();
        let (signed, one_time) = engine.prekeys_for_login(now()).unwrap().unwrap();
        engine.published(signed.id).unwrap();
        self.directory.insert(
            user.clone(),
            Directory {
                certificate: identity.certificate().clone(),
                signed,
                one_time,
            },
        );
        self.engines.insert(user, engine);
    }

    fn engine(&mut self, user: &str) -> &mut Engine {
        self.engines.get_mut(user).unwrap()
    }

    fn bundle(&mut self, user: &str) -> (MemberCertificate, PrekeyBundle) {
        let entry = self.directory.get_mut(user).unwrap();
        let bundle = PrekeyBundle {
            user: entry.certificate.body().user.clone(),
            identity_key: entry.certificate.body().identity_key,
            signed_prekey: entry.signed.clone(),
            one_time_prekey: entry.one_time.pop(),
        };
        (entry.certificate.clone(), bundle)
    }

    /// Sends every outbox into the mailboxes (the relay stores and answers `Sent`).
    fn send_all(&mut self) {
        let users: Vec<String> = self.engines.keys().cloned().collect();
        for user in users {
            loop {
                let next = self.engine(&user).next_outgoing(now()).unwrap();
                match next {
                    Outgoing::Idle => break,
                    Outgoing::NeedBundle(to) => {
                        let (certificate, bundle) = self.bundle(to.as_str());
                        let events = self
                            .engine(&user)
                            .add_bundle(&certificate, &bundle, now())
                            .unwrap();
                        self.events.entry(user.clone()).or_default().extend(events);
                    }
                    Outgoing::Send { key, request } => {
                        let Request::Send {
                            recipients,
                            payload,
                            ..
                        } = request
                        else {
                            panic!("not a send");
                        };
                        for to in recipients {
                            self.mail
                                .entry(to.to_string())
                                .or_default()
                                .push_back((UserId::new(&user).unwrap(), payload.clone()));
                        }
                        let (_, events) = self
                            .engine(&user)
                            .sent(&key, &Response::Sent { duplicate: false })
                            .unwrap();
                        self.events.entry(user.clone()).or_default().extend(events);
                    }
                }
            }
        }
    }

    fn deliver(&mut self, to: &str, from: &UserId, payload: &[u8]) {
        let events = self.engine(to).receive(from, payload, now()).unwrap();
        self.events.entry(to.to_owned()).or_default().extend(events);
    }

    /// Delivers everything, sending what that causes, until nothing moves.
    fn settle(&mut self) {
        loop {
            self.send_all();
            let pending: Vec<(String, UserId, Vec<u8>)> = self
                .mail
                .iter_mut()
                .flat_map(|(to, q)| {
                    q.drain(..)
                        .map(|(f, p)| (to.clone(), f, p))
                        .collect::<Vec<_>>()
                })
                .collect();
            if pending.is_empty() {
                return;
            }
            for (to, from, payload) in pending {
                self.deliver(&to, &from, &payload);
            }
        }
    }

    fn texts(&mut self, user: &str, channel: &str) -> Vec<String> {
        let engine = self.engine(user);
        let id = engine.find_channel(channel).unwrap();
        let mut page = engine.history(id, None, 1000).unwrap();
        page.reverse();
        page.into_iter()
            .filter_map(|(_, e)| match e.body {
                Body::Text(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    fn placeholders(&mut self, user: &str) -> usize {
        self.events[user]
            .iter()
            .filter(|e| matches!(e, Event::DecryptFailed { .. }))
            .count()
    }
}

/// Partner limits up to EU level `level`, any role.
fn up_to(level: u8) -> PartnerLimits {
    PartnerLimits::up_to(Clearance {
        policy: Text::new("EU").unwrap(),
        level,
    })
}

fn label(tlp: &str, level: &str) -> Label {
    Label::new(tlp, level, &[], ClassificationPolicy::eu()).unwrap()
}

/// CERT-AT's lead and officer in an AMBER channel, talking.
fn two_members() -> (Net, Org) {
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

#[test]
fn members_talk_through_the_engine() {
    let (mut net, _) = two_members();
    let id = net.engine("lead@cert-at").find_channel("ops").unwrap();
    net.engine("lead@cert-at")
        .send_text(id, "one", now())
        .unwrap();
    net.settle();
    let id2 = net.engine("officer@cert-at").find_channel("ops").unwrap();
    assert_eq!(id, id2);
    net.engine("officer@cert-at")
        .send_text(id, "two", now())
        .unwrap();
    net.settle();
    assert_eq!(net.texts("lead@cert-at", "ops"), ["one", "two"]);
    assert_eq!(net.texts("officer@cert-at", "ops"), ["one", "two"]);
    assert_eq!(net.placeholders("officer@cert-at"), 0);
    // A first contact is announced (keys pinned on first use).
    assert!(net.events["lead@cert-at"].iter().any(|e| matches!(
        e,
        Event::Trust {
            warning: TrustWarning::New,
            ..
        }
    )));
}

#[test]
fn redelivered_payloads_are_recognised_and_kept_once() {
    let (mut net, _) = two_members();
    let id = net.engine("lead@cert-at").find_channel("ops").unwrap();
    net.engine("lead@cert-at")
        .send_text(id, "once", now())
        .unwrap();
    net.send_all();
    let (from, payload) = net.mail["officer@cert-at"][0].clone();
    // The relay delivers it three times (a crash before our acknowledgement, twice).
    for _ in 0..3 {
        net.deliver("officer@cert-at", &from, &payload);
    }
    net.mail.clear();
    assert_eq!(net.texts("officer@cert-at", "ops"), ["once"]);
    assert_eq!(net.placeholders("officer@cert-at"), 0);
}

#[test]
fn garbage_and_lies_from_the_relay_become_visible_placeholders_never_panics() {
    let (mut net, _) = two_members();
    let lead = UserId::new("lead@cert-at").unwrap();
    for len in [0usize, 1, 2, 17, 64, 300, 5000] {
        for _ in 0..20 {
            let mut junk = vec![0u8; len];
            OsRng.fill_bytes(&mut junk);
            if let Some(first) = junk.first_mut() {
                *first = 1; // our version byte, so decoding goes further
            }
            net.deliver("officer@cert-at", &lead, &junk);
        }
    }
    assert_eq!(net.placeholders("officer@cert-at"), 7 * 20);
    // A real message the relay attributes to someone else: refused, shown.
    let id = net.engine("lead@cert-at").find_channel("ops").unwrap();
    net.engine("lead@cert-at")
        .send_text(id, "genuine", now())
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
    net.deliver("officer@cert-at", &lead, &tampered);
    net.deliver("officer@cert-at", &lead, &payload);
    assert_eq!(net.texts("officer@cert-at", "ops"), ["genuine"]);
    assert_eq!(net.placeholders("officer@cert-at"), 7 * 20 + 1);
}

#[test]
fn deliveries_out_of_order_wait_for_what_they_need() {
    let mut at = Org::new("CERT-AT");
    let far = now().plus_days(30);
    let members: Vec<LocalIdentity> = ["lead@cert-at", "a@cert-at", "b@cert-at"]
        .iter()
        .map(|u| at.member(u, 3, far))
        .collect();
    let mut net = Net::new(&[&at]);
    for m in &members {
        net.enroll(m);
    }
    let (id, _) = net
        .engine("lead@cert-at")
        .create_channel("ops", label("TLP:GREEN", "UNCLASSIFIED"), now())
        .unwrap();
    for user in ["a@cert-at", "b@cert-at"] {
        let (c, b) = net.bundle(user);
        let invited = c.body().user.clone();
        net.engine("lead@cert-at")
            .invite(id, &invited, &c, &b, now())
            .unwrap();
    }
    net.engine("lead@cert-at")
        .send_text(id, "first", now())
        .unwrap();
    net.engine("lead@cert-at")
        .send_text(id, "second", now())
        .unwrap();
    net.send_all();
    // b gets everything backwards: messages before sender keys before states.
    let mut for_b: Vec<(UserId, Vec<u8>)> = net.mail.remove("b@cert-at").unwrap().into();
    for_b.reverse();
    for (from, payload) in for_b {
        net.deliver("b@cert-at", &from, &payload);
    }
    net.settle();
    assert_eq!(net.texts("b@cert-at", "ops"), ["second", "first"]);
    assert_eq!(net.texts("a@cert-at", "ops"), ["first", "second"]);
    assert_eq!(net.engine("b@cert-at").waiting(id), 0);
    assert_eq!(net.placeholders("b@cert-at"), 0);
    // Everyone can talk to everyone afterwards.
    net.engine("b@cert-at")
        .send_text(id, "from b", now())
        .unwrap();
    net.settle();
    assert_eq!(net.texts("a@cert-at", "ops").last().unwrap(), "from b");
}

#[test]
fn certificates_from_an_untrusted_root_or_expired_are_refused_with_the_reason() {
    let (mut net, mut at) = two_members();
    let id = net.engine("lead@cert-at").find_channel("ops").unwrap();
    let mut rogue = Org::new("CERT-AT"); // same name, another key
    let impostor = rogue.member("impostor@cert-at", 4, now().plus_days(30));
    let err = net
        .engine("lead@cert-at")
        .invite(
            id,
            impostor.user(),
            impostor.certificate(),
            &fake_bundle(&impostor),
            now(),
        )
        .unwrap_err();
    assert!(matches!(err, EngineError::Refused(_)), "{err}");
    assert!(err.to_string().contains("signature"), "{err}");
    let expired = at.member("old@cert-at", 4, UnixTime(now().0 - 10));
    let err = net
        .engine("lead@cert-at")
        .invite(
            id,
            expired.user(),
            expired.certificate(),
            &fake_bundle(&expired),
            now(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert_eq!(err.exit_code(), 1);
    // Nothing changed: the channel still has its two members.
    let summary = net.engine("lead@cert-at").channel(id).unwrap();
    assert_eq!(summary.members.len(), 2);
}

#[test]
fn a_device_refuses_a_partner_member_beyond_the_limits_its_bundle_carries() {
    let mut at = Org::new("CERT-AT");
    let mut cz = Org::new("CERT-CZ");
    let far = now().plus_days(30);
    let lead = at.member("lead@cert-at", 3, far);
    let deputy = at.member("deputy@cert-at", 3, far);
    let petra = cz.member("petra@cert-cz", 3, far);
    let mut net = Net::new(&[&at, &cz]);
    // The lead's bundle accepts CERT-CZ up to EU RESTRICTED; the deputy's up to EU SECRET.
    net.limits.insert(cz.root.org().clone(), up_to(1));
    net.enroll(&lead);
    net.limits.insert(cz.root.org().clone(), up_to(3));
    net.enroll(&deputy);
    net.enroll(&petra);
    let lead_trust = net.engine("lead@cert-at").trust_store().clone();
    assert_eq!(lead_trust.limits(cz.root.org()), Some(&up_to(1)));
    assert!(matches!(
        lead_trust.verify_certificate(petra.certificate(), now()),
        Err(CertError::ClearanceAboveLimit { .. })
    ));
    for (who, accepted) in [("lead@cert-at", false), ("deputy@cert-at", true)] {
        let (id, _) = net
            .engine(who)
            .create_channel("ops", label("TLP:AMBER", "EU RESTRICTED"), now())
            .unwrap();
        let (certificate, bundle) = net.bundle("petra@cert-cz");
        let invited = net
            .engine(who)
            .invite(id, petra.user(), &certificate, &bundle, now());
        match invited {
            Ok(_) => assert!(accepted, "{who} invited petra beyond its limit"),
            Err(e) => {
                assert!(
                    !accepted && matches!(e, EngineError::Refused(_)),
                    "{who}: {e}"
                );
                assert_eq!(net.engine(who).channel(id).unwrap().members.len(), 1);
            }
        }
    }
}

fn fake_bundle(member: &LocalIdentity) -> PrekeyBundle {
    let store = vigil_protocol::prekey::PrekeyStore::new(&mut OsRng, member, now());
    store
        .bundle(member.certificate().body().identity_key, false)
        .unwrap()
}

#[test]
fn a_contact_with_new_keys_is_a_loud_warning_until_verified() {
    let (mut net, mut at) = two_members();
    let id = net.engine("lead@cert-at").find_channel("ops").unwrap();
    // The officer's laptop was reinstalled: new keys, new certificate, same user id.
    let reissued = at.member("officer@cert-at", 3, now().plus_days(30));
    net.engines.remove("officer@cert-at");
    net.enroll(&reissued);
    let bundle = net_bundle(&mut net);
    let err = net
        .engine("lead@cert-at")
        .invite(id, reissued.user(), reissued.certificate(), &bundle, now())
        .unwrap_err();
    // Refused: keys that changed since they were pinned are refused until verified...
    assert!(matches!(err, EngineError::Refused(_)), "{err}");
    // ...and the new keys were noticed and pinned as changed until verified again.
    let contact = net
        .engine("lead@cert-at")
        .contact(&UserId::new("officer@cert-at").unwrap())
        .unwrap()
        .unwrap();
    assert!(contact.changed.is_some() && !contact.verified);
}

fn net_bundle(net: &mut Net) -> PrekeyBundle {
    net.bundle("officer@cert-at").1
}

#[test]
fn the_engine_survives_a_restart_and_refuses_a_wrong_passphrase() {
    let (mut net, _) = two_members();
    let id = net.engine("lead@cert-at").find_channel("ops").unwrap();
    net.engine("lead@cert-at")
        .send_text(id, "before", now())
        .unwrap();
    net.settle();
    let engine = net.engines.remove("officer@cert-at").unwrap();
    let home = engine.store().home().to_owned();
    drop(engine);
    let err = Engine::open(&home, "not the passphrase").unwrap_err();
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
    assert_eq!(err.exit_code(), 2);
    let engine = Engine::open(&home, PASSPHRASE).unwrap();
    net.engines.insert("officer@cert-at".to_owned(), engine);
    net.engine("lead@cert-at")
        .send_text(id, "after", now())
        .unwrap();
    net.settle();
    assert_eq!(net.texts("officer@cert-at", "ops"), ["before", "after"]);
}
