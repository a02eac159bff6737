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

use vigil_tests::federation::{Federation, Member, RunningRelay, texts};
use vigil_tests::files_under;

/// Failures reported as JSON, so a test asserts which refusal it was by its kind.
const JSON_ERRORS: [&str; 2] = ["--error-format", "json"];

fn vigil() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vigil"))
}

/// Issues and enrolls `users` (id, clearance) against the running relay.
fn enroll(fed: &Federation, relay: &RunningRelay, users: &[(&str, &str)]) -> Vec<Member> {
    fed.enroll_all(vigil(), relay.addr, users)
}

fn read(member: &Member, channel: &str) -> Vec<String> {
    member.read_texts(vigil(), channel)
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
            &[
                JSON_ERRORS[0],
                JSON_ERRORS[1],
                "channel",
                "invite",
                "incident-42",
                "intern@cert-at",
            ],
        )
        .expect_code(1);
    assert_eq!(refused.error_kind(), "insufficient_clearance");

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
        .run(
            vigil(),
            &[JSON_ERRORS[0], JSON_ERRORS[1], "send", "ops", "still here?"],
        )
        .expect_code(1);
    assert_eq!(refused.error_kind(), "no_longer_member");
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
    lead.open_ops_channel(vigil(), "other@cert-at");
    lead.run(vigil(), &["channel", "invite", "ops", "lost@cert-at"])
        .ok();
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
    let refused = lost
        .run(vigil(), &[JSON_ERRORS[0], JSON_ERRORS[1], "read", "ops"])
        .expect_code(1);
    assert_eq!(refused.error_kind(), "login_refused");
}

