//! `vigil request`: generate the member's keys on this device and write a certificate request
//! for `vigil-keytool sign-request`. The secret keys stay here, sealed under the member's
//! passphrase, until the certificate comes back.

use std::path::Path;

use vigil_keytool::passphrase::Source;
use vigil_keytool::{Error, Result, fsutil};
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair};
use vigil_protocol::provisioning::{CertificateRequest, FileKind, KdfParams, SealedFile, armor};
use vigil_protocol::{Text, UnixTime, UserId, codec};
use zeroize::Zeroizing;

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
/// [`Error`]: a bad user id or name, a request already pending, an existing `out`, a weak or
/// missing passphrase, or an I/O error.
pub fn request(
    home: &Path,
    user: &str,
    name: &str,
    out: &Path,
    pass: &Source,
    now: UnixTime,
) -> Result<Requested> {
    let user = UserId::new(user).map_err(|e| Error::Usage(format!("--user: {e}")))?;
    let name = Text::new(name).map_err(|e| Error::Usage(format!("--name: {e}")))?;
    let pending = crate::home::pending_identity(home);
    if pending.exists() {
        return Err(Error::Usage(format!(
            "a certificate request is already pending on this device ({}); finish enrolling \
             with it, or remove that file to start over",
            pending.display()
        )));
    }
    if out.exists() {
        return Err(Error::Exists(out.to_owned()));
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
    )
    .map_err(|e| Error::Usage(e.to_string()))?;
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
        return Err(e);
    }
    Ok(Requested {
        fingerprint: identity.public().fingerprint(),
        pending,
    })
}
