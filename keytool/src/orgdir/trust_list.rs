//! The organisation's trust list (`trust-list.vigil`): its partners and their limits, signed by
//! the root, versioned. `trust add`, `trust remove` and `trust rotate` sign the next version from
//! `partners/` and publish it to the relay this organisation runs (`roots/ORG.trust.vigil`),
//! which hands it to every device; bundles carry the version in force when they are made.

use std::path::PathBuf;

use vigil_protocol::cert::{PredecessorRoot, TrustListBody, TrustedPartner};
use vigil_protocol::provisioning::{FileKind, armor};
use vigil_protocol::{OrgId, TrustList, UnixTime};

use super::{OrgDir, read_armored};
use crate::error::{Damage, Error, Result};
use vigil_common::fs as fsutil;

/// The name of `org`'s trust list in a relay's `roots/`.
#[must_use]
pub fn trust_list_name(org: &OrgId) -> String {
    format!("{org}.trust.vigil")
}

impl OrgDir {
    /// `trust-list.vigil` in the organisation directory.
    #[must_use]
    pub fn trust_list_path(&self) -> PathBuf {
        self.path().join("trust-list.vigil")
    }

    /// The trust list in force, verified against the own root; `None` before the first one
    /// (an organisation directory made before trust lists existed).
    pub fn trust_list(&self) -> Result<Option<TrustList>> {
        let path = self.trust_list_path();
        if !path.exists() {
            return Ok(None);
        }
        let list = TrustList::from_bytes(&read_armored(&path, FileKind::TrustList)?)
            .map_err(|e| Error::corrupt(&path, e))?;
        list.verify(&self.root)
            .map_err(|e| Error::corrupt(&path, Damage::TrustList(e)))?;
        Ok(Some(list))
    }

    /// Signs the next version of the trust list from the partners in `partners/` now (keeping
    /// the predecessors of the list in force), writes it here and publishes it to the relay
    /// this organisation runs. Returns the list and where it was published.
    pub fn sign_trust_list(
        &self,
        root_key: &super::RootKey,
        now: UnixTime,
    ) -> Result<(TrustList, Option<PathBuf>)> {
        let current = self.trust_list()?;
        let predecessors = current
            .as_ref()
            .map(|l| l.body().predecessors.clone())
            .unwrap_or_default();
        self.sign_trust_list_after(current.as_ref(), predecessors, root_key, now)
    }

    /// Signs the version after `previous` (1 without one) with `predecessors`, from the
    /// partners in `partners/` now; writes and publishes it.
    pub fn sign_trust_list_after(
        &self,
        previous: Option<&TrustList>,
        predecessors: Vec<PredecessorRoot>,
        root_key: &super::RootKey,
        now: UnixTime,
    ) -> Result<(TrustList, Option<PathBuf>)> {
        let path = self.trust_list_path();
        // The next version follows the file, so a version is never signed twice with
        // different contents, even after a crash between two writes.
        let version = match previous {
            Some(list) => list
                .version()
                .checked_add(1)
                .ok_or_else(|| Error::corrupt(&path, Damage::VersionExhausted))?,
            None => 1,
        };
        let partners = self
            .partners()?
            .into_iter()
            .map(|p| TrustedPartner {
                root: p.root,
                limits: p.limits,
            })
            .collect();
        let body = TrustListBody {
            org: self.org.clone(),
            version,
            issued_at: now,
            partners,
            predecessors,
        };
        let list = TrustList::sign_with(root_key, body)?;
        let text = armor(FileKind::TrustList, &list.to_bytes());
        fsutil::write_atomic(&path, text.as_bytes())?;
        let published = self.publish_trust_list(&list)?;
        Ok((list, published))
    }

    /// Copies `list` to the relay this organisation runs, if its directory is here.
    pub fn publish_trust_list(&self, list: &TrustList) -> Result<Option<PathBuf>> {
        let text = armor(FileKind::TrustList, &list.to_bytes());
        self.publish_to_relay("roots", &trust_list_name(&self.org), text.as_bytes())
    }
}
