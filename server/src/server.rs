//! The relay: accepts QUIC connections, logs members in, answers requests, pushes mail.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tracing::{Instrument as _, debug, info, warn};
use vigil_protocol::prekey::PrekeyBundle;
use vigil_protocol::relay::{
    ErrorCode, LOGIN_EXPORTER_LABEL, LOGIN_EXPORTER_LEN, MessageId, Push, RelayError, Request,
    Response, decode_frame, encode_frame, frame_len, login_proof_valid,
};
use vigil_protocol::{TrustStore, UnixTime, UserId, VerifiedCertificate};

use crate::config::{Config, ConfigError, Limits};
use crate::limiter::{Limiter, Rate};
use crate::live::{Live, Notice, Registry};
use crate::store::{Applied, Quota, Store, StoreError, Write};

mod bundles;

/// Most recipients one send may name (a national channel, with room).
pub const MAX_RECIPIENTS: usize = 2000;

/// Below this many one-time prekeys the owner is told to publish more.
pub const PREKEYS_LOW: usize = 10;

/// How often housekeeping runs: the revocations directory is checked for changed lists, and
/// connections whose certificates expired are closed, within this long.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(2);

/// How often old client message ids are forgotten.
const DEDUP_PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How long a shutdown waits for connections to close before flushing and exiting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Mailbox entries pushed per batch.
const PUSH_BATCH: usize = 64;

/// QUIC close codes the relay uses.
pub mod close {
    /// Normal close (shutdown).
    pub const SHUTDOWN: u32 = 0;
    /// No login within the timeout.
    pub const LOGIN_TIMEOUT: u32 = 1;
    /// Login refused.
    pub const LOGIN_REFUSED: u32 = 2;
    /// A protocol violation (malformed or oversized frame on the login stream).
    pub const PROTOCOL: u32 = 3;
    // 4 was "too many connections": a login over the limit now replaces the oldest (5).
    /// Replaced by a newer login of the same member (over the per-identity limit).
    pub const REPLACED: u32 = 5;
    /// The member's certificate was revoked, or expired, while connected. The reason names
    /// which; the client should not log in again with that certificate.
    pub const CERTIFICATE_REFUSED: u32 = 6;
}

