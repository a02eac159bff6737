//! The X3DH-style handshake that starts a 1:1 session.
//!
//! Initiator A, responder B. B has published a signed prekey `SPK` and one-time prekeys `OPK`.
//! A picks an ephemeral base key `EK` and computes, refusing any all-zero result:
//!
//! ```text
//! DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)   [DH4 = DH(EK_A, OPK_B)]
//! SK  = HKDF-SHA256(salt = 0^32, ikm = 0xFF^32 || DH1 || DH2 || DH3 [|| DH4],
//!                   info = "vigil/1 x3dh\0" || AD)
//! ```
//!
//! where `IK` are the long-term X25519 agreement keys bound by the certificates and `AD` is the
//! session associated data: the protocol version, then each party's user id, Ed25519 identity
//! key and X25519 agreement key, initiator first. `SK` is the Double Ratchet's first root key.

use bincode::Encode;
use rand_core::CryptoRngCore;

use crate::cert::{CertError, LocalIdentity, VerifiedCertificate};
use crate::crypto::{DecryptError, Secret32, kdf};
use crate::ids::UserId;
use crate::keys::{AgreementKeyPair, AgreementPublicKey, IdentityPublicKey, NonContributoryError};
use crate::prekey::{PrekeyBundle, PrekeyId};
use crate::time::UnixTime;

const X3DH_INFO: &[u8] = b"vigil/1 x3dh\0";

/// A session could not be started or accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The peer's certificate was refused.
    #[error(transparent)]
    Certificate(#[from] CertError),
    /// The prekey bundle names another user or identity key than the certificate.
    #[error("prekey bundle does not belong to the certificate of {user}")]
    BundleMismatch {
        /// The certificate's user.
        user: UserId,
    },
    /// A prekey's signature by its owner's identity key does not verify.
    #[error("a prekey of {user} does not carry a valid signature of their identity key")]
    BadPrekeySignature { user: UserId },
    /// The signed prekey is too old (or from the future): a stale or replayed bundle.
    #[error(
        "signed prekey of {user} was created at {created}, outside the accepted window (now {now})"
    )]
    StaleSignedPrekey {
        user: UserId,
        /// Its creation time.
        created: UnixTime,
        /// The time of the check.
        now: UnixTime,
    },
    /// A Diffie-Hellman result was all zeros.
    #[error(transparent)]
    NonContributory(#[from] NonContributoryError),
    /// A first message addressed to someone else, or to another identity key of ours.
    #[error("first message is addressed to {recipient}, not to us")]
    NotForUs {
        /// The addressee it names.
        recipient: UserId,
    },
    /// A first message names a signed prekey we do not hold (never ours, or rotated out).
    #[error("first message uses signed prekey {id}, which we do not hold")]
    UnknownSignedPrekey {
        /// The id it names.
        id: PrekeyId,
    },
    /// A first message names a one-time prekey we do not hold: already used, or never ours.
    #[error("first message uses one-time prekey {id}, which is already used or unknown")]
    UnknownOneTimePrekey {
        /// The id it names.
        id: PrekeyId,
    },
    /// A first message whose handshake we already accepted.
    #[error("replayed first message: this handshake was already accepted")]
    ReplayedPrekeyMessage,
    /// The first message did not decrypt.
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    /// The first message was structurally invalid for the ratchet.
    #[error(transparent)]
    Session(#[from] crate::ratchet::SessionError),
}

/// One party as bound into the session associated data.
#[derive(Clone, Debug, PartialEq, Eq, Encode, bincode::Decode)]
pub(crate) struct Party {
    pub(crate) user: UserId,
    pub(crate) identity_key: IdentityPublicKey,
    pub(crate) agreement_key: AgreementPublicKey,
}

impl Party {
    pub(crate) fn of(certificate: &crate::MemberCertificate) -> Self {
        let body = certificate.body();
        Self {
            user: body.user.clone(),
            identity_key: body.identity_key,
            agreement_key: body.agreement_key,
        }
    }
}

#[derive(Encode)]
struct SessionAd<'a> {
    initiator: &'a Party,
    responder: &'a Party,
}

