//! Revocation and expiry of members who are already logged in. A login checks the certificate
//! once; after that the relay
//!
//! - re-checks the requester's certificate before it handles each request ([`still_valid`]:
//!   no signature, only root, validity window and the lists in force), so a request handled
//!   between a list change and the close is refused;
//! - closes every live connection whose certificate the lists in force refuse, when they
//!   change and at every housekeeping round (which is how an expired certificate's connection
//!   is closed), with [`CERTIFICATE_REFUSED`];
//! - pushes the new lists to every live connection when they change, so clients learn of a
//!   revocation without asking.
//!
//! The lists in force are remembered in the store ([`remember`]) and put back at start
//! ([`restore`]), so an older file left in the revocations directory never replaces a newer
//! list, even across a restart.

use std::path::Path;
use std::sync::RwLock;
use std::time::SystemTime;

use tracing::{debug, info, warn};
use vigil_protocol::relay::{ErrorCode, RelayError};
use vigil_protocol::{RevocationList, TrustStore, UnixTime, VerifiedCertificate};

use crate::live::Registry;
use crate::metrics::Metrics;
use crate::server::close::CERTIFICATE_REFUSED;
use crate::store::{Directory, StoreError};

/// The relay's state that revocation touches.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Parts<'a> {
    pub(crate) trust: &'a RwLock<TrustStore>,
    pub(crate) directory: &'a dyn Directory,
    pub(crate) live: &'a Registry,
    pub(crate) metrics: &'a Metrics,
}

/// Every revocation list in force, one per organisation that has one.
pub(crate) fn lists_in_force(trust: &TrustStore) -> Vec<RevocationList> {
    trust
        .roots()
        .filter_map(|root| trust.revocations(root.org()).cloned())
        .collect()
}

/// Persists every list in force (flushed with the next write), so that an older file never
/// replaces a newer list, even across a restart.
pub(crate) fn remember(directory: &dyn Directory, trust: &TrustStore) {
    if let Err(e) = directory.remember_revocations(&lists_in_force(trust)) {
        warn!(error = %e, "cannot remember revocation lists");
    }
}

/// Puts the lists remembered before a restart back in force (a list older than the one read
/// from the revocations directory is not applied), then remembers what is in force now.
///
/// # Errors
///
/// [`StoreError`] when the remembered lists cannot be read.
pub(crate) async fn restore(
    directory: &dyn Directory,
    trust: &mut TrustStore,
) -> Result<(), StoreError> {
    for list in directory.revocations().await? {
        if let Err(e) = trust.update_revocations(list) {
            debug!(reason = %e, "remembered revocation list not applied");
        }
    }
    remember(directory, trust);
    Ok(())
}

/// Notices changes to a directory (`roots/` or `revocations/`) between housekeeping rounds:
/// by the directory's own modification time (a file added, removed or renamed), the newest of
/// its files' (a file rewritten in place) and how many there are.
#[derive(Debug, Default)]
pub(crate) struct DirectoryWatch {
    /// What the last round saw (`None`: the directory could not be read, as before the first
    /// round).
    last: Option<Option<Stamp>>,
}

type Stamp = (Option<SystemTime>, Option<SystemTime>, usize);

impl DirectoryWatch {
    /// Whether `dir` changed since the last call (the first call that can read it says yes;
    /// so does one that can no longer read it).
    pub(crate) fn changed(&mut self, dir: &Path) -> bool {
        let stamp = std::fs::read_dir(dir).ok().map(|entries| {
            let times: Vec<SystemTime> = entries
                .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
                .collect();
            let own = std::fs::metadata(dir).ok().and_then(|m| m.modified().ok());
            (own, times.iter().max().copied(), times.len())
        });
        if Some(stamp) == self.last {
            return false;
        }
        self.last = Some(stamp);
        true
    }
}

