//! Members talking, redeliveries, garbage, ordering, refusals and restarts.

use rand_core::{OsRng, RngCore as _};
use vigil_client::engine::{Body, Engine, EngineError, Event, MIN_ID_PREFIX, TrustWarning};
use vigil_client::history;
use vigil_client::store::StoreError;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Tlp;
use vigil_protocol::prekey::PrekeyBundle;
use vigil_protocol::{CertError, LocalIdentity, UnixTime, UserId};

use crate::net::*;

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
    // Each received message keeps the key that signed it (its trust marker is that key's).
    let lead_key = net.engine("lead@cert-at").certificate().body().identity_key;
    let page = net.engine("officer@cert-at").history(id, None, 10).unwrap();
    let signer_of = |text: &str| {
        page.iter()
            .find(|(_, e)| e.body == Body::Text(text.into()))
            .map(|(_, e)| e.signer)
    };
    assert_eq!(signer_of("one"), Some(Some(lead_key)));
    assert_eq!(signer_of("two"), Some(None), "our own");
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
    let (payload, tampered) = genuine_and_tampered(&mut net, "genuine");
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
    assert!(
        matches!(
            err,
            EngineError::Certificate(CertError::BadSignature { .. })
        ),
        "{err}"
    );
    assert_eq!(err.exit_code(), 1);
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
    assert!(
        matches!(err, EngineError::Certificate(CertError::Expired { .. })),
        "{err}"
    );
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
                    !accepted
                        && matches!(
                            e,
                            EngineError::Certificate(CertError::ClearanceAboveLimit { .. })
                        ),
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
    assert!(
        matches!(&err, EngineError::KeyChanged(u) if u == reissued.user()),
        "{err}"
    );
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
    assert!(
        matches!(err, EngineError::Store(StoreError::WrongPassphrase(_))),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);
    let engine = Engine::open(&home, PASSPHRASE).unwrap();
    net.engines.insert("officer@cert-at".to_owned(), engine);
    net.engine("lead@cert-at")
        .send_text(id, "after", now())
        .unwrap();
    net.settle();
    assert_eq!(net.texts("officer@cert-at", "ops"), ["before", "after"]);
}

#[test]
fn each_refusal_names_what_it_is_about() {
    let (mut net, _) = two_members();
    let officer = UserId::new("officer@cert-at").unwrap();
    let nobody = UserId::new("nobody@cert-at").unwrap();
    let engine = net.engine("lead@cert-at");
    let id = engine.find_channel("ops").unwrap();
    assert!(matches!(
        engine.find_channel("opz"),
        Err(EngineError::NoChannelNamed(name)) if name == "opz"
    ));
    let twin = engine.create_channel("ops", label("TLP:AMBER", "EU RESTRICTED"), now());
    assert!(
        matches!(&twin, Err(EngineError::DuplicateChannelName { name, existing })
            if name == "ops" && *existing == id),
        "a second channel of a name we hold is refused"
    );
    assert_eq!(twin.map(|_| ()).unwrap_err().exit_code(), 2);
    let unknown = ChannelId([0xEE; 32]);
    assert!(matches!(
        engine.channel(unknown),
        Err(EngineError::UnknownChannel(c)) if c == unknown
    ));
    assert!(matches!(
        engine.send_text(id, " \n", now()),
        Err(EngineError::EmptyMessage)
    ));
    assert!(matches!(
        engine.remove(id, std::slice::from_ref(&nobody), "need to know", now()),
        Err(EngineError::NotMember { channel, user }) if channel == id && user == nobody
    ));
    assert!(matches!(
        engine.contact_certificate(&nobody, now()),
        Err(EngineError::UnknownContact(u)) if u == nobody
    ));
    let err = engine.verify(&officer, &"1".repeat(60), now()).unwrap_err();
    assert!(
        matches!(&err, EngineError::SafetyNumberMismatch(u) if *u == officer),
        "{err}"
    );
    assert_eq!(err.exit_code(), 1);
    let (red, _) = engine
        .create_channel("red", label("TLP:RED", "EU RESTRICTED"), now())
        .unwrap();
    let err = history::export(engine, red).unwrap_err();
    assert!(
        matches!(&err, EngineError::NoExport { name, tlp } if name == "red" && *tlp == Tlp::Red),
        "{err}"
    );
    assert_eq!(err.exit_code(), 1);
    // A member removed from a channel can no longer send to it.
    engine
        .remove(id, std::slice::from_ref(&officer), "need to know", now())
        .unwrap();
    net.settle();
    let err = net
        .engine("officer@cert-at")
        .send_text(id, "still here?", now())
        .unwrap_err();
    assert!(
        matches!(err, EngineError::NoLongerMember(c) if c == id),
        "{err}"
    );
    assert_eq!(err.exit_code(), 1);
}

