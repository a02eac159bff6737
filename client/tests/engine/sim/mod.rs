//! A deterministic simulator of members' engines and their relay, driven step by step (in the
//! manner of quinn-proto's test `Pair`).
//!
//! **What it models.** Each member is a real [`Engine`] on a real sealed store in a temporary
//! directory, drawing its randomness from a generator seeded by the simulation, at the
//! simulation's clock. The relay is in memory with the real relay's semantics (docs/protocol.md
//! §14): prekey bundles (a one-time prekey handed out once), `Send` checked (unknown
//! recipients, clearance below the level) and stored once per recipient under a message id,
//! deduplicated by the sender's client message id; mailboxes kept until acknowledged; pushes to
//! a live connection in mailbox order, and everything unacknowledged pushed again after each
//! login. A member's client acknowledges only what its engine made durable, and sends its
//! outbox as the real client does (`NeedBundle`, refusals dropping the first entry, `sent`).
//!
//! **Steps** ([`Step`]): deliver one push (the next, or another: reordered; optionally kept:
//! duplicated), lose a push with its connection (the client logs in again and the relay pushes
//! everything unacknowledged again: a lost push is redelivered, never lost), hold a push back
//! behind the others (delayed), let a member acknowledge and send its outbox, lose the relay's
//! answer to a stored send (the connection drops; the resend is a duplicate), advance the clock
//! (every member's timer then checks what waits), take a member offline or back online,
//! restart a member (its engine dropped and reopened from its store; its connection and
//! unacknowledged deliveries lost), or make its next commit fail (a full disk: the process
//! crashes there and restarts). Typing, inviting and removing are the engines' own inputs,
//! through [`Sim::act`]. [`Sim::settle`] is the schedule without faults: everyone sends, every
//! push is delivered in order and acknowledged, until nothing moves (the engine tests'
//! harness, as `Net`). Everything that happens is hashed ([`Sim::trace_hash`]): a seed always
//! runs the same way.
//!
//! **What it does not model.** Revocation pushes and `RevokedRecipient`, quotas and rate
//! limits, `PrekeysLow` (bundles run out into the documented fallback), several devices per
//! member, clocks that disagree between members, a disk that loses what it acknowledged, and
//! a relay that forges or alters payloads (tests do that by hand with [`Sim::deliver`]).
//!
//! **Rerunning one seed.** `VIGIL_SIM_SEED=7 cargo test -p vigil-client --test engine
//! sim_seed_from_env -- --nocapture` runs the randomized run ([`random`]) for seed 7 only;
//! `VIGIL_SIM_STEPS` changes its length (a shorter run is the same run cut short), and
//! `VIGIL_SIM_LOG=1` prints every step, delivery, store and event. A failure names its seed,
//! and each violation its step.

pub(crate) mod random;
mod regressions;
mod relay;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use vigil_protocol::channel::ChannelId;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore as _, SeedableRng as _};
use sha2::{Digest as _, Sha256};
use vigil_client::engine::{Body, Delivery, Engine, EngineError, Event, Outgoing, SendOutcome};
use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::content::Payload;
use vigil_protocol::prekey::{OneTimePrekey, PrekeyBundle, SignedPrekey};
use vigil_protocol::provisioning::{BundleContents, KdfParams, RelayInfo, TrustedRoot};
use vigil_protocol::relay::{ErrorCode, RelayError, Request, Response};
use vigil_protocol::{LocalIdentity, MemberCertificate, OrgId, OrgRoot, Text, UnixTime, UserId};

use crate::net::{PASSPHRASE, up_to};
pub(crate) use relay::Mailbox;
use relay::{Link, Push};

/// Published prekeys, as the relay's directory holds them.
#[derive(Clone)]
pub(crate) struct Directory {
    pub(crate) certificate: MemberCertificate,
    pub(crate) signed: SignedPrekey,
    pub(crate) one_time: Vec<OneTimePrekey>,
}

