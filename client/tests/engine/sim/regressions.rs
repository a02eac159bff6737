//! What the randomized run found, each reduced to the few steps that show it.

use vigil_client::engine::{Body, Delivery};
use vigil_protocol::channel::ChannelId;
use vigil_protocol::{LocalIdentity, UserId};

use super::{Sim, Step};
use crate::net::{Org, label, now};

const LEAD: &str = "lead@cert-at";

/// `lead@cert-at` (owner), `a@cert-at` and `b@cert-at` in one channel, settled;
/// `c@cert-at` enrolled, not invited.
fn three_members() -> (Sim, ChannelId) {
    let mut at = Org::new("CERT-AT");
    let far = now().plus_days(30);
    let members: Vec<LocalIdentity> = [LEAD, "a@cert-at", "b@cert-at", "c@cert-at"]
        .iter()
        .map(|u| at.member(u, 3, far))
        .collect();
    let mut sim = Sim::new(&[&at]);
    for m in &members {
        sim.enroll(m);
    }
    let (id, _) = sim
        .engine(LEAD)
        .create_channel("ops", label("TLP:AMBER", "EU RESTRICTED"), now())
        .unwrap();
    for invited in ["a@cert-at", "b@cert-at"] {
        let (certificate, bundle) = sim.bundle(invited);
        let user = certificate.body().user.clone();
        sim.engine(LEAD)
            .invite(id, &user, &certificate, &bundle, now())
            .unwrap();
    }
    sim.settle();
    (sim, id)
}

/// Seed 2 of the randomized run, step 9861: a member removed, then invited again in the
/// epoch its removal started, after others were invited, sent its sender key only to those
/// others, so the members it had left never read it again (its messages waited at theirs for
/// a key that never came).
#[test]
fn a_member_invited_again_in_the_same_epoch_is_read_by_everyone() {
    let (mut sim, id) = three_members();
    let b = UserId::new("b@cert-at").unwrap();
    sim.engine(LEAD)
        .remove(id, std::slice::from_ref(&b), "rotation", now())
        .unwrap();
    sim.settle();
    let (certificate, bundle) = sim.bundle("c@cert-at");
    let c = certificate.body().user.clone();
    sim.engine(LEAD)
        .invite(id, &c, &certificate, &bundle, now())
        .unwrap();
    sim.settle();
    let (certificate, bundle) = sim.bundle("b@cert-at");
    sim.engine(LEAD)
        .invite(id, &b, &certificate, &bundle, now())
        .unwrap();
    sim.settle();
    assert!(sim.engine("b@cert-at").channel(id).unwrap().member);
    sim.engine("b@cert-at")
        .send_text(id, "back again", now())
        .unwrap();
    sim.settle();
    for reader in [LEAD, "a@cert-at", "c@cert-at"] {
        assert_eq!(
            sim.texts(reader, "ops").last().map(String::as_str),
            Some("back again"),
            "{reader} cannot read a member invited again ({} waiting)",
            sim.engine(reader).waiting(id)
        );
    }
}

/// Seeds 1 and 2 of the randomized run: a channel message the relay stored while its answer
/// was lost, then sealed again under a new client message id when a removal reached its
/// sender before the resend, is stored twice, and every remaining member shows it twice (the
/// old epoch's copy still opens within its grace period). Not fixed: the engine cannot tell
/// whether the first send was stored, nor a receiver that two ciphertexts are one message (the
/// content carries no message id); see the report of issue 16.
#[test]
#[ignore = "engine bug, not fixed: a message sealed again after a lost answer is shown twice"]
fn a_message_sealed_again_after_a_lost_answer_is_shown_once() {
    let (mut sim, id) = three_members();
    sim.engine("a@cert-at")
        .send_text(id, "once", now())
        .unwrap();
    // Stored for lead and b; the answer is lost with a's connection.
    sim.step(&Step::LoseAnswer {
        from: "a@cert-at".to_owned(),
    });
    let b = UserId::new("b@cert-at").unwrap();
    sim.engine(LEAD)
        .remove(id, std::slice::from_ref(&b), "rotation", now())
        .unwrap();
    sim.step(&Step::Flush {
        from: LEAD.to_owned(),
    });
    // a logs in again and applies the removal before its outbox goes out.
    sim.step(&Step::Online("a@cert-at".to_owned()));
    loop {
        sim.step(&Step::Deliver {
            to: "a@cert-at".to_owned(),
            nth: 0,
            again: false,
        });
        if sim.in_flight("a@cert-at") == 0 {
            break;
        }
    }
    sim.settle();
    let texts = sim.texts(LEAD, "ops");
    assert_eq!(
        texts.iter().filter(|t| *t == "once").count(),
        1,
        "{texts:?}"
    );
}

/// Seed 3 of the randomized run, step 3372: a member whose message was still queued applied,
/// in one step, the removal of another member and its own; its message, sealed for the
/// members before both, then went out to the removed one.
#[test]
fn a_message_queued_by_a_member_removed_meanwhile_goes_to_nobody() {
    let (mut sim, id) = three_members();
    sim.engine("a@cert-at")
        .send_text(id, "typed before both removals", now())
        .unwrap();
    for removed in ["b@cert-at", "a@cert-at"] {
        let user = UserId::new(removed).unwrap();
        sim.engine(LEAD)
            .remove(id, std::slice::from_ref(&user), "rotation", now())
            .unwrap();
    }
    sim.step(&Step::Flush {
        from: LEAD.to_owned(),
    });
    // What the owner sent reaches a backwards: the second removal waits for the first, and
    // both apply in one step, before a's outbox goes out.
    sim.step(&Step::Advance(0));
    for nth in (0..sim.in_flight("a@cert-at")).rev() {
        sim.step(&Step::Deliver {
            to: "a@cert-at".to_owned(),
            nth,
            again: false,
        });
    }
    assert!(!sim.engine("a@cert-at").channel(id).unwrap().member);
    sim.settle();
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
    let (_, entry) = sim
        .engine("a@cert-at")
        .history(id, None, 100)
        .unwrap()
        .into_iter()
        .find(|(_, e)| e.body == Body::Text("typed before both removals".into()))
        .unwrap();
    assert!(
        matches!(entry.delivery, Some(Delivery::Failed(_))),
        "{:?}",
        entry.delivery
    );
}
