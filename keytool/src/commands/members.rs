//! `members list`: who holds certificates of the organisation, from the ledger (`org.toml`)
//! and the certificates `issue` and `sign-request` stored under `certificates/`.

use std::io::Write;
use std::path::Path;

use vigil_protocol::provisioning::FileKind;
use vigil_protocol::{MemberCertificate, Role, UnixTime};

use crate::error::{Damage, Error, Result};
use crate::orgdir::{IssuedRecord, OrgDir, read_armored};
use crate::say;
use vigil_common::now;

/// Whether a certificate can be used now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Live,
    Expired,
    Revoked,
}

impl State {
    fn of(record: &IssuedRecord, now: UnixTime) -> Self {
        if record.revoked {
            Self::Revoked
        } else if record.not_after <= now.0 {
            Self::Expired
        } else {
            Self::Live
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// The roles of the stored certificate `serial` of `user`, checked against the ledger: the file
/// must be that certificate, signed by the organisation's root.
fn roles(org: &OrgDir, record: &IssuedRecord) -> Result<Vec<Role>> {
    let path = org
        .certificates_dir()
        .join(format!("{}-{}.vigil", record.serial, record.user));
    let certificate = read_certificate(&path)?;
    let body = certificate.body();
    if body.serial != record.serial || body.user.as_str() != record.user {
        return Err(Error::corrupt(&path, Damage::NotInLedger));
    }
    certificate
        .verify_signature(org.root.key())
        .map_err(|e| Error::corrupt(&path, e))?;
    Ok(body.roles.clone())
}

fn read_certificate(path: &Path) -> Result<MemberCertificate> {
    let bytes = read_armored(path, FileKind::Certificate)?;
    MemberCertificate::from_bytes(&bytes).map_err(|e| Error::corrupt(path, e))
}

/// `members list`: the live certificates (with `all`, every one issued), oldest serial first:
/// user, name, clearance, roles, serial, expiry and state.
pub fn list(dir: &Path, all: bool, out: &mut dyn Write) -> Result<()> {
    let org = OrgDir::open(dir)?;
    let now = now();
    let shown: Vec<&IssuedRecord> = org
        .ledger
        .issued
        .iter()
        .filter(|r| all || State::of(r, now) == State::Live)
        .collect();
    say(
        out,
        format!(
            "{} {} of {}",
            shown.len(),
            if all {
                "certificates issued"
            } else {
                "live certificates"
            },
            org.org
        ),
    );
    for record in shown {
        let roles = roles(&org, record)?;
        let roles: Vec<&str> = roles.iter().map(Role::as_str).collect();
        say(
            out,
            format!(
                "  {:<28} {:<24} {:<16} roles {:<24} serial {:<5} expires {}  {}",
                record.user,
                record.name,
                record.clearance,
                roles.join(","),
                record.serial,
                UnixTime(record.not_after),
                State::of(record, now).as_str()
            ),
        );
    }
    Ok(())
}
