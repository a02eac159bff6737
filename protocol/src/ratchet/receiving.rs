//! Receiving chains and the message keys skipped in them.

use std::collections::{BTreeMap, VecDeque};

use super::chain_key::ChainKey;
use super::message_key::MessageKey;
use super::{MAX_MESSAGE_GAP, MAX_RECEIVING_CHAINS, MAX_SKIPPED_KEYS, SessionError};
use crate::keys::AgreementPublicKey;

/// One chain of the peer's messages, named by the peer's ratchet key.
#[derive(Debug)]
pub(super) struct ReceivingChain {
    pub(super) ratchet_key: AgreementPublicKey,
    /// Derives the key of the next message not yet seen.
    pub(super) chain: ChainKey,
    /// Keys of messages skipped over, by counter.
    pub(super) skipped: BTreeMap<u32, MessageKey>,
    /// Set when the peer moved to a new chain: the number of messages it sent on this one.
    pub(super) final_length: Option<u32>,
}

/// Keys derived ahead in a chain, not yet committed.
#[derive(Debug)]
pub(super) struct Derived {
    /// The chain after the message.
    pub(super) advanced: ChainKey,
    /// Keys of the messages skipped on the way.
    pub(super) skipped: Vec<MessageKey>,
    /// The message's key.
    pub(super) key: MessageKey,
}

impl Derived {
    /// Derives from `start` up to `counter`, at most [`MAX_MESSAGE_GAP`] keys ahead.
    pub(super) fn new(start: &ChainKey, counter: u32) -> Result<Self, SessionError> {
        let Some(gap) = counter.checked_sub(start.index()) else {
            return Err(SessionError::Replayed { counter });
        };
        if gap > MAX_MESSAGE_GAP {
            return Err(SessionError::GapTooLarge {
                gap: u64::from(gap),
                max: MAX_MESSAGE_GAP,
            });
        }
        let mut advanced = start.duplicate();
        let mut skipped = Vec::with_capacity(gap as usize);
        loop {
            let key = advanced.step().ok_or(SessionError::ChainExhausted)?;
            if key.index() == counter {
                return Ok(Self {
                    advanced,
                    skipped,
                    key,
                });
            }
            skipped.push(key);
        }
    }
}

/// Where the key of an incoming message is; nothing changes until it is committed.
#[derive(Debug)]
pub(super) enum Lookup {
    /// A stored skipped key.
    Skipped { chain: usize, counter: u32 },
    /// Derived ahead in an existing chain.
    Ahead { chain: usize, derived: Derived },
    /// The message starts a new chain.
    NewChain,
}

/// The receiving chains of a session, oldest first.
#[derive(Debug, Default)]
pub(super) struct ReceivingChains {
    pub(super) chains: VecDeque<ReceivingChain>,
}

impl ReceivingChains {
    /// Finds where the key for (`ratchet_key`, `counter`) comes from.
    pub(super) fn lookup(
        &self,
        ratchet_key: &AgreementPublicKey,
        counter: u32,
    ) -> Result<Lookup, SessionError> {
        let Some((position, chain)) = self
            .chains
            .iter()
            .enumerate()
            .find(|(_, c)| &c.ratchet_key == ratchet_key)
        else {
            return Ok(Lookup::NewChain);
        };
        if counter < chain.chain.index() {
            return if chain.skipped.contains_key(&counter) {
                Ok(Lookup::Skipped {
                    chain: position,
                    counter,
                })
            } else {
                Err(SessionError::Replayed { counter })
            };
        }
        if chain.final_length.is_some_and(|len| counter >= len) {
            // The peer said this chain ended before `counter`: only a forgery claims otherwise.
            return Err(SessionError::Decrypt(crate::DecryptError));
        }
        Ok(Lookup::Ahead {
            chain: position,
            derived: Derived::new(&chain.chain, counter)?,
        })
    }

    /// The stored key a [`Lookup::Skipped`] names.
    pub(super) fn skipped_key(&self, chain: usize, counter: u32) -> Option<&MessageKey> {
        self.chains.get(chain)?.skipped.get(&counter)
    }

    /// Erases a skipped key once its message decrypted.
    pub(super) fn remove_skipped(&mut self, chain: usize, counter: u32) {
        if let Some(c) = self.chains.get_mut(chain) {
            c.skipped.remove(&counter);
        }
    }

    /// Commits keys derived ahead in chain `chain` once its message decrypted.
    pub(super) fn commit_ahead(&mut self, chain: usize, derived: Derived) {
        if let Some(c) = self.chains.get_mut(chain) {
            c.chain = derived.advanced;
            c.skipped
                .extend(derived.skipped.into_iter().map(|k| (k.index(), k)));
        }
        self.enforce_skipped_limit();
    }

    /// Adds a new chain whose first message decrypted. The peer's previous chain, ours newest,
    /// ended after `previous_chain_length` messages.
    pub(super) fn push(
        &mut self,
        ratchet_key: AgreementPublicKey,
        derived: Derived,
        previous_chain_length: u32,
    ) {
        if let Some(newest) = self.chains.back_mut() {
            newest.final_length = Some(previous_chain_length);
            newest
                .skipped
                .retain(|&counter, _| counter < previous_chain_length);
        }
        self.chains.push_back(ReceivingChain {
            ratchet_key,
            chain: derived.advanced,
            skipped: derived
                .skipped
                .into_iter()
                .map(|k| (k.index(), k))
                .collect(),
            final_length: None,
        });
        while self.chains.len() > MAX_RECEIVING_CHAINS {
            self.chains.pop_front();
        }
        self.enforce_skipped_limit();
    }

    /// Number of stored skipped keys.
    pub(super) fn skipped_count(&self) -> usize {
        self.chains.iter().map(|c| c.skipped.len()).sum()
    }

    /// Erases the oldest skipped keys (oldest chain, lowest counter first) beyond the limit.
    fn enforce_skipped_limit(&mut self) {
        let mut excess = self.skipped_count().saturating_sub(MAX_SKIPPED_KEYS);
        for chain in &mut self.chains {
            while excess > 0 && chain.skipped.pop_first().is_some() {
                excess -= 1;
            }
        }
    }
}