/// One step of a simulated run. `nth` picks among a member's pushes in flight (modulo their
/// number; 0 is the next in order).
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// A push reaches `to` and is processed; `again` keeps it in flight (it arrives twice).
    Deliver { to: String, nth: usize, again: bool },
    /// A push to `to` is lost with its connection; the client logs in again and the relay
    /// pushes everything unacknowledged again.
    Lose { to: String, nth: usize },
    /// A push to `to` is held back behind the others.
    Delay { to: String, nth: usize },
    /// `from` acknowledges what it processed and sends its outbox.
    Flush { from: String },
    /// `from` sends its first outbox entry; the relay stores it, and the answer is lost with
    /// the connection.
    LoseAnswer { from: String },
    /// The clock advances; every member's timer checks what waits.
    Advance(u64),
    /// The member's connection drops (and stays down).
    Offline(String),
    /// The member logs in again: everything unacknowledged is pushed again.
    Online(String),
    /// The member's process is killed and restarted from its store.
    Restart(String),
    /// The member's disk fails at its next commit: the process crashes there and restarts.
    FailNextCommit(String),
}

/// What the relay stored for one `Send`, for the invariant: who sent which outbox entry, to
/// whom.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub(crate) from: String,
    /// The sender's outbox entry.
    pub(crate) key: Vec<u8>,
    /// The channel, for a channel message (its header names it).
    pub(crate) channel: Option<ChannelId>,
    pub(crate) recipients: Vec<UserId>,
}

/// Members' engines and an in-memory relay, driven step by step at a simulated clock.
pub(crate) struct Sim {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) roots: Vec<OrgRoot>,
    /// What bundles enrolled from now on accept from each partner (absent: up to EU TOP
    /// SECRET, any role).
    pub(crate) limits: BTreeMap<OrgId, PartnerLimits>,
    pub(crate) engines: BTreeMap<String, Engine>,
    pub(crate) directory: BTreeMap<String, Directory>,
    /// Each member's mailbox at the relay.
    pub(crate) mail: BTreeMap<String, Mailbox>,
    pub(crate) events: BTreeMap<String, Vec<Event>>,
    /// (member, recipient) of each bundle the member's engine refused.
    pub(crate) refusals: Vec<(String, String)>,
    /// The simulated time.
    pub(crate) clock: UnixTime,
    /// Every send the relay stored, in order.
    pub(crate) stored: Vec<Stored>,
    /// The outbox entry of each of a sender's history entries the relay answered `Sent` for:
    /// (sender, channel, seq) → outbox key.
    pub(crate) outboxed: BTreeMap<(String, ChannelId, u64), Vec<u8>>,
    /// What broke an expectation while the run went on (a send to a non-member, an engine
    /// error other than the store's).
    pub(crate) violations: Vec<String>,
    /// Steps taken.
    pub(crate) steps: u64,
    rng: ChaCha20Rng,
    /// Each member's store.
    pub(crate) homes: BTreeMap<String, PathBuf>,
    /// Live connections (a member without one is offline).
    links: BTreeMap<String, Link>,
    next_message: u64,
    /// (sender, client message id) of every stored send.
    dedup: BTreeSet<(String, [u8; 16])>,
    /// Everything that happened, hashed: two runs of a seed must end with the same.
    trace: Sha256,
    /// The outbox key being sent, while a send step runs.
    sending: Option<Vec<u8>>,
    /// Whether the trace is shown (`VIGIL_SIM_LOG`).
    verbose: bool,
}

impl Sim {
    /// A simulation of the members of `orgs` at the tests' time ([`crate::net::now`]), with a
    /// fixed seed: the harness of the engine tests.
    pub(crate) fn new(orgs: &[&crate::net::Org]) -> Self {
        Self::seeded(orgs, 0, crate::net::now())
    }

    /// A simulation of the members of `orgs` from `start`, its randomness from `seed`.
    pub(crate) fn seeded(orgs: &[&crate::net::Org], seed: u64, start: UnixTime) -> Self {
        // In memory where there is a tmpfs: the stores' flushes then cost nothing (a crash here
        // is the process's, not the disk's).
        let dir = tempfile::Builder::new()
            .prefix("vigil-sim")
            .tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        Self {
            dir,
            roots: orgs.iter().map(|o| o.root.clone()).collect(),
            limits: BTreeMap::new(),
            engines: BTreeMap::new(),
            directory: BTreeMap::new(),
            mail: BTreeMap::new(),
            events: BTreeMap::new(),
            refusals: Vec::new(),
            clock: start,
            stored: Vec::new(),
            outboxed: BTreeMap::new(),
            violations: Vec::new(),
            steps: 0,
            rng: ChaCha20Rng::seed_from_u64(seed),
            homes: BTreeMap::new(),
            links: BTreeMap::new(),
            next_message: 0,
            dedup: BTreeSet::new(),
            trace: Sha256::new(),
            sending: None,
            verbose: std::env::var_os("VIGIL_SIM_LOG").is_some(),
        }
    }

