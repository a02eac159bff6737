//! The network worker: one task that owns the [`Client`] (and so the engine and the relay
//! connection), so the UI never blocks on the network or the disk. The UI sends commands
//! through a [`Handle`] (one request per action, each with its own typed answer) and receives
//! [`Event`]s.
//!
//! The worker stays connected: it reconnects with exponential backoff (up to
//! [`crate::client::MAX_BACKOFF`]) when the relay goes away, processes deliveries as they
//! arrive, sends the outbox after every change, and refreshes the revocation lists every
//! [`REVOCATION_REFRESH`]. Commands that work offline (send, create, remove, reading history)
//! keep working while it is offline; a message sent then waits in the outbox.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Label;
use vigil_protocol::{SafetyNumber, UserId};

use vigil_common::now;

use crate::client::{Client, ClientError, INITIAL_BACKOFF, MAX_BACKOFF};
use crate::engine::{ChannelSummary, EngineError, Entry, Event, Invitee, Whois};
use crate::history::{self, Export, Hit};
use crate::trust::Contact;

/// How often the revocation lists are fetched again while connected.
pub const REVOCATION_REFRESH: Duration = Duration::from_secs(300);

/// How long the worker waits for a push before it looks at its timers.
const TICK: Duration = Duration::from_secs(1);

/// Requests queued between the UI and the worker.
const REQUEST_QUEUE: usize = 64;

type Reply<T> = oneshot::Sender<Result<T, ClientError>>;

/// What the UI asks of the worker; each request carries the one-shot sender its answer goes
/// back on.
enum Request {
    Send {
        channel: ChannelId,
        text: String,
        reply: Reply<u64>,
    },
    Create {
        name: String,
        label: Label,
        reply: Reply<ChannelId>,
    },
    Invite {
        channel: ChannelId,
        user: UserId,
        reply: Reply<Invitee>,
    },
    Remove {
        channel: ChannelId,
        user: UserId,
        reason: String,
        reply: Reply<()>,
    },
    Channels {
        reply: Reply<Vec<ChannelSummary>>,
    },
    History {
        channel: ChannelId,
        before: Option<u64>,
        limit: usize,
        reply: Reply<Vec<(u64, Entry)>>,
    },
    Contact {
        user: UserId,
        reply: Reply<Option<Contact>>,
    },
    Whois {
        user: UserId,
        reply: Reply<Whois>,
    },
    SafetyNumber {
        user: UserId,
        reply: Reply<(SafetyNumber, Option<Contact>)>,
    },
    Verify {
        user: UserId,
        number: String,
        reply: Reply<()>,
    },
    Export {
        channel: ChannelId,
        reply: Reply<Export>,
    },
    Search {
        channel: Option<ChannelId>,
        text: String,
        limit: usize,
        reply: Reply<Vec<Hit>>,
    },
    Shutdown,
}

/// The UI's side of the worker.
#[derive(Clone, Debug)]
pub struct Handle {
    requests: mpsc::Sender<Request>,
}

impl Handle {
    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, ClientError> {
        let (tx, rx) = oneshot::channel();
        let sent = self.requests.send(make(tx)).await;
        sent.map_err(|_| ClientError::WorkerStopped)?;
        rx.await.map_err(|_| ClientError::WorkerStopped)?
    }

    /// Queues `text` for `channel`; returns its history sequence number.
    ///
    /// # Errors
    ///
    /// [`ClientError`]; a refusal by policy is an [`EngineError`] for which
    /// [`EngineError::is_refusal`] holds.
    pub async fn send(&self, channel: ChannelId, text: String) -> Result<u64, ClientError> {
        self.ask(|reply| Request::Send {
            channel,
            text,
            reply,
        })
        .await
    }

    /// Creates a channel.
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn create(&self, name: String, label: Label) -> Result<ChannelId, ClientError> {
        self.ask(|reply| Request::Create { name, label, reply })
            .await
    }

    /// Invites a member (needs the relay).
    ///
    /// # Errors
    ///
    /// [`ClientError::Offline`] when the relay cannot be reached; [`ClientError`].
    pub async fn invite(&self, channel: ChannelId, user: UserId) -> Result<Invitee, ClientError> {
        self.ask(|reply| Request::Invite {
            channel,
            user,
            reply,
        })
        .await
    }

    /// Removes a member.
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn remove(
        &self,
        channel: ChannelId,
        user: UserId,
        reason: String,
    ) -> Result<(), ClientError> {
        self.ask(|reply| Request::Remove {
            channel,
            user,
            reason,
            reply,
        })
        .await
    }

    /// Our channels.
    ///
    /// # Errors
    ///
    /// [`ClientError::WorkerStopped`].
    pub async fn channels(&self) -> Result<Vec<ChannelSummary>, ClientError> {
        self.ask(|reply| Request::Channels { reply }).await
    }

