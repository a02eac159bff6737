//! The member and partner lifecycle, end to end with real `vigil` processes and the keytool:
//! a partner added after enrolment reaches every device through the signed trust list, a
//! device that lacks it says so naming the organisation and catches up without forking, and a
//! partner removed is removed from the channels.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::path::Path;
use std::time::Duration;

use vigil_tests::federation::{Federation, Member, RunningRelay, texts};

fn vigil() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vigil"))
}

fn read(member: &Member, channel: &str) -> Vec<String> {
    member.read_texts(vigil(), channel)
}

fn members_line(member: &Member) -> String {
    member.run(vigil(), &["channel", "list"]).ok().stdout
}

/// Restarts the relay (it re-reads its roots at start) and points every member at it.
fn restart(fed: &Federation, relay: RunningRelay, members: &mut [&mut Member]) -> RunningRelay {
    relay.stop();
    let relay = fed.start_relay();
    for member in members {
        member.use_relay(relay.addr);
    }
    relay
}

/// Runs `check` on `member`'s `channel list` until it holds, for up to ten seconds.
fn until_listed(member: &Member, check: impl Fn(&str) -> bool) -> String {
    let mut listed = String::new();
    for _ in 0..20 {
        listed = members_line(member);
        if check(&listed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    listed
}

/// Defect 1 of the lifecycle issue: CERT-AT's members enrolled before CERT-AT trusted CERT-CZ.
/// The trust list signed by `trust add` reaches their devices through the relay; the one whose
/// relay withheld the list says which organisation it lacks, keeps the change waiting instead
/// of dropping it, and catches up when the list arrives: every view lists three members.
#[test]
fn a_partner_added_after_enrolment_reaches_every_device() {
    let fed = Federation::untrusted(&["CERT-AT", "CERT-CZ"]);
    fed.trust("CERT-CZ", "CERT-AT", "EU SECRET");
    let relay = fed.start_relay();
    let mut members = fed.enroll_all(
        vigil(),
        relay.addr,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("other@cert-at", "EU SECRET"),
        ],
    );
    let [lead, other] = members.as_mut_slice() else {
        unreachable!()
    };
    lead.open_ops_channel(vigil(), "other@cert-at");
    assert!(read(other, "ops").is_empty(), "other joined");

    fed.trust("CERT-AT", "CERT-CZ", "EU RESTRICTED");
    // The relay withholds the list from `other` for now: it is hidden while other connects.
    let list = fed.relay_roots().join("CERT-AT.trust.vigil");
    let hidden = fed.dir.path().join("hidden.trust.vigil");
    std::fs::rename(&list, &hidden).unwrap();
    let mut relay = restart(&fed, relay, &mut [lead, other]);
    let mut officer = fed.member("officer@cert-cz");
    officer.use_relay(relay.addr);
    officer.enroll(vigil(), &fed.issue("officer@cert-cz", "EU RESTRICTED"));

    // The lead's device: the list is back before the lead connects, so the invite works.
    std::fs::rename(&hidden, &list).unwrap();
    relay = restart(&fed, relay, &mut [lead, other, &mut officer]);
    lead.run(vigil(), &["channel", "invite", "ops", "officer@cert-cz"])
        .ok();
    lead.run(vigil(), &["send", "ops", "IOC list attached"])
        .ok();
    assert_eq!(read(&officer, "ops"), ["IOC list attached"]);

    // `other` is offered the invite of a CERT-CZ member while its relay withholds the list.
    std::fs::rename(&list, &hidden).unwrap();
    relay = restart(&fed, relay, &mut [lead, other, &mut officer]);
    let page = other.run(vigil(), &["read", "ops"]).ok();
    assert!(
        page.stdout.contains("does not trust CERT-CZ") || page.stderr.contains("CERT-CZ"),
        "the waiting change names the organisation:\n{}\n{}",
        page.stdout,
        page.stderr
    );
    assert!(!members_line(other).contains("officer@cert-cz"));

    // The list arrives: the waiting change applies, nothing was dropped.
    std::fs::rename(&hidden, &list).unwrap();
    let relay = restart(&fed, relay, &mut [lead, other, &mut officer]);
    let listed = until_listed(other, |l| l.contains("officer@cert-cz"));
    assert!(listed.contains("officer@cert-cz"), "{listed}");
    assert_eq!(read(other, "ops"), ["IOC list attached"]);
    other.run(vigil(), &["send", "ops", "seen, blocking"]).ok();
    assert_eq!(
        read(&officer, "ops"),
        ["IOC list attached", "seen, blocking"]
    );
    drop(relay);
}

/// CERT-AT's lead and another member, and CERT-CZ's officer, enrolled; the lead's channel
/// `ops` holds all three.
fn ops_with_partner(fed: &Federation, relay: &RunningRelay) -> Vec<Member> {
    let members = fed.enroll_all(
        vigil(),
        relay.addr,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("other@cert-at", "EU SECRET"),
            ("officer@cert-cz", "EU RESTRICTED"),
        ],
    );
    members[0].open_ops_channel(vigil(), "other@cert-at");
    members[0]
        .run(vigil(), &["channel", "invite", "ops", "officer@cert-cz"])
        .ok();
    members
}

