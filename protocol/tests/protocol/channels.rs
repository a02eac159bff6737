//! Group channels: labels enforced at every state, Sender Keys, and a relay that lies.
//! Each attack of the issue is its own test; the relay is the adversary throughout.

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use vigil_protocol::channel::{
    Change, ChannelError, ChannelView, GroupMessage, PolicyRefusal, Proposal, SignedChannelState,
    rules,
};
use vigil_protocol::label::{Label, Tlp};
use vigil_protocol::message::Envelope;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::{Session, TrustStore, UserId};

use crate::fixtures::{Member, NOW, Org, rng, trust};

fn label(text: &str) -> Label {
    Label::parse(text, ClassificationPolicy::eu()).unwrap()
}

fn user(name: &str) -> UserId {
    name.parse().unwrap()
}

/// Two national teams, with clearances, and the members' channel views.
struct Team {
    rng: ChaCha20Rng,
    trust: TrustStore,
    members: BTreeMap<String, Member>,
    views: BTreeMap<String, ChannelView>,
    /// Every state applied, from the creation: what an invitee is given to verify.
    chain: Vec<SignedChannelState>,
}

impl Team {
    fn new(seed: u64) -> Self {
        let mut rng = rng(seed);
        let mut at = Org::new(&mut rng, "CERT-AT");
        let mut cz = Org::new(&mut rng, "CERT-CZ");
        let mut members = BTreeMap::new();
        for (name, level) in [
            ("lead@cert-at", 4),
            ("admin@cert-at", 3),
            ("officer1@cert-at", 3),
            ("officer2@cert-at", 3),
            ("officer1@cert-cz", 3),
            ("officer2@cert-cz", 1),
        ] {
            let org = if name.ends_with("cert-at") {
                &mut at
            } else {
                &mut cz
            };
            members.insert(name.to_owned(), org.member_cleared(&mut rng, name, level));
        }
        let trust = trust(&[&at, &cz]);
        Self {
            rng,
            trust,
            members,
            views: BTreeMap::new(),
            chain: Vec::new(),
        }
    }

    fn cert(&self, name: &str) -> vigil_protocol::MemberCertificate {
        self.members[name].certificate().clone()
    }

    fn identity(&self, name: &str) -> vigil_protocol::keys::IdentityPublicKey {
        self.cert(name).body().identity_key
    }

    /// `lead@cert-at` creates a channel with `names` (and `admin@cert-at` as admin when in it);
    /// every member starts their view from the creation state.
    fn create(
        &mut self,
        label_text: &str,
        names: &[&str],
    ) -> Result<SignedChannelState, ChannelError> {
        let certs = names.iter().map(|n| self.cert(n)).collect();
        let admins = if names.contains(&"admin@cert-at") {
            vec![user("admin@cert-at")]
        } else {
            vec![]
        };
        let (view, created) = ChannelView::create(
            &mut self.rng,
            &self.members["lead@cert-at"].local,
            "incident-2026-11-27".parse().unwrap(),
            label(label_text),
            certs,
            admins,
            &self.trust,
            NOW,
        )?;
        self.views.insert("lead@cert-at".to_owned(), view);
        self.chain = vec![created.clone()];
        for name in names.iter().filter(|n| **n != "lead@cert-at") {
            let view = ChannelView::join(&user(name), &self.chain, &self.trust, NOW).unwrap();
            self.views.insert((*name).to_owned(), view);
        }
        Ok(created)
    }

    fn propose(
        &self,
        author: &str,
        proposal: Proposal,
    ) -> Result<SignedChannelState, ChannelError> {
        self.views[author].propose(&self.members[author].local, proposal, &self.trust, NOW)
    }

