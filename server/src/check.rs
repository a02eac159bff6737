//! `vigil-relay --check-config`: everything the relay would load at start, and what the
//! configuration claims checked against the files it names: the pin clients are given must
//! be the SHA-256 of the certificate's public key (SubjectPublicKeyInfo), as clients compute
//! it; `host` must be a name (or address) the certificate is for; metrics, served without
//! authentication, must listen on a loopback address.

use std::net::SocketAddr;
use std::path::PathBuf;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use sha2::Digest as _;

use crate::config::{Config, ConfigError, invalid};
use crate::trust::Skipped;

/// What the check found (the configuration is usable).
#[derive(Debug)]
#[non_exhaustive]
pub struct Checked {
    /// The pin computed from the certificate (hex), which equals the configured one.
    pub pin: String,
    /// Each trusted organisation, with its partner limits if any.
    pub roots: Vec<String>,
    /// Files of `revocations/` the relay would skip.
    pub skipped: Vec<Skipped>,
}

/// Why the configuration is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// What the relay itself would refuse at start.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The configured pin is not the certificate's.
    #[error(
        "{}: pin = {configured} but the certificate {} has pin {actual}; clients given the \
         configured pin will refuse this relay: give them {actual} (and fix relay.toml)",
        config.display(),
        certificate.display()
    )]
    Pin {
        config: PathBuf,
        certificate: PathBuf,
        configured: String,
        actual: String,
    },
    /// `host` is not a name the certificate is for.
    #[error(
        "{}: host = {host:?} is not a name in the certificate {}: clients connecting to it \
         are refused; issue the certificate for it or correct host",
        config.display(),
        certificate.display()
    )]
    Host {
        config: PathBuf,
        certificate: PathBuf,
        host: String,
    },
    /// Metrics would be served beyond this machine.
    #[error(
        "{}: metrics = \"{address}\" is not a loopback address: metrics are served without \
         authentication and name every trusted organisation; listen on 127.0.0.1 or [::1] \
         (put a proxy with authentication in front to scrape from elsewhere)",
        config.display()
    )]
    Metrics {
        config: PathBuf,
        address: SocketAddr,
    },
}

/// Checks `config`: trust, TLS certificate and key, pin, host and metrics address.
///
/// # Errors
///
/// [`CheckError`], the first problem found.
pub fn check(config: &Config) -> Result<Checked, CheckError> {
    let (trust, skipped) = crate::trust::load(&config.roots_dir, &config.revocations_dir)?;
    // The key must be the certificate's (rustls compares them).
    crate::tls::server_config(config)?;
    let der = CertificateDer::from_pem_file(&config.certificate)
        .map_err(|e| invalid(&config.certificate, e))?;
    let parsed = rustls::server::ParsedCertificate::try_from(&der)
        .map_err(|e| invalid(&config.certificate, e))?;
    let spki = parsed.subject_public_key_info();
    let pin: String = sha2::Sha256::digest(spki.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if !pin.eq_ignore_ascii_case(config.pin.trim()) {
        return Err(CheckError::Pin {
            config: config.path.clone(),
            certificate: config.certificate.clone(),
            configured: config.pin.clone(),
            actual: pin,
        });
    }
    let host_refused = || CheckError::Host {
        config: config.path.clone(),
        certificate: config.certificate.clone(),
        host: config.host.clone(),
    };
    let name = ServerName::try_from(config.host.as_str()).map_err(|_| host_refused())?;
    rustls::client::verify_server_name(&parsed, &name).map_err(|_| host_refused())?;
    if let Some(address) = config.metrics
        && !address.ip().is_loopback()
    {
        return Err(CheckError::Metrics {
            config: config.path.clone(),
            address,
        });
    }
    let roots = trust
        .roots()
        .map(|r| match trust.limits(r.org()) {
            Some(limits) => format!("{} ({limits})", r.org()),
            None => r.org().to_string(),
        })
        .collect();
    Ok(Checked {
        pin,
        roots,
        skipped,
    })
}
