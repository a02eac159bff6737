//! `trust add` and `trust list`: partner organisations' roots and what we accept from them.

use std::io::Write;
use std::path::Path;

use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::provisioning::{FileKind, armor};
use vigil_protocol::{OrgRoot, Role};

use super::issue::parse_clearance;
use crate::error::{Error, Result};
use crate::orgdir::partners::{Partner, default_limits, root_name};
use crate::orgdir::trust_list::trust_list_name;
use crate::orgdir::{OrgDir, RootKey, read_root};
use crate::say;
use vigil_common::passphrase::Source;
use vigil_common::{fs as fsutil, now};

/// The limits as typed on the command line.
#[derive(Debug, Clone, Default)]
pub struct LimitArgs {
    /// `--max-clearance`, if given.
    pub max_clearance: Option<String>,
    /// Every `--role`.
    pub roles: Vec<String>,
}

impl LimitArgs {
    /// Whether any limit was given (a re-run without any keeps the recorded limits).
    fn given(&self) -> bool {
        self.max_clearance.is_some() || !self.roles.is_empty()
    }

    /// The limits they set: the default clearance when `--max-clearance` is absent, any role
    /// when no `--role` is given.
    fn parse(&self) -> Result<PartnerLimits> {
        let max_clearance = match &self.max_clearance {
            Some(text) => parse_clearance(text)?,
            None => default_limits()?.max_clearance,
        };
        let roles = if self.roles.is_empty() {
            None
        } else {
            let roles = self
                .roles
                .iter()
                .map(|r| {
                    Role::new(r).map_err(|why| Error::InvalidOption {
                        option: "--role",
                        why,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Some(roles)
        };
        Ok(PartnerLimits {
            max_clearance,
            roles,
        })
    }
}

fn normalise_fingerprint(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Reads the partner's root and refuses the own root and a fingerprint that differs.
pub(super) fn partner_root(
    org: &OrgDir,
    partner: &Path,
    fingerprint: Option<&str>,
) -> Result<OrgRoot> {
    let file = if partner.is_dir() {
        partner.join("root.vigil")
    } else {
        partner.to_owned()
    };
    let root = read_root(&file)?;
    if root.org() == &org.org {
        return Err(Error::OwnRoot(file));
    }
    if let Some(expected) = fingerprint
        && normalise_fingerprint(expected) != normalise_fingerprint(&root.fingerprint())
    {
        return Err(Error::FingerprintMismatch {
            org: root.org().clone(),
            fingerprint: root.fingerprint(),
        });
    }
    Ok(root)
}

/// Trusts the root in `partner` (an org directory or a root file) within `limits`, or changes
/// the limits of a partner already trusted; then signs the next trust list (with the root key,
/// asked for only when something changes) and publishes it.
pub fn add(
    org_dir: &Path,
    partner: &Path,
    fingerprint: Option<&str>,
    limits: &LimitArgs,
    pass: &Source,
    out: &mut dyn Write,
) -> Result<()> {
    let org = OrgDir::open(org_dir)?;
    let root = partner_root(&org, partner, fingerprint)?;
    let known = org
        .partners()?
        .into_iter()
        .find(|p| p.root.org() == root.org());
    let change = match &known {
        Some(known) if known.root.key() != root.key() => {
            return Err(Error::RootConflict {
                org: root.org().clone(),
                trusted: known.root.fingerprint(),
                path: org.partners_dir().join(root_name(root.org())),
            });
        }
        Some(known) => planned_limits(known, limits, out)?,
        None => Some(limits.parse()?),
    };
    let unsigned = org.trust_list()?.is_none();
    if change.is_none() && !unsigned {
        return Ok(());
    }
    let root_key = org.unlock_root(pass)?;
    match (known, change) {
        (Some(known), Some(new)) => update(&org, &known, &new, limits, out)?,
        (None, Some(new)) => trust_new(&org, &root, fingerprint.is_none(), &new, limits, out)?,
        (_, None) => {}
    }
    sign_and_publish(&org, &root_key, out)
}

/// The new limits of a partner trusted already, or `None` when they stay as they are.
fn planned_limits(
    known: &Partner,
    limits: &LimitArgs,
    out: &mut dyn Write,
) -> Result<Option<PartnerLimits>> {
    let root = &known.root;
    say(
        out,
        format!(
            "{} is already trusted (fingerprint {})",
            root.org(),
            root.fingerprint()
        ),
    );
    if known.recorded && !limits.given() {
        say(
            out,
            format!(
                "Accepting from {}: {} (unchanged; give --max-clearance or --role to change it)",
                root.org(),
                known.limits
            ),
        );
        return Ok(None);
    }
    let new = limits.parse()?;
    if known.recorded && new == known.limits {
        say(out, format!("Limits unchanged: {new}"));
        return Ok(None);
    }
    Ok(Some(new))
}

/// Records the new limits of a partner trusted already, here and at the relay.
fn update(
    org: &OrgDir,
    known: &Partner,
    new: &PartnerLimits,
    limits: &LimitArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let root = &known.root;
    org.write_limits(root.org(), new)?;
    say(
        out,
        format!(
            "Limits of {} updated: {} (was {}{})",
            root.org(),
            new,
            known.limits,
            if known.recorded { "" } else { ", by default" }
        ),
    );
    default_note(org, root, limits, out);
    published(org.publish_limits(root.org(), new)?, out);
    Ok(())
}

/// A partner trusted for the first time: its limits, then its root (so that no reader ever
/// sees the root without its limits), here and at the relay.
fn trust_new(
    org: &OrgDir,
    root: &OrgRoot,
    unverified: bool,
    new: &PartnerLimits,
    limits: &LimitArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let name = root_name(root.org());
    let text = armor(FileKind::OrgRoot, &root.to_bytes());
    org.write_limits(root.org(), new)?;
    fsutil::write_new(&org.partners_dir().join(&name), text.as_bytes())?;
    let limits_published = org.publish_limits(root.org(), new)?;
    let root_published = org.publish_to_relay("roots", &name, text.as_bytes())?;
    say(
        out,
        format!(
            "Now trusting {} ({}, fingerprint {})",
            root.org(),
            root.country(),
            root.fingerprint()
        ),
    );
    if unverified {
        say(
            out,
            "Compare this fingerprint with the partner over a channel you trust (phone, in person).",
        );
    }
    say(out, format!("Accepting from {}: {new}", root.org()));
    default_note(org, root, limits, out);
    published(limits_published, out);
    published(root_published, out);
    Ok(())
}

/// Signs the next trust list from `partners/`, publishes it, and says how it reaches the relay
/// and the devices.
pub(super) fn sign_and_publish(
    org: &OrgDir,
    root_key: &RootKey,
    out: &mut dyn Write,
) -> Result<()> {
    let (list, published) = org.sign_trust_list(root_key, now())?;
    say(
        out,
        format!(
            "Trust list version {} signed: {} ({} partner(s))",
            list.version(),
            org.trust_list_path().display(),
            list.body().partners.len()
        ),
    );
    match published {
        Some(path) => say(
            out,
            format!(
                "Published to the relay: {} (the relay reloads it on SIGHUP or within a \
                 housekeeping round; devices fetch it at their next connection or refresh)",
                path.display()
            ),
        ),
        None => say(
            out,
            format!(
                "No relay directory on this machine: copy {} to the relay's roots directory as \
                 {} (and the partner's root and limits files when you added one), then reload \
                 the relay (SIGHUP).",
                org.trust_list_path().display(),
                trust_list_name(&org.org)
            ),
        ),
    }
    Ok(())
}

/// Says how to raise the default clearance when `--max-clearance` was not given.
fn default_note(org: &OrgDir, root: &OrgRoot, limits: &LimitArgs, out: &mut dyn Write) {
    if limits.max_clearance.is_none() {
        let lowest = default_limits().map_or_else(
            |_| "the lowest level".to_owned(),
            |l| l.max_clearance.marking(),
        );
        say(
            out,
            format!(
                "No --max-clearance given: only {lowest} certificates of {partner} are \
                 accepted. To accept more: vigil-keytool trust add --org-dir {dir} --partner \
                 PARTNER_FILE --max-clearance LEVEL",
                partner = root.org(),
                dir = org.path().display()
            ),
        );
    }
}

fn published(path: Option<std::path::PathBuf>, out: &mut dyn Write) {
    if let Some(path) = path {
        say(out, format!("Published to the relay: {}", path.display()));
    }
}

/// Lists the own root and the partner roots with their limits, then the trust list in force.
pub fn list(org_dir: &Path, out: &mut dyn Write) -> Result<()> {
    let org = OrgDir::open(org_dir)?;
    say(
        out,
        format!(
            "{:<16} {}  {}  (own; no limit)",
            org.org.as_str(),
            org.root.country(),
            org.root.fingerprint()
        ),
    );
    for partner in org.partners()? {
        let root = &partner.root;
        let default = if partner.recorded {
            ""
        } else {
            " (by default: none recorded; set them with trust add --max-clearance)"
        };
        say(
            out,
            format!(
                "{:<16} {}  {}  {}{default}",
                root.org().as_str(),
                root.country(),
                root.fingerprint(),
                partner.limits
            ),
        );
    }
    match org.trust_list()? {
        Some(list) => say(
            out,
            format!(
                "Trust list version {} ({} partner(s)), signed {}: {}",
                list.version(),
                list.body().partners.len(),
                list.body().issued_at,
                org.trust_list_path().display()
            ),
        ),
        None => say(
            out,
            "No trust list signed yet: the next `trust add` signs one (devices learn partners \
             added after their enrolment only from it).",
        ),
    }
    Ok(())
}
