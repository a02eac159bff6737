//! A 1:1 session: the handshake's result driven by the Double Ratchet.

use rand_core::CryptoRngCore;

use super::SessionError;
use super::chain_key::ChainKey;
use super::receiving::{Derived, Lookup, ReceivingChains};
use super::root_key::RootKey;
use crate::cert::{LocalIdentity, MemberCertificate, TrustStore, VerifiedCertificate};
use crate::handshake::{self, HandshakeError, Party};
use crate::ids::UserId;
use crate::keys::{AgreementKeyPair, AgreementPublicKey, IdentityPublicKey};
use crate::message::{Envelope, MAX_PLAINTEXT_LEN, PrekeyMessage, RatchetHeader, RatchetMessage};
use crate::prekey::{PrekeyBundle, PrekeyId, PrekeyStore};
use crate::time::UnixTime;

/// What the initiator repeats in every message until the responder first answers.
#[derive(Clone, Debug)]
pub(super) struct PendingPrekey {
    pub(super) sender: MemberCertificate,
    pub(super) recipient: UserId,
    pub(super) recipient_identity: IdentityPublicKey,
    pub(super) signed_prekey_id: PrekeyId,
    pub(super) one_time_prekey_id: Option<PrekeyId>,
}

/// An end-to-end encrypted session with one peer.
///
/// Created by [`Session::initiate`] or [`Session::accept`]; saved and restored with
/// [`Session::to_bytes`] and [`Session::from_bytes`] so the client can seal it in its store.
pub struct Session {
    /// Session associated data: version, initiator, responder.
    pub(super) ad: Vec<u8>,
    pub(super) remote: Party,
    /// The initiator's base key: names the handshake this session came from.
    pub(super) base_key: AgreementPublicKey,
    pub(super) root_key: RootKey,
    pub(super) our_ratchet: AgreementKeyPair,
    pub(super) their_ratchet: Option<AgreementPublicKey>,
    /// `None` when the next message starts a new ratchet step.
    pub(super) sending: Option<ChainKey>,
    pub(super) previous_sending_length: u32,
    pub(super) receiving: ReceivingChains,
    pub(super) pending_prekey: Option<PendingPrekey>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured so that a new field forces a decision about printing it.
        let Self {
            ad: _,
            remote,
            base_key,
            root_key: _,
            our_ratchet,
            their_ratchet,
            sending,
            previous_sending_length,
            receiving,
            pending_prekey,
        } = self;
        f.debug_struct("Session")
            .field("remote", &remote.user)
            .field("base_key", base_key)
            .field("our_ratchet", &our_ratchet.public())
            .field("their_ratchet", their_ratchet)
            .field("sending_counter", &sending.as_ref().map(ChainKey::index))
            .field("previous_sending_length", previous_sending_length)
            .field("receiving_chains", &receiving.chains.len())
            .field("skipped_keys", &receiving.skipped_count())
            .field("established", &pending_prekey.is_none())
            .field("secrets", &"[secret elided]")
            .finish()
    }
}

impl Session {
    /// Starts a session with `remote` from their prekey `bundle`. The first messages are
    /// [`Envelope::Prekey`] until the peer answers.
    ///
    /// # Errors
    ///
    /// [`HandshakeError`] when the bundle does not belong to `remote`, a signature does not
    /// verify, the signed prekey is stale, or a key is of low order.
    pub fn initiate(
        rng: &mut impl CryptoRngCore,
        local: &LocalIdentity,
        remote: &VerifiedCertificate,
        bundle: &PrekeyBundle,
        now: UnixTime,
    ) -> Result<Self, HandshakeError> {
        let init = handshake::initiate(rng, local, remote, bundle, now)?;
        Ok(Self {
            ad: init.ad,
            base_key: init.base_key,
            root_key: RootKey::new(init.root_key),
            // Replaced before the first message: `sending` is `None`.
            our_ratchet: AgreementKeyPair::generate(rng),
            their_ratchet: Some(init.their_signed_prekey),
            sending: None,
            previous_sending_length: 0,
            receiving: ReceivingChains::default(),
            pending_prekey: Some(PendingPrekey {
                sender: local.certificate().clone(),
                recipient: init.remote.user.clone(),
                recipient_identity: init.remote.identity_key,
                signed_prekey_id: init.signed_prekey_id,
                one_time_prekey_id: init.one_time_prekey_id,
            }),
            remote: init.remote,
        })
    }