    /// A generator for a member's engine, drawn from the simulation's.
    fn engine_rng(&mut self) -> Box<ChaCha20Rng> {
        Box::new(ChaCha20Rng::seed_from_u64(self.rng.next_u64()))
    }

    /// Enrolls `identity` (again, after a reinstall) with fresh prekeys, published; online.
    pub(crate) fn enroll(&mut self, identity: &LocalIdentity) {
        let user = identity.user().to_string();
        let relay = RelayInfo {
            address: Text::new("127.0.0.1:1").unwrap(),
            server_name: Text::new("localhost").unwrap(),
            pin: [7; 32],
        };
        let roots = self
            .roots
            .iter()
            .map(|root| {
                if root.org() == &identity.certificate().body().org {
                    TrustedRoot::own(root.clone())
                } else {
                    let limits = self.limits.get(root.org()).cloned();
                    TrustedRoot::partner(root.clone(), limits.unwrap_or_else(|| up_to(4)))
                }
            })
            .collect();
        let bundle = BundleContents::new(identity, relay, roots, vec![]);
        let home = self.dir.path().join(format!("{user}-{}", self.homes.len()));
        let rng = self.engine_rng();
        let now = self.clock;
        let mut engine = Engine::enroll_with_rng(&home, bundle, PASSPHRASE, now, rng).unwrap();
        // The cheapest passphrase sealing a file may ask for: restarts are frequent here.
        let cheap = KdfParams {
            memory_kib: KdfParams::MIN_MEMORY_KIB,
            iterations: 1,
            parallelism: 1,
        };
        engine.store().rewrap(PASSPHRASE, cheap).unwrap();
        let (signed, one_time) = engine.prekeys_for_login(now).unwrap().unwrap();
        engine.published(signed.id).unwrap();
        self.directory.insert(
            user.clone(),
            Directory {
                certificate: identity.certificate().clone(),
                signed,
                one_time,
            },
        );
        self.homes.insert(user.clone(), home);
        self.engines.insert(user.clone(), engine);
        self.links.insert(user, Link::default());
    }

    /// Adds `user`, enrolled elsewhere: a copy of their store at `home` (closed), their
    /// prekeys as published; online.
    pub(crate) fn adopt(&mut self, user: &str, home: &Path, directory: Directory) {
        let copy = self.dir.path().join(format!("{user}-{}", self.homes.len()));
        copy_dir(home, &copy);
        let rng = self.engine_rng();
        let engine = Engine::open_with_rng(&copy, PASSPHRASE, rng).unwrap();
        self.directory.insert(user.to_owned(), directory);
        self.homes.insert(user.to_owned(), copy);
        self.engines.insert(user.to_owned(), engine);
        self.links.insert(user.to_owned(), Link::default());
    }

    pub(crate) fn engine(&mut self, user: &str) -> &mut Engine {
        self.engines.get_mut(user).unwrap()
    }

    /// The relay's answer to `FetchBundle`: the member's certificate and a bundle with one of
    /// their one-time prekeys, handed out once.
    pub(crate) fn bundle(&mut self, user: &str) -> (MemberCertificate, PrekeyBundle) {
        let entry = self.directory.get_mut(user).unwrap();
        let bundle = PrekeyBundle {
            user: entry.certificate.body().user.clone(),
            identity_key: entry.certificate.body().identity_key,
            signed_prekey: entry.signed.clone(),
            one_time_prekey: entry.one_time.pop(),
        };
        (entry.certificate.clone(), bundle)
    }

    pub(crate) fn online(&self, user: &str) -> bool {
        self.links.contains_key(user)
    }

    /// Pushes on their way to `user`.
    pub(crate) fn in_flight(&self, user: &str) -> usize {
        self.links.get(user).map_or(0, |l| l.in_flight.len())
    }

    /// The hash of everything that happened so far.
    pub(crate) fn trace_hash(&self) -> [u8; 32] {
        self.trace.clone().finalize().into()
    }