#[test]
fn a_search_pages_through_the_store_and_stops_at_its_limit() {
    let (mut net, _) = two_members();
    let engine = net.engine("lead@cert-at");
    let ops = engine.find_channel("ops").unwrap();
    // More than two of the store pages a search reads at a time.
    for i in 0..1_100 {
        let text = if i % 100 == 7 {
            format!("note {i}: BEACON to 203.0.113.47")
        } else {
            format!("note {i}: quiet")
        };
        engine.send_text(ops, &text, now()).unwrap();
    }
    let (other, _) = engine
        .create_channel("other", label("TLP:AMBER", "EU RESTRICTED"), now())
        .unwrap();
    engine.send_text(other, "a beacon here too", now()).unwrap();
    let texts = |hits: &[history::Hit]| -> Vec<String> {
        hits.iter()
            .map(|h| match &h.entry.body {
                Body::Text(t) => t.clone(),
                other => panic!("not a text: {other:?}"),
            })
            .collect()
    };
    // Every match in the channel, newest first, whatever its case; notices are not searched.
    let all = history::search(engine, Some(ops), "beacon", 100).unwrap();
    let expected: Vec<String> = (0..11)
        .rev()
        .map(|k| format!("note {}: BEACON to 203.0.113.47", k * 100 + 7))
        .collect();
    assert_eq!(texts(&all), expected);
    assert!(all.iter().all(|h| h.channel == ops));
    assert!(
        history::search(engine, Some(ops), "created this channel", 10)
            .unwrap()
            .is_empty()
    );
    // The limit: the newest only.
    let newest = history::search(engine, Some(ops), "beacon", 3).unwrap();
    assert_eq!(texts(&newest), expected[..3]);
    // Every channel.
    let everywhere = history::search(engine, None, "BEACON", 100).unwrap();
    assert_eq!(everywhere.len(), 12);
    assert!(everywhere.iter().any(|h| h.channel == other));
    assert!(matches!(
        history::search(engine, Some(ChannelId([0xEE; 32])), "beacon", 3),
        Err(EngineError::UnknownChannel(_))
    ));
}

/// Two members can each create a channel of the same name; the member in both is never given
/// one of them silently for that name, and names either by a unique id prefix.
#[test]
fn a_name_two_channels_share_is_refused_listing_both_and_ids_pick_one() {
    let (mut net, _) = two_members();
    let lead_ops = net.engine("lead@cert-at").find_channel("ops").unwrap();
    let (own, _) = net
        .engine("officer@cert-at")
        .create_channel("shift", label("TLP:AMBER", "EU RESTRICTED"), now())
        .unwrap();
    let (theirs, _) = net
        .engine("lead@cert-at")
        .create_channel("shift", label("TLP:GREEN", "UNCLASSIFIED"), now())
        .unwrap();
    let (certificate, bundle) = net.bundle("officer@cert-at");
    let officer = certificate.body().user.clone();
    let (_, events) = net
        .engine("lead@cert-at")
        .invite(theirs, &officer, &certificate, &bundle, now())
        .unwrap();
    net.events.insert("lead@cert-at".to_owned(), events);
    net.settle();
    let engine = net.engine("officer@cert-at");
    let err = engine.find_channel("shift").unwrap_err();
    match &err {
        EngineError::AmbiguousChannel { name, candidates } => {
            assert_eq!(name, "shift");
            let mut ids: Vec<ChannelId> = candidates.iter().map(|c| c.id).collect();
            ids.sort();
            let mut both = vec![own, theirs];
            both.sort();
            assert_eq!(ids, both);
            let owners: Vec<&str> = candidates.iter().map(|c| c.owner.as_str()).collect();
            assert!(owners.contains(&"lead@cert-at") && owners.contains(&"officer@cert-at"));
        }
        other => panic!("expected an ambiguous name, got {other:?}"),
    }
    assert_eq!(err.exit_code(), 2);
    assert_eq!(engine.find_channel(&own.to_string()).unwrap(), own);
    assert_eq!(engine.find_channel(&theirs.short()).unwrap(), theirs);
    assert_eq!(engine.find_channel("ops").unwrap(), lead_ops);
    assert!(matches!(
        engine.find_channel(&own.to_string()[..MIN_ID_PREFIX - 1]),
        Err(EngineError::NoChannelNamed(_))
    ));
}
