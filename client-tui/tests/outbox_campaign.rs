//! The outbox campaign, the client-side counterpart of the relay's crash campaign
//! (`server/tests/campaign.rs`), through the real binaries: senders queue messages with
//! `vigil --offline send`, then the clients that send their outboxes (`vigil read ops
//! --follow`) are killed with SIGKILL at random moments, while the relay (the real
//! `vigil-relay`, a child process kept on one address) is killed with SIGKILL and restarted
//! under them; receivers follow the channel meanwhile and are killed now and then too. At the
//! end every message is in every member's history exactly once, in its sender's order.
//!
//! Bounded by default (4 senders, 4 receivers, 5 relay kills); `VIGIL_SOAK=1` runs it at the
//! relay campaign's scale: 8 senders, 8 receivers, 100 relay kills. `VIGIL_SEED=n` replays a
//! run's schedule of kills (the machine's timing still varies).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test; the campaign prints its figures"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use vigil_tests::RelayProcess;
use vigil_tests::federation::{Federation, Member};

/// The channel every member is in.
const CHANNEL: &str = "ops";

fn vigil() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vigil"))
}

/// The campaign's shape.
#[derive(Debug)]
struct Shape {
    senders: usize,
    receivers: usize,
    /// Messages each sender queues in all.
    messages: u32,
    /// Messages a sender queues at once, while its client is not running.
    batch: u32,
    /// Relay kills (one per round).
    kills: usize,
    /// How long the end may take to deliver everything.
    deadline: Duration,
}

impl Shape {
    /// Under a minute in a debug build by default; `VIGIL_SOAK=1`: 8 senders and 8 receivers
    /// through 100 relay kills.
    fn from_env() -> Self {
        if std::env::var_os("VIGIL_SOAK").is_some() {
            Self {
                senders: 8,
                receivers: 8,
                messages: 120,
                batch: 3,
                kills: 100,
                deadline: Duration::from_secs(900),
            }
        } else {
            Self {
                senders: 4,
                receivers: 4,
                messages: 12,
                batch: 4,
                kills: 5,
                deadline: Duration::from_secs(180),
            }
        }
    }
}

/// A small deterministic generator (splitmix64) for the schedule of kills.
struct Rng(u64);

impl Rng {
    fn from_env() -> (Self, u64) {
        let seed = std::env::var("VIGIL_SEED").map_or_else(
            |_| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                t.as_secs() ^ u64::from(t.subsec_nanos()) << 32
            },
            |s| s.parse().expect("VIGIL_SEED is a number"),
        );
        (Self(seed), seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }

    /// True once in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

/// The text of message `n` of sender `s`.
fn text(s: usize, n: u32) -> String {
    format!("campaign s{s} m{n:05}")
}

/// Sender and number of a campaign text.
fn parse_text(text: &str) -> Option<(usize, u32)> {
    let (s, n) = text.strip_prefix("campaign s")?.split_once(" m")?;
    Some((s.parse().ok()?, n.parse().ok()?))
}

/// One line of `vigil read --json`: who sent what, and (for one's own) how far it went.
#[derive(Debug)]
struct Line {
    sender: String,
    text: String,
    delivery: Option<String>,
}

/// The string value of `name` in a JSON object line (none of ours hold escapes).
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":\"");
    let rest = &line[line.find(&key)? + key.len()..];
    Some(&rest[..rest.find('"')?])
}

/// What `vigil` says when it refuses to open a store that is damaged.
const DAMAGED: &str = "the store is damaged";

/// The channel's history as `member` holds it, synced with the relay first unless `offline`;
/// what `vigil` said when it found the store damaged.
fn read_history(member: &Member, offline: bool) -> Result<Vec<Line>, String> {
    let mut args = vec!["read", CHANNEL, "--json"];
    if offline {
        args.insert(0, "--offline");
    }
    let run = member.run(vigil(), &args);
    if run.code != 0 && run.stderr.contains(DAMAGED) {
        return Err(run.stderr);
    }
    let run = run.ok();
    Ok(run
        .stdout
        .lines()
        .filter_map(|l| {
            Some(Line {
                sender: field(l, "sender")?.to_owned(),
                text: field(l, "text")?.to_owned(),
                delivery: field(l, "delivery").map(str::to_owned),
            })
        })
        .collect())
}

/// How many of `member`'s own campaign messages are sent, and how many they wrote.
fn own_progress(member: &Member, lines: &[Line]) -> (usize, usize) {
    let own: Vec<&Line> = lines
        .iter()
        .filter(|l| l.sender == member.user && parse_text(&l.text).is_some())
        .collect();
    let sent = own
        .iter()
        // Accepted by the relay; "delivered" once a recipient's client confirmed it too.
        .filter(|l| matches!(l.delivery.as_deref(), Some("sent" | "delivered")))
        .count();
    (sent, own.len())
}

