//! The member's own identity: certificate plus the secret keys it certifies.

use super::{CertError, MemberCertificate};
use crate::keys::{AgreementKeyPair, IdentityKeyPair};

/// A member's certificate together with their identity and agreement key pairs.
#[derive(Debug)]
pub struct LocalIdentity {
    certificate: MemberCertificate,
    identity: IdentityKeyPair,
    agreement: AgreementKeyPair,
}

impl LocalIdentity {
    /// Binds the key pairs to the certificate that names their public halves.
    ///
    /// # Errors
    ///
    /// [`CertError::KeyMismatch`] when the certificate names other keys.
    pub fn new(
        certificate: MemberCertificate,
        identity: IdentityKeyPair,
        agreement: AgreementKeyPair,
    ) -> Result<Self, CertError> {
        let body = certificate.body();
        if body.identity_key != identity.public() || body.agreement_key != agreement.public() {
            return Err(CertError::KeyMismatch {
                user: body.user.clone(),
            });
        }
        Ok(Self {
            certificate,
            identity,
            agreement,
        })
    }

    /// The member's certificate.
    #[must_use]
    pub fn certificate(&self) -> &MemberCertificate {
        &self.certificate
    }

    /// The identity key pair.
    #[must_use]
    pub fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }

    /// The long-term agreement key pair.
    #[must_use]
    pub fn agreement(&self) -> &AgreementKeyPair {
        &self.agreement
    }

    /// The member's user id.
    #[must_use]
    pub fn user(&self) -> &crate::UserId {
        &self.certificate.body().user
    }
}
