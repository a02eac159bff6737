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
//!
//! What the engine alone can answer (`worker/local.rs`) is answered even while the worker waits for
//! the relay, so a relay that stops answering holds up no local action; it is shown as
//! [`crate::engine::Connection::Degraded`] within [`crate::client::NOT_ANSWERING_AFTER`] of
//! a request going unanswered (an idle connection is probed every
//! [`crate::client::PROBE_INTERVAL`]).

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Label;
use vigil_protocol::{SafetyNumber, UserId};

use vigil_common::now;

use crate::client::{Client, ClientError, INITIAL_BACKOFF, MAX_BACKOFF, Side};
use crate::engine::{ChannelSummary, EngineError, Entry, Event, Invitee, Whois};
use crate::history::{Export, Hit};
use crate::trust::Contact;
use crate::ui_state::UiState;

pub(crate) mod local;

use local::Local;

/// How often the revocation lists are fetched again while connected.
pub const REVOCATION_REFRESH: Duration = Duration::from_secs(300);

/// How long the worker waits for a push before it looks at its timers.
const TICK: Duration = Duration::from_secs(1);

/// Requests queued between the UI and the worker.
const REQUEST_QUEUE: usize = 64;

type Reply<T> = oneshot::Sender<Result<T, ClientError>>;

/// What the UI asks of the worker that needs the relay or must not interleave with what is in
/// flight to it; answered between network steps. The rest is [`Local`].
enum Request {
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
    Relabel {
        channel: ChannelId,
        label: Label,
        reply: Reply<()>,
    },
    Shutdown,
}

/// The UI's side of the worker.
#[derive(Clone, Debug)]
pub struct Handle {
    requests: mpsc::Sender<Request>,
    locals: mpsc::Sender<Local>,
}

impl Handle {
    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, ClientError> {
        let (tx, rx) = oneshot::channel();
        let sent = self.requests.send(make(tx)).await;
        sent.map_err(|_| ClientError::WorkerStopped)?;
        rx.await.map_err(|_| ClientError::WorkerStopped)?
    }

    /// Asks for what the engine alone can answer: never waits for the relay.
    async fn local<T>(&self, make: impl FnOnce(Reply<T>) -> Local) -> Result<T, ClientError> {
        let (tx, rx) = oneshot::channel();
        let sent = self.locals.send(make(tx)).await;
        sent.map_err(|_| ClientError::WorkerStopped)?;
        rx.await.map_err(|_| ClientError::WorkerStopped)?
    }

    /// The user interface's saved state (see [`UiState`]).
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn ui_state(&self) -> Result<UiState, ClientError> {
        self.local(|reply| Local::UiState { reply }).await
    }

    /// Saves the user interface's state, sealed in the store.
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn save_ui_state(&self, state: UiState) -> Result<(), ClientError> {
        self.local(|reply| Local::SaveUiState {
            state: Box::new(state),
            reply,
        })
        .await
    }

    /// Queues `text` for `channel`; returns its history sequence number.
    ///
    /// # Errors
    ///
    /// [`ClientError`]; a refusal by policy is an [`EngineError`] for which
    /// [`EngineError::is_refusal`] holds.
    pub async fn send(&self, channel: ChannelId, text: String) -> Result<u64, ClientError> {
        self.local(|reply| Local::Send {
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
        self.local(|reply| Local::Create { name, label, reply })
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

    /// Changes a channel's label (see [`crate::engine::Engine::relabel`]).
    ///
    /// # Errors
    ///
    /// [`ClientError`]; a label that would exclude a member or a lowering by a non-owner is a
    /// refusal by policy.
    pub async fn relabel(&self, channel: ChannelId, label: Label) -> Result<(), ClientError> {
        self.ask(|reply| Request::Relabel {
            channel,
            label,
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
        self.local(|reply| Local::Channels { reply }).await
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
        self.local(|reply| Local::History {
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
        self.local(|reply| Local::Contact { user, reply }).await
    }

    /// A contact's certificate, verified now, and what we pinned of them (see
    /// [`crate::engine::Engine::whois`]).
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn whois(&self, user: UserId) -> Result<Whois, ClientError> {
        self.local(|reply| Local::Whois { user, reply }).await
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
        self.local(|reply| Local::SafetyNumber { user, reply })
            .await
    }

    /// Marks a contact verified when `number` matches their safety number (see
    /// [`crate::engine::Engine::verify`]).
    ///
    /// # Errors
    ///
    /// [`EngineError::SafetyNumberMismatch`] when it does not match; [`ClientError`].
    pub async fn verify(&self, user: UserId, number: String) -> Result<(), ClientError> {
        self.local(|reply| Local::Verify {
            user,
            number,
            reply,
        })
        .await
    }

    /// What an export of `channel` holds (see [`crate::history::export`]).
    ///
    /// # Errors
    ///
    /// [`EngineError::NoExport`] for a `TLP:RED` channel; [`ClientError`].
    pub async fn export(&self, channel: ChannelId) -> Result<Export, ClientError> {
        self.local(|reply| Local::Export { channel, reply }).await
    }

    /// Up to `limit` text messages containing `text`, in `channel` or in every channel (see
    /// [`crate::history::search`]).
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
        self.local(|reply| Local::Search {
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

/// Starts the worker on the current runtime. Events arrive on the returned receiver; the join
/// handle gives the client back when the worker stops.
#[must_use]
pub fn spawn(client: Client) -> (Handle, mpsc::UnboundedReceiver<Event>, JoinHandle<Client>) {
    let (requests, inbox) = mpsc::channel(REQUEST_QUEUE);
    let (locals, local_inbox) = mpsc::channel(REQUEST_QUEUE);
    let (events, outlet) = mpsc::unbounded_channel();
    let mut client = client;
    client.attach(Side {
        requests: local_inbox,
        events: events.clone(),
        queued: false,
    });
    let task = tokio::spawn(run(client, inbox, events));
    (Handle { requests, locals }, outlet, task)
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
    local::outbox_count(worker.client.engine(), &worker.events);
    loop {
        worker.keep_connected().await;
        tokio::select! {
            request = inbox.recv() => match request {
                None | Some(Request::Shutdown) => break,
                Some(request) => worker.handle(request).await,
            },
            push = worker.client.next_push_or_queued(TICK) => {
                if let Some(push) = push {
                    let done = worker.client.process(push).await;
                    worker.after(done).await;
                }
            }
        }
        if worker.client.take_queued() {
            worker.after(Ok(())).await;
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
            if self.client.is_online() {
                // Sends what is unconfirmed for too long again (see `Engine::queue_resends`).
                self.after(Ok(())).await;
            }
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
            let refreshed = self.client.refresh_trust().await;
            self.after(refreshed).await;
        } else if self.client.probe_due() {
            let probed = self.client.probe().await;
            self.after(probed).await;
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

    /// Answers a request that needs the relay or must not interleave with what is in flight
    /// to it.
    async fn handle(&mut self, request: Request) {
        match request {
            Request::Remove {
                channel,
                user,
                reason,
                reply,
            } => {
                let engine = self.client.engine_mut();
                let result = engine.remove(channel, std::slice::from_ref(&user), &reason, now());
                let _ = reply.send(self.keep(result.map(|events| ((), events))));
                self.after(Ok(())).await;
            }
            Request::Relabel {
                channel,
                label,
                reply,
            } => {
                let result = self.client.engine_mut().relabel(channel, label, now());
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
