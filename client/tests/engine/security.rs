//! The channel security review's attacks against the client engine (issue 14): what a member's
//! client does with a lying relay, revoked colleagues, withheld changes and forks, a flood of
//! items for channels that do not exist, and a commit that fails.

use rand_core::OsRng;
use vigil_client::engine::{
    Body, Delivery, EngineError, Event, MAX_PARKED_BYTES_PER_SENDER, MAX_PARKED_PER_SENDER,
    STALL_WARNING_SECS,
};
use vigil_protocol::cert::{RevocationListBody, RevokedCertificate};
use vigil_protocol::channel::{
    Change, ChannelId, ChannelState, CompactState, GroupHeader, GroupMessage, Proposal,
    SignedChannelState, StateHash,
};
use vigil_protocol::content::{DirectContent, History, Payload};
use vigil_protocol::keys::Signature;
use vigil_protocol::{LocalIdentity, RevocationList, Session, Text, UnixTime, UserId};

use crate::net::{Net, Org, label, now};

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

/// CERT-AT's lead (owner), CERT-CZ's admin, and members of CERT-AT, CERT-CZ and CERT-PL, in
/// one `TLP:AMBER | EU SECRET` channel, all settled.
struct Crossborder {
    net: Net,
    at: Org,
    cz: Org,
    pl: Org,
    id: ChannelId,
    members: Vec<LocalIdentity>,
}

const LEAD: &str = "lead@cert-at";
const ADMIN: &str = "admin@cert-cz";
const NAMES: [&str; 6] = [
    LEAD,
    ADMIN,
    "duty@cert-at",
    "duty@cert-cz",
    "duty@cert-pl",
    "analyst@cert-pl",
];

impl Crossborder {
    fn new() -> Self {
        let (mut at, mut cz, mut pl) = (
            Org::new("CERT-AT"),
            Org::new("CERT-CZ"),
            Org::new("CERT-PL"),
        );
        let far = now().plus_days(30);
        let members: Vec<LocalIdentity> = NAMES
            .iter()
            .map(|name| match name.rsplit('@').next() {
                Some("cert-at") => at.member(name, 3, far),
                Some("cert-cz") => cz.member(name, 3, far),
                _ => pl.member(name, 3, far),
            })
            .collect();
        let mut net = Net::new(&[&at, &cz, &pl]);
        for m in &members {
            net.enroll(m);
        }
        let (id, _) = net
            .engine(LEAD)
            .create_channel("incident", label("TLP:AMBER", "EU SECRET"), now())
            .unwrap();
        for name in &NAMES[1..] {
            let (certificate, bundle) = net.bundle(name);
            net.engine(LEAD)
                .invite(id, &user(name), &certificate, &bundle, now())
                .unwrap();
        }
        net.engine(LEAD)
            .change(id, Proposal::SetAdmins(vec![user(ADMIN)]), now())
            .unwrap();
        net.settle();
        Self {
            net,
            at,
            cz,
            pl,
            id,
            members,
        }
    }

    /// The revocation lists that revoke `names` (each organisation's list, version 2).
    fn revoke(&self, names: &[&str]) -> Vec<RevocationList> {
        let mut lists = Vec::new();
        for org in [&self.at, &self.cz, &self.pl] {
            let entries: Vec<RevokedCertificate> = self
                .members
                .iter()
                .filter(|m| names.contains(&m.user().as_str()))
                .filter(|m| &m.certificate().body().org == org.root.org())
                .map(|m| RevokedCertificate {
                    serial: m.certificate().body().serial,
                    user: m.user().clone(),
                    revoked_at: now(),
                    reason: Text::new("laptop stolen").unwrap(),
                })
                .collect();
            lists.push(RevocationList::sign(
                &org.key,
                RevocationListBody {
                    org: org.root.org().clone(),
                    version: 2,
                    issued_at: now(),
                    entries,
                },
            ));
        }
        lists
    }

    /// Every engine learns of `lists` (as the relay's push does), then the net settles.
    fn publish(&mut self, lists: &[RevocationList]) {
        for name in NAMES {
            let events = self
                .net
                .engine(name)
                .update_revocations(lists.to_vec(), now())
                .unwrap();
            self.net
                .events
                .entry(name.to_owned())
                .or_default()
                .extend(events);
        }
        self.net.settle();
    }

    fn say(&mut self, who: &str, text: &str) {
        self.net
            .engine(who)
            .send_text(self.id, text, now())
            .unwrap();
        self.net.settle();
    }
}

