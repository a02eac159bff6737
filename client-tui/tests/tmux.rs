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

    /// Opens the TUI of `member` in a new session called `name`.
    fn open(&self, name: &str, member: &Member, relay: std::net::SocketAddr, pass: &Path) {
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
            "130",
            "-y",
            "36",
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
