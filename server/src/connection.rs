//! One member's connection: accepted, logged in ([`crate::login`]), then a request stream
//! per request, answered by [`crate::handlers`], and one push stream the relay opens for
//! mail, prekey warnings and revocation lists.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::{Instrument as _, debug, info, warn};
use vigil_protocol::relay::{
    ErrorCode, MessageId, Push, Request, Response, decode_frame, encode_frame, frame_len,
};
use vigil_protocol::{UserId, VerifiedCertificate};

use crate::handlers::refuse;
use crate::live::{Live, Notice};
use crate::server::{Shared, close, now};

/// Mailbox entries pushed per batch.
const PUSH_BATCH: usize = 64;

/// Accepts connections until the endpoint closes, each served on its own task.
pub(crate) async fn accept_loop(
    endpoint: quinn::Endpoint,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    while let Some(incoming) = endpoint.accept().await {
        let shared = Arc::clone(&shared);
        let stop = stop.clone();
        let span = tracing::info_span!("connection", remote = %incoming.remote_address(), user = tracing::field::Empty);
        tokio::spawn(
            async move {
                match incoming.await {
                    Ok(connection) => serve_connection(connection, shared, stop).await,
                    Err(e) => debug!(error = %e, "handshake failed"),
                }
            }
            .instrument(span),
        );
    }
}

/// Reads one frame of at most `max` bytes: the decoded value, or the refusal to answer.
pub(crate) async fn read_frame<T: bincode::Decode<()> + bincode::Encode>(
    recv: &mut quinn::RecvStream,
    max: usize,
) -> Result<T, Response> {
    let mut header = [0u8; 4];
    recv.read_exact(&mut header)
        .await
        .map_err(|e| refuse(ErrorCode::Malformed, format!("truncated frame: {e}")))?;
    let len = frame_len(header, max).map_err(|e| refuse(ErrorCode::TooLarge, e.to_string()))?;
    let mut body = vec![0u8; len];
    recv.read_exact(&mut body)
        .await
        .map_err(|e| refuse(ErrorCode::Malformed, format!("truncated frame: {e}")))?;
    decode_frame(&body).map_err(|e| refuse(ErrorCode::Malformed, e.to_string()))
}

pub(crate) async fn write_response(send: &mut quinn::SendStream, response: &Response) {
    if send.write_all(&encode_frame(response)).await.is_ok() {
        let _ = send.finish();
    }
}

/// Writes a final response and waits (briefly) until the peer has it, before the connection
/// is closed: closing discards unacknowledged stream data.
pub(crate) async fn write_last_response(send: &mut quinn::SendStream, response: &Response) {
    write_response(send, response).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), send.stopped()).await;
}

/// Serves `connection` from its login until it closes or the relay stops.
async fn serve_connection(
    connection: quinn::Connection,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let certificate = match crate::login::login(&connection, &shared).await {
        Ok(certificate) => Arc::new(certificate),
        Err((code, reason)) => {
            connection.close(code.into(), reason.as_bytes());
            return;
        }
    };
    let user = certificate.body().user.clone();
    tracing::Span::current().record("user", tracing::field::display(&user));
    info!("logged in");
    shared.metrics.logins.fetch_add(1, Relaxed);
    shared.metrics.connections.fetch_add(1, Relaxed);
    let (notices, inbox) = mpsc::unbounded_channel();
    let live = Live {
        notices: notices.clone(),
        connection: connection.clone(),
        certificate: Arc::clone(&certificate),
    };
    shared.live.add(user.clone(), live);
    let _ = notices.send(Notice::Mail);
    if let Some(remaining) = crate::handlers::low_at_login(&shared, &user).await {
        let _ = notices.send(Notice::PrekeysLow(remaining));
    }
    let pusher = spawn_pusher(connection.clone(), Arc::clone(&shared), user.clone(), inbox);
    loop {
        tokio::select! {
            stream = connection.accept_bi() => {
                let Ok((send, recv)) = stream else { break };
                let (shared, certificate) = (Arc::clone(&shared), Arc::clone(&certificate));
                let connection = connection.clone();
                tokio::spawn(
                    serve_request(shared, certificate, connection, send, recv).in_current_span(),
                );
            }
            _ = stop.changed() => break,
        }
    }
    pusher.abort();
    let _ = pusher.await; // the push channel's receiver is gone once the task is
    drop(notices);
    shared.live.forget_closed(&user);
    shared.metrics.connections.fetch_sub(1, Relaxed);
    info!("connection closed");
}