/// A partner removed from the trust list while the relay runs: the relay reloads its roots by
/// itself, the owner's device removes the partner's members from the channel at its next
/// connection, the others follow, and the partner's member can no longer log in.
#[test]
fn a_partner_removed_is_removed_from_the_channels() {
    let fed = Federation::new(&["CERT-AT", "CERT-CZ"]);
    let relay = fed.start_relay();
    let mut members = ops_with_partner(&fed, &relay);
    let [lead, other, officer] = members.as_mut_slice() else {
        unreachable!()
    };
    assert!(read(officer, "ops").is_empty(), "officer joined");

    fed.keytool(&[
        "trust",
        "remove",
        "--org-dir",
        &fed.org_dir("CERT-AT").to_string_lossy(),
        "--partner",
        "CERT-CZ",
    ]);
    // No restart: the relay notices its roots/ changed, stops admitting CERT-CZ and serves
    // the new list, which the lead's device applies at its next connection.
    let listed = until_listed(lead, |l| !l.contains("officer@cert-cz"));
    assert!(!listed.contains("officer@cert-cz"), "{listed}");
    let page = lead.run(vigil(), &["read", "ops"]).ok();
    assert!(
        page.stdout.contains("removed officer@cert-cz"),
        "{}",
        page.stdout
    );
    lead.run(vigil(), &["send", "ops", "AT only from here"])
        .ok();
    // The message and the new sender key travel separately: read until both are in.
    let mut page = other.run(vigil(), &["read", "ops"]).ok();
    for _ in 0..20 {
        if !texts(&page.stdout).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        page = other.run(vigil(), &["read", "ops"]).ok();
    }
    assert_eq!(
        texts(&page.stdout),
        ["AT only from here"],
        "{}\n{}",
        page.stdout,
        page.stderr
    );
    assert!(!members_line(other).contains("officer@cert-cz"));
    let refused = officer
        .run(vigil(), &["--error-format", "json", "channel", "list"])
        .expect_code(1);
    assert_eq!(refused.error_kind(), "login_refused");
    drop(relay);
}