    /// Accepts a first message: verifies the sender's certificate, completes the handshake with
    /// the prekeys it names, and decrypts it. `prekeys` changes (the one-time prekey is erased)
    /// only when the message decrypted.
    ///
    /// # Errors
    ///
    /// [`HandshakeError`]: not addressed to us, sender certificate refused, unknown or used
    /// prekeys, a replayed handshake, or a message that does not decrypt.
    pub fn accept(
        local: &LocalIdentity,
        prekeys: &mut PrekeyStore,
        trust: &TrustStore,
        message: &PrekeyMessage,
        now: UnixTime,
    ) -> Result<(Self, Vec<u8>), HandshakeError> {
        let me = local.certificate().body();
        if message.recipient != me.user || message.recipient_identity != me.identity_key {
            return Err(HandshakeError::NotForUs {
                recipient: message.recipient.clone(),
            });
        }
        let sender = trust.verify_certificate(&message.sender, now)?;
        let (signed, one_time) = prekeys.lookup(
            message.signed_prekey_id,
            message.one_time_prekey_id,
            &message.base_key,
        )?;
        let (root_key, ad) =
            handshake::respond(local, &sender, signed, one_time, &message.base_key)?;
        let mut session = Self {
            ad,
            remote: Party::of(sender.certificate()),
            base_key: message.base_key,
            root_key: RootKey::new(root_key),
            our_ratchet: AgreementKeyPair::from_bytes(&signed.to_bytes()),
            their_ratchet: None,
            sending: None,
            previous_sending_length: 0,
            receiving: ReceivingChains::default(),
            pending_prekey: None,
        };
        let plaintext = session.decrypt_message(&message.message)?;
        prekeys.consume(
            message.signed_prekey_id,
            message.one_time_prekey_id,
            message.base_key,
        );
        Ok((session, plaintext))
    }

    /// The peer's user id.
    #[must_use]
    pub fn remote_user(&self) -> &UserId {
        &self.remote.user
    }

    /// The peer's identity key, as certified when the session started.
    #[must_use]
    pub fn remote_identity(&self) -> &IdentityPublicKey {
        &self.remote.identity_key
    }

    /// The handshake's base key: a second first message with the same base key belongs to this
    /// session; one with another base key starts a new session.
    #[must_use]
    pub fn base_key(&self) -> &AgreementPublicKey {
        &self.base_key
    }

    /// Whether the peer has answered yet (until then messages are [`Envelope::Prekey`]).
    #[must_use]
    pub fn is_established(&self) -> bool {
        self.pending_prekey.is_none()
    }

