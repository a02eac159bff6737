//! The user stories of the client engine, end to end: organisations provisioned with
//! `vigil-keytool`, one shared relay on 127.0.0.1 (port 0), and each member a real `vigil`
//! process with its own sealed store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::path::Path;

use vigil_tests::federation::{Federation, Member, RunningRelay};

fn vigil() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vigil"))
}

/// Issues and enrolls `users` (id, clearance) against the running relay.
fn enroll(fed: &Federation, relay: &RunningRelay, users: &[(&str, &str)]) -> Vec<Member> {
    users
        .iter()
        .map(|(user, clearance)| {
            let bundle = fed.issue(user, clearance);
            let mut member = fed.member(user);
            member.use_relay(relay.addr);
            member.enroll(vigil(), &bundle);
            member
        })
        .collect()
}

/// The message texts of `vigil read` output: `TIME  Name <id> (trust) [delivery]: TEXT`.
fn texts(run_stdout: &str) -> Vec<String> {
    run_stdout
        .lines()
        .filter_map(|l| {
            let (_, after) = l.split_once("> (")?;
            let (_, text) = after.split_once(": ")?;
            Some(text.to_owned())
        })
        .collect()
}

fn read(member: &Member, channel: &str) -> Vec<String> {
    let run = member.run(vigil(), &["read", channel]).ok();
    texts(&run.stdout)
}

#[test]
fn an_amber_incident_channel_across_two_organisations() {
    let fed = Federation::new(&["CERT-AT", "CERT-CZ"]);
    let relay = fed.start_relay();
    let [lead, anna, jana, intern] = enroll(
        &fed,
        &relay,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("anna@cert-at", "EU RESTRICTED"),
            ("jana@cert-cz", "VYHRAZENE"),
            ("intern@cert-at", "UNCLASSIFIED"),
        ],
    )
    .try_into()
    .unwrap();

    let created = lead
        .run(
            vigil(),
            &[
                "channel",
                "create",
                "incident-42",
                "--tlp",
                "TLP:AMBER",
                "--level",
                "EU RESTRICTED",
                "--caveat",
                "REL TO AT,CZ",
            ],
        )
        .ok();
    assert!(
        created
            .stdout
            .contains("TLP:AMBER | EU RESTRICTED | REL TO AT,CZ"),
        "{}",
        created.stdout
    );
    lead.run(
        vigil(),
        &["channel", "invite", "incident-42", "anna@cert-at"],
    )
    .ok();
    lead.run(
        vigil(),
        &["channel", "invite", "incident-42", "jana@cert-cz"],
    )
    .ok();

    // An uncleared member is refused with the reason, and nothing changes.
    let refused = lead
        .run(
            vigil(),
            &["channel", "invite", "incident-42", "intern@cert-at"],
        )
        .expect_code(1);
    assert!(
        refused.stderr.contains("clearance UNCLASSIFIED")
            && refused.stderr.contains("requires EU RESTRICTED"),
        "{}",
        refused.stderr
    );

    lead.run(
        vigil(),
        &["send", "incident-42", "IOC 198.51.100.23 beaconing on 8443"],
    )
    .ok();
    assert_eq!(
        read(&jana, "incident-42"),
        ["IOC 198.51.100.23 beaconing on 8443"]
    );
    jana.run(
        vigil(),
        &["send", "incident-42", "Seen at CZ too; blocking"],
    )
    .ok();
    anna.run(vigil(), &["send", "incident-42", "AT perimeter blocked"])
        .ok();
    let at_lead = read(&lead, "incident-42");
    assert_eq!(
        at_lead,
        [
            "IOC 198.51.100.23 beaconing on 8443",
            "Seen at CZ too; blocking",
            "AT perimeter blocked"
        ]
    );
    let seen_by_jana = read(&jana, "incident-42");
    assert_eq!(seen_by_jana, at_lead);

    // The banner and the members, as listed by the partner's officer.
    let listed = jana.run(vigil(), &["channel", "list"]).ok();
    assert!(
        listed.stdout.contains("incident-42")
            && listed
                .stdout
                .contains("[TLP:AMBER | EU RESTRICTED | REL TO AT,CZ]")
            && listed.stdout.contains("jana@cert-cz"),
        "{}",
        listed.stdout
    );
    let page = jana.run(vigil(), &["read", "incident-42"]).ok();
    let first = page.stdout.lines().next().unwrap();
    let last = page.stdout.lines().last().unwrap();
    assert_eq!(first, "==== TLP:AMBER | EU RESTRICTED | REL TO AT,CZ ====");
    assert_eq!(first, last);

    // --json: one object per line, with the trust state.
    let json = lead.run(vigil(), &["read", "incident-42", "--json"]).ok();
    let line = json
        .stdout
        .lines()
        .find(|l| l.contains("Seen at CZ too"))
        .unwrap();
    assert!(
        line.starts_with('{')
            && line.contains("\"sender\":\"jana@cert-cz\"")
            && line.contains("\"trust\":\"unverified\"")
            && line.contains("\"kind\":\"text\""),
        "{line}"
    );
    drop(intern);
    relay.stop();
}

