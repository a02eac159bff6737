//! Certificate requests: a member generates keys on their own device and sends only the public
//! halves, signed with the new identity key, to their administrator.

use bincode::{Decode, Encode};

use crate::ids::{Text, UserId};
use crate::keys::{
    AgreementPublicKey, IdentityKeyPair, IdentityPublicKey, Signature, SignatureContext,
};
use crate::time::UnixTime;

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RequestBody {
    /// The user id asked for.
    pub user: UserId,
    /// The display name asked for.
    pub display_name: Text,
    /// The new identity key.
    pub identity_key: IdentityPublicKey,
    /// The new agreement key.
    pub agreement_key: AgreementPublicKey,
    /// When the request was made.
    pub created: UnixTime,
}

/// A request, signed by the identity key it names (proof of possession).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CertificateRequest {
    body: RequestBody,
    signature: Signature,
}

/// A request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The signature does not verify with the identity key it names.
    #[error("certificate request of {user} is not signed by the key it names")]
    BadSignature {
        /// The user id the request names.
        user: UserId,
    },
}

impl CertificateRequest {
    /// Signs a request for `identity`'s key and `agreement_key`.
    #[must_use]
    pub fn new(
        identity: &IdentityKeyPair,
        agreement_key: AgreementPublicKey,
        user: UserId,
        display_name: Text,
        created: UnixTime,
    ) -> Self {
        let body = RequestBody {
            user,
            display_name,
            identity_key: identity.public(),
            agreement_key,
            created,
        };
        let signature = identity.sign(
            SignatureContext::CertificateRequest,
            &crate::codec::encode(&body),
        );
        Self { body, signature }
    }

    /// Checks the proof of possession.
    ///
    /// # Errors
    ///
    /// [`RequestError::BadSignature`].
    pub fn verify(&self) -> Result<&RequestBody, RequestError> {
        self.body
            .identity_key
            .verify(
                SignatureContext::CertificateRequest,
                &crate::codec::encode(&self.body),
                &self.signature,
            )
            .map_err(|_| RequestError::BadSignature {
                user: self.body.user.clone(),
            })?;
        Ok(&self.body)
    }

    /// What the request asks for (not yet verified).
    #[must_use]
    pub fn body(&self) -> &RequestBody {
        &self.body
    }

    /// The codec encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// Decodes a request (call [`Self::verify`] before trusting it).
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }
}
