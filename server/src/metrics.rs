//! What an operator reads: counters and gauges in the Prometheus text format, served on a
//! localhost port when `metrics` is set in `relay.toml`, at `/metrics` only (any other path
//! is a 404). `docs/alerts.md` has example alert rules on them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use std::path::Path;

use vigil_protocol::{TrustStore, UnixTime};

use crate::store::MailboxStore;

/// The relay's counters, kept by the connection tasks and read by [`Metrics::render`].
#[derive(Debug)]
pub struct Metrics {
    /// Connections logged in now.
    pub connections: AtomicU64,
    /// Successful logins since start.
    pub logins: AtomicU64,
    /// Messages accepted (stored and acknowledged to their sender).
    pub messages_in: AtomicU64,
    /// Messages pushed to recipients.
    pub messages_out: AtomicU64,
    refusals: Mutex<BTreeMap<String, u64>>,
    /// Reloads of `roots/` or `revocations/` that failed, by directory.
    reload_failures: Mutex<BTreeMap<&'static str, u64>>,
    /// Files of `revocations/` the last load skipped.
    skipped: AtomicU64,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            connections: AtomicU64::default(),
            logins: AtomicU64::default(),
            messages_in: AtomicU64::default(),
            messages_out: AtomicU64::default(),
            refusals: Mutex::default(),
            reload_failures: Mutex::default(),
            skipped: AtomicU64::default(),
            started: Instant::now(),
        }
    }
}

impl Metrics {
    /// Counts a reload of `dir` (`roots` or `revocations`) that failed.
    pub fn reload_failed(&self, dir: &'static str) {
        let mut failures = self
            .reload_failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *failures.entry(dir).or_default() += 1;
    }

    /// Records how many files of `revocations/` the last load skipped.
    pub fn set_skipped(&self, files: usize) {
        self.skipped.store(files as u64, Ordering::Relaxed);
    }

    /// Counts a refusal by its reason.
    pub fn refused(&self, reason: &str) {
        let mut refusals = self
            .refusals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *refusals.entry(reason.to_owned()).or_default() += 1;
    }

    /// The Prometheus text exposition: the counters, what the store holds, and refusals by
    /// reason.
    #[must_use]
    pub fn render(&self, store: &dyn MailboxStore) -> String {
        let mut out = String::new();
        self.render_counters(&mut out);
        render_store(&mut out, store);
        self.render_refusals(&mut out);
        out
    }

    /// What [`Self::render`] gives, and the relay's version and uptime, the trust in force
    /// (roots, each revocation list's version and age at `now`), reload failures, skipped
    /// files and the bytes of `data_dir`.
    #[must_use]
    pub fn render_all(
        &self,
        store: &dyn MailboxStore,
        trust: &TrustStore,
        data_dir: &Path,
        now: UnixTime,
    ) -> String {
        let mut out = self.render(store);
        let _ = writeln!(
            out,
            "# HELP vigil_relay_info The relay's version.\n# TYPE vigil_relay_info gauge\nvigil_relay_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        metric(
            &mut out,
            "uptime_seconds",
            "Seconds since the relay started.",
            "gauge",
            self.started.elapsed().as_secs(),
        );
        render_trust(&mut out, trust, now);
        labelled(
            &mut out,
            "reload_failures_total",
            "Reloads of roots/ or revocations/ that failed (the trust in force was kept).",
            "counter",
            "dir",
            &self.locked_failures(),
        );
        metric(
            &mut out,
            "revocation_files_skipped",
            "Files of revocations/ the last load skipped (each logged with its path).",
            "gauge",
            self.skipped.load(Ordering::Relaxed),
        );
        metric(
            &mut out,
            "data_dir_bytes",
            "Bytes of the files in the data directory.",
            "gauge",
            dir_bytes(data_dir),
        );
        out
    }

    fn locked_failures(&self) -> Vec<(String, u64)> {
        let failures = self
            .reload_failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ["roots", "revocations"]
            .iter()
            .map(|dir| ((*dir).to_owned(), failures.get(dir).copied().unwrap_or(0)))
            .collect()
    }

    fn render_counters(&self, out: &mut String) {
        metric(
            out,
            "connections",
            "Connections logged in now.",
            "gauge",
            self.connections.load(Ordering::Relaxed),
        );
        metric(
            out,
            "logins_total",
            "Successful logins since start.",
            "counter",
            self.logins.load(Ordering::Relaxed),
        );
        metric(
            out,
            "messages_in_total",
            "Messages stored and acknowledged to their senders.",
            "counter",
            self.messages_in.load(Ordering::Relaxed),
        );
        metric(
            out,
            "messages_out_total",
            "Messages pushed to recipients.",
            "counter",
            self.messages_out.load(Ordering::Relaxed),
        );
    }

    fn render_refusals(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP vigil_relay_refusals_total Requests refused, by reason.\n# TYPE vigil_relay_refusals_total counter"
        );
        let refusals = self
            .refusals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (reason, count) in refusals.iter() {
            let _ = writeln!(
                out,
                "vigil_relay_refusals_total{{reason=\"{reason}\"}} {count}"
            );
        }
    }
}