/// A running `vigil` client, killed when dropped.
struct Client {
    child: Child,
    stderr: PathBuf,
}

impl Client {
    /// Starts `vigil read ops --follow` for `member` (which sends the outbox and receives),
    /// its standard error kept in `log`.
    fn follow(member: &Member, log: PathBuf) -> Self {
        let stderr = std::fs::File::create(&log).unwrap();
        let child = member
            .command(vigil(), &["read", CHANNEL, "--follow", "--json"])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        Self { child, stderr: log }
    }

    /// What the client said if it has ended by itself: only a damaged store may end it (it
    /// panics on anything else).
    fn ended(&mut self) -> Option<String> {
        let status = self.child.try_wait().unwrap()?;
        let said = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        assert!(
            said.contains(DAMAGED),
            "a client ended by itself ({status}):\n{said}"
        );
        Some(said)
    }

    /// SIGKILL, and waits; what the client said if it had ended by itself before.
    fn kill_9(mut self) -> Option<String> {
        if let Some(said) = self.ended() {
            return Some(said);
        }
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        None
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the campaign did and saw.
#[derive(Debug, Default)]
struct Counts {
    relay_kills: usize,
    sender_kills: usize,
    /// Sender clients killed after sending part of their outbox and before the rest.
    mid_flush: usize,
    /// Sender clients killed with messages still queued.
    with_outbox: usize,
    receiver_kills: usize,
    delivered: usize,
    duplicated: usize,
    lost: usize,
    out_of_order: usize,
    failed: usize,
}

/// A store a kill -9 damaged: whose, when, what `vigil` said, and where a copy is kept.
struct Damage {
    user: String,
    round: usize,
    client_kills_before: usize,
    said: String,
    kept: PathBuf,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the store of {} in round {}, after {} client kills: {:?}; a copy is in {}",
            self.user,
            self.round,
            self.client_kills_before,
            self.said,
            self.kept.display()
        )
    }
}

/// The stores kills damaged in one run; a member whose store is damaged takes no further part.
struct Damages {
    seed: u64,
    list: Vec<Damage>,
}

impl Damages {
    fn new(seed: u64) -> Self {
        Self {
            seed,
            list: Vec::new(),
        }
    }

    fn of(&self, member: &Member) -> bool {
        self.list.iter().any(|d| d.user == member.user)
    }

    /// Records `member`'s damaged store, and keeps a copy of their home (in the target
    /// directory's test scratch space) for whoever looks into it.
    fn record(&mut self, member: &Member, round: usize, counts: &Counts, said: String) {
        let kept = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("outbox-campaign-{}", self.seed))
            .join(&member.user);
        std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
        let copied = std::process::Command::new("cp")
            .arg("-a")
            .arg(&member.home)
            .arg(&kept)
            .status()
            .unwrap();
        assert!(copied.success());
        let damage = Damage {
            user: member.user.clone(),
            round,
            client_kills_before: counts.sender_kills + counts.receiver_kills,
            said: said.trim().to_owned(),
            kept,
        };
        println!("DAMAGED by kill -9: {damage}");
        self.list.push(damage);
    }
}

