//! `vigil-relay --config RELAYDIR/relay.toml`: run the relay (or check its configuration).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tracing::info;

/// Vigil relay: authenticates members and stores and forwards ciphertext over QUIC.
///
/// Logs go to standard error; set RUST_LOG (e.g. RUST_LOG=debug) for more. SIGINT or SIGTERM
/// shuts down gracefully. Exit codes: 0 ok, 2 configuration or I/O error.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// The relay configuration written by `vigil-keytool relay init`.
    ///
    /// Example: vigil-relay --config /srv/vigil/relay/relay.toml
    #[arg(long, value_name = "RELAYDIR/relay.toml")]
    config: PathBuf,

    /// Check the configuration, certificate, key, roots and revocation lists, then exit.
    #[arg(long)]
    check_config: bool,
}

#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a command-line front end"
)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal: a log file or journal gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = match vigil_server::Config::load(&cli.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("vigil-relay: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.check_config {
        return check_config(&cli.config, &config);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("vigil-relay: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        let relay = match vigil_server::Relay::start(&config).await {
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
        wait_for_signal(&relay).await;
        info!("shutting down");
        relay.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// `--check-config`: the report on standard output (skipped revocation files as warnings on
/// standard error), or the first problem and exit code 2.
#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a command-line front end"
)]
fn check_config(path: &std::path::Path, config: &vigil_server::Config) -> ExitCode {
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

/// Waits for SIGINT or SIGTERM; on SIGHUP re-reads roots/ and revocations/ and keeps waiting.
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
            _ = hangup.recv() => match relay.reload() {
                Ok(reloaded) => info!(changed = reloaded.any(), skipped = reloaded.skipped, "trust reloaded (SIGHUP)"),
                Err(e) => tracing::warn!(error = %e, "trust not fully reloaded (SIGHUP)"),
            },
        }
    }
}
