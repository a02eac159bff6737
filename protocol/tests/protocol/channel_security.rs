//! The attacks of the channel security review (issue 14), each reproduced against the protocol
//! and refused: invites that add nobody, revocation that wedges a channel, backdated states,
//! joiners who trust one state, withheld epochs, forks, and keys sent to the wrong identity.
//! Three organisations, so cross-border channels are the norm, and a crew whose owner, admin
//! and members can be revoked or expire at any time.

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use vigil_protocol::cert::{RevocationListBody, RevokedCertificate};
use vigil_protocol::channel::{
    Change, ChannelError, ChannelState, ChannelView, EPOCH_GRACE_SECS, MAX_REBUILT_BYTES,
    MAX_STATE_AGE_SECS, Proposal, SignedChannelState,
};
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair};
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::{
    CertError, LocalIdentity, MemberCertificate, RevocationList, TrustStore, UnixTime, UserId,
};

use crate::fixtures::{Member, NOW, Org, rng, trust};

pub(crate) fn user(name: &str) -> UserId {
    name.parse().unwrap()
}

fn text(s: &str) -> vigil_protocol::Text {
    s.parse().unwrap()
}

pub(crate) const OWNER: &str = "lead@cert-at";
pub(crate) const ADMIN: &str = "admin@cert-cz";
pub(crate) const CREW: [&str; 6] = [
    "lead@cert-at",
    "admin@cert-cz",
    "duty@cert-at",
    "duty@cert-cz",
    "duty@cert-pl",
    "analyst@cert-pl",
];

/// Three national teams, a channel among six of their members, every member's view, and the
/// chain of states from the creation.
pub(crate) struct Crew {
    pub(crate) rng: ChaCha20Rng,
    pub(crate) orgs: BTreeMap<String, Org>,
    pub(crate) members: BTreeMap<String, Member>,
    pub(crate) trust: TrustStore,
    pub(crate) views: BTreeMap<String, ChannelView>,
    pub(crate) chain: Vec<SignedChannelState>,
    revoked: BTreeMap<String, Vec<RevokedCertificate>>,
}

fn org_of(name: &str) -> String {
    name.split('@').nth(1).unwrap().to_uppercase()
}

impl Crew {
    /// The crew with the channel created by [`OWNER`] with [`ADMIN`] as admin, every member
    /// joined from the chain. Everyone has clearance EU SECRET.
    pub(crate) fn new(seed: u64) -> Self {
        let mut crew = Self::without_channel(seed);
        crew.create(&CREW);
        crew
    }

    pub(crate) fn without_channel(seed: u64) -> Self {
        let mut rng = rng(seed);
        let mut orgs = BTreeMap::new();
        for name in ["CERT-AT", "CERT-CZ", "CERT-PL"] {
            orgs.insert(name.to_owned(), Org::new(&mut rng, name));
        }
        let mut members = BTreeMap::new();
        for name in CREW
            .iter()
            .chain(["outsider@cert-cz", "accomplice@cert-pl"].iter())
        {
            let org = orgs.get_mut(&org_of(name)).unwrap();
            members.insert((*name).to_owned(), org.member_cleared(&mut rng, name, 3));
        }
        let trust = trust(&orgs.values().collect::<Vec<_>>());
        Self {
            rng,
            orgs,
            members,
            trust,
            views: BTreeMap::new(),
            chain: Vec::new(),
            revoked: BTreeMap::new(),
        }
    }

    pub(crate) fn create(&mut self, names: &[&str]) {
        let certs = names.iter().map(|n| self.cert(n)).collect();
        let (view, created) = ChannelView::create(
            &mut self.rng,
            &self.members[OWNER].local,
            text("cross-border-incident"),
            Label::parse("TLP:AMBER | EU SECRET", ClassificationPolicy::eu()).unwrap(),
            certs,
            vec![user(ADMIN)],
            &self.trust,
            NOW,
        )
        .unwrap();
        self.views.insert(OWNER.to_owned(), view);
        self.chain = vec![created];
        for name in names.iter().filter(|n| **n != OWNER) {
            let view = ChannelView::join(&user(name), &self.chain, &self.trust, NOW).unwrap();
            self.views.insert((*name).to_owned(), view);
        }
    }

    pub(crate) fn cert(&self, name: &str) -> MemberCertificate {
        self.members[name].certificate().clone()
    }

    pub(crate) fn local(&self, name: &str) -> &LocalIdentity {
        &self.members[name].local
    }

    pub(crate) fn head(&self) -> &ChannelState {
        self.chain.last().unwrap().state()
    }

    /// A member issued anew by their organisation: a higher serial, the same or new keys.
    pub(crate) fn renewed(&mut self, name: &str, new_keys: bool) -> Member {
        let org = self.orgs.get_mut(&org_of(name)).unwrap();
        let fresh = org.member_cleared(&mut self.rng, name, 3);
        if new_keys {
            return fresh;
        }
        let old = &self.members[name];
        let mut body = fresh.certificate().body().clone();
        body.identity_key = old.certificate().body().identity_key;
        body.agreement_key = old.certificate().body().agreement_key;
        let certificate = MemberCertificate::issue(&org.key, body).unwrap();
        let local = LocalIdentity::new(
            certificate,
            IdentityKeyPair::from_seed(&old.local.identity().to_seed()),
            AgreementKeyPair::from_bytes(&old.local.agreement().to_bytes()),
        )
        .unwrap();
        let prekeys = vigil_protocol::prekey::PrekeyStore::new(&mut self.rng, &local, NOW);
        Member { local, prekeys }
    }

    /// A trust store that also knows the revocation of `names` at `at` (each organisation's
    /// list grows by one version).
    pub(crate) fn revoke(&mut self, names: &[&str], at: UnixTime) -> TrustStore {
        for name in names {
            let cert = self.cert(name);
            self.revoked
                .entry(org_of(name))
                .or_default()
                .push(RevokedCertificate {
                    serial: cert.body().serial,
                    user: user(name),
                    revoked_at: at,
                    reason: text("key compromised"),
                });
        }
        let mut trust = self.trust.clone();
        for (org, entries) in &self.revoked {
            let list = RevocationList::sign(
                &self.orgs[org].key,
                RevocationListBody {
                    org: org.parse().unwrap(),
                    version: entries.len() as u64,
                    issued_at: at,
                    entries: entries.clone(),
                },
            );
            trust.update_revocations(list).unwrap();
        }
        trust
    }

