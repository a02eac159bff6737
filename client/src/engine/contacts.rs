//! Contacts: what we know of other members' certificates, safety numbers and verification.

use vigil_protocol::channel::ChannelId;
use vigil_protocol::keys::IdentityPublicKey;
use vigil_protocol::{MemberCertificate, SafetyNumber, UnixTime, UserId, VerifiedCertificate};

use super::{Engine, EngineError};
use crate::store::Kind;
use crate::trust::{Contact, TrustBook};

/// What we know of a contact: their certificate, verified now, and what we pinned of their
/// keys (none before we first saw them).
#[derive(Clone, Debug)]
pub struct Whois {
    pub certificate: VerifiedCertificate,
    pub pinned: Option<Contact>,
}

/// The record key prefix of the last certificate seen of a contact, in [`Kind::Trust`] (a user
/// id holds no NUL, so it never meets a contact's own key).
const LAST_SEEN: &str = "last-seen-certificate\0";

impl Engine {
    /// Remembers `certificate` (verified) as the last one seen of its member, for
    /// [`Self::contact_certificate`] when we share no channel with them.
    pub(super) fn remember_certificate(
        &self,
        certificate: &MemberCertificate,
    ) -> Result<(), EngineError> {
        let user = &certificate.body().user;
        let key = self
            .store
            .blind(Kind::Trust, &format!("{LAST_SEEN}{}", user.as_str()));
        self.store.put(Kind::Trust, &key, certificate)?;
        Ok(())
    }

    fn last_seen_certificate(
        &self,
        user: &UserId,
    ) -> Result<Option<MemberCertificate>, EngineError> {
        let key = self
            .store
            .blind(Kind::Trust, &format!("{LAST_SEEN}{}", user.as_str()));
        Ok(self.store.get(Kind::Trust, &key)?)
    }

    /// The certificate of `user` as we know it (from our channels), verified now.
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownContact`] when we share no channel with them and never saw their
    /// keys (a member we were refused to invite because their keys changed is known: their
    /// new safety number can be compared before inviting them again);
    /// [`EngineError::Certificate`] when their certificate is refused (untrusted root, expired,
    /// revoked: the reason).
    pub fn contact_certificate(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<VerifiedCertificate, EngineError> {
        let candidates: Vec<MemberCertificate> = if user == self.local.user() {
            vec![self.local.certificate().clone()]
        } else {
            self.channels
                .values()
                .filter_map(|v| v.head().state().member(user).cloned())
                .chain(self.last_seen_certificate(user)?)
                .collect()
        };
        // The newest certificate that is valid now; serials alone do not order certificates of
        // a partner that rotated its root (its serials start again).
        let mut refusal = None;
        let mut best: Option<VerifiedCertificate> = None;
        for certificate in candidates {
            match self.trust.verify_certificate(&certificate, now) {
                Ok(v)
                    if best
                        .as_ref()
                        .is_none_or(|b| v.body().serial >= b.body().serial) =>
                {
                    best = Some(v);
                }
                Ok(_) => {}
                Err(e) => refusal = Some(e),
            }
        }
        match (best, refusal) {
            (Some(best), _) => Ok(best),
            (None, Some(refusal)) => Err(refusal.into()),
            (None, None) => Err(EngineError::UnknownContact(user.clone())),
        }
    }

    /// The safety number with `user`, and what we know of them.
    ///
    /// # Errors
    ///
    /// As [`Self::contact_certificate`].
    pub fn safety_number(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<(SafetyNumber, Option<Contact>), EngineError> {
        let theirs = self.contact_certificate(user, now)?;
        let book = TrustBook::new(&self.store);
        if book.contact(user)?.is_none() {
            book.observe(&theirs, now)?;
        }
        Ok((
            SafetyNumber::new(self.local.certificate(), theirs.certificate()),
            book.contact(user)?,
        ))
    }

    /// Marks `user` verified when `compared` (the number read out by them) matches.
    ///
    /// # Errors
    ///
    /// [`EngineError::SafetyNumberMismatch`] when it does not match; as
    /// [`Self::contact_certificate`].
    pub fn verify(&self, user: &UserId, compared: &str, now: UnixTime) -> Result<(), EngineError> {
        let theirs = self.contact_certificate(user, now)?;
        let ours = self
            .trust
            .verify_certificate(self.local.certificate(), now)
            .map_err(EngineError::OwnCertificate)?;
        let book = TrustBook::new(&self.store);
        if book.contact(user)?.is_none() {
            book.observe(&theirs, now)?;
        }
        if book.verify(&ours, &theirs, compared)? {
            Ok(())
        } else {
            Err(EngineError::SafetyNumberMismatch(user.clone()))
        }
    }

    /// A contact's certificate (as [`Self::contact_certificate`]) and what we pinned of them.
    ///
    /// # Errors
    ///
    /// As [`Self::contact_certificate`]; [`EngineError::Store`].
    pub fn whois(&self, user: &UserId, now: UnixTime) -> Result<Whois, EngineError> {
        Ok(Whois {
            certificate: self.contact_certificate(user, now)?,
            pinned: self.contact(user)?,
        })
    }

    /// What we know of a contact's keys.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn contact(&self, user: &UserId) -> Result<Option<Contact>, EngineError> {
        Ok(TrustBook::new(&self.store).contact(user)?)
    }

    /// The identity key that signs `sender`'s messages in `channel` (their certificate in its
    /// state): kept with each message, so its trust marker stays that of the key that signed
    /// it.
    pub(super) fn signer(&self, channel: ChannelId, sender: &UserId) -> Option<IdentityPublicKey> {
        let view = self.channels.get(&channel)?;
        let certificate = view.head().state().member(sender)?;
        Some(certificate.body().identity_key)
    }
}
