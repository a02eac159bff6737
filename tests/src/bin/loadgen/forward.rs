//! R1, the baseline: a raw QUIC forwarder with the relay's own TLS certificate and transport
//! settings (read from the same `relay.toml`) and the same framing (4-byte big-endian length,
//! then the body), but none of the relay's logic: no login, no checks, no storage. A client
//! says which number it is on its first stream; every later stream carries
//! `recipient number ‖ payload`, which is pushed on the recipient's push stream and answered
//! with an empty frame, as the relay answers `Sent`.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;
use vigil_protocol::relay::{MAX_FRAME_LEN, frame_len};

/// The frame of `body`.
pub(crate) fn frame(body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The next frame's body; `None` at the end of the stream or on any error.
pub(crate) async fn read_frame(recv: &mut quinn::RecvStream) -> Option<Vec<u8>> {
    let mut header = [0u8; 4];
    recv.read_exact(&mut header).await.ok()?;
    let len = frame_len(header, MAX_FRAME_LEN).ok()?;
    let mut body = vec![0u8; len];
    recv.read_exact(&mut body).await.ok()?;
    Some(body)
}

type Registry = Arc<Mutex<HashMap<u32, mpsc::UnboundedSender<Vec<u8>>>>>;

/// Runs the forwarder until killed: `loadgen forward --config relay.toml`.
///
/// # Errors
///
/// The configuration, runtime or socket error.
pub(crate) fn serve(config: &Path) -> Result<(), String> {
    let config = vigil_server::Config::load(config).map_err(|e| e.to_string())?;
    let server = vigil_server::tls::server_config(&config).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let endpoint = quinn::Endpoint::server(server, config.listen).map_err(|e| e.to_string())?;
        let address = endpoint.local_addr().map_err(|e| e.to_string())?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "forwarder listening on {address}").map_err(|e| e.to_string())?;
        stdout.flush().map_err(|e| e.to_string())?;
        let registry = Registry::default();
        while let Some(incoming) = endpoint.accept().await {
            tokio::spawn(connection(incoming, Arc::clone(&registry)));
        }
        Ok(())
    })
}

async fn connection(incoming: quinn::Incoming, registry: Registry) {
    let Ok(connection) = incoming.await else {
        return;
    };
    let Ok((mut send, mut recv)) = connection.accept_bi().await else {
        return;
    };
    let Some(id) = read_frame(&mut recv)
        .await
        .and_then(|hello| hello.first_chunk::<4>().copied())
        .map(u32::from_be_bytes)
    else {
        return;
    };
    let (pushes, mut queue) = mpsc::unbounded_channel::<Vec<u8>>();
    registry
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, pushes);
    let _ = send.write_all(&frame(&[])).await;
    let _ = send.finish();
    let pusher = {
        let connection = connection.clone();
        tokio::spawn(async move {
            let Ok(mut stream) = connection.open_uni().await else {
                return;
            };
            while let Some(payload) = queue.recv().await {
                if stream.write_all(&frame(&payload)).await.is_err() {
                    return;
                }
            }
        })
    };
    while let Ok((mut send, mut recv)) = connection.accept_bi().await {
        let registry = Arc::clone(&registry);
        tokio::spawn(async move {
            let Some(body) = read_frame(&mut recv).await else {
                return;
            };
            if let Some((to, payload)) = body.split_first_chunk::<4>() {
                let target = registry
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&u32::from_be_bytes(*to))
                    .cloned();
                if let Some(target) = target {
                    let _ = target.send(payload.to_vec());
                }
            }
            let _ = send.write_all(&frame(&[])).await;
            let _ = send.finish();
        });
    }
    pusher.abort();
    registry
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
}

/// Sends `body` on a new stream and waits for the (empty) answer.
///
/// # Errors
///
/// The connection's error.
pub(crate) async fn request(connection: &quinn::Connection, body: &[u8]) -> Result<(), String> {
    let (mut send, mut recv) = connection.open_bi().await.map_err(|e| e.to_string())?;
    send.write_all(&frame(body))
        .await
        .map_err(|e| e.to_string())?;
    let _ = send.finish();
    read_frame(&mut recv)
        .await
        .map(drop)
        .ok_or_else(|| "the forwarder did not answer".to_owned())
}

/// Connects to the forwarder (checking the same pin as a relay client) as number `id`.
///
/// # Errors
///
/// The connection's error.
pub(crate) async fn connect(
    endpoint: &quinn::Endpoint,
    address: SocketAddr,
    pin: [u8; 32],
    id: u32,
) -> Result<quinn::Connection, String> {
    let config = vigil_client::transport::client_config(pin).map_err(|e| e.to_string())?;
    let connection = endpoint
        .connect_with(config, address, "localhost")
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    request(&connection, &id.to_be_bytes()).await?;
    Ok(connection)
}
