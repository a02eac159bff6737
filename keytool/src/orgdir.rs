//! An organisation directory: the sealed root key, the public root, the revocation list,
//! partner roots, issued certificates and the ledger (`org.toml`).
//!
//! ```text
//! ORGDIR/
//!   org.toml                   ledger: serial counter, relay, issued certificates
//!   root.vigil                 the public root partners import
//!   root-key.vigil             the root key, sealed under the administrator's passphrase
//!   revocations.vigil          the signed revocation list in force
//!   partners/ORG.root.vigil    trusted partner roots
//!   partners/ORG.limits.vigil  what we accept from each partner (see [`partners`])
//!   certificates/N-USER.vigil  every certificate issued, by serial
//! ```

pub mod partners;
pub mod trust_list;

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vigil_protocol::keys::OrgRootKeyPair;
use vigil_protocol::provisioning::{FileKind, SealError, SealedFile, armor, dearmor};
use vigil_protocol::{MemberCertificate, OrgId, OrgRoot, RevocationList, UserId};
use zeroize::Zeroizing;

use crate::error::{Damage, Error, Result};
use vigil_common::fs as fsutil;

/// The relay an organisation runs, as recorded by `relay init`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RelayRecord {
    /// The relay directory (absolute).
    pub dir: PathBuf,
    /// `host:port` clients connect to.
    pub address: String,
    /// TLS server name.
    pub server_name: String,
    /// SHA-256 of the relay certificate's public key, hex.
    pub pin: String,
    /// Whether another organisation runs the relay (`relay use`) rather than this one
    /// (`relay init`). Only the operator's partner limits are published to it: a partner
    /// using a shared relay must not limit the operator's own members there.
    #[serde(default)]
    pub shared: bool,
}

impl RelayRecord {
    /// The pin as bytes, or `None` when the ledger holds something that is not 64 hex digits.
    #[must_use]
    pub fn pin_bytes(&self) -> Option<[u8; 32]> {
        let hex = self.pin.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut pin = [0u8; 32];
        for (byte, pair) in pin.iter_mut().zip(hex.chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(pin)
    }
}

/// One issued certificate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssuedRecord {
    pub serial: u64,
    pub user: String,
    /// Display name.
    pub name: String,
    /// Clearance, as the policy describes it.
    pub clearance: String,
    /// Expiry (Unix seconds).
    pub not_after: u64,
    /// Whether it has been revoked.
    pub revoked: bool,
}

/// `org.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ledger {
    pub org: String,
    /// The next serial to issue; serials are reserved (written here) before they are used.
    pub next_serial: u64,
    /// The relay, once `relay init` ran.
    pub relay: Option<RelayRecord>,
    /// Every certificate issued.
    #[serde(default)]
    pub issued: Vec<IssuedRecord>,
    /// Where the root key lives when it is on a PKCS#11 token (else sealed in
    /// `root-key.vigil`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_token: Option<crate::token::TokenRecord>,
}

/// The org root key, opened: sealed in `root-key.vigil` and unsealed in memory, or on a
/// PKCS#11 token, where it stays.
#[derive(Debug)]
pub enum RootKey {
    /// Unsealed from `root-key.vigil`.
    Sealed(OrgRootKeyPair),
    /// On a token, logged in.
    Token(Box<crate::token::TokenKey>),
}

impl vigil_protocol::keys::RootSigner for RootKey {
    type Error = Error;

    fn root_public(&self) -> vigil_protocol::keys::OrgRootPublicKey {
        match self {
            Self::Sealed(key) => key.public(),
            Self::Token(key) => key.root_public(),
        }
    }

    fn sign_as_root(
        &self,
        context: vigil_protocol::keys::SignatureContext,
        message: &[u8],
    ) -> Result<vigil_protocol::keys::Signature> {
        match self {
            Self::Sealed(key) => Ok(key.sign(context, message)),
            Self::Token(key) => key.sign_as_root(context, message),
        }
    }
}

/// An open organisation directory, locked against concurrent `vigil-keytool` runs.
#[derive(Debug)]
pub struct OrgDir {
    path: PathBuf,
    _lock: File,
    /// The ledger as read.
    pub ledger: Ledger,
    pub org: OrgId,
    /// The public root.
    pub root: OrgRoot,
}

fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(fsutil::FILE_MODE)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    // A lock held for a moment (a process forked by another program in the middle of
    // starting a child, which holds a copy of the descriptor until it executes) is waited for;
    // another vigil-keytool at work is refused once [`LOCK_PATIENCE`] has passed.
    let deadline = std::time::Instant::now() + LOCK_PATIENCE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(_) => return Err(Error::InUse(dir.to_owned())),
        }
    }
}

