//! Waiting for the relay without holding anything else up.
//!
//! The [`Client`] owns the engine and the connection; a network step (a request, a
//! handshake, the wait for a push) holds the client until the relay answers, which a relay
//! that froze never does. So every such wait goes through [`serve_while`]: while it waits, the
//! worker's local requests ([`Local`]: history, whois, search, drafts, queueing a message…)
//! are answered from the engine, and a request unanswered after [`NOT_ANSWERING_AFTER`] turns
//! the connection [`Connection::Degraded`] at once, not when the request times out. An idle
//! connection is probed every [`PROBE_INTERVAL`] (see [`Client::probe_due`]), so a relay that
//! freezes while nothing is being sent is noticed as quickly.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use vigil_protocol::relay::{Push, Request, Response};

use super::{Client, ClientError, refused};
use crate::engine::{Connection, Engine, Event};
use crate::transport::TransportError;
use crate::worker::local::Local;

/// How long a request may go unanswered before the connection is shown as not answering.
/// A relay answers in milliseconds; a few seconds leaves room for a slow link.
pub const NOT_ANSWERING_AFTER: Duration = Duration::from_secs(3);

/// How long the relay may be silent (no answer, no push) before an idle connection is probed
/// (an empty acknowledgement, which the relay answers without touching its store).
pub const PROBE_INTERVAL: Duration = Duration::from_secs(4);

/// The worker's side of a client: local requests to answer while waiting, and where events go
/// the moment they happen (not after the network step that produced them).
#[derive(Debug)]
pub(crate) struct Side {
    pub(crate) requests: mpsc::Receiver<Local>,
    pub(crate) events: mpsc::UnboundedSender<Event>,
    /// A local request queued something for the relay since the worker last looked.
    pub(crate) queued: bool,
}

impl Side {
    /// Answers one local request from `engine`.
    fn answer(&mut self, local: Local, engine: &mut Engine) -> bool {
        let queued = local.answer(engine, &self.events);
        self.queued |= queued;
        queued
    }
}

/// What a wait gave, and whether it took longer than the alarm.
pub(super) struct Waited<T> {
    pub(super) output: T,
    pub(super) slow: bool,
}

/// Waits for `work`, answering `side`'s local requests from `engine` meanwhile; after `alarm`
/// (when given) the connection is announced [`Connection::Degraded`] on `side`'s events.
pub(super) async fn serve_while<F: Future>(
    side: &mut Option<Side>,
    engine: &mut Engine,
    work: F,
    alarm: Option<Duration>,
) -> Waited<F::Output> {
    let Some(side) = side else {
        return Waited {
            output: work.await,
            slow: false,
        };
    };
    tokio::pin!(work);
    let ring = tokio::time::sleep(alarm.unwrap_or(Duration::from_secs(86_400)));
    tokio::pin!(ring);
    let mut slow = false;
    loop {
        tokio::select! {
            biased;
            output = &mut work => return Waited { output, slow },
            Some(local) = side.requests.recv() => {
                side.answer(local, engine);
            }
            () = &mut ring, if alarm.is_some() && !slow => {
                slow = true;
                let _ = side.events.send(Event::Connection(Connection::Degraded));
            }
        }
    }
}

impl Client {
    /// Lets the worker's local requests be answered during every wait, and sends events to
    /// the worker as they happen.
    pub(crate) fn attach(&mut self, side: Side) {
        self.side = Some(side);
    }

    /// Sends `request` and waits for its answer (at most `limit`), serving local requests
    /// meanwhile and showing the connection degraded while the relay does not answer.
    pub(super) async fn exchange(
        &mut self,
        request: &Request,
        limit: Duration,
    ) -> Result<Response, ClientError> {
        let Self {
            link, side, engine, ..
        } = self;
        let link = link.as_ref().ok_or(TransportError::NotConnected)?;
        let work = tokio::time::timeout(limit, link.connection.request(request));
        let waited = serve_while(side, engine, work, Some(NOT_ANSWERING_AFTER)).await;
        if waited.slow {
            self.degraded = true;
        }
        match waited.output {
            Ok(Ok(response)) => {
                self.heard();
                Ok(response)
            }
            Ok(Err(e)) => {
                self.disconnected(&e.to_string());
                Err(e.into())
            }
            Err(_) => {
                let e = TransportError::Timeout;
                self.disconnected(&e.to_string());
                Err(e.into())
            }
        }
    }

    /// The relay answered or pushed: it is alive (online again if it was not answering).
    pub(super) fn heard(&mut self) {
        self.last_heard = Instant::now();
        if std::mem::take(&mut self.degraded) && self.link.is_some() {
            self.emit(vec![Event::Connection(Connection::Online)]);
        }
    }

    /// Whether the relay has been silent for [`PROBE_INTERVAL`] while we are online.
    #[must_use]
    pub fn probe_due(&self) -> bool {
        self.link.is_some() && self.last_heard.elapsed() >= PROBE_INTERVAL
    }

    /// Asks the relay for an answer (an empty acknowledgement), to learn whether it still
    /// answers.
    ///
    /// # Errors
    ///
    /// [`ClientError::Transport`] when the connection broke or the answer did not come within
    /// [`super::REQUEST_TIMEOUT`] (we are then offline).
    pub async fn probe(&mut self) -> Result<(), ClientError> {
        match self.request(&Request::Ack { ids: Vec::new() }).await? {
            Response::Acked { .. } => Ok(()),
            other => Err(refused(other)),
        }
    }

    /// Whether a local request queued something for the relay since the last call.
    pub(crate) fn take_queued(&mut self) -> bool {
        self.side
            .as_mut()
            .is_some_and(|side| std::mem::take(&mut side.queued))
    }

    /// Waits up to `wait` for the next push, answering local requests meanwhile. Cancel-safe:
    /// nothing is lost when the future is dropped (for `select!` against UI commands). `None`
    /// when nothing arrived in time or when offline.
    pub async fn next_push(&mut self, wait: Duration) -> Option<Result<Push, TransportError>> {
        self.wait_push(wait, false).await
    }

    /// As [`Self::next_push`], but returns early, with `None`, after a local request that
    /// queued something for the relay (the worker then sends the outbox).
    pub(crate) async fn next_push_or_queued(
        &mut self,
        wait: Duration,
    ) -> Option<Result<Push, TransportError>> {
        self.wait_push(wait, true).await
    }

    async fn wait_push(
        &mut self,
        wait: Duration,
        until_queued: bool,
    ) -> Option<Result<Push, TransportError>> {
        let Self {
            link, side, engine, ..
        } = self;
        let deadline = tokio::time::sleep(wait);
        tokio::pin!(deadline);
        let next = loop {
            let push = async {
                match link.as_mut() {
                    Some(link) => link.pushes.recv().await,
                    None => std::future::pending().await,
                }
            };
            let local = async {
                match side.as_mut() {
                    Some(side) => side.requests.recv().await.map(|l| (l, side)),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                push = push => break Some(push.unwrap_or(Err(TransportError::PushStreamEnded))),
                Some((local, side)) = local => {
                    if side.answer(local, engine) && until_queued {
                        break None;
                    }
                }
                () = &mut deadline => break None,
            }
        };
        if matches!(next, Some(Ok(_))) {
            self.heard();
        }
        next
    }
}
