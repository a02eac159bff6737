//! Partner organisations in an organisation directory: `partners/ORG.root.vigil`, the root as
//! the partner handed it over, and `partners/ORG.limits.vigil`, what this organisation accepts
//! from it (the highest clearance and, optionally, the roles), written by `trust add`.
//!
//! The limits file is armoured ([`FileKind::PartnerLimits`]) and holds
//! [`PartnerLimits::to_record`]. It is not signed: it is this organisation's own decision, kept
//! beside its other records. A partner root without a limits file (trusted before limits
//! existed) is trusted only up to [`default_limits`] until `trust add` records limits: fail
//! safe, not open. Bundles carry the limits to devices; the relay this organisation runs gets a
//! copy in its `roots/`.

use std::path::PathBuf;

use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::provisioning::{FileKind, TrustedRoot, armor};
use vigil_protocol::{Clearance, OrgId, OrgRoot, Text, TrustStore};

use super::{OrgDir, read_armored, read_root};
use crate::error::{Damage, Error, Result};
use vigil_common::fs as fsutil;

/// A trusted partner organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub root: OrgRoot,
    /// What this organisation accepts from it.
    pub limits: PartnerLimits,
    /// Whether `limits` were recorded by `trust add`; `false`: no limits file, so
    /// [`default_limits`] apply.
    pub recorded: bool,
}

/// The limits of a partner trusted without `--max-clearance`: the lowest level of the policy
/// (UNCLASSIFIED), any role. Raising them is an explicit decision.
///
/// # Errors
///
/// [`Error::PolicyName`] only if the built-in policy's name were not valid text.
pub fn default_limits() -> Result<PartnerLimits> {
    let policy = ClassificationPolicy::eu();
    let name = Text::new(policy.name()).map_err(Error::PolicyName)?;
    Ok(PartnerLimits::up_to(Clearance {
        policy: name,
        level: 0,
    }))
}

/// The armoured limits file of `org`.
#[must_use]
pub fn limits_file(org: &OrgId, limits: &PartnerLimits) -> String {
    armor(FileKind::PartnerLimits, &limits.to_record(org))
}

/// The file name of `org`'s limits, in `partners/` and in a relay's `roots/`.
#[must_use]
pub fn limits_name(org: &OrgId) -> String {
    format!("{org}.limits.vigil")
}

/// The file name of `org`'s root, in `partners/` and in a relay's `roots/`.
#[must_use]
pub fn root_name(org: &OrgId) -> String {
    format!("{org}.root.vigil")
}

impl OrgDir {
    /// The partners, each with its limits, sorted by file name.
    pub fn partners(&self) -> Result<Vec<Partner>> {
        let dir = self.partners_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".root.vigil"))
            .collect();
        paths.sort();
        let mut partners = Vec::new();
        for path in paths {
            let root = read_root(&path)?;
            let (limits, recorded) = match self.recorded_limits(root.org())? {
                Some(limits) => (limits, true),
                None => (default_limits()?, false),
            };
            partners.push(Partner {
                root,
                limits,
                recorded,
            });
        }
        Ok(partners)
    }

    /// The limits `trust add` recorded for `org`, if any.
    fn recorded_limits(&self, org: &OrgId) -> Result<Option<PartnerLimits>> {
        let path = self.partners_dir().join(limits_name(org));
        if !path.exists() {
            return Ok(None);
        }
        let bytes = read_armored(&path, FileKind::PartnerLimits)?;
        let (named, limits) =
            PartnerLimits::from_record(&bytes).map_err(|e| Error::corrupt(&path, e))?;
        if &named != org {
            return Err(Error::corrupt(
                &path,
                Damage::LimitsOfOtherOrg {
                    named,
                    expected: org.clone(),
                },
            ));
        }
        Ok(Some(limits))
    }

    /// Records `limits` for partner `org` (replacing earlier ones).
    pub fn write_limits(&self, org: &OrgId, limits: &PartnerLimits) -> Result<()> {
        fsutil::create_private_dir(&self.partners_dir())?;
        fsutil::write_atomic(
            &self.partners_dir().join(limits_name(org)),
            limits_file(org, limits).as_bytes(),
        )?;
        Ok(())
    }

    /// Own root first, then partners', without their limits (for checking signatures).
    pub fn all_roots(&self) -> Result<Vec<OrgRoot>> {
        let mut roots = vec![self.root.clone()];
        roots.extend(self.partners()?.into_iter().map(|p| p.root));
        Ok(roots)
    }

    /// What a bundle tells a device to trust: the own root without limit, then each partner's
    /// root with its limits.
    pub fn trusted_roots(&self) -> Result<Vec<TrustedRoot>> {
        let mut roots = vec![TrustedRoot::own(self.root.clone())];
        for partner in self.partners()? {
            roots.push(TrustedRoot::partner(partner.root, partner.limits));
        }
        Ok(roots)
    }

    /// A trust store of the own root, the partner roots within their limits, and the own
    /// revocation list.
    pub fn trust_store(&self) -> Result<TrustStore> {
        let mut trust = TrustStore::new();
        trust
            .add_root(self.root.clone())
            .map_err(|e| Error::corrupt(self.root_path(), e))?;
        for partner in self.partners()? {
            trust
                .add_partner(partner.root, partner.limits)
                .map_err(|e| Error::corrupt(self.partners_dir(), e))?;
        }
        trust
            .update_revocations(self.revocations()?)
            .map_err(|e| Error::corrupt(self.revocations_path(), e))?;
        Ok(trust)
    }

    /// Whether partner limits go to the relay directory: only to a relay this organisation
    /// runs (`relay init`), never to a shared relay another organisation runs.
    #[must_use]
    pub fn operates_relay(&self) -> bool {
        self.ledger.relay.as_ref().is_some_and(|r| !r.shared)
    }

    /// Copies `org`'s limits to the relay this organisation runs, if its directory is here.
    pub fn publish_limits(&self, org: &OrgId, limits: &PartnerLimits) -> Result<Option<PathBuf>> {
        if !self.operates_relay() {
            return Ok(None);
        }
        let text = limits_file(org, limits);
        self.publish_to_relay("roots", &limits_name(org), text.as_bytes())
    }
}
