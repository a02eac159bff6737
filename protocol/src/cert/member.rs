//! Member certificates: who a member is, in which org, with which clearance and keys.

use bincode::{Decode, Encode};

use super::CertError;
use crate::ids::{OrgId, Role, Text, UserId};
use crate::keys::{
    AgreementPublicKey, IdentityPublicKey, OrgRootKeyPair, OrgRootPublicKey, Signature,
    SignatureContext,
};
use crate::time::UnixTime;

/// Most roles one certificate may carry: enough for any real duty roster, small enough that a
/// certificate stays a few hundred bytes.
pub const MAX_ROLES: usize = 16;

/// A member's security clearance: a level in a named classification policy. Channel labels
/// are checked against it with [`crate::label::Classification::dominates`].
pub type Clearance = crate::label::Classification;

/// What a member certificate says. Built by `vigil-keytool`, signed by the org root.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CertificateBody {
    /// Unique per organisation; revocation lists name certificates by it.
    pub serial: u64,
    /// The issuing organisation.
    pub org: OrgId,
    /// The member, `local@org`; the part after `@` must name `org`.
    pub user: UserId,
    /// The name shown to other members.
    pub display_name: Text,
    /// Roles in the organisation, at most [`MAX_ROLES`].
    pub roles: Vec<Role>,
    /// The member's clearance.
    pub clearance: Clearance,
    /// The member's Ed25519 identity key.
    pub identity_key: IdentityPublicKey,
    /// The member's long-term X25519 key, used in the handshake.
    pub agreement_key: AgreementPublicKey,
    /// Start of validity (inclusive).
    pub not_before: UnixTime,
    /// End of validity (exclusive).
    pub not_after: UnixTime,
}

impl CertificateBody {
    /// Rules every certificate obeys, whoever signed it.
    pub(super) fn check_rules(&self) -> Result<(), CertError> {
        let malformed = |why| {
            Err(CertError::Malformed {
                user: self.user.clone(),
                why,
            })
        };
        if !self.user.belongs_to(&self.org) {
            return malformed("its user id does not belong to the issuing organisation");
        }
        if self.not_before >= self.not_after {
            return malformed("its validity window is empty");
        }
        if self.roles.len() > MAX_ROLES {
            return malformed("it carries more roles than allowed");
        }
        Ok(())
    }
}

/// A member certificate: a [`CertificateBody`] signed by its organisation's root.
///
/// Holding one proves nothing; [`crate::TrustStore::verify_certificate`] turns it into a
/// [`crate::VerifiedCertificate`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct MemberCertificate {
    body: CertificateBody,
    signature: Signature,
}

impl MemberCertificate {
    /// Signs `body` with the org root key.
    ///
    /// # Errors
    ///
    /// [`CertError::Malformed`] when the body breaks a rule (user outside the org, empty
    /// validity window, too many roles).
    pub fn issue(root: &OrgRootKeyPair, body: CertificateBody) -> Result<Self, CertError> {
        body.check_rules()?;
        let signature = super::sign_body(root, SignatureContext::MemberCertificate, &body);
        Ok(Self { body, signature })
    }

    /// As [`Self::issue`], signed by `signer` (e.g. a key on a hardware token).
    ///
    /// # Errors
    ///
    /// [`CertError::Malformed`] (converted) when the body breaks a rule; the signer's error.
    pub fn issue_with<S>(signer: &S, body: CertificateBody) -> Result<Self, S::Error>
    where
        S: crate::keys::RootSigner,
        S::Error: From<CertError>,
    {
        body.check_rules()?;
        let signature = super::sign_body_with(signer, SignatureContext::MemberCertificate, &body)?;
        Ok(Self { body, signature })
    }

    /// What the certificate says (not yet verified).
    #[must_use]
    pub fn body(&self) -> &CertificateBody {
        &self.body
    }

    /// Checks the org root's signature and the body's rules (not validity or revocation: the
    /// trust store's [`crate::TrustStore::verify_certificate`] checks everything).
    ///
    /// # Errors
    ///
    /// [`CertError::BadSignature`] or [`CertError::Malformed`].
    pub fn verify_signature(&self, root: &OrgRootPublicKey) -> Result<(), CertError> {
        super::verify_body(
            root,
            SignatureContext::MemberCertificate,
            &self.body,
            &self.signature,
        )
        .map_err(|_| CertError::BadSignature {
            user: self.body.user.clone(),
            org: self.body.org.clone(),
        })?;
        self.body.check_rules()
    }

    /// The codec encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// Decodes a certificate (use the trust store to verify it).
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`] when the bytes are not a certificate.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }
}
