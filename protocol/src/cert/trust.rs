//! The trust store: trusted org roots and their newest revocation lists.

use std::collections::BTreeMap;

use super::{
    CertError, CertificateBody, MemberCertificate, OrgRoot, PartnerLimits, RevocationError,
    RevocationList,
};
use crate::ids::{CountryCode, OrgId};
use crate::time::UnixTime;

/// A certificate that chained to a trusted root, was within its validity window and was not
/// revoked at the time it was checked. Only [`TrustStore::verify_certificate`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCertificate {
    certificate: MemberCertificate,
    /// The root key whose signature was checked.
    root: crate::keys::OrgRootPublicKey,
}

impl VerifiedCertificate {
    /// The verified certificate.
    #[must_use]
    pub fn certificate(&self) -> &MemberCertificate {
        &self.certificate
    }

    /// What it says.
    #[must_use]
    pub fn body(&self) -> &CertificateBody {
        self.certificate.body()
    }
}

/// What applying a revocation list did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationUpdate {
    /// The list is newer than what we had and is now in force.
    Applied,
    /// We already had exactly this list.
    Unchanged,
}

/// The roots a member or relay trusts (its own organisation's and its partners'), the limits
/// of each partner, and the newest verified revocation list of each organisation.
///
/// An organisation without a list has no revoked certificates as far as this store knows;
/// `vigil-keytool org init` issues an empty list so every deployment starts with one. A root
/// added with [`Self::add_root`] has no limit; one added with [`Self::add_partner`] has its
/// [`PartnerLimits`], checked by every verification.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    pub(super) roots: BTreeMap<OrgId, OrgRoot>,
    pub(super) limits: BTreeMap<OrgId, PartnerLimits>,
    pub(super) revocations: BTreeMap<OrgId, RevocationList>,
    /// The newest verified trust list of each organisation (see [`super::TrustList`]).
    pub(super) trust_lists: BTreeMap<OrgId, super::TrustList>,
    /// Partner roots a trust list removed or replaced, each trusted for states signed before
    /// that list (as a revoked certificate is for states signed before its revocation).
    pub(super) former: Vec<super::trusted_partners::FormerPartner>,
}

impl TrustStore {
    /// An empty store that trusts nobody.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `root` without limit: for the own organisation. Adding the same root twice is a
    /// no-op, and so is adding a partner's root again with this function: it never lifts the
    /// limits [`Self::add_partner`] set.
    ///
    /// # Errors
    ///
    /// [`CertError::BadRootSignature`]; [`CertError::RootConflict`] when a different key is
    /// already trusted for the organisation.
    pub fn add_root(&mut self, root: OrgRoot) -> Result<(), CertError> {
        self.insert_root(root).map(drop)
    }

    /// Trusts a partner's `root` for certificates within `limits`. Adding the same root again
    /// replaces its limits.
    ///
    /// # Errors
    ///
    /// As [`Self::add_root`]: [`CertError::BadRootSignature`]; [`CertError::RootConflict`]
    /// when a different key is already trusted for the organisation.
    pub fn add_partner(&mut self, root: OrgRoot, limits: PartnerLimits) -> Result<(), CertError> {
        let org = self.insert_root(root)?;
        self.limits.insert(org, limits);
        Ok(())
    }

    /// Verifies `root` and trusts it unless a different key is trusted for its organisation.
    fn insert_root(&mut self, root: OrgRoot) -> Result<OrgId, CertError> {
        root.verify()?;
        let org = root.org().clone();
        match self.roots.get(&org) {
            Some(known) if known.key() == root.key() => Ok(org),
            Some(_) => Err(CertError::RootConflict { org }),
            None => {
                self.roots.insert(org.clone(), root);
                Ok(org)
            }
        }
    }

    /// The trusted root of `org`.
    #[must_use]
    pub fn root(&self, org: &OrgId) -> Option<&OrgRoot> {
        self.roots.get(org)
    }

    /// The limits of partner `org`; `None` for an organisation trusted without limit (the own
    /// one) and for one not trusted at all.
    #[must_use]
    pub fn limits(&self, org: &OrgId) -> Option<&PartnerLimits> {
        self.limits.get(org)
    }

    /// The country of trusted organisation `org`, from its root.
    #[must_use]
    pub fn country(&self, org: &OrgId) -> Option<&CountryCode> {
        self.roots.get(org).map(OrgRoot::country)
    }

    /// Every trusted root.
    pub fn roots(&self) -> impl Iterator<Item = &OrgRoot> {
        self.roots.values()
    }

    /// The revocation list in force for `org`.
    #[must_use]
    pub fn revocations(&self, org: &OrgId) -> Option<&RevocationList> {
        self.revocations.get(org)
    }

