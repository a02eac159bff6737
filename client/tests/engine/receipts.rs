//! End-to-end receipts (issue 21): failure reports from anyone but the recipient, or naming bytes
//! the relay changed, send nothing; what is not confirmed is queued again after the wait.

use vigil_protocol::cert::{RevocationListBody, RevokedCertificate};
use vigil_protocol::content::{DirectContent, MessageRef, Payload, Receipt, ReceiptKind};
use vigil_protocol::{LocalIdentity, RevocationList, Text, UserId};

use crate::net::{Net, Org, label, now, two_members};

/// The 1:1 payloads waiting for `user` at the simulated relay, taken out of their mailbox.
fn take_direct(net: &mut Net, user: &str) -> Vec<(UserId, Vec<u8>)> {
    let mailbox = net.mail.get_mut(user).unwrap();
    let mut out = Vec::new();
    while let Some((from, payload)) = mailbox.pop_front() {
        out.push((from, payload));
    }
    out.into_iter()
        .filter(|(_, p)| matches!(Payload::from_bytes(p), Ok(Payload::Direct(_))))
        .collect()
}

#[test]
fn reports_of_changed_bytes_or_from_others_send_nothing_and_unconfirmed_payloads_are_queued_again()
{
    let (mut net, mut at) = two_members();
    let id = net.engine("lead@cert-at").find_channel("ops").unwrap();
    net.engine("lead@cert-at")
        .relabel(id, label("TLP:RED", "EU RESTRICTED"), now())
        .unwrap();
    net.send_from("lead@cert-at");
    let direct = take_direct(&mut net, "officer@cert-at");
    assert!(!direct.is_empty());
    let references: Vec<MessageRef> = direct.iter().map(|(_, p)| MessageRef::of(p)).collect();

    // A member of the organisation who was sent nothing reports the lead's payloads as
    // undecryptable: ignored, nothing is sent to anyone.
    let mallory = at.member("mallory@cert-at", 3, now().plus_days(30));
    net.enroll(&mallory);
    let report = DirectContent::Receipt(Receipt {
        kind: ReceiptKind::Undecryptable,
        messages: references.clone(),
    });
    let forged = crate::security::direct(&mut net, &mallory, "lead@cert-at", &report);
    net.deliver("lead@cert-at", mallory.user(), &forged);
    assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), 0);

    // The relay corrupts every 1:1 payload on its way: none decrypts, each is reported.
    for (from, mut payload) in direct {
        let last = payload.len() - 1;
        payload[last] ^= 1;
        net.deliver("officer@cert-at", &from, &payload);
    }
    assert_ne!(
        net.engine("officer@cert-at").channel(id).unwrap().label,
        net.engine("lead@cert-at").channel(id).unwrap().label
    );
    net.engine("officer@cert-at").queue_receipts().unwrap();
    net.send_from("officer@cert-at");
    // The receipts the officer owed since the channel was opened, and one batched report.
    let mut sent = take_direct(&mut net, "lead@cert-at");
    assert_eq!(sent.len(), 2);
    let (from, report_payload) = sent.pop().unwrap();
    for (from, payload) in sent {
        net.deliver("lead@cert-at", &from, &payload);
    }
    assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), 0);
    net.deliver("lead@cert-at", &from, &report_payload);
    // The report names what the officer got: bytes the relay changed are not what the lead
    // sent, so it makes the lead send nothing.
    assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), 0);
    assert_eq!(net.engine("lead@cert-at").unconfirmed().unwrap(), 2);
    let later = now().plus_secs(vigil_client::engine::RESEND_AFTER_SECS + 1);
    net.engine("lead@cert-at").queue_resends(later).unwrap();
    assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), 2);
    net.settle();

    // The report replayed by the relay, and the forged one again: nothing is sent again.
    net.deliver("lead@cert-at", &from, &report_payload);
    let again = crate::security::direct(&mut net, &mallory, "lead@cert-at", &report);
    net.deliver("lead@cert-at", mallory.user(), &again);
    assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), 0);
}

/// Lead and officer in `ops`; the officer's device is then reinstalled from the same keys and
/// the lead relabels the channel: the 1:1 payloads it sends the officer over its old session
/// are delivered and not decrypted. Returns the net, the organisation, the officer, what the
/// lead kept unconfirmed before, and how many payloads failed.
fn reinstalled_officer_gets_undecryptable() -> (Net, Org, LocalIdentity, usize, usize) {
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
    net.engine("lead@cert-at")
        .invite(id, officer.user(), &certificate, &bundle, now())
        .unwrap();
    net.settle();
    // (This simulation never has the officer's device send its receipts.)
    let before = net.engine("lead@cert-at").unconfirmed().unwrap();
    // Reinstalled from the same bundle: no sessions, no channels.
    net.engines.remove("officer@cert-at");
    net.enroll(&officer);
    net.engine("lead@cert-at")
        .relabel(id, label("TLP:RED", "EU RESTRICTED"), now())
        .unwrap();
    net.send_from("lead@cert-at");
    let direct = take_direct(&mut net, "officer@cert-at");
    let sent = direct.len();
    assert!(sent > 0);
    for (from, payload) in &direct {
        net.deliver("officer@cert-at", from, payload);
    }
    assert_eq!(net.placeholders("officer@cert-at"), sent);
    (net, at, officer, before, sent)
}

