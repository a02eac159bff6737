//! `Send` and `Ack`: a message stored once for every recipient and acknowledged to its sender
//! only once it is durable; removed from a mailbox only when its recipient acknowledges it.

use vigil_protocol::label::Classification;
use vigil_protocol::relay::{ClientMessageId, ErrorCode, MessageId, Response};
use vigil_protocol::{TrustStore, UserId, VerifiedCertificate};

use super::{refuse, storage_refusal};
use crate::live::Notice;
use crate::server::{Shared, now};
use crate::store::NewMessage;

/// Answers `sender`'s `Send`: checks the recipients (count, rate, certificates, clearance for
/// a channel message at `level`), stores the message with the others being written now, and
/// tells the recipients who are live. A resend of the same `id` is stored once.
pub(super) async fn send(
    shared: &Shared,
    sender: &UserId,
    id: ClientMessageId,
    mut recipients: Vec<UserId>,
    level: Option<Classification>,
    payload: Vec<u8>,
) -> Response {
    recipients.sort();
    recipients.dedup();
    let checked = crate::limits::check_recipient_count(&recipients)
        .and_then(|()| shared.rates.allow_send(sender));
    if let Err(refusal) = checked {
        return refusal;
    }
    if let Err(refusal) = check_recipients(shared, &recipients, level.as_ref()).await {
        return refusal;
    }
    let message = NewMessage {
        sender: sender.clone(),
        id,
        recipients,
        payload,
        stored_at: now(),
        quota: crate::limits::mailbox_quota(&shared.limits),
    };
    // Stored and flushed together with every other request writing now (group commit).
    let recipients = message.recipients.clone();
    let duplicate = match shared.mailboxes.enqueue(message).await {
        Ok(duplicate) => duplicate,
        Err(e) => return storage_refusal(&e),
    };
    if !duplicate {
        shared
            .metrics
            .messages_in
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for recipient in &recipients {
            shared.live.notify(recipient, &Notice::Mail);
        }
    }
    Response::Sent { duplicate }
}

/// Answers `user`'s `Ack`: removes the messages from their mailbox, durably. An empty one is
/// a client's probe that the relay still answers: answered without touching the store.
pub(super) async fn ack(shared: &Shared, user: &UserId, ids: Vec<MessageId>) -> Response {
    if ids.is_empty() {
        return Response::Acked { removed: 0 };
    }
    match shared.mailboxes.ack(user, &ids).await {
        Ok(removed) => Response::Acked { removed },
        Err(e) => storage_refusal(&e),
    }
}

/// Checks that every recipient has a certificate valid now and, for a channel message,
/// a clearance that dominates `level`. Certificates come from the cache of verified ones
/// (re-checked for what can change: root, validity, revocation), under one lock for the
/// whole list; a member not in it is read from the directory and verified in full.
async fn check_recipients(
    shared: &Shared,
    recipients: &[UserId],
    level: Option<&Classification>,
) -> Result<(), Response> {
    let now = now();
    let check = |certificate: &VerifiedCertificate, trust: &TrustStore| {
        trust
            .recheck(certificate, now)
            .map_err(|e| refuse(ErrorCode::RevokedRecipient, e.to_string()))?;
        match level {
            Some(level) if !certificate.body().clearance.dominates(level) => Err(refuse(
                ErrorCode::InsufficientClearance,
                format!(
                    "{} has clearance {}; the channel requires {}",
                    certificate.body().user,
                    certificate.body().clearance.marking(),
                    level.marking()
                ),
            )),
            _ => Ok(()),
        }
    };
    let mut unknown = Vec::new();
    {
        let trust = shared.trust();
        let verified = shared.verified();
        for recipient in recipients {
            match verified.get(recipient) {
                Some(certificate) => check(certificate, &trust)?,
                None => unknown.push(recipient),
            }
        }
    }
    for user in unknown {
        let stored = match shared.directory.certificate(user).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(refuse(
                    ErrorCode::UnknownRecipient,
                    format!("{user} is not known to this relay"),
                ));
            }
            Err(e) => return Err(storage_refusal(&e)),
        };
        let trust = shared.trust();
        let verified = trust
            .verify_certificate(&stored, now)
            .map_err(|e| refuse(ErrorCode::RevokedRecipient, e.to_string()))?;
        check(&verified, &trust)?;
        drop(trust);
        shared.remember_verified(verified);
    }
    Ok(())
}