    /// Applies `state` at every current view (a joining invitee starts from it).
    fn apply_all(&mut self, state: &SignedChannelState) {
        self.chain.push(state.clone());
        if let Change::Invite { user: invited } = &state.state().change {
            let view = ChannelView::join(invited, &self.chain, &self.trust, NOW).unwrap();
            self.views.insert(invited.to_string(), view);
        }
        for (name, view) in &mut self.views {
            if view.head() != state {
                view.apply(state, &self.trust, NOW)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    }

    /// Every member sends their current sender key to every other (as over 1:1 sessions).
    fn distribute(&mut self) {
        let names: Vec<String> = self.views.keys().cloned().collect();
        for from in &names {
            if !self.views[from].is_member() {
                continue;
            }
            let key = self
                .views
                .get_mut(from)
                .unwrap()
                .own_sender_key(&mut self.rng)
                .unwrap();
            let identity = self.identity(from);
            for to in names.iter().filter(|to| *to != from) {
                if self.views[to].is_member() {
                    self.views
                        .get_mut(to)
                        .unwrap()
                        .add_sender_key(&user(from), &identity, &key)
                        .unwrap();
                }
            }
        }
    }

    fn send(&mut self, from: &str, text: &str) -> GroupMessage {
        self.views
            .get_mut(from)
            .unwrap()
            .seal(&mut self.rng, text.as_bytes())
            .unwrap()
    }

    fn open(&mut self, at: &str, message: &GroupMessage) -> Result<Vec<u8>, ChannelError> {
        self.views
            .get_mut(at)
            .unwrap()
            .open(message, NOW)
            .map(|p| p.plaintext)
    }
}

const FOUR: [&str; 4] = [
    "lead@cert-at",
    "admin@cert-at",
    "officer1@cert-at",
    "officer1@cert-cz",
];

fn talking(seed: u64, label_text: &str) -> Team {
    let mut team = Team::new(seed);
    team.create(label_text, &FOUR).unwrap();
    team.distribute();
    team
}

#[test]
fn members_talk_and_everyone_reads_everyone() {
    let mut team = talking(1, "TLP:AMBER | EU SECRET");
    for from in FOUR {
        let message = team.send(from, &format!("hello from {from}"));
        for to in FOUR.iter().filter(|t| **t != from) {
            assert_eq!(
                team.open(to, &message).unwrap(),
                format!("hello from {from}").as_bytes()
            );
        }
    }
}

#[test]
fn an_uncleared_member_is_refused_at_creation_with_a_readable_reason() {
    let mut team = Team::new(2);
    let err = team
        .create(
            "TLP:AMBER | EU SECRET",
            &["lead@cert-at", "officer2@cert-cz"],
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "officer2@cert-cz has clearance EU RESTRICTED; channel requires EU SECRET"
    );
    assert!(matches!(
        err,
        ChannelError::Policy(PolicyRefusal::InsufficientClearance { .. })
    ));
}

#[test]
fn an_uncleared_member_can_never_be_added_whoever_signs() {
    let mut team = talking(3, "TLP:AMBER | EU SECRET");
    // Proposed honestly: refused before signing.
    let err = team
        .propose(
            "lead@cert-at",
            Proposal::Invite(Box::new(team.cert("officer2@cert-cz"))),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::Policy(PolicyRefusal::InsufficientClearance { .. })
        ),
        "{err}"
    );
    // Signed anyway by the owner, bypassing the checks: every member refuses it.
    let view = &team.views["lead@cert-at"];
    let mut next = view.head().state().clone();
    next.version += 1;
    next.previous = Some(view.head().hash());
    next.members.push(team.cert("officer2@cert-cz"));
    next.members
        .sort_by(|a, b| a.body().user.cmp(&b.body().user));
    next.change = Change::Invite {
        user: user("officer2@cert-cz"),
    };
    let forged = SignedChannelState::sign(&team.members["lead@cert-at"].local, next);
    for name in FOUR {
        let err = team
            .views
            .get_mut(name)
            .unwrap()
            .apply(&forged, &team.trust, NOW)
            .unwrap_err();
        assert!(
            matches!(
                err,
                ChannelError::Policy(PolicyRefusal::InsufficientClearance { .. })
            ),
            "{name}: {err}"
        );
    }
    let mut chain = team.chain.clone();
    chain.push(forged);
    let err = ChannelView::join(&user("officer2@cert-cz"), &chain, &team.trust, NOW).unwrap_err();
    assert!(matches!(
        err,
        ChannelError::Policy(PolicyRefusal::InsufficientClearance { .. })
    ));
}

#[test]
fn amber_strict_admits_only_the_owners_organisation() {
    let mut team = Team::new(4);
    let err = team
        .create(
            "TLP:AMBER+STRICT | EU CONFIDENTIAL",
            &["lead@cert-at", "officer1@cert-cz"],
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::Policy(PolicyRefusal::OutsideOwnerOrg { .. })
        ),
        "{err}"
    );
    team.create(
        "TLP:AMBER+STRICT | EU CONFIDENTIAL",
        &["lead@cert-at", "officer1@cert-at"],
    )
    .unwrap();
    let err = team
        .propose(
            "lead@cert-at",
            Proposal::Invite(Box::new(team.cert("officer1@cert-cz"))),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::Policy(PolicyRefusal::OutsideOwnerOrg { .. })
        ),
        "{err}"
    );
}