    pub(crate) fn propose(
        &self,
        author: &str,
        proposal: Proposal,
        trust: &TrustStore,
        now: UnixTime,
    ) -> Result<SignedChannelState, ChannelError> {
        self.views[author].propose(self.local(author), proposal, trust, now)
    }

    /// Applies `state` at every view that is a member (and records it in the chain); joins an
    /// invitee from the chain.
    pub(crate) fn apply_all(
        &mut self,
        state: &SignedChannelState,
        trust: &TrustStore,
        now: UnixTime,
    ) {
        self.chain.push(state.clone());
        for (name, view) in &mut self.views {
            if view.is_member() {
                view.apply(state, trust, now)
                    .unwrap_or_else(|e| panic!("{name} refused {:?}: {e}", state.state().change));
            }
        }
        if let Change::Invite { user: invited } = &state.state().change {
            let view = ChannelView::join(invited, &self.chain, trust, now).unwrap();
            self.views.insert(invited.to_string(), view);
        }
    }

    /// Signs `state` as `author` after setting its link to our head (a forger's tool: nothing
    /// is checked).
    pub(crate) fn forge(&self, author: &str, mut state: ChannelState) -> SignedChannelState {
        let head = self.chain.last().unwrap();
        state.version = head.state().version + 1;
        state.previous = Some(head.hash());
        state.author = user(author);
        SignedChannelState::sign(self.local(author), state)
    }
}

fn remove(users: &[&str], reason: &str) -> Proposal {
    Proposal::Remove {
        users: users.iter().map(|u| user(u)).collect(),
        reason: text(reason),
    }
}

fn is_revoked(err: &ChannelError) -> bool {
    matches!(
        err.clone().unwrap_unconfirmed(),
        ChannelError::Certificate(CertError::Revoked { .. })
    )
}

// ----- finding 1: an invite that adds nobody -----

#[test]
fn an_invite_that_adds_nobody_is_refused_by_every_member() {
    let crew = Crew::new(1);
    // The owner's key signs an Invite of an outsider whose state does not list them: before
    // the fix every member applied it and sent the outsider its sender key.
    let mut state = crew.head().clone();
    state.change = Change::Invite {
        user: user("outsider@cert-cz"),
    };
    let forged = crew.forge(OWNER, state);
    for (name, view) in &crew.views {
        let mut view = ChannelView::from_bytes(&view.to_bytes()).unwrap();
        let err = view.apply(&forged, &crew.trust, NOW).unwrap_err();
        assert!(matches!(err, ChannelError::Malformed(_)), "{name}: {err}");
    }
}

#[test]
fn an_invite_that_adds_someone_else_than_it_names_is_refused() {
    let crew = Crew::new(2);
    let mut state = crew.head().clone();
    state.members.push(crew.cert("accomplice@cert-pl"));
    state
        .members
        .sort_by(|a, b| a.body().user.cmp(&b.body().user));
    state.change = Change::Invite {
        user: user("outsider@cert-cz"),
    };
    let forged = crew.forge(OWNER, state);
    let mut view = ChannelView::from_bytes(&crew.views["duty@cert-pl"].to_bytes()).unwrap();
    assert!(matches!(
        view.apply(&forged, &crew.trust, NOW),
        Err(ChannelError::Malformed(_))
    ));
}

// ----- finding 2: revocation that wedges a channel -----

#[test]
fn two_revoked_members_are_removed_in_one_change() {
    let mut crew = Crew::new(3);
    let revoked = crew.revoke(&["duty@cert-cz", "analyst@cert-pl"], NOW);
    let owner = &crew.views[OWNER];
    let mut gone = owner.invalid_members(&revoked, NOW);
    gone.sort();
    assert_eq!(gone, vec![user("analyst@cert-pl"), user("duty@cert-cz")]);
    // Removing only one of them leaves a revoked member: refused, naming the rule.
    let err = crew
        .propose(OWNER, remove(&["duty@cert-cz"], "revoked"), &revoked, NOW)
        .unwrap_err();
    assert!(is_revoked(&err), "{err}");
    // Both in one removal: a new epoch every remaining member applies.
    let removal = crew
        .propose(
            OWNER,
            remove(&["duty@cert-cz", "analyst@cert-pl"], "revoked"),
            &revoked,
            NOW,
        )
        .unwrap();
    crew.apply_all(&removal, &revoked, NOW);
    assert_eq!(crew.head().members.len(), 4);
    assert_eq!(crew.head().epoch, 1);
    assert!(!crew.views["duty@cert-cz"].is_member());
    // And the channel works on: a rekey passes.
    let rekey = Proposal::Rekey {
        reason: text("routine"),
    };
    crew.propose(OWNER, rekey, &revoked, NOW).unwrap();
}

#[test]
fn members_whose_certificates_expire_together_are_removed_together() {
    let mut crew = Crew::without_channel(4);
    for name in ["duty@cert-cz", "duty@cert-pl"] {
        let org = crew.orgs.get_mut(&org_of(name)).unwrap();
        let (mut body, identity, agreement) = org.body(&mut crew.rng, name);
        body.clearance.level = 3;
        body.not_after = NOW.plus_days(1);
        let cert = MemberCertificate::issue(&org.key, body).unwrap();
        let local = LocalIdentity::new(cert, identity, agreement).unwrap();
        let prekeys = vigil_protocol::prekey::PrekeyStore::new(&mut crew.rng, &local, NOW);
        crew.members
            .insert(name.to_owned(), Member { local, prekeys });
    }
    crew.create(&CREW);
    let later = NOW.plus_days(2);
    let mut expired = crew.views[OWNER].invalid_members(&crew.trust, later);
    expired.sort();
    let names: Vec<&str> = expired.iter().map(UserId::as_str).collect();
    let removal = crew
        .propose(
            OWNER,
            remove(&names, "certificate expired"),
            &crew.trust,
            later,
        )
        .unwrap();
    let trust = crew.trust.clone();
    crew.apply_all(&removal, &trust, later);
    assert_eq!(crew.head().members.len(), 4);
}

#[test]
fn an_admin_takes_over_from_a_revoked_owner() {
    let mut crew = Crew::new(5);
    let revoked = crew.revoke(&[OWNER, "duty@cert-at"], NOW);
    // The owner can sign nothing any more; the admin removes them and every other revoked
    // member in one change and becomes the owner.
    let takeover = crew
        .propose(
            ADMIN,
            remove(&[OWNER, "duty@cert-at"], "revoked"),
            &revoked,
            NOW,
        )
        .unwrap();
    assert_eq!(takeover.state().owner, user(ADMIN));
    assert!(takeover.state().admins.is_empty());
    crew.apply_all(&takeover, &revoked, NOW);
    // The new owner can do everything an owner does, lowering the label included.
    let relabel = Proposal::Relabel(
        Label::parse("TLP:GREEN | EU RESTRICTED", ClassificationPolicy::eu()).unwrap(),
    );
    let lowered = crew.propose(ADMIN, relabel, &revoked, NOW).unwrap();
    crew.apply_all(&lowered, &revoked, NOW);
    let admins = Proposal::SetAdmins(vec![user("duty@cert-pl")]);
    crew.propose(ADMIN, admins, &revoked, NOW).unwrap();
}

