//! The relay: opens its store, binds its endpoint, and runs the tasks that accept connections
//! (`connection.rs`) and keep house (`housekeeping.rs`) until it is shut down.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use tokio::sync::watch;
use tracing::{debug, info, warn};
use vigil_protocol::{TrustStore, UserId, VerifiedCertificate};

use crate::config::{Config, ConfigError, Limits};
use crate::limits::Rates;
use crate::live::Registry;
use crate::metrics::Metrics;
use crate::reload::{Reloaded, TrustDirs};
use crate::store::{Directory, MailboxStore, SledStore, StoreError};
use crate::watermark::Watermark;

pub use crate::limits::{MAX_RECIPIENTS, PREKEYS_LOW};

/// How long a shutdown waits for connections to close before flushing and exiting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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

pub(crate) use vigil_common::now;

/// Why the relay did not start. Each names what to fix (the file, the data directory, the
/// address); its `Display` is one line for the operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration, the trust roots, the revocation lists, or the TLS certificate and key.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory could not be opened, read or verified.
    #[error("{}: {source}", dir.display())]
    Store { dir: PathBuf, source: StoreError },
    /// The data directory holds fewer stored messages than were counted before: acknowledged
    /// messages are gone (a damaged or replaced file).
    #[error(
        "{}: the data directory holds {stored} stored messages but {seen} were counted \
         before: {} acknowledged messages are gone (a damaged or replaced file); \
         restore it from a backup, or remove {} to start with what is left",
        dir.display(),
        seen.saturating_sub(*stored),
        watermark.display()
    )]
    MessagesLost {
        dir: PathBuf,
        /// Stored messages found now.
        stored: u64,
        /// Stored messages counted before, in `watermark`.
        seen: u64,
        /// The file that counted them.
        watermark: PathBuf,
    },
    /// The QUIC endpoint could not bind its address.
    #[error("listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// The metrics listener could not bind its address.
    #[error("metrics on {address}: {source}")]
    Metrics {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// State shared by every connection.
#[derive(Debug)]
pub struct Shared {
    pub(crate) mailboxes: Arc<dyn MailboxStore>,
    pub(crate) directory: Arc<dyn Directory>,
    trust: RwLock<TrustStore>,
    pub(crate) limits: Limits,
    pub(crate) live: Registry,
    pub(crate) rates: Rates,
    /// Certificates whose signatures were checked, by member: a send re-checks only what can
    /// change (root, validity, revocation), not every recipient's signature again.
    verified: Mutex<HashMap<UserId, VerifiedCertificate>>,
    pub(crate) metrics: Metrics,
    /// Where the trust comes from (`roots/`, `revocations/`), for reloads.
    pub(crate) dirs: TrustDirs,
    /// The data directory (its size is a metric).
    pub(crate) data_dir: PathBuf,
}

impl Shared {
    fn new(store: &Arc<SledStore>, trust: TrustStore, config: &Config) -> Self {
        let limits = &config.limits;
        Self {
            mailboxes: Arc::clone(store) as Arc<dyn MailboxStore>,
            directory: Arc::clone(store) as Arc<dyn Directory>,
            trust: RwLock::new(trust),
            limits: limits.clone(),
            live: Registry::default(),
            rates: Rates::new(limits),
            verified: Mutex::new(HashMap::new()),
            metrics: Metrics::default(),
            data_dir: config.data_dir.clone(),
            dirs: TrustDirs {
                roots: config.roots_dir.clone(),
                revocations: config.revocations_dir.clone(),
            },
        }
    }

    /// The metrics in the Prometheus text format, as the metrics port serves them.
    #[must_use]
    pub fn render_metrics(&self) -> String {
        self.metrics.render_all(
            self.mailboxes.as_ref(),
            &self.trust(),
            &self.data_dir,
            now(),
        )
    }

    /// The trust store, for reading (a reload holds the write lock only while it swaps lists).
    pub(crate) fn trust(&self) -> RwLockReadGuard<'_, TrustStore> {
        self.trust.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The certificates verified so far, by member.
    pub(crate) fn verified(&self) -> MutexGuard<'_, HashMap<UserId, VerifiedCertificate>> {
        self.verified.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn revocation_parts(&self) -> crate::revocation::Parts<'_> {
        crate::revocation::Parts {
            trust: &self.trust,
            directory: self.directory.as_ref(),
            live: &self.live,
            metrics: &self.metrics,
        }
    }

    /// Caches `certificate` (at login, or when a send first names its member).
    pub(crate) fn remember_verified(&self, certificate: VerifiedCertificate) {
        self.verified()
            .insert(certificate.body().user.clone(), certificate);
    }
}

/// A running relay: its endpoint and the state its tasks share. [`Self::shutdown`] stops it
/// and flushes storage.
#[derive(Debug)]
pub struct Relay {
    endpoint: quinn::Endpoint,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    metrics: Option<SocketAddr>,
    /// The admin socket, removed at shutdown.
    admin_socket: PathBuf,
}