/// How long a command waits for the organisation directory's lock before it says another
/// `vigil-keytool` is using it.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads an armoured file of `kind`.
pub fn read_armored(path: &Path, kind: FileKind) -> Result<Vec<u8>> {
    let text = fsutil::read_text(path)?;
    let (found, bytes) = dearmor(&text).map_err(|e| Error::corrupt(path, e))?;
    if found != kind {
        return Err(Error::corrupt(
            path,
            Damage::WrongKind {
                expected: kind,
                found,
            },
        ));
    }
    Ok(bytes)
}

/// Opens the sealed root key at `path` (`root-key.vigil`, or a backup of it) with
/// `passphrase`; whose root it is, the caller checks.
///
/// # Errors
///
/// [`Error::WrongPassphrase`], or [`Error::Corrupt`] for a file that is not a sealed root key.
pub fn open_root_key(path: &Path, passphrase: &str) -> Result<OrgRootKeyPair> {
    let sealed = SealedFile::from_bytes(&read_armored(path, FileKind::SealedOrgRootKey)?)
        .map_err(|e| Error::corrupt(path, e))?;
    let seed: Zeroizing<Vec<u8>> = sealed.open(passphrase.as_bytes()).map_err(|e| match e {
        SealError::WrongPassphraseOrCorrupt => Error::WrongPassphrase(path.to_owned()),
        other => Error::corrupt(path, Damage::Seal(other)),
    })?;
    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
        seed.as_slice()
            .try_into()
            .map_err(|_| Error::corrupt(path, Damage::NotRootKey))?,
    );
    Ok(OrgRootKeyPair::from_seed(&seed))
}

/// Reads and verifies an org root file.
pub fn read_root(path: &Path) -> Result<OrgRoot> {
    let bytes = read_armored(path, FileKind::OrgRoot)?;
    OrgRoot::from_bytes(&bytes).map_err(|e| Error::corrupt(path, e))
}

