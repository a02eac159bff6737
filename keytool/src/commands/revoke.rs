//! `revoke`: a new, higher-versioned revocation list naming a member's live certificates.

use std::io::Write;

use vigil_protocol::cert::RevokedCertificate;
use vigil_protocol::provisioning::{FileKind, armor};
use vigil_protocol::{RevocationList, Text, UserId};

use crate::cli::RevokeArgs;
use crate::error::{Damage, Error, Result};
use crate::orgdir::OrgDir;
use crate::say;
use vigil_common::passphrase::Source;
use vigil_common::{fs as fsutil, now};

/// The serials of `user`'s certificates not yet revoked; refused when there are none.
fn unrevoked(org: &OrgDir, user: &UserId) -> Result<Vec<u64>> {
    let serials: Vec<u64> = org
        .ledger
        .issued
        .iter()
        .filter(|r| r.user == user.as_str() && !r.revoked)
        .map(|r| r.serial)
        .collect();
    if serials.is_empty() {
        return Err(Error::NothingToRevoke {
            user: user.clone(),
            org: org.org.clone(),
        });
    }
    Ok(serials)
}

/// Revokes every certificate of `args.user` not yet revoked.
pub fn revoke(args: &RevokeArgs, pass: &Source, out: &mut dyn Write) -> Result<()> {
    let mut org = OrgDir::open(&args.org_dir)?;
    let user = UserId::new(&args.user).map_err(|why| Error::InvalidOption {
        option: "--user",
        why,
    })?;
    let reason = Text::new(&args.reason).map_err(|why| Error::InvalidOption {
        option: "--reason",
        why,
    })?;
    let serials = unrevoked(&org, &user)?;
    let root_key = org.unlock_root(pass)?;
    // The next version follows the list on disk, not the ledger: after a crash between the two
    // writes, a version is never signed twice with different contents.
    let current = org.revocations()?;
    let mut body = current.body().clone();
    body.version = body
        .version
        .checked_add(1)
        .ok_or_else(|| Error::corrupt(org.revocations_path(), Damage::VersionExhausted))?;
    let revoked_at = now();
    body.issued_at = revoked_at;
    for &serial in &serials {
        if current.find(serial).is_none() {
            body.entries.push(RevokedCertificate {
                serial,
                user: user.clone(),
                revoked_at,
                reason: reason.clone(),
            });
        }
    }
    let list = RevocationList::sign_with(&root_key, body)?;
    let text = armor(FileKind::RevocationList, &list.to_bytes());
    fsutil::write_atomic(&org.revocations_path(), text.as_bytes())?;
    let published = org.publish_to_relay(
        "revocations",
        &format!("{}.vigil", org.org),
        text.as_bytes(),
    )?;
    for record in org
        .ledger
        .issued
        .iter_mut()
        .filter(|r| serials.contains(&r.serial))
    {
        record.revoked = true;
    }
    org.save_ledger()?;
    let list_serials: Vec<String> = serials.iter().map(u64::to_string).collect();
    say(
        out,
        format!(
            "Revoked certificate(s) {} of {user}: {reason}",
            list_serials.join(", ")
        ),
    );
    say(
        out,
        format!(
            "Revocation list version {}: {}",
            list.body().version,
            org.revocations_path().display()
        ),
    );
    match published {
        Some(path) => say(out, format!("Published to the relay: {}", path.display())),
        None => say(
            out,
            "No relay directory on this machine: copy the list to the relay's revocations directory.",
        ),
    }
    Ok(())
}