#[test]
fn revoking_two_members_and_the_owner_leaves_a_working_channel_run_by_the_admin() {
    let mut crew = Crossborder::new();
    crew.say("duty@cert-pl", "before the revocation");
    let lists = crew.revoke(&[LEAD, "duty@cert-at", "analyst@cert-pl"]);
    crew.publish(&lists);
    // The admin removed all three in one change and took over; everyone left applied it.
    for name in [ADMIN, "duty@cert-cz", "duty@cert-pl"] {
        let summary = crew.net.engine(name).channel(crew.id).unwrap();
        assert_eq!(summary.owner, user(ADMIN), "{name}");
        assert_eq!(summary.members.len(), 3, "{name}");
        assert!(summary.alert.is_none(), "{name}: {:?}", summary.alert);
    }
    let history = crew.net.engine(ADMIN).audit_history(crew.id).unwrap();
    assert!(
        history.last().unwrap().contains("took over as owner"),
        "{history:?}"
    );
    // The channel works, and the revoked read nothing sent after.
    crew.say("duty@cert-cz", "after the revocation");
    for name in [ADMIN, "duty@cert-pl"] {
        let texts = crew.net.texts(name, "incident");
        assert_eq!(
            texts.last().map(String::as_str),
            Some("after the revocation"),
            "{name}"
        );
    }
    for name in [LEAD, "duty@cert-at", "analyst@cert-pl"] {
        assert!(
            !crew
                .net
                .texts(name, "incident")
                .contains(&"after the revocation".to_owned()),
            "{name} read a message sent after their revocation"
        );
    }
}

#[test]
fn an_invitation_answered_with_someone_elses_certificate_is_refused() {
    let mut crew = Crossborder::new();
    // The relay answers a request for the newcomer's keys with a colluder's (a cleared CERT-CZ
    // member who is already enrolled).
    let (colluder, bundle) = crew.net.bundle("duty@cert-cz");
    let before = crew.net.engine(LEAD).channel(crew.id).unwrap();
    let err = crew
        .net
        .engine(LEAD)
        .invite(
            crew.id,
            &user("newcomer@cert-at"),
            &colluder,
            &bundle,
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(
            &err,
            EngineError::CertificateOfOther { requested, got }
                if requested.as_str() == "newcomer@cert-at" && got.as_str() == "duty@cert-cz"
        ),
        "{err}"
    );
    assert_eq!(crew.net.engine(LEAD).channel(crew.id).unwrap(), before);
}

#[test]
fn an_invitee_joins_from_the_whole_verified_chain() {
    let mut crew = Crossborder::new();
    let newcomer = crew.cz.member("newcomer@cert-cz", 3, now().plus_days(30));
    crew.net.enroll(&newcomer);
    crew.net
        .engine(LEAD)
        .change(
            crew.id,
            Proposal::Rekey {
                reason: Text::new("routine").unwrap(),
            },
            now(),
        )
        .unwrap();
    crew.net.settle();
    let (certificate, bundle) = crew.net.bundle("newcomer@cert-cz");
    crew.net
        .engine(ADMIN)
        .invite(crew.id, newcomer.user(), &certificate, &bundle, now())
        .unwrap();
    crew.net.settle();
    let theirs = crew
        .net
        .engine("newcomer@cert-cz")
        .audit_history(crew.id)
        .unwrap();
    let ours = crew.net.engine(LEAD).audit_history(crew.id).unwrap();
    assert_eq!(theirs, ours, "the joiner holds the same verified history");
    crew.say("newcomer@cert-cz", "hello from the newcomer");
    assert!(
        crew.net
            .texts("duty@cert-pl", "incident")
            .contains(&"hello from the newcomer".to_owned())
    );
}

#[test]
fn a_message_from_a_member_revoked_since_is_refused_and_shown() {
    let mut crew = Crossborder::new();
    crew.net
        .engine("duty@cert-pl")
        .send_text(crew.id, "sent by a stolen laptop", now())
        .unwrap();
    crew.net.send_all();
    // The reader learns of the revocation before the message reaches them.
    let lists = crew.revoke(&["duty@cert-pl"]);
    crew.net
        .engine("duty@cert-cz")
        .update_revocations(lists, now())
        .unwrap();
    let mail: Vec<(UserId, Vec<u8>)> = crew.net.mail.remove("duty@cert-cz").unwrap().into();
    for (from, payload) in mail {
        crew.net.deliver("duty@cert-cz", &from, &payload);
    }
    assert!(
        !crew
            .net
            .texts("duty@cert-cz", "incident")
            .contains(&"sent by a stolen laptop".to_owned())
    );
    assert!(crew.net.placeholders("duty@cert-cz") >= 1);
}

/// A channel message of a channel that does not exist, of about `size` bytes.
fn bogus_message(sender: &UserId, n: u32, size: usize) -> Vec<u8> {
    let message = GroupMessage {
        header: GroupHeader {
            channel: ChannelId([0xEE; 32]),
            epoch: 0,
            state: StateHash([n.to_le_bytes()[0]; 32]),
            membership: [0; 32],
            label: label("TLP:CLEAR", "UNCLASSIFIED"),
            sender: sender.clone(),
            generation: 0,
            counter: n,
        },
        nonce: [0; 24],
        ciphertext: vec![0; size],
        signature: Signature([0; 64]),
    };
    Payload::Channel(Box::new(message)).to_bytes()
}

#[test]
fn a_flood_for_channels_that_do_not_exist_is_capped_per_sender() {
    let mut crew = Crossborder::new();
    let flooder = user("duty@cert-pl");
    let size = 900 * 1024;
    let fits = u32::try_from(MAX_PARKED_BYTES_PER_SENDER / size as u64).unwrap();
    for n in 0..fits + 3 {
        let payload = bogus_message(&flooder, n, size);
        crew.net.deliver("duty@cert-cz", &flooder, &payload);
    }
    // The oldest of the flood became placeholders; nobody else's items were touched.
    assert_eq!(crew.net.placeholders("duty@cert-cz"), 3);
    let legit = user(ADMIN);
    crew.net
        .deliver("duty@cert-cz", &legit, &bogus_message(&legit, 0, 1024));
    assert_eq!(crew.net.placeholders("duty@cert-cz"), 3);
}

