//! The real `vigil` TUI in tmux against a real relay: two duty officers chat, the banner shows
//! the label, and an invitation refused by policy shows its reason. Driven with send-keys and
//! capture-pane, waiting for text to appear (never for a fixed time).
//!
//! Skipped, with a message, where tmux is not installed; `.ci/run` installs it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use vigil_tests::federation::{Federation, Member};

fn vigil() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vigil"))
}

/// A tmux server of our own, killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start() -> Option<Self> {
        let found = Command::new("tmux").arg("-V").output();
        if !found.is_ok_and(|o| o.status.success()) {
            eprintln!("SKIPPED: tmux is not installed (apt-get install tmux); .ci/run installs it");
            return None;
        }
        // One server per test: tests run in parallel threads of one process.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(Self {
            socket: format!("vigil-test-{}-{n}", std::process::id()),
        })
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Opens the TUI of `member` in a new session called `name`, 130 × 36.
    fn open(&self, name: &str, member: &Member, relay: std::net::SocketAddr, pass: &Path) {
        self.open_sized(name, member, relay, pass, (130, 36));
    }

    /// Opens the TUI of `member` in a new session called `name` of `size` columns × rows.
    fn open_sized(
        &self,
        name: &str,
        member: &Member,
        relay: std::net::SocketAddr,
        pass: &Path,
        size: (u16, u16),
    ) {
        let command = format!(
            "env -u VIGIL_PASSPHRASE NO_COLOR= VIGIL_RELAY={relay} '{}' --home '{}' --passphrase-file '{}'",
            vigil().display(),
            member.home.display(),
            pass.display()
        );
        self.tmux(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &size.0.to_string(),
            "-y",
            &size.1.to_string(),
            &command,
        ]);
    }

    fn screen(&self, name: &str) -> String {
        self.tmux(&["capture-pane", "-p", "-t", name])
    }

    /// Waits (up to 30 s) until `text` is on the screen of `name`.
    fn wait_for(&self, name: &str, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen(name);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{text:?} did not appear on {name}'s screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_line(&self, name: &str, text: &str) {
        self.tmux(&["send-keys", "-t", name, "-l", text]);
        self.tmux(&["send-keys", "-t", name, "Enter"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

#[test]
fn two_duty_officers_chat_in_the_tui_and_a_refusal_shows_its_reason() {
    let Some(tmux) = Tmux::start() else {
        return;
    };
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let members = fed.enroll_all(
        vigil(),
        relay.addr,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("officer@cert-at", "EU RESTRICTED"),
            ("intern@cert-at", "UNCLASSIFIED"),
        ],
    );
    let (lead, officer) = (&members[0], &members[1]);
    lead.open_ops_channel(vigil(), "officer@cert-at");

    let pass = fed.store_passphrase_file();
    tmux.open("lead", lead, relay.addr, &pass);
    tmux.open("officer", officer, relay.addr, &pass);
    let banner = "==== TLP:AMBER | EU RESTRICTED ====";
    for name in ["lead", "officer"] {
        let screen = tmux.wait_for(name, banner);
        assert_eq!(screen.matches(banner).count(), 2, "{screen}");
    }
    tmux.wait_for("officer", "added you to ops");

    tmux.type_line("officer", "hello from the officer's TUI");
    tmux.wait_for(
        "lead",
        "Officer (CERT-AT) [unverified]: hello from the officer's TUI",
    );
    tmux.wait_for("officer", "[you] (sent): hello from the officer's TUI");

    // The channel is classified: the invitation names it and its label and asks first.
    tmux.type_line("lead", "/invite intern@cert-at");
    tmux.wait_for(
        "lead",
        "Invite intern@cert-at to ops [TLP:AMBER | EU RESTRICTED]?",
    );
    tmux.tmux(&["send-keys", "-t", "lead", "y"]);
    tmux.wait_for(
        "lead",
        "REFUSED: intern@cert-at has clearance UNCLASSIFIED; channel requires EU RESTRICTED",
    );

    tmux.type_line("lead", "ack from the lead");
    tmux.wait_for("officer", "Lead (CERT-AT) [unverified]: ack from the lead");

    // Ctrl-C leaves cleanly: the terminal is restored (no alternate screen left behind).
    for name in ["lead", "officer"] {
        tmux.tmux(&["send-keys", "-t", name, "C-c"]);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while !tmux.tmux(&["list-sessions"]).is_empty() {
        assert!(Instant::now() < deadline, "vigil did not exit on Ctrl-C");
        std::thread::sleep(Duration::from_millis(100));
    }
    relay.stop();
}

/// Issue 22, defect 4 and the editor, in a real terminal: Tab in a message, a line that looks
/// like a command, `?` first, the editor key, and Ctrl-C with a draft.
#[test]
fn typed_text_is_never_lost_in_the_real_terminal() {
    let Some(tmux) = Tmux::start() else {
        return;
    };
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let members = fed.enroll_all(
        vigil(),
        relay.addr,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("officer@cert-at", "EU RESTRICTED"),
        ],
    );
    let (lead, officer) = (&members[0], &members[1]);
    lead.open_ops_channel(vigil(), "officer@cert-at");
    let pass = fed.store_passphrase_file();
    tmux.open("lead", lead, relay.addr, &pass);
    // The officer's "editor" replaces the draft with its own text.
    let editor = "printf 'written in the editor' >";
    tmux.tmux(&["set-environment", "-g", "VISUAL", editor]);
    tmux.open("officer", officer, relay.addr, &pass);
    tmux.wait_for("officer", "added you to ops");
    let keys = |keys: &[&str]| {
        let mut args = vec!["send-keys", "-t", "officer"];
        args.extend(keys);
        tmux.tmux(&args);
    };
    let from = "Officer (CERT-AT) [unverified]: ";

    // Tab in the middle of a message completes nothing and moves nowhere.
    keys(&["-l", "ip"]);
    keys(&["Tab"]);
    tmux.type_line("officer", "198.51.100.1 C2");
    tmux.wait_for("lead", &format!("{from}ip198.51.100.1 C2"));

    // A path is not a command: it stays, and a second Enter sends it as text.
    tmux.type_line("officer", "/var/log/auth.log shows 4000 failures");
    tmux.wait_for("officer", "/var/log/auth.log is not a command");
    keys(&["Enter"]);
    tmux.wait_for(
        "lead",
        &format!("{from}/var/log/auth.log shows 4000 failures"),
    );

    // ? first types a question mark.
    tmux.type_line("officer", "? anyone seen this");
    tmux.wait_for("lead", &format!("{from}? anyone seen this"));

    // Alt-E: the draft goes through $VISUAL and comes back into the box.
    keys(&["-l", "draft"]);
    keys(&["M-e"]);
    tmux.wait_for("officer", "written in the editor");
    keys(&["Enter"]);
    tmux.wait_for("lead", &format!("{from}written in the editor"));

    // Ctrl-C with a draft asks; n keeps the draft; Ctrl-C twice quits.
    keys(&["-l", "unsent report"]);
    keys(&["C-c"]);
    tmux.wait_for("officer", "Quit vigil? The message box holds a draft");
    keys(&["n"]);
    tmux.wait_for("officer", "not quitting: your draft is still in the box");
    assert!(tmux.screen("officer").contains("unsent report"));
    keys(&["C-c"]);
    tmux.wait_for("officer", "Quit vigil?");
    keys(&["C-c"]);
    tmux.tmux(&["send-keys", "-t", "lead", "C-c"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !tmux.tmux(&["list-sessions"]).is_empty() {
        assert!(Instant::now() < deadline, "vigil did not exit on Ctrl-C");
        std::thread::sleep(Duration::from_millis(100));
    }
    relay.stop();
}

/// The rows of a captured screen that hold lines of the pasted list (`NNN ioc ...`).
fn list_numbers(screen: &str) -> Vec<u32> {
    screen
        .lines()
        .filter_map(|row| {
            let mut words = row
                .split_whitespace()
                .skip_while(|w| w.parse::<u32>().is_err());
            let n = words.next()?.parse().ok()?;
            (words.next() == Some("ioc") || words.next() == Some("list")).then_some(n)
        })
        .collect()
}

#[test]
fn a_200_line_paste_is_read_line_by_line_at_80_by_24_from_first_to_last() {
    let Some(tmux) = Tmux::start() else {
        return;
    };
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let members = fed.enroll_all(
        vigil(),
        relay.addr,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("officer@cert-at", "EU RESTRICTED"),
        ],
    );
    let (lead, officer) = (&members[0], &members[1]);
    lead.open_ops_channel(vigil(), "officer@cert-at");
    let pass = fed.store_passphrase_file();
    tmux.open_sized("officer", officer, relay.addr, &pass, (80, 24));
    tmux.open_sized("lead", lead, relay.addr, &pass, (80, 24));
    tmux.wait_for("officer", "added you to ops");
    tmux.wait_for("lead", "==== TLP:AMBER | EU RESTRICTED ====");

    let mut list: Vec<String> = (1..200)
        .map(|i| format!("{i:03} ioc 198.51.100.{i}\tc2"))
        .collect();
    list.push("200 IOC list END".into());
    let file = fed.dir.path().join("iocs.txt");
    std::fs::write(&file, list.join("\n")).unwrap();
    tmux.tmux(&["load-buffer", "-b", "iocs", &file.display().to_string()]);
    tmux.tmux(&["paste-buffer", "-p", "-b", "iocs", "-t", "officer"]);
    tmux.wait_for("officer", "of 200");
    tmux.tmux(&["send-keys", "-t", "officer", "Enter"]);

    // The lead reads it from the last line up, a page at a time, to the header.
    let mut screen = tmux.wait_for("lead", "200 IOC list END");
    let mut seen: Vec<u32> = Vec::new();
    for _ in 0..40 {
        seen.extend(list_numbers(&screen));
        if screen.contains("Officer (CERT-AT) [unverified]: 001 ioc") {
            break;
        }
        tmux.tmux(&["send-keys", "-t", "lead", "PageUp"]);
        let before = screen.clone();
        let deadline = Instant::now() + Duration::from_secs(10);
        while screen == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            screen = tmux.screen("lead");
        }
    }
    assert!(
        screen.contains("Officer (CERT-AT) [unverified]: 001 ioc")
            && screen.contains("198.51.100.1    c2"),
        "the header and the first line, its tab expanded:\n{screen}"
    );
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen, (1..=200).collect::<Vec<u32>>(), "lines never shown");
    relay.stop();
}
