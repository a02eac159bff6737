//! `loadgen`: measures the relay against a raw QUIC forwarder, in one run, on one machine.
//!
//! ```sh
//! cargo run --release -p vigil-tests --bin loadgen
//! ```
//!
//! - R1: the baseline, a raw QUIC forwarder with the relay's TLS, transport settings and
//!   framing and none of its logic ([`forward`]);
//! - R2: live forwarding through `vigil-relay` (sender → relay → online recipient, who
//!   acknowledges): messages/s at maximum load and latency at 10 %, 50 % and 100 % of it;
//! - R3: store-and-forward: sends to offline recipients, then their mailboxes drained on
//!   reconnect, with the durability the relay ships with (every answer after a flush);
//! - R4: fan-out: one message to 1, 10, 100, 1000 recipients: relay CPU per message and per
//!   extra recipient, and bytes stored;
//! - R5: 1,000 and 10,000 idle logged-in connections: relay memory per connection, idle CPU,
//!   logins per second.
//!
//! Every figure is printed beside its R1 counterpart and the ratio. The relay (and the
//! forwarder) run as processes of their own, pinned to the second core while the generator
//! keeps the first, when the machine has two and `taskset` is there. `docs/performance.md`
//! holds the figures and how to read them.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool: progress on stderr, the table on stdout"
)]

mod forward;
mod load;
mod report;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use vigil_client::transport::RelayConnection;
use vigil_protocol::LocalIdentity;
use vigil_protocol::relay::Response;
use vigil_tests::{Deployment, RelayProcess};

use crate::load::{Ids, Load, Outcome, Phase, Recorder, Sender};
use crate::report::{Report, Unit};

/// Logins (or raw handshakes) in flight at once while connecting many clients.
const LOGIN_CONCURRENCY: usize = 64;

/// Fractions of R2's maximum at which latency is measured with paced load (100 % is the
/// closed-loop maximum itself).
const PACED_LOADS: [f64; 2] = [0.1, 0.5];

/// Longest warm-up before a size's measured phases (half a phase when phases are shorter).
const WARM_UP_MAX: Duration = Duration::from_millis(500);

/// Time for a burst of logins to settle before memory is read.
const SETTLE: Duration = Duration::from_secs(1);

/// Measure Vigil's relay against raw QUIC, in one run: R1 a raw QUIC forwarder (the baseline),
/// R2 live forwarding, R3 store-and-forward, R4 fan-out, R5 idle connections. Prints a Markdown
/// table with every figure's ratio to R1 (how to read it: docs/performance.md).
#[derive(Debug, Parser)]
#[command(name = "loadgen", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Internal>,
    /// Seconds each measured phase sends for.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Payload sizes in bytes (R1, R2, R3).
    #[arg(long, value_delimiter = ',', default_values_t = [256, 1024, 16384])]
    sizes: Vec<usize>,
    /// Recipients of one message (R4; 1 is the reference).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 10, 100, 1000])]
    fanout: Vec<usize>,
    /// Idle logged-in connections (R5), measured in increasing order.
    #[arg(long, value_delimiter = ',', default_values_t = [1000, 10000])]
    connections: Vec<usize>,
    /// Seconds idle CPU is measured over (default: one keep-alive interval of the relay).
    #[arg(long, default_value_t = 15.0)]
    idle_seconds: f64,
    /// Sender connections, each with a recipient of its own (R1-R3) or the same recipients
    /// (R4).
    #[arg(long, default_value_t = 4)]
    pairs: usize,
    /// Requests each sender keeps in flight at maximum load (the relay allows 64 streams).
    #[arg(long, default_value_t = 16)]
    window: usize,
    /// The `vigil-relay` binary (default: built with cargo beside this one).
    #[arg(long, value_name = "PATH")]
    relay: Option<PathBuf>,
    /// Do not pin the generator and the servers to different cores.
    #[arg(long)]
    no_pin: bool,
    /// A short run that checks every scenario works (figures meaningless): what the test
    /// suite runs. Overrides the sizes, counts and durations.
    #[arg(long)]
    quick: bool,
}

#[derive(Debug, Subcommand)]
enum Internal {
    /// Run the R1 forwarder (started by the generator itself).
    #[command(hide = true)]
    Forward {
        #[arg(long)]
        config: PathBuf,
    },
}

