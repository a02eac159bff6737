//! Putting an organisation's trust list in force in a [`TrustStore`]: the list's partners become
//! exactly the partners trusted, with their limits, and a partner whose root changed (a key
//! rotation the organisation signed) is trusted under its new root only.

use std::collections::BTreeSet;

use super::{
    MAX_PARTNERS, MemberCertificate, OrgRoot, PartnerLimits, RevocationList, TrustList,
    TrustListError, TrustStore,
};
use crate::ids::OrgId;
use crate::time::UnixTime;

/// A partner's root that a trust list removed or replaced: certificates it signed still verify
/// as of a time before `until` (a channel state signed while the partner was trusted), never
/// now. At most [`MAX_FORMER`] are kept, the oldest dropped first.
/// Former partner roots and limits kept: far more changes than a device sees in its life.
pub const MAX_FORMER: usize = 4 * MAX_PARTNERS;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FormerPartner {
    pub(super) root: OrgRoot,
    /// `None`: the own organisation's earlier root, without limit.
    pub(super) limits: Option<PartnerLimits>,
    pub(super) revocations: Option<RevocationList>,
    /// When the list that removed or replaced it was issued.
    pub(super) until: UnixTime,
}

/// What putting a trust list in force changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustChange {
    /// The list's version now in force.
    pub version: u64,
    /// Partners trusted from now on.
    pub added: Vec<OrgId>,
    /// Partners no longer trusted.
    pub removed: Vec<OrgId>,
    /// Partners trusted under a new root key.
    pub rotated: Vec<OrgId>,
    /// Partners whose limits changed.
    pub limits_changed: Vec<OrgId>,
}

impl TrustChange {
    /// Whether whom we trust, or within which limits, changed.
    #[must_use]
    pub fn any(&self) -> bool {
        !(self.added.is_empty()
            && self.removed.is_empty()
            && self.rotated.is_empty()
            && self.limits_changed.is_empty())
    }
}

/// What offering a trust list did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustListUpdate {
    /// The list is newer than what we had and is now in force; what it changed.
    Applied(TrustChange),
    /// We already had exactly this list.
    Unchanged,
}

impl TrustStore {
    /// The newest verified trust list of `org`.
    #[must_use]
    pub fn trust_list(&self, org: &OrgId) -> Option<&TrustList> {
        self.trust_lists.get(org)
    }

    /// Every trust list held, one per organisation.
    pub fn trust_lists(&self) -> impl Iterator<Item = &TrustList> {
        self.trust_lists.values()
    }

    /// Verifies `list` against its organisation's trusted root and keeps it if it is newer
    /// than the one held, without changing whom this store trusts (a relay keeps the lists of
    /// every organisation it serves, to hand them to their members).
    ///
    /// # Errors
    ///
    /// [`TrustListError`]: unknown organisation, bad signature or partner, an older version,
    /// or a different list with the version we hold (equivocation).
    pub fn keep_trust_list(&mut self, list: TrustList) -> Result<bool, TrustListError> {
        let org = list.org().clone();
        let root = self
            .roots
            .get(&org)
            .ok_or_else(|| TrustListError::UnknownOrg { org: org.clone() })?;
        list.verify(root)?;
        if let Some(current) = self.trust_lists.get(&org) {
            let (have, offered) = (current.version(), list.version());
            if offered < have {
                return Err(TrustListError::Stale {
                    org,
                    current: have,
                    offered,
                });
            }
            if offered == have {
                return if current == &list {
                    Ok(false)
                } else {
                    Err(TrustListError::Equivocation { org, version: have })
                };
            }
        }
        self.trust_lists.insert(org, list);
        Ok(true)
    }

    /// For a member of `own`: verifies `list` (which must be `own`'s, signed by its root) and,
    /// if it is newer than the one in force, makes its partners exactly the partners trusted.
    /// A partner the list no longer names loses its root, limits, revocation list and trust
    /// list; a partner named with another root than the one held is trusted under the new root
    /// only (its old revocation list, signed by the old key, is dropped).
    ///
    /// # Errors
    ///
    /// As [`Self::keep_trust_list`], and [`TrustListError::UnknownOrg`] for a list of another
    /// organisation than `own`.
    pub fn apply_trust_list(
        &mut self,
        list: TrustList,
        own: &OrgId,
    ) -> Result<TrustListUpdate, TrustListError> {
        if list.org() != own {
            return Err(TrustListError::UnknownOrg {
                org: list.org().clone(),
            });
        }
        if !self.keep_trust_list(list.clone())? {
            return Ok(TrustListUpdate::Unchanged);
        }
        self.remember_predecessors(&list);
        Ok(TrustListUpdate::Applied(self.trust_partners_of(&list, own)))
    }