/// The channel security review's end-to-end story: three organisations in one channel; the
/// owner and two members (of two other organisations) are revoked; within one revocation
/// refresh of the admin's client, the admin has removed all three in one change and taken
/// over, the others applied it, and the channel works on without them.
#[test]
fn revoking_two_members_and_the_owner_of_a_three_organisation_channel_leaves_it_working() {
    let fed = Federation::new(&["CERT-AT", "CERT-CZ", "CERT-PL"]);
    let relay = fed.start_relay();
    let members = enroll(
        &fed,
        &relay,
        &[
            ("lead@cert-at", "EU RESTRICTED"),
            ("deputy@cert-cz", "EU RESTRICTED"),
            ("anna@cert-at", "EU RESTRICTED"),
            ("jana@cert-cz", "EU RESTRICTED"),
            ("piotr@cert-pl", "EU RESTRICTED"),
            ("ewa@cert-pl", "EU RESTRICTED"),
        ],
    );
    let [lead, deputy, anna, jana, piotr, ewa] = members.try_into().unwrap();
    lead.open_ops_channel(vigil(), "deputy@cert-cz");
    for invitee in [
        "anna@cert-at",
        "jana@cert-cz",
        "piotr@cert-pl",
        "ewa@cert-pl",
    ] {
        lead.run(vigil(), &["channel", "invite", "ops", invitee])
            .ok();
    }
    lead.run(vigil(), &["channel", "admins", "ops", "deputy@cert-cz"])
        .ok();
    for member in [&deputy, &anna, &jana, &piotr, &ewa] {
        member.run(vigil(), &["channel", "list"]).ok();
    }
    lead.run(vigil(), &["send", "ops", "before the revocations"])
        .ok();
    assert_eq!(read(&ewa, "ops"), ["before the revocations"]);
    // Revoked in a later second than the last state was signed (one-second resolution).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for (user, reason) in [
        ("lead@cert-at", "laptop stolen"),
        ("anna@cert-at", "left the team"),
        ("piotr@cert-pl", "key compromised"),
    ] {
        fed.revoke(user, reason);
    }
    // The relay re-reads its revocation directory every 2 s (the three organisations' lists
    // may reach it in different re-reads); each connection of the admin's client fetches the
    // lists, removes whom they revoke and takes over.
    let gone = ["lead@cert-at", "anna@cert-at", "piotr@cert-pl"];
    let mut listed = String::new();
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        listed = deputy.run(vigil(), &["channel", "list"]).ok().stdout;
        if listed.contains("owner deputy@cert-cz") && !gone.iter().any(|g| listed.contains(g)) {
            break;
        }
    }
    assert!(listed.contains("owner deputy@cert-cz"), "{listed}");
    for gone in gone {
        assert!(!listed.contains(gone), "{gone} still listed: {listed}");
    }
    let history = deputy
        .run(vigil(), &["channel", "history", "ops"])
        .ok()
        .stdout;
    assert!(history.contains("took over as owner"), "{history}");
    // The others follow at their next connection; the channel works without the three.
    deputy
        .run(vigil(), &["send", "ops", "after the revocations"])
        .ok();
    for member in [&jana, &ewa] {
        assert_eq!(
            read(member, "ops").last().map(String::as_str),
            Some("after the revocations")
        );
        let list = member.run(vigil(), &["channel", "list"]).ok().stdout;
        assert!(list.contains("owner deputy@cert-cz"), "{list}");
    }
    jana.run(vigil(), &["send", "ops", "jana is still here"])
        .ok();
    assert_eq!(
        read(&ewa, "ops").last().map(String::as_str),
        Some("jana is still here")
    );
    for revoked in [&lead, &anna, &piotr] {
        revoked.run(vigil(), &["read", "ops"]).expect_code(1);
    }
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
            &[
                JSON_ERRORS[0],
                JSON_ERRORS[1],
                "channel",
                "invite",
                "internal",
                "partner@cert-cz",
            ],
        )
        .expect_code(1);
    assert_eq!(refused.error_kind(), "outside_owner_org");

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
        .run(
            vigil(),
            &[
                JSON_ERRORS[0],
                JSON_ERRORS[1],
                "export",
                "red",
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .expect_code(1);
    assert_eq!(refused.error_kind(), "no_export");
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

/// A lead and an officer in an AMBER channel.
fn pair(fed: &Federation, relay: &RunningRelay) -> (Member, Member) {
    let [lead, officer] = enroll(
        fed,
        relay,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("officer@cert-at", "EU SECRET"),
        ],
    )
    .try_into()
    .unwrap();
    lead.open_ops_channel(vigil(), "officer@cert-at");
    (lead, officer)
}

#[test]
fn no_plaintext_and_no_unsealed_key_in_the_client_stores_or_on_the_relay() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let (lead, officer) = pair(&fed, &relay);
    let secrets = [
        "exfiltration via 203.0.113.77 port 8443, C2 beacon every 300s",
        "handover: the YARA rule for the loader is in the shared drive",
    ];
    lead.run(vigil(), &["send", "ops", secrets[0]]).ok();
    officer.run(vigil(), &["send", "ops", secrets[1]]).ok();
    assert_eq!(read(&lead, "ops"), secrets);
    // The keys: the bundle is the only place they are in the clear here (the test opens it).
    let mut needles: Vec<Vec<u8>> = secrets.iter().map(|s| s.as_bytes().to_vec()).collect();
    for user in ["lead@cert-at", "officer@cert-at"] {
        let bundle = fed.dir.path().join(format!("{user}.bundle"));
        let (_, bytes) =
            vigil_protocol::provisioning::dearmor(&std::fs::read_to_string(&bundle).unwrap())
                .unwrap();
        let sealed = vigil_protocol::provisioning::SealedFile::from_bytes(&bytes).unwrap();
        let contents = vigil_protocol::provisioning::BundleContents::open(
            &sealed,
            b"federation bundle passphrase",
        )
        .unwrap();
        let identity = contents.local_identity().unwrap();
        needles.push(identity.identity().to_seed().to_vec());
        needles.push(identity.agreement().to_bytes().to_vec());
        needles.push(user.as_bytes().to_vec()); // contacts' ids are blinded too
    }
    // The TUI's saved state (a draft, a sent message) is sealed too, and reads back after the
    // store is opened again with the passphrase.
    let draft = "draft: second C2 at 198.51.100.23, do not send before the call";
    let state = vigil_client::ui_state::UiState {
        drafts: [(vigil_protocol::channel::ChannelId([7; 32]), draft.into())].into(),
        sent: vec!["recalled: the proxy logs are in the usual place".into()],
        ..Default::default()
    };
    let passphrase = vigil_tests::federation::STORE_PASSPHRASE;
    let engine = vigil_client::engine::Engine::open(&lead.home, passphrase).unwrap();
    engine.save_ui_state(&state).unwrap();
    drop(engine);
    let engine = vigil_client::engine::Engine::open(&lead.home, passphrase).unwrap();
    assert_eq!(engine.ui_state().unwrap(), state);
    drop(engine);
    needles.push(draft.as_bytes().to_vec());
    needles.push(state.sent[0].as_bytes().to_vec());
    for (path, bytes) in files_under(&lead.home)
        .into_iter()
        .chain(files_under(&officer.home))
    {
        for needle in &needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{} holds {:?} unsealed",
                path.display(),
                String::from_utf8_lossy(&needle[..needle.len().min(24)])
            );
        }
    }
    relay.stop();
    for (path, bytes) in files_under(&fed.relay_data()) {
        for needle in &needles[..2] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "relay file {} holds message text",
                path.display()
            );
        }
    }
}

