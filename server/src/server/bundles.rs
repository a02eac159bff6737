//! `FetchBundle`: a member's certificate and prekey bundle, with one one-time prekey handed
//! out once. Fetching uses up the target's one-time prekeys, so it is limited twice: per
//! requester (`bundle_fetch_burst`, `bundle_fetches_per_hour`; over it `RateLimited`), and per
//! target (`one_time_prekeys_per_target_per_hour`; over it the bundle carries the signed
//! prekey only, X3DH without a one-time prekey, as when the target's stock has run out).

use tracing::info;
use vigil_protocol::UserId;
use vigil_protocol::prekey::PrekeyBundle;
use vigil_protocol::relay::{ErrorCode, Response};

use super::{PREKEYS_LOW, Shared, refuse, storage_refusal};
use crate::live::Notice;

/// Answers `requester`'s `FetchBundle` for `wanted`.
pub(super) async fn fetch_bundle(shared: &Shared, requester: &UserId, wanted: UserId) -> Response {
    if !shared.bundle_fetches.allow(requester) {
        return refuse(
            ErrorCode::RateLimited,
            format!(
                "more than {} prekey bundles at once or {} per hour; try again later",
                shared.limits.bundle_fetch_burst, shared.limits.bundle_fetches_per_hour
            ),
        );
    }
    let certificate = match shared.store.certificate(&wanted) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return refuse(
                ErrorCode::UnknownRecipient,
                format!("{wanted} is not known to this relay"),
            );
        }
        Err(e) => return storage_refusal(&e),
    };
    let signed_prekey = match shared.store.signed_prekey(&wanted) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return refuse(
                ErrorCode::NoPrekeys,
                format!("{wanted} has published no prekeys"),
            );
        }
        Err(e) => return storage_refusal(&e),
    };
    let one_time_prekey = if shared.one_time_handouts.allow(&wanted) {
        let (one_time_prekey, remaining) = match shared.store.take_one_time_prekey(&wanted) {
            Ok(taken) => taken,
            Err(e) => return storage_refusal(&e),
        };
        if let Err(e) = shared.store.flush().await {
            return storage_refusal(&e);
        }
        if remaining < PREKEYS_LOW {
            let remaining = u32::try_from(remaining).unwrap_or(0);
            shared.live.notify(&wanted, &Notice::PrekeysLow(remaining));
        }
        one_time_prekey
    } else {
        info!(
            target_user = %wanted,
            "one-time prekeys held back: the per-target rate is used up; signed prekey only"
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
pub(super) fn low_at_login(shared: &Shared, user: &UserId) -> Option<u32> {
    if !matches!(shared.store.signed_prekey(user), Ok(Some(_))) {
        return None;
    }
    let held = shared.store.one_time_prekeys_held(user);
    (held < PREKEYS_LOW).then(|| u32::try_from(held).unwrap_or(0))
}
