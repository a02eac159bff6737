//! The channel governance model: random sequences of signed changes (invites, removals,
//! relabels, admins, transfers, renewals), revocations at random times and expiries, applied to
//! a channel of two organisations as every member's client would, with the invariants of the
//! channel security review checked after every step:
//!
//! 1. every member who can read the current epoch is in the state and passes every rule;
//! 2. a revoked or expired member never reads an epoch that began after this was known;
//! 3. while its owner or an admin is valid, the channel can always be repaired by them (their
//!    removal of every invalid member, or a rekey, is accepted by every valid member);
//! 4. every member holds the same head (no divergence without a fork).
//!
//! Driven by bytes, so the same body serves the fuzz target `channel_governance` and a
//! property test in `cargo test` (`tests/tests/governance.rs`).

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use vigil_protocol::cert::{RevocationListBody, RevokedCertificate};
use vigil_protocol::channel::{ChannelView, Proposal, SignedChannelState, rules};
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair};
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::{
    CertificateBody, Clearance, CountryCode, LocalIdentity, MemberCertificate, OrgId, OrgRoot,
    RevocationList, Text, TrustStore, UnixTime, UserId,
};

/// 2026-11-27T16:55:04Z, as in the protocol tests.
const START: UnixTime = UnixTime(1_795_798_504);

/// The people of the model: (user, organisation index, clearance level).
const PEOPLE: [(&str, usize, u8); 8] = [
    ("lead@cert-at", 0, 4),
    ("deputy@cert-at", 0, 3),
    ("duty@cert-at", 0, 3),
    ("intern@cert-at", 0, 0),
    ("jana@cert-cz", 1, 3),
    ("petr@cert-cz", 1, 3),
    ("eva@cert-cz", 1, 1),
    ("karel@cert-cz", 1, 3),
];

const ORGS: [(&str, &str); 2] = [("CERT-AT", "AT"), ("CERT-CZ", "CZ")];

const LABELS: [&str; 5] = [
    "TLP:AMBER | EU RESTRICTED",
    "TLP:GREEN | UNCLASSIFIED",
    "TLP:AMBER | EU SECRET",
    "TLP:AMBER+STRICT | EU RESTRICTED",
    "TLP:AMBER | EU RESTRICTED | REL TO AT",
];

struct Org {
    key: OrgRootKeyPair,
    serial: u64,
    revoked: Vec<RevokedCertificate>,
}

/// The model: organisations, each person's current identity, their channel views (`None`
/// before they join), the shared trust store (every client learns revocations at once), and
/// the time.
struct Model {
    rng: ChaCha20Rng,
    orgs: Vec<Org>,
    trust: TrustStore,
    locals: Vec<LocalIdentity>,
    views: Vec<Option<ChannelView>>,
    chain: Vec<SignedChannelState>,
    now: UnixTime,
    /// Per person, the epoch current when their certificate stopped being valid.
    invalid_since: Vec<Option<u64>>,
}

fn user(i: usize) -> UserId {
    UserId::new(PEOPLE[i % PEOPLE.len()].0).expect("valid user id")
}

fn label(i: usize) -> Label {
    Label::parse(LABELS[i % LABELS.len()], ClassificationPolicy::eu()).expect("valid label")
}