#[test]
fn messages_queue_while_a_member_is_offline_and_arrive_on_return() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let [mut lead, mut officer] = enroll(
        &fed,
        &relay,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("officer@cert-at", "EU SECRET"),
        ],
    )
    .try_into()
    .unwrap();
    lead.run(
        vigil(),
        &[
            "channel",
            "create",
            "night",
            "--tlp",
            "TLP:GREEN",
            "--level",
            "UNCLASSIFIED",
        ],
    )
    .ok();
    lead.run(vigil(), &["channel", "invite", "night", "officer@cert-at"])
        .ok();
    // The officer's laptop is closed: the relay keeps what is sent meanwhile.
    for i in 0..5 {
        lead.run(vigil(), &["send", "night", &format!("update {i}")])
            .ok();
    }
    // The relay goes away; the lead types on, and the messages wait in the outbox.
    relay.stop();
    let queued = lead
        .run(
            vigil(),
            &["send", "night", "typed while the relay was down"],
        )
        .ok();
    assert!(queued.stderr.contains("queued"), "{}", queued.stderr);
    let offline_read = lead.run(vigil(), &["read", "night"]).ok();
    assert!(
        offline_read
            .stdout
            .contains("[queued]: typed while the relay was down"),
        "{}",
        offline_read.stdout
    );

    // The relay is back (same data, a new port); the lead's next run sends the outbox.
    let relay = fed.start_relay();
    lead.use_relay(relay.addr);
    officer.use_relay(relay.addr);
    let page = lead.run(vigil(), &["read", "night"]).ok();
    assert!(
        page.stdout
            .contains("[sent]: typed while the relay was down"),
        "{}",
        page.stdout
    );
    let expected: Vec<String> = (0..5)
        .map(|i| format!("update {i}"))
        .chain(["typed while the relay was down".to_owned()])
        .collect();
    assert_eq!(read(&officer, "night"), expected);
    // Read again: nothing twice.
    assert_eq!(read(&officer, "night"), expected);
}

#[test]
fn a_removed_member_reads_nothing_sent_later() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let [lead, stays, leaves] = enroll(
        &fed,
        &relay,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("stays@cert-at", "EU SECRET"),
            ("leaves@cert-at", "EU SECRET"),
        ],
    )
    .try_into()
    .unwrap();
    lead.run(
        vigil(),
        &[
            "channel",
            "create",
            "ops",
            "--tlp",
            "TLP:AMBER",
            "--level",
            "EU CONFIDENTIAL",
        ],
    )
    .ok();
    for user in ["stays@cert-at", "leaves@cert-at"] {
        lead.run(vigil(), &["channel", "invite", "ops", user]).ok();
    }
    lead.run(vigil(), &["send", "ops", "before the removal"])
        .ok();
    assert_eq!(read(&leaves, "ops"), ["before the removal"]);
    lead.run(
        vigil(),
        &[
            "channel",
            "remove",
            "ops",
            "leaves@cert-at",
            "--reason",
            "off shift",
        ],
    )
    .ok();
    lead.run(vigil(), &["send", "ops", "after the removal"])
        .ok();
    stays.run(vigil(), &["send", "ops", "stays replies"]).ok();
    assert_eq!(
        read(&stays, "ops"),
        ["before the removal", "after the removal", "stays replies"]
    );
    let page = leaves.run(vigil(), &["read", "ops"]).ok();
    assert_eq!(texts(&page.stdout), ["before the removal"]);
    assert!(
        page.stdout.contains("You were removed from this channel"),
        "{}",
        page.stdout
    );
    let refused = leaves
        .run(vigil(), &["send", "ops", "still here?"])
        .expect_code(1);
    assert!(
        refused.stderr.contains("no longer a member"),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_revoked_member_is_removed_automatically() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let [lead, other, lost] = enroll(
        &fed,
        &relay,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("other@cert-at", "EU SECRET"),
            ("lost@cert-at", "EU SECRET"),
        ],
    )
    .try_into()
    .unwrap();
    lead.run(
        vigil(),
        &[
            "channel",
            "create",
            "ops",
            "--tlp",
            "TLP:AMBER",
            "--level",
            "EU RESTRICTED",
        ],
    )
    .ok();
    for user in ["other@cert-at", "lost@cert-at"] {
        lead.run(vigil(), &["channel", "invite", "ops", user]).ok();
    }
    assert!(read(&lost, "ops").is_empty());
    // Times have one-second resolution: revoke in a later second than the invite was signed
    // (a state signed in the second of the revocation counts as signed after it).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    fed.revoke("lost@cert-at", "laptop stolen");
    // The relay re-reads its revocation directory every 2 s; the lead's client learns of the
    // new list at its next connection, and removes the member by itself.
    let mut listed = String::new();
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        listed = lead.run(vigil(), &["channel", "list"]).ok().stdout;
        if !listed.contains("lost@cert-at") {
            break;
        }
    }
    assert!(!listed.contains("lost@cert-at"), "{listed}");
    let page = lead.run(vigil(), &["read", "ops"]).ok();
    assert!(
        page.stdout.contains("removed lost@cert-at") && page.stdout.contains("laptop stolen"),
        "{}",
        page.stdout
    );
    lead.run(vigil(), &["send", "ops", "after the revocation"])
        .ok();
    assert_eq!(read(&other, "ops"), ["after the revocation"]);
    let refused = lost.run(vigil(), &["read", "ops"]).expect_code(1);
    assert!(
        refused.stderr.contains("refused the login") && refused.stderr.contains("revoked"),
        "{}",
        refused.stderr
    );
}

