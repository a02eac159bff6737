//! Why a certificate, root or revocation list was refused.

use crate::ids::{OrgId, Role, UserId};
use crate::time::UnixTime;

/// A certificate or org root was refused. Each variant names the member and says what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The certificate's organisation is not among the trusted roots.
    #[error(
        "certificate of {user} is issued by {org}, which is not a trusted organisation \
         (an administrator can trust it with `vigil-keytool trust add`)"
    )]
    UntrustedRoot {
        user: UserId,
        /// The unknown organisation.
        org: OrgId,
    },
    /// The org root's signature on the certificate does not verify.
    #[error("certificate of {user} does not carry a valid signature of {org}'s root")]
    BadSignature {
        user: UserId,
        /// The organisation whose root should have signed it.
        org: OrgId,
    },
    /// The certificate is not valid yet.
    #[error("certificate of {user} is not valid before {not_before} (now {now})")]
    NotYetValid {
        user: UserId,
        /// Start of the validity window.
        not_before: UnixTime,
        /// The time of the check.
        now: UnixTime,
    },
    /// The certificate has expired.
    #[error(
        "certificate of {user} expired at {not_after} (now {now}); ask your administrator for a new one"
    )]
    Expired {
        user: UserId,
        /// End of the validity window.
        not_after: UnixTime,
        /// The time of the check.
        now: UnixTime,
    },
    /// The certificate is on its organisation's revocation list.
    #[error("certificate {serial} of {user} was revoked at {revoked_at}: {reason}")]
    Revoked {
        user: UserId,
        /// The certificate's serial number.
        serial: u64,
        /// When it was revoked.
        revoked_at: UnixTime,
        /// The administrator's reason.
        reason: String,
    },
    /// The certificate is signed but its content breaks a rule (e.g. a user id outside its org).
    #[error("certificate of {user} is malformed: {why}")]
    Malformed {
        user: UserId,
        /// The broken rule.
        why: &'static str,
    },
    /// An org root's self-signature does not verify.
    #[error("root of {org} does not carry a valid self-signature")]
    BadRootSignature { org: OrgId },
    /// A different root for an organisation that is already trusted.
    #[error(
        "a different root key is already trusted for {org}; refusing to replace it \
         (remove the old one explicitly if the organisation really changed its root)"
    )]
    RootConflict { org: OrgId },
    /// A partner's certificate asserts a clearance beyond what its organisation is trusted for
    /// here (higher, or of another policy).
    #[error(
        "certificate of {user} asserts clearance {has}, beyond the {max} that {org} is trusted \
         for here (an administrator can change this with `vigil-keytool trust add \
         --max-clearance`)"
    )]
    ClearanceAboveLimit {
        user: UserId,
        /// The partner organisation that issued it.
        org: OrgId,
        /// The clearance it asserts, as marked.
        has: String,
        /// The highest clearance accepted from `org`, as marked.
        max: String,
    },
    /// A partner's certificate carries a role its organisation is not trusted to assign here.
    #[error(
        "certificate of {user} carries role {role}, which {org} is not trusted to assign here \
         (an administrator can allow it with `vigil-keytool trust add --role`)"
    )]
    RoleNotAllowed {
        user: UserId,
        /// The partner organisation that issued it.
        org: OrgId,
        /// The first role outside the allowed ones.
        role: Role,
    },
    /// Key pairs do not match the public keys in the certificate.
    #[error("the keys do not match the certificate of {user}")]
    KeyMismatch { user: UserId },
}

impl CertError {
    /// A stable name of this error, in snake_case, for programs that act on it (`vigil --error-format json`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UntrustedRoot { .. } => "untrusted_root",
            Self::BadSignature { .. } => "bad_signature",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::Expired { .. } => "expired",
            Self::Revoked { .. } => "revoked",
            Self::Malformed { .. } => "malformed",
            Self::BadRootSignature { .. } => "bad_root_signature",
            Self::RootConflict { .. } => "root_conflict",
            Self::ClearanceAboveLimit { .. } => "clearance_above_limit",
            Self::RoleNotAllowed { .. } => "role_not_allowed",
            Self::KeyMismatch { .. } => "key_mismatch",
        }
    }
}

/// A revocation list was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// The list belongs to an organisation that is not trusted.
    #[error("revocation list of {org}, which is not a trusted organisation")]
    UnknownOrg {
        /// The organisation named by the list.
        org: OrgId,
    },
    /// The org root's signature on the list does not verify.
    #[error("revocation list of {org} does not carry a valid signature of its root")]
    BadSignature { org: OrgId },
    /// An older list than the one we have: never replaces a newer one.
    #[error(
        "revocation list version {offered} of {org} is older than the version {current} already in force"
    )]
    Stale {
        org: OrgId,
        /// The version we hold.
        current: u64,
        /// The version offered.
        offered: u64,
    },
    /// Two different lists signed with the same version: the root key is misused or stolen.
    #[error("two different revocation lists of {org} carry version {version}; keeping the first")]
    Equivocation {
        org: OrgId,
        /// The version both carry.
        version: u64,
    },
}