#[test]
fn an_admin_cannot_depose_an_owner_who_can_still_act() {
    let crew = Crew::new(6);
    let err = crew
        .propose(ADMIN, remove(&[OWNER], "coup"), &crew.trust, NOW)
        .unwrap_err();
    assert!(matches!(err, ChannelError::OwnerStillValid { .. }), "{err}");
    // Signed anyway (a malicious admin's client): members who consider the owner valid hold
    // it and never apply it.
    let mut state = crew.head().clone();
    state.members.retain(|m| m.body().user != user(OWNER));
    state.admins.clear();
    state.owner = user(ADMIN);
    state.epoch += 1;
    state.change = Change::Remove {
        users: vec![user(OWNER)],
        reason: text("coup"),
    };
    let forged = crew.forge(ADMIN, state);
    let mut view = ChannelView::from_bytes(&crew.views["duty@cert-pl"].to_bytes()).unwrap();
    let err = view.apply(&forged, &crew.trust, NOW).unwrap_err();
    assert!(
        matches!(
            &err,
            ChannelError::Unconfirmed { reason, .. }
                if matches!(**reason, ChannelError::OwnerStillValid { .. })
        ),
        "{err}"
    );
    // Nor may any plain member remove anyone.
    let err = crew
        .propose(
            "duty@cert-pl",
            remove(&["duty@cert-cz"], "x"),
            &crew.trust,
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, ChannelError::Policy(_)), "{err}");
}

#[test]
fn the_owner_hands_ownership_over_and_only_the_owner_may() {
    let mut crew = Crew::new(7);
    let err = crew
        .propose(ADMIN, Proposal::Transfer(user(ADMIN)), &crew.trust, NOW)
        .unwrap_err();
    assert!(matches!(err, ChannelError::Policy(_)), "{err}");
    let transfer = crew
        .propose(
            OWNER,
            Proposal::Transfer(user("duty@cert-pl")),
            &crew.trust,
            NOW,
        )
        .unwrap();
    let trust = crew.trust.clone();
    crew.apply_all(&transfer, &trust, NOW);
    assert_eq!(crew.head().owner, user("duty@cert-pl"));
    assert_eq!(crew.head().epoch, 0, "a transfer keeps the epoch");
    // The former owner is now a plain member.
    let err = crew
        .propose(OWNER, Proposal::Rekey { reason: text("x") }, &trust, NOW)
        .unwrap_err();
    assert!(matches!(err, ChannelError::Policy(_)), "{err}");
}

#[test]
fn a_renewed_certificate_replaces_the_old_one_without_leaving() {
    let mut crew = Crew::new(8);
    let same_keys = crew.renewed("duty@cert-pl", false);
    let renew = crew
        .propose(
            OWNER,
            Proposal::Renew(Box::new(same_keys.certificate().clone())),
            &crew.trust,
            NOW,
        )
        .unwrap();
    let trust = crew.trust.clone();
    crew.apply_all(&renew, &trust, NOW);
    assert_eq!(crew.head().epoch, 0, "same identity key: same epoch");
    assert_eq!(
        crew.head().member(&user("duty@cert-pl")),
        Some(same_keys.certificate())
    );
    crew.members.insert("duty@cert-pl".to_owned(), same_keys);
    // New keys (a lost laptop): a new epoch, so the old key reads nothing after.
    let new_keys = crew.renewed("duty@cert-pl", true);
    let renew = crew
        .propose(
            ADMIN,
            Proposal::Renew(Box::new(new_keys.certificate().clone())),
            &trust,
            NOW,
        )
        .unwrap();
    crew.apply_all(&renew, &trust, NOW);
    assert_eq!(crew.head().epoch, 1);
    // Back to an older certificate: refused.
    let old = crew.chain[0]
        .state()
        .member(&user("duty@cert-pl"))
        .unwrap()
        .clone();
    let err = crew
        .propose(OWNER, Proposal::Renew(Box::new(old)), &trust, NOW)
        .unwrap_err();
    assert!(matches!(err, ChannelError::Malformed(_)), "{err}");
}

// ----- finding 3: backdated states -----

#[test]
fn a_revoked_key_cannot_create_a_channel_whatever_its_date() {
    let mut crew = Crew::without_channel(9);
    let revoked_at = NOW;
    let trust = crew.revoke(&["outsider@cert-cz"], revoked_at);
    for dated in [UnixTime(NOW.0 - 3600), NOW.plus_days(20)] {
        let now = dated.max(NOW);
        let forger = &crew.members["outsider@cert-cz"].local;
        let (_, created) = ChannelView::create(
            &mut rng(9),
            forger,
            text("director-briefing"),
            Label::parse("TLP:AMBER | EU SECRET", ClassificationPolicy::eu()).unwrap(),
            vec![crew.cert("duty@cert-at")],
            vec![],
            &crew.trust,
            dated,
        )
        .unwrap();
        let err = ChannelView::join(
            &user("duty@cert-at"),
            std::slice::from_ref(&created),
            &trust,
            now,
        )
        .unwrap_err();
        assert!(is_revoked(&err), "dated {dated:?}: {err}");
    }
}

#[test]
fn a_revoked_admin_cannot_invite_an_accomplice_backdated_or_not() {
    let mut crew = Crew::new(10);
    let revoked_at = NOW.plus_days(1);
    let trust = crew.revoke(&[ADMIN, "accomplice@cert-pl"], revoked_at);
    let later = NOW.plus_days(4);
    for dated in [NOW, later] {
        let mut state = crew.head().clone();
        state.members.push(crew.cert("accomplice@cert-pl"));
        state
            .members
            .sort_by(|a, b| a.body().user.cmp(&b.body().user));
        state.change = Change::Invite {
            user: user("accomplice@cert-pl"),
        };
        state.timestamp = dated;
        let forged = crew.forge(ADMIN, state);
        for name in ["duty@cert-at", "duty@cert-pl"] {
            let mut view = ChannelView::from_bytes(&crew.views[name].to_bytes()).unwrap();
            let err = view.apply(&forged, &trust, later).unwrap_err();
            assert!(is_revoked(&err), "{name}, dated {dated:?}: {err}");
        }
    }
}

