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

/// The shell command that runs the TUI of `member`.
fn command(member: &Member, relay: std::net::SocketAddr, pass: &Path) -> String {
    format!(
        "env -u VIGIL_PASSPHRASE NO_COLOR= VIGIL_RELAY={relay} '{}' --home '{}' --passphrase-file '{}'",
        vigil().display(),
        member.home.display(),
        pass.display()
    )
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
        // One server per test: tests run in parallel, and each kills its server when done.
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
        self.run_in(name, &command(member, relay, pass));
    }

    /// Runs `command` in a new session called `name`.
    fn run_in(&self, name: &str, command: &str) {
        self.run_in_sized(name, command, (130, 36));
    }

    /// Runs `command` in a new session called `name` of `size` columns × rows.
    fn run_in_sized(&self, name: &str, command: &str, size: (u16, u16)) {
        self.tmux(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &size.0.to_string(),
            "-y",
            &size.1.to_string(),
            command,
        ]);
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
        self.run_in_sized(name, &command(member, relay, pass), size);
    }

    fn screen(&self, name: &str) -> String {
        self.tmux(&["capture-pane", "-p", "-t", name])
    }

    /// Waits (up to 30 s) until `text` is on the screen of `name`.
    fn wait_for(&self, name: &str, text: &str) -> String {
        self.wait_for_times(name, text, 1)
    }

    /// Waits (up to 30 s) until `text` is on the screen of `name` `times` times (a frame may be
    /// captured while it is being written).
    fn wait_for_times(&self, name: &str, text: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen(name);
            if screen.matches(text).count() >= times {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{text:?} did not appear {times} time(s) on {name}'s screen:\n{screen}"
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

/// An organisation with its relay and members enrolled (the first is the lead), and, when
/// `ops` is given, the lead's `ops` channel (TLP:AMBER, EU RESTRICTED) with that member invited.
struct Org {
    fed: Federation,
    relay: vigil_tests::federation::RunningRelay,
    members: Vec<Member>,
    pass: std::path::PathBuf,
}

impl Org {
    fn new(users: &[(&str, &str)], ops: Option<&str>) -> Self {
        let fed = Federation::new(&["CERT-AT"]);
        let relay = fed.start_relay();
        let members = fed.enroll_all(vigil(), relay.addr, users);
        if let Some(invitee) = ops {
            members[0].open_ops_channel(vigil(), invitee);
        }
        let pass = fed.store_passphrase_file();
        Self {
            fed,
            relay,
            members,
            pass,
        }
    }

    /// The lead (EU SECRET) and the officer (EU RESTRICTED), with `ops` open to the officer.
    fn lead_and_officer() -> Self {
        Self::new(
            &[
                ("lead@cert-at", "EU SECRET"),
                ("officer@cert-at", "EU RESTRICTED"),
            ],
            Some("officer@cert-at"),
        )
    }
}

#[test]
fn two_duty_officers_chat_in_the_tui_and_a_refusal_shows_its_reason() {
    let Some(tmux) = Tmux::start() else {
        return;
    };
    let org = Org::new(
        &[
            ("lead@cert-at", "EU SECRET"),
            ("officer@cert-at", "EU RESTRICTED"),
            ("intern@cert-at", "UNCLASSIFIED"),
        ],
        Some("officer@cert-at"),
    );
    let (relay, pass) = (&org.relay, &org.pass);
    let (lead, officer) = (&org.members[0], &org.members[1]);
    tmux.open("lead", lead, relay.addr, pass);
    tmux.open("officer", officer, relay.addr, pass);
    let banner = "==== TLP:AMBER | EU RESTRICTED ====";
    for name in ["lead", "officer"] {
        let screen = tmux.wait_for_times(name, banner, 2);
        assert_eq!(
            screen.matches(banner).count(),
            2,
            "above and below:\n{screen}"
        );
    }
    tmux.wait_for("officer", "added you to ops");

    tmux.type_line("officer", "hello from the officer's TUI");
    tmux.wait_for(
        "lead",
        "Officer (CERT-AT) [unverified]: hello from the officer's TUI",
    );
    // The lead's client confirms it end to end (issue 21): "sent" becomes "delivered".
    tmux.wait_for("officer", "[you] (delivered): hello from the officer's TUI");

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
    org.relay.stop();
}

/// Issue 22, defect 4 and the editor, in a real terminal: Tab in a message, a line that looks
/// like a command, `?` first, the editor key, and Ctrl-C with a draft.
#[test]
fn typed_text_is_never_lost_in_the_real_terminal() {
    let Some(tmux) = Tmux::start() else {
        return;
    };
    let org = Org::lead_and_officer();
    let (relay, pass) = (&org.relay, &org.pass);
    let (lead, officer) = (&org.members[0], &org.members[1]);
    tmux.open("lead", lead, relay.addr, pass);
    // The officer's "editor" replaces the draft with its own text.
    let editor = "printf 'written in the editor' >";
    tmux.tmux(&["set-environment", "-g", "VISUAL", editor]);
    tmux.open("officer", officer, relay.addr, pass);
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
    org.relay.stop();
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
    let org = Org::lead_and_officer();
    let (relay, pass) = (&org.relay, &org.pass);
    let (lead, officer) = (&org.members[0], &org.members[1]);
    tmux.open_sized("officer", officer, relay.addr, pass, (80, 24));
    tmux.open_sized("lead", lead, relay.addr, pass, (80, 24));
    tmux.wait_for("officer", "added you to ops");
    tmux.wait_for("lead", "==== TLP:AMBER | EU RESTRICTED ====");

    let mut list: Vec<String> = (1..200)
        .map(|i| format!("{i:03} ioc 198.51.100.{i}\tc2"))
        .collect();
    list.push("200 IOC list END".into());
    let file = org.fed.dir.path().join("iocs.txt");
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
    org.relay.stop();
}

impl Tmux {
    /// Keeps `name`'s pane (and its screen) after its process exits, to look at both.
    fn keep_after_exit(&self, name: &str) {
        self.tmux(&["set-option", "-t", name, "remain-on-exit", "on"]);
    }

    /// A tmux format of `name`'s pane, e.g. `#{alternate_on}`.
    fn format(&self, name: &str, format: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", name, format])
            .trim()
            .to_owned()
    }

    /// Waits (up to `limit`) until `name`'s process has exited; returns how long it took.
    fn wait_exit(&self, name: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        while self.format(name, "#{pane_dead}") != "1" {
            assert!(
                started.elapsed() < limit,
                "vigil did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        started.elapsed()
    }

    /// Waits until `text` is on `name`'s screen; returns how long it took.
    fn time_until(&self, name: &str, text: &str) -> Duration {
        let started = Instant::now();
        self.wait_for(name, text);
        started.elapsed()
    }
}

/// Issue 22, defect 11: SIGTERM left the terminal in the alternate screen. SIGTERM and SIGHUP
/// now quit as the quit key does: the shell that ran vigil prints its exit status on the
/// normal screen.
#[test]
fn sigterm_and_sighup_quit_and_restore_the_terminal() {
    let Some(tmux) = Tmux::start() else {
        return;
    };
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let members = fed.enroll_all(vigil(), relay.addr, &[("lead@cert-at", "EU SECRET")]);
    let pass = fed.store_passphrase_file();
    for (name, signal) in [("term", "TERM"), ("hup", "HUP")] {
        let script = fed.dir.path().join(format!("{name}.sh"));
        let vigil = command(&members[0], relay.addr, &pass);
        let body = format!("{vigil}\necho \"vigil exited with $?\"\nexec sleep 600\n");
        std::fs::write(&script, body).unwrap();
        tmux.run_in(name, &format!("sh '{}'", script.display()));
        tmux.wait_for(name, "online");
        assert_eq!(tmux.format(name, "#{alternate_on}"), "1");
        let shell = tmux.format(name, "#{pane_pid}");
        let found = Command::new("ps")
            .args(["--ppid", &shell, "-o", "pid="])
            .output()
            .unwrap();
        let pid = String::from_utf8(found.stdout).unwrap().trim().to_owned();
        let started = Instant::now();
        let killed = Command::new("kill")
            .args([format!("-{signal}"), pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let screen = tmux.wait_for(name, "vigil exited with");
        eprintln!("SIG{signal}: exited in {:?}", started.elapsed());
        assert!(screen.contains("vigil exited with 0"), "{screen}");
        assert_eq!(
            tmux.format(name, "#{alternate_on}"),
            "0",
            "left in the alternate screen"
        );
    }
    relay.stop();
}

/// Issue 22, defect 8, end to end: with the relay frozen (nothing comes back, the connection
/// stays up) and a message in flight, `/whois` answers at once, the status line says the
/// relay is not answering within seconds, and Ctrl-C exits at once.
#[test]
fn a_frozen_relay_freezes_nothing_in_the_tui() {
    let Some(tmux) = Tmux::start() else {
        return;
    };
    let fed = Federation::new(&["CERT-AT"]);
    let relay = fed.start_relay();
    let proxy = vigil_tests::proxy::FreezableProxy::start(relay.addr);
    let members = fed.enroll_all(
        vigil(),
        relay.addr,
        &[
            ("lead@cert-at", "EU SECRET"),
            ("officer@cert-at", "EU RESTRICTED"),
        ],
    );
    members[0].open_ops_channel(vigil(), "officer@cert-at");
    let pass = fed.store_passphrase_file();
    tmux.open("lead", &members[0], proxy.addr, &pass);
    tmux.keep_after_exit("lead");
    tmux.wait_for("lead", "==== TLP:AMBER | EU RESTRICTED ====");
    tmux.wait_for("lead", "online");

    proxy.freeze();
    let frozen = Instant::now();
    tmux.type_line("lead", "sent into the freeze");
    tmux.wait_for("lead", "(queued): sent into the freeze");
    std::thread::sleep(Duration::from_millis(500));
    tmux.type_line("lead", "/whois officer@cert-at");
    let whois = tmux.time_until("lead", "Who is officer@cert-at");
    eprintln!("/whois answered in {whois:?} with the relay frozen");
    assert!(whois < Duration::from_secs(2), "{whois:?}");
    tmux.tmux(&["send-keys", "-t", "lead", "Escape"]);
    tmux.wait_for("lead", "RELAY NOT ANSWERING");
    let degraded = frozen.elapsed();
    eprintln!("shown as not answering {degraded:?} after the freeze");
    assert!(degraded < Duration::from_secs(10), "{degraded:?}");

    tmux.tmux(&["send-keys", "-t", "lead", "C-c"]);
    let exit = tmux.wait_exit("lead", Duration::from_secs(10));
    eprintln!("Ctrl-C exited in {exit:?} with the relay frozen");
    assert!(exit < Duration::from_secs(3), "{exit:?}");
    assert_eq!(tmux.format("lead", "#{alternate_on}"), "0");
    drop(proxy);
    relay.stop();
}

/// Issue 22, defect 4 (drafts kept across restarts) and 10 (unread counts lost on restart):
/// what is in the message box when the TUI is stopped is there again when it starts, and a
/// channel's unread count survives.
#[test]
fn a_draft_and_unread_counts_survive_a_restart() {
    let Some(tmux) = Tmux::start() else {
        return;
    };
    let org = Org::lead_and_officer();
    let (relay, pass) = (&org.relay, &org.pass);
    let (lead, officer) = (&org.members[0], &org.members[1]);
    let create = ["channel", "create", "zz-later", "--tlp", "TLP:GREEN"];
    lead.run(
        vigil(),
        &[&create[..], &["--level", "UNCLASSIFIED"]].concat(),
    )
    .ok();
    lead.run(
        vigil(),
        &["channel", "invite", "zz-later", "officer@cert-at"],
    )
    .ok();
    tmux.open("officer", officer, relay.addr, pass);
    tmux.wait_for("officer", "zz-later");
    for text in ["one", "two", "three"] {
        lead.run(vigil(), &["send", "zz-later", text]).ok();
    }
    tmux.wait_for("officer", "zz-later (3)");
    tmux.tmux(&[
        "send-keys",
        "-t",
        "officer",
        "-l",
        "half-typed draft, not sent",
    ]);
    tmux.wait_for("officer", "half-typed draft, not sent");
    tmux.keep_after_exit("officer");
    let pid = tmux.format("officer", "#{pane_pid}");
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tmux.wait_exit("officer", Duration::from_secs(5));
    tmux.tmux(&["kill-session", "-t", "officer"]);

    tmux.open("again", officer, relay.addr, pass);
    tmux.wait_for("again", "half-typed draft, not sent");
    tmux.wait_for("again", "zz-later (3)");
    org.relay.stop();
}
