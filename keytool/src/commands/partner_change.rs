//! `trust remove` and `trust rotate`: a partner no longer trusted, or trusted under its new
//! root key. Each signs the next trust list, so the change reaches every device through the
//! relay, and updates the relay's `roots/` when the relay directory is here.

use std::io::Write;
use std::path::Path;

use vigil_protocol::OrgId;
use vigil_protocol::provisioning::{FileKind, armor};

use super::trust::{partner_root, sign_and_publish};
use crate::error::{Error, Result};
use crate::orgdir::OrgDir;
use crate::orgdir::partners::{Partner, limits_name, root_name};
use crate::say;
use vigil_common::fs as fsutil;
use vigil_common::passphrase::Source;

/// The partner `org` as trusted now.
fn trusted(org: &OrgDir, partner: &OrgId) -> Result<Partner> {
    org.partners()?
        .into_iter()
        .find(|p| p.root.org() == partner)
        .ok_or_else(|| Error::NotAPartner {
            org: org.org.clone(),
            partner: partner.clone(),
        })
}

/// Stops trusting partner `partner`: its root and limits leave `partners/` and the relay's
/// `roots/`, and the next trust list no longer names it.
pub fn remove(org_dir: &Path, partner: &str, pass: &Source, out: &mut dyn Write) -> Result<()> {
    let org = OrgDir::open(org_dir)?;
    let partner = OrgId::new(partner).map_err(|why| Error::InvalidOption {
        option: "--partner",
        why,
    })?;
    let known = trusted(&org, &partner)?;
    let root_key = org.unlock_root(pass)?;
    // The root goes first: a reader never sees a root without its limits.
    for name in [root_name(&partner), limits_name(&partner)] {
        let path = org.partners_dir().join(&name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
        if let Some(path) = org.unpublish_from_relay("roots", &name)? {
            say(out, format!("Removed from the relay: {}", path.display()));
        }
    }
    say(
        out,
        format!(
            "No longer trusting {partner} (fingerprint {})",
            known.root.fingerprint()
        ),
    );
    sign_and_publish(&org, &root_key, out)?;
    say(
        out,
        format!(
            "Devices stop trusting {partner} when they fetch this list; channels you act for \
             remove its members then, as they remove revoked members."
        ),
    );
    Ok(())
}

/// Trusts partner `partner_file`'s organisation under the new root in that file (its limits
/// stay): the partner rotated its root key. Certificates signed by the old root stop verifying
/// everywhere once devices fetch the list: the partner reissues its members first.
pub fn rotate(
    org_dir: &Path,
    partner_file: &Path,
    fingerprint: Option<&str>,
    pass: &Source,
    out: &mut dyn Write,
) -> Result<()> {
    let org = OrgDir::open(org_dir)?;
    let root = partner_root(&org, partner_file, fingerprint)?;
    let known = trusted(&org, root.org())?;
    if known.root.key() == root.key() {
        return Err(Error::SameRoot {
            org: root.org().clone(),
            fingerprint: root.fingerprint(),
        });
    }
    let root_key = org.unlock_root(pass)?;
    let name = root_name(root.org());
    let text = armor(FileKind::OrgRoot, &root.to_bytes());
    fsutil::write_atomic(&org.partners_dir().join(&name), text.as_bytes())?;
    let published = org.publish_to_relay("roots", &name, text.as_bytes())?;
    say(
        out,
        format!(
            "{} is now trusted under its new root (fingerprint {}, was {}); limits unchanged: {}",
            root.org(),
            root.fingerprint(),
            known.root.fingerprint(),
            known.limits
        ),
    );
    if fingerprint.is_none() {
        say(
            out,
            "Compare this fingerprint with the partner over a channel you trust (phone, in person).",
        );
    }
    if let Some(path) = published {
        say(out, format!("Published to the relay: {}", path.display()));
    }
    sign_and_publish(&org, &root_key, out)
}
