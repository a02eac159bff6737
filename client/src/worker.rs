//! The network worker: one task that owns the [`Client`] (and so the engine and the relay
//! connection), so the UI never blocks on the network or the disk. The UI sends commands
//! through a [`Handle`] and receives [`Event`]s.
//!
//! The worker stays connected: it reconnects with exponential backoff (up to
//! [`crate::client::MAX_BACKOFF`]) when the relay goes away, processes deliveries as they
//! arrive, sends the outbox after every change, and refreshes the revocation lists every
//! [`REVOCATION_REFRESH`]. Commands that work offline (send, create, remove, reading history)
//! keep working while it is offline; a message sent then waits in the outbox.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Label;

use vigil_common::now;

use crate::client::{Client, ClientError, INITIAL_BACKOFF, MAX_BACKOFF};
use crate::engine::{ChannelSummary, EngineError, Entry, Event, Invitee};
use crate::trust::Contact;

/// How often the revocation lists are fetched again while connected.
pub const REVOCATION_REFRESH: Duration = Duration::from_secs(300);

/// How long the worker waits for a push before it looks at its timers.
const TICK: Duration = Duration::from_secs(1);

/// Commands queued between the UI and the worker.
const COMMAND_QUEUE: usize = 64;

type Reply<T> = oneshot::Sender<Result<T, ClientError>>;

enum Command {
    Send((ChannelId, String), Reply<u64>),
    Create((String, Label), Reply<ChannelId>),
    Invite((ChannelId, UserId), Reply<Invitee>),
    Remove((ChannelId, UserId, String), Reply<()>),
    Channels(Reply<Vec<ChannelSummary>>),
    History((ChannelId, Option<u64>, usize), Reply<Vec<(u64, Entry)>>),
    Contact(UserId, Reply<Option<Contact>>),
    Run(Box<dyn FnOnce(&mut Client) + Send>),
    Shutdown,
}

/// The UI's side of the worker.
#[derive(Clone, Debug)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
}

fn gone() -> ClientError {
    EngineError::Usage("the network worker has stopped".into()).into()
}

impl Handle {
    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Queues `text` for `channel`; returns its history sequence number.
    ///
    /// # Errors
    ///
    /// [`ClientError`] (a policy refusal is [`EngineError::Refused`]).
    pub async fn send(&self, channel: ChannelId, text: String) -> Result<u64, ClientError> {
        self.ask(|r| Command::Send((channel, text), r)).await
    }

    /// Creates a channel.
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn create(&self, name: String, label: Label) -> Result<ChannelId, ClientError> {
        self.ask(|r| Command::Create((name, label), r)).await
    }

    /// Invites a member (needs the relay).
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn invite(&self, channel: ChannelId, user: UserId) -> Result<Invitee, ClientError> {
        self.ask(|r| Command::Invite((channel, user), r)).await
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
        self.ask(|r| Command::Remove((channel, user, reason), r))
            .await
    }

    /// Our channels.
    ///
    /// # Errors
    ///
    /// [`ClientError`] when the worker stopped.
    pub async fn channels(&self) -> Result<Vec<ChannelSummary>, ClientError> {
        self.ask(Command::Channels).await
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
        self.ask(|r| Command::History((channel, before, limit), r))
            .await
    }

    /// What we pinned of a contact's keys (for trust markers).
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn contact(&self, user: UserId) -> Result<Option<Contact>, ClientError> {
        self.ask(|r| Command::Contact(user, r)).await
    }

    /// Runs `f` on the worker's client (between its network steps) and returns its result:
    /// for queries and local actions the UI needs that have no command of their own.
    ///
    /// # Errors
    ///
    /// [`ClientError`] when the worker stopped.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> T + Send + 'static,
    ) -> Result<T, ClientError> {
        let (tx, rx) = oneshot::channel();
        let job: Box<dyn FnOnce(&mut Client) + Send> = Box::new(move |client| {
            let _ = tx.send(f(client));
        });
        self.commands
            .send(Command::Run(job))
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }

    /// Asks the worker to stop (it acknowledges what it processed and closes the connection).
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }
}

/// Starts the worker on the current runtime. Events arrive on the returned receiver; the join
/// handle gives the client back when the worker stops.
#[must_use]
pub fn spawn(client: Client) -> (Handle, mpsc::UnboundedReceiver<Event>, JoinHandle<Client>) {
    let (commands, inbox) = mpsc::channel(COMMAND_QUEUE);
    let (events, outlet) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(client, inbox, events));
    (Handle { commands }, outlet, task)
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
    mut inbox: mpsc::Receiver<Command>,
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
        let command = if worker.client.is_online() {
            tokio::select! {
                command = inbox.recv() => Some(command),
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
                command = inbox.recv() => Some(command),
                () = tokio::time::sleep(TICK) => None,
            }
        };
        match command {
            None => {}
            Some(None | Some(Command::Shutdown)) => break,
            Some(Some(command)) => worker.handle(command).await,
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
                tracing::warn!(error = %e, "checking what waits");
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
                tracing::info!(error = %e, "offline");
                self.next_attempt = tokio::time::Instant::now() + self.backoff;
            }
            Err(e) => tracing::warn!(error = %e, "worker"),
        }
        self.forward();
    }

    async fn handle(&mut self, command: Command) {
        let engine = self.client.engine_mut();
        match command {
            Command::Send((channel, text), reply) => {
                let result = engine.send_text(channel, &text, now());
                let _ = reply.send(self.keep(result));
                self.after(Ok(())).await;
            }
            Command::Create((name, label), reply) => {
                let result = engine.create_channel(&name, label, now());
                let _ = reply.send(self.keep(result));
            }
            Command::Remove((channel, user, reason), reply) => {
                let result = engine.remove(channel, std::slice::from_ref(&user), &reason, now());
                let _ = reply.send(self.keep(result.map(|events| ((), events))));
                self.after(Ok(())).await;
            }
            Command::Invite((channel, user), reply) => {
                let result = if self.client.is_online() {
                    self.client.invite(channel, &user).await
                } else {
                    Err(EngineError::Usage(
                        "cannot invite while the relay is unreachable; try again when it is back"
                            .into(),
                    )
                    .into())
                };
                let _ = reply.send(result);
            }
            Command::Channels(reply) => {
                let _ = reply.send(Ok(self.client.engine().channels()));
            }
            Command::History((channel, before, limit), reply) => {
                let result = self.client.engine().history(channel, before, limit);
                let _ = reply.send(result.map_err(ClientError::from));
            }
            Command::Contact(user, reply) => {
                let result = self.client.engine().contact(&user);
                let _ = reply.send(result.map_err(ClientError::from));
            }
            Command::Run(job) => {
                job(&mut self.client);
                self.forward();
            }
            Command::Shutdown => {}
        }
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
