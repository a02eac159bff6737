//! The enrollment bundle: everything a member's device needs to join, sealed under a one-time
//! passphrase the administrator hands over separately.

use bincode::{Decode, Encode};
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::sealed::{KdfParams, SealError, SealedFile};
use crate::cert::{
    CertError, LocalIdentity, MemberCertificate, OrgRoot, PartnerLimits, RevocationList, TrustList,
    TrustStore,
};
use crate::ids::{OrgId, Text, UserId};
use crate::keys::{AgreementKeyPair, IdentityKeyPair};
use crate::time::UnixTime;

/// How a member's client reaches its relay.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RelayInfo {
    /// `host:port` to connect to.
    pub address: Text,
    /// The TLS server name in the relay's certificate.
    pub server_name: Text,
    /// SHA-256 of the relay certificate's SubjectPublicKeyInfo: the pin the client checks.
    pub pin: [u8; 32],
}

impl RelayInfo {
    /// The pin of a relay certificate: SHA-256 of its DER SubjectPublicKeyInfo.
    #[must_use]
    pub fn pin_of(spki_der: &[u8]) -> [u8; 32] {
        use sha2::Digest as _;
        sha2::Sha256::digest(spki_der).into()
    }
}

/// A root a bundle tells the device to trust, with the limits its organisation accepts from it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct TrustedRoot {
    /// The organisation's root.
    pub root: OrgRoot,
    /// `None`: trusted without limit (the member's own organisation). `Some`: a partner, whose
    /// certificates are accepted only within these limits.
    pub limits: Option<PartnerLimits>,
}

impl TrustedRoot {
    /// The own organisation's root: no limit.
    #[must_use]
    pub fn own(root: OrgRoot) -> Self {
        Self { root, limits: None }
    }

    /// A partner's root, trusted within `limits`.
    #[must_use]
    pub fn partner(root: OrgRoot, limits: PartnerLimits) -> Self {
        Self {
            root,
            limits: Some(limits),
        }
    }
}

/// The public header of a bundle: who it is for, readable without the passphrase (and
/// authenticated by it).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BundleHeader {
    /// The member's organisation.
    pub org: OrgId,
    pub user: UserId,
    /// Their display name.
    pub display_name: Text,
    /// Their certificate's serial.
    pub serial: u64,
    /// When the bundle was made.
    pub created: UnixTime,
    /// When the certificate expires.
    pub not_after: UnixTime,
}

/// What a bundle holds. Secret: zeroized on drop, never printed.
#[derive(Encode, Decode, Zeroize, ZeroizeOnDrop)]
pub struct BundleContents {
    identity_seed: [u8; 32],
    agreement_secret: [u8; 32],
    #[zeroize(skip)]
    certificate: MemberCertificate,
    #[zeroize(skip)]
    relay: RelayInfo,
    #[zeroize(skip)]
    roots: Vec<TrustedRoot>,
    #[zeroize(skip)]
    revocations: Vec<RevocationList>,
    /// The organisation's trust list when the bundle was made: the version a device starts
    /// from, so a relay cannot hand it an older one.
    #[zeroize(skip)]
    trust_list: Option<TrustList>,
}

impl std::fmt::Debug for BundleContents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            identity_seed: _,
            agreement_secret: _,
            certificate,
            relay,
            roots,
            revocations,
            trust_list,
        } = self;
        f.debug_struct("BundleContents")
            .field("user", &certificate.body().user)
            .field("relay", relay)
            .field("roots", &roots.len())
            .field("revocation_lists", &revocations.len())
            .field("trust_list", &trust_list.as_ref().map(TrustList::version))
            .field("keys", &"[secret elided]")
            .finish()
    }
}

impl BundleContents {
    /// Assembles a bundle for `member` (whose keys match its certificate by construction):
    /// `roots` are its own organisation's root and its partners' with their limits.
    #[must_use]
    pub fn new(
        member: &LocalIdentity,
        relay: RelayInfo,
        roots: Vec<TrustedRoot>,
        revocations: Vec<RevocationList>,
    ) -> Self {
        Self {
            identity_seed: *member.identity().to_seed(),
            agreement_secret: *member.agreement().to_bytes(),
            certificate: member.certificate().clone(),
            relay,
            roots,
            revocations,
            trust_list: None,
        }
    }

