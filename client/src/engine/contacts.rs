//! Contacts: what we know of other members' certificates, safety numbers and verification.

use vigil_protocol::{SafetyNumber, UnixTime, UserId, VerifiedCertificate};

use super::{Engine, EngineError};
use crate::trust::{Contact, TrustBook};

impl Engine {
    /// The certificate of `user` as we know it (from our channels), verified now.
    ///
    /// # Errors
    ///
    /// [`EngineError::Usage`] when we share no channel with them; [`EngineError::Refused`]
    /// when their certificate is refused (untrusted root, expired, revoked: the reason).
    pub fn contact_certificate(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<VerifiedCertificate, EngineError> {
        let certificate = if user == self.local.user() {
            Some(self.local.certificate().clone())
        } else {
            self.channels
                .values()
                .filter_map(|v| v.head().state().member(user).cloned())
                .max_by_key(|c| c.body().serial)
        };
        let certificate = certificate.ok_or_else(|| {
            EngineError::Usage(format!(
                "no certificate of {user} known here: share a channel with them first"
            ))
        })?;
        self.trust
            .verify_certificate(&certificate, now)
            .map_err(|e| EngineError::Refused(e.to_string()))
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
    /// [`EngineError::Refused`] when it does not match.
    pub fn verify(&self, user: &UserId, compared: &str, now: UnixTime) -> Result<(), EngineError> {
        let theirs = self.contact_certificate(user, now)?;
        let ours = self
            .trust
            .verify_certificate(self.local.certificate(), now)
            .map_err(|e| EngineError::Refused(format!("our own certificate: {e}")))?;
        let book = TrustBook::new(&self.store);
        if book.contact(user)?.is_none() {
            book.observe(&theirs, now)?;
        }
        if book.verify(&ours, &theirs, compared)? {
            Ok(())
        } else {
            Err(EngineError::Refused(format!(
                "the safety number does not match the one for {user}: do not trust this \
                 contact until you have found out why"
            )))
        }
    }

    /// What we know of a contact's keys.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn contact(&self, user: &UserId) -> Result<Option<Contact>, EngineError> {
        Ok(TrustBook::new(&self.store).contact(user)?)
    }
}
