//! End-to-end receipts (issue 21): failure reports from anyone but the recipient, or naming bytes
//! the relay changed, send nothing; what is not confirmed is queued again after the wait.

use vigil_protocol::UserId;
use vigil_protocol::content::{DirectContent, MessageRef, Payload, Receipt, ReceiptKind};

use crate::net::{Net, label, now, two_members};

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