    /// Verifies `list` and puts it in force if it is newer than the one we hold. An older list
    /// never replaces a newer one.
    ///
    /// # Errors
    ///
    /// [`RevocationError`]: unknown organisation, bad signature, an older version, or a
    /// different list with the version we hold (equivocation).
    pub fn update_revocations(
        &mut self,
        list: RevocationList,
    ) -> Result<RevocationUpdate, RevocationError> {
        let org = list.body().org.clone();
        let root = self
            .roots
            .get(&org)
            .ok_or_else(|| RevocationError::UnknownOrg { org: org.clone() })?;
        list.verify(root)?;
        if let Some(current) = self.revocations.get(&org) {
            let (have, offered) = (current.body().version, list.body().version);
            if offered < have {
                return Err(RevocationError::Stale {
                    org,
                    current: have,
                    offered,
                });
            }
            if offered == have {
                return if current == &list {
                    Ok(RevocationUpdate::Unchanged)
                } else {
                    Err(RevocationError::Equivocation { org, version: have })
                };
            }
        }
        self.revocations.insert(org, list);
        Ok(RevocationUpdate::Applied)
    }

    /// Checks `certificate` at time `now`: chain to a trusted root, the root's signature, the
    /// certificate rules, its organisation's partner limits, the validity window, and the
    /// revocation list.
    ///
    /// # Errors
    ///
    /// [`CertError`] naming the first check that failed.
    pub fn verify_certificate(
        &self,
        certificate: &MemberCertificate,
        now: UnixTime,
    ) -> Result<VerifiedCertificate, CertError> {
        self.verify(certificate, now, true)
    }

    /// Checks `certificate` as of time `at` (e.g. when a channel state was signed): as
    /// [`Self::verify_certificate`], except that a revocation counts only from its
    /// `revoked_at` on. A state signed before a member was revoked stays valid for members who
    /// process it later; the revoked member is then removed by a later state.
    ///
    /// # Errors
    ///
    /// [`CertError`] naming the first check that failed.
    pub fn verify_certificate_at(
        &self,
        certificate: &MemberCertificate,
        at: UnixTime,
    ) -> Result<VerifiedCertificate, CertError> {
        self.verify(certificate, at, false)
    }

    fn verify(
        &self,
        certificate: &MemberCertificate,
        now: UnixTime,
        any_revocation: bool,
    ) -> Result<VerifiedCertificate, CertError> {
        let body = certificate.body();
        let current = match self.roots.get(&body.org) {
            Some(root) => certificate
                .verify_signature(root.key())
                .and_then(|()| {
                    let limits = self.limits.get(&body.org);
                    let revocations = self.revocations.get(&body.org);
                    check_status(body, now, any_revocation, limits, revocations)
                })
                .map(|()| *root.key()),
            None => Err(CertError::UntrustedRoot {
                user: body.user.clone(),
                org: body.org.clone(),
            }),
        };
        let root = match current {
            Ok(root) => root,
            // As of a time before a partner was removed, rotated or limited further: the root
            // and limits trusted then.
            Err(refusal) if !any_revocation => self.former_root(certificate, now).ok_or(refusal)?,
            Err(refusal) => return Err(refusal),
        };
        Ok(VerifiedCertificate {
            certificate: certificate.clone(),
            root,
        })
    }

    /// Re-checks a certificate verified earlier for what can change since, without checking its
    /// signature again: its organisation's root is still trusted with the same key and its
    /// limits admit the certificate, `now` is within its validity window, and it is not on the
    /// revocation list in force. For hot paths (a relay checking every recipient of every
    /// message).
    ///
    /// # Errors
    ///
    /// [`CertError`] naming the first check that failed.
    pub fn recheck(&self, verified: &VerifiedCertificate, now: UnixTime) -> Result<(), CertError> {
        let body = verified.body();
        match self.roots.get(&body.org) {
            Some(root) if root.key() == &verified.root => check_status(
                body,
                now,
                true,
                self.limits.get(&body.org),
                self.revocations.get(&body.org),
            ),
            _ => Err(CertError::UntrustedRoot {
                user: body.user.clone(),
                org: body.org.clone(),
            }),
        }
    }
}

/// The partner `limits` of the certificate's organisation, the validity window at `now` and
/// its `revocations` list (every entry when `any_revocation`, else only those revoked at or
/// before `now`).
pub(super) fn check_status(
    body: &CertificateBody,
    now: UnixTime,
    any_revocation: bool,
    limits: Option<&PartnerLimits>,
    revocations: Option<&RevocationList>,
) -> Result<(), CertError> {
    if let Some(limits) = limits {
        limits.check(body)?;
    }
    if now < body.not_before {
        return Err(CertError::NotYetValid {
            user: body.user.clone(),
            not_before: body.not_before,
            now,
        });
    }
    if now >= body.not_after {
        return Err(CertError::Expired {
            user: body.user.clone(),
            not_after: body.not_after,
            now,
        });
    }
    if let Some(entry) = revocations
        .and_then(|l| l.find(body.serial))
        .filter(|entry| any_revocation || entry.revoked_at <= now)
    {
        return Err(CertError::Revoked {
            user: body.user.clone(),
            serial: entry.serial,
            revoked_at: entry.revoked_at,
            reason: entry.reason.as_str().to_owned(),
        });
    }
    Ok(())
}