fn now() -> UnixTime {
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> Response {
    Response::Error(RelayError {
        code,
        message: message.into(),
    })
}

/// State shared by every connection.
#[derive(Debug)]
pub struct Shared {
    store: Store,
    trust: RwLock<TrustStore>,
    limits: Limits,
    live: Registry,
    /// Sends per identity: `messages_per_second` sustained, the same as burst.
    sends: Limiter,
    /// Bundle fetches per requester.
    bundle_fetches: Limiter,
    /// One-time prekeys handed out per target.
    one_time_handouts: Limiter,
    /// Certificates whose signatures were checked, by member: a send re-checks only what can
    /// change (root, validity, revocation), not every recipient's signature again.
    verified: Mutex<HashMap<UserId, VerifiedCertificate>>,
    metrics: crate::metrics::Metrics,
}

impl Shared {
    /// The metrics text.
    #[must_use]
    pub fn render_metrics(&self) -> String {
        self.metrics.render(&self.store)
    }

    fn trust(&self) -> std::sync::RwLockReadGuard<'_, TrustStore> {
        self.trust
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn revocation_parts(&self) -> crate::revocation::Parts<'_> {
        crate::revocation::Parts {
            trust: &self.trust,
            store: &self.store,
            live: &self.live,
            metrics: &self.metrics,
        }
    }

    fn remember_verified(&self, certificate: VerifiedCertificate) {
        let mut verified = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        verified.insert(certificate.body().user.clone(), certificate);
    }

    /// Checks that every recipient has a certificate valid now and, for a channel message,
    /// a clearance that dominates `level`. Certificates come from the cache of verified ones
    /// (re-checked for what can change: root, validity, revocation), under one lock for the
    /// whole list; a member not in it is read from the directory and verified in full.
    fn check_recipients(
        &self,
        recipients: &[UserId],
        level: Option<&vigil_protocol::label::Classification>,
    ) -> Result<(), Response> {
        let now = now();
        let check = |certificate: &VerifiedCertificate, trust: &TrustStore| {
            trust
                .recheck(certificate, now)
                .map_err(|e| refuse(ErrorCode::RevokedRecipient, e.to_string()))?;
            match level {
                Some(level) if !certificate.body().clearance.dominates(level) => Err(refuse(
                    ErrorCode::InsufficientClearance,
                    format!(
                        "{} has clearance {}; the channel requires {}",
                        certificate.body().user,
                        certificate.body().clearance.marking(),
                        level.marking()
                    ),
                )),
                _ => Ok(()),
            }
        };
        let mut unknown = Vec::new();
        {
            let trust = self.trust();
            let verified = self
                .verified
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for recipient in recipients {
                match verified.get(recipient) {
                    Some(certificate) => check(certificate, &trust)?,
                    None => unknown.push(recipient),
                }
            }
        }
        for user in unknown {
            let stored = match self.store.certificate(user) {
                Ok(Some(c)) => c,
                Ok(None) => {
                    return Err(refuse(
                        ErrorCode::UnknownRecipient,
                        format!("{user} is not known to this relay"),
                    ));
                }
                Err(e) => return Err(storage_refusal(&e)),
            };
            let trust = self.trust();
            let verified = trust
                .verify_certificate(&stored, now)
                .map_err(|e| refuse(ErrorCode::RevokedRecipient, e.to_string()))?;
            check(&verified, &trust)?;
            drop(trust);
            self.remember_verified(verified);
        }
        Ok(())
    }
}

/// A running relay.
#[derive(Debug)]
pub struct Relay {
    endpoint: quinn::Endpoint,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    metrics: Option<SocketAddr>,
}

impl Relay {
    /// Opens the store, binds the endpoint and starts accepting connections.
    ///
    /// # Errors
    ///
    /// A configuration, storage or socket error, as one line.
    pub async fn start(config: &Config) -> Result<Self, String> {
        let mut trust = config.trust_store().map_err(|e| e.to_string())?;
        let store = Store::open(&config.data_dir)
            .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
        let records = store
            .verify(&config.data_dir)
            .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
        debug!(records, "data directory verified");
        let watermark = Watermark::new(&config.data_dir);
        let stored = store.stored_count().map_err(|e| e.to_string())?;
        if let Some(seen) = watermark.read()
            && seen > stored
        {
            return Err(format!(
                "{}: the data directory holds {stored} stored messages but {seen} were counted \
                 before: {} acknowledged messages are gone (a damaged or replaced file); \
                 restore it from a backup, or remove {} to start with what is left",
                config.data_dir.display(),
                seen - stored,
                watermark.path.display()
            ));
        }
        watermark.write(stored);
        // Lists seen before the restart: a newer one is never replaced by an older file.
        for list in store.revocations().map_err(|e| e.to_string())? {
            if let Err(e) = trust.update_revocations(list) {
                debug!(reason = %e, "remembered revocation list not applied");
            }
        }
        crate::revocation::remember(&store, &trust);
        match store.prune_dedup(now()) {
            Ok(0) => {}
            Ok(n) => info!(forgotten = n, "old client message ids forgotten"),
            Err(e) => warn!(error = %e, "cannot prune client message ids"),
        }
        let server = crate::tls::server_config(config).map_err(|e| e.to_string())?;
        let endpoint = quinn::Endpoint::server(server, config.listen)
            .map_err(|e| format!("listen on {}: {e}", config.listen))?;
        let shared = Arc::new(Shared {
            store,
            trust: RwLock::new(trust),
            limits: config.limits.clone(),
            live: Registry::default(),
            sends: Limiter::new(Rate::per_second(config.limits.messages_per_second)),
            bundle_fetches: Limiter::new(Rate::per_hour(
                config.limits.bundle_fetch_burst,
                config.limits.bundle_fetches_per_hour,
            )),
            one_time_handouts: Limiter::new(Rate::per_hour(
                config.limits.one_time_prekeys_per_target_per_hour,
                config.limits.one_time_prekeys_per_target_per_hour,
            )),
            verified: Mutex::new(HashMap::new()),
            metrics: crate::metrics::Metrics::default(),
        });
        let metrics = match config.metrics {
            None => None,
            Some(address) => {
                let listener = tokio::net::TcpListener::bind(address)
                    .await
                    .map_err(|e| format!("metrics on {address}: {e}"))?;
                let bound = listener.local_addr().map_err(|e| e.to_string())?;
                tokio::spawn(crate::metrics::serve(listener, Arc::clone(&shared)));
                Some(bound)
            }
        };
        let (shutdown, stop) = watch::channel(false);
        tokio::spawn(accept_loop(
            endpoint.clone(),
            Arc::clone(&shared),
            stop.clone(),
        ));
        tokio::spawn(housekeeping(
            config.revocations_dir.clone(),
            Arc::clone(&shared),
            stop,
            watermark,
        ));
        Ok(Self {
            endpoint,
            shared,
            shutdown,
            metrics,
        })
    }