    /// A page of history, newest first (see [`crate::engine::Engine::history`]).
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn history(
        &self,
        channel: ChannelId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Entry)>, ClientError> {
        self.ask(|reply| Request::History {
            channel,
            before,
            limit,
            reply,
        })
        .await
    }

    /// What we pinned of a contact's keys (for trust markers).
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn contact(&self, user: UserId) -> Result<Option<Contact>, ClientError> {
        self.ask(|reply| Request::Contact { user, reply }).await
    }

    /// A contact's certificate, verified now, and what we pinned of them (see
    /// [`crate::engine::Engine::whois`]).
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn whois(&self, user: UserId) -> Result<Whois, ClientError> {
        self.ask(|reply| Request::Whois { user, reply }).await
    }

    /// The safety number with a contact, and what we pinned of them (see
    /// [`crate::engine::Engine::safety_number`]).
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn safety_number(
        &self,
        user: UserId,
    ) -> Result<(SafetyNumber, Option<Contact>), ClientError> {
        self.ask(|reply| Request::SafetyNumber { user, reply })
            .await
    }

    /// Marks a contact verified when `number` matches their safety number (see
    /// [`crate::engine::Engine::verify`]).
    ///
    /// # Errors
    ///
    /// [`EngineError::SafetyNumberMismatch`] when it does not match; [`ClientError`].
    pub async fn verify(&self, user: UserId, number: String) -> Result<(), ClientError> {
        self.ask(|reply| Request::Verify {
            user,
            number,
            reply,
        })
        .await
    }

    /// What an export of `channel` holds (see [`history::export`]).
    ///
    /// # Errors
    ///
    /// [`EngineError::NoExport`] for a `TLP:RED` channel; [`ClientError`].
    pub async fn export(&self, channel: ChannelId) -> Result<Export, ClientError> {
        self.ask(|reply| Request::Export { channel, reply }).await
    }

    /// Up to `limit` text messages containing `text`, in `channel` or in every channel (see
    /// [`history::search`]).
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn search(
        &self,
        channel: Option<ChannelId>,
        text: String,
        limit: usize,
    ) -> Result<Vec<Hit>, ClientError> {
        self.ask(|reply| Request::Search {
            channel,
            text,
            limit,
            reply,
        })
        .await
    }

    /// Asks the worker to stop (it acknowledges what it processed and closes the connection).
    pub async fn shutdown(&self) {
        let _ = self.requests.send(Request::Shutdown).await;
    }
}

/// Sends the answer to a query of the engine.
fn give<T>(reply: Reply<T>, result: Result<T, EngineError>) {
    let _ = reply.send(result.map_err(ClientError::from));
}

/// Starts the worker on the current runtime. Events arrive on the returned receiver; the join
/// handle gives the client back when the worker stops.
#[must_use]
pub fn spawn(client: Client) -> (Handle, mpsc::UnboundedReceiver<Event>, JoinHandle<Client>) {
    let (requests, inbox) = mpsc::channel(REQUEST_QUEUE);
    let (events, outlet) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(client, inbox, events));
    (Handle { requests }, outlet, task)
}

struct Worker {
    client: Client,
    events: mpsc::UnboundedSender<Event>,
    backoff: Duration,
    next_attempt: tokio::time::Instant,
    next_revocations: tokio::time::Instant,
    next_waiting_check: tokio::time::Instant,
    refused: bool,
}

/// How often the worker looks for items that have waited too long (alerts come within this
/// of [`crate::engine::STALL_WARNING_SECS`]).
const WAITING_CHECK: Duration = Duration::from_secs(60);

async fn run(
    client: Client,
    mut inbox: mpsc::Receiver<Request>,
    events: mpsc::UnboundedSender<Event>,
) -> Client {
    let mut worker = Worker {
        client,
        events,
        backoff: INITIAL_BACKOFF,
        next_attempt: tokio::time::Instant::now(),
        next_revocations: tokio::time::Instant::now() + REVOCATION_REFRESH,
        next_waiting_check: tokio::time::Instant::now() + WAITING_CHECK,
        refused: false,
    };
    loop {
        worker.keep_connected().await;
        let request = if worker.client.is_online() {
            tokio::select! {
                request = inbox.recv() => Some(request),
                push = worker.client.next_push(TICK) => {
                    if let Some(push) = push {
                        let done = worker.client.process(push).await;
                        worker.after(done).await;
                    }
                    None
                }
            }
        } else {
            tokio::select! {
                request = inbox.recv() => Some(request),
                () = tokio::time::sleep(TICK) => None,
            }
        };
        match request {
            None => {}
            Some(None | Some(Request::Shutdown)) => break,
            Some(Some(request)) => worker.handle(request).await,
        }
        worker.forward();
    }
    worker.forward();
    let mut client = worker.client;
    client.close().await;
    client
}