/// Runs `f` until it returns true, pausing between tries; false at the deadline.
fn poll(deadline: Instant, mut f: impl FnMut() -> bool) -> bool {
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn kill_9_of_clients_and_relay_while_sending_loses_nothing_and_duplicates_nothing() {
    let shape = Shape::from_env();
    let (mut rng, seed) = Rng::from_env();
    println!("outbox campaign: {shape:?}, seed {seed} (VIGIL_SEED={seed} replays the schedule)");
    let started = Instant::now();
    let fed = Federation::new(&["CERT-AT"]);
    let relay_binary = vigil_tests::relay_binary::beside(vigil());
    // Port 0 the first time; the relay comes back on the same address after every kill, as a
    // real relay does, so clients reconnect to it.
    let mut relay = Some(RelayProcess::start(&relay_binary, &fed.config));
    let addr = relay.as_ref().unwrap().addr;
    fed.listen_on(addr);

    let mut names: Vec<String> = (0..shape.senders)
        .map(|s| format!("s{s}@cert-at"))
        .collect();
    names.extend((0..shape.receivers).map(|r| format!("r{r}@cert-at")));
    let users: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "EU SECRET")).collect();
    let members = fed.enroll_all(vigil(), addr, &users);
    let owner = &members[0];
    owner
        .run(
            vigil(),
            &[
                "channel",
                "create",
                CHANNEL,
                "--tlp",
                "TLP:AMBER",
                "--level",
                "EU RESTRICTED",
            ],
        )
        .ok();
    for member in &members[1..] {
        owner
            .run(vigil(), &["channel", "invite", CHANNEL, &member.user])
            .ok();
    }
    // Everyone has joined before anyone queues offline.
    for member in &members[1..] {
        let joined = poll(Instant::now() + Duration::from_secs(60), || {
            member.run(vigil(), &["read", CHANNEL]).code == 0
        });
        assert!(joined, "{} never joined {CHANNEL}", member.user);
    }
    let setup = started.elapsed();

    let logs = fed.dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut spawned = 0usize;
    let mut log = |user: &str| {
        spawned += 1;
        logs.join(format!("{user}.{spawned}.stderr"))
    };
    let mut clients: Vec<Option<Client>> = (0..members.len()).map(|_| None).collect();
    let mut queued = vec![0u32; shape.senders];
    // When to kill a sender's client after it starts with a queued outbox, in ms: aimed at the
    // flush, later when a client had sent nothing yet, sooner when it had sent everything.
    let mut aim = 300u64;
    let mut fresh = vec![false; shape.senders];
    // Own messages sent, as last seen in each sender's store.
    let mut sent = vec![0usize; shape.senders];
    let mut counts = Counts::default();
    let mut damages = Damages::new(seed);
    for round in 0..shape.kills {
        // A client that ended by itself found its store damaged by an earlier kill.
        for (m, client) in clients.iter_mut().enumerate() {
            if let Some(said) = client.as_mut().and_then(Client::ended) {
                *client = None;
                damages.record(&members[m], round, &counts, said);
            }
        }
        // Senders whose client is down queue more, then every member's client runs.
        for s in 0..shape.senders {
            if clients[s].is_none() && !damages.of(&members[s]) {
                let upto = (queued[s] + shape.batch).min(shape.messages);
                for n in queued[s]..upto {
                    members[s]
                        .run(vigil(), &["--offline", "send", CHANNEL, &text(s, n)])
                        .ok();
                }
                fresh[s] = upto > queued[s];
                queued[s] = upto;
            }
        }
        for (m, member) in members.iter().enumerate() {
            if clients[m].is_none() && !damages.of(member) {
                clients[m] = Some(Client::follow(member, log(&member.user)));
            }
        }
        // This round's kills, at random moments: the relay once (restarted after a short
        // outage); each sender's client three times in four, around its flush when it has
        // just started with a queued outbox; each receiver's one time in four.
        let length = rng.range(400, 1600);
        let relay_at = rng.range(100, length);
        let mut events: Vec<(u64, Option<usize>)> = vec![(relay_at, None)];
        for (m, &just_queued) in fresh.iter().enumerate() {
            if !rng.one_in(4) {
                let at = if just_queued {
                    rng.range(aim / 2, aim * 3 / 2)
                } else {
                    rng.range(50, length)
                };
                events.push((at, Some(m)));
            }
        }
        for r in shape.senders..members.len() {
            if rng.one_in(4) {
                events.push((rng.range(50, length), Some(r)));
            }
        }
        events.sort_unstable();
        let outage = Duration::from_millis(rng.range(0, 300));
        let round_start = Instant::now();
        let mut killed = Vec::new();
        for (at, what) in events {
            let when = round_start + Duration::from_millis(at);
            std::thread::sleep(when.saturating_duration_since(Instant::now()));
            match what {
                None => {
                    relay.take().unwrap().signal("KILL");
                    counts.relay_kills += 1;
                    std::thread::sleep(outage);
                    relay = Some(RelayProcess::start(&relay_binary, &fed.config));
                }
                Some(m) => match clients[m].take().map(Client::kill_9) {
                    Some(None) => killed.push(m),
                    Some(Some(said)) => damages.record(&members[m], round, &counts, said),
                    None => {} // its store is damaged: no client runs
                },
            }
        }
        // How far each killed sender had got (read from its store once the kills are done,
        // so reading does not delay them).
        for m in killed {
            let member = &members[m];
            if m >= shape.senders {
                counts.receiver_kills += 1;
                continue;
            }
            counts.sender_kills += 1;
            let lines = match read_history(member, true) {
                Ok(lines) => lines,
                Err(said) => {
                    damages.record(member, round, &counts, said);
                    continue;
                }
            };
            let (now_sent, own) = own_progress(member, &lines);
            if now_sent < own {
                counts.with_outbox += 1;
                if now_sent > sent[m] {
                    counts.mid_flush += 1;
                }
            }
            if fresh[m] && now_sent == sent[m] {
                aim = aim * 5 / 4;
            } else if fresh[m] && now_sent == own {
                aim = (aim * 4 / 5).max(40);
            }
            sent[m] = now_sent;
        }
        fresh.fill(false);
        let end = round_start + Duration::from_millis(length);
        std::thread::sleep(end.saturating_duration_since(Instant::now()));
    }
    let campaign = started.elapsed() - setup;

    // The end: no more kills. Clients stop, the rest is queued, and each sender's outbox
    // empties through `vigil read` (sync, then send the outbox).
    for (client, member) in clients.iter_mut().zip(&members) {
        if let Some(said) = client.take().and_then(Client::kill_9) {
            damages.record(member, shape.kills, &counts, said);
        }
    }
    let deadline = Instant::now() + shape.deadline;
    for s in 0..shape.senders {
        let member = &members[s];
        if damages.of(member) {
            continue;
        }
        for n in queued[s]..shape.messages {
            member
                .run(vigil(), &["--offline", "send", CHANNEL, &text(s, n)])
                .ok();
        }
        queued[s] = shape.messages;
        let mut failed = 0;
        let drained = poll(deadline, || {
            let lines = read_history(member, false).unwrap();
            failed = lines
                .iter()
                .filter(|l| {
                    l.sender == member.user
                        && l.delivery
                            .as_deref()
                            .is_some_and(|d| d.starts_with("failed"))
                })
                .count();
            let (done, own) = own_progress(member, &lines);
            done == own || failed > 0
        });
        counts.failed += failed;
        assert!(drained, "the outbox of {} never emptied", member.user);
    }
    // Every member reads until it holds every message of every sender whose store is whole
    // (and what reached the relay of those whose store a kill damaged); then each is counted.
    let whole: Vec<usize> = (0..shape.senders)
        .filter(|s| !damages.of(&members[*s]))
        .collect();
    let total = shape.messages as usize * shape.senders;
    let expected = shape.messages as usize * whole.len();
    let mut checked = 0;
    for member in members.iter().filter(|m| !damages.of(m)) {
        checked += 1;
        let mut lines = Vec::new();
        poll(deadline, || {
            lines = read_history(member, false).unwrap();
            let mut distinct: Vec<(usize, u32)> = lines
                .iter()
                .filter_map(|l| parse_text(&l.text))
                .filter(|(s, _)| whole.contains(s))
                .collect();
            distinct.sort_unstable();
            distinct.dedup();
            distinct.len() >= expected
        });
        let mut seen: BTreeMap<(usize, u32), usize> = BTreeMap::new();
        let mut last: BTreeMap<usize, u32> = BTreeMap::new();
        for line in &lines {
            let Some((s, n)) = parse_text(&line.text) else {
                continue;
            };
            assert_eq!(line.sender, format!("s{s}@cert-at"), "{line:?}");
            let times = seen.entry((s, n)).or_default();
            *times += 1;
            if *times > 1 {
                counts.duplicated += 1;
                println!("{} holds {:?} {times} times", member.user, line.text);
            } else if last.insert(s, n).is_some_and(|before| n <= before) {
                counts.out_of_order += 1;
                println!("{} holds {:?} after a later one", member.user, line.text);
            }
        }
        counts.delivered += seen.len();
        for &s in &whole {
            for n in 0..shape.messages {
                if !seen.contains_key(&(s, n)) {
                    counts.lost += 1;
                    println!("{} never got {:?}", member.user, text(s, n));
                }
            }
        }
    }

    println!(
        "outbox campaign: {} senders, {} receivers (every member reads), {total} messages; \
         {} kill -9 of the relay; {} kill -9 of clients: {} of senders ({} with a queued \
         outbox, {} mid-flush: part sent, part not), {} of receivers; stores a kill damaged {}; \
         messages in the histories of the {checked} members with whole stores {} ({} expected \
         from the {} senders with whole stores), duplicated {}, lost {}, out of order {}, \
         failed {}; sender kills aimed at {aim} ms after a start at the end; setup {:.0} s, \
         campaign {:.0} s, in all {:.0} s; seed {seed}",
        shape.senders,
        shape.receivers,
        counts.relay_kills,
        counts.sender_kills + counts.receiver_kills,
        counts.sender_kills,
        counts.with_outbox,
        counts.mid_flush,
        counts.receiver_kills,
        damages.list.len(),
        counts.delivered,
        expected * checked,
        whole.len(),
        counts.duplicated,
        counts.lost,
        counts.out_of_order,
        counts.failed,
        setup.as_secs_f64(),
        campaign.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    let damaged: Vec<String> = damages.list.iter().map(ToString::to_string).collect();
    assert!(
        damaged.is_empty(),
        "stores damaged by kill -9 (seed {seed}):\n{}",
        damaged.join("\n")
    );
    assert_eq!(counts.lost, 0, "messages lost (seed {seed})");
    assert_eq!(counts.duplicated, 0, "messages duplicated (seed {seed})");
    assert_eq!(
        counts.out_of_order, 0,
        "messages out of order (seed {seed})"
    );
    assert_eq!(
        counts.failed, 0,
        "messages the client gave up on (seed {seed})"
    );
    assert!(counts.delivered >= expected * checked);
    if let Some(mut relay) = relay {
        relay.signal("TERM");
    }
}
