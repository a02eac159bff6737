//! `trust add` and `trust list`: partner organisations' roots.

use std::io::Write;
use std::path::Path;

use vigil_protocol::provisioning::{FileKind, armor};

use crate::error::{Error, Result};
use crate::orgdir::{OrgDir, read_root};
use crate::{fsutil, say};

fn normalise_fingerprint(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Trusts the root in `partner` (an org directory or a root file).
pub fn add(
    org_dir: &Path,
    partner: &Path,
    fingerprint: Option<&str>,
    out: &mut dyn Write,
) -> Result<()> {
    let org = OrgDir::open(org_dir)?;
    let file = if partner.is_dir() {
        partner.join("root.vigil")
    } else {
        partner.to_owned()
    };
    let root = read_root(&file)?;
    if root.org() == &org.org {
        return Err(Error::Usage(format!(
            "{} is your own organisation's root",
            file.display()
        )));
    }
    if let Some(expected) = fingerprint
        && normalise_fingerprint(expected) != normalise_fingerprint(&root.fingerprint())
    {
        return Err(Error::Refused(format!(
            "the root of {} has fingerprint {}, not the one given; do not trust it until you \
             know why",
            root.org(),
            root.fingerprint()
        )));
    }
    if let Some(known) = org.partners()?.into_iter().find(|p| p.org() == root.org()) {
        if known.key() == root.key() {
            say(
                out,
                format!(
                    "{} is already trusted (fingerprint {})",
                    root.org(),
                    root.fingerprint()
                ),
            );
            return Ok(());
        }
        return Err(Error::Refused(format!(
            "a different root of {} is already trusted (fingerprint {}); if {} really changed its \
             root, remove {} first",
            root.org(),
            known.fingerprint(),
            root.org(),
            org.partners_dir()
                .join(format!("{}.root.vigil", root.org()))
                .display()
        )));
    }
    fsutil::create_private_dir(&org.partners_dir())?;
    let name = format!("{}.root.vigil", root.org());
    let text = armor(FileKind::OrgRoot, &root.to_bytes());
    fsutil::write_new(&org.partners_dir().join(&name), text.as_bytes())?;
    let published = org.publish_to_relay("roots", &name, text.as_bytes())?;
    say(
        out,
        format!(
            "Now trusting {} (fingerprint {})",
            root.org(),
            root.fingerprint()
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
    say(out, "Bundles issued from now on carry this root.");
    Ok(())
}

/// Lists the own root and the partner roots.
pub fn list(org_dir: &Path, out: &mut dyn Write) -> Result<()> {
    let org = OrgDir::open(org_dir)?;
    say(
        out,
        format!("{:<16} {}  (own)", org.org.as_str(), org.root.fingerprint()),
    );
    for root in org.partners()? {
        say(
            out,
            format!("{:<16} {}", root.org().as_str(), root.fingerprint()),
        );
    }
    Ok(())
}
