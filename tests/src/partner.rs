//! A partner organisation beside a [`Deployment`]: its root (and, as `vigil-keytool trust add`
//! publishes them, its limits) in the relay's `roots/`, and members signed with its root key.

use vigil_keytool::orgdir::partners::{limits_file, limits_name, root_name};
use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::keys::OrgRootKeyPair;
use vigil_protocol::provisioning::{FileKind, armor};
use vigil_protocol::{LocalIdentity, OrgId, OrgRoot};

use crate::{Deployment, certify, now};

/// A partner organisation whose root the relay of a [`Deployment`] trusts.
#[derive(Debug)]
pub struct PartnerOrg {
    org: OrgId,
    key: OrgRootKeyPair,
    serial: u64,
}

impl PartnerOrg {
    /// Issues a duty officer of this organisation with EU clearance `level`, valid for a year.
    ///
    /// # Panics
    ///
    /// On a user id outside the organisation's syntax.
    pub fn issue(&mut self, user: &str, level: u8) -> LocalIdentity {
        self.serial += 1;
        certify(&self.key, self.org.as_str(), self.serial, user, level, 365)
    }
}

impl Deployment {
    /// Creates partner `org` of `country` and places its root in the relay's `roots/`, after
    /// its limits file when `limits` is given (the relay reads them when it starts).
    ///
    /// # Panics
    ///
    /// On an invalid organisation id or country, or when the files cannot be written.
    #[must_use]
    pub fn partner(&self, org: &str, country: &str, limits: Option<&PartnerLimits>) -> PartnerOrg {
        let key = OrgRootKeyPair::generate(&mut rand_core::OsRng);
        let org: OrgId = org.parse().expect("org");
        let root = OrgRoot::create(&key, org.clone(), country.parse().expect("country"), now());
        let partner = PartnerOrg {
            org,
            key,
            serial: 0,
        };
        self.set_partner_limits(&partner, limits);
        std::fs::write(
            self.roots_dir().join(root_name(root.org())),
            armor(FileKind::OrgRoot, &root.to_bytes()),
        )
        .expect("root written");
        partner
    }

    /// Writes (or, for `None`, removes) the limits file of `partner` in the relay's `roots/`.
    ///
    /// # Panics
    ///
    /// When the file cannot be written or removed.
    pub fn set_partner_limits(&self, partner: &PartnerOrg, limits: Option<&PartnerLimits>) {
        let path = self.roots_dir().join(limits_name(&partner.org));
        match limits {
            Some(limits) => {
                std::fs::write(&path, limits_file(&partner.org, limits)).expect("limits written");
            }
            None => {
                if path.exists() {
                    std::fs::remove_file(&path).expect("limits removed");
                }
            }
        }
    }

    /// The relay's roots directory.
    #[must_use]
    pub fn roots_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("relay/roots")
    }
}
