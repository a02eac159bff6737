//! Text armour: `-----BEGIN VIGIL <KIND>-----`, base64 in lines of 64, `-----END ...-----`.
//! Files an administrator mails, copies or reads aloud are text, and say what they are.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// What an armoured file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// An org root (public): what partners import.
    OrgRoot,
    /// A member certificate.
    Certificate,
    /// A signed revocation list.
    RevocationList,
    /// An org root key sealed under the administrator's passphrase.
    SealedOrgRootKey,
    /// An enrollment bundle sealed under a one-time passphrase.
    EnrollmentBundle,
    /// A certificate request written by `vigil` on the member's device.
    CertificateRequest,
    /// The keys behind a certificate request, sealed under the member's passphrase until the
    /// certificate arrives.
    PendingIdentity,
    /// A client's store key, sealed under the member's passphrase.
    SealedStoreKey,
    /// What an organisation accepts from one partner (`ORG.limits.vigil`, beside the partner's
    /// root): see [`crate::cert::PartnerLimits::to_record`].
    PartnerLimits,
    /// An organisation's trust list, signed by its root (`ORG.trust.vigil`): see
    /// [`crate::cert::TrustList`].
    TrustList,
}

impl FileKind {
    const ALL: [Self; 10] = [
        Self::OrgRoot,
        Self::Certificate,
        Self::RevocationList,
        Self::SealedOrgRootKey,
        Self::EnrollmentBundle,
        Self::CertificateRequest,
        Self::PendingIdentity,
        Self::SealedStoreKey,
        Self::PartnerLimits,
        Self::TrustList,
    ];

    /// The label in the armour lines, e.g. `ORG ROOT`.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::OrgRoot => "ORG ROOT",
            Self::Certificate => "CERTIFICATE",
            Self::RevocationList => "REVOCATION LIST",
            Self::SealedOrgRootKey => "SEALED ORG ROOT KEY",
            Self::EnrollmentBundle => "ENROLLMENT BUNDLE",
            Self::CertificateRequest => "CERTIFICATE REQUEST",
            Self::PendingIdentity => "SEALED PENDING IDENTITY",
            Self::SealedStoreKey => "SEALED STORE KEY",
            Self::PartnerLimits => "PARTNER LIMITS",
            Self::TrustList => "TRUST LIST",
        }
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label().to_ascii_lowercase())
    }
}

/// An armoured file could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArmorError {
    /// No `-----BEGIN VIGIL ...-----` line.
    #[error("not a Vigil file (no `-----BEGIN VIGIL ...-----` line)")]
    NotVigil,
    /// A label we do not know.
    #[error("unknown Vigil file kind {0:?}")]
    UnknownKind(String),
    /// The END line is missing or names another kind: a truncated or spliced file.
    #[error("truncated file: no matching `-----END VIGIL {0}-----` line")]
    Truncated(&'static str),
    /// The body is not base64.
    #[error("corrupt file: the body is not valid base64")]
    Base64,
}

/// Armours `bytes` as a file of `kind`.
#[must_use]
pub fn armor(kind: FileKind, bytes: &[u8]) -> String {
    let body = STANDARD.encode(bytes);
    let mut out = format!("-----BEGIN VIGIL {}-----\n", kind.label());
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END VIGIL {}-----\n", kind.label()));
    out
}

/// Reads an armoured file: its kind and its bytes. Text before BEGIN and after END is ignored
/// (so a file can carry a human comment).
///
/// # Errors
///
/// [`ArmorError`] for a file that is not Vigil's, of an unknown kind, truncated, or corrupt.
pub fn dearmor(text: &str) -> Result<(FileKind, Vec<u8>), ArmorError> {
    let mut lines = text.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|l| {
            l.strip_prefix("-----BEGIN VIGIL ")
                .and_then(|l| l.strip_suffix("-----"))
        })
        .ok_or(ArmorError::NotVigil)?;
    let kind = FileKind::ALL
        .into_iter()
        .find(|k| k.label() == label)
        .ok_or_else(|| ArmorError::UnknownKind(label.to_owned()))?;
    let end = format!("-----END VIGIL {}-----", kind.label());
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        body.push_str(line);
    }
    if !ended {
        return Err(ArmorError::Truncated(kind.label()));
    }
    let bytes = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| ArmorError::Base64)?;
    Ok((kind, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_damage() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = armor(FileKind::Certificate, &bytes);
        assert!(text.starts_with("-----BEGIN VIGIL CERTIFICATE-----\n"));
        assert_eq!(dearmor(&text), Ok((FileKind::Certificate, bytes.clone())));
        let commented = format!("officer1's certificate\n{text}\n");
        assert_eq!(dearmor(&commented), Ok((FileKind::Certificate, bytes)));
        let truncated: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
        assert_eq!(
            dearmor(&truncated),
            Err(ArmorError::Truncated("CERTIFICATE"))
        );
        assert_eq!(dearmor("hello"), Err(ArmorError::NotVigil));
        let corrupt = text.replacen("AAEC", "AA*C", 1);
        assert_eq!(dearmor(&corrupt), Err(ArmorError::Base64));
        let unknown = "-----BEGIN VIGIL SECRET SAUCE-----\n-----END VIGIL SECRET SAUCE-----\n";
        assert!(matches!(dearmor(unknown), Err(ArmorError::UnknownKind(_))));
    }
}