#[test]
fn a_state_signed_before_a_revocation_is_applied_only_when_a_valid_author_builds_on_it() {
    let mut crew = Crew::new(11);
    // The owner invites someone, then is revoked; the admin (who applied the invite before
    // learning of the revocation) takes over. A member who was offline learns of the
    // revocation first, then receives both.
    let invite = crew
        .propose(
            OWNER,
            Proposal::Invite(Box::new(crew.cert("outsider@cert-cz"))),
            &crew.trust,
            NOW,
        )
        .unwrap();
    let revoked_at = UnixTime(NOW.0 + 60);
    let revoked = crew.revoke(&[OWNER], revoked_at);
    let mut admin_view = ChannelView::from_bytes(&crew.views[ADMIN].to_bytes()).unwrap();
    admin_view.apply(&invite, &crew.trust, NOW).unwrap();
    let takeover = admin_view
        .propose(
            crew.local(ADMIN),
            remove(&[OWNER], "revoked"),
            &revoked,
            revoked_at,
        )
        .unwrap();
    let later = UnixTime(NOW.0 + 3600);
    let mut offline = ChannelView::from_bytes(&crew.views["duty@cert-pl"].to_bytes()).unwrap();
    // The invite alone is held: its author is revoked now.
    let err = offline.apply(&invite, &revoked, later).unwrap_err();
    assert!(
        matches!(err, ChannelError::Unconfirmed { version: 1, .. }),
        "{err}"
    );
    // With the takeover that builds on it, both apply.
    let applied = offline
        .catch_up(&[invite, takeover], &revoked, later)
        .unwrap();
    assert_eq!(applied.len(), 2);
    assert_eq!(offline.head().state().owner, user(ADMIN));
}

#[test]
fn a_state_too_old_or_from_the_future_is_not_applied() {
    let crew = Crew::new(12);
    let rekey = crew
        .propose(
            OWNER,
            Proposal::Rekey { reason: text("x") },
            &crew.trust,
            NOW,
        )
        .unwrap();
    let mut view = ChannelView::from_bytes(&crew.views["duty@cert-cz"].to_bytes()).unwrap();
    let much_later = UnixTime(NOW.0 + MAX_STATE_AGE_SECS + 1);
    let err = view.apply(&rekey, &crew.trust, much_later).unwrap_err();
    assert!(
        matches!(
            &err,
            ChannelError::Unconfirmed { reason, .. } if matches!(**reason, ChannelError::TooOld { .. })
        ),
        "{err}"
    );
    let future = crew
        .propose(
            OWNER,
            Proposal::Rekey { reason: text("x") },
            &crew.trust,
            NOW.plus_days(1),
        )
        .unwrap();
    // Not applied before its time: held (a client keeps it and tries again), not refused.
    let err = view.apply(&future, &crew.trust, NOW).unwrap_err();
    assert!(
        matches!(
            &err,
            ChannelError::Unconfirmed { reason, .. } if matches!(**reason, ChannelError::Early { .. })
        ),
        "{err}"
    );
    view.apply(&rekey, &crew.trust, NOW).unwrap();
}

// ----- finding 6: joiners trust one state -----

#[test]
fn a_joiner_refuses_a_state_without_the_chain_that_leads_to_it() {
    let mut crew = Crew::new(13);
    let invite = crew
        .propose(
            OWNER,
            Proposal::Invite(Box::new(crew.cert("outsider@cert-cz"))),
            &crew.trust,
            NOW,
        )
        .unwrap();
    let err = ChannelView::join(
        &user("outsider@cert-cz"),
        std::slice::from_ref(&invite),
        &crew.trust,
        NOW,
    )
    .unwrap_err();
    assert!(matches!(err, ChannelError::Malformed(_)), "{err}");
    // A colluder writes themselves in as "owner" of an invite: the chain says otherwise.
    let mut state = invite.state().clone();
    state.owner = user("duty@cert-pl");
    state.admins = vec![];
    let forged = SignedChannelState::sign(
        crew.local("duty@cert-pl"),
        ChannelState {
            author: user("duty@cert-pl"),
            ..state
        },
    );
    let mut chain = crew.chain.clone();
    chain.push(forged);
    let err = ChannelView::join(&user("outsider@cert-cz"), &chain, &crew.trust, NOW).unwrap_err();
    assert!(
        matches!(err, ChannelError::Policy(_) | ChannelError::Malformed(_)),
        "{err}"
    );
    // The genuine chain joins.
    let trust = crew.trust.clone();
    crew.apply_all(&invite, &trust, NOW);
    assert!(crew.views["outsider@cert-cz"].is_member());
}

#[test]
fn a_joiner_verifies_every_link_of_a_long_history() {
    let mut crew = Crew::new(14);
    let trust = crew.trust.clone();
    for round in 0..5 {
        let rekey = Proposal::Rekey {
            reason: text(&format!("round {round}")),
        };
        let state = crew.propose(OWNER, rekey, &trust, NOW).unwrap();
        crew.apply_all(&state, &trust, NOW);
    }
    let invite = crew
        .propose(
            ADMIN,
            Proposal::Invite(Box::new(crew.cert("outsider@cert-cz"))),
            &trust,
            NOW,
        )
        .unwrap();
    let mut chain = crew.chain.clone();
    chain.push(invite);
    ChannelView::join(&user("outsider@cert-cz"), &chain, &trust, NOW).unwrap();
    // One link replaced by a state of another branch: refused.
    let mut tampered = chain.clone();
    let other = crew
        .propose(
            OWNER,
            Proposal::Rekey {
                reason: text("other"),
            },
            &trust,
            NOW,
        )
        .unwrap();
    tampered[3] = other;
    assert!(ChannelView::join(&user("outsider@cert-cz"), &tampered, &trust, NOW).is_err());
}

// ----- finding 7: withheld changes and forks -----

