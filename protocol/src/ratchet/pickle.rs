//! Saving and restoring a session, so the client can seal it into its store.

use std::collections::{BTreeMap, VecDeque};

use bincode::{Decode, Encode};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::chain_key::ChainKey;
use super::message_key::MessageKey;
use super::receiving::{ReceivingChain, ReceivingChains};
use super::root_key::RootKey;
use super::session::{PendingPrekey, Session};
use super::{MAX_RECEIVING_CHAINS, MAX_SKIPPED_KEYS};
use crate::cert::MemberCertificate;
use crate::crypto::Secret32;
use crate::handshake::Party;
use crate::ids::UserId;
use crate::keys::{AgreementKeyPair, AgreementPublicKey, IdentityPublicKey};
use crate::prekey::PrekeyId;

#[derive(Encode, Decode, Zeroize, ZeroizeOnDrop)]
struct ChainPickle {
    key: [u8; 32],
    index: u32,
}

#[derive(Encode, Decode, Zeroize, ZeroizeOnDrop)]
struct ReceivingPickle {
    #[zeroize(skip)]
    ratchet_key: AgreementPublicKey,
    chain: ChainPickle,
    skipped: Vec<ChainPickle>,
    final_length: Option<u32>,
}

#[derive(Encode, Decode)]
struct PendingPickle {
    sender: MemberCertificate,
    recipient: UserId,
    recipient_identity: IdentityPublicKey,
    signed_prekey_id: PrekeyId,
    one_time_prekey_id: Option<PrekeyId>,
}

#[derive(Encode, Decode, Zeroize, ZeroizeOnDrop)]
struct SessionPickle {
    #[zeroize(skip)]
    ad: Vec<u8>,
    #[zeroize(skip)]
    remote: Party,
    #[zeroize(skip)]
    base_key: AgreementPublicKey,
    root_key: [u8; 32],
    our_ratchet: [u8; 32],
    #[zeroize(skip)]
    their_ratchet: Option<AgreementPublicKey>,
    sending: Option<ChainPickle>,
    previous_sending_length: u32,
    receiving: Vec<ReceivingPickle>,
    #[zeroize(skip)]
    pending_prekey: Option<PendingPickle>,
}

fn chain_pickle(chain: &ChainKey) -> ChainPickle {
    ChainPickle {
        key: *chain.expose(),
        index: chain.index(),
    }
}

fn key_pickle(key: &MessageKey) -> ChainPickle {
    ChainPickle {
        key: *key.expose(),
        index: key.index(),
    }
}

impl Session {
    /// The session state as bytes, for sealing into the client's encrypted store.
    ///
    /// # Security
    ///
    /// Contains the session's secret keys: never write it anywhere unencrypted.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let pickle = SessionPickle {
            ad: self.ad.clone(),
            remote: self.remote.clone(),
            base_key: self.base_key,
            root_key: *self.root_key.expose(),
            our_ratchet: *self.our_ratchet.to_bytes(),
            their_ratchet: self.their_ratchet,
            sending: self.sending.as_ref().map(chain_pickle),
            previous_sending_length: self.previous_sending_length,
            receiving: self
                .receiving
                .chains
                .iter()
                .map(|c| ReceivingPickle {
                    ratchet_key: c.ratchet_key,
                    chain: chain_pickle(&c.chain),
                    skipped: c.skipped.values().map(key_pickle).collect(),
                    final_length: c.final_length,
                })
                .collect(),
            pending_prekey: self.pending_prekey.as_ref().map(|p| PendingPickle {
                sender: p.sender.clone(),
                recipient: p.recipient.clone(),
                recipient_identity: p.recipient_identity,
                signed_prekey_id: p.signed_prekey_id,
                one_time_prekey_id: p.one_time_prekey_id,
            }),
        };
        Zeroizing::new(crate::codec::encode(&pickle))
    }

    /// Restores a session written by [`Session::to_bytes`].
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`] when the bytes are not a session or break its limits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        let mut pickle: SessionPickle = crate::codec::decode(bytes)?;
        let skipped: usize = pickle.receiving.iter().map(|r| r.skipped.len()).sum();
        if pickle.receiving.len() > MAX_RECEIVING_CHAINS || skipped > MAX_SKIPPED_KEYS {
            return Err(crate::DecodeError::Malformed(
                "session exceeds its limits".into(),
            ));
        }
        let chain = |p: &ChainPickle| ChainKey::new(Secret32::from_slice(&p.key), p.index);
        let receiving = pickle
            .receiving
            .iter()
            .map(|r| ReceivingChain {
                ratchet_key: r.ratchet_key,
                chain: chain(&r.chain),
                skipped: r
                    .skipped
                    .iter()
                    .map(|k| {
                        (
                            k.index,
                            MessageKey::new(Secret32::from_slice(&k.key), k.index),
                        )
                    })
                    .collect::<BTreeMap<_, _>>(),
                final_length: r.final_length,
            })
            .collect::<VecDeque<_>>();
        Ok(Self {
            ad: std::mem::take(&mut pickle.ad),
            remote: pickle.remote.clone(),
            base_key: pickle.base_key,
            root_key: RootKey::new(Secret32::from_slice(&pickle.root_key)),
            our_ratchet: AgreementKeyPair::from_bytes(&pickle.our_ratchet),
            their_ratchet: pickle.their_ratchet,
            sending: pickle.sending.as_ref().map(chain),
            previous_sending_length: pickle.previous_sending_length,
            receiving: ReceivingChains { chains: receiving },
            pending_prekey: pickle.pending_prekey.take().map(|p| PendingPrekey {
                sender: p.sender,
                recipient: p.recipient,
                recipient_identity: p.recipient_identity,
                signed_prekey_id: p.signed_prekey_id,
                one_time_prekey_id: p.one_time_prekey_id,
            }),
        })
    }
}
