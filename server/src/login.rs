//! Login: the first request on a new connection. The client presents its certificate and a
//! proof signed over keying material exported from this connection's TLS session (so a proof
//! cannot be replayed on another connection); the relay checks the chain to a trusted org
//! root, the validity window and the revocation lists in force, records the certificate in
//! the directory, and answers with how many messages wait.
//!
//! One device per certificate, and per member: the login carries the device's key (made when
//! the device enrolled, proven by its signature over the same exporter value). The relay binds
//! the member to the first (certificate, device key) that logs in, durably, and refuses any
//! other device while that certificate is live ([`ErrorCode::CertificateInUse`],
//! [`ErrorCode::OtherDeviceEnrolled`]). A reissued certificate binds afresh once the old one is
//! revoked or expired.

use std::time::Duration;

use tracing::{info, warn};
use vigil_protocol::keys::DevicePublicKey;
use vigil_protocol::relay::{
    ErrorCode, LOGIN_EXPORTER_LABEL, LOGIN_EXPORTER_LEN, LoginProofs, Request, Response,
    login_proofs_valid,
};
use vigil_protocol::{CertError, MemberCertificate, VerifiedCertificate};

use crate::connection::{read_frame, write_last_response, write_response};
use crate::handlers::refuse;
use crate::server::{Shared, close, now};
use crate::store::DeviceBinding;

/// Why a connection is closed without a login: the QUIC close code and reason.
pub(crate) type Refused = (u32, &'static str);

/// Why a login was refused; its `Display` is the message the client shows.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    /// The certificate does not verify now (chain, validity window, revocation).
    #[error(transparent)]
    Certificate(#[from] CertError),
    /// The proofs are not the certificate holder's and the device's signatures over this
    /// connection.
    #[error("login proof does not verify")]
    Proof,
    /// The certificate is bound to another device.
    #[error(
        "this certificate ({org} serial {serial}) is already enrolled on another device: an \
         enrollment bundle enrols one device. Ask your administrator to reissue it \
         (`vigil-keytool revoke --user {user}`, then `vigil-keytool issue --user {user}`) and \
         enroll the new bundle"
    )]
    CertificateInUse {
        user: vigil_protocol::UserId,
        org: vigil_protocol::OrgId,
        serial: u64,
    },
    /// Another live certificate of the member is bound to another device.
    #[error(
        "{user} already has a device enrolled (certificate serial {serial}); one device per \
         member. To use this device instead, ask your administrator to revoke that certificate \
         (`vigil-keytool revoke --user {user}`) and issue a new bundle (`vigil-keytool issue`)"
    )]
    OtherDeviceEnrolled {
        user: vigil_protocol::UserId,
        serial: u64,
    },
    /// The binding could not be read or written.
    #[error("the relay cannot record this device now; try again later")]
    Storage,
}

impl Refusal {
    /// The code the client acts on.
    fn code(&self) -> ErrorCode {
        match self {
            Self::Certificate(_) | Self::Proof => ErrorCode::LoginRefused,
            Self::CertificateInUse { .. } => ErrorCode::CertificateInUse,
            Self::OtherDeviceEnrolled { .. } => ErrorCode::OtherDeviceEnrolled,
            Self::Storage => ErrorCode::Storage,
        }
    }

    /// The reason, as the metrics count it.
    fn metric(&self) -> &'static str {
        match self {
            Self::Certificate(_) | Self::Proof => "LoginRefused",
            Self::CertificateInUse { .. } => "CertificateInUse",
            Self::OtherDeviceEnrolled { .. } => "OtherDeviceEnrolled",
            Self::Storage => "Storage",
        }
    }
}

/// Runs the login on `connection`: the certificate it logged in with, or how to close it.
pub(crate) async fn login(
    connection: &quinn::Connection,
    shared: &Shared,
) -> Result<VerifiedCertificate, Refused> {
    let timeout = Duration::from_secs(shared.limits.login_timeout_secs);
    let (mut send, mut recv) = tokio::time::timeout(timeout, connection.accept_bi())
        .await
        .map_err(|_| (close::LOGIN_TIMEOUT, "no login in time"))?
        .map_err(|_| (close::PROTOCOL, "connection lost before login"))?;
    let request = tokio::time::timeout(
        timeout,
        read_frame::<Request>(&mut recv, shared.limits.max_frame_bytes),
    )
    .await
    .map_err(|_| (close::LOGIN_TIMEOUT, "no login in time"))?;
    let request = match request {
        Ok(request) => request,
        Err(response) => {
            write_last_response(&mut send, &response).await;
            return Err((close::PROTOCOL, "malformed login"));
        }
    };
    let Request::Login {
        certificate,
        device,
        proof,
        device_proof,
    } = request
    else {
        write_last_response(&mut send, &refuse(ErrorCode::NotLoggedIn, "log in first")).await;
        return Err((close::PROTOCOL, "request before login"));
    };
    let mut exporter = [0u8; LOGIN_EXPORTER_LEN];
    if connection
        .export_keying_material(&mut exporter, LOGIN_EXPORTER_LABEL, b"")
        .is_err()
    {
        return Err((close::PROTOCOL, "no keying material"));
    }
    let proofs = LoginProofs {
        proof,
        device_proof,
    };
    let verified = match verify(shared, &certificate, &device, &exporter, &proofs) {
        Ok(verified) => bind(shared, &certificate, device).await.map(|()| verified),
        Err(reason) => Err(reason),
    };
    match verified {
        Ok(verified) => {
            admit(shared, &certificate, &verified, &mut send).await;
            Ok(verified)
        }
        Err(reason) => {
            info!(user = %certificate.body().user, %reason, "login refused");
            shared.metrics.refused(reason.metric());
            let refusal = refuse(reason.code(), reason.to_string());
            write_last_response(&mut send, &refusal).await;
            Err((close::LOGIN_REFUSED, "login refused"))
        }
    }
}