#[test]
fn old_epoch_messages_are_refused_after_the_grace_period() {
    let mut crew = Crew::new(15);
    let trust = crew.trust.clone();
    let sender = "duty@cert-pl";
    let identity = crew.cert(sender).body().identity_key;
    let key = crew
        .views
        .get_mut(sender)
        .unwrap()
        .own_sender_key(&mut crew.rng)
        .unwrap();
    let reader = "duty@cert-at";
    crew.views
        .get_mut(reader)
        .unwrap()
        .add_sender_key(&user(sender), &identity, &key)
        .unwrap();
    // The relay withholds the removal from the sender, who keeps writing in the old epoch.
    let removal = crew
        .propose(OWNER, remove(&["analyst@cert-pl"], "left"), &trust, NOW)
        .unwrap();
    crew.views
        .get_mut(reader)
        .unwrap()
        .apply(&removal, &trust, NOW)
        .unwrap();
    let sender_view = crew.views.get_mut(sender).unwrap();
    let within = sender_view
        .seal(&mut crew.rng, b"within the grace")
        .unwrap();
    let after = sender_view
        .seal(&mut crew.rng, b"long after the change")
        .unwrap();
    let reader_view = crew.views.get_mut(reader).unwrap();
    reader_view.open(&within, UnixTime(NOW.0 + 60)).unwrap();
    let err = reader_view
        .open(&after, UnixTime(NOW.0 + EPOCH_GRACE_SECS + 1))
        .unwrap_err();
    assert!(
        matches!(err, ChannelError::EpochSuperseded { epoch: 0, .. }),
        "{err}"
    );
}

#[test]
fn a_fork_is_named_as_such() {
    let crew = Crew::new(16);
    let trust = crew.trust.clone();
    let a = crew
        .propose(OWNER, Proposal::Rekey { reason: text("a") }, &trust, NOW)
        .unwrap();
    let b = crew
        .propose(ADMIN, Proposal::Rekey { reason: text("b") }, &trust, NOW)
        .unwrap();
    let mut view = ChannelView::from_bytes(&crew.views["duty@cert-cz"].to_bytes()).unwrap();
    view.apply(&a, &trust, NOW).unwrap();
    let next_on_b = {
        let mut other = ChannelView::from_bytes(&crew.views[ADMIN].to_bytes()).unwrap();
        other.apply(&b, &trust, NOW).unwrap();
        other
            .propose(
                crew.local(ADMIN),
                Proposal::Rekey { reason: text("c") },
                &trust,
                NOW,
            )
            .unwrap()
    };
    // Same version as ours, another hash: refused as stale here (the client compares hashes).
    assert!(matches!(
        view.apply(&b, &trust, NOW),
        Err(ChannelError::StaleState { .. })
    ));
    // The next version built on the other branch: a fork.
    assert!(matches!(
        view.apply(&next_on_b, &trust, NOW),
        Err(ChannelError::Forked { .. })
    ));
}

// ----- finding 8: keys bound to the certificate in the state -----

#[test]
fn a_sender_key_over_a_session_with_another_identity_key_is_refused() {
    let mut crew = Crew::new(17);
    let sender = "duty@cert-cz";
    let key = crew
        .views
        .get_mut(sender)
        .unwrap()
        .own_sender_key(&mut crew.rng)
        .unwrap();
    // The relay substituted another certificate of the same user (an older device): the
    // session's identity key is not the one in the channel state.
    let other_device = crew.renewed(sender, true);
    let view = crew.views.get_mut("duty@cert-at").unwrap();
    let err = view
        .add_sender_key(
            &user(sender),
            &other_device.certificate().body().identity_key,
            &key,
        )
        .unwrap_err();
    assert!(matches!(err, ChannelError::BadSenderKey(_)), "{err}");
}

// ----- receivers judge what a change adds, not what it keeps -----

#[test]
fn a_member_who_knows_more_revocations_than_the_owner_is_not_wedged() {
    let mut crew = Crew::new(18);
    // The owner has not yet learned that duty@cert-cz was revoked and renews the channel's
    // keys; a member who knows applies it (refusing it would wedge them before the removal
    // that follows) and sends the revoked member nothing (the client checks every recipient).
    let revoked = crew.revoke(&["duty@cert-cz"], NOW);
    let rekey = crew
        .propose(
            OWNER,
            Proposal::Rekey { reason: text("x") },
            &crew.trust,
            NOW,
        )
        .unwrap();
    let mut knows = ChannelView::from_bytes(&crew.views["duty@cert-pl"].to_bytes()).unwrap();
    knows.apply(&rekey, &revoked, NOW).unwrap();
    // But an invite of a revoked member is held by whoever knows.
    let trust = crew.trust.clone();
    crew.apply_all(&rekey, &trust, NOW);
    let later = crew.revoke(&["outsider@cert-cz"], NOW);
    let invite = crew
        .propose(
            OWNER,
            Proposal::Invite(Box::new(crew.cert("outsider@cert-cz"))),
            &crew.trust,
            NOW,
        )
        .unwrap();
    let err = knows.apply(&invite, &later, NOW).unwrap_err();
    assert!(is_revoked(&err), "{err}");
}

// ----- finding 11: REL TO enforced against each member's organisation's country -----

#[test]
fn rel_to_admits_only_organisations_of_the_named_countries() {
    let mut crew = Crew::new(19);
    let rel_to = |text: &str| {
        Label::parse(
            &format!("TLP:AMBER | EU SECRET | {text}"),
            ClassificationPolicy::eu(),
        )
        .unwrap()
    };
    // CERT-PL's members are in the channel: a relabel to REL TO AT,CZ is refused, naming one.
    let err = crew
        .propose(
            OWNER,
            Proposal::Relabel(rel_to("rel to cz, at")),
            &crew.trust,
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ChannelError::Policy(vigil_protocol::channel::PolicyRefusal::NotReleasable { user, .. })
                if user.as_str().ends_with("@cert-pl")
        ),
        "{err}"
    );
    // Without them it passes, and then a CERT-PL invitee is refused whoever signs.
    let trust = crew.trust.clone();
    let removal = crew
        .propose(
            OWNER,
            remove(&["analyst@cert-pl", "duty@cert-pl"], "need to know"),
            &trust,
            NOW,
        )
        .unwrap();
    crew.apply_all(&removal, &trust, NOW);
    let relabel = crew
        .propose(
            OWNER,
            Proposal::Relabel(rel_to("REL TO AT,CZ")),
            &trust,
            NOW,
        )
        .unwrap();
    assert_eq!(
        relabel.state().label.caveats[0].as_str(),
        "REL TO AT,CZ",
        "one canonical form"
    );
    crew.apply_all(&relabel, &trust, NOW);
    let err = crew
        .propose(
            ADMIN,
            Proposal::Invite(Box::new(crew.cert("accomplice@cert-pl"))),
            &trust,
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, ChannelError::Policy(_)), "{err}");
    let mut state = crew.head().clone();
    state.members.push(crew.cert("accomplice@cert-pl"));
    state
        .members
        .sort_by(|a, b| a.body().user.cmp(&b.body().user));
    state.change = Change::Invite {
        user: user("accomplice@cert-pl"),
    };
    let forged = crew.forge(OWNER, state);
    let mut view = ChannelView::from_bytes(&crew.views["duty@cert-cz"].to_bytes()).unwrap();
    assert!(matches!(
        view.apply(&forged, &trust, NOW),
        Err(ChannelError::Policy(_))
    ));
    // A REL TO naming no assigned country is not a label at all.
    assert!(
        Label::parse(
            "TLP:AMBER | EU SECRET | REL TO UK",
            ClassificationPolicy::eu()
        )
        .is_err()
    );
}