impl Args {
    fn quicken(&mut self) {
        self.seconds = 0.3;
        self.sizes = vec![256, 16384];
        self.fanout = vec![1, 10, 40];
        self.connections = vec![20, 40];
        self.idle_seconds = 0.3;
        self.pairs = 2;
        self.window = 4;
    }

    fn phase(&self) -> Duration {
        Duration::from_secs_f64(self.seconds.max(0.05))
    }
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    if let Some(Internal::Forward { config }) = &args.command {
        return match forward::serve(config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen forward: {e}");
                ExitCode::from(2)
            }
        };
    }
    if args.quick {
        args.quicken();
    }
    let relay = match relay_binary(args.relay.clone()) {
        Ok(relay) => relay,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let pinned = !args.no_pin && pin_self();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(if pinned { 1 } else { 2 })
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        let mut lab = Lab::new(args, relay, pinned)?;
        lab.run().await?;
        Ok::<_, String>(lab.report)
    });
    match result {
        Ok(report) => {
            println!("{}", report.table());
            if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                for problem in &report.problems {
                    eprintln!("loadgen: {problem}");
                }
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::from(1)
        }
    }
}

/// The relay binary: given, or built with the cargo that runs us (so it is never stale), or
/// found beside this binary.
fn relay_binary(given: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return Ok(path);
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let beside = me.with_file_name("vigil-relay");
    if let Ok(cargo) = std::env::var("CARGO") {
        let release = me.components().any(|c| c.as_os_str() == "release");
        eprintln!("loadgen: building vigil-relay");
        let mut build = Command::new(cargo);
        // With this package selected too, features resolve as for this binary: the shared
        // dependencies are not rebuilt with other features (and back again next time).
        build.args([
            "build",
            "--locked",
            "-p",
            "vigil-tests",
            "-p",
            "vigil-server",
            "--bin",
            "vigil-relay",
        ]);
        if release {
            build.arg("--release");
        }
        let status = build.status().map_err(|e| format!("cargo build: {e}"))?;
        if !status.success() {
            return Err("cargo build of vigil-relay failed".into());
        }
    }
    if beside.exists() {
        Ok(beside)
    } else {
        Err(format!(
            "{} not found: build it (cargo build --release -p vigil-server) or give --relay",
            beside.display()
        ))
    }
}

/// Pins this process to core 0, leaving core 1 to the servers; false when that is not possible
/// (one core, no `taskset`).
fn pin_self() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if cores < 2 {
        return false;
    }
    Command::new("taskset")
        .args(["-a", "-p", "-c", "0", &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A server of the run (the relay or the forwarder) and its process.
struct Server {
    process: RelayProcess,
    /// Where the relay serves its metrics.
    metrics: Option<std::net::SocketAddr>,
    /// The relay (true) or the R1 forwarder.
    relay: bool,
}

impl Server {
    fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The relay's flushes so far and the requests that waited for them (from its metrics).
    async fn flushes(&self) -> Option<(u64, u64)> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(self.metrics?).await.ok()?;
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
            .await
            .ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await.ok()?;
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        };
        Some((
            value("vigil_relay_flushes_total")?,
            value("vigil_relay_flush_waits_total")?,
        ))
    }
}

/// Everything a run shares.
struct Lab {
    args: Args,
    relay: PathBuf,
    pinned: bool,
    deployment: Deployment,
    recorder: Arc<Recorder>,
    ids: Arc<Ids>,
    endpoint: quinn::Endpoint,
    report: Report,
}

fn endpoint() -> Result<quinn::Endpoint, String> {
    quinn::Endpoint::client(([127, 0, 0, 1], 0).into()).map_err(|e| e.to_string())
}

impl Lab {
    fn new(args: Args, relay: PathBuf, pinned: bool) -> Result<Self, String> {
        eprintln!("loadgen: provisioning an organisation and its relay");
        let deployment = Deployment::new(&[]);
        for (limit, value) in [
            // The generator sends as fast as the relay answers: no rate limit, no quota.
            ("messages_per_second", u64::from(u32::MAX)),
            ("mailbox_max_messages", u64::MAX / 2),
            ("mailbox_max_bytes", u64::MAX / 2),
        ] {
            deployment.set_limit(limit, value);
        }
        Ok(Self {
            args,
            relay,
            pinned,
            deployment,
            recorder: Recorder::new(),
            ids: Arc::new(Ids::new()),
            endpoint: endpoint()?,
            report: Report::default(),
        })
    }

