//! `PublishPrekeys`: a member's signed prekey and one-time prekeys, checked against the
//! member's own certificate before anything is stored, so the directory hands out only
//! bundles that verify.

use vigil_protocol::UserId;
use vigil_protocol::prekey::{OneTimePrekey, PrekeyBundle, SignedPrekey};
use vigil_protocol::relay::{ErrorCode, Response};

use super::{refuse, storage_refusal};
use crate::server::{Shared, now};

/// Answers `user`'s `PublishPrekeys`.
pub(super) async fn publish(
    shared: &Shared,
    user: &UserId,
    signed_prekey: SignedPrekey,
    one_time_prekeys: Vec<OneTimePrekey>,
) -> Response {
    if let Err(refusal) = crate::limits::check_one_time_prekey_count(one_time_prekeys.len()) {
        return refusal;
    }
    let Ok(Some(certificate)) = shared.directory.certificate(user).await else {
        return refuse(ErrorCode::Storage, "own certificate not found");
    };
    let Ok(verified) = shared.trust().verify_certificate(&certificate, now()) else {
        return refuse(ErrorCode::LoginRefused, "own certificate no longer valid");
    };
    let bundle = |otk| PrekeyBundle {
        user: user.clone(),
        identity_key: certificate.body().identity_key,
        signed_prekey: signed_prekey.clone(),
        one_time_prekey: otk,
    };
    if let Err(e) = bundle(None).verify(&verified, now()) {
        return refuse(ErrorCode::Malformed, e.to_string());
    }
    if let Some(e) = one_time_prekeys
        .iter()
        .find_map(|k| bundle(Some(k.clone())).verify(&verified, now()).err())
    {
        return refuse(ErrorCode::Malformed, e.to_string());
    }
    let published = shared
        .directory
        .publish_prekeys(user, &signed_prekey, &one_time_prekeys)
        .await;
    match published {
        Ok(count) => Response::Published {
            one_time_prekeys: u32::try_from(count).unwrap_or(u32::MAX),
        },
        Err(e) => storage_refusal(&e),
    }
}
