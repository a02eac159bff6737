//! `vigil request`: generate the member's keys on this device and write a certificate request
//! for `vigil-keytool sign-request`. The secret keys stay here, sealed under the member's
//! passphrase, until the certificate comes back.

use std::path::Path;

use vigil_common::fs as fsutil;
use vigil_common::passphrase::Source;
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair};
use vigil_protocol::provisioning::{
    CertificateRequest, FileKind, KdfParams, SealError, SealedFile, armor,
};
use vigil_protocol::{Text, UnixTime, UserId, codec};
use zeroize::Zeroizing;

/// Why no request was written; nothing is left behind on any of them.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Keys from an earlier request wait for their certificate at this path.
    #[error(
        "a certificate request is already pending on this device ({}); finish enrolling with \
         it, or remove that file to start over",
        .0.display()
    )]
    AlreadyPending(std::path::PathBuf),
    /// A file could not be written, or no usable passphrase was given.
    #[error(transparent)]
    Files(#[from] vigil_common::Error),
    /// Sealing the new keys under the passphrase failed.
    #[error("cannot seal the new keys: {0}")]
    Seal(#[from] SealError),
}

impl RequestError {
    /// A stable name of this error, in snake_case, for programs that act on it (`vigil --error-format json`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AlreadyPending(..) => "already_pending",
            Self::Files(..) => "files",
            Self::Seal(..) => "seal",
        }
    }

    /// The process exit code: 2 (usage or I/O) for every one of them.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        2
    }
}

/// What `request` made.
#[derive(Debug)]
pub struct Requested {
    /// Fingerprint of the new identity key, to compare with the administrator.
    pub fingerprint: String,
    /// Where the sealed keys are.
    pub pending: std::path::PathBuf,
}

/// Generates keys, seals them in `home`, and writes the request to `out`.
///
/// # Errors
///
/// [`RequestError`]: a request already pending, an existing `out`, a weak or missing
/// passphrase, or an I/O error.
pub fn request(
    home: &Path,
    user: UserId,
    name: Text,
    out: &Path,
    pass: &Source,
    now: UnixTime,
) -> Result<Requested, RequestError> {
    let pending = crate::home::pending_identity(home);
    if pending.exists() {
        return Err(RequestError::AlreadyPending(pending));
    }
    if out.exists() {
        return Err(vigil_common::Error::Exists(out.to_owned()).into());
    }
    let passphrase = pass.new_passphrase("your Vigil keys on this device")?;
    fsutil::create_private_dir(home)?;
    let rng = &mut rand_core::OsRng;
    let identity = IdentityKeyPair::generate(rng);
    let agreement = AgreementKeyPair::generate(rng);
    let mut secrets = Zeroizing::new(Vec::with_capacity(64));
    secrets.extend_from_slice(identity.to_seed().as_slice());
    secrets.extend_from_slice(agreement.to_bytes().as_slice());
    let sealed = SealedFile::seal(
        rng,
        passphrase.as_bytes(),
        KdfParams::DEFAULT,
        codec::encode(&user),
        &secrets,
    )?;
    fsutil::write_new(
        &pending,
        armor(FileKind::PendingIdentity, &sealed.to_bytes()).as_bytes(),
    )?;
    let request = CertificateRequest::new(&identity, agreement.public(), user, name, now);
    if let Err(e) = fsutil::write_new(
        out,
        armor(FileKind::CertificateRequest, &request.to_bytes()).as_bytes(),
    ) {
        let _ = std::fs::remove_file(&pending);
        return Err(e.into());
    }
    Ok(Requested {
        fingerprint: identity.public().fingerprint(),
        pending,
    })
}