    /// Encrypts `plaintext` for the peer.
    ///
    /// # Errors
    ///
    /// [`SessionError::TooLong`] past [`MAX_PLAINTEXT_LEN`]; [`SessionError::NonContributory`]
    /// if the peer's ratchet key is of low order; [`SessionError::ChainExhausted`].
    pub fn encrypt(
        &mut self,
        rng: &mut impl CryptoRngCore,
        plaintext: &[u8],
    ) -> Result<Envelope, SessionError> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(SessionError::TooLong {
                len: plaintext.len(),
                max: MAX_PLAINTEXT_LEN,
            });
        }
        let chain = match &mut self.sending {
            Some(chain) => chain,
            None => {
                let their = self.their_ratchet.ok_or(SessionError::OtherHandshake)?;
                let ours = AgreementKeyPair::generate(rng);
                let (root, chain) = self.root_key.advance(&ours, &their)?;
                self.root_key = root;
                self.our_ratchet = ours;
                self.sending.insert(chain)
            }
        };
        let header = RatchetHeader {
            ratchet_key: self.our_ratchet.public(),
            previous_chain_length: self.previous_sending_length,
            counter: chain.index(),
        };
        let key = chain.step().ok_or(SessionError::ChainExhausted)?;
        // A random nonce: a rolled-back session derives this key again, never this pair.
        let (nonce, ciphertext) = key.seal(rng, &message_ad(&self.ad, &header), plaintext);
        let message = RatchetMessage {
            header,
            nonce,
            ciphertext,
        };
        Ok(match &self.pending_prekey {
            None => Envelope::Ratchet(message),
            Some(p) => Envelope::Prekey(Box::new(PrekeyMessage {
                sender: p.sender.clone(),
                recipient: p.recipient.clone(),
                recipient_identity: p.recipient_identity,
                signed_prekey_id: p.signed_prekey_id,
                one_time_prekey_id: p.one_time_prekey_id,
                base_key: self.base_key,
                message,
            })),
        })
    }

    /// Decrypts a message from the peer. On any error the session is unchanged.
    ///
    /// A [`Envelope::Prekey`] must carry this session's handshake; a first message of another
    /// handshake goes to [`Session::accept`] instead.
    ///
    /// # Errors
    ///
    /// [`SessionError`]: forged or tampered ([`SessionError::Decrypt`], opaque), duplicate or
    /// replayed, too far ahead, or of another handshake.
    pub fn decrypt(&mut self, envelope: &Envelope) -> Result<Vec<u8>, SessionError> {
        if let Envelope::Prekey(first) = envelope
            && first.base_key != self.base_key
        {
            return Err(SessionError::OtherHandshake);
        }
        self.decrypt_message(envelope.ratchet_message())
    }

    fn decrypt_message(&mut self, message: &RatchetMessage) -> Result<Vec<u8>, SessionError> {
        let header = &message.header;
        let ad = message_ad(&self.ad, header);
        let plaintext = match self.receiving.lookup(&header.ratchet_key, header.counter)? {
            Lookup::Skipped { chain, counter } => {
                let key = self
                    .receiving
                    .skipped_key(chain, counter)
                    .ok_or(SessionError::Replayed { counter })?;
                let plaintext = key.open(&message.nonce, &ad, &message.ciphertext)?;
                self.receiving.remove_skipped(chain, counter);
                plaintext
            }
            Lookup::Ahead { chain, derived } => {
                let plaintext = derived.key.open(&message.nonce, &ad, &message.ciphertext)?;
                self.receiving.commit_ahead(chain, derived);
                plaintext
            }
            Lookup::NewChain => {
                let (root, chain) = self
                    .root_key
                    .advance(&self.our_ratchet, &header.ratchet_key)?;
                let derived = Derived::new(&chain, header.counter)?;
                let plaintext = derived.key.open(&message.nonce, &ad, &message.ciphertext)?;
                self.receiving
                    .push(header.ratchet_key, derived, header.previous_chain_length);
                self.root_key = root;
                self.their_ratchet = Some(header.ratchet_key);
                if let Some(sending) = self.sending.take() {
                    self.previous_sending_length = sending.index();
                }
                plaintext
            }
        };
        // Anything that decrypted came from a peer that holds the session.
        self.pending_prekey = None;
        Ok(plaintext)
    }
}

/// A message's associated data: the session's (version, both parties), then its header.
fn message_ad(session_ad: &[u8], header: &RatchetHeader) -> Vec<u8> {
    let mut ad = Vec::with_capacity(session_ad.len() + 48);
    ad.extend_from_slice(session_ad);
    crate::codec::encode_into(header, &mut ad);
    ad
}
