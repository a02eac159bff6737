//! `org init`: a new organisation.

use std::io::Write;
use std::path::Path;

use vigil_protocol::cert::{RevocationListBody, TrustListBody};
use vigil_protocol::keys::OrgRootKeyPair;
use vigil_protocol::provisioning::{FileKind, KdfParams, SealedFile, armor};
use vigil_protocol::{CountryCode, OrgId, OrgRoot, RevocationList, TrustList, UnixTime, codec};

use crate::error::{Error, Result};
use crate::orgdir::{Ledger, OrgDir, RootKey, write_ledger};
use crate::say;
use crate::token::{TokenKey, TokenRecord};
use vigil_common::passphrase::Source;
use vigil_common::{fs as fsutil, now};

/// Parses the organisation id and its country, and refuses a directory that is not new.
fn check_new(org: &str, country: Option<&str>, dir: &Path) -> Result<(OrgId, CountryCode)> {
    let org = OrgId::new(org).map_err(Error::InvalidOrgId)?;
    let country = country.ok_or(Error::NoCountry)?;
    let country = CountryCode::new(country).map_err(|why| Error::InvalidOption {
        option: "--country",
        why,
    })?;
    if OrgDir::ledger_path(dir).exists() {
        return Err(Error::Exists(dir.to_owned()));
    }
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Error::OrgDirNotEmpty(dir.to_owned()));
    }
    Ok((org, country))
}

/// Creates the organisation `org` of `country` in `dir`.
pub fn init(
    org: &str,
    country: Option<&str>,
    dir: &Path,
    token: Option<TokenRecord>,
    pass: &Source,
    out: &mut dyn Write,
) -> Result<()> {
    let (org, country) = check_new(org, country, dir)?;
    let secret = match &token {
        None => pass.new_passphrase(&format!("the root key of {org}"))?,
        Some(record) => pass.pin(&format!("token {}", record.token))?,
    };
    fsutil::create_private_dir(dir)?;
    let _lock = OrgDir::lock_new(dir)?;
    let created = now();
    let (key, sealed) = new_key(&org, token.as_ref(), &secret)?;
    let root = OrgRoot::create_with(&key, org.clone(), country.clone(), created)?;
    if let Some(sealed) = sealed {
        fsutil::write_new(
            &dir.join("root-key.vigil"),
            armor(FileKind::SealedOrgRootKey, &sealed.to_bytes()).as_bytes(),
        )?;
    }
    fsutil::write_new(
        &dir.join("root.vigil"),
        armor(FileKind::OrgRoot, &root.to_bytes()).as_bytes(),
    )?;
    write_first_lists(dir, &org, &key, created)?;
    // The ledger comes last: its presence marks a complete organisation directory.
    write_ledger(
        dir,
        &Ledger {
            org: org.to_string(),
            next_serial: 1,
            relay: None,
            issued: vec![],
            root_token: token.clone(),
        },
    )?;
    say(
        out,
        format!(
            "Created organisation {org} ({country}) in {}",
            dir.display()
        ),
    );
    say(out, format!("Root fingerprint: {}", root.fingerprint()));
    say(
        out,
        "Partners compare this fingerprint with you before they trust your root.",
    );
    match &token {
        None => say(
            out,
            "Back up root-key.vigil (sealed) and its passphrase separately, offline, in two \
             places: whoever holds both can issue members of your organisation.",
        ),
        Some(record) => say(
            out,
            format!(
                "The root key was generated on token {} as {} and cannot leave it: keep the \
                 token and its PIN apart; every command that signs as the root asks for the \
                 PIN.",
                record.token, record.key
            ),
        ),
    }
    Ok(())
}

/// The new root key: generated here and sealed under `secret`, or generated on the token
/// (`secret` is its PIN).
fn new_key(
    org: &OrgId,
    token: Option<&TokenRecord>,
    secret: &str,
) -> Result<(RootKey, Option<SealedFile>)> {
    let Some(record) = token else {
        let rng = &mut rand_core::OsRng;
        let key = OrgRootKeyPair::generate(rng);
        let sealed = SealedFile::seal(
            rng,
            secret.as_bytes(),
            KdfParams::DEFAULT,
            codec::encode(org),
            key.to_seed().as_slice(),
        )
        .map_err(Error::Seal)?;
        return Ok((RootKey::Sealed(key), Some(sealed)));
    };
    let key = TokenKey::generate(record, secret)?;
    Ok((RootKey::Token(Box::new(key)), None))
}

/// Version 1 of the revocation list (empty) and of the trust list (no partner: `trust add`
/// signs the next), signed by `key`, written in `dir`.
fn write_first_lists(dir: &Path, org: &OrgId, key: &RootKey, created: UnixTime) -> Result<()> {
    let revocations = RevocationList::sign_with(
        key,
        RevocationListBody {
            org: org.clone(),
            version: 1,
            issued_at: created,
            entries: vec![],
        },
    )?;
    fsutil::write_new(
        &dir.join("revocations.vigil"),
        armor(FileKind::RevocationList, &revocations.to_bytes()).as_bytes(),
    )?;
    let trust_list = TrustList::sign_with(
        key,
        TrustListBody {
            org: org.clone(),
            version: 1,
            issued_at: created,
            partners: vec![],
            predecessors: vec![],
        },
    )?;
    fsutil::write_new(
        &dir.join("trust-list.vigil"),
        armor(FileKind::TrustList, &trust_list.to_bytes()).as_bytes(),
    )?;
    Ok(())
}
