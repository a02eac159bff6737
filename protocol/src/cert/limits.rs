//! Partner limits: what an organisation accepts from a partner organisation's root.
//!
//! Trusting a partner's root means trusting every certificate it signs, and the partner's
//! administrator chooses what those certificates assert. Limits bound that: the highest clearance
//! a partner's certificate may assert and, optionally, the roles it may carry. A certificate
//! beyond them is refused as if its root were not trusted for it, by every check of the
//! [`crate::TrustStore`]. The own organisation has no limit.

use bincode::{Decode, Encode};

use super::{CertError, CertificateBody, Clearance};
use crate::ids::{OrgId, Role};

/// What an organisation accepts from one partner organisation.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PartnerLimits {
    /// The highest clearance a partner's certificate may assert. A clearance of another policy
    /// is beyond it: levels of different policies are never compared.
    pub max_clearance: Clearance,
    /// The roles a partner's certificate may carry; `None` allows any role. A certificate with a
    /// role outside the list is refused, not trimmed.
    pub roles: Option<Vec<Role>>,
}

impl PartnerLimits {
    /// Limits up to `max_clearance`, with any role.
    #[must_use]
    pub fn up_to(max_clearance: Clearance) -> Self {
        Self {
            max_clearance,
            roles: None,
        }
    }

    /// Checks that a certificate of `body.org` sits within these limits.
    ///
    /// # Errors
    ///
    /// [`CertError::ClearanceAboveLimit`] when its clearance is higher than, or of another policy
    /// than, [`Self::max_clearance`]; [`CertError::RoleNotAllowed`] for the first role outside
    /// [`Self::roles`].
    pub fn check(&self, body: &CertificateBody) -> Result<(), CertError> {
        if !self.max_clearance.dominates(&body.clearance) {
            return Err(CertError::ClearanceAboveLimit {
                user: body.user.clone(),
                org: body.org.clone(),
                has: body.clearance.marking(),
                max: self.max_clearance.marking(),
            });
        }
        if let Some(allowed) = &self.roles
            && let Some(role) = body.roles.iter().find(|r| !allowed.contains(r))
        {
            return Err(CertError::RoleNotAllowed {
                user: body.user.clone(),
                org: body.org.clone(),
                role: role.clone(),
            });
        }
        Ok(())
    }

    /// The encoding of `org`'s limits, as `vigil-keytool trust add` writes them to
    /// `ORG.limits.vigil` (armoured as [`crate::provisioning::FileKind::PartnerLimits`]).
    #[must_use]
    pub fn to_record(&self, org: &OrgId) -> Vec<u8> {
        crate::codec::encode(&(org, self))
    }

    /// Decodes a record written by [`Self::to_record`]: the partner and its limits.
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`] when the bytes are not such a record.
    pub fn from_record(bytes: &[u8]) -> Result<(OrgId, Self), crate::DecodeError> {
        crate::codec::decode(bytes)
    }
}

impl std::fmt::Display for PartnerLimits {
    /// E.g. `up to EU RESTRICTED, any role` or `up to EU SECRET, roles duty-officer, analyst`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "up to {}, ", self.max_clearance.marking())?;
        match &self.roles {
            None => f.write_str("any role"),
            Some(roles) if roles.is_empty() => f.write_str("no role"),
            Some(roles) => {
                let names: Vec<&str> = roles.iter().map(Role::as_str).collect();
                write!(f, "roles {}", names.join(", "))
            }
        }
    }
}