impl Worker {
    fn forward(&mut self) {
        for event in self.client.take_events() {
            let _ = self.events.send(event);
        }
    }

    /// Connects when offline and the backoff allows; refreshes revocation lists when due.
    async fn keep_connected(&mut self) {
        let now = tokio::time::Instant::now();
        if now >= self.next_waiting_check {
            self.next_waiting_check = now + WAITING_CHECK;
            if let Err(e) = self.client.check_waiting() {
                tracing::warn!(code = e.exit_code(), "checking what waits failed");
                tracing::debug!(error = %e, "checking what waits");
            }
            self.forward();
        }
        if !self.client.is_online() {
            if self.refused || now < self.next_attempt {
                return;
            }
            match self.client.connect().await {
                Ok(()) => {
                    self.backoff = INITIAL_BACKOFF;
                    let synced = self.client.sync().await;
                    self.after(synced).await;
                }
                Err(ClientError::LoginRefused(_)) => self.refused = true,
                Err(_) => {
                    self.next_attempt = now + self.backoff;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                }
            }
            self.forward();
        } else if now >= self.next_revocations {
            self.next_revocations = now + REVOCATION_REFRESH;
            let refreshed = self.client.refresh_revocations().await;
            self.after(refreshed).await;
        }
    }

    /// After network work: send the outbox; a broken connection makes us offline (the next
    /// attempt comes after the backoff); other failures are logged and shown as events.
    async fn after(&mut self, result: Result<(), ClientError>) {
        let result = match result {
            Ok(()) if self.client.is_online() => self.client.flush_outbox().await,
            other => other,
        };
        match result {
            Ok(()) => {}
            Err(ClientError::Transport(e)) => {
                // The text can carry what the relay chose (a close reason): debug only.
                tracing::info!("offline");
                tracing::debug!(error = %e, "offline");
                self.next_attempt = tokio::time::Instant::now() + self.backoff;
            }
            Err(e) => {
                tracing::warn!(code = e.exit_code(), "a step of the worker failed");
                tracing::debug!(error = %e, "worker");
            }
        }
        self.forward();
    }

    /// Answers one request: a change through the engine (then the outbox is sent), or a query
    /// of what it holds.
    async fn handle(&mut self, request: Request) {
        let engine = self.client.engine_mut();
        match request {
            Request::Send {
                channel,
                text,
                reply,
            } => {
                let result = engine.send_text(channel, &text, now());
                let _ = reply.send(self.keep(result));
                self.after(Ok(())).await;
            }
            Request::Create { name, label, reply } => {
                let result = engine.create_channel(&name, label, now());
                let _ = reply.send(self.keep(result));
            }
            Request::Remove {
                channel,
                user,
                reason,
                reply,
            } => {
                let result = engine.remove(channel, std::slice::from_ref(&user), &reason, now());
                let _ = reply.send(self.keep(result.map(|events| ((), events))));
                self.after(Ok(())).await;
            }
            Request::Invite {
                channel,
                user,
                reply,
            } => {
                let _ = reply.send(self.invite(channel, &user).await);
            }
            Request::Verify {
                user,
                number,
                reply,
            } => give(reply, engine.verify(&user, &number, now())),
            Request::Channels { reply } => give(reply, Ok(engine.channels())),
            Request::History {
                channel,
                before,
                limit,
                reply,
            } => give(reply, engine.history(channel, before, limit)),
            Request::Contact { user, reply } => give(reply, engine.contact(&user)),
            Request::Whois { user, reply } => give(reply, engine.whois(&user, now())),
            Request::SafetyNumber { user, reply } => {
                give(reply, engine.safety_number(&user, now()));
            }
            Request::Export { channel, reply } => give(reply, history::export(engine, channel)),
            Request::Search {
                channel,
                text,
                limit,
                reply,
            } => give(reply, history::search(engine, channel, &text, limit)),
            Request::Shutdown => {}
        }
    }

    /// Invites `user` into `channel` when the relay is reachable (their keys come from it).
    async fn invite(&mut self, channel: ChannelId, user: &UserId) -> Result<Invitee, ClientError> {
        if !self.client.is_online() {
            return Err(ClientError::Offline { action: "invite" });
        }
        self.client.invite(channel, user).await
    }

    /// Forwards the events of an engine call and keeps its value.
    fn keep<T>(&self, result: Result<(T, Vec<Event>), EngineError>) -> Result<T, ClientError> {
        let (value, events) = result?;
        for event in events {
            let _ = self.events.send(event);
        }
        Ok(value)
    }
}