#[test]
fn a_withheld_change_raises_an_alert_in_its_channel() {
    let mut crew = Crossborder::new();
    // A message naming a state the reader never received (the relay withholds the rekey).
    crew.net
        .engine(LEAD)
        .change(
            crew.id,
            Proposal::Rekey {
                reason: Text::new("x").unwrap(),
            },
            now(),
        )
        .unwrap();
    crew.net.send_all();
    crew.net.mail.remove("duty@cert-cz");
    crew.net.settle();
    crew.say(LEAD, "in the new epoch");
    assert!(crew.net.engine("duty@cert-cz").waiting(crew.id) >= 1);
    let later = UnixTime(now().0 + STALL_WARNING_SECS + 60);
    let events = crew
        .net
        .engine("duty@cert-cz")
        .check_waiting_now(later)
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Alert { channel, .. } if *channel == crew.id)),
        "{events:?}"
    );
    let summary = crew.net.engine("duty@cert-cz").channel(crew.id).unwrap();
    assert!(summary.alert.is_some());
    // Once: a second check says nothing new.
    let again = crew
        .net
        .engine("duty@cert-cz")
        .check_waiting_now(later)
        .unwrap();
    assert!(!again.iter().any(|e| matches!(e, Event::Alert { .. })));
}

#[test]
fn a_forked_history_raises_an_alert() {
    let mut crew = Crossborder::new();
    // The owner and the admin change the channel at the same time: two different versions.
    crew.net
        .engine(LEAD)
        .change(
            crew.id,
            Proposal::Rekey {
                reason: Text::new("a").unwrap(),
            },
            now(),
        )
        .unwrap();
    crew.net
        .engine(ADMIN)
        .change(
            crew.id,
            Proposal::Rekey {
                reason: Text::new("b").unwrap(),
            },
            now(),
        )
        .unwrap();
    crew.net.settle();
    let alerted = crew.net.events["duty@cert-pl"]
        .iter()
        .any(|e| matches!(e, Event::Alert { .. }));
    let summary = crew.net.engine("duty@cert-pl").channel(crew.id).unwrap();
    assert!(alerted && summary.alert.is_some(), "{summary:?}");
    let alerts = crew
        .net
        .engine("duty@cert-pl")
        .history(crew.id, None, 100)
        .unwrap()
        .into_iter()
        .filter(|(_, e)| matches!(e.body, Body::Alert(_)))
        .count();
    assert_eq!(alerts, 1);
}

#[test]
fn a_failed_commit_loses_nothing_and_the_redelivery_is_processed() {
    let mut crew = Crossborder::new();
    crew.net
        .engine("duty@cert-pl")
        .send_text(crew.id, "do not lose me", now())
        .unwrap();
    crew.net.send_all();
    let mail: Vec<(UserId, Vec<u8>)> = crew.net.mail.remove("duty@cert-cz").unwrap().into();
    let (from, payload) = mail.last().unwrap().clone();
    // The disk fills as the message is processed: refused, not acknowledged...
    crew.net.engine("duty@cert-cz").store().fail_next_commit();
    let err = crew
        .net
        .engine("duty@cert-cz")
        .receive(&from, &payload, now())
        .unwrap_err();
    assert!(matches!(err, EngineError::Store(_)), "{err}");
    // ...and when the relay delivers it again, it is read (not taken for a replay).
    crew.net.deliver("duty@cert-cz", &from, &payload);
    assert_eq!(
        crew.net
            .texts("duty@cert-cz", "incident")
            .last()
            .map(String::as_str),
        Some("do not lose me")
    );
}

#[test]
fn messages_queued_before_a_removal_are_sealed_again_for_those_who_remain() {
    let mut crew = Crossborder::new();
    // duty@cert-at types while its outbox is not flushed; meanwhile the owner removes the
    // analyst, and the typist applies that before its outbox goes out.
    crew.net
        .engine("duty@cert-at")
        .send_text(crew.id, "typed before the removal reached me", now())
        .unwrap();
    crew.net
        .engine(LEAD)
        .remove(crew.id, &[user("analyst@cert-pl")], "need to know", now())
        .unwrap();
    // The owner's removal reaches the typist before the typist's outbox goes out.
    crew.net.send_from(LEAD);
    let mail: Vec<(UserId, Vec<u8>)> = crew.net.mail.remove("duty@cert-at").unwrap().into();
    for (from, payload) in mail {
        crew.net.deliver("duty@cert-at", &from, &payload);
    }
    crew.net.settle();
    let remaining = crew.net.texts("duty@cert-pl", "incident");
    assert!(remaining.contains(&"typed before the removal reached me".to_owned()));
    assert!(
        !crew
            .net
            .texts("analyst@cert-pl", "incident")
            .contains(&"typed before the removal reached me".to_owned())
    );
}