    /// The bundle with the organisation's trust list (see [`Self::trust_list`]).
    #[must_use]
    pub fn with_trust_list(mut self, list: TrustList) -> Self {
        self.trust_list = Some(list);
        self
    }

    /// The organisation's trust list when the bundle was made, if it had one.
    #[must_use]
    pub fn trust_list(&self) -> Option<&TrustList> {
        self.trust_list.as_ref()
    }

    /// The public header for this bundle.
    #[must_use]
    pub fn header(&self, created: UnixTime) -> BundleHeader {
        let body = self.certificate.body();
        BundleHeader {
            org: body.org.clone(),
            user: body.user.clone(),
            display_name: body.display_name.clone(),
            serial: body.serial,
            created,
            not_after: body.not_after,
        }
    }

    /// Seals the bundle under `passphrase`.
    ///
    /// # Errors
    ///
    /// [`SealError::Params`] for KDF parameters out of range.
    pub fn seal(
        &self,
        rng: &mut impl CryptoRngCore,
        passphrase: &[u8],
        kdf: KdfParams,
        created: UnixTime,
    ) -> Result<SealedFile, SealError> {
        let contents = zeroize::Zeroizing::new(crate::codec::encode(self));
        let header = crate::codec::encode(&self.header(created));
        SealedFile::seal(rng, passphrase, kdf, header, &contents)
    }

    /// Opens a sealed bundle.
    ///
    /// # Errors
    ///
    /// [`SealError`]: wrong passphrase, tampering, or contents that do not decode.
    pub fn open(sealed: &SealedFile, passphrase: &[u8]) -> Result<Self, SealError> {
        let contents = sealed.open(passphrase)?;
        Ok(crate::codec::decode(&contents)?)
    }

    /// Reads a sealed bundle's public header without the passphrase (not yet authenticated).
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`] when the header does not decode.
    pub fn peek_header(sealed: &SealedFile) -> Result<BundleHeader, crate::DecodeError> {
        crate::codec::decode(&sealed.header)
    }

    /// The member's identity: certificate and key pairs.
    ///
    /// # Errors
    ///
    /// [`CertError::KeyMismatch`] for a bundle whose keys do not match its certificate.
    pub fn local_identity(&self) -> Result<LocalIdentity, CertError> {
        LocalIdentity::new(
            self.certificate.clone(),
            IdentityKeyPair::from_seed(&self.identity_seed),
            AgreementKeyPair::from_bytes(&self.agreement_secret),
        )
    }

    /// The member's certificate.
    #[must_use]
    pub fn certificate(&self) -> &MemberCertificate {
        &self.certificate
    }

    /// How to reach the relay.
    #[must_use]
    pub fn relay(&self) -> &RelayInfo {
        &self.relay
    }

    /// The trusted org roots: the member's own and its partners', with their limits.
    #[must_use]
    pub fn roots(&self) -> &[TrustedRoot] {
        &self.roots
    }

    /// A trust store of the bundle's roots (own without limit, partners within theirs),
    /// without revocation lists.
    ///
    /// # Errors
    ///
    /// [`CertError::BadRootSignature`] or [`CertError::RootConflict`] for a damaged bundle.
    pub fn trust_store(&self) -> Result<TrustStore, CertError> {
        let mut trust = TrustStore::new();
        for TrustedRoot { root, limits } in &self.roots {
            match limits {
                None => trust.add_root(root.clone())?,
                Some(limits) => trust.add_partner(root.clone(), limits.clone())?,
            }
        }
        Ok(trust)
    }

    /// The revocation lists known when the bundle was made.
    #[must_use]
    pub fn revocations(&self) -> &[RevocationList] {
        &self.revocations
    }
}