/// The certificate, verified now, if `proofs` are its holder's and `device`'s over this
/// connection's `exporter`.
fn verify(
    shared: &Shared,
    certificate: &MemberCertificate,
    device: &DevicePublicKey,
    exporter: &[u8; LOGIN_EXPORTER_LEN],
    proofs: &LoginProofs,
) -> Result<VerifiedCertificate, Refusal> {
    let verified = shared.trust().verify_certificate(certificate, now())?;
    if !login_proofs_valid(certificate, device, exporter, proofs) {
        return Err(Refusal::Proof);
    }
    Ok(verified)
}

/// Binds the member to `device` with `certificate` (verified), durably, unless another device
/// is bound: with the same certificate, or with another one that is still live. A binding
/// whose certificate was revoked or expired (a reissue) gives way. Two first logins at once:
/// one binds, the other finds it bound on its next look.
async fn bind(
    shared: &Shared,
    certificate: &MemberCertificate,
    device: DevicePublicKey,
) -> Result<(), Refusal> {
    let body = certificate.body();
    let binding = DeviceBinding {
        certificate: certificate.clone(),
        device,
    };
    for _ in 0..3 {
        let previous = shared
            .directory
            .device_binding(&body.user)
            .await
            .map_err(|e| {
                warn!(error = %e, "cannot read the device binding");
                Refusal::Storage
            })?;
        if let Some(bound) = &previous {
            if bound.device == device {
                if bound.certificate == *certificate {
                    return Ok(());
                }
            } else {
                refuse_other_device(shared, bound, certificate)?;
            }
        }
        let swapped = shared
            .directory
            .bind_device(&binding, previous.as_ref())
            .await
            .map_err(|e| {
                warn!(error = %e, "cannot record the device binding");
                Refusal::Storage
            })?;
        if swapped {
            info!(user = %body.user, serial = body.serial, "certificate bound to a device");
            return Ok(());
        }
    }
    Err(Refusal::Storage)
}

/// The refusal of a device other than `bound`'s, logging in with `certificate`; none when the
/// bound certificate is no longer live (revoked, expired, or its organisation no longer
/// trusted), so a reissued certificate binds afresh.
fn refuse_other_device(
    shared: &Shared,
    bound: &DeviceBinding,
    certificate: &MemberCertificate,
) -> Result<(), Refusal> {
    let (was, body) = (bound.certificate.body(), certificate.body());
    // The same certificate, not only the same serial: a partner that rotated its root starts
    // its serials again, and its reissued certificates must not collide with the old ones.
    if bound.certificate == *certificate {
        return Err(Refusal::CertificateInUse {
            user: body.user.clone(),
            org: body.org.clone(),
            serial: body.serial,
        });
    }
    if shared
        .trust()
        .verify_certificate(&bound.certificate, now())
        .is_ok()
    {
        return Err(Refusal::OtherDeviceEnrolled {
            user: body.user.clone(),
            serial: was.serial,
        });
    }
    Ok(())
}

/// Lets a verified member in: makes room under the per-identity connection limit (closing
/// their oldest connections), records the certificate durably (other members' sends name
/// this member) and answers `LoggedIn` with how many messages wait.
async fn admit(
    shared: &Shared,
    certificate: &MemberCertificate,
    verified: &VerifiedCertificate,
    send: &mut quinn::SendStream,
) {
    let user = certificate.body().user.clone();
    let pending = shared.mailboxes.usage(&user).messages;
    let limit = shared.limits.connections_per_identity as usize;
    let closed = shared.live.make_room(&user, limit, close::REPLACED);
    if closed > 0 {
        info!(%user, closed, "oldest connections replaced by a new login");
    }
    // The directory entry must survive a crash: other members' sends name this member.
    if let Err(e) = shared.directory.put_certificate(certificate).await {
        warn!(error = %e, "cannot record certificate");
    }
    shared.remember_verified(verified.clone());
    write_response(send, &Response::LoggedIn { user, pending }).await;
}
