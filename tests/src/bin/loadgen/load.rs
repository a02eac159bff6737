//! Driving load: senders (closed loop, or paced at a rate), receivers that time every
//! delivery and acknowledge as a client does, and one measured phase at a time.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use vigil_client::transport::RelayConnection;
use vigil_protocol::UserId;
use vigil_protocol::relay::{ClientMessageId, MessageId, Push, Request, Response};

use crate::forward;

/// Deliveries a receiver acknowledges in one `Ack` at most (as the client does).
const ACK_BATCH: usize = 64;

/// How often a phase looks whether its last deliveries arrived (a drain's end is known to
/// within this).
const DELIVERY_POLL: Duration = Duration::from_millis(2);

/// How long a phase waits for its last deliveries before reporting them missing.
const DELIVERY_WAIT: Duration = Duration::from_secs(60);

/// Sends paced at a rate that may be in flight at once; a tick that finds none free is
/// counted as "behind" (the system did not keep up with the offered load).
const OPEN_LOOP_IN_FLIGHT: usize = 512;

/// Where a sender's messages go.
#[derive(Clone, Debug)]
pub(crate) enum Sender {
    /// To the forwarder: the recipient's number.
    Raw {
        connection: quinn::Connection,
        to: u32,
    },
    /// Through the relay: `Send` to these members.
    Vigil {
        connection: Arc<RelayConnection>,
        to: Arc<Vec<UserId>>,
    },
}

/// Unique client message ids for one run.
#[derive(Debug)]
pub(crate) struct Ids {
    run: u64,
    next: AtomicU64,
}

impl Ids {
    pub(crate) fn new() -> Self {
        use rand_core::RngCore as _;
        Self {
            run: rand_core::OsRng.next_u64(),
            next: AtomicU64::new(0),
        }
    }

    fn next(&self) -> ClientMessageId {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.run.to_be_bytes());
        id[8..].copy_from_slice(&n.to_be_bytes());
        ClientMessageId(id)
    }
}

