//! Signed prekeys and one-time prekeys: what a member publishes so others can start a session
//! while they are offline, and the secret halves they keep.

use std::collections::{BTreeMap, VecDeque};

use bincode::{Decode, Encode};
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::cert::{LocalIdentity, VerifiedCertificate};
use crate::handshake::HandshakeError;
use crate::ids::UserId;
use crate::keys::{
    AgreementKeyPair, AgreementPublicKey, IdentityKeyPair, IdentityPublicKey, Signature,
    SignatureContext,
};
use crate::time::UnixTime;

/// Oldest signed prekey an initiator accepts: 35 days. Clients rotate weekly, so a bundle older
/// than this is one a relay kept back or replays; refusing it bounds how long a stolen signed
/// prekey stays useful.
pub const MAX_SIGNED_PREKEY_AGE_SECS: u64 = 35 * 86_400;

/// How far in the future a signed prekey's creation time may lie: clocks disagree a little.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// Signed prekeys a member keeps after rotation, the current one included: messages sent to a
/// recently rotated key still open, and the oldest secret is erased after five rotations.
pub const MAX_SIGNED_PREKEYS_KEPT: usize = 5;

/// One-time prekeys a member holds at once. A relay hands each out once; 200 covers a weekend
/// of new contacts, and the client refills when the relay says it runs low.
pub const MAX_ONE_TIME_PREKEYS: usize = 200;

/// Handshake base keys remembered per signed prekey, to refuse a replayed first message that
/// used no one-time prekey. Past this the oldest is forgotten (32 bytes each: 128 KiB).
pub const MAX_SEEN_BASE_KEYS: usize = 4096;

/// A prekey's id, chosen by its owner.
pub type PrekeyId = u32;

#[derive(Encode)]
struct SignedPrekeyTbs<'a> {
    user: &'a UserId,
    id: PrekeyId,
    key: &'a AgreementPublicKey,
    created: UnixTime,
}

#[derive(Encode)]
struct OneTimePrekeyTbs<'a> {
    user: &'a UserId,
    id: PrekeyId,
    key: &'a AgreementPublicKey,
}

/// A medium-term X25519 key, signed by its owner's identity key.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedPrekey {
    pub id: PrekeyId,
    /// The public key.
    pub key: AgreementPublicKey,
    /// When it was created; bundles older than [`MAX_SIGNED_PREKEY_AGE_SECS`] are refused.
    pub created: UnixTime,
    /// The owner's identity signature over user id, id, key and creation time.
    pub signature: Signature,
}

/// A single-use X25519 key, signed by its owner's identity key.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct OneTimePrekey {
    pub id: PrekeyId,
    /// The public key.
    pub key: AgreementPublicKey,
    /// The owner's identity signature over user id, id and key.
    pub signature: Signature,
}

/// What an initiator fetches from the directory to start a session with `user`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PrekeyBundle {
    pub user: UserId,
    /// The owner's identity key (must match their certificate).
    pub identity_key: IdentityPublicKey,
    /// The current signed prekey.
    pub signed_prekey: SignedPrekey,
    /// A one-time prekey, if the relay had one left.
    pub one_time_prekey: Option<OneTimePrekey>,
}

impl PrekeyBundle {
    /// Checks the bundle belongs to `owner`, its signatures, and the signed prekey's age.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::BundleMismatch`], [`HandshakeError::BadPrekeySignature`] or
    /// [`HandshakeError::StaleSignedPrekey`].
    pub fn verify(&self, owner: &VerifiedCertificate, now: UnixTime) -> Result<(), HandshakeError> {
        let body = owner.body();
        if self.user != body.user || self.identity_key != body.identity_key {
            return Err(HandshakeError::BundleMismatch {
                user: body.user.clone(),
            });
        }
        let bad = || HandshakeError::BadPrekeySignature {
            user: body.user.clone(),
        };
        let spk = &self.signed_prekey;
        let tbs = SignedPrekeyTbs {
            user: &self.user,
            id: spk.id,
            key: &spk.key,
            created: spk.created,
        };
        self.identity_key
            .verify(
                SignatureContext::SignedPrekey,
                &crate::codec::encode(&tbs),
                &spk.signature,
            )
            .map_err(|_| bad())?;
        if let Some(otk) = &self.one_time_prekey {
            let tbs = OneTimePrekeyTbs {
                user: &self.user,
                id: otk.id,
                key: &otk.key,
            };
            self.identity_key
                .verify(
                    SignatureContext::OneTimePrekey,
                    &crate::codec::encode(&tbs),
                    &otk.signature,
                )
                .map_err(|_| bad())?;
        }
        let too_old = now.secs_since(spk.created) > MAX_SIGNED_PREKEY_AGE_SECS;
        let too_new = spk.created.secs_since(now) > MAX_CLOCK_SKEW_SECS;
        if too_old || too_new {
            return Err(HandshakeError::StaleSignedPrekey {
                user: body.user.clone(),
                created: spk.created,
                now,
            });
        }
        Ok(())
    }
}

