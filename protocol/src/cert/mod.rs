//! Organisations, member certificates, revocation lists, and the trust store that checks them.
//!
//! Every signed object here is `body` + Ed25519 `signature`, where the signature covers the
//! codec encoding of the body (version byte included) behind a [`SignatureContext`] label.

mod error;
mod limits;
mod local;
mod member;
mod revocation;
mod root;
mod trust;
mod trust_list;
mod trusted_partners;

pub use error::{CertError, RevocationError};
pub use limits::PartnerLimits;
pub use local::LocalIdentity;
pub use member::{CertificateBody, Clearance, MAX_ROLES, MemberCertificate};
pub use revocation::{RevocationList, RevocationListBody, RevokedCertificate};
pub use root::{OrgRoot, RootDecodeError};
pub use trust::{RevocationUpdate, TrustStore, VerifiedCertificate};
pub use trust_list::{
    MAX_PARTNERS, PredecessorRoot, TrustList, TrustListBody, TrustListError, TrustedPartner,
};
pub use trusted_partners::{MAX_FORMER, TrustChange, TrustListUpdate};

use crate::codec;
use crate::keys::{
    OrgRootKeyPair, OrgRootPublicKey, RootSigner, Signature, SignatureContext, SignatureError,
};

/// Signs the codec encoding of `body` with the org root key.
fn sign_body<T: bincode::Encode>(
    key: &OrgRootKeyPair,
    context: SignatureContext,
    body: &T,
) -> Signature {
    key.sign(context, &codec::encode(body))
}

/// Signs the codec encoding of `body` as the org root, with whatever holds its key.
fn sign_body_with<S: RootSigner, T: bincode::Encode>(
    signer: &S,
    context: SignatureContext,
    body: &T,
) -> Result<Signature, S::Error> {
    signer.sign_as_root(context, &codec::encode(body))
}

/// Verifies a signature made by [`sign_body`].
fn verify_body<T: bincode::Encode>(
    key: &OrgRootPublicKey,
    context: SignatureContext,
    body: &T,
    signature: &Signature,
) -> Result<(), SignatureError> {
    key.verify(context, &codec::encode(body), signature)
}