#[test]
fn raising_is_an_admin_change_lowering_only_the_owners() {
    let mut team = talking(5, "TLP:AMBER | EU CONFIDENTIAL");
    let raised = team
        .propose(
            "admin@cert-at",
            Proposal::Relabel(label("TLP:RED | EU SECRET")),
        )
        .unwrap();
    team.apply_all(&raised);
    assert_eq!(team.views["officer1@cert-cz"].label().tlp, Tlp::Red);
    let err = team
        .propose(
            "admin@cert-at",
            Proposal::Relabel(label("TLP:AMBER | EU SECRET")),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::Policy(PolicyRefusal::LoweringByNonOwner { .. })
        ),
        "{err}"
    );
    let err = team
        .propose(
            "officer1@cert-at",
            Proposal::Relabel(label("TLP:RED | EU TOP SECRET")),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::Policy(PolicyRefusal::NotAuthorized { .. })
        ),
        "{err}"
    );
    let lowered = team
        .propose(
            "lead@cert-at",
            Proposal::Relabel(label("TLP:GREEN | EU SECRET")),
        )
        .unwrap();
    team.apply_all(&lowered);
    assert_eq!(
        team.views["officer1@cert-at"].head().state().change,
        Change::Relabel
    );
    // Raising above a member's clearance is refused: every member must stay cleared.
    let err = team
        .propose(
            "lead@cert-at",
            Proposal::Relabel(label("TLP:GREEN | EU TOP SECRET")),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::Policy(PolicyRefusal::InsufficientClearance { .. })
        ),
        "{err}"
    );
}

#[test]
fn only_the_owner_names_admins() {
    let team = talking(6, "TLP:GREEN | UNCLASSIFIED");
    let err = team
        .propose(
            "admin@cert-at",
            Proposal::SetAdmins(vec![user("officer1@cert-at")]),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::Policy(PolicyRefusal::NotAuthorized { .. })
        ),
        "{err}"
    );
    team.propose(
        "lead@cert-at",
        Proposal::SetAdmins(vec![user("officer1@cert-at")]),
    )
    .unwrap();
}

#[test]
fn red_channels_refuse_export_and_give_joiners_no_history() {
    let mut team = talking(7, "TLP:RED | EU SECRET");
    assert!(!team.views["lead@cert-at"].label().history_for_joiners());
    assert_eq!(
        rules::check_export(team.views["lead@cert-at"].label()),
        Err(PolicyRefusal::RedNoExport)
    );
    let before = team.send("lead@cert-at", "before officer2 joined");
    let invite = team
        .propose(
            "lead@cert-at",
            Proposal::Invite(Box::new(team.cert("officer2@cert-at"))),
        )
        .unwrap();
    team.apply_all(&invite);
    team.distribute();
    // The joiner holds only the current chain positions: earlier messages stay closed.
    let err = team.open("officer2@cert-at", &before).unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::UnknownState { .. } | ChannelError::Replayed { .. }
        ),
        "{err}"
    );
    let after = team.send("lead@cert-at", "after");
    assert_eq!(team.open("officer2@cert-at", &after).unwrap(), b"after");
}

#[test]
fn a_removed_member_reads_nothing_sent_after_removal() {
    let mut team = talking(8, "TLP:AMBER | EU SECRET");
    let removal = team
        .propose(
            "admin@cert-at",
            Proposal::Remove {
                users: vec![user("officer1@cert-cz")],
                reason: "left the incident".parse().unwrap(),
            },
        )
        .unwrap();
    team.apply_all(&removal);
    assert!(!team.views["officer1@cert-cz"].is_member());
    team.distribute();
    let secret = team.send("lead@cert-at", "after removal");
    assert_eq!(
        team.open("officer1@cert-at", &secret).unwrap(),
        b"after removal"
    );
    let err = team.open("officer1@cert-cz", &secret).unwrap_err();
    assert_eq!(err, ChannelError::NotMember);
    // The message is of the new epoch, whose keys went only to the remaining members; the
    // removed view can neither make nor receive keys for it.
    assert_eq!(secret.header.epoch, 1);
    let removed = team.views.get_mut("officer1@cert-cz").unwrap();
    assert_eq!(
        removed.own_sender_key(&mut team.rng).unwrap_err(),
        ChannelError::NotMember
    );
    assert_eq!(
        removed.seal(&mut team.rng, b"still here?").unwrap_err(),
        ChannelError::NotMember
    );
}