struct SignedSecret {
    public: SignedPrekey,
    pair: AgreementKeyPair,
    seen_base_keys: VecDeque<AgreementPublicKey>,
}

struct OneTimeSecret {
    public: OneTimePrekey,
    pair: AgreementKeyPair,
}

/// The secret halves of a member's prekeys, kept in their sealed store.
pub struct PrekeyStore {
    user: UserId,
    /// Oldest first; the last is current.
    signed: VecDeque<SignedSecret>,
    one_time: BTreeMap<PrekeyId, OneTimeSecret>,
    next_id: PrekeyId,
}

impl std::fmt::Debug for PrekeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrekeyStore")
            .field("user", &self.user)
            .field(
                "signed_prekeys",
                &self.signed.iter().map(|s| s.public.id).collect::<Vec<_>>(),
            )
            .field("one_time_prekeys", &self.one_time.len())
            .field("secrets", &"[secret elided]")
            .finish()
    }
}

impl PrekeyStore {
    /// A store with a fresh signed prekey and no one-time prekeys.
    #[must_use]
    pub fn new(rng: &mut impl CryptoRngCore, local: &LocalIdentity, now: UnixTime) -> Self {
        let mut store = Self {
            user: local.user().clone(),
            signed: VecDeque::new(),
            one_time: BTreeMap::new(),
            next_id: 1,
        };
        store.rotate_signed_prekey(rng, local.identity(), now);
        store
    }

    fn take_id(&mut self) -> PrekeyId {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// Makes a new current signed prekey; keeps the last [`MAX_SIGNED_PREKEYS_KEPT`].
    pub fn rotate_signed_prekey(
        &mut self,
        rng: &mut impl CryptoRngCore,
        identity: &IdentityKeyPair,
        now: UnixTime,
    ) -> SignedPrekey {
        let id = self.take_id();
        let pair = AgreementKeyPair::generate(rng);
        let key = pair.public();
        let tbs = SignedPrekeyTbs {
            user: &self.user,
            id,
            key: &key,
            created: now,
        };
        let signature = identity.sign(SignatureContext::SignedPrekey, &crate::codec::encode(&tbs));
        let public = SignedPrekey {
            id,
            key,
            created: now,
            signature,
        };
        self.signed.push_back(SignedSecret {
            public: public.clone(),
            pair,
            seen_base_keys: VecDeque::new(),
        });
        while self.signed.len() > MAX_SIGNED_PREKEYS_KEPT {
            self.signed.pop_front();
        }
        public
    }

    /// Generates up to `count` one-time prekeys, never holding more than
    /// [`MAX_ONE_TIME_PREKEYS`]; returns the public halves to upload.
    pub fn generate_one_time_prekeys(
        &mut self,
        rng: &mut impl CryptoRngCore,
        identity: &IdentityKeyPair,
        count: usize,
    ) -> Vec<OneTimePrekey> {
        let room = MAX_ONE_TIME_PREKEYS.saturating_sub(self.one_time.len());
        (0..count.min(room))
            .map(|_| {
                let id = self.take_id();
                let pair = AgreementKeyPair::generate(rng);
                let key = pair.public();
                let tbs = OneTimePrekeyTbs {
                    user: &self.user,
                    id,
                    key: &key,
                };
                let signature =
                    identity.sign(SignatureContext::OneTimePrekey, &crate::codec::encode(&tbs));
                let public = OneTimePrekey { id, key, signature };
                self.one_time.insert(
                    id,
                    OneTimeSecret {
                        public: public.clone(),
                        pair,
                    },
                );
                public
            })
            .collect()
    }

    /// The current signed prekey.
    #[must_use]
    pub fn signed_prekey(&self) -> Option<&SignedPrekey> {
        self.signed.back().map(|s| &s.public)
    }

    /// One-time prekeys not yet used.
    #[must_use]
    pub fn one_time_prekeys(&self) -> Vec<OneTimePrekey> {
        self.one_time.values().map(|s| s.public.clone()).collect()
    }

    /// A bundle for this member, e.g. for a directory or a test.
    #[must_use]
    pub fn bundle(
        &self,
        identity_key: IdentityPublicKey,
        with_one_time: bool,
    ) -> Option<PrekeyBundle> {
        Some(PrekeyBundle {
            user: self.user.clone(),
            identity_key,
            signed_prekey: self.signed_prekey()?.clone(),
            one_time_prekey: if with_one_time {
                self.one_time.values().next().map(|s| s.public.clone())
            } else {
                None
            },
        })
    }

    /// Looks up the secrets a first message names and checks it is not a replay. Changes
    /// nothing: the caller calls [`Self::consume`] once the message decrypted.
    pub(crate) fn lookup(
        &self,
        signed_id: PrekeyId,
        one_time_id: Option<PrekeyId>,
        base_key: &AgreementPublicKey,
    ) -> Result<(&AgreementKeyPair, Option<&AgreementKeyPair>), HandshakeError> {
        let signed = self
            .signed
            .iter()
            .find(|s| s.public.id == signed_id)
            .ok_or(HandshakeError::UnknownSignedPrekey { id: signed_id })?;
        if signed.seen_base_keys.contains(base_key) {
            return Err(HandshakeError::ReplayedPrekeyMessage);
        }
        let one_time = match one_time_id {
            Some(id) => Some(
                &self
                    .one_time
                    .get(&id)
                    .ok_or(HandshakeError::UnknownOneTimePrekey { id })?
                    .pair,
            ),
            None => None,
        };
        Ok((&signed.pair, one_time))
    }

    /// Erases the one-time prekey a first message used and remembers its base key.
    pub(crate) fn consume(
        &mut self,
        signed_id: PrekeyId,
        one_time_id: Option<PrekeyId>,
        base_key: AgreementPublicKey,
    ) {
        if let Some(id) = one_time_id {
            self.one_time.remove(&id);
        }
        if let Some(signed) = self.signed.iter_mut().find(|s| s.public.id == signed_id) {
            signed.seen_base_keys.push_back(base_key);
            while signed.seen_base_keys.len() > MAX_SEEN_BASE_KEYS {
                signed.seen_base_keys.pop_front();
            }
        }
    }

    /// The store as bytes, for sealing into the client's encrypted store.
    ///
    /// # Security
    ///
    /// Contains secret keys: never write it anywhere unencrypted.
    #[must_use]
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let pickle = PrekeyStorePickle {
            user: self.user.clone(),
            signed: self
                .signed
                .iter()
                .map(|s| SignedPickle {
                    public: s.public.clone(),
                    secret: *s.pair.to_bytes(),
                    seen_base_keys: s.seen_base_keys.iter().copied().collect(),
                })
                .collect(),
            one_time: self
                .one_time
                .values()
                .map(|s| OneTimePickle {
                    public: s.public.clone(),
                    secret: *s.pair.to_bytes(),
                })
                .collect(),
            next_id: self.next_id,
        };
        zeroize::Zeroizing::new(crate::codec::encode(&pickle))
    }

