//! Signed, versioned trust lists: the partner organisations an organisation trusts, each with
//! its root and the limits within which its certificates are accepted.
//!
//! A device learns its organisation's partners from this list, not only from its enrolment
//! bundle, so adding, removing or rotating a partner reaches every device through the relay
//! (which can withhold a list, never forge or roll one back: see [`crate::TrustStore::apply_trust_list`]).

use bincode::{Decode, Encode};

use super::{MAX_ROLES, OrgRoot, PartnerLimits};
use crate::ids::OrgId;
use crate::keys::{OrgRootKeyPair, Signature, SignatureContext};
use crate::time::UnixTime;

/// The most partners one list may name: far above any real federation, and a bound on what a
/// hostile list can make a device verify.
pub const MAX_PARTNERS: usize = 256;

/// One trusted partner organisation.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct TrustedPartner {
    /// The partner's root, as its administrator handed it over (self-signed).
    pub root: OrgRoot,
    /// What the organisation accepts from it.
    pub limits: PartnerLimits,
}

/// A root the organisation itself used before it rotated to the one that signs the list:
/// certificates it signed stay valid for what they signed before `until` (channel histories),
/// never now.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PredecessorRoot {
    /// The old root (self-signed, of the list's organisation).
    pub root: OrgRoot,
    /// When the organisation stopped using it.
    pub until: UnixTime,
}

/// What a trust list says.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct TrustListBody {
    /// The organisation whose trust it states (and whose root signs it).
    pub org: OrgId,
    /// Monotonic: a list never replaces one with a higher version.
    pub version: u64,
    /// When it was signed.
    pub issued_at: UnixTime,
    /// Every partner trusted from this version on; one not named is no longer trusted.
    pub partners: Vec<TrustedPartner>,
    /// The organisation's own earlier roots, oldest first (`vigil-keytool org rotate`).
    pub predecessors: Vec<PredecessorRoot>,
}

/// A trust list signed by the organisation's root.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct TrustList {
    body: TrustListBody,
    signature: Signature,
}

/// A trust list was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustListError {
    /// The list belongs to an organisation whose root is not trusted here.
    #[error("trust list of {org}, which is not a trusted organisation")]
    UnknownOrg { org: OrgId },
    /// The org root's signature on the list does not verify.
    #[error("trust list of {org} does not carry a valid signature of its root")]
    BadSignature { org: OrgId },
    /// A partner's root is not validly self-signed.
    #[error("trust list of {org} names {partner} with a root that is not validly self-signed")]
    BadPartnerRoot { org: OrgId, partner: OrgId },
    /// The list names its own organisation as a partner.
    #[error("trust list of {org} names {org} itself as a partner")]
    OwnOrgListed { org: OrgId },
    /// The list names one partner twice.
    #[error("trust list of {org} names {partner} twice")]
    DuplicatePartner { org: OrgId, partner: OrgId },
    /// A partner's limits name more roles than a certificate may carry.
    #[error("trust list of {org} allows {partner} more than {MAX_ROLES} roles")]
    TooManyRoles { org: OrgId, partner: OrgId },
    /// A predecessor root of another organisation, with the current key, not validly
    /// self-signed, or beyond [`MAX_PARTNERS`] of them.
    #[error("trust list of {org} names a predecessor root that is not an earlier root of {org}")]
    BadPredecessor { org: OrgId },
    /// The list names more partners than [`MAX_PARTNERS`].
    #[error("trust list of {org} names {count} partners (at most {MAX_PARTNERS})")]
    TooManyPartners { org: OrgId, count: usize },
    /// An older list than the one we have: never replaces a newer one.
    #[error("trust list version {offered} of {org} is older than the version {current} in force")]
    Stale {
        org: OrgId,
        /// The version we hold.
        current: u64,
        /// The version offered.
        offered: u64,
    },
    /// Two different lists signed with the same version: the root key is misused or stolen.
    #[error("two different trust lists of {org} carry version {version}; keeping the first")]
    Equivocation { org: OrgId, version: u64 },
}