#[test]
fn amber_strict_refuses_a_partner_member_and_red_gives_no_history_and_no_export() {
    let fed = Federation::new(&["CERT-AT", "CERT-CZ"]);
    let relay = fed.start_relay();
    let [lead, colleague, late, partner] = enroll(
        &fed,
        &relay,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("colleague@cert-at", "EU SECRET"),
            ("late@cert-at", "EU SECRET"),
            ("partner@cert-cz", "EU SECRET"),
        ],
    )
    .try_into()
    .unwrap();

    lead.run(
        vigil(),
        &[
            "channel",
            "create",
            "internal",
            "--tlp",
            "TLP:AMBER+STRICT",
            "--level",
            "EU RESTRICTED",
        ],
    )
    .ok();
    lead.run(
        vigil(),
        &["channel", "invite", "internal", "colleague@cert-at"],
    )
    .ok();
    let refused = lead
        .run(
            vigil(),
            &["channel", "invite", "internal", "partner@cert-cz"],
        )
        .expect_code(1);
    assert!(
        refused.stderr.contains("TLP:AMBER+STRICT"),
        "{}",
        refused.stderr
    );

    lead.run(
        vigil(),
        &[
            "channel",
            "create",
            "red",
            "--tlp",
            "TLP:RED",
            "--level",
            "EU SECRET",
        ],
    )
    .ok();
    lead.run(vigil(), &["channel", "invite", "red", "colleague@cert-at"])
        .ok();
    lead.run(vigil(), &["send", "red", "before the late joiner"])
        .ok();
    assert_eq!(read(&colleague, "red"), ["before the late joiner"]);
    lead.run(vigil(), &["channel", "invite", "red", "late@cert-at"])
        .ok();
    lead.run(vigil(), &["send", "red", "after the late joiner"])
        .ok();
    let page = late.run(vigil(), &["read", "red"]).ok();
    assert_eq!(texts(&page.stdout), ["after the late joiner"]);
    assert!(
        page.stdout
            .contains("you see only what is sent from now on"),
        "{}",
        page.stdout
    );

    // TLP:RED is never exported; an AMBER+STRICT channel is, between its banners.
    let out = fed.dir.path().join("red.md");
    let refused = lead
        .run(vigil(), &["export", "red", "--out", out.to_str().unwrap()])
        .expect_code(1);
    assert!(
        refused.stderr.contains("never exported"),
        "{}",
        refused.stderr
    );
    assert!(!out.exists());
    lead.run(vigil(), &["send", "internal", "internal note"])
        .ok();
    let md = fed.dir.path().join("internal.md");
    lead.run(
        vigil(),
        &["export", "internal", "--out", md.to_str().unwrap()],
    )
    .ok();
    let text = std::fs::read_to_string(&md).unwrap();
    let banner = "> **TLP:AMBER+STRICT | EU RESTRICTED**";
    assert!(text.starts_with(banner), "{text}");
    assert!(text.trim_end().ends_with(banner), "{text}");
    assert!(text.contains("    internal note"), "{text}");
    assert!(text.contains("Lead <lead@cert-at> (you)"), "{text}");
    let json = fed.dir.path().join("internal.json");
    lead.run(
        vigil(),
        &[
            "export",
            "internal",
            "--out",
            json.to_str().unwrap(),
            "--format",
            "json",
        ],
    )
    .ok();
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(
        text.starts_with("{\"label\":\"TLP:AMBER+STRICT | EU RESTRICTED\"")
            && text.contains("\"text\":\"internal note\"")
            && text
                .trim_end()
                .ends_with("\"label_end\":\"TLP:AMBER+STRICT | EU RESTRICTED\"}"),
        "{text}"
    );
    drop(partner);
}