impl Model {
    fn new(seed: u64) -> Option<Self> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut trust = TrustStore::new();
        let mut orgs = Vec::new();
        for (name, country) in ORGS {
            let key = OrgRootKeyPair::generate(&mut rng);
            let root = OrgRoot::create(
                &key,
                OrgId::new(name).ok()?,
                CountryCode::new(country).ok()?,
                START,
            );
            trust.add_root(root).ok()?;
            orgs.push(Org {
                key,
                serial: 0,
                revoked: Vec::new(),
            });
        }
        let mut model = Self {
            rng,
            orgs,
            trust,
            locals: Vec::new(),
            views: (0..PEOPLE.len()).map(|_| None).collect(),
            chain: Vec::new(),
            now: START,
            invalid_since: vec![None; PEOPLE.len()],
        };
        for i in 0..PEOPLE.len() {
            // Some certificates expire within the run, two at the same moment.
            let days = [30, 2, 30, 30, 2, 30, 30, 5][i];
            let local = model.issue(i, false, days)?;
            model.locals.push(local);
        }
        let (view, created) = ChannelView::create(
            &mut model.rng,
            &model.locals[0],
            Text::new("governance").ok()?,
            label(0),
            vec![
                model.locals[1].certificate().clone(),
                model.locals[4].certificate().clone(),
            ],
            vec![user(1)],
            &model.trust,
            model.now,
        )
        .ok()?;
        model.views[0] = Some(view);
        for i in [1, 4] {
            let chain = std::slice::from_ref(&created);
            model.views[i] =
                Some(ChannelView::join(&user(i), chain, &model.trust, model.now).ok()?);
        }
        model.chain.push(created);
        Some(model)
    }

    /// A certificate for person `i`, with their current keys (`same_keys`) or fresh ones,
    /// valid for `days`.
    fn issue(&mut self, i: usize, same_keys: bool, days: u64) -> Option<LocalIdentity> {
        let (name, org, level) = PEOPLE[i];
        let (identity, agreement) = match self.locals.get(i).filter(|_| same_keys) {
            Some(k) => (
                IdentityKeyPair::from_seed(&k.identity().to_seed()),
                AgreementKeyPair::from_bytes(&k.agreement().to_bytes()),
            ),
            None => (
                IdentityKeyPair::generate(&mut self.rng),
                AgreementKeyPair::generate(&mut self.rng),
            ),
        };
        let issuer = self.orgs.get_mut(org)?;
        issuer.serial += 1;
        let body = CertificateBody {
            serial: issuer.serial,
            org: OrgId::new(ORGS[org].0).ok()?,
            user: UserId::new(name).ok()?,
            display_name: Text::new(name).ok()?,
            roles: vec![],
            clearance: Clearance {
                policy: Text::new("EU").ok()?,
                level,
            },
            identity_key: identity.public(),
            agreement_key: agreement.public(),
            not_before: UnixTime(self.now.0.saturating_sub(60)),
            not_after: self.now.plus_days(days),
        };
        let certificate = MemberCertificate::issue(&issuer.key, body).ok()?;
        LocalIdentity::new(certificate, identity, agreement).ok()
    }

    fn head(&self) -> &SignedChannelState {
        self.chain.last().expect("a chain starts at the creation")
    }

    /// Whether `cert` is valid now.
    fn valid(&self, cert: &MemberCertificate) -> bool {
        self.trust.verify_certificate(cert, self.now).is_ok()
    }

    /// Who acts for the channel: the owner while valid, else the first valid admin.
    fn actor(&self) -> Option<usize> {
        let state = self.head().state();
        let mut candidates = vec![state.owner.clone()];
        let mut admins = state.admins.clone();
        admins.sort();
        candidates.extend(admins);
        candidates
            .into_iter()
            .find(|u| state.member(u).is_some_and(|c| self.valid(c)))
            .and_then(|u| PEOPLE.iter().position(|(name, _, _)| *name == u.as_str()))
    }

    /// Person `author` proposes; when it is signed, every member applies it as their client
    /// would, and an invitee joins from the chain. Whether it was signed.
    fn change(&mut self, author: usize, proposal: Proposal) -> bool {
        let Some(Some(view)) = self.views.get(author) else {
            return false;
        };
        let Ok(signed) = view.propose(&self.locals[author], proposal, &self.trust, self.now) else {
            return false;
        };
        self.chain.push(signed.clone());

        for (i, slot) in self.views.iter_mut().enumerate() {
            if let Some(view) = slot.as_mut().filter(|v| v.is_member()) {
                let applied = view.apply(&signed, &self.trust, self.now);
                assert!(
                    applied.is_ok(),
                    "{} refused a proposed state: {applied:?}",
                    user(i)
                );
            }
        }
        for (i, slot) in self.views.iter_mut().enumerate() {
            let listed = signed.state().is_member(&user(i));
            if listed && slot.as_ref().is_none_or(|v| !v.is_member()) {
                let joined = ChannelView::join(&user(i), &self.chain, &self.trust, self.now);
                assert!(joined.is_ok(), "{} could not join: {joined:?}", user(i));
                *slot = joined.ok();
            }
        }
        true
    }

    /// The client's reaction to revocation lists and expiry: the actor removes every member
    /// no longer valid, in one change.
    fn sweep(&mut self) {
        let state = self.head().state().clone();
        let invalid: Vec<UserId> = state
            .members
            .iter()
            .filter(|m| !self.valid(m))
            .map(|m| m.body().user.clone())
            .collect();
        for (i, since) in self.invalid_since.iter_mut().enumerate() {
            let gone = state
                .member(&user(i))
                .is_some_and(|c| self.trust.verify_certificate(c, self.now).is_err());
            if gone && since.is_none() {
                *since = Some(state.epoch);
            }
        }
        if invalid.is_empty() {
            return;
        }
        if let Some(actor) = self.actor() {
            let reason = Text::new("no longer valid").expect("valid text");
            let removed = self.change(
                actor,
                Proposal::Remove {
                    users: invalid,
                    reason,
                },
            );
            assert!(
                removed,
                "{} could not remove the invalid members",
                user(actor)
            );
        }
    }

    fn revoke(&mut self, i: usize) {
        let serial = self.locals[i].certificate().body().serial;
        let org = PEOPLE[i].1;
        let Some(issuer) = self.orgs.get_mut(org) else {
            return;
        };
        issuer.revoked.push(RevokedCertificate {
            serial,
            user: user(i),
            revoked_at: self.now,
            reason: Text::new("revoked by the model").expect("valid text"),
        });
        let body = RevocationListBody {
            org: OrgId::new(ORGS[org].0).expect("valid org"),
            version: issuer.revoked.len() as u64,
            issued_at: self.now,
            entries: issuer.revoked.clone(),
        };
        let list = RevocationList::sign(&issuer.key, body);
        assert!(self.trust.update_revocations(list).is_ok());
    }

    fn step(&mut self, op: u8, a: usize, b: usize) {
        // Clocks tick between steps (a revocation in the second a state was signed counts
        // against that state).
        self.now = self.now.plus_secs(1);
        // Mostly the owner or an admin acts; now and then anyone tries.
        let author = match self.actor() {
            Some(actor) if !a.is_multiple_of(4) => actor,
            _ => a % PEOPLE.len(),
        };
        match op % 10 {
            0 | 1 => {
                let certificate = self.locals[b % PEOPLE.len()].certificate().clone();
                self.change(author, Proposal::Invite(Box::new(certificate)));
            }
            2 => {
                let users = vec![user(b), user(b / 3)];
                let reason = Text::new("need to know").expect("valid text");
                self.change(author, Proposal::Remove { users, reason });
            }
            3 => {
                self.change(author, Proposal::Relabel(label(b)));
            }
            4 => {
                let admins = if b.is_multiple_of(3) {
                    vec![user(b)]
                } else {
                    vec![user(b), user(b / 5 + 1)]
                };
                self.change(author, Proposal::SetAdmins(admins));
            }
            5 => {
                self.change(author, Proposal::Transfer(user(b)));
            }
            6 => {
                let i = b % PEOPLE.len();
                if let Some(renewed) = self.issue(i, b.is_multiple_of(2), 30) {
                    let certificate = renewed.certificate().clone();
                    // The member uses the new certificate once the channel holds it.
                    if self.change(author, Proposal::Renew(Box::new(certificate))) {
                        self.locals[i] = renewed;
                    }
                }
            }
            7 => {
                self.revoke(b % PEOPLE.len());
                self.sweep();
            }
            8 => {
                self.now = self.now.plus_secs(3600 * (1 + b as u64 % 72));
                self.sweep();
            }
            _ => {
                let reason = Text::new("routine").expect("valid text");
                self.change(author, Proposal::Rekey { reason });
            }
        }
    }

    /// Every member who is valid and in the state makes a sender key and gives it to every
    /// other valid member (as clients do), then seals a probe: whoever can open a probe must
    /// be a member of the state, valid now, and the state must obey every rule.
    fn check(&mut self) {
        let state = self.head().state().clone();
        let hash = self.head().hash();
        for (i, view) in self.views.iter().enumerate() {
            if let Some(view) = view.as_ref().filter(|v| v.is_member()) {
                assert_eq!(view.head().hash(), hash, "{} diverged", user(i));
            }
        }
        assert!(
            rules::check_members(&state, &self.trust).is_ok(),
            "a rule broken"
        );
        let valid: Vec<usize> = (0..PEOPLE.len())
            .filter(|i| state.member(&user(*i)).is_some_and(|c| self.valid(c)))
            .collect();
        let mut probes = Vec::new();
        for &from in &valid {
            let Some(Some(view)) = self.views.get_mut(from) else {
                continue;
            };
            let Ok(key) = view.own_sender_key(&mut self.rng) else {
                continue;
            };
            let Ok(probe) = view.seal(&mut self.rng, b"probe") else {
                continue;
            };
            probes.push(probe);
            let identity = state.member(&user(from)).map(|c| c.body().identity_key);
            for &to in valid.iter().filter(|t| **t != from) {
                if let (Some(Some(view)), Some(identity)) = (self.views.get_mut(to), identity) {
                    let _ = view.add_sender_key(&user(from), &identity, &key);
                }
            }
        }
        for probe in &probes {
            for i in 0..PEOPLE.len() {
                let Some(Some(view)) = self.views.get_mut(i) else {
                    continue;
                };
                if view.open(probe, self.now).is_ok() {
                    // Without a valid owner or admin nobody can start a new epoch: members
                    // who became invalid keep the keys they had (their client gets nothing
                    // more: valid members send them nothing, the relay refuses them).
                    let repairable = self.actor().is_some();
                    assert!(
                        valid.contains(&i) || !repairable,
                        "{} read the current epoch",
                        user(i)
                    );
                    if let Some(since) = self.invalid_since[i] {
                        assert!(state.epoch <= since, "{} read a later epoch", user(i));
                    }
                }
            }
        }
        self.check_repairable();
    }

    /// While the owner or an admin is valid, their repair is accepted by every valid member.
    fn check_repairable(&mut self) {
        let Some(actor) = self.actor() else {
            return;
        };
        let state = self.head().state();
        let invalid: Vec<UserId> = state
            .members
            .iter()
            .filter(|m| !self.valid(m))
            .map(|m| m.body().user.clone())
            .collect();
        let repair = if invalid.is_empty() {
            Proposal::Rekey {
                reason: Text::new("repair").expect("valid text"),
            }
        } else {
            Proposal::Remove {
                users: invalid,
                reason: Text::new("repair").expect("valid text"),
            }
        };
        let Some(Some(view)) = self.views.get(actor) else {
            panic!("{} acts but has no view", user(actor));
        };
        let signed = view.propose(&self.locals[actor], repair, &self.trust, self.now);
        assert!(signed.is_ok(), "{} cannot repair: {signed:?}", user(actor));
        let Ok(signed) = signed else {
            return;
        };
        for (i, view) in self.views.iter().enumerate() {
            let member = view.as_ref().filter(|v| v.is_member());
            if let Some(view) =
                member.filter(|_| state.member(&user(i)).is_some_and(|c| self.valid(c)))
            {
                let mut copy = ChannelView::from_bytes(&view.to_bytes()).expect("a view restores");
                let applied = copy.apply(&signed, &self.trust, self.now);
                assert!(
                    applied.is_ok(),
                    "{} refuses the repair: {applied:?}",
                    user(i)
                );
            }
        }
    }
}

/// Runs the model on `data`: three bytes per step (operation, two arguments).
pub fn channel_governance(data: &[u8]) {
    let Some(mut model) = Model::new(0x60BE) else {
        return;
    };
    model.check();
    for step in data.chunks(3).take(64) {
        let op = step.first().copied().unwrap_or(0);
        let a = usize::from(step.get(1).copied().unwrap_or(0));
        let b = usize::from(step.get(2).copied().unwrap_or(0));
        model.step(op, a, b);
        model.check();
    }
}

/// Valid inputs to seed the fuzz corpus: every operation, in an order that exercises each.
#[must_use]
pub fn seeds() -> Vec<Vec<u8>> {
    vec![
        // Invite everyone, name an admin, revoke the owner, renew, expire.
        vec![
            0, 0, 1, 0, 0, 2, 0, 0, 5, 4, 0, 1, 7, 0, 0, 6, 1, 2, 8, 0, 40, 9, 1, 0,
        ],
        // Relabel, transfer, remove two at once, revoke two, rekey.
        vec![
            0, 0, 5, 3, 0, 2, 5, 0, 4, 2, 4, 15, 7, 0, 4, 7, 0, 5, 9, 4, 0, 1, 4, 7,
        ],
    ]
}
