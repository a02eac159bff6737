//! The answer to each request of a logged-in member, one function per request. Each returns
//! the [`Response`] to write; a refusal is a [`Response::Error`] whose code tells the client
//! what to do and whose message tells the person.

use tracing::warn;
use vigil_protocol::relay::{ErrorCode, RelayError, Request, Response};
use vigil_protocol::{CertificateBody, OrgId};

use crate::server::Shared;
use crate::store::StoreError;

mod bundles;
mod mailbox;
mod prekeys;

pub(crate) use bundles::low_at_login;

/// A refusal with `code` and a message for the person.
pub(crate) fn refuse(code: ErrorCode, message: impl Into<String>) -> Response {
    Response::Error(RelayError {
        code,
        message: message.into(),
    })
}

/// The refusal for a storage failure: a full mailbox or prekey stock is the member's to
/// resolve and says so; anything else is logged and the member told only that nothing was
/// stored.
pub(crate) fn storage_refusal(e: &StoreError) -> Response {
    match e {
        StoreError::QuotaExceeded(user) => refuse(
            ErrorCode::QuotaExceeded,
            format!("mailbox of {user} is full"),
        ),
        quota @ StoreError::PrekeyQuota { .. } => {
            refuse(ErrorCode::QuotaExceeded, quota.to_string())
        }
        other => {
            warn!(error = %other, "storage failed");
            refuse(
                ErrorCode::Storage,
                "the relay could not store this; nothing was stored",
            )
        }
    }
}

/// Answers `request` from the member `requester` names, whose login (and certificate, just
/// now) was checked.
pub(crate) async fn handle(
    shared: &Shared,
    requester: &CertificateBody,
    request: Request,
) -> Response {
    let user = &requester.user;
    match request {
        Request::Login { .. } => refuse(ErrorCode::Malformed, "already logged in"),
        Request::PublishPrekeys {
            signed_prekey,
            one_time_prekeys,
        } => prekeys::publish(shared, user, signed_prekey, one_time_prekeys).await,
        Request::FetchBundle { user: wanted } => bundles::fetch_bundle(shared, user, wanted).await,
        Request::Send {
            id,
            recipients,
            level,
            payload,
        } => mailbox::send(shared, user, id, recipients, level, payload).await,
        Request::Revocations => revocations(shared),
        Request::TrustLists => trust_lists(shared, &requester.org),
        Request::Ack { ids } => mailbox::ack(shared, user, ids).await,
    }
}

/// `TrustLists`: the requester's own organisation's list only (a member applies no other, and
/// partners' lists are theirs to share).
fn trust_lists(shared: &Shared, org: &OrgId) -> Response {
    let lists = shared
        .trust()
        .trust_list(org)
        .cloned()
        .into_iter()
        .collect();
    Response::TrustLists { lists }
}

/// `Revocations`: every list in force.
fn revocations(shared: &Shared) -> Response {
    Response::Revocations {
        lists: crate::revocation::lists_in_force(&shared.trust()),
    }
}