#[test]
fn relay_injects_a_member_into_the_state() {
    let mut team = talking(9, "TLP:AMBER | EU SECRET");
    let honest = team
        .propose(
            "lead@cert-at",
            Proposal::Rekey {
                reason: "routine".parse().unwrap(),
            },
        )
        .unwrap();
    // The relay adds its own member to a signed state: the signature no longer verifies.
    let mut state = honest.state().clone();
    state.members.push(team.cert("officer2@cert-at"));
    state
        .members
        .sort_by(|a, b| a.body().user.cmp(&b.body().user));
    let mut accomplice = state.clone();
    accomplice.author = user("officer1@cert-at");
    let tampered = SignedChannelState::sign(&team.members["officer1@cert-at"].local, accomplice);
    let err = team
        .views
        .get_mut("officer1@cert-at")
        .unwrap()
        .apply(&tampered, &team.trust, NOW)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::Policy(PolicyRefusal::NotAuthorized { .. })
        ),
        "{err}"
    );
    // Re-using the owner's name as author does not help: the signature is not the owner's.
    state.author = user("lead@cert-at");
    let forged = SignedChannelState::sign(&team.members["officer2@cert-at"].local, state);
    let err = team
        .views
        .get_mut("officer1@cert-at")
        .unwrap()
        .apply(&forged, &team.trust, NOW)
        .unwrap_err();
    assert!(
        matches!(err, ChannelError::BadStateSignature { .. }),
        "{err}"
    );
    // And the injected member cannot join from it either.
    let mut chain = team.chain.clone();
    chain.push(forged);
    assert!(ChannelView::join(&user("officer2@cert-at"), &chain, &team.trust, NOW).is_err());
}

#[test]
fn relay_replays_an_old_state() {
    let mut team = Team::new(10);
    let created = team.create("TLP:AMBER | EU SECRET", &FOUR).unwrap();
    let rekey = team
        .propose(
            "lead@cert-at",
            Proposal::Rekey {
                reason: "x".parse().unwrap(),
            },
        )
        .unwrap();
    team.apply_all(&rekey);
    let view = team.views.get_mut("officer1@cert-at").unwrap();
    assert_eq!(
        view.apply(&created, &team.trust, NOW),
        Err(ChannelError::StaleState {
            current: 1,
            offered: 0
        })
    );
    assert_eq!(
        view.apply(&rekey, &team.trust, NOW),
        Err(ChannelError::StaleState {
            current: 1,
            offered: 1
        })
    );
}

#[test]
fn relay_forks_the_view_and_the_other_side_is_rejected() {
    let mut team = talking(11, "TLP:AMBER | EU SECRET");
    // Owner and admin change the channel at the same time; the relay shows each change to a
    // different half of the channel.
    let a = team
        .propose(
            "lead@cert-at",
            Proposal::Rekey {
                reason: "a".parse().unwrap(),
            },
        )
        .unwrap();
    let b = team
        .propose(
            "admin@cert-at",
            Proposal::Rekey {
                reason: "b".parse().unwrap(),
            },
        )
        .unwrap();
    for (name, state) in [
        ("lead@cert-at", &a),
        ("officer1@cert-at", &a),
        ("admin@cert-at", &b),
        ("officer1@cert-cz", &b),
    ] {
        team.views
            .get_mut(name)
            .unwrap()
            .apply(state, &team.trust, NOW)
            .unwrap();
    }
    team.distribute_within(&["lead@cert-at", "officer1@cert-at"]);
    team.distribute_within(&["admin@cert-at", "officer1@cert-cz"]);
    let from_a = team.send("lead@cert-at", "side a");
    assert_eq!(team.open("officer1@cert-at", &from_a).unwrap(), b"side a");
    let err = team.open("officer1@cert-cz", &from_a).unwrap_err();
    assert!(matches!(err, ChannelError::UnknownState { .. }), "{err}");
    let from_b = team.send("admin@cert-at", "side b");
    let err = team.open("officer1@cert-at", &from_b).unwrap_err();
    assert!(matches!(err, ChannelError::UnknownState { .. }), "{err}");
    // The other side's state does not apply on top of ours either.
    let err = team
        .views
        .get_mut("officer1@cert-at")
        .unwrap()
        .apply(&b, &team.trust, NOW)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::StaleState { .. } | ChannelError::NotNext { .. }
        ),
        "{err}"
    );
}