// ----- review of the fix (issue 14): what any 1:1 peer can make a member's engine do -----

/// `content` sent to `to` over a new 1:1 session started by `from` (any member of a trusted
/// organisation can do this: the relay hands out everyone's bundle).
pub(crate) fn direct(
    net: &mut Net,
    from: &LocalIdentity,
    to: &str,
    content: &DirectContent,
) -> Vec<u8> {
    let (certificate, bundle) = net.bundle(to);
    let verified = net
        .engine(to)
        .trust_store()
        .verify_certificate(&certificate, now())
        .unwrap();
    let mut session = Session::initiate(&mut OsRng, from, &verified, &bundle, now()).unwrap();
    let envelope = session.encrypt(&mut OsRng, &content.to_bytes()).unwrap();
    Payload::Direct(envelope).to_bytes()
}

/// A state for channel `id` that nobody checked: signed by `signer` whatever it claims.
fn junk_state(
    signer: &LocalIdentity,
    id: ChannelId,
    version: u64,
    previous: Option<StateHash>,
    author: &str,
) -> DirectContent {
    let state = ChannelState {
        channel: id,
        name: Text::new("incident").unwrap(),
        label: label("TLP:AMBER", "EU SECRET"),
        owner: user(author),
        admins: vec![],
        members: vec![signer.certificate().clone()],
        epoch: 0,
        version,
        previous,
        change: if version == 0 {
            Change::Create
        } else {
            Change::Rekey {
                reason: Text::new("x").unwrap(),
            }
        },
        author: user(author),
        timestamp: now(),
    };
    DirectContent::ChannelState(Box::new(SignedChannelState::sign(signer, state)))
}

#[test]
fn a_junk_creation_sent_before_an_invitation_does_not_keep_the_invitee_out() {
    let mut crew = Crossborder::new();
    let newcomer = crew.cz.member("newcomer@cert-cz", 3, now().plus_days(30));
    crew.net.enroll(&newcomer);
    // A member of the channel (a partner's duty officer) knows its id, and that the newcomer
    // will be invited: it sends them a "creation" of that channel, unsigned by anyone who
    // matters and not listing them. Nothing checks it: it is parked.
    let mallory = &crew.members[3];
    assert_eq!(mallory.user().as_str(), "duty@cert-cz");
    let junk = junk_state(mallory, crew.id, 0, None, "duty@cert-cz");
    let payload = direct(&mut crew.net, mallory, "newcomer@cert-cz", &junk);
    let from = mallory.user().clone();
    crew.net.deliver("newcomer@cert-cz", &from, &payload);
    // The admin invites the newcomer with the whole verified chain.
    let (certificate, bundle) = crew.net.bundle("newcomer@cert-cz");
    crew.net
        .engine(ADMIN)
        .invite(crew.id, newcomer.user(), &certificate, &bundle, now())
        .unwrap();
    crew.net.settle();
    let joined = crew.net.engine("newcomer@cert-cz").channel(crew.id);
    assert!(
        joined.is_ok(),
        "the junk creation parked first kept the genuine chain from being assembled"
    );
    crew.say(LEAD, "welcome");
    assert!(
        crew.net
            .texts("newcomer@cert-cz", "incident")
            .contains(&"welcome".to_owned())
    );
}

#[test]
fn a_state_nobody_with_authority_signed_raises_no_fork_alert() {
    let mut crew = Crossborder::new();
    // Someone outside the channel (any cleared member of a trusted organisation) learns its
    // id from the relay's headers and sends a member "the owner's" next change, on another
    // branch, and one at an old version: neither is signed by anyone who may change the channel.
    let outsider = crew.cz.member("outsider@cert-cz", 3, now().plus_days(30));
    crew.net.enroll(&outsider);
    let head = crew.net.engine("duty@cert-pl").channel(crew.id).unwrap();
    let chain = crew.net.engine("duty@cert-pl").chain(crew.id).unwrap();
    let ours = chain.last().unwrap().state().version;
    assert_eq!(head.owner, user(LEAD));
    for (version, previous) in [
        (ours + 1, Some(StateHash([9; 32]))),
        (1, Some(chain[0].hash())),
    ] {
        let junk = junk_state(&outsider, crew.id, version, previous, LEAD);
        let payload = direct(&mut crew.net, &outsider, "duty@cert-pl", &junk);
        crew.net.deliver("duty@cert-pl", outsider.user(), &payload);
    }
    let alerted = crew.net.events["duty@cert-pl"]
        .iter()
        .any(|e| matches!(e, Event::Alert { .. }));
    let summary = crew.net.engine("duty@cert-pl").channel(crew.id).unwrap();
    assert!(
        !alerted && summary.alert.is_none(),
        "an outsider's junk was shown as a fork signed by the owner: {:?}",
        summary.alert
    );
}

