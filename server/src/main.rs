//! `vigil-relay --config RELAYDIR/relay.toml`: run the relay (or check its configuration, or
//! back it up). The command line is [`vigil_server::cli::Cli`].

use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser as _;
use tracing::info;
use vigil_server::cli::{Cli, Command, LogFormat};
use vigil_server::notify::{self, notify};

#[expect(clippy::print_stderr, reason = "a command-line front end")]
fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let Some(path) = cli.config.as_deref() else {
        eprintln!("vigil-relay: --config RELAYDIR/relay.toml is required");
        return ExitCode::from(2);
    };
    let config = match vigil_server::Config::load(path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("vigil-relay: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Backup { to }) = &cli.command {
        return backup(&config, to);
    }
    if cli.check_config {
        return check_config(path, &config);
    }
    run(&config)
}

/// Logs to standard error: JSON lines, or plain text (colour only at a terminal; no
/// timestamps when the journal, which stamps every line, reads it).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => {
            let builder = builder.with_ansi(std::io::stderr().is_terminal());
            if std::env::var_os("JOURNAL_STREAM").is_some() {
                builder.without_time().init();
            } else {
                builder.init();
            }
        }
    }
}

/// Runs the relay until SIGINT or SIGTERM.
#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a command-line front end"
)]
fn run(config: &vigil_server::Config) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("vigil-relay: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        let relay = match vigil_server::Relay::start(config).await {
            Ok(relay) => relay,
            Err(e) => {
                eprintln!("vigil-relay: {e}");
                return ExitCode::from(2);
            }
        };
        let address = relay.local_addr().map_or_else(|_| config.listen.to_string(), |a| a.to_string());
        info!(%address, host = %config.host, pin = %config.pin, data = %config.data_dir.display(), "vigil-relay listening");
        println!("vigil-relay listening on {address} (pin {})", config.pin);
        if let Some(metrics) = relay.metrics_addr() {
            info!(%metrics, "metrics served");
        }
        notify(notify::READY);
        wait_for_signal(&relay).await;
        info!("shutting down");
        notify(notify::STOPPING);
        relay.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// `backup --to DIR`: through the running relay, or directly when none runs.
#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a command-line front end"
)]
fn backup(config: &vigil_server::Config, to: &Path) -> ExitCode {
    match vigil_server::admin::backup(&config.data_dir, to) {
        Ok(done) => {
            println!(
                "backed up {} into {}: {} records, {} messages stored up to now ({})",
                config.data_dir.display(),
                to.display(),
                done.records,
                done.stored,
                if done.online {
                    "from the running relay"
                } else {
                    "no relay was running"
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "vigil-relay: backup into {} failed: {e}; remove what was written there",
                to.display()
            );
            ExitCode::from(2)
        }
    }
}

/// `--check-config`: the report on standard output (skipped revocation files as warnings on
/// standard error), or the first problem and exit code 2.
#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a command-line front end"
)]
fn check_config(path: &Path, config: &vigil_server::Config) -> ExitCode {
    match vigil_server::check::check(config) {
        Ok(checked) => {
            for skipped in &checked.skipped {
                eprintln!("vigil-relay: warning: skipped at start: {}", skipped.error);
            }
            println!(
                "{}: ok (listen {}, host {}, pin {}, roots {})",
                path.display(),
                config.listen,
                config.host,
                checked.pin,
                checked.roots.join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vigil-relay: {e}");
            ExitCode::from(2)
        }
    }
}

/// Waits for SIGINT or SIGTERM; on SIGHUP re-reads roots/ and revocations/ (telling systemd
/// it reloads) and keeps waiting.
async fn wait_for_signal(relay: &vigil_server::Relay) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut hangup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = terminate.recv() => return,
            _ = hangup.recv() => {
                notify(&notify::reloading());
                match relay.reload() {
                    Ok(reloaded) => info!(changed = reloaded.any(), skipped = reloaded.skipped, "trust reloaded (SIGHUP)"),
                    Err(e) => tracing::warn!(error = %e, "trust not fully reloaded (SIGHUP)"),
                }
                notify(notify::READY);
            }
        }
    }
}
