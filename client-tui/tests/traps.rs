//! The smaller traps of issue 21 with real `vigil` processes and a relay: channel names two
//! channels share (refused listing both, named by id), creating a name we hold, `channel
//! relabel`, and passphrases (too short is not "wrong"; a wrong bundle passphrase exits 2).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::path::Path;

use vigil_tests::federation::{Federation, Member, Run};

const JSON: [&str; 2] = ["--error-format", "json"];

fn vigil() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vigil"))
}

/// `vigil --error-format json ARGS` by `member`, expected to fail with `code` and `kind`.
fn fails(member: &Member, args: &[&str], code: i32, kind: &str) -> Run {
    let run = member
        .run(vigil(), &[&JSON[..], args].concat())
        .expect_code(code);
    assert_eq!(run.error_kind(), kind, "{args:?}: {}", run.stderr);
    run
}

/// The short id `channel create` printed: `Created NAME [LABEL] (ID)`.
fn created_id(run: &Run) -> String {
    let (_, id) = run.stdout.trim().rsplit_once('(').unwrap();
    id.trim_end_matches(')').to_owned()
}

fn create(member: &Member, name: &str, tlp: &str, level: &str) -> String {
    let run = member
        .run(
            vigil(),
            &["channel", "create", name, "--tlp", tlp, "--level", level],
        )
        .ok();
    created_id(&run)
}

fn texts(member: &Member, channel: &str) -> Vec<String> {
    let run = member.run(vigil(), &["read", channel, "--json"]).ok();
    run.stdout
        .lines()
        .filter(|l| l.contains("\"kind\":\"text\""))
        .filter_map(|l| {
            let (_, rest) = l.split_once("\"text\":\"")?;
            Some(rest.split_once('"')?.0.to_owned())
        })
        .collect()
}

#[test]
fn a_shared_channel_name_is_refused_listing_both_and_an_id_names_one() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let [lead, anna]: [Member; 2] = fed
        .enroll_all(
            vigil(),
            relay.addr,
            &[("lead@cert-at", "EU SECRET"), ("anna@cert-at", "EU SECRET")],
        )
        .try_into()
        .unwrap();
    // A second channel of a name we hold: refused, nothing created.
    create(&lead, "ops", "TLP:AMBER", "EU RESTRICTED");
    fails(
        &lead,
        &[
            "channel",
            "create",
            "ops",
            "--tlp",
            "TLP:GREEN",
            "--level",
            "UNCLASSIFIED",
        ],
        2,
        "duplicate_channel_name",
    );
    let listed = lead.run(vigil(), &["channel", "list"]).ok();
    assert_eq!(
        listed.stdout.matches("ops  [").count(),
        1,
        "{}",
        listed.stdout
    );

    // Two members each create "shift"; anna is then in both.
    let hers = create(&anna, "shift", "TLP:AMBER", "EU RESTRICTED");
    let his = create(&lead, "shift", "TLP:GREEN", "UNCLASSIFIED");
    lead.run(vigil(), &["channel", "invite", &his, "anna@cert-at"])
        .ok();
    for args in [
        &["send", "shift", "which one?"][..],
        &["read", "shift"],
        &["channel", "invite", "shift", "lead@cert-at"],
        &["channel", "remove", "shift", "lead@cert-at"],
        &["export", "shift", "--out", "shift.md"],
    ] {
        let refused = fails(&anna, args, 2, "ambiguous_channel");
        assert!(
            refused.stderr.contains(&hers) && refused.stderr.contains(&his),
            "{args:?} names both candidates by id: {}",
            refused.stderr
        );
    }
    // By id (a unique prefix), the right one.
    anna.run(vigil(), &["send", &his[..8], "in the lead's shift"])
        .ok();
    assert_eq!(texts(&lead, "shift"), ["in the lead's shift"]);
    assert!(texts(&anna, &hers).is_empty());
    relay.stop();
}

#[test]
fn relabel_changes_the_label_for_everyone_and_refuses_what_would_exclude_a_member() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let [lead, anna]: [Member; 2] = fed
        .enroll_all(
            vigil(),
            relay.addr,
            &[
                ("lead@cert-at", "EU SECRET"),
                ("anna@cert-at", "EU RESTRICTED"),
            ],
        )
        .try_into()
        .unwrap();
    lead.open_ops_channel(vigil(), "anna@cert-at");
    let relabel = |level: &'static str, tlp: &'static str| {
        ["channel", "relabel", "ops", "--tlp", tlp, "--level", level]
    };
    // Above anna's clearance: refused naming her, nothing changes.
    fails(
        &lead,
        &relabel("EU SECRET", "TLP:AMBER"),
        1,
        "insufficient_clearance",
    );
    // The label it has: nothing to do.
    fails(
        &lead,
        &relabel("EU RESTRICTED", "TLP:AMBER"),
        2,
        "same_label",
    );
    // A label the policy does not accept: a usage error.
    fails(&lead, &relabel("EU RESTRICTED", "TLP:PINK"), 2, "label");
    // Not the owner: refused.
    fails(
        &anna,
        &relabel("EU RESTRICTED", "TLP:RED"),
        1,
        "not_authorized",
    );
    let done = lead.run(vigil(), &relabel("EU RESTRICTED", "TLP:RED")).ok();
    assert!(
        done.stdout
            .contains("from [TLP:AMBER | EU RESTRICTED] to [TLP:RED | EU RESTRICTED]"),
        "{}",
        done.stdout
    );
    lead.run(vigil(), &["send", "ops", "after the relabel"])
        .ok();
    let page = anna.run(vigil(), &["read", "ops"]).ok();
    assert_eq!(
        page.stdout.lines().next().unwrap(),
        "==== TLP:RED | EU RESTRICTED ===="
    );
    assert!(page.stdout.contains("after the relabel"), "{}", page.stdout);
    relay.stop();
}

#[test]
fn a_short_passphrase_is_too_short_not_wrong_and_a_wrong_bundle_passphrase_exits_2() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let bundle = fed.issue("anna@cert-at", "EU SECRET");
    let mut anna = fed.member("anna@cert-at");
    anna.use_relay(relay.addr);
    let short = fed.dir.path().join("short-pass");
    std::fs::write(&short, "too short\n").unwrap();
    let wrong = fed.dir.path().join("wrong-bundle-pass");
    std::fs::write(&wrong, "not the bundle passphrase\n").unwrap();
    let enroll = |pass: &Path| {
        let run: Run = anna
            .command(
                vigil(),
                &[
                    JSON[0],
                    JSON[1],
                    "enroll",
                    &bundle.to_string_lossy(),
                    "--bundle-passphrase-file",
                    &pass.to_string_lossy(),
                ],
            )
            .output()
            .unwrap()
            .into();
        run
    };
    let run = enroll(&wrong).expect_code(2);
    assert_eq!(run.error_kind(), "bundle_passphrase");
    let run = enroll(&short).expect_code(2);
    assert_eq!(run.error_kind(), "short_passphrase");
    assert!(
        !anna.home.join("store-key.vigil").exists(),
        "nothing enrolled"
    );
    anna.enroll(vigil(), &bundle);
    // The store's passphrase: too short is said so, before anything is opened.
    let run: Run = anna
        .command(vigil(), &[JSON[0], JSON[1], "channel", "list"])
        .arg("--passphrase-file")
        .arg(&short)
        .output()
        .unwrap()
        .into();
    let run = run.expect_code(2);
    assert_eq!(run.error_kind(), "short_passphrase");
    assert!(run.stderr.contains("at least 12"), "{}", run.stderr);
    relay.stop();
}