impl Team {
    fn distribute_within(&mut self, names: &[&str]) {
        for from in names {
            let key = self
                .views
                .get_mut(*from)
                .unwrap()
                .own_sender_key(&mut self.rng)
                .unwrap();
            let identity = self.identity(from);
            for to in names.iter().filter(|to| *to != from) {
                self.views
                    .get_mut(*to)
                    .unwrap()
                    .add_sender_key(&user(from), &identity, &key)
                    .unwrap();
            }
        }
    }
}

#[test]
fn relay_changes_the_label_in_transit() {
    let mut team = talking(12, "TLP:RED | EU SECRET");
    let mut message = team.send("lead@cert-at", "IOC list");
    message.header.label = label("TLP:CLEAR | UNCLASSIFIED");
    assert_eq!(
        team.open("officer1@cert-at", &message),
        Err(ChannelError::LabelMismatch)
    );
    // Lowering only the level, or adding a caveat, is caught the same way.
    let mut level = team.send("lead@cert-at", "IOC list 2");
    level.header.label.level.level = 1;
    assert_eq!(
        team.open("officer1@cert-at", &level),
        Err(ChannelError::LabelMismatch)
    );
    let mut caveat = team.send("lead@cert-at", "IOC list 3");
    caveat
        .header
        .label
        .caveats
        .push("REL TO ALL".parse().unwrap());
    assert_eq!(
        team.open("officer1@cert-at", &caveat),
        Err(ChannelError::LabelMismatch)
    );
}

#[test]
fn relay_replays_a_channel_message() {
    let mut team = talking(13, "TLP:AMBER | EU SECRET");
    let message = team.send("officer1@cert-cz", "once");
    assert_eq!(team.open("lead@cert-at", &message).unwrap(), b"once");
    let err = team.open("lead@cert-at", &message).unwrap_err();
    assert!(
        matches!(err, ChannelError::Replayed { counter: 0, .. }),
        "{err}"
    );
}

#[test]
fn relay_delivers_a_removed_members_old_key_message_after_removal() {
    let mut team = talking(14, "TLP:AMBER | EU SECRET");
    let late = team.send(
        "officer1@cert-cz",
        "written before removal, held back by the relay",
    );
    let removal = team
        .propose(
            "lead@cert-at",
            Proposal::Remove {
                users: vec![user("officer1@cert-cz")],
                reason: "certificate revoked".parse().unwrap(),
            },
        )
        .unwrap();
    team.apply_all(&removal);
    let err = team.open("officer1@cert-at", &late).unwrap_err();
    assert!(matches!(err, ChannelError::SenderNotMember { .. }), "{err}");
}

#[test]
fn relay_swaps_the_sender_identity() {
    let mut team = talking(15, "TLP:AMBER | EU SECRET");
    let mut message = team.send("officer1@cert-cz", "from cz");
    message.header.sender = user("lead@cert-at");
    let err = team.open("officer1@cert-at", &message).unwrap_err();
    assert!(
        matches!(err, ChannelError::BadMessageSignature { .. }),
        "{err}"
    );
}

#[test]
fn relay_drops_messages_and_the_gap_is_reported() {
    let mut team = talking(16, "TLP:AMBER | EU SECRET");
    let first = team.send("lead@cert-at", "0");
    let dropped = team.send("lead@cert-at", "1");
    let _also_dropped = team.send("lead@cert-at", "2");
    let third = team.send("lead@cert-at", "3");
    let view = team.views.get_mut("officer1@cert-at").unwrap();
    assert_eq!(view.open(&first, NOW).unwrap().missing, None);
    let opened = view.open(&third, NOW).unwrap();
    assert_eq!(opened.missing, Some(1..3));
    // A late arrival fills the gap; a duplicate does not open twice.
    assert_eq!(view.open(&dropped, NOW).unwrap().plaintext, b"1");
    assert!(matches!(
        view.open(&dropped, NOW),
        Err(ChannelError::Replayed { .. })
    ));
}