    /// The address the relay listens on (useful with port 0).
    ///
    /// # Errors
    ///
    /// The socket's error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Re-reads the revocation lists now (as on SIGHUP); a list older than the one in force is
    /// never applied. When a newer list is put in force, every live connection whose
    /// certificate it revokes is closed (close code [`close::CERTIFICATE_REFUSED`]) and every
    /// other live connection is pushed the lists. Returns whether the lists changed.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an unreadable or invalid file; the lists read before it are applied
    /// and enforced.
    pub fn reload_revocations(&self, dir: &std::path::Path) -> Result<bool, ConfigError> {
        crate::revocation::reload(self.shared.revocation_parts(), dir, now())
    }

    /// Where metrics are served, if configured.
    #[must_use]
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
    }

    /// Stops accepting, closes connections, and flushes storage. Everything acknowledged was
    /// flushed when it was acknowledged; this flush is for acknowledgements in flight.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.endpoint
            .close(close::SHUTDOWN.into(), b"relay shutting down");
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, self.endpoint.wait_idle()).await;
        if let Err(e) = self.shared.store.flush().await {
            warn!(error = %e, "flush at shutdown failed");
        }
    }
}

/// The count of messages ever stored, kept in a small file beside sled's (`data/stored`):
/// sled recovers a damaged end of its log silently, like a torn write after a crash, and
/// would serve what is left as if nothing were missing. Every flush happens before its
/// acknowledgement and the file is written after a flush, from a count read before it, so a
/// healthy start
/// always finds at least the count the file says; finding fewer means acknowledged messages
/// were lost, and the relay refuses to start.
#[derive(Debug)]
struct Watermark {
    path: std::path::PathBuf,
}

impl Watermark {
    fn new(data_dir: &std::path::Path) -> Self {
        Self {
            path: data_dir.join("stored"),
        }
    }

