//! Login: the first request on a new connection. The client presents its certificate and a
//! proof signed over keying material exported from this connection's TLS session (so a proof
//! cannot be replayed on another connection); the relay checks the chain to a trusted org
//! root, the validity window and the revocation lists in force, records the certificate in
//! the directory, and answers with how many messages wait.

use std::time::Duration;

use tracing::{info, warn};
use vigil_protocol::keys::Signature;
use vigil_protocol::relay::{
    ErrorCode, LOGIN_EXPORTER_LABEL, LOGIN_EXPORTER_LEN, Request, Response, login_proof_valid,
};
use vigil_protocol::{CertError, MemberCertificate, VerifiedCertificate};

use crate::connection::{read_frame, write_last_response, write_response};
use crate::handlers::refuse;
use crate::server::{Shared, close, now};

/// Why a connection is closed without a login: the QUIC close code and reason.
pub(crate) type Refused = (u32, &'static str);

/// Why a login was refused; its `Display` is the message the client shows.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    /// The certificate does not verify now (chain, validity window, revocation).
    #[error(transparent)]
    Certificate(#[from] CertError),
    /// The proof is not the certificate holder's signature over this connection.
    #[error("login proof does not verify")]
    Proof,
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
    let Request::Login { certificate, proof } = request else {
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
    match verify(shared, &certificate, &exporter, &proof) {
        Ok(verified) => {
            admit(shared, &certificate, &verified, &mut send).await;
            Ok(verified)
        }
        Err(reason) => {
            info!(user = %certificate.body().user, %reason, "login refused");
            shared.metrics.refused("LoginRefused");
            let refusal = refuse(ErrorCode::LoginRefused, reason.to_string());
            write_last_response(&mut send, &refusal).await;
            Err((close::LOGIN_REFUSED, "login refused"))
        }
    }
}

/// The certificate, verified now, if `proof` is its holder's over this connection's
/// `exporter`.
fn verify(
    shared: &Shared,
    certificate: &MemberCertificate,
    exporter: &[u8; LOGIN_EXPORTER_LEN],
    proof: &Signature,
) -> Result<VerifiedCertificate, Refusal> {
    let verified = shared.trust().verify_certificate(certificate, now())?;
    if !login_proof_valid(certificate, exporter, proof) {
        return Err(Refusal::Proof);
    }
    Ok(verified)
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
