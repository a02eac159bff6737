//! An organisation's public root: what members trust and partners import.

use bincode::{Decode, Encode};

use super::CertError;
use crate::ids::{CountryCode, OrgId};
use crate::keys::{OrgRootKeyPair, OrgRootPublicKey, Signature, SignatureContext};
use crate::time::UnixTime;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
struct RootBody {
    org: OrgId,
    country: CountryCode,
    key: OrgRootPublicKey,
    created: UnixTime,
}

/// An organisation's root public key and its country, self-signed. The self-signature proves
/// possession of the key and binds the country to it; trust in it comes from comparing its
/// [`fingerprint`](Self::fingerprint) out of band.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct OrgRoot {
    body: RootBody,
    signature: Signature,
}

impl OrgRoot {
    /// Creates the self-signed root of `org`, an organisation of `country`.
    #[must_use]
    pub fn create(
        key: &OrgRootKeyPair,
        org: OrgId,
        country: CountryCode,
        created: UnixTime,
    ) -> Self {
        let body = RootBody {
            org,
            country,
            key: key.public(),
            created,
        };
        let signature = key.sign(SignatureContext::OrgRoot, &crate::codec::encode(&body));
        Self { body, signature }
    }

    /// As [`Self::create`], signed by `signer` (e.g. a key on a hardware token).
    ///
    /// # Errors
    ///
    /// The signer's error.
    pub fn create_with<S: crate::keys::RootSigner>(
        signer: &S,
        org: OrgId,
        country: CountryCode,
        created: UnixTime,
    ) -> Result<Self, S::Error> {
        let body = RootBody {
            org,
            country,
            key: signer.root_public(),
            created,
        };
        let signature =
            signer.sign_as_root(SignatureContext::OrgRoot, &crate::codec::encode(&body))?;
        Ok(Self { body, signature })
    }

    /// Checks the self-signature.
    ///
    /// # Errors
    ///
    /// [`CertError::BadRootSignature`] when it does not verify.
    pub fn verify(&self) -> Result<(), CertError> {
        super::verify_body(
            &self.body.key,
            SignatureContext::OrgRoot,
            &self.body,
            &self.signature,
        )
        .map_err(|_| CertError::BadRootSignature {
            org: self.body.org.clone(),
        })
    }

    #[must_use]
    pub fn org(&self) -> &OrgId {
        &self.body.org
    }

    /// The organisation's country (ISO 3166-1 alpha-2), against which `REL TO` caveats are
    /// checked.
    #[must_use]
    pub fn country(&self) -> &CountryCode {
        &self.body.country
    }

    /// The root public key.
    #[must_use]
    pub fn key(&self) -> &OrgRootPublicKey {
        &self.body.key
    }

    /// When the root was created.
    #[must_use]
    pub fn created(&self) -> UnixTime {
        self.body.created
    }

    /// SHA-256 of the root key, as 16 groups of 4 hex digits: what administrators read to each
    /// other before trusting a partner.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        self.body.key.fingerprint()
    }

    /// The codec encoding, for the public root file.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// Decodes a root and checks its self-signature.
    ///
    /// # Errors
    ///
    /// [`RootDecodeError`]: not a root encoding, or a self-signature that does not verify.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RootDecodeError> {
        let root: Self = crate::codec::decode(bytes)?;
        root.verify()?;
        Ok(root)
    }
}

/// A root file could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RootDecodeError {
    /// Not a valid encoding.
    #[error(transparent)]
    Decode(#[from] crate::DecodeError),
    /// Decoded, but the self-signature does not verify.
    #[error(transparent)]
    Cert(#[from] CertError),
}

#[cfg(test)]
mod tests {
    use rand_core::SeedableRng as _;

    use super::*;

    fn root() -> OrgRoot {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let key = OrgRootKeyPair::generate(&mut rng);
        let org = OrgId::new("CERT-AT").unwrap();
        OrgRoot::create(&key, org, CountryCode::new("AT").unwrap(), UnixTime(1))
    }

    #[test]
    fn the_country_is_bound_by_the_self_signature() {
        let root = root();
        assert_eq!(root.country().as_str(), "AT");
        assert_eq!(OrgRoot::from_bytes(&root.to_bytes()).unwrap(), root);
        let mut moved = root.clone();
        moved.body.country = CountryCode::new("CZ").unwrap();
        let org = root.org().clone();
        assert_eq!(
            moved.verify(),
            Err(CertError::BadRootSignature { org: org.clone() })
        );
        assert_eq!(
            OrgRoot::from_bytes(&moved.to_bytes()),
            Err(RootDecodeError::Cert(CertError::BadRootSignature { org }))
        );
    }
}
