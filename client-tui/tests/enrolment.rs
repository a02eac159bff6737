//! Enrolment and the home, end to end with real `vigil` processes against a relay on
//! 127.0.0.1 (issue 21, defect 3 and the home lock of 5): a bundle enrols one device, a
//! reissued bundle enrols the next, `enroll --offline` never touches the network, and a second
//! `vigil` on a home in use waits for it instead of failing on a lock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use vigil_tests::federation::{Federation, Member, RunningRelay};

const JSON: [&str; 2] = ["--error-format", "json"];

fn vigil() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vigil"))
}

/// `lead` and `officer` of CERT-AT, enrolled, in channel `ops` owned by the lead.
fn pair(fed: &Federation, relay: &RunningRelay) -> (Member, Member) {
    let [lead, officer] = fed
        .enroll_all(
            vigil(),
            relay.addr,
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

/// `member` on another device: the same user in a new home.
fn on_another_device(member: &Member, name: &str) -> Member {
    let mut other = member.clone();
    other.home = member.home.with_file_name(name);
    other
}

#[test]
fn a_bundle_enrols_one_device_and_a_reissued_bundle_enrols_the_next() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let (lead, officer) = pair(&fed, &relay);
    let bundle = fed.bundle("officer@cert-at");

    // The same bundle on a second device: refused at its first login, with the typed code
    // and the commands the administrator runs.
    let clone = on_another_device(&officer, "officer-clone");
    let refused = clone.try_enroll(vigil(), &JSON, &bundle).expect_code(1);
    assert_eq!(refused.error_kind(), "certificate_in_use");
    assert!(
        refused
            .stderr
            .contains("vigil-keytool revoke --user officer@cert-at")
    );
    // Nothing is kept on the refused device, and trying again is refused again: it never
    // publishes prekeys nor reads a mailbox.
    assert!(!clone.home.join("store-key.vigil").exists());
    assert!(!clone.home.join("store").exists());
    let again = clone.try_enroll(vigil(), &JSON, &bundle).expect_code(1);
    assert_eq!(again.error_kind(), "certificate_in_use");

    // The first device keeps working: its sessions were not broken by the clone's prekeys.
    lead.run(vigil(), &["send", "ops", "after the clone tried"])
        .ok();
    let page = officer.run(vigil(), &["read", "ops"]).ok();
    assert!(
        page.stdout.contains("after the clone tried"),
        "{}",
        page.stdout
    );
    officer.run(vigil(), &["send", "ops", "still here"]).ok();
    let page = lead.run(vigil(), &["read", "ops"]).ok();
    assert!(page.stdout.contains("still here"), "{}", page.stdout);

    // The administrator reissues (revoke, then issue): the new bundle enrols a new device once
    // the relay has the revocation list; the old device is refused from then on.
    fed.revoke("officer@cert-at", "moved to a new laptop");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let run = officer.run(vigil(), &[JSON[0], JSON[1], "channel", "list"]);
        if run.code == 1 {
            assert_eq!(run.error_kind(), "login_refused");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the relay never refused the revoked certificate"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    std::fs::remove_file(&bundle).unwrap();
    let reissued = fed.issue("officer@cert-at", "EU SECRET");
    let laptop = on_another_device(&officer, "officer-laptop");
    laptop.enroll(vigil(), &reissued);
    laptop.run(vigil(), &["channel", "list"]).ok();
    // That bundle too enrols one device.
    let second = on_another_device(&officer, "officer-second");
    let refused = second.try_enroll(vigil(), &JSON, &reissued).expect_code(1);
    assert_eq!(refused.error_kind(), "certificate_in_use");
    laptop.run(vigil(), &["channel", "list"]).ok();
}

#[test]
fn enroll_offline_never_touches_the_network() {
    let fed = Federation::new(&["CERT-AT"]);
    // Where the member's relay address points: a UDP socket (QUIC) that records datagrams.
    let listener = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let bundle = fed.issue("officer@cert-at", "EU SECRET");
    let mut officer = fed.member("officer@cert-at");
    officer.use_relay(listener.local_addr().unwrap());
    let run = officer.try_enroll(vigil(), &["--offline"], &bundle).ok();
    let mut datagram = [0u8; 2048];
    let received = listener.recv_from(&mut datagram);
    assert!(
        matches!(&received, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "enroll --offline sent a datagram: {received:?}"
    );
    assert!(
        run.stdout.contains("the relay was not contacted"),
        "{}",
        run.stdout
    );

    // Its first run online publishes: a colleague can then invite the member.
    let relay = fed.start_relay();
    officer.use_relay(relay.addr);
    officer.run(vigil(), &["channel", "list"]).ok();
    let [lead] = fed
        .enroll_all(vigil(), relay.addr, &[("lead@cert-at", "EU SECRET")])
        .try_into()
        .unwrap();
    lead.open_ops_channel(vigil(), "officer@cert-at");
    lead.run(vigil(), &["send", "ops", "welcome"]).ok();
    let page = officer.run(vigil(), &["read", "ops"]).ok();
    assert!(page.stdout.contains("welcome"), "{}", page.stdout);
}

/// Waits until the process `pid` holds `member`'s home (its id is in the lock file).
fn wait_until_holding(member: &Member, pid: u32) {
    let lock = member.home.join("store.lock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != pid.to_string() {
        assert!(Instant::now() < deadline, "pid {pid} never took the home");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_second_vigil_on_a_home_in_use_waits_for_it_and_never_fails_on_the_lock() {
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let (lead, officer) = pair(&fed, &relay);
    let mut follow = officer
        .command(vigil(), &["read", "ops", "--follow"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until_holding(&officer, follow.id());

    // A short limit: the second process says whom it waits for, then gives up with the typed
    // error (exit code 2), not the database's lock error.
    let busy = officer
        .command(vigil(), &[JSON[0], JSON[1], "send", "ops", "too early"])
        .env("VIGIL_HOME_WAIT_SECS", "1")
        .output()
        .unwrap();
    let busy = vigil_tests::federation::Run::from(busy).expect_code(2);
    assert!(
        busy.stderr
            .contains(&format!("another vigil (pid {})", follow.id())),
        "{}",
        busy.stderr
    );
    assert_eq!(busy.error_kind(), "home_busy");

    // Within the limit: the second process waits, and runs once the first is gone (killed
    // here: the kernel releases the lock of a process however it ends).
    let waiting = officer
        .command(vigil(), &["send", "ops", "sent after waiting"])
        .env("VIGIL_HOME_WAIT_SECS", "60")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    follow.kill().unwrap();
    follow.wait().unwrap();
    let sent = vigil_tests::federation::Run::from(waiting.wait_with_output().unwrap()).ok();
    assert!(
        sent.stderr.contains("waiting up to 60 s"),
        "{}",
        sent.stderr
    );
    let page = lead.run(vigil(), &["read", "ops"]).ok();
    assert!(
        page.stdout.contains("sent after waiting"),
        "{}",
        page.stdout
    );
}