#[test]
fn tampered_ciphertext_and_gap_over_the_limit_are_refused() {
    let mut team = talking(17, "TLP:AMBER | EU SECRET");
    let mut message = team.send("lead@cert-at", "x");
    message.ciphertext[0] ^= 1;
    assert!(matches!(
        team.open("admin@cert-at", &message),
        Err(ChannelError::BadMessageSignature { .. })
    ));
    let mut far = Vec::new();
    for _ in 0..=vigil_protocol::channel::MAX_GROUP_GAP + 1 {
        far.push(team.send("lead@cert-at", "y"));
    }
    let err = team.open("admin@cert-at", far.last().unwrap()).unwrap_err();
    assert!(matches!(err, ChannelError::GapTooLarge { .. }), "{err}");
}

#[test]
fn messages_need_a_sender_key_and_keys_must_come_from_their_owner() {
    let mut team = Team::new(18);
    team.create("TLP:AMBER | EU SECRET", &FOUR).unwrap();
    let key = team
        .views
        .get_mut("lead@cert-at")
        .unwrap()
        .own_sender_key(&mut team.rng)
        .unwrap();
    let message = team.send("lead@cert-at", "early");
    let (lead_key, admin_key) = (
        team.identity("lead@cert-at"),
        team.identity("admin@cert-at"),
    );
    let view = team.views.get_mut("officer1@cert-at").unwrap();
    assert!(matches!(
        view.open(&message, NOW),
        Err(ChannelError::MissingSenderKey { .. })
    ));
    // A key relayed by someone else than its owner is refused.
    assert!(matches!(
        view.add_sender_key(&user("admin@cert-at"), &admin_key, &key),
        Err(ChannelError::BadSenderKey(_))
    ));
    view.add_sender_key(&user("lead@cert-at"), &lead_key, &key)
        .unwrap();
    assert_eq!(view.open(&message, NOW).unwrap().plaintext, b"early");
    // A second, different key for the same sender and epoch is refused.
    let mut other = Team::new(18);
    other.create("TLP:AMBER | EU SECRET", &FOUR).unwrap();
    let mut impostor = key.clone();
    impostor.signing_key = other.members["officer2@cert-at"].local.identity().public();
    assert!(matches!(
        view.add_sender_key(&user("lead@cert-at"), &lead_key, &impostor),
        Err(ChannelError::BadSenderKey(_))
    ));
}

#[test]
fn revoked_members_are_listed_refused_in_new_states_and_removed_into_a_new_epoch() {
    let mut team = talking(19, "TLP:AMBER | EU SECRET");
    let serial = team.cert("officer1@cert-cz").body().serial;
    // CERT-CZ revokes its officer (the test holds CZ's list through the AT fixture's trust).
    let _ = serial;
    let revoked_trust = {
        let mut r = rng(19);
        let _at = Org::new(&mut r, "CERT-AT");
        let cz = Org::new(&mut r, "CERT-CZ");
        let mut t = team.trust.clone();
        let list = vigil_protocol::RevocationList::sign(
            &cz.key,
            vigil_protocol::cert::RevocationListBody {
                org: "CERT-CZ".parse().unwrap(),
                version: 1,
                issued_at: NOW,
                entries: vec![vigil_protocol::RevokedCertificate {
                    serial: team.cert("officer1@cert-cz").body().serial,
                    user: user("officer1@cert-cz"),
                    revoked_at: NOW,
                    reason: "compromised".parse().unwrap(),
                }],
            },
        );
        t.update_revocations(list).unwrap();
        t
    };
    let view = &team.views["lead@cert-at"];
    assert_eq!(
        view.invalid_members(&revoked_trust, NOW),
        vec![user("officer1@cert-cz")]
    );
    // Any new state that still lists the revoked member is refused...
    let err = view
        .propose(
            &team.members["lead@cert-at"].local,
            Proposal::Rekey {
                reason: "x".parse().unwrap(),
            },
            &revoked_trust,
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::Certificate(vigil_protocol::CertError::Revoked { .. })
        ),
        "{err}"
    );
    // ...and removing them starts a new epoch everyone else accepts.
    let removal = view
        .propose(
            &team.members["lead@cert-at"].local,
            Proposal::Remove {
                users: vec![user("officer1@cert-cz")],
                reason: "certificate revoked".parse().unwrap(),
            },
            &revoked_trust,
            NOW,
        )
        .unwrap();
    for name in ["lead@cert-at", "admin@cert-at", "officer1@cert-at"] {
        let applied = team
            .views
            .get_mut(name)
            .unwrap()
            .apply(&removal, &revoked_trust, NOW)
            .unwrap();
        assert!(applied.new_epoch && !applied.removed_us);
    }
    assert_eq!(removal.state().epoch, 1);
}