/// The trusted roots, and each revocation list's and trust list's version and age.
fn render_trust(out: &mut String, trust: &TrustStore, now: UnixTime) {
    metric(
        out,
        "trusted_roots",
        "Organisations whose roots the relay trusts.",
        "gauge",
        trust.roots().count() as u64,
    );
    let lists: Vec<_> = trust
        .roots()
        .filter_map(|root| trust.revocations(root.org()))
        .collect();
    let versions: Vec<(String, u64)> = lists
        .iter()
        .map(|l| (l.body().org.to_string(), l.body().version))
        .collect();
    labelled(
        out,
        "revocation_list_version",
        "Version of the revocation list in force, by organisation.",
        "gauge",
        "org",
        &versions,
    );
    let ages: Vec<(String, u64)> = lists
        .iter()
        .map(|l| {
            (
                l.body().org.to_string(),
                now.0.saturating_sub(l.body().issued_at.0),
            )
        })
        .collect();
    labelled(
        out,
        "revocation_list_age_seconds",
        "Seconds since the revocation list in force was issued, by organisation.",
        "gauge",
        "org",
        &ages,
    );
    let trust_lists: Vec<_> = trust.trust_lists().collect();
    let versions: Vec<(String, u64)> = trust_lists
        .iter()
        .map(|l| (l.org().to_string(), l.version()))
        .collect();
    labelled(
        out,
        "trust_list_version",
        "Version of the trust list served to members, by organisation.",
        "gauge",
        "org",
        &versions,
    );
    let ages: Vec<(String, u64)> = trust_lists
        .iter()
        .map(|l| {
            (
                l.org().to_string(),
                now.0.saturating_sub(l.body().issued_at.0),
            )
        })
        .collect();
    labelled(
        out,
        "trust_list_age_seconds",
        "Seconds since the trust list served was signed, by organisation.",
        "gauge",
        "org",
        &ages,
    );
}

/// Bytes of the files under `dir` (the data directory: a few files, one level of subdirectory
/// at most, so read at every scrape).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some(if meta.is_dir() {
                dir_bytes(&e.path())
            } else {
                meta.len()
            })
        })
        .sum()
}

/// One metric with one label: its help, its type, the label's name, and a value per label.
fn labelled(
    out: &mut String,
    name: &str,
    help: &str,
    kind: &str,
    label: &str,
    values: &[(String, u64)],
) {
    let _ = writeln!(
        out,
        "# HELP vigil_relay_{name} {help}\n# TYPE vigil_relay_{name} {kind}"
    );
    for (value_of, value) in values {
        let _ = writeln!(out, "vigil_relay_{name}{{{label}=\"{value_of}\"}} {value}");
    }
}

/// One metric: its help, its type (`gauge` or `counter`) and its value.
fn metric(out: &mut String, name: &str, help: &str, kind: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP vigil_relay_{name} {help}\n# TYPE vigil_relay_{name} {kind}\nvigil_relay_{name} {value}"
    );
}

/// Flushes, and what the mailboxes hold.
fn render_store(out: &mut String, store: &dyn MailboxStore) {
    let (flushes, waits) = store.flush_counts();
    metric(
        out,
        "flushes_total",
        "Flushes of the data directory to disk.",
        "counter",
        flushes,
    );
    metric(
        out,
        "flush_waits_total",
        "Requests answered after a flush (group commit: one flush serves several).",
        "counter",
        waits,
    );
    let (mailboxes, usage) = store.totals();
    metric(
        out,
        "mailboxes_nonempty",
        "Mailboxes holding messages.",
        "gauge",
        mailboxes,
    );
    metric(
        out,
        "mailbox_messages",
        "Messages held in all mailboxes.",
        "gauge",
        usage.messages,
    );
    metric(
        out,
        "mailbox_bytes",
        "Payload bytes held in all mailboxes.",
        "gauge",
        usage.bytes,
    );
}

/// Serves the metrics over HTTP/1.1 to every connection on `listener`: `GET /metrics` (a
/// query string is ignored) gets them, any other request a 404.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: std::sync::Arc<crate::server::Shared>,
) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let metrics = std::sync::Arc::clone(&metrics);
        tokio::spawn(async move {
            let request = read_request(&mut stream).await;
            let response = if is_metrics_request(&request) {
                let body = metrics.render_metrics();
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                let body = "not found: metrics are at /metrics\n";
                format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// Most bytes of a request read (a scrape's request is a few hundred).
const MAX_REQUEST: usize = 8192;

/// A request up to the end of its headers (read in as many pieces as the client sends it in,
/// at most [`MAX_REQUEST`] bytes, within 2 s): reading it whole before answering lets the
/// answer arrive (closing with unread bytes would reset the connection).
async fn read_request(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut request = Vec::new();
    let mut chunk = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => request.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            _ => break,
        }
    }
    request
}

/// Whether `request` starts with `GET /metrics` (then a space or a query string).
fn is_metrics_request(request: &[u8]) -> bool {
    let line = request
        .split(|b| *b == b'\r' || *b == b'\n')
        .next()
        .unwrap_or_default();
    let mut words = line.split(|b| *b == b' ');
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return false;
    };
    let path = target.split(|b| *b == b'?').next().unwrap_or_default();
    method == b"GET" && path == b"/metrics"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SledStore;

    #[test]
    fn every_metric_has_its_help_type_and_value() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let metrics = Metrics::default();
        metrics.logins.fetch_add(2, Ordering::Relaxed);
        metrics.refused("RateLimited");
        metrics.refused("RateLimited");
        let text = metrics.render(&store);
        let lines: Vec<&str> = text.lines().collect();
        for name in [
            "connections",
            "logins_total",
            "messages_in_total",
            "messages_out_total",
            "flushes_total",
            "flush_waits_total",
            "mailboxes_nonempty",
            "mailbox_messages",
            "mailbox_bytes",
            "refusals_total",
        ] {
            let name = format!("vigil_relay_{name}");
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with(&format!("# HELP {name} ")))
            );
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with(&format!("# TYPE {name} ")))
            );
        }
        assert!(lines.contains(&"vigil_relay_logins_total 2"));
        assert!(lines.contains(&"vigil_relay_mailbox_messages 0"));
        assert!(lines.contains(&"vigil_relay_refusals_total{reason=\"RateLimited\"} 2"));
    }
}
