//! The crash campaign against the real `vigil-relay` binary: senders and receivers under load,
//! the relay killed with SIGKILL at random moments and restarted; at the end every message the
//! relay acknowledged is delivered exactly once, in each sender's order. And a full disk: the
//! relay refuses new sends with a clear error and loses nothing it acknowledged.
//!
//! Bounded by default (a few seconds); `VIGIL_SOAK=1` runs a long campaign.

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
    let attempt = RelayConnection::connect(&endpoint, addr, "localhost", pin, who);
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
}

/// Sends up to `quota` messages in order, resending the one in flight first; stops at the
/// first failure (the relay was killed) and returns its progress.
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
            Ok(Ok(Response::Error(e))) if e.code == ErrorCode::RateLimited => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(Ok(other)) => panic!("sender {s}: unexpected {other:?}"),
            _ => return state, // the relay is gone: the message stays in flight
        }
    }
    connection.close();
    state
}

/// Everything in `who`'s mailbox, acknowledged as it arrives.
async fn drain(addr: std::net::SocketAddr, pin: [u8; 32], who: &LocalIdentity) -> Vec<Vec<u8>> {
    let mut connection = connect(addr, pin, who).await.unwrap();
    let mut out = Vec::new();
    let mut wait = Duration::from_secs(10);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_message_and_duplicates_none() {
    let soak = std::env::var_os("VIGIL_SOAK").is_some();
    let (senders, receivers, quota, kills) = if soak { (8, 8, 400, 40) } else { (4, 4, 40, 5) };
    let mut names: Vec<(String, u8)> = (0..senders).map(|s| (format!("s{s}@cert-at"), 3)).collect();
    names.extend((0..receivers).map(|r| (format!("r{r}@cert-at"), 3)));
    let refs: Vec<(&str, u8)> = names.iter().map(|(n, l)| (n.as_str(), *l)).collect();
    let mut d = Deployment::new(&refs);
    d.set_limit("messages_per_second", 100_000);
    let ids: BTreeMap<String, Arc<LocalIdentity>> = std::mem::take(&mut d.members)
        .into_iter()
        .map(|(name, id)| (name, Arc::new(id)))
        .collect();
    // The relay learns members' certificates when they log in: receivers log in once.
    {
        let relay = RelayProcess::start(binary(), &d.config);
        for r in 0..receivers {
            connect(relay.addr, d.pin, &ids[&format!("r{r}@cert-at")])
                .await
                .unwrap()
                .close();
        }
    }
    let mut states = vec![Sender::default(); senders];
    let mut rng = rand_core::OsRng;
    let mut survived = 0;
    for round in 0..=kills {
        let mut relay = RelayProcess::start(binary(), &d.config);
        let tasks: Vec<_> = (0..senders)
            .map(|s| {
                let who = Arc::clone(&ids[&format!("s{s}@cert-at")]);
                tokio::spawn(run_sender(
                    s,
                    states[s].clone(),
                    quota,
                    relay.addr,
                    d.pin,
                    who,
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
                    let who = Arc::clone(&ids[&format!("s{s}@cert-at")]);
                    let rest = goal - states[s].next;
                    states[s] = run_sender(
                        s,
                        states[s].clone(),
                        rest,
                        relay.addr,
                        d.pin,
                        who,
                        targets(s, receivers),
                    )
                    .await;
                }
                assert!(states[s].next >= *goal, "sender {s} could not finish");
            }
            // Last round: nobody was killed, so every message in flight was sent again and
            // acknowledged; now the receivers read.
            let mut delivered = 0usize;
            let mut expected: BTreeMap<usize, BTreeSet<(usize, u32)>> = BTreeMap::new();
            for (s, state) in states.iter().enumerate() {
                for r in 0..receivers {
                    if targets(s, receivers).contains(&user(&format!("r{r}@cert-at"))) {
                        expected
                            .entry(r)
                            .or_default()
                            .extend(state.acked.iter().map(|n| (s, *n)));
                    }
                }
            }
            for r in 0..receivers {
                let who = &ids[&format!("r{r}@cert-at")];
                let got = drain(relay.addr, d.pin, who).await;
                delivered += got.len();
                let mut seen = BTreeSet::new();
                let mut last: BTreeMap<usize, u32> = BTreeMap::new();
                for payload in &got {
                    let s = usize::from(payload[0]);
                    let n = u32::from_be_bytes(payload[1..5].try_into().unwrap());
                    assert!(seen.insert((s, n)), "r{r} got message {n} of s{s} twice");
                    if let Some(previous) = last.insert(s, n) {
                        assert!(n > previous, "r{r}: s{s}'s {n} after {previous}");
                    }
                }
                let want = expected.remove(&r).unwrap_or_default();
                let missing: Vec<_> = want.difference(&seen).collect();
                assert!(
                    missing.is_empty(),
                    "r{r} lost acknowledged messages {missing:?}"
                );
                // Anything else delivered was stored but its Sent lost in a kill, then resent.
                assert!(seen.len() >= want.len());
            }
            let acked: usize = states.iter().map(|s| s.acked.len()).sum();
            let attempts: u32 = states.iter().map(|s| s.attempts).sum();
            let duplicates: u32 = states.iter().map(|s| s.duplicates).sum();
            println!(
                "crash campaign: {senders} senders, {receivers} receivers, {survived} kill -9 of \
                 the relay survived; sends attempted {attempts}, acknowledged {acked}, \
                 duplicates suppressed {duplicates}, deliveries {delivered} (each acknowledged \
                 message reaches 2 receivers: {} expected)",
                acked * 2
            );
            assert_eq!(
                delivered,
                acked * 2,
                "every delivery is one acknowledged message"
            );
            relay.signal("TERM");
        }
    }
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
    let got = drain(relay.addr, d.pin, &d.members["bob@cert-at"]).await;
    let numbers: Vec<u32> = got
        .iter()
        .map(|p| u32::from_be_bytes(p[1..5].try_into().unwrap()))
        .collect();
    assert_eq!(
        numbers, acked,
        "exactly the acknowledged messages, in order"
    );
}