impl TrustList {
    /// Signs `body` with the org root key.
    #[must_use]
    pub fn sign(root: &OrgRootKeyPair, body: TrustListBody) -> Self {
        let signature = super::sign_body(root, SignatureContext::TrustList, &body);
        Self { body, signature }
    }

    /// As [`Self::sign`], signed by `signer` (e.g. a key on a hardware token).
    ///
    /// # Errors
    ///
    /// The signer's error.
    pub fn sign_with<S: crate::keys::RootSigner>(
        signer: &S,
        body: TrustListBody,
    ) -> Result<Self, S::Error> {
        let signature = super::sign_body_with(signer, SignatureContext::TrustList, &body)?;
        Ok(Self { body, signature })
    }

    /// What the list says (not yet verified).
    #[must_use]
    pub fn body(&self) -> &TrustListBody {
        &self.body
    }

    /// The list's organisation.
    #[must_use]
    pub fn org(&self) -> &OrgId {
        &self.body.org
    }

    /// Its version.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.body.version
    }

    /// The entry for partner `org`, if the list names it.
    #[must_use]
    pub fn partner(&self, org: &OrgId) -> Option<&TrustedPartner> {
        self.body.partners.iter().find(|p| p.root.org() == org)
    }

    /// Checks the list is `root`'s, carries its valid signature, and names each partner once,
    /// with a validly self-signed root and at most [`MAX_ROLES`] roles allowed, never the own
    /// organisation, and at most [`MAX_PARTNERS`] of them (so a valid list stays under about
    /// 650 KiB encoded, within one relay frame; real ones are a few KiB).
    ///
    /// # Errors
    ///
    /// [`TrustListError`] naming the first check that failed.
    pub fn verify(&self, root: &OrgRoot) -> Result<(), TrustListError> {
        let org = &self.body.org;
        if root.org() != org {
            return Err(TrustListError::UnknownOrg { org: org.clone() });
        }
        super::verify_body(
            root.key(),
            SignatureContext::TrustList,
            &self.body,
            &self.signature,
        )
        .map_err(|_| TrustListError::BadSignature { org: org.clone() })?;
        let count = self.body.partners.len();
        if count > MAX_PARTNERS {
            return Err(TrustListError::TooManyPartners {
                org: org.clone(),
                count,
            });
        }
        self.verify_predecessors(root)?;
        let mut seen = std::collections::BTreeSet::new();
        for partner in &self.body.partners {
            let name = partner.root.org();
            if name == org {
                return Err(TrustListError::OwnOrgListed { org: org.clone() });
            }
            if partner
                .limits
                .roles
                .as_ref()
                .is_some_and(|r| r.len() > MAX_ROLES)
            {
                return Err(TrustListError::TooManyRoles {
                    org: org.clone(),
                    partner: name.clone(),
                });
            }
            if !seen.insert(name) {
                return Err(TrustListError::DuplicatePartner {
                    org: org.clone(),
                    partner: name.clone(),
                });
            }
            partner
                .root
                .verify()
                .map_err(|_| TrustListError::BadPartnerRoot {
                    org: org.clone(),
                    partner: name.clone(),
                })?;
        }
        Ok(())
    }

    /// Each predecessor is a validly self-signed root of the list's organisation with another
    /// key than `root`'s; at most [`MAX_PARTNERS`] of them.
    fn verify_predecessors(&self, root: &OrgRoot) -> Result<(), TrustListError> {
        let org = &self.body.org;
        let bad = || TrustListError::BadPredecessor { org: org.clone() };
        if self.body.predecessors.len() > MAX_PARTNERS {
            return Err(bad());
        }
        for predecessor in &self.body.predecessors {
            let old = &predecessor.root;
            if old.org() != org || old.key() == root.key() || old.verify().is_err() {
                return Err(bad());
            }
        }
        Ok(())
    }

    /// The codec encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// Decodes a list (use the trust store to verify and apply it).
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`] when the bytes are not a trust list.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }
}