#[test]
fn late_messages_of_the_previous_epoch_still_open() {
    let mut team = talking(20, "TLP:AMBER | EU SECRET");
    let late = team.send("admin@cert-at", "sent just before the rekey");
    let rekey = team
        .propose(
            "lead@cert-at",
            Proposal::Rekey {
                reason: "routine".parse().unwrap(),
            },
        )
        .unwrap();
    team.apply_all(&rekey);
    assert_eq!(
        team.open("officer1@cert-at", &late).unwrap(),
        b"sent just before the rekey"
    );
    assert!(matches!(
        team.views
            .get_mut("admin@cert-at")
            .unwrap()
            .seal(&mut team.rng, b"old key"),
        Err(ChannelError::NoOwnSenderKey)
    ));
}

#[test]
fn sender_keys_travel_inside_one_to_one_sessions() {
    let mut team = Team::new(21);
    team.create(
        "TLP:AMBER | EU SECRET",
        &["lead@cert-at", "officer1@cert-cz"],
    )
    .unwrap();
    let key = team
        .views
        .get_mut("lead@cert-at")
        .unwrap()
        .own_sender_key(&mut team.rng)
        .unwrap();
    let cz_cert = team
        .trust
        .verify_certificate(&team.cert("officer1@cert-cz"), NOW)
        .unwrap();
    let bundle = {
        let cz = &team.members["officer1@cert-cz"];
        cz.prekeys
            .bundle(cz.local.identity().public(), true)
            .unwrap()
    };
    let mut lead = Session::initiate(
        &mut team.rng,
        &team.members["lead@cert-at"].local,
        &cz_cert,
        &bundle,
        NOW,
    )
    .unwrap();
    let envelope = lead.encrypt(&mut team.rng, &key.to_bytes()).unwrap();
    let Envelope::Prekey(first) = envelope else {
        panic!()
    };
    let cz = team.members.get_mut("officer1@cert-cz").unwrap();
    let (session, bytes) =
        Session::accept(&cz.local, &mut cz.prekeys, &team.trust, &first, NOW).unwrap();
    let received = vigil_protocol::channel::SenderKeyDistribution::from_bytes(&bytes).unwrap();
    let view = team.views.get_mut("officer1@cert-cz").unwrap();
    view.add_sender_key(session.remote_user(), session.remote_identity(), &received)
        .unwrap();
    let message = team.send("lead@cert-at", "over the ratchet");
    assert_eq!(
        team.open("officer1@cert-cz", &message).unwrap(),
        b"over the ratchet"
    );
    assert!(!format!("{received:?}").contains(&hex::encode(received.chain_key)));
}

#[test]
fn a_state_that_lies_about_its_change_is_refused() {
    let mut team = talking(22, "TLP:AMBER | EU SECRET");
    let view = &team.views["lead@cert-at"];
    // Claims a rekey but also drops a member without a new... removal record.
    let mut next = view.head().state().clone();
    next.version += 1;
    next.previous = Some(view.head().hash());
    next.epoch += 1;
    next.members
        .retain(|m| m.body().user.as_str() != "officer1@cert-cz");
    next.change = Change::Rekey {
        reason: "quiet removal".parse().unwrap(),
    };
    let lying = SignedChannelState::sign(&team.members["lead@cert-at"].local, next);
    let err = team
        .views
        .get_mut("officer1@cert-at")
        .unwrap()
        .apply(&lying, &team.trust, NOW)
        .unwrap_err();
    assert!(matches!(err, ChannelError::Malformed(_)), "{err}");
}