    /// The count written last (none when the file is missing or torn).
    fn read(&self) -> Option<u64> {
        std::fs::read_to_string(&self.path)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Replaces the file (write then rename: never a torn count).
    fn write(&self, count: u64) {
        let temporary = self.path.with_extension("tmp");
        let written = std::fs::write(&temporary, format!("{count}\n"))
            .and_then(|()| std::fs::rename(&temporary, &self.path));
        if let Err(e) = written {
            warn!(error = %e, path = %self.path.display(), "cannot record the stored count");
        }
    }
}

/// Housekeeping every 2 s: record the stored count; reload the revocation lists when their
/// directory changed (closing revoked members' connections and pushing the lists to the
/// others); close the connections whose certificates expired since the last round; once an
/// hour, forget old client message ids and rate buckets that are full again.
async fn housekeeping(
    dir: std::path::PathBuf,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    watermark: Watermark,
) {
    let mut last = None;
    let mut pruned = Instant::now();
    let mut counted = None;
    loop {
        // The stored-messages count, outside sled: what a later start must find at least.
        // Read, then flush (so what was read is on disk), then record.
        if let Ok(stored) = shared.store.stored_count()
            && counted != Some(stored)
            && shared.store.flush().await.is_ok()
        {
            watermark.write(stored);
            counted = Some(stored);
        }
        if pruned.elapsed() > DEDUP_PRUNE_EVERY {
            pruned = Instant::now();
            if let Err(e) = shared.store.prune_dedup(now()) {
                warn!(error = %e, "cannot prune client message ids");
            }
            shared.sends.prune();
            shared.bundle_fetches.prune();
            shared.one_time_handouts.prune();
        }
        let stamp = std::fs::read_dir(&dir).ok().map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
                .max()
        });
        if stamp != last {
            last = stamp;
            match crate::revocation::reload(shared.revocation_parts(), &dir, now()) {
                Ok(changed) => debug!(changed, "revocation lists checked"),
                Err(e) => warn!(error = %e, "revocation lists not reloaded"),
            }
        }
        // Certificates that expired since the last round.
        crate::revocation::enforce(shared.revocation_parts(), now());
        tokio::select! {
            () = tokio::time::sleep(HOUSEKEEPING_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn accept_loop(endpoint: quinn::Endpoint, shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    while let Some(incoming) = endpoint.accept().await {
        let shared = Arc::clone(&shared);
        let stop = stop.clone();
        let span = tracing::info_span!("connection", remote = %incoming.remote_address(), user = tracing::field::Empty);
        tokio::spawn(
            async move {
                match incoming.await {
                    Ok(connection) => serve_connection(connection, shared, stop).await,
                    Err(e) => debug!(error = %e, "handshake failed"),
                }
            }
            .instrument(span),
        );
    }
}

async fn read_frame<T: bincode::Decode<()> + bincode::Encode>(
    recv: &mut quinn::RecvStream,
    max: usize,
) -> Result<T, Response> {
    let mut header = [0u8; 4];
    recv.read_exact(&mut header)
        .await
        .map_err(|e| refuse(ErrorCode::Malformed, format!("truncated frame: {e}")))?;
    let len = frame_len(header, max).map_err(|e| refuse(ErrorCode::TooLarge, e.to_string()))?;
    let mut body = vec![0u8; len];
    recv.read_exact(&mut body)
        .await
        .map_err(|e| refuse(ErrorCode::Malformed, format!("truncated frame: {e}")))?;
    decode_frame(&body).map_err(|e| refuse(ErrorCode::Malformed, e.to_string()))
}

async fn write_response(send: &mut quinn::SendStream, response: &Response) {
    if send.write_all(&encode_frame(response)).await.is_ok() {
        let _ = send.finish();
    }
}

/// Writes a final response and waits (briefly) until the peer has it, before the connection
/// is closed: closing discards unacknowledged stream data.
async fn write_last_response(send: &mut quinn::SendStream, response: &Response) {
    write_response(send, response).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), send.stopped()).await;
}

async fn login(
    connection: &quinn::Connection,
    shared: &Shared,
) -> Result<VerifiedCertificate, (u32, &'static str)> {
    let timeout = Duration::from_secs(shared.limits.login_timeout_secs);
    let (mut send, mut recv) = tokio::time::timeout(timeout, connection.accept_bi())
        .await
        .map_err(|_| (close::LOGIN_TIMEOUT, "no login in time"))?
        .map_err(|_| (close::PROTOCOL, "connection lost before login"))?;
    let request = tokio::time::timeout(
        timeout,
        read_frame::<Request>(&mut recv, shared.limits.max_frame_bytes),
    )
    .await
    .map_err(|_| (close::LOGIN_TIMEOUT, "no login in time"))?;
    let request = match request {
        Ok(request) => request,
        Err(response) => {
            write_last_response(&mut send, &response).await;
            return Err((close::PROTOCOL, "malformed login"));
        }
    };
    let Request::Login { certificate, proof } = request else {
        write_last_response(&mut send, &refuse(ErrorCode::NotLoggedIn, "log in first")).await;
        return Err((close::PROTOCOL, "request before login"));
    };
    let mut exporter = [0u8; LOGIN_EXPORTER_LEN];
    if connection
        .export_keying_material(&mut exporter, LOGIN_EXPORTER_LABEL, b"")
        .is_err()
    {
        return Err((close::PROTOCOL, "no keying material"));
    }
    let verdict = shared.trust().verify_certificate(&certificate, now());
    let verified = match verdict {
        Err(e) => Err(e.to_string()),
        Ok(_) if !login_proof_valid(&certificate, &exporter, &proof) => {
            Err("login proof does not verify".to_owned())
        }
        Ok(verified) => Ok(verified),
    };
    let verified = match verified {
        Ok(verified) => verified,
        Err(reason) => {
            info!(user = %certificate.body().user, %reason, "login refused");
            shared.metrics.refused("LoginRefused");
            write_last_response(&mut send, &refuse(ErrorCode::LoginRefused, reason)).await;
            return Err((close::LOGIN_REFUSED, "login refused"));
        }
    };
    let user = certificate.body().user.clone();
    let pending = shared.store.usage(&user).messages;
    let limit = shared.limits.connections_per_identity as usize;
    let closed = shared.live.make_room(&user, limit, close::REPLACED);
    if closed > 0 {
        info!(%user, closed, "oldest connections replaced by a new login");
    }
    // The directory entry must survive a crash: other members' sends name this member.
    match shared.store.put_certificate(&certificate) {
        Ok(true) => {
            if let Err(e) = shared.store.flush().await {
                warn!(error = %e, "cannot record certificate");
            }
        }
        Ok(false) => {}
        Err(e) => warn!(error = %e, "cannot record certificate"),
    }
    shared.remember_verified(verified.clone());
    write_response(&mut send, &Response::LoggedIn { user, pending }).await;
    Ok(verified)
}

async fn serve_connection(
    connection: quinn::Connection,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let certificate = match login(&connection, &shared).await {
        Ok(certificate) => Arc::new(certificate),
        Err((code, reason)) => {
            connection.close(code.into(), reason.as_bytes());
            return;
        }
    };
    let user = certificate.body().user.clone();
    tracing::Span::current().record("user", tracing::field::display(&user));
    info!("logged in");
    shared
        .metrics
        .logins
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    shared
        .metrics
        .connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (notices, inbox) = mpsc::unbounded_channel();
    let live = Live {
        notices: notices.clone(),
        connection: connection.clone(),
        certificate: Arc::clone(&certificate),
    };
    shared.live.add(user.clone(), live);
    let _ = notices.send(Notice::Mail);
    if let Some(remaining) = bundles::low_at_login(&shared, &user) {
        let _ = notices.send(Notice::PrekeysLow(remaining));
    }
    let pusher = spawn_pusher(connection.clone(), Arc::clone(&shared), user.clone(), inbox);
    loop {
        tokio::select! {
            stream = connection.accept_bi() => {
                let Ok((send, recv)) = stream else { break };
                let (shared, certificate) = (Arc::clone(&shared), Arc::clone(&certificate));
                let connection = connection.clone();
                tokio::spawn(
                    serve_request(shared, certificate, connection, send, recv).in_current_span(),
                );
            }
            _ = stop.changed() => break,
        }
    }
    pusher.abort();
    let _ = pusher.await; // the push channel's receiver is gone once the task is
    drop(notices);
    shared.live.forget_closed(&user);
    shared
        .metrics
        .connections
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    info!("connection closed");
}

/// The task that writes a connection's pushes, in order, on one stream it opens.
fn spawn_pusher(
    connection: quinn::Connection,
    shared: Arc<Shared>,
    user: UserId,
    mut inbox: mpsc::UnboundedReceiver<Notice>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(
        async move {
            let Ok(mut stream) = connection.open_uni().await else {
                return;
            };
            let mut last: Option<MessageId> = None;
            while let Some(notice) = inbox.recv().await {
                let pushed = match notice {
                    Notice::PrekeysLow(remaining) => {
                        push(&mut stream, &Push::PrekeysLow { remaining }).await
                    }
                    Notice::Frame(frame) => stream.write_all(&frame).await.is_ok(),
                    Notice::Mail => push_mail(&mut stream, &shared, &user, &mut last).await,
                };
                if !pushed {
                    return;
                }
            }
        }
        .in_current_span(),
    )
}

/// Answers one request stream. The requester's certificate is re-checked first (cheaply:
/// root, validity, the lists in force): a member revoked or expired since login is refused
/// and the connection closed, even before housekeeping gets to it.
async fn serve_request(
    shared: Arc<Shared>,
    requester: Arc<VerifiedCertificate>,
    connection: quinn::Connection,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let request = read_frame::<Request>(&mut recv, shared.limits.max_frame_bytes).await;
    let valid = crate::revocation::still_valid(&shared.trust(), &requester, now());
    let response = match (request, valid) {
        (Err(response), _) => response,
        (Ok(request), Ok(())) => handle(&shared, &requester.body().user, request).await,
        (Ok(_), Err(refusal)) => {
            info!(message = %refusal.message, "request refused: certificate no longer valid");
            shared.metrics.refused(&format!("{:?}", refusal.code));
            write_last_response(&mut send, &Response::Error(refusal.clone())).await;
            let reason = crate::live::close_reason(&refusal.message);
            connection.close(close::CERTIFICATE_REFUSED.into(), reason);
            return;
        }
    };
    if let Response::Error(e) = &response {
        info!(code = ?e.code, message = %e.message, "request refused");
        shared.metrics.refused(&format!("{:?}", e.code));
    }
    write_response(&mut send, &response).await;
}

async fn push(stream: &mut quinn::SendStream, frame: &Push) -> bool {
    stream.write_all(&encode_frame(frame)).await.is_ok()
}

async fn push_mail(
    stream: &mut quinn::SendStream,
    shared: &Shared,
    user: &UserId,
    last: &mut Option<MessageId>,
) -> bool {
    loop {
        let batch = match shared.store.pending(user, *last, PUSH_BATCH) {
            Ok(batch) => batch,
            Err(e) => {
                warn!(error = %e, "cannot read mailbox");
                return true;
            }
        };
        if batch.is_empty() {
            return true;
        }
        for (id, entry, payload) in batch {
            let frame = Push::Deliver {
                id,
                sender: entry.sender,
                stored_at: entry.stored_at,
                payload,
            };
            if !push(stream, &frame).await {
                return false;
            }
            shared
                .metrics
                .messages_out
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            *last = Some(id);
        }
    }
}

fn storage_refusal(e: &StoreError) -> Response {
    match e {
        StoreError::QuotaExceeded(user) => refuse(
            ErrorCode::QuotaExceeded,
            format!("mailbox of {user} is full"),
        ),
        quota @ StoreError::PrekeyQuota { .. } => {
            refuse(ErrorCode::QuotaExceeded, quota.to_string())
        }
        other => {
            warn!(error = %other, "storage failed");
            refuse(
                ErrorCode::Storage,
                "the relay could not store this; nothing was stored",
            )
        }
    }
}

async fn handle(shared: &Shared, user: &UserId, request: Request) -> Response {
    match request {
        Request::Login { .. } => refuse(ErrorCode::Malformed, "already logged in"),
        Request::PublishPrekeys {
            signed_prekey,
            one_time_prekeys,
        } => {
            let max = vigil_protocol::prekey::MAX_ONE_TIME_PREKEYS;
            if one_time_prekeys.len() > max {
                // Refused before any signature is checked: the work is bounded too.
                return refuse(
                    ErrorCode::QuotaExceeded,
                    format!("at most {max} one-time prekeys per member"),
                );
            }
            let Ok(Some(certificate)) = shared.store.certificate(user) else {
                return refuse(ErrorCode::Storage, "own certificate not found");
            };
            let Ok(verified) = shared.trust().verify_certificate(&certificate, now()) else {
                return refuse(ErrorCode::LoginRefused, "own certificate no longer valid");
            };
            let bundle = |otk| PrekeyBundle {
                user: user.clone(),
                identity_key: certificate.body().identity_key,
                signed_prekey: signed_prekey.clone(),
                one_time_prekey: otk,
            };
            if let Err(e) = bundle(None).verify(&verified, now()) {
                return refuse(ErrorCode::Malformed, e.to_string());
            }
            if let Some(e) = one_time_prekeys
                .iter()
                .find_map(|k| bundle(Some(k.clone())).verify(&verified, now()).err())
            {
                return refuse(ErrorCode::Malformed, e.to_string());
            }
            match shared
                .store
                .publish_prekeys(user, &signed_prekey, &one_time_prekeys)
            {
                Ok(count) => match shared.store.flush().await {
                    Ok(()) => Response::Published {
                        one_time_prekeys: u32::try_from(count).unwrap_or(u32::MAX),
                    },
                    Err(e) => storage_refusal(&e),
                },
                Err(e) => storage_refusal(&e),
            }
        }
        Request::FetchBundle { user: wanted } => bundles::fetch_bundle(shared, user, wanted).await,
        Request::Send {
            id,
            recipients,
            level,
            payload,
        } => send(shared, user, id, recipients, level, payload).await,
        Request::Revocations => Response::Revocations {
            lists: crate::revocation::lists_in_force(&shared.trust()),
        },
        Request::Ack { ids } => {
            let write = Write::Ack {
                user: user.clone(),
                ids,
            };
            match shared.store.write(write).await.and_then(Applied::acked) {
                Ok(removed) => Response::Acked { removed },
                Err(e) => storage_refusal(&e),
            }
        }
    }
}

async fn send(
    shared: &Shared,
    sender: &UserId,
    id: vigil_protocol::relay::ClientMessageId,
    mut recipients: Vec<UserId>,
    level: Option<vigil_protocol::label::Classification>,
    payload: Vec<u8>,
) -> Response {
    recipients.sort();
    recipients.dedup();
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return refuse(
            ErrorCode::Malformed,
            format!("a message names 1 to {MAX_RECIPIENTS} recipients"),
        );
    }
    if !shared.sends.allow(sender) {
        return refuse(
            ErrorCode::RateLimited,
            format!(
                "more than {} messages per second",
                shared.limits.messages_per_second
            ),
        );
    }
    if let Err(refusal) = shared.check_recipients(&recipients, level.as_ref()) {
        return refusal;
    }
    let quota = Quota {
        messages: shared.limits.mailbox_max_messages,
        bytes: shared.limits.mailbox_max_bytes,
    };
    let write = Write::enqueue(sender, id, &recipients, payload, now(), quota);
    // Stored and flushed together with every other request writing now (group commit).
    let duplicate = match shared.store.write(write).await.and_then(Applied::enqueued) {
        Ok(duplicate) => duplicate,
        Err(e) => return storage_refusal(&e),
    };
    if !duplicate {
        shared
            .metrics
            .messages_in
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for recipient in &recipients {
            shared.live.notify(recipient, &Notice::Mail);
        }
    }
    Response::Sent { duplicate }
}