#[test]
fn a_relay_flooding_in_many_senders_names_cannot_fill_a_device_or_push_out_others() {
    let mut crew = Crossborder::new();
    // A member's item that waits (a message of a channel whose state is on its way).
    let legit = user(ADMIN);
    crew.net
        .deliver("duty@cert-cz", &legit, &bogus_message(&legit, 0, 1024));
    // The relay says who sent what: it floods a member with items for a channel that does not
    // exist, each in another sender's name, so no per-sender cap applies. Before a cap on all
    // items, a device kept up to 10,000 of up to 1 MiB (10 GiB, in memory as on disk); this
    // floods 72 MiB.
    let size = 900 * 1024;
    for n in 0..80u32 {
        let ghost = user(&format!("ghost{n}@cert-pl"));
        crew.net
            .deliver("duty@cert-cz", &ghost, &bogus_message(&ghost, n, size));
    }
    let dropped: Vec<&UserId> = crew.net.events["duty@cert-cz"]
        .iter()
        .filter_map(|e| match e {
            Event::DecryptFailed { sender, .. } => Some(sender),
            _ => None,
        })
        .collect();
    assert!(
        !dropped.is_empty(),
        "72 MiB from one relay kept waiting on the device"
    );
    assert!(
        !dropped.contains(&&legit),
        "the flood pushed out a member's waiting item"
    );
}

#[test]
fn a_channel_cannot_take_the_id_of_the_system_history() {
    let mut crew = Crossborder::new();
    // Anyone may create a channel with a member in it; its creator picks its id. One with the
    // id of the pseudo-channel where refusals and placeholders are kept would mix the two:
    // `read --json` would print its messages as not of any channel, and the member's system
    // notices would sit in a channel others are in.
    let outsider = crew.cz.member("outsider@cert-cz", 3, now().plus_days(30));
    crew.net.enroll(&outsider);
    let victim = crew.members[4].certificate().clone();
    let mut members = vec![outsider.certificate().clone(), victim.clone()];
    members.sort_by(|a, b| a.body().user.cmp(&b.body().user));
    let state = ChannelState {
        // The id the client keeps its own history under.
        channel: ChannelId([0; 32]),
        name: Text::new("system").unwrap(),
        label: label("TLP:AMBER", "EU SECRET"),
        owner: outsider.user().clone(),
        admins: vec![],
        members,
        epoch: 0,
        version: 0,
        previous: None,
        change: Change::Create,
        author: outsider.user().clone(),
        timestamp: now(),
    };
    let created = DirectContent::ChannelState(Box::new(SignedChannelState::sign(&outsider, state)));
    let payload = direct(
        &mut crew.net,
        &outsider,
        victim.body().user.as_str(),
        &created,
    );
    crew.net
        .deliver(victim.body().user.as_str(), outsider.user(), &payload);
    assert!(
        crew.net
            .engine(victim.body().user.as_str())
            .channel(ChannelId([0; 32]))
            .is_err(),
        "a channel was joined under the system history's id"
    );
}

#[test]
fn a_message_written_under_a_label_is_never_sealed_again_under_a_lower_one() {
    let mut crew = Crossborder::new();
    let newcomer = crew.cz.member("newcomer@cert-cz", 1, now().plus_days(30));
    crew.net.enroll(&newcomer);
    // Written in the EU SECRET channel while the writer's outbox waits (offline, or slow).
    let (seq, _) = crew
        .net
        .engine("duty@cert-at")
        .send_text(crew.id, "the SECRET indicator", now())
        .unwrap();
    // Meanwhile the owner lowers the label to EU RESTRICTED and invites someone cleared for
    // no more than that.
    crew.net
        .engine(LEAD)
        .relabel(crew.id, label("TLP:AMBER", "EU RESTRICTED"), now())
        .unwrap();
    crew.net.send_from(LEAD);
    let (certificate, bundle) = crew.net.bundle("newcomer@cert-cz");
    crew.net
        .engine(LEAD)
        .invite(crew.id, newcomer.user(), &certificate, &bundle, now())
        .unwrap();
    crew.net.send_from(LEAD);
    // Both changes reach the writer before its outbox goes out (the relay hands over the
    // invite first: it waits for the relabel, and both apply in one step).
    let mut mail: Vec<(UserId, Vec<u8>)> = crew.net.mail.remove("duty@cert-at").unwrap().into();
    mail.reverse();
    for (from, payload) in mail {
        crew.net.deliver("duty@cert-at", &from, &payload);
    }
    crew.net.settle();
    assert!(
        !crew
            .net
            .texts("newcomer@cert-cz", "incident")
            .contains(&"the SECRET indicator".to_owned()),
        "text written under EU SECRET was sealed again under EU RESTRICTED for a member \
         cleared only for that"
    );
    let (_, entry) = crew
        .net
        .engine("duty@cert-at")
        .history(crew.id, Some(seq + 1), 1)
        .unwrap()
        .pop()
        .unwrap();
    assert!(
        matches!(entry.delivery, Some(Delivery::Failed(_))),
        "the writer is told it was not sent: {:?}",
        entry.delivery
    );
}

