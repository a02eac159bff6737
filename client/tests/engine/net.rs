//! Members' engines and a relay simulated in memory.

use std::collections::{BTreeMap, VecDeque};

use rand_core::{OsRng, RngCore as _};
use vigil_client::engine::{Body, Engine, Event, Outgoing};
use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair};
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::prekey::{OneTimePrekey, PrekeyBundle, SignedPrekey};
use vigil_protocol::provisioning::{BundleContents, RelayInfo, TrustedRoot};
use vigil_protocol::relay::{Request, Response};
use vigil_protocol::{
    CertificateBody, Clearance, CountryCode, LocalIdentity, MemberCertificate, OrgId, OrgRoot,
    Text, UnixTime, UserId,
};

pub(crate) const PASSPHRASE: &str = "engine test passphrase";

pub(crate) fn now() -> UnixTime {
    vigil_common::now()
}

pub(crate) struct Org {
    pub(crate) key: OrgRootKeyPair,
    pub(crate) root: OrgRoot,
    pub(crate) serial: u64,
}

impl Org {
    /// Organisation `name`, in the country its id ends with (`CERT-CZ`: `CZ`).
    pub(crate) fn new(name: &str) -> Self {
        let key = OrgRootKeyPair::generate(&mut OsRng);
        let country = CountryCode::new(name.rsplit('-').next().unwrap()).unwrap();
        let root = OrgRoot::create(&key, OrgId::new(name).unwrap(), country, now());
        Self {
            key,
            root,
            serial: 0,
        }
    }

    pub(crate) fn member(&mut self, user: &str, level: u8, not_after: UnixTime) -> LocalIdentity {
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
pub(crate) struct Directory {
    pub(crate) certificate: MemberCertificate,
    pub(crate) signed: SignedPrekey,
    pub(crate) one_time: Vec<OneTimePrekey>,
}

/// Members' engines and an in-memory relay.
pub(crate) struct Net {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) roots: Vec<OrgRoot>,
    /// What bundles enrolled from now on accept from each partner (absent: up to EU TOP
    /// SECRET, any role).
    pub(crate) limits: BTreeMap<OrgId, PartnerLimits>,
    pub(crate) engines: BTreeMap<String, Engine>,
    pub(crate) directory: BTreeMap<String, Directory>,
    /// Per recipient: (sender, payload) in the order the relay stored them.
    pub(crate) mail: BTreeMap<String, VecDeque<(UserId, Vec<u8>)>>,
    pub(crate) events: BTreeMap<String, Vec<Event>>,
    /// (member, recipient) of each bundle the member's engine refused.
    pub(crate) refusals: Vec<(String, String)>,
}

impl Net {
    pub(crate) fn new(orgs: &[&Org]) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            roots: orgs.iter().map(|o| o.root.clone()).collect(),
            limits: BTreeMap::new(),
            engines: BTreeMap::new(),
            directory: BTreeMap::new(),
            mail: BTreeMap::new(),
            events: BTreeMap::new(),
            refusals: Vec::new(),
        }
    }

    pub(crate) fn enroll(&mut self, identity: &LocalIdentity) {
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

    pub(crate) fn engine(&mut self, user: &str) -> &mut Engine {
        self.engines.get_mut(user).unwrap()
    }

    pub(crate) fn bundle(&mut self, user: &str) -> (MemberCertificate, PrekeyBundle) {
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
    pub(crate) fn send_all(&mut self) {
        let users: Vec<String> = self.engines.keys().cloned().collect();
        for user in users {
            self.send_from(&user);
        }
    }

    /// Sends `user`'s outbox into the mailboxes.
    pub(crate) fn send_from(&mut self, user: &str) {
        let user = user.to_owned();
        {
            loop {
                let next = self.engine(&user).next_outgoing(now()).unwrap();
                match next {
                    Outgoing::Idle => break,
                    Outgoing::NeedBundle(to) => {
                        let (certificate, bundle) = self.bundle(to.as_str());
                        // As the client does: a refused certificate fails the entry.
                        let events =
                            match self.engine(&user).add_bundle(&certificate, &bundle, now()) {
                                Ok(events) => events,
                                Err(e) if e.is_refusal() => {
                                    self.refusals.push((user.clone(), to.to_string()));
                                    self.engine(&user).drop_first(&e.to_string()).unwrap()
                                }
                                Err(e) => panic!("{e}"),
                            };
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

    pub(crate) fn deliver(&mut self, to: &str, from: &UserId, payload: &[u8]) {
        let events = self.engine(to).receive(from, payload, now()).unwrap();
        self.events.entry(to.to_owned()).or_default().extend(events);
    }

    /// Delivers everything, sending what that causes, until nothing moves.
    pub(crate) fn settle(&mut self) {
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

    pub(crate) fn texts(&mut self, user: &str, channel: &str) -> Vec<String> {
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

    pub(crate) fn placeholders(&mut self, user: &str) -> usize {
        self.events[user]
            .iter()
            .filter(|e| matches!(e, Event::DecryptFailed { .. }))
            .count()
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