impl Sender {
    async fn send(&self, ids: &Ids, payload: Vec<u8>) -> Result<(), String> {
        match self {
            Self::Raw { connection, to } => {
                let mut body = Vec::with_capacity(4 + payload.len());
                body.extend_from_slice(&to.to_be_bytes());
                body.extend_from_slice(&payload);
                forward::request(connection, &body).await
            }
            Self::Vigil { connection, to } => {
                let request = Request::Send {
                    id: ids.next(),
                    recipients: to.as_ref().clone(),
                    level: None,
                    payload,
                };
                match connection.request(&request).await {
                    Ok(Response::Sent { .. }) => Ok(()),
                    Ok(other) => Err(format!("relay answered {other:?}")),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}

/// Counts and times deliveries (shared by every receiver of a run).
#[derive(Debug)]
pub(crate) struct Recorder {
    origin: Instant,
    delivered: AtomicU64,
    acked: AtomicU64,
    last_ns: AtomicU64,
    latencies: Mutex<Vec<u64>>,
}

impl Recorder {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            origin: Instant::now(),
            delivered: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            last_ns: AtomicU64::new(0),
            latencies: Mutex::new(Vec::new()),
        })
    }

    /// Nanoseconds since the recorder was made: the clock payloads carry.
    fn clock(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// A payload of `size` bytes stamped with the time it is sent.
    fn payload(&self, size: usize) -> Vec<u8> {
        let mut payload = vec![0x5A; size.max(8)];
        payload[..8].copy_from_slice(&self.clock().to_le_bytes());
        payload
    }

    fn delivered(&self, payload: &[u8]) {
        let now = self.clock();
        if let Some(stamp) = payload.first_chunk::<8>() {
            let latency = now.saturating_sub(u64::from_le_bytes(*stamp));
            self.latencies
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(latency);
        }
        self.delivered.fetch_add(1, Ordering::Relaxed);
        self.last_ns.fetch_max(now, Ordering::Relaxed);
    }

    fn take(&self) -> Vec<u64> {
        self.delivered.store(0, Ordering::Relaxed);
        self.acked.store(0, Ordering::Relaxed);
        std::mem::take(
            &mut *self
                .latencies
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Waits until `count` deliveries (and, with `acked`, their acknowledgements) arrived, or
    /// [`DELIVERY_WAIT`] passed; returns whether they all did.
    async fn wait_for(&self, count: u64, acked: bool) -> bool {
        let deadline = Instant::now() + DELIVERY_WAIT;
        loop {
            let done = self.delivered.load(Ordering::Relaxed) >= count
                && (!acked || self.acked.load(Ordering::Relaxed) >= count);
            if done {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(DELIVERY_POLL).await;
        }
    }
}

/// Reads the forwarder's pushes to `connection` into `recorder`.
pub(crate) fn receive_raw(connection: quinn::Connection, recorder: Arc<Recorder>) {
    tokio::spawn(async move {
        let Ok(mut stream) = connection.accept_uni().await else {
            return;
        };
        while let Some(body) = forward::read_frame(&mut stream).await {
            recorder.delivered(&body);
        }
    });
}

/// Reads the relay's pushes to `connection` into `recorder`, acknowledging them in batches
/// as a client does once they are stored (here: once they are timed). Returns the connection
/// (to close it).
pub(crate) fn receive_vigil(
    mut connection: RelayConnection,
    recorder: Arc<Recorder>,
) -> Arc<RelayConnection> {
    let mut pushes = connection.spawn_pushes();
    let connection = Arc::new(connection);
    let acks = Arc::clone(&connection);
    tokio::spawn(async move {
        let connection = acks;
        let mut ids: Vec<MessageId> = Vec::new();
        while let Some(Ok(push)) = pushes.recv().await {
            let mut next = Some(push);
            while let Some(push) = next {
                if let Push::Deliver { id, payload, .. } = push {
                    recorder.delivered(&payload);
                    ids.push(id);
                }
                if ids.len() >= ACK_BATCH {
                    ack(&connection, &recorder, std::mem::take(&mut ids));
                }
                next = pushes.try_recv().ok().and_then(Result::ok);
            }
            if !ids.is_empty() {
                ack(&connection, &recorder, std::mem::take(&mut ids));
            }
        }
    });
    connection
}

fn ack(connection: &Arc<RelayConnection>, recorder: &Arc<Recorder>, ids: Vec<MessageId>) {
    let (connection, recorder) = (Arc::clone(connection), Arc::clone(recorder));
    tokio::spawn(async move {
        let count = ids.len() as u64;
        if let Ok(Response::Acked { .. }) = connection.request(&Request::Ack { ids }).await {
            recorder.acked.fetch_add(count, Ordering::Relaxed);
        }
    });
}

/// How load is offered.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Load {
    /// Every sender keeps `window` requests in flight, as fast as answers come.
    Closed { window: usize },
    /// Sends paced at `rate` messages per second in all.
    Open { rate: f64 },
}

/// What a phase measured.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outcome {
    /// Sends the server accepted.
    pub(crate) sent: u64,
    /// Sends refused or lost (with the first reason).
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    /// Paced sends skipped because [`OPEN_LOOP_IN_FLIGHT`] were already waiting.
    pub(crate) behind: u64,
    /// Messages per second: delivered over the time to the last delivery, or accepted over
    /// the sending time when nobody receives.
    pub(crate) rate: f64,
    /// Latency from send to delivery, sorted (nanoseconds).
    pub(crate) latencies: Vec<u64>,
    /// Deliveries that never arrived.
    pub(crate) missing: u64,
    /// CPU seconds the server process used during the phase.
    pub(crate) server_cpu: f64,
    /// Flushes the relay made during the phase, and requests that waited for one.
    pub(crate) flushes: Option<(u64, u64)>,
}

impl Outcome {
    /// The `q` quantile of the latencies.
    pub(crate) fn latency(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into the sorted samples"
        )]
        let index = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        Duration::from_nanos(self.latencies[index.min(self.latencies.len() - 1)])
    }

    /// Server CPU per message, in microseconds.
    pub(crate) fn cpu_per_message_us(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        #[expect(clippy::cast_precision_loss, reason = "a rate")]
        let per = self.server_cpu * 1e6 / self.sent as f64;
        per
    }
}

#[derive(Debug, Default)]
struct Tally {
    sent: AtomicU64,
    errors: AtomicU64,
    behind: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Tally {
    fn count(&self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                self.first_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(e);
            }
        }
    }
}

/// One measured phase.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Phase<'a> {
    pub(crate) senders: &'a [Sender],
    pub(crate) size: usize,
    pub(crate) load: Load,
    pub(crate) duration: Duration,
    /// The server whose CPU is measured.
    pub(crate) server: u32,
    /// Wait for every accepted message to be delivered to the recorder's receivers (and,
    /// with `Some(true)`, acknowledged); `None` when nobody receives during the phase.
    pub(crate) deliveries: Option<bool>,
}

