//! What the engine logs at the levels a member's log file keeps by default (`info` and above):
//! what happened, never who. The home directory blinds contacts' ids on disk; a log file
//! beside it must not name them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;
use vigil_protocol::UserId;

use crate::net::{genuine_and_tampered, two_members};

/// Everything logged, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn the_default_log_level_names_no_member_and_no_text() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    // The process-wide subscriber (the only one this test binary sets): a thread-local one
    // would miss events whose call sites another test's thread, without a subscriber, has
    // already marked as never wanted. Other tests' events land here too, and must not name
    // anyone either.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    {
        let (mut net, _) = two_members();
        let lead = UserId::new("lead@cert-at").unwrap();
        // Undecryptable deliveries, a tampered message and a real one: warnings are logged.
        net.deliver("officer@cert-at", &lead, &[1, 2, 3]);
        let (payload, tampered) = genuine_and_tampered(&mut net, "the loader's C2 is 203.0.113.77");
        net.deliver("officer@cert-at", &lead, &tampered);
        net.deliver("officer@cert-at", &lead, &payload);
    }
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("undecryptable"),
        "the warnings were logged: {log}"
    );
    for secret in ["lead@cert-at", "officer@cert-at", "203.0.113.77"] {
        assert!(!log.contains(secret), "the log names {secret:?}:\n{log}");
    }
}
