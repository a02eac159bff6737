//! A deterministic conversation through a hostile in-memory relay (in the style of quinn-proto's
//! `Pair` and libsignal's interaction fuzz target): thousands of messages in both directions,
//! dropped, reordered, duplicated, replayed and forged, with sessions saved and restored.
//!
//! Every message the relay delivers for the first time must decrypt to exactly what was sent;
//! every duplicate, replay and forgery must be refused without disturbing the session.

use std::collections::VecDeque;

use rand_chacha::ChaCha20Rng;
use rand_core::RngCore as _;
use vigil_protocol::message::Envelope;
use vigil_protocol::prekey::PrekeyStore;
use vigil_protocol::ratchet::MAX_RECEIVING_CHAINS;
use vigil_protocol::{DecodeError, HandshakeError, Session, SessionError};

use crate::fixtures::{NOW, World};

/// Messages the relay takes from a queue at once and shuffles. Below
/// [`MAX_RECEIVING_CHAINS`], so every reordering stays within the documented limits.
const BATCH: usize = MAX_RECEIVING_CHAINS - 1;

#[derive(Clone)]
struct InFlight {
    id: usize,
    bytes: Vec<u8>,
}

#[derive(Default, Debug)]
struct Stats {
    sent: usize,
    delivered: usize,
    dropped: usize,
    duplicates_refused: usize,
    replays_refused: usize,
    forgeries_refused: usize,
    restarts: usize,
}

struct Conversation {
    w: World,
    relay: ChaCha20Rng,
    alice: Session,
    bob: Option<Session>,
    /// Index 0: Alice to Bob; 1: Bob to Alice.
    queues: [VecDeque<InFlight>; 2],
    delivered_log: Vec<(usize, InFlight)>,
    expected: Vec<Vec<u8>>,
    delivered: Vec<bool>,
    stats: Stats,
}

fn pick(rng: &mut ChaCha20Rng, n: usize) -> usize {
    (rng.next_u32() as usize) % n.max(1)
}

impl Conversation {
    fn new(seed: u64) -> Self {
        let mut w = World::new(seed);
        let bob_cert = w.bob.verified_by(&w.trust);
        let alice = Session::initiate(
            &mut w.rng,
            &w.alice.local,
            &bob_cert,
            &w.bob.bundle(true),
            NOW,
        )
        .unwrap();
        Self {
            w,
            relay: crate::fixtures::rng(seed ^ 0xFF),
            alice,
            bob: None,
            queues: [VecDeque::new(), VecDeque::new()],
            delivered_log: Vec::new(),
            expected: Vec::new(),
            delivered: Vec::new(),
            stats: Stats::default(),
        }
    }

    fn send(&mut self, direction: usize) {
        let id = self.expected.len();
        let len = pick(&mut self.relay, 300);
        let mut text = format!("message {id} direction {direction} ").into_bytes();
        text.extend((0..len).map(|i| u8::try_from(i % 251).unwrap()));
        let session = match direction {
            0 => &mut self.alice,
            _ => match &mut self.bob {
                Some(bob) => bob,
                None => return,
            },
        };
        let envelope = session.encrypt(&mut self.w.rng, &text).unwrap();
        self.expected.push(text);
        self.delivered.push(false);
        self.queues[direction].push_back(InFlight {
            id,
            bytes: envelope.to_bytes(),
        });
        self.stats.sent += 1;
    }

    /// Hands `bytes` to the receiving side of `direction`.
    fn receive(&mut self, direction: usize, bytes: &[u8]) -> Result<Vec<u8>, Refused> {
        let envelope = Envelope::from_bytes(bytes).map_err(Refused::Decode)?;
        if direction == 1 {
            return self.alice.decrypt(&envelope).map_err(Refused::Session);
        }
        match (&mut self.bob, &envelope) {
            (Some(bob), _) => bob.decrypt(&envelope).map_err(Refused::Session),
            (None, Envelope::Prekey(first)) => {
                let (session, text) = Session::accept(
                    &self.w.bob.local,
                    &mut self.w.bob.prekeys,
                    &self.w.trust,
                    first,
                    NOW,
                )
                .map_err(Refused::Handshake)?;
                self.bob = Some(session);
                Ok(text)
            }
            (None, Envelope::Ratchet(_)) => Err(Refused::NoSession),
        }
    }