/// Runs `phase` and measures it.
pub(crate) async fn run(phase: Phase<'_>, recorder: &Arc<Recorder>, ids: &Arc<Ids>) -> Outcome {
    recorder.take();
    let tally = Arc::new(Tally::default());
    let cpu_before = vigil_tests::cpu_seconds(phase.server).unwrap_or(0.0);
    let start = recorder.clock();
    let deadline = Instant::now() + phase.duration;
    let mut tasks = Vec::new();
    match phase.load {
        Load::Closed { window } => {
            for sender in phase.senders {
                for _ in 0..window {
                    let (sender, tally, recorder, ids) = (
                        sender.clone(),
                        Arc::clone(&tally),
                        Arc::clone(recorder),
                        Arc::clone(ids),
                    );
                    let size = phase.size;
                    tasks.push(tokio::spawn(async move {
                        while Instant::now() < deadline {
                            tally.count(sender.send(&ids, recorder.payload(size)).await);
                        }
                    }));
                }
            }
        }
        Load::Open { rate } => {
            let in_flight = Arc::new(Semaphore::new(OPEN_LOOP_IN_FLIGHT));
            #[expect(clippy::cast_precision_loss, reason = "a rate")]
            let period = Duration::from_secs_f64(phase.senders.len() as f64 / rate.max(1.0));
            for sender in phase.senders {
                let (sender, tally, recorder, ids, in_flight) = (
                    sender.clone(),
                    Arc::clone(&tally),
                    Arc::clone(recorder),
                    Arc::clone(ids),
                    Arc::clone(&in_flight),
                );
                let size = phase.size;
                tasks.push(tokio::spawn(async move {
                    let mut ticker = tokio::time::interval(period);
                    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    loop {
                        ticker.tick().await;
                        if Instant::now() >= deadline {
                            break;
                        }
                        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
                            tally.behind.fetch_add(1, Ordering::Relaxed);
                            continue;
                        };
                        let (sender, tally, recorder, ids) = (
                            sender.clone(),
                            Arc::clone(&tally),
                            Arc::clone(&recorder),
                            Arc::clone(&ids),
                        );
                        tokio::spawn(async move {
                            tally.count(sender.send(&ids, recorder.payload(size)).await);
                            drop(permit);
                        });
                    }
                    // Every paced send has answered once all permits are free again.
                    let _ = in_flight
                        .acquire_many(u32::try_from(OPEN_LOOP_IN_FLIGHT).unwrap_or(u32::MAX))
                        .await;
                }));
            }
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let sends_done = recorder.clock();
    let sent = tally.sent.load(Ordering::Relaxed);
    let (end, missing) = match phase.deliveries {
        Some(acked) => {
            let all = recorder.wait_for(sent, acked).await;
            let delivered = recorder.delivered.load(Ordering::Relaxed);
            (
                recorder.last_ns.load(Ordering::Relaxed).max(start + 1),
                if all {
                    0
                } else {
                    sent.saturating_sub(delivered)
                },
            )
        }
        None => (sends_done, 0),
    };
    let server_cpu = vigil_tests::cpu_seconds(phase.server).unwrap_or(0.0) - cpu_before;
    let mut latencies = recorder.take();
    latencies.sort_unstable();
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let rate = sent as f64 / (Duration::from_nanos(end.saturating_sub(start)).as_secs_f64());
    let first_error = tally
        .first_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    Outcome {
        sent,
        errors: tally.errors.load(Ordering::Relaxed),
        first_error,
        behind: tally.behind.load(Ordering::Relaxed),
        rate,
        latencies,
        missing,
        server_cpu,
        flushes: None,
    }
}

/// Connects receivers with `connect` (which starts them on `recorder`), then waits until
/// `expected` messages were delivered and acknowledged: a mailbox drained on reconnect.
pub(crate) async fn drain<F, Fut>(
    recorder: &Arc<Recorder>,
    expected: u64,
    server: u32,
    connect: F,
) -> Result<Outcome, String>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    recorder.take();
    let cpu_before = vigil_tests::cpu_seconds(server).unwrap_or(0.0);
    let start = recorder.clock();
    connect().await?;
    let all = recorder.wait_for(expected, true).await;
    let end = recorder.clock();
    let delivered = recorder.delivered.load(Ordering::Relaxed);
    let server_cpu = vigil_tests::cpu_seconds(server).unwrap_or(0.0) - cpu_before;
    let mut latencies = recorder.take();
    latencies.sort_unstable();
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let rate = delivered as f64 / Duration::from_nanos(end.saturating_sub(start)).as_secs_f64();
    Ok(Outcome {
        sent: delivered,
        rate,
        latencies,
        missing: if all {
            0
        } else {
            expected.saturating_sub(delivered)
        },
        server_cpu,
        ..Outcome::default()
    })
}

/// Runs `connect` for `0..count` with `concurrency` at a time; returns what connected, in
/// order, and the wall time it took.
pub(crate) async fn connect_many<T, F, Fut>(
    count: usize,
    concurrency: usize,
    connect: F,
) -> Result<(Vec<T>, Duration), String>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let permit = Arc::clone(&gate)
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let future = connect(i);
        tasks.push(tokio::spawn(async move {
            let result = future.await;
            drop(permit);
            result
        }));
    }
    let mut out = Vec::with_capacity(count);
    for task in tasks {
        out.push(task.await.map_err(|e| e.to_string())??);
    }
    Ok((out, started.elapsed()))
}