// ----- review of the fix: held states confirmed by an author they empowered -----

#[test]
fn a_revoked_owner_cannot_promote_an_accomplice_who_then_confirms_it() {
    let mut crew = Crew::new(20);
    let revoked_at = NOW.plus_days(1);
    let revoked = crew.revoke(&[OWNER], revoked_at);
    // The thief of the owner's key, after the revocation, signs two states dated a minute
    // before it: the accomplice (a cleared partner member, valid) is invited and made admin.
    let backdated = UnixTime(revoked_at.0 - 60);
    let mut thief = ChannelView::from_bytes(&crew.views[OWNER].to_bytes()).unwrap();
    let invite = thief
        .propose(
            crew.local(OWNER),
            Proposal::Invite(Box::new(crew.cert("accomplice@cert-pl"))),
            &crew.trust,
            backdated,
        )
        .unwrap();
    thief.apply(&invite, &crew.trust, backdated).unwrap();
    let admins = Proposal::SetAdmins(vec![user(ADMIN), user("accomplice@cert-pl")]);
    let promote = thief
        .propose(crew.local(OWNER), admins, &crew.trust, backdated)
        .unwrap();
    // The accomplice, valid now, builds on them (it removes the revoked owner, as any admin
    // would, and so becomes the owner): its author is valid, so members take it as confirmed.
    let mut chain = crew.chain.clone();
    chain.extend([invite.clone(), promote.clone()]);
    let accomplice =
        ChannelView::join(&user("accomplice@cert-pl"), &chain, &crew.trust, backdated).unwrap();
    let later = NOW.plus_days(2);
    let confirm = accomplice
        .propose(
            crew.local("accomplice@cert-pl"),
            remove(&[OWNER], "revoked"),
            &revoked,
            later,
        )
        .unwrap();
    // A member who knows of the revocation must apply none of it: the revoked key signed it
    // after the revocation, and the only one vouching for it is the one it let in.
    let mut victim = ChannelView::from_bytes(&crew.views["duty@cert-pl"].to_bytes()).unwrap();
    let applied = victim.catch_up(&[invite, promote, confirm], &revoked, later);
    assert!(
        !victim.head().state().is_member(&user("accomplice@cert-pl")),
        "a revoked owner's backdated states were applied after the revocation was known: \
         {applied:?}"
    );
}

// ----- review of the fix: a state from a clock a few minutes fast -----

#[test]
fn a_state_from_a_fast_clock_is_held_until_its_time_not_refused() {
    let crew = Crew::new(21);
    // The owner's laptop clock is six minutes fast (it slept all weekend and has not synced).
    let fast = UnixTime(NOW.0 + 360);
    let rekey = crew
        .propose(
            OWNER,
            Proposal::Rekey {
                reason: text("routine"),
            },
            &crew.trust,
            fast,
        )
        .unwrap();
    let mut view = ChannelView::from_bytes(&crew.views["duty@cert-cz"].to_bytes()).unwrap();
    // Nothing is wrong with it but its time: held (a client keeps it and tries again), not
    // refused (a client drops it, and every later state of the channel with it).
    let err = view.apply(&rekey, &crew.trust, NOW).unwrap_err();
    assert!(
        matches!(err, ChannelError::Unconfirmed { version: 1, .. }),
        "{err}"
    );
    view.apply(&rekey, &crew.trust, UnixTime(NOW.0 + 60))
        .unwrap();
}

// ----- review of the fix: hostile fields in removals, admins, transfers and renewals -----

#[test]
fn changes_with_hostile_fields_are_refused_by_members() {
    let mut crew = Crew::new(22);
    let head = crew.head().clone();
    let without = |state: &ChannelState, gone: &[&str]| -> Vec<MemberCertificate> {
        state
            .members
            .iter()
            .filter(|m| !gone.contains(&m.body().user.as_str()))
            .cloned()
            .collect()
    };
    let mut forged: Vec<(&str, &str, ChannelState)> = Vec::new();
    // A removal listing a member twice, or a stranger, or nobody.
    for users in [
        vec!["duty@cert-cz", "duty@cert-cz"],
        vec!["duty@cert-cz", "outsider@cert-cz"],
        vec![],
    ] {
        let mut s = head.clone();
        s.members = without(&head, &users);
        s.epoch += 1;
        s.change = Change::Remove {
            users: users.iter().map(|u| user(u)).collect(),
            reason: text("x"),
        };
        forged.push(("removal with a bad list", OWNER, s));
    }
    // A removal that removes someone it does not name.
    let mut s = head.clone();
    s.members = without(&head, &["duty@cert-cz", "duty@cert-pl"]);
    s.epoch += 1;
    s.change = Change::Remove {
        users: vec![user("duty@cert-cz")],
        reason: text("x"),
    };
    forged.push(("removal of more than it names", OWNER, s));
    // A takeover that hands the channel to someone other than its author.
    let mut s = head.clone();
    s.members = without(&head, &[OWNER]);
    s.owner = user("duty@cert-pl");
    s.admins = vec![];
    s.epoch += 1;
    s.change = Change::Remove {
        users: vec![user(OWNER)],
        reason: text("x"),
    };
    forged.push(("takeover for a third member", ADMIN, s));
    // Admins who are not members.
    let mut s = head.clone();
    s.admins = vec![user(ADMIN), user("outsider@cert-cz")];
    s.change = Change::SetAdmins;
    forged.push(("admins who are not members", OWNER, s));
    // Admins named by an admin.
    let mut s = head.clone();
    s.admins = vec![user(ADMIN), user("duty@cert-pl")];
    s.change = Change::SetAdmins;
    forged.push(("admins named by an admin", ADMIN, s));
    // Transfers: to a stranger, to the owner, by an admin, with other changes.
    for (to, author, extra) in [
        ("outsider@cert-cz", OWNER, false),
        (OWNER, OWNER, false),
        (ADMIN, ADMIN, false),
        ("duty@cert-pl", OWNER, true),
    ] {
        let mut s = head.clone();
        s.owner = user(to);
        s.admins.retain(|a| a != &user(to));
        if extra {
            s.admins.push(user("duty@cert-cz"));
            s.admins.sort();
        }
        s.change = Change::Transfer { to: user(to) };
        forged.push(("bad transfer", author, s));
    }
    // Renewals: a member's certificate swapped for another user's, or for an older one of theirs.
    let mut s = head.clone();
    s.members = without(&head, &["duty@cert-pl"]);
    s.members.push(crew.cert("accomplice@cert-pl"));
    s.members.sort_by(|a, b| a.body().user.cmp(&b.body().user));
    s.change = Change::Renew {
        user: user("duty@cert-pl"),
    };
    forged.push(("renewal with another user's certificate", OWNER, s));
    let newer = crew.renewed("duty@cert-pl", true);
    let renew = crew
        .propose(
            OWNER,
            Proposal::Renew(Box::new(newer.certificate().clone())),
            &crew.trust,
            NOW,
        )
        .unwrap();
    let trust = crew.trust.clone();
    crew.apply_all(&renew, &trust, NOW);
    crew.members.insert("duty@cert-pl".to_owned(), newer);
    let head = crew.head().clone();
    let mut s = head.clone();
    let older = crew.chain[0]
        .state()
        .member(&user("duty@cert-pl"))
        .unwrap()
        .clone();
    s.members = without(&head, &["duty@cert-pl"]);
    s.members.push(older);
    s.members.sort_by(|a, b| a.body().user.cmp(&b.body().user));
    s.epoch += 1;
    s.change = Change::Renew {
        user: user("duty@cert-pl"),
    };
    forged.push(("renewal back to an older certificate", OWNER, s));
    for (what, author, state) in forged {
        let signed = crew.forge(author, state);
        let mut view = ChannelView::from_bytes(&crew.views["duty@cert-at"].to_bytes()).unwrap();
        let err = view.apply(&signed, &crew.trust, NOW).unwrap_err();
        assert!(
            matches!(err, ChannelError::Malformed(_) | ChannelError::Policy(_)),
            "{what}: {err}"
        );
    }
}

