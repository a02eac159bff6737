//! The logged-in connections: where to send each one's pushes, the connection itself (to close
//! it), and the certificate it logged in with (to close it when that certificate is revoked or
//! expires).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;
use vigil_protocol::{CertError, OrgId, UserId, VerifiedCertificate};

/// Most bytes of a QUIC close reason the relay sends: a close frame must fit in one packet
/// (at least 1200 bytes in QUIC), and a reason is one line for a human and a log.
pub(crate) const MAX_CLOSE_REASON: usize = 256;

/// Something for a live connection to push.
#[derive(Clone, Debug)]
pub(crate) enum Notice {
    /// The mailbox has something new.
    Mail,
    /// The member's one-time prekeys run low (how many remain).
    PrekeysLow(u32),
    /// A push frame encoded once for every connection (the revocation lists in force).
    Frame(Arc<[u8]>),
}

/// One logged-in connection.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) notices: mpsc::UnboundedSender<Notice>,
    pub(crate) connection: quinn::Connection,
    pub(crate) certificate: Arc<VerifiedCertificate>,
}

/// Every logged-in connection, by member.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    live: Mutex<HashMap<UserId, Vec<Live>>>,
}

/// `reason` cut to [`MAX_CLOSE_REASON`] bytes at a character boundary.
pub(crate) fn close_reason(reason: &str) -> &[u8] {
    let mut end = reason.len().min(MAX_CLOSE_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason.as_bytes().get(..end).unwrap_or_default()
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<UserId, Vec<Live>>> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a connection that just logged in.
    pub(crate) fn add(&self, user: UserId, connection: Live) {
        self.lock().entry(user).or_default().push(connection);
    }

    /// Tells every live connection of `user`.
    pub(crate) fn notify(&self, user: &UserId, notice: &Notice) {
        if let Some(senders) = self.lock().get_mut(user) {
            senders.retain(|s| s.notices.send(notice.clone()).is_ok());
        }
    }

    /// Tells every live connection.
    pub(crate) fn broadcast(&self, notice: &Notice) {
        for senders in self.lock().values_mut() {
            senders.retain(|s| s.notices.send(notice.clone()).is_ok());
        }
    }

    /// Sends `notice` to every live connection of a member of `org`.
    pub(crate) fn broadcast_to_org(&self, org: &OrgId, notice: &Notice) {
        for senders in self.lock().values_mut() {
            senders.retain(|s| {
                &s.certificate.body().org != org || s.notices.send(notice.clone()).is_ok()
            });
        }
    }

    /// Drops the push channels of `user`'s closed connections (and the entry when none is
    /// left), so the registry holds only live connections.
    pub(crate) fn forget_closed(&self, user: &UserId) {
        let mut live = self.lock();
        if let Some(senders) = live.get_mut(user) {
            senders.retain(|s| !s.notices.is_closed());
            if senders.is_empty() {
                live.remove(user);
            }
        }
    }

    /// Makes room for one more connection of `user`: when they have `limit` already, the
    /// oldest is closed with `code`. A client killed without closing its connection (a crash,
    /// kill -9, a laptop losing power) would otherwise lock its member out until the idle
    /// timeout. Returns how many connections were closed.
    pub(crate) fn make_room(&self, user: &UserId, limit: usize, code: u32) -> usize {
        let mut live = self.lock();
        let Some(connections) = live.get_mut(user) else {
            return 0;
        };
        connections.retain(|s| !s.notices.is_closed());
        let mut closed = 0;
        while connections.len() >= limit.max(1) {
            let oldest = connections.remove(0);
            oldest
                .connection
                .close(code.into(), b"replaced by a newer login of the same member");
            closed += 1;
        }
        closed
    }

    /// Closes, with `code`, every connection whose certificate `check` refuses (revoked,
    /// expired, or its root no longer trusted), the refusal as the reason. Returns who was
    /// closed and why.
    pub(crate) fn close_refused(
        &self,
        code: u32,
        check: impl Fn(&VerifiedCertificate) -> Result<(), CertError>,
    ) -> Vec<(UserId, CertError)> {
        let mut closed = Vec::new();
        let mut live = self.lock();
        for (user, connections) in live.iter_mut() {
            connections.retain(|c| match check(&c.certificate) {
                Ok(()) => true,
                Err(refusal) => {
                    let reason = refusal.to_string();
                    c.connection.close(code.into(), close_reason(&reason));
                    closed.push((user.clone(), refusal));
                    false
                }
            });
        }
        live.retain(|_, connections| !connections.is_empty());
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_are_cut_at_a_character_boundary() {
        assert_eq!(close_reason("revoked"), b"revoked");
        let long = "é".repeat(MAX_CLOSE_REASON);
        let cut = close_reason(&long);
        assert!(cut.len() <= MAX_CLOSE_REASON && cut.len() >= MAX_CLOSE_REASON - 1);
        assert!(std::str::from_utf8(cut).is_ok());
    }
}