#[test]
fn a_member_who_knows_of_a_revocation_seals_nothing_the_revoked_key_can_read() {
    let mut crew = Crossborder::new();
    // duty@cert-pl's laptop is stolen and revoked. The owner and the admin are offline (a
    // weekend): nobody can remove them yet. duty@cert-cz's client has the new lists.
    let lists = crew.revoke(&["duty@cert-pl"]);
    crew.net
        .engine("duty@cert-cz")
        .update_revocations(lists, now())
        .unwrap();
    crew.net
        .engine("duty@cert-cz")
        .send_text(crew.id, "written after the revocation was known", now())
        .unwrap();
    crew.net.send_from("duty@cert-cz");
    // The relay (whose operator helps the thief) hands the ciphertext to the stolen laptop,
    // which still holds the current epoch's keys.
    let sent: Vec<(UserId, Vec<u8>)> = crew
        .net
        .mail
        .values()
        .flat_map(|q| q.iter().cloned())
        .filter(|(from, _)| from.as_str() == "duty@cert-cz")
        .collect();
    for (from, payload) in sent {
        crew.net.deliver("duty@cert-pl", &from, &payload);
    }
    assert!(
        !crew
            .net
            .texts("duty@cert-pl", "incident")
            .contains(&"written after the revocation was known".to_owned()),
        "the revoked key read a message sealed after its revocation was known to the sender"
    );
}

#[test]
fn a_change_from_a_clock_a_few_minutes_fast_is_applied_when_its_time_comes() {
    let mut crew = Crossborder::new();
    // The owner's clock is six minutes fast: the state it signs is dated ahead of everyone's.
    let fast = UnixTime(now().0 + 360);
    crew.net
        .engine(LEAD)
        .change(
            crew.id,
            Proposal::Rekey {
                reason: Text::new("routine").unwrap(),
            },
            fast,
        )
        .unwrap();
    crew.net.settle();
    // A few minutes later the member's clock has caught up: the change applies, and the
    // channel goes on (before, it was refused and every later change waited behind it).
    let later = UnixTime(now().0 + 400);
    crew.net
        .engine("duty@cert-pl")
        .check_waiting_now(later)
        .unwrap();
    let summary = crew.net.engine("duty@cert-pl").channel(crew.id).unwrap();
    assert_eq!(summary.epoch, 1, "{summary:?}");
}

#[test]
fn a_takeover_held_for_a_valid_owner_does_not_wedge_a_member() {
    let mut crew = Crossborder::new();
    // A rogue admin signs a takeover although the owner is valid (its client would refuse to)
    // and sends it to one member only. The member holds it: the owner can still act.
    let head = crew
        .net
        .engine(ADMIN)
        .chain(crew.id)
        .unwrap()
        .pop()
        .unwrap();
    let mut state = head.state().clone();
    state.members.retain(|m| m.body().user.as_str() != LEAD);
    state.owner = user(ADMIN);
    state.admins.clear();
    state.epoch += 1;
    state.version += 1;
    state.previous = Some(head.hash());
    state.author = user(ADMIN);
    state.timestamp = now();
    state.change = Change::Remove {
        users: vec![user(LEAD)],
        reason: Text::new("coup").unwrap(),
    };
    let admin = &crew.members[1];
    assert_eq!(admin.user().as_str(), ADMIN);
    let coup = DirectContent::ChannelState(Box::new(SignedChannelState::sign(admin, state)));
    let payload = direct(&mut crew.net, admin, "duty@cert-pl", &coup);
    let from = admin.user().clone();
    crew.net.deliver("duty@cert-pl", &from, &payload);
    assert_eq!(
        crew.net
            .engine("duty@cert-pl")
            .channel(crew.id)
            .unwrap()
            .owner,
        user(LEAD)
    );
    // The owner goes on with the channel: the member follows the owner, not the held coup.
    crew.net
        .engine(LEAD)
        .change(
            crew.id,
            Proposal::Rekey {
                reason: Text::new("routine").unwrap(),
            },
            now(),
        )
        .unwrap();
    crew.net.settle();
    crew.say(LEAD, "after the rekey");
    assert!(
        crew.net
            .texts("duty@cert-pl", "incident")
            .contains(&"after the rekey".to_owned()),
        "the member dropped the owner's change for the admin's held takeover and is cut off"
    );
}

#[test]
fn a_channel_with_a_long_history_can_still_be_joined() {
    let mut at = Org::new("CERT-AT");
    let far = now().plus_days(30);
    let lead = at.member("lead@cert-at", 3, far);
    let newcomer = at.member("newcomer@cert-at", 3, far);
    let mut net = Net::new(&[&at]);
    net.enroll(&lead);
    net.enroll(&newcomer);
    let (id, _) = net
        .engine("lead@cert-at")
        .create_channel("long-lived", label("TLP:AMBER", "EU RESTRICTED"), now())
        .unwrap();
    // A channel a year old: a thousand changes (here rekeys; in a national channel, the
    // invitations of a thousand members, each state carrying every certificate). The invitee
    // is sent the whole chain by the inviter in compact form (each state without its member
    // list, with only the certificates it adds) in a few messages, and parks those, within
    // one sender's limits, until the state that invites it arrives.
    for round in 0..MAX_PARKED_PER_SENDER {
        net.engine("lead@cert-at")
            .change(
                id,
                Proposal::Rekey {
                    reason: Text::new(&format!("round {round}")).unwrap(),
                },
                now(),
            )
            .unwrap();
    }
    let (certificate, bundle) = net.bundle("newcomer@cert-at");
    net.engine("lead@cert-at")
        .invite(id, newcomer.user(), &certificate, &bundle, now())
        .unwrap();
    net.settle();
    assert!(
        net.engine("newcomer@cert-at").channel(id).is_ok(),
        "the invitee of a channel with a long history never joined"
    );
}

