//! The stored form of a channel view, sealed by the client into its store.

use super::sender::{MAX_GENERATIONS_KEPT, MAX_SKIPPED_PER_SENDER, ReceivingChain, SendingChain};
use super::state::SignedChannelState;
use super::view::{ChannelView, KeptState, MAX_KEPT_STATES, MAX_PAST_EPOCHS};
use crate::crypto::Secret32;
use crate::ids::UserId;
use crate::keys::{IdentityKeyPair, IdentityPublicKey};

#[derive(bincode::Encode, bincode::Decode, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct SendingPickle {
    epoch: u64,
    generation: u32,
    key: [u8; 32],
    index: u32,
    signing_seed: [u8; 32],
}

#[derive(bincode::Encode, bincode::Decode, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct ReceivingPickle {
    epoch: u64,
    generation: u32,
    #[zeroize(skip)]
    sender: UserId,
    #[zeroize(skip)]
    signing_key: IdentityPublicKey,
    key: [u8; 32],
    next: u32,
    skipped: Vec<(u32, [u8; 32])>,
}

#[derive(bincode::Encode, bincode::Decode, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct ViewPickle {
    #[zeroize(skip)]
    me: UserId,
    #[zeroize(skip)]
    head: SignedChannelState,
    #[zeroize(skip)]
    kept: Vec<KeptState>,
    own: Option<SendingPickle>,
    receiving: Vec<ReceivingPickle>,
}

impl ChannelView {
    /// The view as bytes, for sealing into the client's store.
    ///
    /// # Security
    ///
    /// Contains sender keys: never write it anywhere unencrypted.
    #[must_use]
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let pickle = ViewPickle {
            me: self.me.clone(),
            head: self.head.clone(),
            kept: self
                .kept
                .iter()
                .map(|k| KeptState {
                    hash: k.hash,
                    epoch: k.epoch,
                    label: k.label.clone(),
                    membership: k.membership,
                    applied_at: k.applied_at,
                    newcomers: k.newcomers.clone(),
                })
                .collect(),
            own: self.own.as_ref().map(|o| SendingPickle {
                epoch: o.epoch,
                generation: o.generation,
                key: *o.key.expose(),
                index: o.index,
                signing_seed: *o.signing.to_seed(),
            }),
            receiving: self
                .receiving
                .iter()
                .map(|((epoch, sender, generation), chain)| ReceivingPickle {
                    epoch: *epoch,
                    generation: *generation,
                    sender: sender.clone(),
                    signing_key: chain.signing_key,
                    key: *chain.key.expose(),
                    next: chain.next,
                    skipped: chain
                        .skipped
                        .iter()
                        .map(|(i, k)| (*i, *k.expose()))
                        .collect(),
                })
                .collect(),
        };
        zeroize::Zeroizing::new(crate::codec::encode(&pickle))
    }

    /// Restores a view written by [`Self::to_bytes`]. The head state was verified when it was
    /// applied; it is not verified again.
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`] for bytes that are not a view or break its limits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        let mut pickle: ViewPickle = crate::codec::decode(bytes)?;
        let epochs = usize::try_from(MAX_PAST_EPOCHS)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let generations = usize::try_from(MAX_GENERATIONS_KEPT).unwrap_or(usize::MAX);
        let max_chains = super::state::MAX_MEMBERS
            .saturating_mul(epochs)
            .saturating_mul(generations);
        if pickle.kept.is_empty()
            || pickle.kept.len() > MAX_KEPT_STATES
            || pickle.receiving.len() > max_chains
            || pickle
                .receiving
                .iter()
                .any(|r| r.skipped.len() > MAX_SKIPPED_PER_SENDER)
        {
            return Err(crate::DecodeError::Malformed(
                "channel view exceeds its limits".into(),
            ));
        }
        let own = pickle.own.as_ref().map(|o| SendingChain {
            epoch: o.epoch,
            generation: o.generation,
            key: Secret32::from_slice(&o.key),
            index: o.index,
            signing: IdentityKeyPair::from_seed(&o.signing_seed),
        });
        let receiving = pickle
            .receiving
            .iter()
            .map(|r| {
                let chain = ReceivingChain {
                    signing_key: r.signing_key,
                    key: Secret32::from_slice(&r.key),
                    next: r.next,
                    skipped: r
                        .skipped
                        .iter()
                        .map(|(i, k)| (*i, Secret32::from_slice(k)))
                        .collect(),
                };
                ((r.epoch, r.sender.clone(), r.generation), chain)
            })
            .collect();
        Ok(Self {
            me: pickle.me.clone(),
            head: pickle.head.clone(),
            kept: std::mem::take(&mut pickle.kept).into(),
            own,
            receiving,
        })
    }
}