    /// Restores a store written by [`Self::to_bytes`].
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`] when the bytes are not a prekey store, or break its limits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        let mut pickle: PrekeyStorePickle = crate::codec::decode(bytes)?;
        if pickle.signed.len() > MAX_SIGNED_PREKEYS_KEPT
            || pickle.one_time.len() > MAX_ONE_TIME_PREKEYS
            || pickle
                .signed
                .iter()
                .any(|s| s.seen_base_keys.len() > MAX_SEEN_BASE_KEYS)
        {
            return Err(crate::DecodeError::Malformed(
                "prekey store exceeds its limits".into(),
            ));
        }
        let signed = pickle
            .signed
            .iter_mut()
            .map(|s| SignedSecret {
                public: s.public.clone(),
                pair: AgreementKeyPair::from_bytes(&s.secret),
                seen_base_keys: std::mem::take(&mut s.seen_base_keys).into(),
            })
            .collect();
        let one_time = pickle
            .one_time
            .iter()
            .map(|s| {
                let secret = OneTimeSecret {
                    public: s.public.clone(),
                    pair: AgreementKeyPair::from_bytes(&s.secret),
                };
                (s.public.id, secret)
            })
            .collect();
        Ok(Self {
            user: pickle.user.clone(),
            signed,
            one_time,
            next_id: pickle.next_id,
        })
    }
}

#[derive(Encode, Decode, Zeroize, ZeroizeOnDrop)]
struct SignedPickle {
    #[zeroize(skip)]
    public: SignedPrekey,
    secret: [u8; 32],
    #[zeroize(skip)]
    seen_base_keys: Vec<AgreementPublicKey>,
}

#[derive(Encode, Decode, Zeroize, ZeroizeOnDrop)]
struct OneTimePickle {
    #[zeroize(skip)]
    public: OneTimePrekey,
    secret: [u8; 32],
}

#[derive(Encode, Decode, Zeroize, ZeroizeOnDrop)]
struct PrekeyStorePickle {
    #[zeroize(skip)]
    user: UserId,
    signed: Vec<SignedPickle>,
    one_time: Vec<OneTimePickle>,
    next_id: PrekeyId,
}