    fn note(&mut self, what: &[u8]) {
        self.trace.update((what.len() as u64).to_le_bytes());
        self.trace.update(what);
    }

    /// Notes a line of the trace; shown on standard error with `VIGIL_SIM_LOG` set.
    #[expect(clippy::print_stderr, reason = "the trace of a rerun, asked for")]
    pub(crate) fn log(&mut self, line: &str) {
        if self.verbose {
            eprintln!("{line}");
        }
        self.note(line.as_bytes());
    }

    /// Records `user`'s events (and, for the outbox entry being sent, what became of it).
    pub(crate) fn record(&mut self, user: &str, events: Vec<Event>) {
        for event in &events {
            if let Event::Delivery {
                channel,
                seq,
                state: Delivery::Sent,
            } = event
                && let Some(key) = &self.sending
            {
                self.outboxed
                    .insert((user.to_owned(), *channel, *seq), key.clone());
            }
            let line = format!("  {user} {event:?}");
            self.log(&line);
        }
        self.events
            .entry(user.to_owned())
            .or_default()
            .extend(events);
    }

    /// Runs one input of `user`'s engine at the simulated clock. A store failure is a crash:
    /// the member restarts from its store (and the error is returned).
    pub(crate) fn act<T>(
        &mut self,
        user: &str,
        input: impl FnOnce(&mut Engine, UnixTime) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let now = self.clock;
        let result = input(self.engine(user), now);
        if let Err(EngineError::Store(e)) = &result {
            let line = format!("  {user} crashed: {e}");
            self.log(&line);
            self.restart(user);
        }
        result
    }

    /// Kills `user`'s process and starts it again from its store; it logs in again if it was
    /// online.
    pub(crate) fn restart(&mut self, user: &str) {
        drop(self.engines.remove(user));
        let was_online = self.links.remove(user).is_some();
        let rng = self.engine_rng();
        let engine = Engine::open_with_rng(&self.homes[user], PASSPHRASE, rng).unwrap();
        self.engines.insert(user.to_owned(), engine);
        if was_online {
            self.links.insert(user.to_owned(), Link::default());
        }
    }

    /// The relay pushes what each live connection has not been pushed yet.
    fn pump(&mut self) {
        for (user, link) in &mut self.links {
            let Some(mailbox) = self.mail.get(user) else {
                continue;
            };
            for (id, (from, payload)) in mailbox.after(link.pushed) {
                link.in_flight.push_back(Push {
                    id,
                    from: from.clone(),
                    payload: payload.clone(),
                });
                link.pushed = id;
            }
        }
    }

    /// Starts a step: the relay pushes what it has not pushed yet.
    pub(crate) fn begin(&mut self, what: &str) {
        self.steps += 1;
        self.pump();
        let line = format!("{} {what}", self.steps);
        self.log(&line);
    }

    /// Takes one step.
    pub(crate) fn step(&mut self, step: &Step) {
        self.begin(&format!("{step:?}"));
        match step {
            Step::Deliver { to, nth, again } => {
                let Some(push) = self.take_push(to, *nth, *again) else {
                    return;
                };
                self.process(to, &push);
            }
            Step::Lose { to, nth } => {
                // A connection is reliable: a push is lost only with it. The client logs in
                // again, and the relay pushes everything unacknowledged again.
                if self.take_push(to, *nth, false).is_some() {
                    self.links.insert(to.clone(), Link::default());
                }
            }
            Step::Delay { to, nth } => {
                if let Some(push) = self.take_push(to, *nth, false) {
                    self.links.get_mut(to).unwrap().in_flight.push_back(push);
                }
            }
            Step::Flush { from } => {
                if self.online(from) {
                    self.flush(from, false);
                }
            }
            Step::LoseAnswer { from } => {
                if self.online(from) {
                    self.flush(from, true);
                }
            }
            Step::Advance(secs) => {
                self.clock = self.clock.plus_secs(*secs);
                let users: Vec<String> = self.engines.keys().cloned().collect();
                for user in users {
                    if let Ok(events) = self.act(&user, Engine::check_waiting_now) {
                        self.record(&user, events);
                    }
                }
            }
            Step::Offline(user) => {
                self.links.remove(user);
            }
            Step::Online(user) => {
                self.links.insert(user.clone(), Link::default());
            }
            Step::Restart(user) => self.restart(user),
            Step::FailNextCommit(user) => self.engine(user).store().fail_next_commit(),
        }
    }