#[test]
fn a_wrong_passphrase_is_one_clear_error_and_changes_nothing() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let (lead, _) = pair(&fed, &relay);
    let before = files_under(&lead.home);
    let wrong = fed.dir.path().join("wrong-pass");
    std::fs::write(&wrong, "not my passphrase at all").unwrap();
    let run: vigil_tests::federation::Run = lead
        .command(vigil(), &["channel", "list"])
        .arg("--passphrase-file")
        .arg(&wrong)
        .output()
        .unwrap()
        .into();
    let run = run.expect_code(2);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "vigil: wrong passphrase for the Vigil store in {}",
            lead.home.display()
        )
    );
    assert!(run.stdout.is_empty());
    assert_eq!(before, files_under(&lead.home));
}

#[test]
fn safety_numbers_match_on_both_sides_and_verify_marks_the_contact() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let (lead, officer) = pair(&fed, &relay);
    let _ = read(&officer, "ops");
    let number =
        |run: &vigil_tests::federation::Run| run.stdout.lines().nth(1).unwrap().trim().to_owned();
    let ours = lead.run(vigil(), &["verify", "officer@cert-at"]).ok();
    let theirs = officer.run(vigil(), &["verify", "lead@cert-at"]).ok();
    assert_eq!(number(&ours), number(&theirs));
    assert!(
        ours.stdout.contains("Status: not verified"),
        "{}",
        ours.stdout
    );
    let mismatch = lead
        .run(
            vigil(),
            &[
                JSON_ERRORS[0],
                JSON_ERRORS[1],
                "verify",
                "officer@cert-at",
                "--number",
                &"1".repeat(60),
            ],
        )
        .expect_code(1);
    assert_eq!(mismatch.error_kind(), "safety_number_mismatch");
    lead.run(
        vigil(),
        &["verify", "officer@cert-at", "--number", &number(&theirs)],
    )
    .ok();
    let status = lead.run(vigil(), &["verify", "officer@cert-at"]).ok();
    assert!(
        status.stdout.contains("Status: verified"),
        "{}",
        status.stdout
    );
    officer.run(vigil(), &["send", "ops", "checked"]).ok();
    let json = lead.run(vigil(), &["read", "ops", "--json"]).ok();
    assert!(
        json.stdout
            .lines()
            .any(|l| l.contains("\"text\":\"checked\"") && l.contains("\"trust\":\"verified\"")),
        "{}",
        json.stdout
    );
    let unknown = lead
        .run(
            vigil(),
            &[JSON_ERRORS[0], JSON_ERRORS[1], "verify", "nobody@cert-at"],
        )
        .expect_code(2);
    assert_eq!(unknown.error_kind(), "unknown_contact");
}

