//! 1:1 sessions with other members, each kept with the certificate it was started with: what
//! travels over a session is bound to that certificate's (user, identity key), and the
//! certificate is checked against the revocation lists in force on every send and receive.

use vigil_protocol::prekey::PrekeyBundle;
use vigil_protocol::{MemberCertificate, Session, UnixTime, UserId, VerifiedCertificate};

use super::records::{Event, Sessions, StoredSession, TrustWarning};
use super::{Engine, EngineError, MAX_SESSIONS_PER_CONTACT};
use crate::store::{Batch, Kind, StoreError};
use crate::trust::{TrustBook, Verdict};

/// A session and the certificate of its peer.
pub(crate) struct PeerSession {
    /// The peer's certificate, verified when the session started.
    pub(crate) certificate: MemberCertificate,
    pub(crate) session: Session,
}

impl Engine {
    pub(super) fn load_sessions(&self, user: &UserId) -> Result<Vec<PeerSession>, EngineError> {
        let key = self.store.blind(Kind::Session, user.as_str());
        let Some(bytes) = self.store.get_raw(Kind::Session, &key)? else {
            return Ok(Vec::new());
        };
        let list: Sessions =
            vigil_protocol::codec::decode(&bytes).map_err(|source| StoreError::Decode {
                kind: Kind::Session,
                source,
            })?;
        list.0
            .iter()
            .map(|stored| {
                let session = Session::from_bytes(&stored.session).map_err(|e| {
                    EngineError::Store(StoreError::Decode {
                        kind: Kind::Session,
                        source: e,
                    })
                })?;
                Ok(PeerSession {
                    certificate: stored.certificate.clone(),
                    session,
                })
            })
            .collect()
    }

    pub(super) fn stage_sessions(
        &self,
        batch: &mut Batch,
        user: &UserId,
        sessions: &[PeerSession],
    ) {
        let key = self.store.blind(Kind::Session, user.as_str());
        let list = Sessions(
            sessions
                .iter()
                .take(MAX_SESSIONS_PER_CONTACT)
                .map(|s| StoredSession {
                    certificate: s.certificate.clone(),
                    session: s.session.to_bytes().to_vec(),
                })
                .collect(),
        );
        let bytes = zeroize::Zeroizing::new(vigil_protocol::codec::encode(&list));
        self.store.stage_raw(batch, Kind::Session, &key, &bytes);
    }

