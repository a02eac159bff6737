//! Reloading the relay's trust while it runs, on SIGHUP or when `roots/` or `revocations/`
//! changes (housekeeping notices it): the store is rebuilt with the loader the relay starts
//! with ([`crate::trust::load_roots`]), the newest revocation list of each organisation stays
//! in force (a list older than one seen before is never applied, even if it is the file left
//! in the directory), and the connections of members whose organisation is no longer trusted,
//! or whose certificate the new limits or lists refuse, are closed.
//!
//! A `roots/` that no longer loads (a damaged file, a second limits file) keeps the trust in
//! force: an error naming the file, and `vigil_relay_reload_failures_total{dir="roots"}`.
//! Revocation lists are still read against the roots in force.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError};

use tracing::{error, info};
use vigil_protocol::relay::{Push, encode_frame};
use vigil_protocol::{OrgId, TrustList, TrustStore, UnixTime};

use crate::config::ConfigError;
use crate::live::Notice;
use crate::revocation::{Parts, enforce, lists_in_force, remember};

/// The relay's two trust directories.
#[derive(Clone, Debug)]
pub(crate) struct TrustDirs {
    pub(crate) roots: PathBuf,
    pub(crate) revocations: PathBuf,
}

/// What a reload changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reloaded {
    /// Organisations trusted now that were not before.
    pub added: Vec<OrgId>,
    /// Organisations no longer trusted.
    pub removed: Vec<OrgId>,
    /// Organisations still trusted whose key or limits changed.
    pub changed: Vec<OrgId>,
    /// Whether a newer revocation list was put in force.
    pub revocations: bool,
    /// Files of the revocations directory skipped (each logged with its path).
    pub skipped: usize,
    /// Live connections closed because their certificates are refused now.
    pub closed: usize,
}

impl Reloaded {
    /// Whether anything about trust changed.
    #[must_use]
    pub fn any(&self) -> bool {
        !(self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty())
            || self.revocations
    }
}

/// Re-reads both directories and puts what they hold in force. Returns what changed.
///
/// # Errors
///
/// [`ConfigError`] when `roots/` does not load or `revocations/` cannot be read: the trust in
/// force is kept for that directory (what the other one changed is in force, and enforced).
pub(crate) fn reload(
    parts: Parts<'_>,
    dirs: &TrustDirs,
    now: UnixTime,
) -> Result<Reloaded, ConfigError> {
    let roots = crate::trust::load_roots(&dirs.roots);
    let mut failure = None;
    let mut guard = parts.trust.write().unwrap_or_else(PoisonError::into_inner);
    let old: &TrustStore = &guard;
    let mut new = match roots {
        Ok(mut new) => {
            // The newest lists stay in force (those of organisations still trusted).
            for list in lists_in_force(old) {
                let _ = new.update_revocations(list);
            }
            new
        }
        Err(e) => {
            error!(error = %e, "roots/ does not load: the trust in force is kept; fix the file and reload");
            parts.metrics.reload_failed("roots");
            failure = Some(e);
            old.clone()
        }
    };
    let skipped = match crate::trust::update_revocations(&mut new, &dirs.revocations) {
        Ok(skipped) => skipped.len(),
        Err(e) => {
            error!(error = %e, "revocations/ cannot be read: the lists in force are kept");
            parts.metrics.reload_failed("revocations");
            failure.get_or_insert(e);
            0
        }
    };
    parts.metrics.set_skipped(skipped);
    let mut reloaded = compare(old, &new);
    reloaded.skipped = skipped;
    if reloaded.revocations {
        remember(parts.directory, &new);
    }
    let lists = lists_in_force(&new);
    let trust_lists = changed_trust_lists(old, &new);
    *guard = new;
    drop(guard);
    for list in trust_lists {
        // Each organisation's members get their own list, and nobody else's.
        let org = list.org().clone();
        info!(%org, version = list.version(), "trust list changed; pushed to its members");
        let push = Push::TrustLists { lists: vec![list] };
        let frame: Arc<[u8]> = encode_frame(&push).into();
        parts.live.broadcast_to_org(&org, &Notice::Frame(frame));
    }
    if reloaded.any() {
        reloaded.closed = enforce(parts, now);
        log(&reloaded);
    }
    if reloaded.revocations {
        let frame: Arc<[u8]> = encode_frame(&Push::Revocations { lists }).into();
        parts.live.broadcast(&Notice::Frame(frame));
    }
    failure.map_or(Ok(reloaded), Err)
}

/// The trust lists `new` holds that `old` did not (a newer version, or a first one).
fn changed_trust_lists(old: &TrustStore, new: &TrustStore) -> Vec<TrustList> {
    new.trust_lists()
        .filter(|list| old.trust_list(list.org()) != Some(*list))
        .cloned()
        .collect()
}

/// What differs from `old` to `new`.
fn compare(old: &TrustStore, new: &TrustStore) -> Reloaded {
    let orgs = |t: &TrustStore| -> BTreeSet<OrgId> { t.roots().map(|r| r.org().clone()).collect() };
    let (before, after) = (orgs(old), orgs(new));
    let changed = before
        .intersection(&after)
        .filter(|org| {
            old.root(org).map(|r| r.key()) != new.root(org).map(|r| r.key())
                || old.limits(org) != new.limits(org)
        })
        .cloned()
        .collect();
    Reloaded {
        added: after.difference(&before).cloned().collect(),
        removed: before.difference(&after).cloned().collect(),
        changed,
        revocations: lists_in_force(old) != lists_in_force(new),
        skipped: 0,
        closed: 0,
    }
}

fn log(reloaded: &Reloaded) {
    let names = |orgs: &[OrgId]| {
        orgs.iter()
            .map(OrgId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    info!(
        added = %names(&reloaded.added),
        removed = %names(&reloaded.removed),
        changed = %names(&reloaded.changed),
        revocations = reloaded.revocations,
        closed = reloaded.closed,
        "trust reloaded"
    );
}