/// A device online when the partner is added learns it without reconnecting: the relay reloads
/// its roots, pushes the organisation's new trust list to its live members, and the device
/// says so.
#[test]
fn a_connected_device_is_pushed_the_new_trust_list() {
    use std::io::BufRead as _;
    let fed = Federation::untrusted(&["CERT-AT", "CERT-CZ"]);
    let relay = fed.start_relay();
    let mut members = fed.enroll_all(vigil(), relay.addr, &[("lead@cert-at", "EU SECRET")]);
    let lead = &mut members[0];
    let create = [
        "channel",
        "create",
        "ops",
        "--tlp",
        "TLP:AMBER",
        "--level",
        "EU RESTRICTED",
    ];
    lead.run(vigil(), &create).ok();
    let mut child = lead
        .command(vigil(), &["read", "ops", "--follow"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    // Connected first (its own list is fetched at login), then the partner is added.
    std::thread::sleep(Duration::from_secs(2));
    fed.trust("CERT-AT", "CERT-CZ", "EU RESTRICTED");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut seen = None;
    while let Ok(line) =
        rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        if line.contains("now trusting CERT-CZ") {
            seen = Some(line);
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    drop(rx);
    reader.join().unwrap();
    let line = seen.expect("the pushed list was applied and announced");
    assert!(line.contains("trust list version 2"), "{line}");
    drop(relay);
}

/// A partner rotates its root key (`org rotate`) and reissues its member, CERT-AT's
/// administrator runs `trust rotate`, the relay reloads by itself: the old certificate is
/// removed from the channel, the member enrols on the new root, is verified anew, invited
/// again, verifies the channel's history signed partly under the old root, and reads on.
#[test]
fn a_partner_rotating_its_root_key_keeps_the_channel_working() {
    let fed = Federation::new(&["CERT-AT", "CERT-CZ"]);
    let relay = fed.start_relay();
    let mut members = ops_with_partner(&fed, &relay);
    let [lead, other, officer] = members.as_mut_slice() else {
        unreachable!()
    };
    lead.run(vigil(), &["send", "ops", "before the rotation"])
        .ok();
    assert_eq!(read(officer, "ops"), ["before the rotation"]);

    // CERT-CZ rotates its root (`org rotate`), reissues its member, and CERT-AT trusts the
    // new root (`trust rotate`, after comparing its fingerprint).
    let cz = fed.org_dir("CERT-CZ").to_string_lossy().into_owned();
    let at = fed.org_dir("CERT-AT").to_string_lossy().into_owned();
    fed.keytool(&["org", "rotate", "--org-dir", &cz]);
    let fingerprint = vigil_keytool::orgdir::OrgDir::open(&fed.org_dir("CERT-CZ"))
        .unwrap()
        .root
        .fingerprint();
    let new_root = fed.org_dir("CERT-CZ").join("root.vigil");
    fed.keytool(&[
        "trust",
        "rotate",
        "--org-dir",
        &at,
        "--partner",
        &new_root.to_string_lossy(),
        "--fingerprint",
        &fingerprint,
    ]);
    let bundle = fed.dir.path().join("officer-new.bundle");
    let pass = fed
        .dir
        .path()
        .join("bundle-pass")
        .to_string_lossy()
        .into_owned();
    fed.keytool(&[
        "issue",
        "--org-dir",
        &cz,
        "--user",
        "officer@cert-cz",
        "--name",
        "Officer",
        "--role",
        "duty-officer",
        "--clearance",
        "EU RESTRICTED",
        "--out",
        &bundle.to_string_lossy(),
        "--bundle-passphrase-file",
        &pass,
    ]);

    // The lead's device learns the new root from the list and removes the old certificate.
    let listed = until_listed(lead, |l| !l.contains("officer@cert-cz"));
    assert!(!listed.contains("officer@cert-cz"), "{listed}");
    // The officer's new device (the old one is refused: its root is no longer trusted).
    let mut renewed = officer.clone();
    renewed.home = fed.dir.path().join("homes/officer-renewed");
    let mut last = String::new();
    for _ in 0..20 {
        // The relay admits the new root within a housekeeping round.
        let run = renewed.try_enroll(vigil(), &[], &bundle);
        if run
            .stdout
            .contains("Published your certificate and prekeys")
        {
            last.clear();
            break;
        }
        last = format!("{}\n{}", run.stdout, run.stderr);
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(last.is_empty(), "the new certificate enrols: {last}");
    let refused = officer
        .run(vigil(), &["--error-format", "json", "read", "ops"])
        .expect_code(1);
    assert_eq!(refused.error_kind(), "login_refused");

    // New keys: the invite is refused until the lead compares the new safety number out of
    // band and marks it verified; then the member is invited again.
    let refused = lead
        .run(
            vigil(),
            &[
                "--error-format",
                "json",
                "channel",
                "invite",
                "ops",
                "officer@cert-cz",
            ],
        )
        .expect_code(1);
    assert_eq!(refused.error_kind(), "key_changed");
    let shown = lead
        .run(vigil(), &["verify", "officer@cert-cz"])
        .ok()
        .stdout;
    let number = shown.lines().nth(1).unwrap_or_default().to_owned();
    lead.run(vigil(), &["verify", "officer@cert-cz", "--number", &number])
        .ok();
    lead.run(vigil(), &["channel", "invite", "ops", "officer@cert-cz"])
        .ok();
    lead.run(vigil(), &["send", "ops", "after the rotation"])
        .ok();
    // The new device verifies the channel's whole history, signed partly under CERT-CZ's old
    // root (its trust list names it as a predecessor), and reads what follows.
    assert_eq!(read(&renewed, "ops"), ["after the rotation"]);
    assert_eq!(
        read(other, "ops"),
        ["before the rotation", "after the rotation"]
    );
    drop(relay);
}