// ----- finding 12: a rolled-back store never repeats a (key, nonce) pair -----

#[test]
fn a_sender_chain_restored_from_a_rolled_back_store_never_repeats_a_nonce() {
    let mut crew = Crew::new(20);
    let sender = "duty@cert-cz";
    let view = crew.views.get_mut(sender).unwrap();
    view.own_sender_key(&mut crew.rng).unwrap();
    // The thief copies the store, lets the member write, then puts the copy back.
    let copy = view.to_bytes();
    let first = view.seal(&mut crew.rng, b"the first text").unwrap();
    let mut restored = ChannelView::from_bytes(&copy).unwrap();
    let second = restored.seal(&mut crew.rng, b"another text!!").unwrap();
    // Same chain position, so the same message key, but never the same nonce: the two
    // ciphertexts do not XOR to the XOR of the plaintexts.
    assert_eq!(first.header.counter, second.header.counter);
    assert_ne!(first.nonce, second.nonce);
    let xor = |a: &[u8], b: &[u8]| a.iter().zip(b).map(|(x, y)| x ^ y).collect::<Vec<u8>>();
    assert_ne!(
        xor(&first.ciphertext, &second.ciphertext),
        xor(b"the first text", b"another text!!")
    );
}

// ----- review of the fix: members keep sealing in the epoch a revoked key holds -----

#[test]
fn a_rotated_sender_key_closes_the_epoch_to_a_member_who_did_not_get_it() {
    let mut crew = Crew::new(22);
    let sender = "duty@cert-cz";
    let identity = crew.cert(sender).body().identity_key;
    let first = crew
        .views
        .get_mut(sender)
        .unwrap()
        .own_sender_key(&mut crew.rng)
        .unwrap();
    for reader in ["duty@cert-at", "duty@cert-pl"] {
        crew.views
            .get_mut(reader)
            .unwrap()
            .add_sender_key(&user(sender), &identity, &first)
            .unwrap();
    }
    // The sender learns duty@cert-pl is revoked: a new generation, for duty@cert-at only.
    let second = crew
        .views
        .get_mut(sender)
        .unwrap()
        .rotate_own_sender_key(&mut crew.rng)
        .unwrap();
    assert_eq!((second.epoch, second.generation), (first.epoch, 1));
    crew.views
        .get_mut("duty@cert-at")
        .unwrap()
        .add_sender_key(&user(sender), &identity, &second)
        .unwrap();
    let message = crew
        .views
        .get_mut(sender)
        .unwrap()
        .seal(&mut crew.rng, b"after the rotation")
        .unwrap();
    assert_eq!(message.header.generation, 1);
    let reader = crew.views.get_mut("duty@cert-at").unwrap();
    assert_eq!(
        reader.open(&message, NOW).unwrap().plaintext,
        b"after the rotation"
    );
    let revoked = crew.views.get_mut("duty@cert-pl").unwrap();
    assert!(matches!(
        revoked.open(&message, NOW),
        Err(ChannelError::MissingSenderKey { .. })
    ));
    // A second key for a generation already held is refused; generations older than those
    // kept are refused too.
    let mut forged = second.clone();
    forged.signing_key = crew.cert("duty@cert-at").body().identity_key;
    let reader = crew.views.get_mut("duty@cert-at").unwrap();
    assert!(matches!(
        reader.add_sender_key(&user(sender), &identity, &forged),
        Err(ChannelError::BadSenderKey(_))
    ));
    let view = crew.views.get_mut(sender).unwrap();
    let third = view.rotate_own_sender_key(&mut crew.rng).unwrap();
    let reader = crew.views.get_mut("duty@cert-at").unwrap();
    reader
        .add_sender_key(&user(sender), &identity, &third)
        .unwrap();
    assert!(matches!(
        reader.add_sender_key(&user(sender), &identity, &first),
        Err(ChannelError::BadSenderKey(_))
    ));
}

// ----- the chain in compact form: what an invitee is sent -----