    /// Binds the sessions with `certificate`'s identity key to `certificate` when they hold an
    /// older certificate of the same member (a renewal that kept the keys). A session bound to
    /// the old one would be refused on every send and receive once it expired or was revoked,
    /// cutting the renewed member off. `certificate` must have been verified.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub(super) fn refresh_session_certificate(
        &self,
        batch: &mut Batch,
        certificate: &MemberCertificate,
    ) -> Result<(), EngineError> {
        let body = certificate.body();
        let mut sessions = self.load_sessions(&body.user)?;
        let mut changed = false;
        for peer in &mut sessions {
            if peer.session.remote_identity() == &body.identity_key
                && peer.certificate.body().serial < body.serial
            {
                peer.certificate = certificate.clone();
                changed = true;
            }
        }
        if changed {
            self.stage_sessions(batch, &body.user, &sessions);
        }
        Ok(())
    }

    /// Whether we have a session with `user`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn has_session(&self, user: &UserId) -> Result<bool, EngineError> {
        Ok(!self.load_sessions(user)?.is_empty())
    }

    /// Checks `certificate` now, against the revocation lists in force: its signature once per
    /// certificate (remembered), then only what can change (validity window, revocation,
    /// trust in its root).
    ///
    /// # Errors
    ///
    /// [`EngineError::Certificate`] with the reason.
    pub(super) fn check_certificate(
        &mut self,
        certificate: &MemberCertificate,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let body = certificate.body();
        let slot = (body.user.clone(), body.serial);
        match self.verified.get(&slot) {
            Some(known) if known.certificate() == certificate => self
                .trust
                .recheck(known, now)
                .map_err(EngineError::Certificate),
            _ => {
                let verified = self
                    .trust
                    .verify_certificate(certificate, now)
                    .map_err(EngineError::Certificate)?;
                self.verified.insert(slot, verified);
                Ok(())
            }
        }
    }

    /// Starts a session with the owner of `certificate` from their `bundle`, after verifying
    /// both; pins their keys (a change is reported loudly). A session with that identity key
    /// already there is kept.
    pub(super) fn start_session(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        certificate: &MemberCertificate,
        bundle: &PrekeyBundle,
        now: UnixTime,
    ) -> Result<Verdict, EngineError> {
        let user = certificate.body().user.clone();
        let verified = self
            .trust
            .verify_certificate(certificate, now)
            .map_err(EngineError::Certificate)?;
        let verdict = self.observe(events, &verified, now)?;
        let mut sessions = self.load_sessions(&user)?;
        let identity = &certificate.body().identity_key;
        if sessions
            .iter()
            .any(|s| s.session.remote_identity() == identity)
        {
            self.refresh_session_certificate(batch, certificate)?;
            return Ok(verdict);
        }
        self.initiate_session(batch, &mut sessions, &verified, bundle, now)?;
        Ok(verdict)
    }

    /// Starts a new session from `bundle` with `verified`'s member, first in `sessions` (the
    /// one we send over), and drops the sessions an older certificate of theirs with other keys
    /// started (see [`supersede`]).
    fn initiate_session(
        &mut self,
        batch: &mut Batch,
        sessions: &mut Vec<PeerSession>,
        verified: &VerifiedCertificate,
        bundle: &PrekeyBundle,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let certificate = verified.certificate();
        let user = certificate.body().user.clone();
        let session = Session::initiate(&mut self.rng, &self.local, verified, bundle, now)
            .map_err(|source| EngineError::Prekeys {
                user: user.clone(),
                source,
            })?;
        sessions.insert(
            0,
            PeerSession {
                certificate: certificate.clone(),
                session,
            },
        );
        supersede(sessions, certificate);
        self.stage_sessions(batch, &user, sessions);
        Ok(())
    }

    /// Starts a new session with `certificate`'s member from `bundle` even when one with the
    /// same keys exists (a failure report goes over a fresh session: the existing one may be
    /// what the peer cannot follow).
    pub(super) fn start_fresh_session(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        certificate: &MemberCertificate,
        bundle: &PrekeyBundle,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let verified = self
            .trust
            .verify_certificate(certificate, now)
            .map_err(EngineError::Certificate)?;
        self.observe(events, &verified, now)?;
        let mut sessions = self.load_sessions(&certificate.body().user)?;
        self.initiate_session(batch, &mut sessions, &verified, bundle, now)
    }

    /// Drops our sessions with `user`'s identity key `identity` (the next message to them starts
    /// a fresh one from their prekey bundle).
    pub(super) fn drop_sessions_with(
        &self,
        batch: &mut Batch,
        user: &UserId,
        identity: &vigil_protocol::keys::IdentityPublicKey,
    ) -> Result<(), EngineError> {
        let mut sessions = self.load_sessions(user)?;
        sessions.retain(|s| s.session.remote_identity() != identity);
        self.stage_sessions(batch, user, &sessions);
        Ok(())
    }

    /// The index of the session with `user` to send a receipt over: the one bound to their
    /// newest certificate that is valid now (never one of a revoked or expired certificate).
    pub(super) fn receipt_session(
        &mut self,
        sessions: &[PeerSession],
        now: UnixTime,
    ) -> Option<usize> {
        // Valid now first: a higher serial that was revoked or expired (or of a root rotated
        // away) must not hide a valid session, or the receipt would wait on a bundle forever.
        let mut best: Option<(usize, u64)> = None;
        for (index, session) in sessions.iter().enumerate() {
            let serial = session.certificate.body().serial;
            if best.is_some_and(|(_, b)| serial <= b) {
                continue;
            }
            let certificate = session.certificate.clone();
            if self.check_certificate(&certificate, now).is_ok() {
                best = Some((index, serial));
            }
        }
        best.map(|(index, _)| index)
    }

    /// Starts the session the first outbox entry needs (see [`Self::next_outgoing`]) from the
    /// certificate and bundle the relay gave for its recipient.
    ///
    /// # Errors
    ///
    /// [`EngineError::Certificate`] or [`EngineError::Prekeys`] for a certificate or bundle that
    /// does not verify; [`EngineError::BundleOfOther`] for a certificate of another member than
    /// the entry's recipient; [`EngineError::IdentityKeyMismatch`] for one with another identity
    /// key than the one the entry is bound to (the certificate in the channel's state).
    pub fn add_bundle(
        &mut self,
        certificate: &MemberCertificate,
        bundle: &PrekeyBundle,
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        if let Some((to, fresh)) = self.first_receipt_recipient()? {
            let body = certificate.body();
            if body.user != to {
                return Err(EngineError::BundleOfOther {
                    requested: to,
                    got: body.user.clone(),
                });
            }
            return self.transact(|engine, batch, events| {
                if fresh {
                    engine.start_fresh_session(batch, events, certificate, bundle, now)?;
                    engine.receipt_started(batch)
                } else {
                    engine
                        .start_session(batch, events, certificate, bundle, now)
                        .map(|_| ())
                }
            });
        }
        if let Some((to, identity)) = self.first_direct_recipient()? {
            let body = certificate.body();
            if body.user != to {
                return Err(EngineError::BundleOfOther {
                    requested: to,
                    got: body.user.clone(),
                });
            }
            if body.identity_key != identity {
                return Err(EngineError::IdentityKeyMismatch(to));
            }
        }
        self.transact(|engine, batch, events| {
            engine
                .start_session(batch, events, certificate, bundle, now)
                .map(|_| ())
        })
    }

    pub(super) fn observe(
        &self,
        events: &mut Vec<Event>,
        verified: &VerifiedCertificate,
        now: UnixTime,
    ) -> Result<Verdict, EngineError> {
        let verdict = TrustBook::new(&self.store).observe(verified, now)?;
        if !matches!(verdict, Verdict::Known { .. }) {
            // Flushed with the trust book's record: kept even when the change it came with
            // (an invite refused because the keys changed) is not.
            self.remember_certificate(verified.certificate())?;
        }
        let warning = match verdict {
            Verdict::New => Some(TrustWarning::New),
            Verdict::KeyChanged { .. } => Some(TrustWarning::KeyChanged),
            Verdict::Known { .. } => None,
        };
        if let Some(warning) = warning {
            events.push(Event::Trust {
                user: verified.body().user.clone(),
                warning,
            });
        }
        Ok(verdict)
    }
}

/// Drops from `sessions` those bound to an older certificate of `certificate`'s member with
/// another identity key: a new certificate with new keys starts new sessions everywhere, and
/// nothing is ever encrypted again to keys it replaced. (A renewal that kept the keys keeps its
/// sessions: [`Engine::refresh_session_certificate`] binds them to the new certificate.)
pub(super) fn supersede(sessions: &mut Vec<PeerSession>, certificate: &MemberCertificate) {
    let body = certificate.body();
    sessions.retain(|s| {
        let old = s.certificate.body();
        !(old.user == body.user
            && old.serial < body.serial
            && s.session.remote_identity() != &body.identity_key)
    });
}