/// The task that writes a connection's pushes, in order, on one stream it opens.
fn spawn_pusher(
    connection: quinn::Connection,
    shared: Arc<Shared>,
    user: UserId,
    mut inbox: mpsc::UnboundedReceiver<Notice>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(
        async move {
            let Ok(mut stream) = connection.open_uni().await else {
                return;
            };
            let mut last: Option<MessageId> = None;
            while let Some(notice) = inbox.recv().await {
                let pushed = match notice {
                    Notice::PrekeysLow(remaining) => {
                        push(&mut stream, &Push::PrekeysLow { remaining }).await
                    }
                    Notice::Frame(frame) => stream.write_all(&frame).await.is_ok(),
                    Notice::Mail => push_mail(&mut stream, &shared, &user, &mut last).await,
                };
                if !pushed {
                    return;
                }
            }
        }
        .in_current_span(),
    )
}

/// Answers one request stream. The requester's certificate is re-checked first (cheaply:
/// root, validity, the lists in force): a member revoked or expired since login is refused
/// and the connection closed, even before housekeeping gets to it.
async fn serve_request(
    shared: Arc<Shared>,
    requester: Arc<VerifiedCertificate>,
    connection: quinn::Connection,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let request = read_frame::<Request>(&mut recv, shared.limits.max_frame_bytes).await;
    let valid = crate::revocation::still_valid(&shared.trust(), &requester, now());
    let response = match (request, valid) {
        (Err(response), _) => response,
        (Ok(request), Ok(())) => crate::handlers::handle(&shared, requester.body(), request).await,
        (Ok(_), Err(refusal)) => {
            info!(message = %refusal.message, "request refused: certificate no longer valid");
            shared.metrics.refused(&format!("{:?}", refusal.code));
            write_last_response(&mut send, &Response::Error(refusal.clone())).await;
            let reason = crate::live::close_reason(&refusal.message);
            connection.close(close::CERTIFICATE_REFUSED.into(), reason);
            return;
        }
    };
    if let Response::Error(e) = &response {
        info!(code = ?e.code, message = %e.message, "request refused");
        shared.metrics.refused(&format!("{:?}", e.code));
    }
    write_response(&mut send, &response).await;
}

async fn push(stream: &mut quinn::SendStream, frame: &Push) -> bool {
    stream.write_all(&encode_frame(frame)).await.is_ok()
}

/// Pushes `user`'s mailbox from after `last` on, batch by batch, until it is empty; `last`
/// follows what was pushed. Returns whether the stream still takes pushes.
async fn push_mail(
    stream: &mut quinn::SendStream,
    shared: &Shared,
    user: &UserId,
    last: &mut Option<MessageId>,
) -> bool {
    loop {
        let batch = match shared.mailboxes.pending(user, *last, PUSH_BATCH).await {
            Ok(batch) => batch,
            Err(e) => {
                warn!(error = %e, "cannot read mailbox");
                return true;
            }
        };
        if batch.is_empty() {
            return true;
        }
        for pending in batch {
            let id = pending.id;
            let frame = Push::Deliver {
                id,
                sender: pending.sender,
                stored_at: pending.stored_at,
                payload: pending.payload,
            };
            if !push(stream, &frame).await {
                return false;
            }
            shared.metrics.messages_out.fetch_add(1, Relaxed);
            *last = Some(id);
        }
    }
}
