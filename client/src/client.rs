//! The network side of the client: one connection to the relay, driving the [`Engine`].
//!
//! [`Client`] logs in (relay verified by its pin, login bound to the connection), publishes
//! and refills prekeys, brings revocation lists up to date, processes what the relay delivers
//! (acknowledging each delivery only after the engine committed its result durably), and sends
//! the outbox in order until the relay has stored each entry. The headless commands, the TUI's
//! worker and the end-to-end tests all drive this same type.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::mpsc;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::prekey::PrekeyBundle;
use vigil_protocol::relay::{ErrorCode, MessageId, Push, Request, Response};
use vigil_protocol::{MemberCertificate, UserId};

use vigil_common::now;

use crate::engine::{Connection, Engine, Event, Invitee, Outgoing, SendOutcome};
use crate::transport::{RelayConnection, TransportError};

mod error;
mod side;

pub use error::ClientError;
pub(crate) use side::Side;
pub use side::{NOT_ANSWERING_AFTER, PROBE_INTERVAL};

/// How long a connection attempt (QUIC handshake and login) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one request may wait for its answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Deliveries acknowledged in one request at most.
pub const ACK_BATCH: usize = 64;

/// Temporary refusals (rate limit, full mailbox, relay storage) retried before the outbox is
/// left for later.
pub const SEND_RETRIES: u32 = 5;

/// The first wait before a temporary refusal is retried; it doubles with each retry.
pub const RETRY_BASE: Duration = Duration::from_millis(200);

/// How long closing waits for the relay to acknowledge the close.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The first wait before reconnecting; it doubles with each failure.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(500);

/// The longest wait between reconnection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

struct Link {
    connection: RelayConnection,
    pushes: mpsc::Receiver<Result<Push, TransportError>>,
    /// Deliveries the relay announced at login and has not pushed yet.
    backlog: u64,
    /// Deliveries processed (durable) and not yet acknowledged.
    to_ack: Vec<MessageId>,
}

/// A client: the engine plus (when online) its connection.
pub struct Client {
    engine: Engine,
    endpoint: Option<quinn::Endpoint>,
    link: Option<Link>,
    events: VecDeque<Event>,
    relay_address: Option<String>,
    /// The worker's side, when a worker drives this client (see [`side`]).
    side: Option<Side>,
    /// When the relay last answered or pushed.
    last_heard: tokio::time::Instant,
    /// Whether the connection was announced [`Connection::Degraded`].
    degraded: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("engine", &self.engine)
            .field("online", &self.link.is_some())
            .finish_non_exhaustive()
    }
}

fn refused(response: Response) -> ClientError {
    match response {
        Response::Error(e) => ClientError::Relay(e),
        other => ClientError::Transport(TransportError::UnexpectedAnswer(Box::new(other))),
    }
}

