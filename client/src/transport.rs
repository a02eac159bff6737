//! The client's connection to its relay: QUIC with TLS 1.3, the relay recognised by the pin of
//! its key (not by a certificate authority), login bound to the connection, request/response
//! streams and the push stream.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime as TlsTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;
use vigil_protocol::LocalIdentity;
use vigil_protocol::keys::DeviceKeyPair;
use vigil_protocol::relay::{
    ALPN, FrameError, LOGIN_EXPORTER_LABEL, LOGIN_EXPORTER_LEN, MAX_FRAME_LEN, Push, Request,
    Response, decode_frame, encode_frame, frame_len, login_request,
};

/// Talking to the relay failed: the connection could not be made, it broke, or the relay sent
/// something that is not a frame of ours.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// TLS or QUIC cannot be configured for the relay.
    #[error("cannot connect to the relay: {0}")]
    Config(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The relay's address does not resolve.
    #[error("cannot connect to the relay: {address}: {source}")]
    Resolve {
        address: String,
        source: std::io::Error,
    },
    /// The relay's address resolves to nothing.
    #[error("cannot connect to the relay: {0}: no address")]
    NoAddress(String),
    #[error("cannot connect to the relay: cannot open a UDP socket: {0}")]
    Socket(#[source] std::io::Error),
    /// The connection cannot even be attempted (e.g. an invalid server name).
    #[error("cannot connect to the relay: {0}")]
    Connect(#[source] quinn::ConnectError),
    /// The QUIC and TLS handshake failed: unreachable, a wrong pin, a wrong ALPN.
    #[error("cannot connect to the relay: {0}")]
    Handshake(#[source] quinn::ConnectionError),
    /// The TLS session gives no keying material to bind the login to.
    #[error("cannot connect to the relay: no TLS keying material")]
    NoKeyingMaterial,
    /// The handshake and login did not finish in time.
    #[error("cannot connect to the relay: no answer from {0}")]
    NoAnswer(SocketAddr),
    /// The connection broke.
    #[error("connection to the relay lost: {0}")]
    Lost(#[source] quinn::ConnectionError),
    #[error("connection to the relay lost: {0}")]
    Write(#[source] quinn::WriteError),
    #[error("connection to the relay lost: {0}")]
    Read(#[source] quinn::ReadExactError),
    /// The relay closed a request's stream without answering.
    #[error("connection to the relay lost: no response")]
    NoResponse,
    #[error("connection to the relay lost: the relay closed the push stream")]
    PushStreamClosed,
    /// The task reading pushes is gone.
    #[error("connection to the relay lost: push stream ended")]
    PushStreamEnded,
    #[error("connection to the relay lost: not connected")]
    NotConnected,
    /// A request waited longer than [`crate::client::REQUEST_TIMEOUT`].
    #[error("connection to the relay lost: the relay did not answer in time")]
    Timeout,
    /// The relay announced deliveries at login and stopped before sending them all.
    #[error("connection to the relay lost: the relay stopped delivering")]
    StoppedDelivering,
    /// A frame too large or that does not decode.
    #[error("the relay sent a malformed frame: {0}")]
    Malformed(#[source] FrameError),
    /// A frame that decodes, but is no answer to what was asked.
    #[error("the relay sent a malformed frame: unexpected answer: {0:?}")]
    UnexpectedAnswer(Box<Response>),
}

/// The DER SubjectPublicKeyInfo inside an X.509 certificate (walking the DER by hand: the
/// version, serial, signature algorithm, issuer, validity and subject come first).
fn spki(certificate: &[u8]) -> Option<&[u8]> {
    /// One DER element: (tag, whole element, content, what follows).
    type Element<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

    /// Splits one DER element off `input`.
    fn element(input: &[u8]) -> Option<Element<'_>> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7F);
            if n == 0 || n > 3 || rest.len() < n {
                return None;
            }
            let (bytes, rest) = rest.split_at(n);
            (
                bytes
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b)),
                rest,
            )
        };
        let header = input.len() - rest.len();
        if rest.len() < len {
            return None;
        }
        Some((
            tag,
            input.get(..header + len)?,
            rest.get(..len)?,
            rest.get(len..)?,
        ))
    }
    let (_, _, certificate, _) = element(certificate)?;
    let (_, _, mut tbs, _) = element(certificate)?;
    if tbs.first() == Some(&0xA0) {
        tbs = element(tbs)?.3;
    }
    for _ in 0..5 {
        tbs = element(tbs)?.3; // serial, signature, issuer, validity, subject
    }
    let (tag, whole, _, _) = element(tbs)?;
    (tag == 0x30).then_some(whole)
}

/// Accepts exactly the relay whose public key hashes to `pin` (SHA-256 of its DER
/// SubjectPublicKeyInfo), and checks the TLS 1.3 handshake signature with that key.
#[derive(Debug)]
pub struct PinVerifier {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: TlsTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let key = spki(end_entity).ok_or(rustls::Error::InvalidCertificate(
            rustls::CertificateError::BadEncoding,
        ))?;
        let found: [u8; 32] = sha2::Sha256::digest(key).into();
        if bool::from(found.ct_eq(&self.pin)) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Keep-alive interval: an idle duty laptop stays reachable through NATs and the relay's idle
/// timeout.
pub const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(10);

/// A connection silent for this long (no keep-alive answered) is considered lost.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A QUIC client configuration that trusts only the relay with `pin`.
///
/// # Errors
///
/// [`TransportError::Config`] if TLS cannot be configured.
pub fn client_config(pin: [u8; 32]) -> Result<quinn::ClientConfig, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinVerifier {
        pin,
        provider: Arc::clone(&provider),
    });
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TransportError::Config(e.into()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.enable_early_data = false;
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| TransportError::Config(e.into()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(KEEP_ALIVE));
    transport.max_idle_timeout(Some(
        quinn::IdleTimeout::try_from(IDLE_TIMEOUT).map_err(|e| TransportError::Config(e.into()))?,
    ));
    config.transport_config(Arc::new(transport));
    Ok(config)
}

/// Pushes buffered between the push stream and the engine (the relay waits when it is full).
const PUSH_QUEUE: usize = 256;

/// A logged-in connection to the relay.
#[derive(Debug)]
pub struct RelayConnection {
    connection: quinn::Connection,
    pushes: Option<quinn::RecvStream>,
}

async fn read_frame<T: bincode::Decode<()> + bincode::Encode>(
    recv: &mut quinn::RecvStream,
) -> Result<Option<T>, TransportError> {
    let mut header = [0u8; 4];
    match recv.read_exact(&mut header).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(e) => return Err(TransportError::Read(e)),
    }
    let len = frame_len(header, MAX_FRAME_LEN).map_err(TransportError::Malformed)?;
    let mut body = vec![0u8; len];
    recv.read_exact(&mut body)
        .await
        .map_err(TransportError::Read)?;
    decode_frame(&body)
        .map(Some)
        .map_err(TransportError::Malformed)
}

impl RelayConnection {
    /// Connects to `address` (checking the relay's `pin`) and logs in as `identity`.
    ///
    /// # Errors
    ///
    /// [`TransportError`]; a refused login is `Ok` with the relay's [`Response::Error`].
    pub async fn connect(
        endpoint: &quinn::Endpoint,
        address: SocketAddr,
        server_name: &str,
        pin: [u8; 32],
        identity: &LocalIdentity,
        device: &DeviceKeyPair,
    ) -> Result<(Self, Response), TransportError> {
        let this = Self::handshake(endpoint, address, server_name, pin).await?;
        let login = this.login_request(identity, device)?;
        let response = this.request(&login).await?;
        Ok((this, response))
    }

    /// Connects to `address`, checking the relay's `pin`; not logged in yet (see
    /// [`Self::login_request`]).
    ///
    /// # Errors
    ///
    /// [`TransportError`].
    pub async fn handshake(
        endpoint: &quinn::Endpoint,
        address: SocketAddr,
        server_name: &str,
        pin: [u8; 32],
    ) -> Result<Self, TransportError> {
        let connection = endpoint
            .connect_with(client_config(pin)?, address, server_name)
            .map_err(TransportError::Connect)?
            .await
            .map_err(TransportError::Handshake)?;
        Ok(Self {
            connection,
            pushes: None,
        })
    }

    /// The login request of `identity` on `device`, bound to this connection.
    ///
    /// # Errors
    ///
    /// [`TransportError::NoKeyingMaterial`].
    pub fn login_request(
        &self,
        identity: &LocalIdentity,
        device: &DeviceKeyPair,
    ) -> Result<Request, TransportError> {
        let mut exporter = [0u8; LOGIN_EXPORTER_LEN];
        self.connection
            .export_keying_material(&mut exporter, LOGIN_EXPORTER_LABEL, b"")
            .map_err(|_| TransportError::NoKeyingMaterial)?;
        Ok(login_request(
            identity.certificate(),
            identity.identity(),
            device,
            &exporter,
        ))
    }

    /// Sends one request on its own stream and reads the response.
    ///
    /// # Errors
    ///
    /// [`TransportError`].
    pub async fn request(&self, request: &Request) -> Result<Response, TransportError> {
        let (mut send, mut recv) = self
            .connection
            .open_bi()
            .await
            .map_err(TransportError::Lost)?;
        send.write_all(&encode_frame(request))
            .await
            .map_err(TransportError::Write)?;
        let _ = send.finish();
        read_frame(&mut recv)
            .await?
            .ok_or(TransportError::NoResponse)
    }

    /// Sends raw bytes as a request (for tests of the relay's handling of bad input).
    ///
    /// # Errors
    ///
    /// [`TransportError`].
    pub async fn raw_request(&self, bytes: &[u8]) -> Result<Option<Response>, TransportError> {
        let (mut send, mut recv) = self
            .connection
            .open_bi()
            .await
            .map_err(TransportError::Lost)?;
        send.write_all(bytes).await.map_err(TransportError::Write)?;
        let _ = send.finish();
        read_frame(&mut recv).await
    }

    /// Writes `bytes` on a new stream and resets it (a request cut off mid-stream, for tests).
    pub async fn raw_reset(&self, bytes: &[u8]) {
        if let Ok((mut send, _recv)) = self.connection.open_bi().await {
            let _ = send.write_all(bytes).await;
            let _ = send.reset(0u32.into());
        }
    }

    /// Opens a stream and writes half a frame header, then nothing more (for tests of the
    /// relay against slow-loris clients). Keep the streams to keep them open.
    pub async fn raw_open(&self) -> Option<(quinn::SendStream, quinn::RecvStream)> {
        let (mut send, recv) = self.connection.open_bi().await.ok()?;
        send.write_all(&[0, 0]).await.ok()?;
        Some((send, recv))
    }

    /// The next push from the relay; `None` when the relay closed the push stream.
    ///
    /// # Errors
    ///
    /// [`TransportError`].
    pub async fn next_push(&mut self) -> Result<Option<Push>, TransportError> {
        if self.pushes.is_none() {
            let stream = self
                .connection
                .accept_uni()
                .await
                .map_err(TransportError::Lost)?;
            self.pushes = Some(stream);
        }
        match &mut self.pushes {
            Some(stream) => read_frame(stream).await,
            None => Ok(None),
        }
    }

    /// Moves the push stream to a task of its own: pushes (or the error that ended them) arrive
    /// on the returned channel, while requests go on through `self`.
    #[must_use]
    pub fn spawn_pushes(&mut self) -> tokio::sync::mpsc::Receiver<Result<Push, TransportError>> {
        let (tx, rx) = tokio::sync::mpsc::channel(PUSH_QUEUE);
        let mut reader = Self {
            connection: self.connection.clone(),
            pushes: self.pushes.take(),
        };
        tokio::spawn(async move {
            loop {
                let next = match reader.next_push().await {
                    Ok(Some(push)) => Ok(push),
                    Ok(None) => Err(TransportError::PushStreamClosed),
                    Err(e) => Err(e),
                };
                let last = next.is_err();
                if tx.send(next).await.is_err() || last {
                    return;
                }
            }
        });
        rx
    }

    /// Closes the connection.
    pub fn close(&self) {
        self.connection.close(0u32.into(), b"bye");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn spki_of_garbage_is_none() {
        assert_eq!(super::spki(&[]), None);
        assert_eq!(super::spki(&[0x30, 0x82, 0xFF]), None);
        assert_eq!(super::spki(&[0x30, 0x00]), None);
    }
}