#[test]
fn keys_go_only_over_a_session_with_the_identity_key_the_channel_holds() {
    let mut crew = Crossborder::new();
    let newcomer = crew.cz.member("newcomer@cert-cz", 3, now().plus_days(30));
    crew.net.enroll(&newcomer);
    // The relay answers requests for duty@cert-pl's keys with another of their certificates
    // (an older laptop's, say): valid, but not the one the channel holds.
    let other_laptop = crew.pl.member("duty@cert-pl", 3, now().plus_days(30));
    crew.net
        .directory
        .get_mut("duty@cert-pl")
        .unwrap()
        .certificate = other_laptop.certificate().clone();
    let (certificate, bundle) = crew.net.bundle("newcomer@cert-cz");
    crew.net
        .engine(LEAD)
        .invite(crew.id, newcomer.user(), &certificate, &bundle, now())
        .unwrap();
    crew.net.settle();
    // The newcomer refused to send its sender key over a session with the other key.
    assert!(
        crew.net
            .refusals
            .contains(&("newcomer@cert-cz".to_owned(), "duty@cert-pl".to_owned())),
        "{:?}",
        crew.net.refusals
    );
    crew.say("newcomer@cert-cz", "for the channel's duty@cert-pl only");
    assert!(
        !crew
            .net
            .texts("duty@cert-pl", "incident")
            .contains(&"for the channel's duty@cert-pl only".to_owned())
    );
    assert!(
        crew.net
            .texts("duty@cert-cz", "incident")
            .contains(&"for the channel's duty@cert-pl only".to_owned())
    );
}

// ----- second review: what the changes after the first review let in -----

/// A channel of `lead@cert-at` with `mallory@cert-at` in it and a history long enough to be
/// sent to an invitee in more than one part; `newcomer@cert-at` enrolled, not invited.
fn long_channel_with_mallory() -> (Net, ChannelId, LocalIdentity) {
    let mut at = Org::new("CERT-AT");
    let far = now().plus_days(30);
    let lead = at.member("lead@cert-at", 3, far);
    let mallory = at.member("mallory@cert-at", 3, far);
    let newcomer = at.member("newcomer@cert-at", 3, far);
    let mut net = Net::new(&[&at]);
    for m in [&lead, &mallory, &newcomer] {
        net.enroll(m);
    }
    let (id, _) = net
        .engine("lead@cert-at")
        .create_channel("long-lived", label("TLP:AMBER", "EU RESTRICTED"), now())
        .unwrap();
    let reason = "r".repeat(250);
    for round in 0..600 {
        net.engine("lead@cert-at")
            .change(
                id,
                Proposal::Rekey {
                    reason: Text::new(&format!("{round} {reason}")[..250]).unwrap(),
                },
                now(),
            )
            .unwrap();
    }
    let (certificate, bundle) = net.bundle("mallory@cert-at");
    net.engine("lead@cert-at")
        .invite(id, mallory.user(), &certificate, &bundle, now())
        .unwrap();
    net.settle();
    assert!(net.engine("mallory@cert-at").channel(id).is_ok());
    (net, id, mallory)
}

#[test]
fn a_junk_history_part_cannot_hide_the_genuine_continuation_of_the_chain() {
    let (mut net, id, mallory) = long_channel_with_mallory();
    // Mallory, a plain member, holds the chain and can tell where the inviter will split it:
    // the second part starts at version `k`, naming state `k - 1`.
    let chain = net.engine("mallory@cert-at").chain(id).unwrap();
    let parts = History::split(&chain);
    assert!(parts.len() >= 2, "the chain fits in one part");
    let k = usize::try_from(parts[1].states[0].version()).unwrap();
    // Before the newcomer is invited, Mallory sends them "the continuation" from `k - 1`: one
    // state nobody with authority signed. Nothing checks it before the chain is rebuilt.
    let mut junk = chain[k].state().clone();
    junk.change = Change::Rekey {
        reason: Text::new("junk").unwrap(),
    };
    junk.author = mallory.user().clone();
    let junk = SignedChannelState::sign(&mallory, junk);
    let history = History {
        states: vec![CompactState::of(&junk, Some(chain[k - 1].state()))],
    };
    let payload = direct(
        &mut net,
        &mallory,
        "newcomer@cert-at",
        &DirectContent::History(Box::new(history)),
    );
    net.deliver("newcomer@cert-at", mallory.user(), &payload);
    // The owner invites the newcomer with the genuine chain, in its parts.
    let (certificate, bundle) = net.bundle("newcomer@cert-at");
    let newcomer = certificate.body().user.clone();
    net.engine("lead@cert-at")
        .invite(id, &newcomer, &certificate, &bundle, now())
        .unwrap();
    net.settle();
    assert!(
        net.engine("newcomer@cert-at").channel(id).is_ok(),
        "a member's junk part, parked first, took the place of the genuine second part"
    );
}