impl Client {
    /// A client for `engine`, not yet connected.
    #[must_use]
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            endpoint: None,
            link: None,
            events: VecDeque::new(),
            relay_address: None,
            side: None,
            last_heard: tokio::time::Instant::now(),
            degraded: false,
        }
    }

    /// Connects to `address` (`host:port`) instead of the bundle's relay address; the relay
    /// is still recognised by its pin.
    pub fn set_relay_address(&mut self, address: Option<String>) {
        self.relay_address = address;
    }

    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, to change it.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Whether we are logged in.
    #[must_use]
    pub fn is_online(&self) -> bool {
        self.link.is_some()
    }

    /// Events since the last call (a worker's client sends them to the worker instead, as
    /// they happen).
    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    fn emit(&mut self, events: Vec<Event>) {
        match &self.side {
            Some(side) => {
                for event in events {
                    let _ = side.events.send(event);
                }
            }
            None => self.events.extend(events),
        }
    }

    async fn relay_address(&mut self) -> Result<SocketAddr, TransportError> {
        let address = self
            .relay_address
            .clone()
            .unwrap_or_else(|| self.engine.relay().address.as_str().to_owned());
        let lookup = tokio::net::lookup_host(address.clone());
        let found = side::serve_while(&mut self.side, &mut self.engine, lookup, None)
            .await
            .output;
        match found.map(|mut addresses| addresses.next()) {
            Ok(Some(first)) => Ok(first),
            Ok(None) => Err(TransportError::NoAddress(address)),
            Err(source) => Err(TransportError::Resolve { address, source }),
        }
    }

    fn endpoint(&mut self, relay: SocketAddr) -> Result<quinn::Endpoint, TransportError> {
        if let Some(endpoint) = &self.endpoint {
            return Ok(endpoint.clone());
        }
        let local: SocketAddr = if relay.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let endpoint = quinn::Endpoint::client(local).map_err(TransportError::Socket)?;
        self.endpoint = Some(endpoint.clone());
        Ok(endpoint)
    }

    /// Connects and logs in, publishes prekeys when due, and brings the revocation lists up
    /// to date (removing revoked members from channels we own).
    ///
    /// # Errors
    ///
    /// [`ClientError::Transport`] when the relay cannot be reached,
    /// [`ClientError::LoginRefused`] when it refuses us.
    pub async fn connect(&mut self) -> Result<(), ClientError> {
        self.emit(vec![Event::Connection(Connection::Connecting)]);
        match self.try_connect().await {
            Ok(()) => {
                self.emit(vec![Event::Connection(Connection::Online)]);
                Ok(())
            }
            Err(e) => {
                self.link = None;
                let state = match &e {
                    ClientError::LoginRefused(why) => Connection::Refused(why.clone()),
                    other => Connection::Offline(other.to_string()),
                };
                self.emit(vec![Event::Connection(state)]);
                Err(e)
            }
        }
    }

    async fn try_connect(&mut self) -> Result<(), ClientError> {
        let address = self.relay_address().await?;
        let endpoint = self.endpoint(address)?;
        let relay = self.engine.relay().clone();
        let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
        let attempt =
            RelayConnection::handshake(&endpoint, address, relay.server_name.as_str(), relay.pin);
        let attempt = tokio::time::timeout_at(deadline, attempt);
        let mut connection = side::serve_while(&mut self.side, &mut self.engine, attempt, None)
            .await
            .output
            .map_err(|_| TransportError::NoAnswer(address))??;
        let login = connection.login_request(self.engine.identity(), self.engine.device())?;
        let answer = tokio::time::timeout_at(deadline, connection.request(&login));
        let response = side::serve_while(&mut self.side, &mut self.engine, answer, None)
            .await
            .output
            .map_err(|_| TransportError::NoAnswer(address))??;
        self.last_heard = tokio::time::Instant::now();
        self.degraded = false;
        let backlog = match response {
            Response::LoggedIn { pending, .. } => pending,
            Response::Error(e) => return Err(ClientError::LoginRefused(e)),
            other => return Err(refused(other)),
        };
        let pushes = connection.spawn_pushes();
        self.link = Some(Link {
            connection,
            pushes,
            backlog,
            to_ack: Vec::new(),
        });
        if let Some((signed, one_time)) = self.engine.prekeys_for_login(now())? {
            let id = signed.id;
            match self
                .request(&Request::PublishPrekeys {
                    signed_prekey: signed,
                    one_time_prekeys: one_time,
                })
                .await?
            {
                Response::Published { .. } => self.engine.published(id)?,
                other => return Err(refused(other)),
            }
        }
        self.refresh_trust().await?;
        Ok(())
    }

    /// Sends one request and waits for its answer.
    ///
    /// # Errors
    ///
    /// [`ClientError::Transport`] when offline or the connection broke (then we are offline).
    pub async fn request(&mut self, request: &Request) -> Result<Response, ClientError> {
        self.exchange(request, REQUEST_TIMEOUT).await
    }

    fn disconnected(&mut self, why: &str) {
        self.degraded = false;
        if let Some(link) = self.link.take() {
            link.connection.close();
            self.emit(vec![Event::Connection(Connection::Offline(why.to_owned()))]);
        }
    }

    /// Fetches the revocation lists and the organisation's trust list from the relay and puts
    /// newer ones in force: revocations first (a partner the list removes keeps the revocations
    /// it had), then the trust list, then revocations again when the partners changed (a
    /// partner it adds has its list checked against its root). A relay that does not answer
    /// the trust list request is logged, not fatal: the lists in force stay.
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn refresh_trust(&mut self) -> Result<(), ClientError> {
        self.refresh_revocations().await?;
        let changed = match self.request(&Request::TrustLists).await? {
            Response::TrustLists { lists } => {
                let events = self.engine.update_trust_lists(lists, now())?;
                let changed = events.iter().any(|e| matches!(e, Event::Partners(_)));
                self.emit(events);
                changed
            }
            other => {
                tracing::warn!("the relay did not hand out the trust list");
                tracing::debug!(answer = ?other, "trust list not fetched");
                false
            }
        };
        if changed {
            self.refresh_revocations().await?;
        }
        Ok(())
    }

    async fn refresh_revocations(&mut self) -> Result<(), ClientError> {
        match self.request(&Request::Revocations).await? {
            Response::Revocations { lists } => {
                let events = self.engine.update_revocations(lists, now())?;
                self.emit(events);
                Ok(())
            }
            other => Err(refused(other)),
        }
    }

    /// Alerts about what has waited too long for a channel change or key (see
    /// [`crate::engine::STALL_WARNING_SECS`]), even when nothing else arrives.
    ///
    /// # Errors
    ///
    /// [`ClientError::Engine`] when the store fails.
    pub fn check_waiting(&mut self) -> Result<(), ClientError> {
        let events = self.engine.check_waiting_now(now())?;
        self.emit(events);
        Ok(())
    }

    /// Handles one push: a delivery is processed and committed, then queued for
    /// acknowledgement.
    async fn handle_push(&mut self, push: Push) -> Result<(), ClientError> {
        match push {
            Push::Deliver {
                id,
                sender,
                payload,
                ..
            } => {
                let events = self.engine.receive(&sender, &payload, now())?;
                self.emit(events);
                if let Some(link) = &mut self.link {
                    link.backlog = link.backlog.saturating_sub(1);
                    link.to_ack.push(id);
                    if link.to_ack.len() >= ACK_BATCH {
                        self.ack().await?;
                    }
                }
            }
            Push::PrekeysLow { remaining } => {
                let (signed, one_time) = self.engine.prekeys_to_publish(Some(remaining), now())?;
                let id = signed.id;
                match self
                    .request(&Request::PublishPrekeys {
                        signed_prekey: signed,
                        one_time_prekeys: one_time,
                    })
                    .await?
                {
                    Response::Published { .. } => self.engine.published(id)?,
                    other => {
                        tracing::warn!("prekeys not published");
                        tracing::debug!(answer = ?other, "prekeys not published");
                    }
                }
            }
            Push::Revocations { lists } => {
                let events = self.engine.update_revocations(lists, now())?;
                self.emit(events);
            }
            Push::TrustLists { lists } => {
                let events = self.engine.update_trust_lists(lists, now())?;
                self.emit(events);
            }
        }
        Ok(())
    }

    /// Acknowledges what was processed (it is durable here already).
    async fn ack(&mut self) -> Result<(), ClientError> {
        let Some(link) = &mut self.link else {
            return Ok(());
        };
        if link.to_ack.is_empty() {
            return Ok(());
        }
        let ids = std::mem::take(&mut link.to_ack);
        match self.request(&Request::Ack { ids }).await? {
            Response::Acked { .. } => Ok(()),
            other => Err(refused(other)),
        }
    }

    /// Processes `first` and every push already waiting, then acknowledges them.
    ///
    /// # Errors
    ///
    /// [`ClientError::Transport`] when the connection broke (we are then offline).
    pub async fn process(
        &mut self,
        first: Result<Push, TransportError>,
    ) -> Result<(), ClientError> {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Ok(push) => self.handle_push(push).await?,
                Err(e) => {
                    self.disconnected(&e.to_string());
                    return Err(e.into());
                }
            }
            next = self.link.as_mut().and_then(|l| l.pushes.try_recv().ok());
        }
        self.ack().await
    }

    /// Waits up to `wait` for pushes and processes what arrives (acknowledging when the
    /// queue is momentarily empty). Returns whether anything arrived.
    ///
    /// # Errors
    ///
    /// [`ClientError::Transport`] when the connection broke (we are then offline).
    pub async fn pump(&mut self, wait: Duration) -> Result<bool, ClientError> {
        if self.link.is_none() {
            return Err(TransportError::NotConnected.into());
        }
        match self.next_push(wait).await {
            None => Ok(false),
            Some(first) => self.process(first).await.map(|()| true),
        }
    }

    /// Processes everything the relay held for us at login, then sends the outbox.
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn sync(&mut self) -> Result<(), ClientError> {
        while self.link.as_ref().is_some_and(|l| l.backlog > 0) {
            if !self.pump(REQUEST_TIMEOUT).await? {
                return Err(TransportError::StoppedDelivering.into());
            }
        }
        self.flush_outbox().await
    }

    /// Sends the outbox in order until it is empty (or only temporary refusals remain).
    ///
    /// # Errors
    ///
    /// [`ClientError::Transport`] when the connection broke: the rest stays queued.
    pub async fn flush_outbox(&mut self) -> Result<(), ClientError> {
        // Receipts owed for what we committed, and what our peers have not confirmed in time
        // (a restored relay may have lost it), go out behind what is queued.
        self.engine.queue_receipts()?;
        self.engine.queue_resends(now())?;
        // Counting the outbox reads all of it: once before and once after, not per entry.
        let before = self.engine.queued_messages()?;
        self.emit(vec![Event::Outbox(before)]);
        let result = self.send_outbox().await;
        let after = self.engine.queued_messages()?;
        self.emit(vec![Event::Outbox(after)]);
        result
    }

    async fn send_outbox(&mut self) -> Result<(), ClientError> {
        let mut retries = 0;
        loop {
            match self.engine.next_outgoing(now())? {
                Outgoing::Idle => return Ok(()),
                Outgoing::NeedBundle(user) => self.fetch_session(&user).await?,
                Outgoing::Send { key, request } => {
                    let response = self.request(&request).await?;
                    let (outcome, events) = self.engine.sent(&key, &response)?;
                    self.emit(events);
                    match outcome {
                        SendOutcome::Done | SendOutcome::Failed(_) => retries = 0,
                        SendOutcome::Retry(why) => {
                            retries += 1;
                            if retries > SEND_RETRIES {
                                tracing::warn!("outbox left for later");
                                tracing::debug!(reason = %why, "outbox left for later");
                                return Ok(());
                            }
                            tokio::time::sleep(RETRY_BASE * (1 << retries)).await;
                        }
                        SendOutcome::Revoked(why) => {
                            self.refresh_trust().await?;
                            let (_, events) = self.engine.retarget(&key, &why, now())?;
                            self.emit(events);
                        }
                    }
                }
            }
        }
    }

    /// Starts a session with `user` from their bundle at the relay; a member the relay does
    /// not know, without prekeys, or whose certificate we refuse makes the first outbox entry
    /// fail (recorded) rather than block the queue.
    async fn fetch_session(&mut self, user: &UserId) -> Result<(), ClientError> {
        match self
            .request(&Request::FetchBundle { user: user.clone() })
            .await?
        {
            Response::Bundle {
                certificate,
                bundle,
            } => match self.engine.add_bundle(&certificate, &bundle, now()) {
                Ok(events) => self.emit(events),
                Err(e) if e.is_refusal() => {
                    let events = self.engine.drop_first(&e.to_string())?;
                    self.emit(events);
                }
                Err(other) => return Err(other.into()),
            },
            Response::Error(e)
                if matches!(
                    e.code,
                    ErrorCode::UnknownRecipient
                        | ErrorCode::NoPrekeys
                        | ErrorCode::RevokedRecipient
                ) =>
            {
                let events = self.engine.drop_first(&e.message)?;
                self.emit(events);
            }
            other => return Err(refused(other)),
        }
        Ok(())
    }

    /// Invites `user` to `channel`: their certificate and prekey bundle come from the relay
    /// and are checked to be exactly that member's, under a trusted root, with the keys we
    /// pinned for them; the channel's rules are checked before anything is signed. Returns who
    /// was invited, to show the inviter.
    ///
    /// # Errors
    ///
    /// [`ClientError`]; a policy refusal is an [`crate::engine::EngineError`] whose
    /// [`crate::engine::EngineError::is_refusal`] holds.
    pub async fn invite(
        &mut self,
        channel: ChannelId,
        user: &UserId,
    ) -> Result<Invitee, ClientError> {
        let (certificate, bundle) = self.fetch_bundle(user).await?;
        let (invitee, events) = self
            .engine
            .invite(channel, user, &certificate, &bundle, now())?;
        self.emit(events);
        self.flush_outbox().await?;
        Ok(invitee)
    }

    /// Replaces `user`'s certificate in `channel` by their current one at the relay (checked
    /// like an invitee's).
    ///
    /// # Errors
    ///
    /// [`ClientError`]; a policy refusal is an [`crate::engine::EngineError`] whose
    /// [`crate::engine::EngineError::is_refusal`] holds.
    pub async fn renew(
        &mut self,
        channel: ChannelId,
        user: &UserId,
    ) -> Result<Invitee, ClientError> {
        let (certificate, bundle) = self.fetch_bundle(user).await?;
        let (renewed, events) = self
            .engine
            .renew(channel, user, &certificate, &bundle, now())?;
        self.emit(events);
        self.flush_outbox().await?;
        Ok(renewed)
    }

    /// `user`'s certificate and prekey bundle from the relay (not yet checked).
    async fn fetch_bundle(
        &mut self,
        user: &UserId,
    ) -> Result<(MemberCertificate, PrekeyBundle), ClientError> {
        match self
            .request(&Request::FetchBundle { user: user.clone() })
            .await?
        {
            Response::Bundle {
                certificate,
                bundle,
            } => Ok((*certificate, *bundle)),
            Response::Error(e) if e.code == ErrorCode::UnknownRecipient => {
                Err(ClientError::UnknownUser(user.clone()))
            }
            other => Err(refused(other)),
        }
    }

    /// Acknowledges what is pending (unless the relay stopped answering) and closes the
    /// connection, waiting at most [`CLOSE_GRACE`] for each.
    pub async fn close(&mut self) {
        if !self.degraded {
            let _ = tokio::time::timeout(CLOSE_GRACE, self.ack()).await;
        }
        self.side = None;
        if let Some(link) = self.link.take() {
            link.connection.close();
        }
        if let Some(endpoint) = self.endpoint.take() {
            tokio::time::timeout(CLOSE_GRACE, endpoint.wait_idle())
                .await
                .ok();
        }
    }
}
