//! The relay's QUIC server configuration: TLS 1.3 only, ALPN `vigil/1`, 0-RTT off, and the
//! transport limits from `relay.toml`.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{Config, ConfigError};

fn invalid(path: &std::path::Path, why: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_owned(),
        why: why.to_string(),
    }
}

/// Builds the QUIC server configuration from the relay's certificate, key and limits.
///
/// # Errors
///
/// [`ConfigError`] for an unreadable or unusable certificate or key.
pub fn server_config(config: &Config) -> Result<quinn::ServerConfig, ConfigError> {
    let certs = CertificateDer::pem_file_iter(&config.certificate)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| invalid(&config.certificate, e))?;
    let key = PrivateKeyDer::from_pem_file(&config.private_key)
        .map_err(|e| invalid(&config.private_key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| invalid(&config.certificate, e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(&config.certificate, e))?;
    tls.alpn_protocols = vec![vigil_protocol::relay::ALPN.to_vec()];
    // 0-RTT data could be replayed by the network: refuse it outright.
    tls.max_early_data_size = 0;
    let quic = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| invalid(&config.certificate, e))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(quic));
    let limits = &config.limits;
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_idle_timeout(Some(
            Duration::from_secs(limits.idle_timeout_secs)
                .try_into()
                .map_err(|_| invalid(&config.path, "idle_timeout_secs is too large"))?,
        ))
        .keep_alive_interval(Some(Duration::from_secs(limits.keep_alive_secs)))
        .max_concurrent_bidi_streams(limits.max_concurrent_streams.into())
        .max_concurrent_uni_streams(0u8.into());
    server.transport_config(Arc::new(transport));
    Ok(server)
}
