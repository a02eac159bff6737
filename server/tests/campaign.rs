//! The crash campaign against the real `vigil-relay` binary: senders and receivers under load,
//! the relay killed with SIGKILL at random moments and restarted; at the end every message the
//! relay acknowledged is delivered exactly once, in each sender's order. And a full disk: the
//! relay refuses new sends with a clear error and loses nothing it acknowledged.
//!
//! Bounded by default (a few seconds); `VIGIL_SOAK=1` runs the long campaign: 8 senders and 8
//! receivers reading throughout, 100 kills.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test; the campaign prints its figures"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand_core::RngCore as _;
use vigil_client::transport::RelayConnection;
use vigil_protocol::relay::{ClientMessageId, ErrorCode, MessageId, Push, Request, Response};
use vigil_protocol::{LocalIdentity, UserId};
use vigil_tests::{Deployment, RelayProcess};

/// How long one request may take before the relay counts as gone (it may have been killed).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vigil-relay"))
}

fn user(name: &str) -> UserId {
    name.parse().unwrap()
}

/// Message `n` of sender `s`: its client id and payload say who and which.
fn message(s: usize, n: u32, receivers: &[UserId]) -> Request {
    let mut id = [0u8; 16];
    id[0] = u8::try_from(s).unwrap();
    id[1..5].copy_from_slice(&n.to_be_bytes());
    let mut payload = vec![0xA5; 64];
    payload[0] = id[0];
    payload[1..5].copy_from_slice(&n.to_be_bytes());
    Request::Send {
        id: ClientMessageId(id),
        recipients: receivers.to_vec(),
        level: None,
        payload,
    }
}

/// Where sender `s` sends: two receivers of `r`.
fn targets(s: usize, r: usize) -> Vec<UserId> {
    let mut t = vec![
        user(&format!("r{}@cert-at", s % r)),
        user(&format!("r{}@cert-at", (s + 1) % r)),
    ];
    t.dedup();
    t
}

async fn connect(
    addr: std::net::SocketAddr,
    pin: [u8; 32],
    who: &LocalIdentity,
) -> Option<RelayConnection> {
    let endpoint = vigil_tests::endpoint();
    let device = vigil_tests::device_of(who);
    let attempt = RelayConnection::connect(&endpoint, addr, "localhost", pin, who, &device);
    match tokio::time::timeout(REQUEST_TIMEOUT, attempt).await {
        Ok(Ok((connection, Response::LoggedIn { .. }))) => Some(connection),
        _ => None,
    }
}

/// One sender's progress across rounds.
#[derive(Clone, Debug, Default)]
struct Sender {
    /// The next message number to send.
    next: u32,
    /// Acknowledged message numbers.
    acked: Vec<u32>,
    /// Resends the relay recognised (stored before a kill, acknowledged after).
    duplicates: u32,
    /// Sends attempted (including resends).
    attempts: u32,
    /// Pauses for a full mailbox or the rate limit.
    waited: u32,
}