    fn take_push(&mut self, to: &str, nth: usize, again: bool) -> Option<Push> {
        let link = self.links.get_mut(to)?;
        if link.in_flight.is_empty() {
            return None;
        }
        let nth = nth % link.in_flight.len();
        if again {
            link.in_flight.get(nth).cloned()
        } else {
            link.in_flight.remove(nth)
        }
    }

    /// `to`'s client processes a push: durable first, then queued for acknowledgement.
    fn process(&mut self, to: &str, push: &Push) {
        let line = format!("  {to} processes {} from {}", push.id, push.from);
        self.log(&line);
        self.note(&Sha256::digest(&push.payload));
        match self.act(to, |engine, now| {
            engine.receive(&push.from, &push.payload, now)
        }) {
            Ok(events) => {
                self.record(to, events);
                if let Some(link) = self.links.get_mut(to) {
                    link.to_ack.push(push.id);
                }
            }
            Err(EngineError::Store(_)) => {}
            Err(e) => self.violations.push(format!(
                "step {}: {to} could not process a delivery from {}: {e}",
                self.steps, push.from
            )),
        }
    }

    /// The relay removes what `user` acknowledged.
    fn ack(&mut self, user: &str, ids: &[u64]) {
        if let Some(mailbox) = self.mail.get_mut(user) {
            for id in ids {
                mailbox.ack(*id);
            }
        }
    }

    /// Sends every outbox into the mailboxes (the relay stores and answers).
    pub(crate) fn send_all(&mut self) {
        let users: Vec<String> = self.engines.keys().cloned().collect();
        for user in users {
            self.send_from(&user);
        }
    }

    /// Sends `user`'s outbox into the mailboxes.
    pub(crate) fn send_from(&mut self, user: &str) {
        self.flush(user, false);
    }

    /// What the client does when it is online: acknowledge, then send the outbox until it is
    /// empty (or, with `lose_answer`, until the relay stored the first send and the answer was
    /// lost with the connection).
    fn flush(&mut self, user: &str, lose_answer: bool) {
        if let Some(link) = self.links.get_mut(user) {
            let ids = std::mem::take(&mut link.to_ack);
            self.ack(user, &ids);
        }
        loop {
            let Ok(next) = self.act(user, Engine::next_outgoing) else {
                return;
            };
            match next {
                Outgoing::Idle => return,
                Outgoing::NeedBundle(to) => {
                    if !self.fetch_session(user, &to) {
                        return;
                    }
                }
                Outgoing::Send { key, request } => {
                    let response = self.relay_send(user, &key, request);
                    if lose_answer {
                        self.links.remove(user);
                        return;
                    }
                    self.sending = Some(key.clone());
                    let answered = self.act(user, |engine, _| engine.sent(&key, &response));
                    let outcome = match answered {
                        Ok((outcome, events)) => {
                            self.record(user, events);
                            outcome
                        }
                        Err(_) => {
                            self.sending = None;
                            return;
                        }
                    };
                    self.sending = None;
                    match outcome {
                        SendOutcome::Done | SendOutcome::Failed(_) => {}
                        SendOutcome::Retry(why) | SendOutcome::Revoked(why) => {
                            self.violations.push(format!(
                                "step {}: the simulated relay made {user} retry: {why}",
                                self.steps
                            ));
                            return;
                        }
                    }
                }
            }
        }
    }

    /// As the client does for `NeedBundle`: a bundle from the relay; a refused one (or none)
    /// fails the first entry. False when the member crashed.
    fn fetch_session(&mut self, user: &str, to: &UserId) -> bool {
        if !self.directory.contains_key(to.as_str()) {
            let why = format!("{to} is not known to this relay");
            return match self.act(user, |engine, _| engine.drop_first(&why)) {
                Ok(events) => {
                    self.record(user, events);
                    true
                }
                Err(_) => false,
            };
        }
        let (certificate, bundle) = self.bundle(to.as_str());
        let events = match self.act(user, |e, now| e.add_bundle(&certificate, &bundle, now)) {
            Ok(events) => events,
            Err(EngineError::Store(_)) => return false,
            Err(refused) => {
                self.refusals.push((user.to_owned(), to.to_string()));
                let why = refused.to_string();
                match self.act(user, |engine, _| engine.drop_first(&why)) {
                    Ok(events) => events,
                    Err(_) => return false,
                }
            }
        };
        self.record(user, events);
        true
    }