#[test]
fn a_compact_chain_rebuilds_exactly_the_signed_states_and_nothing_else() {
    let mut crew = Crew::new(23);
    let trust = crew.trust.clone();
    let renewed = crew.renewed("duty@cert-pl", true);
    let steps = [
        remove(&["analyst@cert-pl"], "need to know"),
        Proposal::Renew(Box::new(renewed.certificate().clone())),
        Proposal::Invite(Box::new(crew.cert("outsider@cert-cz"))),
        Proposal::Transfer(user(ADMIN)),
    ];
    for (i, proposal) in steps.into_iter().enumerate() {
        let author = if i == 3 { OWNER } else { ADMIN };
        let state = crew.propose(author, proposal, &trust, NOW).unwrap();
        crew.apply_all(&state, &trust, NOW);
    }
    let compact = vigil_protocol::channel::compact_chain(None, &crew.chain);
    let full: usize = crew.chain.iter().map(|s| s.to_bytes().len()).sum();
    let small: usize = compact
        .iter()
        .map(|c| vigil_protocol::codec::encode(c).len())
        .sum();
    assert!(small < full, "compact {small} bytes, full {full}");
    let rebuilt = vigil_protocol::channel::expand_chain(None, &compact).unwrap();
    assert_eq!(rebuilt, crew.chain);
    // A compact state whose added certificate was swapped rebuilds a state nobody signed.
    let mut tampered = compact.clone();
    let invite = tampered.iter().position(|c| c.version() == 3).unwrap();
    let bytes = vigil_protocol::codec::encode(&tampered[invite]);
    let swapped = {
        let original = crew.cert("outsider@cert-cz").to_bytes();
        let other = crew.cert("accomplice@cert-pl").to_bytes();
        let hex_bytes = hex::encode(&bytes);
        let (o, t) = (hex::encode(&original[1..]), hex::encode(&other[1..]));
        assert!(
            hex_bytes.contains(&o),
            "the invitee's certificate is in its compact state"
        );
        hex::decode(hex_bytes.replace(&o, &t)).unwrap()
    };
    tampered[invite] = vigil_protocol::codec::decode(&swapped).unwrap();
    let forged = vigil_protocol::channel::expand_chain(None, &tampered).unwrap();
    assert!(
        forged[invite]
            .state()
            .is_member(&user("accomplice@cert-pl"))
    );
    let err = ChannelView::join(&user("duty@cert-cz"), &forged, &trust, NOW).unwrap_err();
    assert!(
        matches!(err, ChannelError::BadStateSignature { .. }),
        "{err}"
    );
}

// ----- second review: a compact history is small to send, its rebuilt states are not -----

/// A "history" anyone can send an invitee in one message: a creation listing 400 members (copies
/// of one certificate: nothing is checked before the chain is rebuilt) and 600 changes that add
/// nobody. Each change is a few hundred bytes in compact form and 400 certificates rebuilt.
fn amplifying_history(crew: &Crew) -> Vec<vigil_protocol::channel::CompactState> {
    let mut creation = crew.chain[0].state().clone();
    creation.members = vec![crew.cert("duty@cert-pl"); 400];
    let mut chain = vec![SignedChannelState::sign(crew.local(OWNER), creation)];
    for version in 1..=600u64 {
        let before = chain.last().unwrap();
        let mut next = before.state().clone();
        next.version = version;
        next.epoch = version;
        next.previous = Some(before.hash());
        next.change = Change::Rekey { reason: text("r") };
        chain.push(SignedChannelState::sign(crew.local(OWNER), next));
    }
    vigil_protocol::channel::compact_chain(None, &chain)
}

#[test]
fn a_compact_history_of_one_message_cannot_rebuild_into_tens_of_megabytes() {
    let crew = Crew::new(24);
    let compact = amplifying_history(&crew);
    let sent = vigil_protocol::codec::encode(&vigil_protocol::content::History {
        states: compact.clone(),
    })
    .len();
    assert!(sent <= vigil_protocol::content::MAX_HISTORY_BYTES);
    // Rebuilt before anything is verified, on every try to join: the receiver would hold the
    // product of changes and members (here some 50 MB for 200 KB; with a message's 512 KiB and
    // a few hundred of them parked, gigabytes), so it must be refused past a bound.
    let rebuilt = vigil_protocol::channel::expand_chain(None, &compact);
    let bytes: usize = rebuilt
        .as_ref()
        .map_or(0, |states| states.iter().map(|s| s.to_bytes().len()).sum());
    assert!(
        bytes <= 16 * 1024 * 1024,
        "{sent} bytes sent rebuilt into {bytes} bytes"
    );
    assert!(matches!(
        rebuilt,
        Err(ChannelError::HistoryTooLarge { max_bytes }) if max_bytes == MAX_REBUILT_BYTES
    ));
    // A caller bounding several histories together gives what is left of its budget.
    let (states, used) =
        vigil_protocol::channel::expand_chain_within(None, &compact[..10], MAX_REBUILT_BYTES)
            .unwrap();
    assert_eq!(
        used,
        states.iter().map(|s| s.to_bytes().len()).sum::<usize>()
    );
    assert!(matches!(
        vigil_protocol::channel::expand_chain_within(None, &compact[..10], used - 1),
        Err(ChannelError::HistoryTooLarge { .. })
    ));
}

// ----- second review: vouching by a base admin's user id, not their certificate -----

#[test]
fn a_revoked_owner_cannot_swap_in_another_certificate_of_an_admin_to_vouch_for_it() {
    let mut crew = Crew::new(25);
    let revoked_at = NOW.plus_days(1);
    let revoked = crew.revoke(&[OWNER], revoked_at);
    // The thief holds the owner's revoked key and the key of another valid certificate of the
    // admin (a second laptop's not yet revoked, or one minted with their organisation's
    // stolen root): neither alone changes anything a member who knows applies.
    let second = crew.renewed(ADMIN, true);
    let backdated = UnixTime(revoked_at.0 - 60);
    let mut thief = ChannelView::from_bytes(&crew.views[OWNER].to_bytes()).unwrap();
    let swap = thief
        .propose(
            crew.local(OWNER),
            Proposal::Renew(Box::new(second.certificate().clone())),
            &crew.trust,
            backdated,
        )
        .unwrap();
    thief.apply(&swap, &crew.trust, backdated).unwrap();
    let later = NOW.plus_days(2);
    let takeover = thief
        .propose(&second.local, remove(&[OWNER], "revoked"), &revoked, later)
        .unwrap();
    let mut victim = ChannelView::from_bytes(&crew.views["duty@cert-pl"].to_bytes()).unwrap();
    let applied = victim.catch_up(&[swap, takeover], &revoked, later);
    assert_eq!(
        victim.head().state().member(&user(ADMIN)),
        Some(&crew.cert(ADMIN)),
        "the revoked owner's backdated swap was vouched for by the certificate it swapped in: \
         {applied:?}"
    );
}