/// Sends up to `quota` messages in order, resending the one in flight first; stops at the
/// first failure (the relay was killed) and returns its progress. A full mailbox or a rate
/// limit is waited out, as a client's outbox does: the message is sent again after a pause.
async fn run_sender(
    s: usize,
    mut state: Sender,
    quota: u32,
    addr: std::net::SocketAddr,
    pin: [u8; 32],
    who: Arc<LocalIdentity>,
    receivers: Vec<UserId>,
) -> Sender {
    let Some(connection) = connect(addr, pin, &who).await else {
        return state;
    };
    let stop = state.next + quota;
    while state.next < stop {
        state.attempts += 1;
        let request = message(s, state.next, &receivers);
        match tokio::time::timeout(REQUEST_TIMEOUT, connection.request(&request)).await {
            Ok(Ok(Response::Sent { duplicate })) => {
                state.duplicates += u32::from(duplicate);
                state.acked.push(state.next);
                state.next += 1;
            }
            Ok(Ok(Response::Error(e)))
                if matches!(e.code, ErrorCode::RateLimited | ErrorCode::QuotaExceeded) =>
            {
                state.waited += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(Ok(other)) => panic!("sender {s}: unexpected {other:?}"),
            _ => return state, // the relay is gone: the message stays in flight
        }
    }
    connection.close();
    state
}

/// What one receiver got, across every relay it met.
#[derive(Clone, Debug, Default)]
struct Receiver {
    /// (sender, number) of each message delivered at least once.
    seen: BTreeSet<(usize, u32)>,
    /// Those whose acknowledgement the relay answered: never to be delivered again.
    confirmed: BTreeSet<(usize, u32)>,
    /// The last number first delivered from each sender (each sender's order).
    last: BTreeMap<usize, u32>,
    /// Deliveries again of a message whose acknowledgement a kill cut off (allowed: a client
    /// recognises them).
    redelivered: u32,
    /// Deliveries again of a message whose acknowledgement was answered (must stay 0).
    duplicated: u32,
    /// First deliveries out of their sender's order (must stay 0).
    out_of_order: u32,
}

impl Receiver {
    fn deliver(&mut self, key: (usize, u32)) {
        if self.confirmed.contains(&key) {
            self.duplicated += 1;
        } else if !self.seen.insert(key) {
            self.redelivered += 1;
        } else if self
            .last
            .insert(key.0, key.1)
            .is_some_and(|before| key.1 <= before)
        {
            self.out_of_order += 1;
        }
    }
}

/// Reads and acknowledges `who`'s deliveries while the relay lives, or (once `done` is set) until
/// nothing arrives for a moment.
async fn run_receiver(
    mut state: Receiver,
    addr: std::net::SocketAddr,
    pin: [u8; 32],
    who: Arc<LocalIdentity>,
    done: Arc<AtomicBool>,
) -> Receiver {
    let Some(mut connection) = connect(addr, pin, &who).await else {
        return state;
    };
    loop {
        let push = match tokio::time::timeout(QUIET, connection.next_push()).await {
            Err(_) if done.load(Ordering::SeqCst) => break,
            Err(_) => continue,
            Ok(Ok(Some(push))) => push,
            Ok(_) => break, // the relay is gone
        };
        let Push::Deliver { id, payload, .. } = push else {
            continue;
        };
        let key = (
            usize::from(payload[0]),
            u32::from_be_bytes(payload[1..5].try_into().unwrap()),
        );
        state.deliver(key);
        let ack = Request::Ack { ids: vec![id] };
        match tokio::time::timeout(REQUEST_TIMEOUT, connection.request(&ack)).await {
            Ok(Ok(Response::Acked { .. })) => {
                state.confirmed.insert(key);
            }
            _ => break,
        }
    }
    connection.close();
    state
}

/// How long a receiver waits for a delivery before it looks whether the campaign is over.
const QUIET: Duration = Duration::from_millis(700);

/// Everything in `who`'s mailbox, acknowledged as it arrives; `first` is how long to wait for
/// the relay to begin.
async fn drain(
    addr: std::net::SocketAddr,
    pin: [u8; 32],
    who: &LocalIdentity,
    first: Duration,
) -> Vec<Vec<u8>> {
    let mut connection = connect(addr, pin, who).await.unwrap();
    let mut out = Vec::new();
    let mut wait = first;
    while let Ok(Ok(Some(push))) = tokio::time::timeout(wait, connection.next_push()).await {
        if let Push::Deliver { id, payload, .. } = push {
            out.push(payload);
            let ids: Vec<MessageId> = vec![id];
            let _ = connection.request(&Request::Ack { ids }).await.unwrap();
        }
        wait = Duration::from_millis(700);
    }
    connection.close();
    out
}

/// The campaign's shape: senders, receivers, messages per sender per round at most, kills.
struct Shape {
    senders: usize,
    receivers: usize,
    quota: u32,
    kills: usize,
}

impl Shape {
    /// A few seconds by default; `VIGIL_SOAK=1`: 8 senders and 8 receivers through 100 kills.
    fn from_env() -> Self {
        if std::env::var_os("VIGIL_SOAK").is_some() {
            Self {
                senders: 8,
                receivers: 8,
                quota: 400,
                kills: 100,
            }
        } else {
            Self {
                senders: 4,
                receivers: 4,
                quota: 40,
                kills: 5,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_message_and_duplicates_none() {
    let shape = Shape::from_env();
    let Shape {
        senders,
        receivers,
        quota,
        kills,
    } = shape;
    let started = std::time::Instant::now();
    let mut names: Vec<(String, u8)> = (0..senders).map(|s| (format!("s{s}@cert-at"), 3)).collect();
    names.extend((0..receivers).map(|r| (format!("r{r}@cert-at"), 3)));
    let refs: Vec<(&str, u8)> = names.iter().map(|(n, l)| (n.as_str(), *l)).collect();
    let mut d = Deployment::new(&refs);
    d.set_limit("messages_per_second", 100_000);
    let ids: BTreeMap<String, Arc<LocalIdentity>> = std::mem::take(&mut d.members)
        .into_iter()
        .map(|(name, id)| (name, Arc::new(id)))
        .collect();
    let sender_id = |s: usize| Arc::clone(&ids[&format!("s{s}@cert-at")]);
    let receiver_id = |r: usize| Arc::clone(&ids[&format!("r{r}@cert-at")]);
    // The relay learns members' certificates when they log in: receivers log in once first.
    {
        let relay = RelayProcess::start(binary(), &d.config);
        for r in 0..receivers {
            connect(relay.addr, d.pin, &receiver_id(r))
                .await
                .unwrap()
                .close();
        }
    }
    let mut states = vec![Sender::default(); senders];
    let mut got = vec![Receiver::default(); receivers];
    let mut rng = rand_core::OsRng;
    let mut survived = 0;
    for round in 0..=kills {
        let mut relay = RelayProcess::start(binary(), &d.config);
        let done = Arc::new(AtomicBool::new(false));
        // Receivers read while senders send: their mailboxes never fill.
        let readers: Vec<_> = (0..receivers)
            .map(|r| {
                tokio::spawn(run_receiver(
                    got[r].clone(),
                    relay.addr,
                    d.pin,
                    receiver_id(r),
                    Arc::clone(&done),
                ))
            })
            .collect();
        let tasks: Vec<_> = (0..senders)
            .map(|s| {
                tokio::spawn(run_sender(
                    s,
                    states[s].clone(),
                    quota,
                    relay.addr,
                    d.pin,
                    sender_id(s),
                    targets(s, receivers),
                ))
            })
            .collect();
        if round < kills {
            let delay = 30 + u64::from(rng.next_u32() % 400);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            relay.signal("KILL");
            survived += 1;
        }
        let goals: Vec<u32> = states.iter().map(|s| s.next + quota).collect();
        for (s, task) in tasks.into_iter().enumerate() {
            states[s] = task.await.unwrap();
        }
        if round == kills {
            // Nobody is killed now: a sender that stopped anyway (a request slower than the
            // timeout on a loaded machine) finishes, resending what was in flight.
            for (s, goal) in goals.iter().enumerate() {
                for _ in 0..10 {
                    if states[s].next >= *goal {
                        break;
                    }
                    let rest = goal - states[s].next;
                    states[s] = run_sender(
                        s,
                        states[s].clone(),
                        rest,
                        relay.addr,
                        d.pin,
                        sender_id(s),
                        targets(s, receivers),
                    )
                    .await;
                }
                assert!(states[s].next >= *goal, "sender {s} could not finish");
            }
        }
        // Readers stop once nothing arrives for a moment (a killed relay's connections end
        // only when QUIC's idle timeout notices).
        done.store(true, Ordering::SeqCst);
        for (r, reader) in readers.into_iter().enumerate() {
            got[r] = reader.await.unwrap();
        }
        if round == kills {
            // What a reader left behind (one whose connection a slow request cut short).
            for (r, state) in got.iter_mut().enumerate() {
                // Readers acknowledged what they read: usually nothing is left.
                let left = drain(relay.addr, d.pin, &receiver_id(r), Duration::from_secs(2)).await;
                for payload in left {
                    state.deliver((
                        usize::from(payload[0]),
                        u32::from_be_bytes(payload[1..5].try_into().unwrap()),
                    ));
                }
            }
            relay.signal("TERM");
        }
    }
    report(&shape, &states, &got, survived, started.elapsed());
}

/// Checks and prints the campaign's counts: every acknowledged message delivered to each of
/// its receivers, none delivered again once its acknowledgement was answered, each sender's
/// order kept.
fn report(shape: &Shape, states: &[Sender], got: &[Receiver], survived: usize, took: Duration) {
    let mut lost = 0usize;
    for (r, receiver) in got.iter().enumerate() {
        let me = user(&format!("r{r}@cert-at"));
        for (s, state) in states.iter().enumerate() {
            if targets(s, shape.receivers).contains(&me) {
                lost += state
                    .acked
                    .iter()
                    .filter(|n| !receiver.seen.contains(&(s, **n)))
                    .count();
            }
        }
    }
    let acked: usize = states.iter().map(|s| s.acked.len()).sum();
    let attempts: u32 = states.iter().map(|s| s.attempts).sum();
    let suppressed: u32 = states.iter().map(|s| s.duplicates).sum();
    let waited: u32 = states.iter().map(|s| s.waited).sum();
    let delivered: usize = got.iter().map(|r| r.seen.len()).sum();
    let redelivered: u32 = got.iter().map(|r| r.redelivered).sum();
    let duplicated: u32 = got.iter().map(|r| r.duplicated).sum();
    let out_of_order: u32 = got.iter().map(|r| r.out_of_order).sum();
    println!(
        "crash campaign: {} senders, {} receivers reading throughout, {survived} kill -9 of \
         the relay survived in {:.0} s; sends attempted {attempts} (waited out a full mailbox \
         or the rate {waited} times), acknowledged {acked}, resends the relay recognised \
         {suppressed}; messages delivered {delivered} ({} expected: 2 receivers each), \
         delivered again after a kill cut their acknowledgement {redelivered}, duplicated \
         {duplicated}, lost {lost}, out of order {out_of_order}",
        shape.senders,
        shape.receivers,
        took.as_secs_f64(),
        acked * 2
    );
    assert_eq!(lost, 0, "acknowledged messages lost");
    assert_eq!(
        duplicated, 0,
        "messages delivered again after their acknowledgement"
    );
    assert_eq!(
        out_of_order, 0,
        "first deliveries out of their sender's order"
    );
    // Anything beyond the acknowledged was stored but its Sent lost in a kill, then resent
    // and recognised: still one message each.
    assert!(delivered >= acked * 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_new_sends_clearly_and_loses_nothing_acknowledged() {
    let d = Deployment::new(&[("alice@cert-at", 3), ("bob@cert-at", 3)]);
    d.set_limit("messages_per_second", 100_000);
    d.set_limit("mailbox_max_bytes", 1 << 30);
    d.set_limit("mailbox_max_messages", 1_000_000);
    // Files may grow to 2 MiB: the data directory fills after some hundreds of 4 KiB messages.
    let mut relay = RelayProcess::start_with_full_disk(binary(), &d.config, 2048);
    connect(relay.addr, d.pin, &d.members["bob@cert-at"])
        .await
        .unwrap()
        .close();
    let alice = connect(relay.addr, d.pin, &d.members["alice@cert-at"])
        .await
        .unwrap();
    let mut acked = Vec::new();
    let mut refusal = None;
    for n in 0..5000u32 {
        let mut request = message(0, n, &[user("bob@cert-at")]);
        if let Request::Send { payload, .. } = &mut request {
            payload.resize(4096, 0x5A);
        }
        match tokio::time::timeout(REQUEST_TIMEOUT, alice.request(&request)).await {
            Ok(Ok(Response::Sent { .. })) => acked.push(n),
            Ok(Ok(Response::Error(e))) => {
                refusal = Some(e);
                break;
            }
            other => panic!("message {n}: {other:?}"),
        }
    }
    let refusal = refusal.expect("the disk never filled");
    assert_eq!(refusal.code, ErrorCode::Storage, "{refusal:?}");
    // Still serving: another request is answered (refused again, clearly), not dropped.
    let again = tokio::time::timeout(
        REQUEST_TIMEOUT,
        alice.request(&message(0, 9999, &[user("bob@cert-at")])),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        matches!(again, Response::Error(ref e) if e.code == ErrorCode::Storage),
        "{again:?}"
    );
    println!(
        "full disk: {} messages of 4 KiB acknowledged before the relay refused: {}",
        acked.len(),
        refusal.message
    );
    // Space comes back (the limit is gone after a restart): everything acknowledged is there.
    relay.signal("KILL");
    let relay = RelayProcess::start(binary(), &d.config);
    let got = drain(
        relay.addr,
        d.pin,
        &d.members["bob@cert-at"],
        Duration::from_secs(10),
    )
    .await;
    let numbers: Vec<u32> = got
        .iter()
        .map(|p| u32::from_be_bytes(p[1..5].try_into().unwrap()))
        .collect();
    assert_eq!(
        numbers, acked,
        "exactly the acknowledged messages, in order"
    );
}