impl OrgDir {
    /// Paths inside the directory.
    pub fn ledger_path(dir: &Path) -> PathBuf {
        dir.join("org.toml")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `root.vigil`.
    pub fn root_path(&self) -> PathBuf {
        self.path.join("root.vigil")
    }

    /// `root-key.vigil`.
    pub fn root_key_path(&self) -> PathBuf {
        self.path.join("root-key.vigil")
    }

    /// `revocations.vigil`.
    pub fn revocations_path(&self) -> PathBuf {
        self.path.join("revocations.vigil")
    }

    /// `partners/`.
    pub fn partners_dir(&self) -> PathBuf {
        self.path.join("partners")
    }

    /// `certificates/`.
    pub fn certificates_dir(&self) -> PathBuf {
        self.path.join("certificates")
    }

    /// Creates the lock of a directory `org init` is filling.
    pub fn lock_new(dir: &Path) -> Result<File> {
        lock(dir)
    }

    /// Opens and locks an existing organisation directory.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::NotOrgDir(dir.to_owned()));
        }
        let ledger_path = Self::ledger_path(dir);
        if !ledger_path.is_file() {
            return Err(Error::NotOrgDir(dir.to_owned()));
        }
        let lock = lock(dir)?;
        let ledger: Ledger = toml::from_str(&fsutil::read_text(&ledger_path)?)
            .map_err(|e| Error::corrupt(&ledger_path, e))?;
        let org = OrgId::new(&ledger.org).map_err(|e| Error::corrupt(&ledger_path, e))?;
        let path = dir.to_owned();
        let root = read_root(&path.join("root.vigil"))?;
        if root.org() != &org {
            return Err(Error::corrupt(
                path.join("root.vigil"),
                Damage::RootOfOtherOrg {
                    ledger: org,
                    root: root.org().clone(),
                },
            ));
        }
        Ok(Self {
            path,
            _lock: lock,
            ledger,
            org,
            root,
        })
    }

    /// Writes the ledger atomically.
    pub fn save_ledger(&self) -> Result<()> {
        write_ledger(&self.path, &self.ledger)
    }

    /// Opens the root key with what `pass` gives: the token's PIN when `org.toml` names a
    /// token, else the passphrase of `root-key.vigil`.
    pub fn unlock_root(&self, pass: &vigil_common::passphrase::Source) -> Result<RootKey> {
        let secret = match &self.ledger.root_token {
            Some(record) => pass.pin(&format!(
                "token {} (root key of {})",
                record.token, self.org
            ))?,
            None => pass.existing(&format!("the root key of {}", self.org))?,
        };
        self.root_key(&secret)
    }

    /// Opens the root key: with `secret` as the passphrase of `root-key.vigil`, or as the PIN
    /// of the token `org.toml` names.
    pub fn root_key(&self, secret: &str) -> Result<RootKey> {
        if let Some(record) = &self.ledger.root_token {
            let key = crate::token::TokenKey::open(record, secret, self.root.key(), &self.path)?;
            return Ok(RootKey::Token(Box::new(key)));
        }
        let path = self.root_key_path();
        let key = open_root_key(&path, secret)?;
        if &key.public() != self.root.key() {
            return Err(Error::corrupt(&path, Damage::KeyNotOfRoot));
        }
        Ok(RootKey::Sealed(key))
    }

    /// The revocation list in force, verified.
    pub fn revocations(&self) -> Result<RevocationList> {
        let path = self.revocations_path();
        let list = RevocationList::from_bytes(&read_armored(&path, FileKind::RevocationList)?)
            .map_err(|e| Error::corrupt(&path, e))?;
        list.verify(&self.root)
            .map_err(|e| Error::corrupt(&path, e))?;
        Ok(list)
    }

    /// Reserves the next serial (written to the ledger before it is used, so a crash can burn a
    /// serial but never reuse one).
    pub fn reserve_serial(&mut self) -> Result<u64> {
        let serial = self.ledger.next_serial;
        self.ledger.next_serial = serial.checked_add(1).ok_or_else(|| {
            Error::corrupt(Self::ledger_path(&self.path), Damage::SerialsExhausted)
        })?;
        self.save_ledger()?;
        Ok(serial)
    }

    /// Refuses a user id that is outside the organisation or already holds a live certificate.
    pub fn check_new_member(&self, user: &UserId, now: u64) -> Result<()> {
        if !user.belongs_to(&self.org) {
            return Err(Error::NotInOrg {
                user: user.clone(),
                org: self.org.clone(),
            });
        }
        if let Some(live) = self
            .ledger
            .issued
            .iter()
            .find(|r| r.user == user.as_str() && !r.revoked && r.not_after > now)
        {
            return Err(Error::AlreadyIssued {
                user: user.clone(),
                serial: live.serial,
                not_after: vigil_protocol::UnixTime(live.not_after),
            });
        }
        Ok(())
    }

    /// Stores an issued certificate under `certificates/` and records it in the ledger.
    pub fn record_issued(
        &mut self,
        certificate: &MemberCertificate,
        clearance: String,
    ) -> Result<PathBuf> {
        let body = certificate.body();
        let dir = self.certificates_dir();
        fsutil::create_private_dir(&dir)?;
        let path = dir.join(format!("{}-{}.vigil", body.serial, body.user));
        fsutil::write_atomic(
            &path,
            armor(FileKind::Certificate, &certificate.to_bytes()).as_bytes(),
        )?;
        self.ledger.issued.push(IssuedRecord {
            serial: body.serial,
            user: body.user.to_string(),
            name: body.display_name.to_string(),
            clearance,
            not_after: body.not_after.0,
            revoked: false,
        });
        self.save_ledger()?;
        Ok(path)
    }

    /// Copies a public file into the relay directory, if a relay was set up.
    pub fn publish_to_relay(
        &self,
        subdir: &str,
        name: &str,
        contents: &[u8],
    ) -> Result<Option<PathBuf>> {
        let Some(relay) = &self.ledger.relay else {
            return Ok(None);
        };
        let dir = relay.dir.join(subdir);
        if !relay.dir.is_dir() {
            return Ok(None);
        }
        fsutil::create_private_dir(&dir)?;
        let path = dir.join(name);
        fsutil::write_atomic(&path, contents)?;
        Ok(Some(path))
    }

    /// Removes a file published with [`Self::publish_to_relay`], if a relay directory is here
    /// and holds it. Returns the path removed.
    pub fn unpublish_from_relay(&self, subdir: &str, name: &str) -> Result<Option<PathBuf>> {
        let Some(relay) = &self.ledger.relay else {
            return Ok(None);
        };
        let path = relay.dir.join(subdir).join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(Some(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }
}

/// Writes `org.toml` atomically.
pub fn write_ledger(dir: &Path, ledger: &Ledger) -> Result<()> {
    let text = toml::to_string_pretty(ledger).map_err(Error::LedgerEncode)?;
    let header = "# vigil-keytool ledger: serial counter, relay, issued certificates.\n\
                  # Written by vigil-keytool; edit only if you know why.\n\n";
    fsutil::write_atomic(
        &OrgDir::ledger_path(dir),
        format!("{header}{text}").as_bytes(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn a_lock_held_for_a_moment_is_waited_for_and_one_held_on_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path()).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            drop(held);
        });
        let second = lock(dir.path()).unwrap();
        release.join().unwrap();
        assert!(matches!(lock(dir.path()), Err(Error::InUse(d)) if d == dir.path()));
        drop(second);
        assert!(lock(dir.path()).is_ok());
    }
}