/// Whether the requester's certificate still stands: the refusal to answer when it was
/// revoked or expired since it logged in (`LoginRefused`: the login no longer stands).
pub(crate) fn still_valid(
    trust: &TrustStore,
    requester: &VerifiedCertificate,
    now: UnixTime,
) -> Result<(), RelayError> {
    trust.recheck(requester, now).map_err(|refusal| RelayError {
        code: ErrorCode::LoginRefused,
        message: format!("{refusal}; this connection is closed"),
    })
}

/// Closes every live connection whose certificate is now refused (revoked, expired, or its
/// root no longer trusted) with [`CERTIFICATE_REFUSED`]. Returns how many were closed.
pub(crate) fn enforce(parts: Parts<'_>, now: UnixTime) -> usize {
    let trust = parts
        .trust
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let closed = parts
        .live
        .close_refused(CERTIFICATE_REFUSED, |c| trust.recheck(c, now));
    drop(trust);
    for (user, refusal) in &closed {
        info!(%user, reason = %refusal, "connection closed: certificate refused");
        parts.metrics.refused("CertificateRefused");
    }
    if closed.is_empty() {
        debug!("every live certificate still valid");
    }
    closed.len()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use rand_core::OsRng;
    use vigil_protocol::cert::RevocationListBody;
    use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair};
    use vigil_protocol::{
        CertificateBody, Clearance, MemberCertificate, OrgRoot, RevokedCertificate,
    };

    use super::*;

    const NOW: UnixTime = UnixTime(1_800_000_000);

    fn certificate(root: &OrgRootKeyPair, serial: u64, not_after: UnixTime) -> MemberCertificate {
        let body = CertificateBody {
            serial,
            org: "CERT-AT".parse().unwrap(),
            user: format!("m{serial}@cert-at").parse().unwrap(),
            display_name: "M".parse().unwrap(),
            roles: Vec::new(),
            clearance: Clearance {
                policy: "EU".parse().unwrap(),
                level: 3,
            },
            identity_key: IdentityKeyPair::generate(&mut OsRng).public(),
            agreement_key: AgreementKeyPair::generate(&mut OsRng).public(),
            not_before: UnixTime(NOW.0 - 3600),
            not_after,
        };
        MemberCertificate::issue(root, body).unwrap()
    }

    /// A request from a member revoked (or expired) after login, handled before the
    /// connection is closed, is refused with `LoginRefused`.
    #[test]
    fn a_request_after_revocation_or_expiry_is_refused_before_the_close() {
        let root = OrgRootKeyPair::generate(&mut OsRng);
        let mut trust = TrustStore::new();
        trust
            .add_root(OrgRoot::create(
                &root,
                "CERT-AT".parse().unwrap(),
                "AT".parse().unwrap(),
                NOW,
            ))
            .unwrap();
        let revoked = certificate(&root, 1, UnixTime(NOW.0 + 86_400));
        let brief = certificate(&root, 2, UnixTime(NOW.0 + 10));
        let revoked = trust.verify_certificate(&revoked, NOW).unwrap();
        let brief = trust.verify_certificate(&brief, NOW).unwrap();
        assert_eq!(still_valid(&trust, &revoked, NOW), Ok(()));
        assert_eq!(still_valid(&trust, &brief, NOW), Ok(()));

        let body = RevocationListBody {
            org: "CERT-AT".parse().unwrap(),
            version: 2,
            issued_at: NOW,
            entries: vec![RevokedCertificate {
                serial: 1,
                user: revoked.body().user.clone(),
                revoked_at: NOW,
                reason: "laptop lost".parse().unwrap(),
            }],
        };
        trust
            .update_revocations(RevocationList::sign(&root, body))
            .unwrap();
        let refusal = still_valid(&trust, &revoked, NOW).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::LoginRefused);
        assert_eq!(still_valid(&trust, &brief, NOW), Ok(()));
        let refusal = still_valid(&trust, &brief, UnixTime(NOW.0 + 10)).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::LoginRefused);
    }
}