    /// Makes the partners of `list` (already verified) exactly the partners trusted.
    fn trust_partners_of(&mut self, list: &TrustList, own: &OrgId) -> TrustChange {
        let mut change = TrustChange {
            version: list.version(),
            ..TrustChange::default()
        };
        let named: BTreeSet<&OrgId> = list.body().partners.iter().map(|p| p.root.org()).collect();
        let gone: Vec<OrgId> = self
            .roots
            .keys()
            .filter(|org| *org != own && !named.contains(org))
            .cloned()
            .collect();
        let until = list.body().issued_at;
        for org in gone {
            self.forget(&org, until);
            change.removed.push(org);
        }
        for partner in &list.body().partners {
            let org = partner.root.org().clone();
            match self.roots.get(&org) {
                None => change.added.push(org.clone()),
                Some(held) if held.key() != partner.root.key() => {
                    self.forget(&org, until);
                    change.rotated.push(org.clone());
                }
                Some(held) if self.limits.get(&org) != Some(&partner.limits) => {
                    if let Some(limits) = self.limits.get(&org).cloned() {
                        self.remember_former(held.clone(), Some(limits), None, until);
                    }
                    change.limits_changed.push(org.clone());
                }
                Some(_) => {}
            }
            self.roots.insert(org.clone(), partner.root.clone());
            self.limits.insert(org, partner.limits.clone());
        }
        change
    }

    /// Stops trusting `org` now; its root stays trusted for what it signed before `until`.
    fn forget(&mut self, org: &OrgId, until: UnixTime) {
        let revocations = self.revocations.remove(org);
        self.trust_lists.remove(org);
        if let (Some(root), Some(limits)) = (self.roots.remove(org), self.limits.remove(org)) {
            self.remember_former(root, Some(limits), revocations, until);
        }
    }

    /// The own organisation's earlier roots the list names, trusted (without limit) for what
    /// they signed before they were replaced, once each.
    fn remember_predecessors(&mut self, list: &TrustList) {
        for predecessor in &list.body().predecessors {
            let known = self
                .former
                .iter()
                .any(|f| f.root.key() == predecessor.root.key());
            if !known {
                self.remember_former(predecessor.root.clone(), None, None, predecessor.until);
            }
        }
    }

    /// Keeps `root` trusted within `limits` for what was signed before `until`.
    fn remember_former(
        &mut self,
        root: OrgRoot,
        limits: Option<PartnerLimits>,
        revocations: Option<RevocationList>,
        until: UnixTime,
    ) {
        if self.former.len() >= MAX_FORMER {
            self.former.remove(0);
        }
        self.former.push(FormerPartner {
            root,
            limits,
            revocations,
            until,
        });
    }

    /// The revocation lists of former partners' roots, as they were when each was removed (to
    /// keep with the lists in force).
    pub fn former_revocations(&self) -> impl Iterator<Item = &RevocationList> {
        self.former.iter().filter_map(|f| f.revocations.as_ref())
    }

    /// Whether `org` was trusted as a partner and is no longer (a list removed it).
    #[must_use]
    pub fn was_removed(&self, org: &OrgId) -> bool {
        !self.roots.contains_key(org) && self.former.iter().any(|f| f.root.org() == org)
    }

    /// The former root of `certificate`'s organisation that signed it and admitted it at `at`
    /// (its limits then; the revocation list in force when the root is still the current one,
    /// else the one it had when it was removed).
    pub(super) fn former_root(
        &self,
        certificate: &MemberCertificate,
        at: UnixTime,
    ) -> Option<crate::keys::OrgRootPublicKey> {
        let body = certificate.body();
        let current = self.roots.get(&body.org).map(OrgRoot::key);
        self.former
            .iter()
            .rev()
            .filter(|f| f.root.org() == &body.org && at < f.until)
            .find(|f| {
                // The own organisation's earlier roots: its list in force carries their entries.
                let revocations = if current == Some(f.root.key()) || f.limits.is_none() {
                    self.revocations.get(&body.org)
                } else {
                    f.revocations.as_ref()
                };
                certificate.verify_signature(f.root.key()).is_ok()
                    && super::trust::check_status(body, at, false, f.limits.as_ref(), revocations)
                        .is_ok()
            })
            .map(|f| *f.root.key())
    }
}