impl Relay {
    /// Opens the store, binds the endpoint and starts accepting connections.
    ///
    /// # Errors
    ///
    /// [`StartError`]: the configuration, the data directory, or an address.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        let (mut trust, skipped) = crate::trust::load(&config.roots_dir, &config.revocations_dir)?;
        let (store, watermark) = open_store(&config.data_dir).await?;
        crate::revocation::restore(store.as_ref(), &mut trust)
            .await
            .map_err(|source| StartError::Store {
                dir: config.data_dir.clone(),
                source,
            })?;
        match store.prune_dedup(now()).await {
            Ok(0) => {}
            Ok(n) => info!(forgotten = n, "old client message ids forgotten"),
            Err(e) => warn!(error = %e, "cannot prune client message ids"),
        }
        let server = crate::tls::server_config(config)?;
        let endpoint = quinn::Endpoint::server(server, config.listen).map_err(|source| {
            StartError::Listen {
                address: config.listen,
                source,
            }
        })?;
        let shared = Arc::new(Shared::new(&store, trust, config));
        shared.metrics.set_skipped(skipped.len());
        let metrics = match config.metrics {
            None => None,
            Some(address) => Some(serve_metrics(address, Arc::clone(&shared)).await?),
        };
        let (shutdown, stop) = watch::channel(false);
        // Without it the relay still serves; only `vigil-relay backup` cannot reach it.
        match crate::admin::bind(&config.data_dir) {
            Ok(admin) => {
                tokio::spawn(crate::admin::serve(admin, Arc::clone(&store), stop.clone()));
            }
            Err(e) => warn!(
                error = %e,
                path = %crate::admin::socket_path(&config.data_dir).display(),
                "no admin socket: `vigil-relay backup` cannot reach this relay"
            ),
        }
        tokio::spawn(crate::connection::accept_loop(
            endpoint.clone(),
            Arc::clone(&shared),
            stop.clone(),
        ));
        tokio::spawn(crate::housekeeping::run(
            Arc::clone(&shared),
            stop,
            watermark,
        ));
        Ok(Self {
            endpoint,
            shared,
            shutdown,
            metrics,
            admin_socket: crate::admin::socket_path(&config.data_dir),
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

    /// Re-reads `roots/` and `revocations/` now (as on SIGHUP, and as housekeeping does when
    /// either changes): partners added or removed, limits changed, newer revocation lists.
    /// Every live connection whose certificate the new trust refuses (its organisation no
    /// longer trusted, over its new limits, revoked) is closed (close code
    /// [`close::CERTIFICATE_REFUSED`]); when newer lists were put in force, every other live
    /// connection is pushed them. A list older than one in force is never applied. Returns what
    /// changed.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when `roots/` does not load (the roots in force are kept) or
    /// `revocations/` cannot be read; what could be read is applied and enforced. A stray file
    /// in `revocations/` is not an error: it is skipped, logged and counted
    /// ([`Reloaded::skipped`]).
    pub fn reload(&self) -> Result<Reloaded, ConfigError> {
        crate::reload::reload(self.shared.revocation_parts(), &self.shared.dirs, now())
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
        let _ = std::fs::remove_file(&self.admin_socket);
        self.endpoint
            .close(close::SHUTDOWN.into(), b"relay shutting down");
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, self.endpoint.wait_idle()).await;
        if let Err(e) = self.shared.mailboxes.flush().await {
            warn!(error = %e, "flush at shutdown failed");
        }
    }
}

/// Opens the store in `data_dir`, reads every record once (a damaged file is found now, not
/// when a mailbox touches it), and refuses a directory that holds fewer stored messages than
/// its [`Watermark`] counted before; then records the count found.
async fn open_store(data_dir: &Path) -> Result<(Arc<SledStore>, Watermark), StartError> {
    let failed = |source| StartError::Store {
        dir: data_dir.to_owned(),
        source,
    };
    let store = SledStore::open(data_dir).map_err(failed)?;
    let records = store.verify(data_dir).map_err(failed)?;
    debug!(records, "data directory verified");
    let watermark = Watermark::new(data_dir);
    let stored = store.stored_count().await.map_err(failed)?;
    if let Some(seen) = watermark.read()
        && seen > stored
    {
        return Err(StartError::MessagesLost {
            dir: data_dir.to_owned(),
            stored,
            seen,
            watermark: watermark.path.clone(),
        });
    }
    watermark.write(stored);
    Ok((Arc::new(store), watermark))
}

/// Serves the metrics on `address` (a localhost port); returns where it listens.
async fn serve_metrics(address: SocketAddr, shared: Arc<Shared>) -> Result<SocketAddr, StartError> {
    let failed = |source| StartError::Metrics { address, source };
    if !address.ip().is_loopback() {
        warn!(%address, "metrics are served beyond this machine, without authentication: listen on 127.0.0.1 (vigil-relay --check-config refuses this)");
    }
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    tokio::spawn(crate::metrics::serve(listener, shared));
    Ok(bound)
}
