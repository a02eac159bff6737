//! Housekeeping every [`HOUSEKEEPING_EVERY`]: record the stored count; reload the revocation
//! lists when their directory changed (closing revoked members' connections and pushing the
//! lists to the others); close the connections whose certificates expired since the last
//! round; once every [`DEDUP_PRUNE_EVERY`], forget old client message ids and rate buckets
//! that are full again.

use std::path::PathBuf;
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

/// Runs housekeeping until `stop` changes; `dir` is the revocations directory.
pub(crate) async fn run(
    dir: PathBuf,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    watermark: Watermark,
) {
    let mut revocations = DirectoryWatch::default();
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
        if revocations.changed(&dir) {
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