/// Each rule function on its own.
#[test]
fn each_rule_function_decides_alone() {
    let team = Team::new(23);
    let body = |name: &str| team.cert(name).body().clone();
    let secret = label("TLP:AMBER | EU SECRET");
    assert!(rules::check_clearance(&body("officer1@cert-cz"), &secret).is_ok());
    assert!(rules::check_clearance(&body("officer2@cert-cz"), &secret).is_err());
    let strict = label("TLP:AMBER+STRICT | UNCLASSIFIED");
    assert!(
        rules::check_owner_org(&body("officer1@cert-at"), &body("lead@cert-at"), &strict).is_ok()
    );
    assert!(
        rules::check_owner_org(&body("officer1@cert-cz"), &body("lead@cert-at"), &strict).is_err()
    );
    assert!(
        rules::check_owner_org(&body("officer1@cert-cz"), &body("lead@cert-at"), &secret).is_ok()
    );
    let (owner, admin) = (user("lead@cert-at"), user("admin@cert-at"));
    let red = label("TLP:RED | EU SECRET");
    assert!(rules::check_relabel(&admin, &owner, &secret, &red).is_ok());
    assert!(rules::check_relabel(&admin, &owner, &red, &secret).is_err());
    assert!(rules::check_relabel(&owner, &owner, &red, &secret).is_ok());
    assert!(rules::check_export(&secret).is_ok());
    assert!(rules::check_export(&red).is_err());
    let mut team = team;
    team.create("TLP:AMBER | EU SECRET", &FOUR).unwrap();
    let state = team.views["lead@cert-at"].head().state().clone();
    assert!(
        rules::check_authority(
            &admin,
            &state,
            &Change::Rekey {
                reason: "x".parse().unwrap()
            }
        )
        .is_ok()
    );
    assert!(rules::check_authority(&admin, &state, &Change::SetAdmins).is_err());
    assert!(rules::check_authority(&user("officer1@cert-at"), &state, &Change::Relabel).is_err());
    assert!(rules::check_members(&state, &team.trust).is_ok());
    assert!(vigil_protocol::channel::change::check_structure(&state).is_ok());
    // A label is mandatory: there is no label without a TLP and a level.
    assert!(Label::parse("", ClassificationPolicy::eu()).is_err());
    assert!(Label::parse("TLP:RED", ClassificationPolicy::eu()).is_err());
}

#[test]
fn views_survive_a_save_and_restore() {
    let mut team = talking(24, "TLP:AMBER | EU SECRET");
    let skipped = team.send("lead@cert-at", "late");
    let now = team.send("lead@cert-at", "now");
    assert_eq!(team.open("officer1@cert-cz", &now).unwrap(), b"now");
    for name in FOUR {
        let view = team.views.remove(name).unwrap();
        let bytes = view.to_bytes();
        // Debug never shows the sender chain key, in hex or as bytes.
        let mut probe = ChannelView::from_bytes(&bytes).unwrap();
        let chain_key = probe.own_sender_key(&mut team.rng).unwrap().chain_key;
        let shown = format!("{view:?}");
        assert!(
            !shown.contains(&hex::encode(chain_key)),
            "{name}: Debug shows the chain key"
        );
        assert!(
            !shown.contains(&format!("{:?}", &chain_key[..8])),
            "{name}: Debug shows key bytes"
        );
        team.views
            .insert(name.to_owned(), ChannelView::from_bytes(&bytes).unwrap());
    }
    assert_eq!(team.open("officer1@cert-cz", &skipped).unwrap(), b"late");
    assert!(matches!(
        team.open("officer1@cert-cz", &now),
        Err(ChannelError::Replayed { .. })
    ));
    let reply = team.send("officer1@cert-cz", "after restore");
    assert_eq!(team.open("lead@cert-at", &reply).unwrap(), b"after restore");
    let rekey = team
        .propose(
            "lead@cert-at",
            Proposal::Rekey {
                reason: "after restore".parse().unwrap(),
            },
        )
        .unwrap();
    team.apply_all(&rekey);
    assert!(ChannelView::from_bytes(b"\x01garbage").is_err());
}