#[test]
fn read_follow_prints_messages_as_they_arrive_and_stops_cleanly() {
    use std::io::BufRead as _;
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let (lead, officer) = pair(&fed, &relay);
    let mut child = officer
        .command(vigil(), &["read", "ops", "--follow", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let wait_for = |text: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while let Ok(line) = rx.recv_timeout(deadline - std::time::Instant::now()) {
            if line.contains(text) {
                return line;
            }
        }
        panic!("{text:?} did not appear");
    };
    wait_for("added you to ops");
    lead.run(vigil(), &["send", "ops", "live update 1"]).ok();
    let line = wait_for("live update 1");
    assert!(line.contains("\"sender\":\"lead@cert-at\""), "{line}");
    lead.run(vigil(), &["send", "ops", "live update 2"]).ok();
    wait_for("live update 2");
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    reader.join().unwrap();
}

#[test]
fn kill_9_of_a_client_with_a_full_outbox_delivers_everything_exactly_once() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let (lead, officer) = pair(&fed, &relay);
    // The lead types twelve messages without the relay (a train, a closed laptop).
    let messages: Vec<String> = (0..12).map(|i| format!("queued report {i:02}")).collect();
    for text in &messages {
        lead.run(vigil(), &["--offline", "send", "ops", text]).ok();
    }
    // Back online, the client is killed while it sends the outbox, later each time, until
    // everything went out.
    let mut kills = 0;
    let mut mid_flush = 0;
    for delay_ms in (120u64..).step_by(15).take(30) {
        let mut child = lead
            .command(vigil(), &["read", "ops", "--follow"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let local = lead.run(vigil(), &["--offline", "read", "ops"]).ok();
        let sent = local.stdout.matches("[sent]").count();
        println!("killed after {delay_ms} ms: {sent} of 12 sent");
        kills += 1;
        if sent > 0 && sent < 12 {
            mid_flush += 1;
        }
        if sent == 12 {
            break;
        }
    }
    println!("{kills} kills, {mid_flush} while the outbox was partly sent");
    // The store opens cleanly and the rest goes out.
    let page = lead.run(vigil(), &["read", "ops"]).ok();
    assert_eq!(page.stdout.matches("[sent]").count(), 12, "{}", page.stdout);
    assert_eq!(read(&officer, "ops"), messages);
    assert_eq!(read(&officer, "ops"), messages);
}

/// Defect 3 of issue 22: a message carrying a screen clear, a forged banner in red, a carriage
/// return and backspaces cleared a terminal running `vigil read` and rewrote what it showed;
/// exports carried the escapes raw. Every path out now shows them escaped.
#[test]
fn a_forged_banner_sent_as_a_message_is_escaped_by_read_and_export() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let (lead, officer) = pair(&fed, &relay);
    let hostile = "\u{1b}[2J\u{1b}[H\u{1b}[41;97m ==== TLP:CLEAR | UNCLASSIFIED ==== \u{1b}[0m\r\
                   real text hidden\u{8}\u{8}\u{8}\u{8}XXXX";
    officer.run(vigil(), &["send", "ops", hostile]).ok();
    let raw = ['\u{1b}', '\r', '\u{8}'];
    let text = lead.run(vigil(), &["read", "ops"]).ok().stdout;
    assert!(!text.contains(raw), "{text:?}");
    assert!(
        text.contains(r"\u{1b}[41;97m ==== TLP:CLEAR | UNCLASSIFIED ==== \u{1b}[0m\u{d}real"),
        "{text}"
    );
    assert!(text.contains(r"hidden\u{8}\u{8}\u{8}\u{8}XXXX"), "{text}");
    let json = lead.run(vigil(), &["read", "--json", "ops"]).ok().stdout;
    assert!(!json.contains(raw), "{json:?}");
    assert!(json.contains(r"\u001b[2J\u001b[H\u001b[41;97m"), "{json}");

    for (name, format, shown) in [
        ("ops.md", "markdown", r"\u{1b}[2J\u{1b}[H\u{1b}[41;97m"),
        ("ops.json", "json", r"\u001b[2J\u001b[H\u001b[41;97m"),
    ] {
        let file = fed.dir.path().join(name);
        let out = file.to_str().unwrap();
        lead.run(
            vigil(),
            &["export", "ops", "--out", out, "--format", format],
        )
        .ok();
        let bytes = std::fs::read(&file).unwrap();
        for byte in [0x1b, b'\r', 0x08] {
            assert!(!bytes.contains(&byte), "{name} holds {byte:#04x}");
        }
        assert!(String::from_utf8(bytes).unwrap().contains(shown), "{name}");
    }
    relay.stop();
}

/// Issue 21, defect 2: a member revoked, reissued (new certificate, new keys) and enrolled
/// again on a reinstalled device is invited again and reads the invite and what follows; the
/// members who had sessions with the old keys start new ones.
#[test]
fn a_reissued_member_reads_the_invite_and_the_next_message() {
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
    lead.open_ops_channel(vigil(), "other@cert-at");
    lead.run(vigil(), &["channel", "invite", "ops", "lost@cert-at"])
        .ok();
    lead.run(vigil(), &["send", "ops", "before"]).ok();
    other.run(vigil(), &["send", "ops", "ack before"]).ok();
    assert_eq!(read(&lost, "ops"), ["before", "ack before"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    fed.revoke("lost@cert-at", "laptop stolen");
    let mut listed = String::new();
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        listed = lead.run(vigil(), &["channel", "list"]).ok().stdout;
        if !listed.contains("lost@cert-at") {
            break;
        }
    }
    assert!(!listed.contains("lost@cert-at"), "{listed}");
    // The laptop is reinstalled: a new certificate with new keys, enrolled in a new home.
    std::fs::remove_dir_all(&lost.home).unwrap();
    let first_bundle = lost
        .home
        .parent()
        .unwrap()
        .with_file_name("lost@cert-at.bundle");
    std::fs::remove_file(first_bundle).unwrap();
    let bundle = fed.issue("lost@cert-at", "EU SECRET");
    lost.enroll(vigil(), &bundle);
    // The lead compares the new safety number and invites the member again.
    let refused = lead
        .run(
            vigil(),
            &[
                JSON_ERRORS[0],
                JSON_ERRORS[1],
                "channel",
                "invite",
                "ops",
                "lost@cert-at",
            ],
        )
        .expect_code(1);
    assert_eq!(refused.error_kind(), "key_changed");
    // The lead compares the new safety number with the member out of band (the refused
    // invite showed the new keys) and marks them verified.
    let shown = lead.run(vigil(), &["verify", "lost@cert-at"]).ok().stdout;
    assert!(shown.contains("KEYS CHANGED"), "{shown}");
    let number = shown.lines().nth(1).unwrap_or_default();
    lead.run(vigil(), &["verify", "lost@cert-at", "--number", number])
        .ok();
    lead.run(vigil(), &["channel", "invite", "ops", "lost@cert-at"])
        .ok();
    lead.run(vigil(), &["send", "ops", "welcome back"]).ok();
    other.run(vigil(), &["send", "ops", "hello again"]).ok();
    let texts = read(&lost, "ops");
    assert_eq!(texts, ["welcome back", "hello again"]);
}

/// Copies the directory `from` to `to` (which must not exist), as an administrator copies a
/// stopped relay's data directory.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Issue 21, defect 4: the relay's data directory is replaced by an older copy (a restore from
/// backup) after it accepted messages for an offline member. The sender's client, missing the
/// recipient's end-to-end receipts, sends them again; each arrives exactly once, and the
/// sender then sees them delivered.
#[test]
fn a_relay_restored_from_an_older_copy_loses_nothing_the_senders_keep() {
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
    lead.open_ops_channel(vigil(), "officer@cert-at");
    lead.run(vigil(), &["send", "ops", "before the backup"])
        .ok();
    assert_eq!(read(&officer, "ops"), ["before the backup"]);
    // The lead's client learns that the officer's client has it.
    let page = lead.run(vigil(), &["read", "ops"]).ok().stdout;
    assert!(page.contains("[delivered]: before the backup"), "{page}");

    // The backup: the relay stopped, its data directory copied.
    relay.stop();
    let backup = fed.relay_data().with_file_name("data-backup");
    copy_dir(&fed.relay_data(), &backup);
    let relay = fed.start_relay();
    lead.use_relay(relay.addr);
    officer.use_relay(relay.addr);
    // The officer is away; the relay accepts three messages for them.
    for i in 0..3 {
        lead.run(vigil(), &["send", "ops", &format!("after the backup {i}")])
            .ok();
    }
    // The relay's disk fails; the administrator restores the backup.
    relay.stop();
    std::fs::remove_dir_all(fed.relay_data()).unwrap();
    copy_dir(&backup, &fed.relay_data());
    let relay = fed.start_relay();
    lead.use_relay(relay.addr);
    officer.use_relay(relay.addr);
    assert_eq!(read(&officer, "ops"), ["before the backup"]);
    let page = lead.run(vigil(), &["read", "ops"]).ok().stdout;
    assert_eq!(
        page.matches("[sent]: after the backup").count(),
        3,
        "{page}"
    );

    // No receipt came: after the wait, the lead's next run sends them again.
    let wait = vigil_client::engine::RESEND_AFTER_SECS + 1;
    std::thread::sleep(std::time::Duration::from_secs(wait));
    lead.run(vigil(), &["read", "ops"]).ok();
    let expected = [
        "before the backup",
        "after the backup 0",
        "after the backup 1",
        "after the backup 2",
    ];
    assert_eq!(read(&officer, "ops"), expected);
    assert_eq!(read(&officer, "ops"), expected);
    let page = lead.run(vigil(), &["read", "ops"]).ok().stdout;
    assert_eq!(page.matches("[delivered]").count(), 4, "{page}");
}