    /// The relay's handling of `Send` from `from`: checked, deduplicated, stored once for each
    /// recipient.
    fn relay_send(&mut self, from: &str, key: &[u8], request: Request) -> Response {
        let Request::Send {
            id,
            recipients,
            level,
            payload,
        } = request
        else {
            panic!("the outbox sent something other than a message");
        };
        let refuse = |code, message: String| Response::Error(RelayError { code, message });
        for to in &recipients {
            let Some(entry) = self.directory.get(to.as_str()) else {
                return refuse(ErrorCode::UnknownRecipient, format!("{to} is not known"));
            };
            let clearance = &entry.certificate.body().clearance;
            if let Some(level) = &level
                && !clearance.dominates(level)
            {
                let why = format!("{to} has clearance {}", clearance.marking());
                return refuse(ErrorCode::InsufficientClearance, why);
            }
        }
        if !self.dedup.insert((from.to_owned(), id.0)) {
            return Response::Sent { duplicate: true };
        }
        let channel = match Payload::from_bytes(&payload) {
            Ok(Payload::Channel(message)) => Some(message.header.channel),
            _ => None,
        };
        if let Some(channel) = channel {
            self.check_recipients(from, channel, &recipients);
        }
        self.next_message += 1;
        let sender = UserId::new(from).unwrap();
        let line = format!(
            "  relay stores {} from {from} for {recipients:?}",
            self.next_message
        );
        self.log(&line);
        self.note(&Sha256::digest(&payload));
        for to in &recipients {
            self.mail.entry(to.to_string()).or_default().push(
                self.next_message,
                sender.clone(),
                payload.clone(),
            );
        }
        self.stored.push(Stored {
            from: from.to_owned(),
            key: key.to_vec(),
            channel,
            recipients,
        });
        Response::Sent { duplicate: false }
    }

    /// A channel message goes only to members of the channel as its sender holds it now.
    fn check_recipients(&mut self, from: &str, channel: ChannelId, recipients: &[UserId]) {
        let members: Vec<UserId> = match self.engines[from].channel(channel) {
            Ok(summary) => summary.members.into_iter().map(|m| m.user).collect(),
            Err(_) => Vec::new(),
        };
        for to in recipients {
            if !members.contains(to) || to.as_str() == from {
                self.violations.push(format!(
                    "step {}: {from} sent a message of {} to {to}, not a member",
                    self.steps,
                    channel.short()
                ));
            }
        }
    }

    /// Delivers `payload` to `to` as from `from`, outside any mailbox (a relay's push of what
    /// a test chose).
    pub(crate) fn deliver(&mut self, to: &str, from: &UserId, payload: &[u8]) {
        let now = self.clock;
        let events = self.engine(to).receive(from, payload, now).unwrap();
        self.record(to, events);
    }

    /// Without faults: every member sends, the relay pushes, every push is delivered in order
    /// and acknowledged, until nothing moves.
    pub(crate) fn settle(&mut self) {
        loop {
            self.send_all();
            self.pump();
            let users: Vec<String> = self
                .links
                .iter()
                .filter(|(u, l)| !l.in_flight.is_empty() && self.engines.contains_key(*u))
                .map(|(u, _)| u.clone())
                .collect();
            if users.is_empty() {
                return;
            }
            for user in users {
                while let Some(push) = self.take_push(&user, 0, false) {
                    let now = self.clock;
                    let events = self.engine(&user).receive(&push.from, &push.payload, now);
                    self.record(&user, events.unwrap());
                    self.ack(&user, &[push.id]);
                }
            }
        }
    }

    pub(crate) fn texts(&mut self, user: &str, channel: &str) -> Vec<String> {
        let engine = self.engine(user);
        let id = engine.find_channel(channel).unwrap();
        let mut page = engine.history(id, None, 1000).unwrap();
        page.reverse();
        page.into_iter()
            .filter_map(|(_, e)| match e.body {
                Body::Text(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn placeholders(&mut self, user: &str) -> usize {
        self.events[user]
            .iter()
            .filter(|e| matches!(e, Event::DecryptFailed { .. }))
            .count()
    }
}

/// Copies directory `from` (a closed store) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