#[test]
fn junk_for_a_channel_we_are_in_does_not_wait_for_ever() {
    let mut crew = Crossborder::new();
    // Anyone with a session to a member (any cleared member of a trusted organisation, who
    // learnt the channel's id from the relay's headers) sends it a "change" two versions
    // ahead, that nobody who may change the channel signed. It waits for the one before it.
    let outsider = crew.cz.member("outsider@cert-cz", 3, now().plus_days(30));
    crew.net.enroll(&outsider);
    let ours = crew
        .net
        .engine("duty@cert-pl")
        .chain(crew.id)
        .unwrap()
        .last()
        .unwrap()
        .state()
        .version;
    let junk = junk_state(&outsider, crew.id, ours + 2, Some(StateHash([7; 32])), LEAD);
    let payload = direct(&mut crew.net, &outsider, "duty@cert-pl", &junk);
    crew.net.deliver("duty@cert-pl", outsider.user(), &payload);
    // The owner's change two versions ahead (its predecessor withheld) waits too, for ever:
    // the chain needs it.
    let lead = &crew.members[0];
    let held = junk_state(lead, crew.id, ours + 3, Some(StateHash([8; 32])), LEAD);
    let payload = direct(&mut crew.net, lead, "duty@cert-pl", &held);
    crew.net.deliver("duty@cert-pl", &user(LEAD), &payload);
    // A week and a day later the outsider's junk is dropped, visibly, and so is the alert it
    // raised in the channel ("the relay may be withholding a change"); the owner's stays.
    let later = now().plus_days(8);
    let engine = crew.net.engine("duty@cert-pl");
    let events = engine.check_waiting_now(later).unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::DecryptFailed { sender, .. } if sender == outsider.user())),
        "junk nobody with authority signed waits in a channel we are in for ever"
    );
    let alert = engine.channel(crew.id).unwrap().alert.unwrap_or_default();
    assert!(
        alert.contains(LEAD) && !alert.contains("outsider@cert-cz"),
        "{alert}"
    );
}

#[test]
fn a_removed_member_invited_again_after_other_changes_rejoins() {
    let mut crew = Crossborder::new();
    let analyst = user("analyst@cert-pl");
    crew.net
        .engine(LEAD)
        .remove(crew.id, std::slice::from_ref(&analyst), "rotation", now())
        .unwrap();
    crew.net.settle();
    assert!(
        !crew
            .net
            .engine("analyst@cert-pl")
            .channel(crew.id)
            .unwrap()
            .member
    );
    // The channel moves on while they are out (changes a non-member is not sent).
    crew.net
        .engine(LEAD)
        .change(
            crew.id,
            Proposal::Rekey {
                reason: Text::new("routine").unwrap(),
            },
            now(),
        )
        .unwrap();
    crew.net.settle();
    // Back on the incident: invited again, with the chain sent as to any invitee.
    let (certificate, bundle) = crew.net.bundle("analyst@cert-pl");
    crew.net
        .engine(LEAD)
        .invite(crew.id, &analyst, &certificate, &bundle, now())
        .unwrap();
    crew.net.settle();
    let summary = crew.net.engine("analyst@cert-pl").channel(crew.id).unwrap();
    assert!(
        summary.member,
        "the invitee dropped the history sent with the invitation (its channel is known) and \
         waits for ever for the changes made while it was out"
    );
    crew.say(LEAD, "welcome back");
    assert!(
        crew.net
            .texts("analyst@cert-pl", "incident")
            .contains(&"welcome back".to_owned())
    );
}

#[test]
fn a_member_renewed_after_others_rotated_against_them_reads_them_again() {
    let mut crew = Crossborder::new();
    // duty@cert-pl's organisation revokes their certificate (their role changed) and issues
    // a new one for the same keys. The owner is offline (nobody removes them); the others
    // learn of the revocation and rotate their sender keys against them.
    let lists = crew.revoke(&["duty@cert-pl"]);
    for name in [ADMIN, "duty@cert-at", "duty@cert-cz", "analyst@cert-pl"] {
        crew.net
            .engine(name)
            .update_revocations(lists.clone(), now())
            .unwrap();
    }
    crew.net.settle();
    let old = crew.members[4].certificate().body().clone();
    assert_eq!(old.user.as_str(), "duty@cert-pl");
    crew.pl.serial += 1;
    let mut body = old;
    body.serial = crew.pl.serial;
    let renewed = vigil_protocol::MemberCertificate::issue(&crew.pl.key, body).unwrap();
    crew.net
        .directory
        .get_mut("duty@cert-pl")
        .unwrap()
        .certificate = renewed.clone();
    // The admin renews them in the channel: the same keys, so the same epoch.
    let (certificate, bundle) = crew.net.bundle("duty@cert-pl");
    assert_eq!(certificate, renewed);
    crew.net
        .engine(ADMIN)
        .renew(crew.id, &user("duty@cert-pl"), &certificate, &bundle, now())
        .unwrap();
    crew.net.settle();
    crew.say("duty@cert-cz", "after the renewal");
    assert!(
        crew.net
            .texts("duty@cert-pl", "incident")
            .contains(&"after the renewal".to_owned()),
        "a member renewed in the channel lacks the sender keys the others rotated while they \
         were not valid, for the rest of the epoch"
    );
}
