//! What an operator reads: counters and gauges in the Prometheus text format, served on a
//! localhost port when `metrics` is set in `relay.toml`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::store::MailboxStore;

/// The relay's counters, kept by the connection tasks and read by [`Metrics::render`].
#[derive(Debug, Default)]
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
}

impl Metrics {
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

/// Serves [`Metrics::render`] over HTTP/1.1 to every connection on `listener`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: std::sync::Arc<crate::server::Shared>,
) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let metrics = std::sync::Arc::clone(&metrics);
        tokio::spawn(async move {
            let mut request = [0u8; 1024];
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(2), stream.read(&mut request))
                    .await;
            let body = metrics.render_metrics();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
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