    fn deliver(&mut self, direction: usize, message: &InFlight) {
        let result = self.receive(direction, &message.bytes);
        let id = message.id;
        if self.delivered[id] {
            let err = result.expect_err("a message was accepted twice");
            assert!(
                matches!(
                    err,
                    Refused::Session(SessionError::Replayed { .. } | SessionError::Decrypt(_))
                        | Refused::Handshake(HandshakeError::ReplayedPrekeyMessage)
                ),
                "{err:?}"
            );
            self.stats.replays_refused += 1;
            return;
        }
        let text = result.unwrap_or_else(|e| panic!("message {id} (direction {direction}): {e:?}"));
        assert_eq!(
            text, self.expected[id],
            "message {id} decrypted to something else"
        );
        self.delivered[id] = true;
        self.stats.delivered += 1;
        self.delivered_log.push((direction, message.clone()));
    }

    fn relay_batch(&mut self, direction: usize, faults: bool) {
        let n = self.queues[direction].len().min(BATCH);
        let mut batch: Vec<InFlight> = self.queues[direction].drain(..n).collect();
        for i in (1..batch.len()).rev() {
            batch.swap(i, pick(&mut self.relay, i + 1));
        }
        for message in batch {
            let roll = pick(&mut self.relay, 100);
            if faults && roll < 5 {
                self.stats.dropped += 1;
                continue;
            }
            self.deliver(direction, &message);
            if faults && roll >= 95 {
                let err = self
                    .receive(direction, &message.bytes)
                    .expect_err("duplicate accepted");
                assert!(
                    matches!(
                        err,
                        Refused::Session(SessionError::Replayed { .. })
                            | Refused::Handshake(HandshakeError::ReplayedPrekeyMessage)
                    ),
                    "duplicate refused for another reason: {err:?}"
                );
                self.stats.duplicates_refused += 1;
            }
        }
    }

    fn replay_old(&mut self) {
        if self.delivered_log.is_empty() {
            return;
        }
        let (direction, message) =
            self.delivered_log[pick(&mut self.relay, self.delivered_log.len())].clone();
        self.deliver(direction, &message);
    }

    fn forge(&mut self) {
        let direction = pick(&mut self.relay, 2);
        let mut bytes = match self.queues[direction].front() {
            Some(m) => m.bytes.clone(),
            None => (0..64)
                .map(|_| self.relay.next_u32().to_le_bytes()[0])
                .collect(),
        };
        let i = pick(&mut self.relay, bytes.len());
        bytes[i] ^= 1 << pick(&mut self.relay, 8);
        if let Ok(text) = self.receive(direction, &bytes) {
            panic!("forged message accepted: {text:?}");
        }
        self.stats.forgeries_refused += 1;
    }

    /// Saves and restores both sessions and Bob's prekeys, as a client restart would.
    fn restart(&mut self) {
        self.alice = Session::from_bytes(&self.alice.to_bytes()).unwrap();
        if let Some(bob) = &self.bob {
            self.bob = Some(Session::from_bytes(&bob.to_bytes()).unwrap());
        }
        self.w.bob.prekeys = PrekeyStore::from_bytes(&self.w.bob.prekeys.to_bytes()).unwrap();
        self.stats.restarts += 1;
    }

    fn run(&mut self, steps: usize) {
        for step in 0..steps {
            match pick(&mut self.relay, 100) {
                0..30 => self.send(0),
                30..55 => self.send(1),
                55..95 => {
                    let direction = pick(&mut self.relay, 2);
                    self.relay_batch(direction, true);
                }
                95..98 => self.replay_old(),
                _ => self.forge(),
            }
            if step % 500 == 499 {
                self.restart();
            }
        }
        // The relay behaves from now on: drain both queues, then talk once more each way.
        while !self.queues[0].is_empty() || !self.queues[1].is_empty() {
            self.relay_batch(0, false);
            self.relay_batch(1, false);
        }
        for direction in [0, 1, 0] {
            self.send(direction);
            self.relay_batch(direction, false);
        }
        let undelivered = self.delivered.iter().filter(|d| !**d).count();
        assert_eq!(
            undelivered, self.stats.dropped,
            "every message not dropped arrives"
        );
    }
}

#[test]
fn thousands_of_messages_through_a_hostile_relay() {
    for seed in [1, 2, 3] {
        let mut conversation = Conversation::new(seed);
        conversation.run(4000);
        let s = &conversation.stats;
        eprintln!("seed {seed}: {s:?}");
        assert!(s.sent > 2000, "{s:?}");
        assert!(s.dropped > 0 && s.duplicates_refused > 0 && s.replays_refused > 0);
        assert!(s.forgeries_refused > 0 && s.restarts > 0);
        assert_eq!(s.delivered + s.dropped, s.sent);
    }
}

/// Why a delivery was not accepted (the errors are read by `Debug`, in failure messages).
#[derive(Debug)]
#[expect(dead_code, reason = "the fields are shown by Debug when a test fails")]
enum Refused {
    Decode(DecodeError),
    Session(SessionError),
    Handshake(HandshakeError),
    /// A ratchet message before the first message made the session.
    NoSession,
}