/// The session associated data: version byte, then initiator and responder.
pub(crate) fn session_ad(initiator: &Party, responder: &Party) -> Vec<u8> {
    crate::codec::encode(&SessionAd {
        initiator,
        responder,
    })
}

/// What the initiator needs to start its ratchet and to write its first messages.
pub(crate) struct Initiated {
    pub(crate) root_key: Secret32,
    pub(crate) ad: Vec<u8>,
    pub(crate) remote: Party,
    pub(crate) base_key: AgreementPublicKey,
    pub(crate) their_signed_prekey: AgreementPublicKey,
    pub(crate) signed_prekey_id: PrekeyId,
    pub(crate) one_time_prekey_id: Option<PrekeyId>,
}

fn derive_root(dhs: &[&[u8; 32]], ad: &[u8]) -> Secret32 {
    let mut ikm = zeroize::Zeroizing::new(Vec::with_capacity(32 * (dhs.len() + 1)));
    ikm.extend_from_slice(&[0xFF; 32]);
    for dh in dhs {
        ikm.extend_from_slice(dh.as_slice());
    }
    let sk: zeroize::Zeroizing<[u8; 32]> = kdf::hkdf_sha256(&[0u8; 32], &ikm, &[X3DH_INFO, ad]);
    Secret32::from_slice(&sk)
}

/// The initiator's half: verifies `bundle` against `remote` and derives the first root key.
pub(crate) fn initiate(
    rng: &mut impl CryptoRngCore,
    local: &LocalIdentity,
    remote: &VerifiedCertificate,
    bundle: &PrekeyBundle,
    now: UnixTime,
) -> Result<Initiated, HandshakeError> {
    bundle.verify(remote, now)?;
    let base = AgreementKeyPair::generate(rng);
    let spk = bundle.signed_prekey.key;
    let their_ik = remote.body().agreement_key;
    let dh1 = local.agreement().diffie_hellman(&spk)?;
    let dh2 = base.diffie_hellman(&their_ik)?;
    let dh3 = base.diffie_hellman(&spk)?;
    let dh4 = bundle
        .one_time_prekey
        .as_ref()
        .map(|otk| base.diffie_hellman(&otk.key))
        .transpose()?;
    let me = Party::of(local.certificate());
    let them = Party::of(remote.certificate());
    let ad = session_ad(&me, &them);
    let mut dhs = vec![&*dh1, &*dh2, &*dh3];
    if let Some(dh4) = &dh4 {
        dhs.push(dh4);
    }
    Ok(Initiated {
        root_key: derive_root(&dhs, &ad),
        ad,
        remote: them,
        base_key: base.public(),
        their_signed_prekey: spk,
        signed_prekey_id: bundle.signed_prekey.id,
        one_time_prekey_id: bundle.one_time_prekey.as_ref().map(|k| k.id),
    })
}

/// The responder's half: derives the root key from the prekey secrets a first message names.
pub(crate) fn respond(
    local: &LocalIdentity,
    sender: &VerifiedCertificate,
    signed_prekey: &AgreementKeyPair,
    one_time_prekey: Option<&AgreementKeyPair>,
    base_key: &AgreementPublicKey,
) -> Result<(Secret32, Vec<u8>), HandshakeError> {
    let their_ik = sender.body().agreement_key;
    let dh1 = signed_prekey.diffie_hellman(&their_ik)?;
    let dh2 = local.agreement().diffie_hellman(base_key)?;
    let dh3 = signed_prekey.diffie_hellman(base_key)?;
    let dh4 = one_time_prekey
        .map(|otk| otk.diffie_hellman(base_key))
        .transpose()?;
    let ad = session_ad(
        &Party::of(sender.certificate()),
        &Party::of(local.certificate()),
    );
    let mut dhs = vec![&*dh1, &*dh2, &*dh3];
    if let Some(dh4) = &dh4 {
        dhs.push(dh4);
    }
    Ok((derive_root(&dhs, &ad), ad))
}