/// The officer's device was reinstalled from the same keys: it has no session with the lead,
/// whose session with those keys is still valid. What the lead sends over it cannot be
/// decrypted; the officer reports it over a fresh session, and the lead sends it again once
/// over a fresh session, which the officer decrypts.
#[test]
fn an_undecryptable_direct_message_is_reported_and_sent_again_once_over_a_fresh_session() {
    let (mut net, _, _, before, sent) = reinstalled_officer_gets_undecryptable();

    // One batched report, over a fresh session (the officer has none with the lead).
    net.engine("officer@cert-at").queue_receipts().unwrap();
    net.send_from("officer@cert-at");
    let reports = take_direct(&mut net, "lead@cert-at");
    assert_eq!(reports.len(), 1);
    let (from, report) = &reports[0];
    net.deliver("lead@cert-at", from, report);
    assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), sent);
    // The same report again (a replay by the relay): nothing more.
    net.deliver("lead@cert-at", from, report);
    assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), sent);

    net.send_from("lead@cert-at");
    let again = take_direct(&mut net, "officer@cert-at");
    assert_eq!(again.len(), sent);
    for (from, payload) in &again {
        net.deliver("officer@cert-at", from, payload);
    }
    // Decrypted this time: no new placeholder; the officer confirms, the lead forgets them.
    assert_eq!(net.placeholders("officer@cert-at"), sent);
    net.engine("officer@cert-at").queue_receipts().unwrap();
    net.send_from("officer@cert-at");
    for (from, payload) in take_direct(&mut net, "lead@cert-at") {
        net.deliver("lead@cert-at", &from, &payload);
    }
    // Only what the device before the reinstall never confirmed is left.
    assert_eq!(net.engine("lead@cert-at").unconfirmed().unwrap(), before);
    assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), 0);
}

/// A relay that withholds every receipt (here: receipts are never sent) makes the sender send
/// again a bounded number of times, then forget; the recipient shows the message once.
#[test]
fn withheld_receipts_cost_a_bounded_number_of_re_sends_and_nothing_is_shown_twice() {
    use vigil_client::engine::{MAX_RESENDS, RESEND_AFTER_SECS};

    let (mut net, _) = two_members();
    let id = net.engine("lead@cert-at").find_channel("ops").unwrap();
    net.engine("lead@cert-at")
        .send_text(id, "one copy only", now())
        .unwrap();
    net.settle();
    let kept = net.engine("lead@cert-at").unconfirmed().unwrap();
    assert!(kept >= 1);
    let mut at = now();
    for round in 0..MAX_RESENDS {
        at = at.plus_secs(RESEND_AFTER_SECS << round);
        net.engine("lead@cert-at").queue_resends(at).unwrap();
        assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), kept);
        net.settle();
        assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), 0);
    }
    at = at.plus_secs(RESEND_AFTER_SECS << MAX_RESENDS);
    net.engine("lead@cert-at").queue_resends(at).unwrap();
    assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), 0);
    assert_eq!(net.engine("lead@cert-at").unconfirmed().unwrap(), 0);
    assert_eq!(net.texts("officer@cert-at", "ops"), ["one copy only"]);
}

/// A failure report from a member revoked before the lead acts on it sends them nothing: the
/// content goes only to a valid certificate of the member it was meant for.
#[test]
fn a_report_from_a_member_revoked_meanwhile_sends_them_nothing() {
    let (mut net, at, officer, _, _) = reinstalled_officer_gets_undecryptable();
    net.engine("officer@cert-at").queue_receipts().unwrap();
    net.send_from("officer@cert-at");
    let reports = take_direct(&mut net, "lead@cert-at");
    for (from, report) in &reports {
        net.deliver("lead@cert-at", from, report);
    }
    assert!(net.engine("lead@cert-at").outbox_len().unwrap() > 0);
    let list = RevocationList::sign(
        &at.key,
        RevocationListBody {
            org: at.root.org().clone(),
            version: 2,
            issued_at: now(),
            entries: vec![RevokedCertificate {
                serial: officer.certificate().body().serial,
                user: officer.user().clone(),
                revoked_at: now(),
                reason: Text::new("laptop stolen").unwrap(),
            }],
        },
    );
    let events = net
        .engine("lead@cert-at")
        .update_revocations(vec![list], now())
        .unwrap();
    net.record("lead@cert-at", events);
    net.send_from("lead@cert-at");
    assert!(take_direct(&mut net, "officer@cert-at").is_empty());
    assert_eq!(net.engine("lead@cert-at").outbox_len().unwrap(), 0);
}
