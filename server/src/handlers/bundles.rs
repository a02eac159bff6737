//! `FetchBundle`: a member's certificate and prekey bundle, with one one-time prekey handed
//! out once. Fetching uses up the target's one-time prekeys, so how many are handed out is
//! limited twice: per requester (`bundle_fetch_burst`, then `bundle_fetches_per_hour`) and per
//! target (`one_time_prekeys_per_target_per_hour`). Over either, the bundle carries the signed
//! prekey only (X3DH without a one-time prekey, as when the target's stock has run out):
//! nobody is refused a bundle, so a member joining a large channel, who needs one per member,
//! is never held up, and nobody can drain another's one-time prekeys.

use tracing::{debug, info};
use vigil_protocol::UserId;
use vigil_protocol::prekey::PrekeyBundle;
use vigil_protocol::relay::{ErrorCode, Response};

use super::{refuse, storage_refusal};
use crate::limits::PREKEYS_LOW;
use crate::live::Notice;
use crate::server::Shared;

/// Answers `requester`'s `FetchBundle` for `wanted`.
pub(super) async fn fetch_bundle(shared: &Shared, requester: &UserId, wanted: UserId) -> Response {
    let certificate = match shared.directory.certificate(&wanted).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return refuse(
                ErrorCode::UnknownRecipient,
                format!("{wanted} is not known to this relay"),
            );
        }
        Err(e) => return storage_refusal(&e),
    };
    let signed_prekey = match shared.directory.signed_prekey(&wanted).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return refuse(
                ErrorCode::NoPrekeys,
                format!("{wanted} has published no prekeys"),
            );
        }
        Err(e) => return storage_refusal(&e),
    };
    // The requester's budget first: a requester over it takes nothing from the target's.
    let within_budget = shared.rates.allow_bundle_fetch(requester);
    let allowed = within_budget && shared.rates.allow_one_time_handout(&wanted);
    let one_time_prekey = if allowed {
        let taken = shared.directory.take_one_time_prekey(&wanted).await;
        let (one_time_prekey, remaining) = match taken {
            Ok(taken) => taken,
            Err(e) => return storage_refusal(&e),
        };
        if remaining < PREKEYS_LOW {
            let remaining = u32::try_from(remaining).unwrap_or(0);
            shared.live.notify(&wanted, &Notice::PrekeysLow(remaining));
        }
        one_time_prekey
    } else if within_budget {
        // At most the requesters' budgets together: worth the operator's attention (many
        // members, or minted identities, fetching one member's bundle).
        info!(
            %requester,
            target_user = %wanted,
            "one-time prekey held back (the target's rate is used up): signed prekey only"
        );
        None
    } else {
        // Past their own budget nothing refuses a member's fetches: a line each at INFO would
        // let one member fill the relay's log.
        debug!(
            %requester,
            target_user = %wanted,
            "one-time prekey held back (the requester's rate is used up): signed prekey only"
        );
        None
    };
    let bundle = PrekeyBundle {
        user: wanted,
        identity_key: certificate.body().identity_key,
        signed_prekey,
        one_time_prekey,
    };
    Response::Bundle {
        certificate: Box::new(certificate),
        bundle: Box::new(bundle),
    }
}

/// A member logging in whose one-time prekeys ran low while they were offline (the
/// `PrekeysLow` push reaches only live connections): how many remain, so they are told now.
/// `None` when the stock is fine, or when they have published no prekeys at all.
pub(crate) async fn low_at_login(shared: &Shared, user: &UserId) -> Option<u32> {
    if !matches!(shared.directory.signed_prekey(user).await, Ok(Some(_))) {
        return None;
    }
    let held = shared.directory.one_time_prekeys_held(user).await.ok()?;
    (held < PREKEYS_LOW).then(|| u32::try_from(held).unwrap_or(0))
}
