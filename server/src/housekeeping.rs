//! Housekeeping every [`HOUSEKEEPING_EVERY`]: record the stored count; reload the trust when
//! `roots/` or `revocations/` changed (closing the connections of members no longer trusted
//! or revoked, and pushing newer lists to the others); close the connections whose certificates expired since the last
//! round; once every [`DEDUP_PRUNE_EVERY`], forget old client message ids and rate buckets
//! that are full again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{debug, warn};

use crate::revocation::DirectoryWatch;
use crate::server::{Shared, now};
use crate::watermark::Watermark;

/// How often housekeeping runs: the revocations directory is checked for changed lists, and
/// connections whose certificates expired are closed, within this long.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(2);

/// How often old client message ids are forgotten.
const DEDUP_PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Runs housekeeping until `stop` changes.
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    watermark: Watermark,
) {
    let (mut roots, mut revocations) = (DirectoryWatch::default(), DirectoryWatch::default());
    let mut pruned = Instant::now();
    let mut counted = None;
    loop {
        record_stored(&shared, &watermark, &mut counted).await;
        if pruned.elapsed() > DEDUP_PRUNE_EVERY {
            pruned = Instant::now();
            if let Err(e) = shared.mailboxes.prune_dedup(now()).await {
                warn!(error = %e, "cannot prune client message ids");
            }
            shared.rates.prune();
        }
        // Both watches are asked every round, so each remembers what it saw.
        let roots_changed = roots.changed(&shared.dirs.roots);
        if revocations.changed(&shared.dirs.revocations) | roots_changed {
            match crate::reload::reload(shared.revocation_parts(), &shared.dirs, now()) {
                Ok(reloaded) => debug!(changed = reloaded.any(), "trust directories checked"),
                // Logged loudly, and counted, by the reload.
                Err(e) => debug!(error = %e, "trust not reloaded"),
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

/// Records the stored-messages count outside the data directory, when it changed since
/// `counted`: what a later start must find at least. Read, then flush (so what was read is
/// on disk), then record.
async fn record_stored(shared: &Shared, watermark: &Watermark, counted: &mut Option<u64>) {
    if let Ok(stored) = shared.mailboxes.stored_count().await
        && *counted != Some(stored)
        && shared.mailboxes.flush().await.is_ok()
    {
        watermark.write(stored);
        *counted = Some(stored);
    }
}