    fn members(&mut self, prefix: &str, count: usize) -> Vec<Arc<LocalIdentity>> {
        (0..count)
            .map(|i| {
                Arc::new(
                    self.deployment
                        .issue(&format!("{prefix}{i}@cert-at"), 3, 30),
                )
            })
            .collect()
    }

    /// A command for a server process, pinned to core 1 when the generator is on core 0.
    fn server_command(&self, program: &Path) -> Command {
        if self.pinned {
            let mut command = Command::new("taskset");
            command.arg("-c").arg("1").arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// A relay on a data directory of its own (`relay/NAME`), with the shipped log level.
    fn start_relay(&self, name: &str) -> Result<Server, String> {
        let text = std::fs::read_to_string(&self.deployment.config).map_err(|e| e.to_string())?;
        // A free port for the metrics (the relay reports flushes there).
        let metrics = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?;
        let text: String = text
            .lines()
            .map(|line| {
                if line.starts_with("data_dir = ") {
                    format!("data_dir = \"{name}\"\n")
                } else if line.starts_with("# metrics = ") {
                    format!("metrics = \"{metrics}\"\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        let config = self
            .deployment
            .config
            .with_file_name(format!("{name}.toml"));
        std::fs::write(&config, text).map_err(|e| e.to_string())?;
        let mut command = self.server_command(&self.relay);
        command.arg("--config").arg(&config);
        Ok(Server {
            process: RelayProcess::spawn(command),
            metrics: Some(metrics),
            relay: true,
        })
    }

    fn start_forwarder(&self) -> Result<Server, String> {
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut command = self.server_command(&me);
        command
            .arg("forward")
            .arg("--config")
            .arg(&self.deployment.config);
        Ok(Server {
            process: RelayProcess::spawn(command),
            metrics: None,
            relay: false,
        })
    }

    fn data_dir(&self, name: &str) -> PathBuf {
        self.deployment.config.with_file_name(name)
    }

    async fn login(
        &self,
        server: &Server,
        identity: &LocalIdentity,
    ) -> Result<RelayConnection, String> {
        login(
            &self.endpoint,
            server.process.addr,
            self.deployment.pin,
            identity,
        )
        .await
    }

    fn check(&mut self, what: &str, outcome: &Outcome) {
        if outcome.errors > 0 {
            self.report.problems.push(format!(
                "{what}: {} sends failed, first: {}",
                outcome.errors,
                outcome.first_error.as_deref().unwrap_or("?")
            ));
        }
        if outcome.missing > 0 {
            self.report.problems.push(format!(
                "{what}: {} messages never delivered",
                outcome.missing
            ));
        }
        if outcome.sent == 0 {
            self.report
                .problems
                .push(format!("{what}: nothing was sent"));
        }
    }

    async fn measure(&mut self, what: &str, server: &Server, phase: Phase<'_>) -> Outcome {
        let before = server.flushes().await;
        let mut outcome = load::run(phase, &self.recorder, &self.ids).await;
        if let (Some(before), Some(after)) = (before, server.flushes().await) {
            outcome.flushes = Some((after.0 - before.0, after.1 - before.1));
        }
        self.check(what, &outcome);
        if outcome.behind > 0 {
            eprintln!(
                "  {what}: {} paced sends skipped (the system fell behind)",
                outcome.behind
            );
        }
        outcome
    }

    /// How many requests one flush served (group commit), when the relay reported it.
    fn per_flush(&mut self, run: &'static str, case: &str, outcome: &Outcome) {
        if let Some((flushes, waits)) = outcome.flushes
            && flushes > 0
        {
            #[expect(clippy::cast_precision_loss, reason = "a ratio")]
            let per = waits as f64 / flushes as f64;
            self.report.add(
                run,
                case,
                "requests answered per flush",
                per,
                Unit::Number,
                None,
            );
        }
    }

    async fn run(&mut self) -> Result<(), String> {
        eprintln!(
            "loadgen: {} (generator and servers {})",
            machine(),
            if self.pinned {
                "pinned to cores 0 and 1"
            } else {
                "not pinned"
            }
        );
        let r1 = self.forwarding().await?;
        self.fanout(&r1).await?;
        self.connections().await?;
        Ok(())
    }

    /// R1, R2 and R3 for every size; returns R1's maximum per size (rate, CPU per message).
    async fn forwarding(&mut self) -> Result<Vec<(usize, Outcome)>, String> {
        let pairs = self.args.pairs;
        let senders = self.members("load-s", pairs);
        let receivers = self.members("load-r", pairs);
        let offline = self.members("load-q", pairs);
        let forwarder = self.start_forwarder()?;
        let relay = self.start_relay("data-live")?;

        let mut raw = Vec::new();
        for i in 0..pairs {
            let (from, to) = (2 * i, 2 * i + 1);
            let to = u32::try_from(to).map_err(|e| e.to_string())?;
            let from = u32::try_from(from).map_err(|e| e.to_string())?;
            let recipient = forward::connect(
                &endpoint()?,
                forwarder.process.addr,
                self.deployment.pin,
                to,
            )
            .await?;
            load::receive_raw(recipient, Arc::clone(&self.recorder));
            let connection = forward::connect(
                &endpoint()?,
                forwarder.process.addr,
                self.deployment.pin,
                from,
            )
            .await?;
            raw.push(Sender::Raw { connection, to });
        }
        let mut live = Vec::new();
        let mut sending = Vec::new();
        for (sender, receiver) in senders.iter().zip(&receivers) {
            let recipient = login(
                &endpoint()?,
                relay.process.addr,
                self.deployment.pin,
                receiver,
            )
            .await?;
            load::receive_vigil(recipient, Arc::clone(&self.recorder));
            let connection = Arc::new(
                login(
                    &endpoint()?,
                    relay.process.addr,
                    self.deployment.pin,
                    sender,
                )
                .await?,
            );
            live.push(Sender::Vigil {
                connection: Arc::clone(&connection),
                to: Arc::new(vec![receiver.user().clone()]),
            });
            sending.push(connection);
        }
        // The offline recipients log in once, so the relay knows them, and leave.
        for member in &offline {
            self.login(&relay, member).await?.close();
        }

        let duration = self.args.phase();
        let window = self.args.window;
        let mut baselines = Vec::new();
        for &size in &self.args.sizes.clone() {
            let case = size_name(size);
            eprintln!("loadgen: R1/R2 at {case}");
            // Every delivery is awaited; the relay's recipients acknowledge theirs as well.
            let phase = |senders, server: &Server, load, duration| Phase {
                senders,
                size,
                load,
                duration,
                server: server.pid(),
                deliveries: Some(server.relay),
            };
            // Warm both paths up (connections, allocators, sled's cache); not reported.
            let warm = Duration::from_secs_f64(self.args.seconds / 2.0).min(WARM_UP_MAX);
            let closed = Load::Closed { window };
            self.measure(
                "R1 warm-up",
                &forwarder,
                phase(&raw, &forwarder, closed, warm),
            )
            .await;
            self.measure("R2 warm-up", &relay, phase(&live, &relay, closed, warm))
                .await;

            let r1 = self
                .measure(
                    "R1 max",
                    &forwarder,
                    phase(&raw, &forwarder, closed, duration),
                )
                .await;
            let r2 = self
                .measure("R2 max", &relay, phase(&live, &relay, closed, duration))
                .await;
            let r1_cpu = r1.cpu_per_message_us();
            self.per_flush("R2", &case, &r2);
            self.report.add(
                "R1",
                &case,
                "max throughput",
                r1.rate,
                Unit::PerSecond,
                None,
            );
            self.report.add(
                "R1",
                &case,
                "relay CPU per message",
                r1_cpu,
                Unit::Micros,
                None,
            );
            self.report.add(
                "R2",
                &case,
                "max throughput",
                r2.rate,
                Unit::PerSecond,
                Some(r1.rate),
            );
            self.report.add(
                "R2",
                &case,
                "relay CPU per message",
                r2.cpu_per_message_us(),
                Unit::Micros,
                Some(r1_cpu),
            );
            // Latency at fractions of R2's maximum, R1 paced at the same rate; at 100 %, the
            // closed-loop runs above.
            let mut loads = Vec::new();
            for fraction in PACED_LOADS {
                let rate = Load::Open {
                    rate: r2.rate * fraction,
                };
                let r1_at = self
                    .measure(
                        "R1 paced",
                        &forwarder,
                        phase(&raw, &forwarder, rate, duration),
                    )
                    .await;
                let r2_at = self
                    .measure("R2 paced", &relay, phase(&live, &relay, rate, duration))
                    .await;
                loads.push((fraction, r1_at, r2_at));
            }
            loads.push((1.0, r1.clone(), r2.clone()));
            for (load, r1_at, r2_at) in &loads {
                let label = format!("{case}, {:.0} % load", load * 100.0);
                for (name, q) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
                    self.report.add(
                        "R2",
                        &label,
                        format!("latency {name}"),
                        r2_at.latency(q).as_secs_f64(),
                        Unit::Latency,
                        Some(r1_at.latency(q).as_secs_f64()),
                    );
                }
            }

            // R3: the same senders to recipients who are offline, then drained.
            let to_offline: Vec<Sender> = sending
                .iter()
                .zip(&offline)
                .map(|(connection, member)| Sender::Vigil {
                    connection: Arc::clone(connection),
                    to: Arc::new(vec![member.user().clone()]),
                })
                .collect();
            eprintln!("loadgen: R3 at {case}");
            let stored = self
                .measure(
                    "R3 store",
                    &relay,
                    Phase {
                        senders: &to_offline,
                        size,
                        load: closed,
                        duration,
                        server: relay.pid(),
                        deliveries: None,
                    },
                )
                .await;
            let (endpoint, pin, addr) = (
                self.endpoint.clone(),
                self.deployment.pin,
                relay.process.addr,
            );
            let recorder = Arc::clone(&self.recorder);
            let mut connected = Vec::new();
            let drained = load::drain(&self.recorder, stored.sent, relay.pid(), || async {
                for member in &offline {
                    let connection = login(&endpoint, addr, pin, member).await?;
                    connected.push(load::receive_vigil(connection, Arc::clone(&recorder)));
                }
                Ok(())
            })
            .await?;
            for connection in connected {
                connection.close();
            }
            self.check("R3 drain", &drained);
            self.report.add(
                "R3",
                &case,
                "stored durably (senders answered)",
                stored.rate,
                Unit::PerSecond,
                Some(r1.rate),
            );
            self.per_flush("R3", &case, &stored);
            self.report.add(
                "R3",
                &case,
                "relay CPU per stored message",
                stored.cpu_per_message_us(),
                Unit::Micros,
                Some(r1_cpu),
            );
            self.report.add(
                "R3",
                &case,
                "drained on reconnect (delivered and acknowledged)",
                drained.rate,
                Unit::PerSecond,
                Some(r1.rate),
            );
            baselines.push((size, r1));
        }
        drop(forwarder);
        stop(relay);
        Ok(baselines)
    }

    /// R4: one message to 1, 10, 100, 1000 recipients.
    async fn fanout(&mut self, r1: &[(usize, Outcome)]) -> Result<(), String> {
        const SIZE: usize = 1024;
        let most = self.args.fanout.iter().copied().max().unwrap_or(1);
        let members = self.members("load-m", most);
        let senders = self.members("load-f", self.args.pairs);
        let relay = self.start_relay("data-fanout")?;
        eprintln!("loadgen: R4, registering {most} recipients");
        let (endpoint, pin, addr) = (
            self.endpoint.clone(),
            self.deployment.pin,
            relay.process.addr,
        );
        let (registered, _) = load::connect_many(most, LOGIN_CONCURRENCY, |i| {
            let (endpoint, member) = (endpoint.clone(), Arc::clone(&members[i]));
            async move { login(&endpoint, addr, pin, &member).await }
        })
        .await?;
        for connection in registered {
            connection.close();
        }
        let mut connections = Vec::new();
        for sender in &senders {
            connections.push(Arc::new(self.login(&relay, sender).await?));
        }
        let baseline = r1
            .iter()
            .find(|(size, _)| *size == SIZE)
            .or(r1.first())
            .map(|(_, o)| (o.rate, o.cpu_per_message_us()));
        let mut one: Option<f64> = None;
        let mut sent = 0u64;
        let mut references = 0u64;
        for &n in &self.args.fanout.clone() {
            let to = Arc::new(
                members
                    .iter()
                    .take(n)
                    .map(|m| m.user().clone())
                    .collect::<Vec<_>>(),
            );
            let fan: Vec<Sender> = connections
                .iter()
                .map(|connection| Sender::Vigil {
                    connection: Arc::clone(connection),
                    to: Arc::clone(&to),
                })
                .collect();
            eprintln!("loadgen: R4 to {n}");
            let outcome = self
                .measure(
                    "R4",
                    &relay,
                    Phase {
                        senders: &fan,
                        size: SIZE,
                        load: Load::Closed {
                            window: self.args.window,
                        },
                        duration: self.args.phase(),
                        server: relay.pid(),
                        deliveries: None,
                    },
                )
                .await;
            sent += outcome.sent;
            references += outcome.sent * n as u64;
            let case = format!("1 KiB to {n}");
            let cost = outcome.cpu_per_message_us();
            self.report.add(
                "R4",
                &case,
                "messages accepted",
                outcome.rate,
                Unit::PerSecond,
                baseline.map(|b| b.0),
            );
            self.report.add(
                "R4",
                &case,
                "relay CPU per message",
                cost,
                Unit::Micros,
                baseline.map(|b| b.1),
            );
            if n == 1 {
                one = Some(cost);
            } else if let Some(reference) = one {
                #[expect(clippy::cast_precision_loss, reason = "a ratio")]
                let extra = (cost - reference) / (n - 1) as f64;
                self.report.add(
                    "R4",
                    &case,
                    "relay CPU per extra recipient, % of one message's",
                    100.0 * extra / reference,
                    Unit::Percent,
                    None,
                );
            }
        }
        stop(relay);
        // What the relay stored: payloads once, a reference per recipient.
        let store = vigil_server::store::Store::open(&self.data_dir("data-fanout"))
            .map_err(|e| e.to_string())?;
        let footprint = store.footprint().map_err(|e| e.to_string())?;
        let bytes = |tree: &str| {
            footprint
                .iter()
                .filter(|(name, _, _)| *name == tree)
                .map(|(_, _, b)| *b)
                .sum::<u64>()
        };
        if sent > 0 && references > 0 {
            #[expect(clippy::cast_precision_loss, reason = "a ratio")]
            let (per_message, per_reference) = (
                (bytes("blobs") + bytes("refs") + bytes("dedup")) as f64 / sent as f64,
                bytes("mailboxes") as f64 / references as f64,
            );
            self.report.add(
                "R4",
                "1 KiB, all fan-outs",
                "bytes stored per message (payload once, refcount, resend id)",
                per_message,
                Unit::Bytes,
                None,
            );
            self.report.add(
                "R4",
                "1 KiB, all fan-outs",
                "bytes stored per recipient (mailbox reference)",
                per_reference,
                Unit::Bytes,
                None,
            );
        }
        Ok(())
    }

    /// R5: idle logged-in connections, against the same count of raw QUIC connections.
    async fn connections(&mut self) -> Result<(), String> {
        let mut counts = self.args.connections.clone();
        counts.sort_unstable();
        let most = counts.last().copied().unwrap_or(0);
        if most == 0 {
            return Ok(());
        }
        eprintln!("loadgen: R5, issuing {most} certificates");
        let members = self.members("load-i", most);
        let raw = self.idle(&counts, None).await?;
        let ours = self.idle(&counts, Some(&members)).await?;
        for ((n, raw), (_, ours)) in raw.iter().zip(&ours) {
            let case = format!("{n} connections");
            self.report.add(
                "R5",
                &case,
                "relay memory per connection",
                ours.kib_per_connection,
                Unit::KiB,
                Some(raw.kib_per_connection),
            );
            self.report.add(
                "R5",
                &case,
                "logins per second",
                ours.logins_per_second,
                Unit::PerSecond,
                Some(raw.logins_per_second),
            );
            self.report.add(
                "R5",
                &case,
                "relay CPU per login",
                ours.cpu_per_login_us,
                Unit::Micros,
                Some(raw.cpu_per_login_us),
            );
            self.report.add(
                "R5",
                &case,
                "relay CPU while idle, % of a core",
                ours.idle_cpu_percent,
                Unit::Percent,
                Some(raw.idle_cpu_percent),
            );
        }
        Ok(())
    }

    /// Connects up to each count and measures; `members` for the relay, `None` for the
    /// forwarder.
    async fn idle(
        &mut self,
        counts: &[usize],
        members: Option<&[Arc<LocalIdentity>]>,
    ) -> Result<Vec<(usize, Idle)>, String> {
        let server = match members {
            Some(_) => self.start_relay("data-idle")?,
            None => self.start_forwarder()?,
        };
        let name = if members.is_some() {
            "relay"
        } else {
            "forwarder"
        };
        tokio::time::sleep(SETTLE).await;
        let rss_before = server.process.rss_kib().unwrap_or(0);
        let (pin, addr) = (self.deployment.pin, server.process.addr);
        let endpoint = endpoint()?;
        let mut held: Vec<Held> = Vec::new();
        let mut out = Vec::new();
        for &count in counts {
            let from = held.len();
            let adding = count.saturating_sub(from);
            eprintln!("loadgen: R5, {name} to {count} connections");
            let cpu_before = vigil_tests::cpu_seconds(server.pid()).unwrap_or(0.0);
            let (added, took) = load::connect_many(adding, LOGIN_CONCURRENCY, |i| {
                let endpoint = endpoint.clone();
                let member = members.and_then(|m| m.get(from + i)).cloned();
                async move {
                    match member {
                        Some(member) => login(&endpoint, addr, pin, &member).await.map(Held::Vigil),
                        None => {
                            let id = u32::try_from(from + i).map_err(|e| e.to_string())?;
                            forward::connect(&endpoint, addr, pin, id)
                                .await
                                .map(Held::Raw)
                        }
                    }
                }
            })
            .await?;
            let cpu_logins = vigil_tests::cpu_seconds(server.pid()).unwrap_or(0.0) - cpu_before;
            held.extend(added);
            tokio::time::sleep(SETTLE).await;
            let rss = server.process.rss_kib().unwrap_or(0);
            let idle_start = vigil_tests::cpu_seconds(server.pid()).unwrap_or(0.0);
            tokio::time::sleep(Duration::from_secs_f64(self.args.idle_seconds)).await;
            let idle_cpu = vigil_tests::cpu_seconds(server.pid()).unwrap_or(0.0) - idle_start;
            #[expect(clippy::cast_precision_loss, reason = "ratios")]
            let idle = Idle {
                kib_per_connection: rss.saturating_sub(rss_before) as f64 / count as f64,
                logins_per_second: adding as f64 / took.as_secs_f64(),
                cpu_per_login_us: cpu_logins * 1e6 / adding.max(1) as f64,
                idle_cpu_percent: 100.0 * idle_cpu / self.args.idle_seconds,
            };
            out.push((count, idle));
        }
        if held.len() != counts.last().copied().unwrap_or(0) {
            self.report.problems.push(format!(
                "R5: {} of the {name}'s connections held",
                held.len()
            ));
        }
        for connection in &held {
            connection.close();
        }
        endpoint.close(0u32.into(), b"done");
        stop(server);
        Ok(out)
    }
}

/// A connection held open for R5.
enum Held {
    Raw(quinn::Connection),
    Vigil(RelayConnection),
}

impl Held {
    fn close(&self) {
        match self {
            Self::Raw(connection) => connection.close(0u32.into(), b"done"),
            Self::Vigil(connection) => connection.close(),
        }
    }
}

/// What R5 measured at one count.
#[derive(Clone, Copy, Debug)]
struct Idle {
    kib_per_connection: f64,
    logins_per_second: f64,
    cpu_per_login_us: f64,
    idle_cpu_percent: f64,
}

/// Stops a server gracefully (SIGTERM: the relay flushes and exits).
fn stop(mut server: Server) {
    server.process.signal("TERM");
}

async fn login(
    endpoint: &quinn::Endpoint,
    addr: std::net::SocketAddr,
    pin: [u8; 32],
    identity: &LocalIdentity,
) -> Result<RelayConnection, String> {
    let device = vigil_tests::device_of(identity);
    let (connection, response) =
        RelayConnection::connect(endpoint, addr, "localhost", pin, identity, &device)
            .await
            .map_err(|e| e.to_string())?;
    match response {
        Response::LoggedIn { .. } => Ok(connection),
        other => Err(format!("login of {} refused: {other:?}", identity.user())),
    }
}

fn size_name(size: usize) -> String {
    if size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// The CPU model and count, for the record.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::fs::read_to_string("/proc/cpuinfo").map_or(0, |info| {
        info.lines().filter(|l| l.starts_with("processor")).count()
    });
    format!("{cores} x {model}")
}
