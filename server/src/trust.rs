//! The relay's trust, from its two directories: `roots/` (org roots, the partner limits
//! `vigil-keytool trust add` writes beside them, and the organisations' signed trust lists it
//! serves to their members) and `revocations/` (one signed list per
//! organisation). The same loader runs at start and at every reload (`reload.rs`).
//!
//! The two directories fail differently. `roots/` is all or nothing: a file there that does
//! not load refuses the whole directory (at start the relay does not start; at a reload the
//! trust in force stays), since trusting "whatever loaded" could silently drop a partner's
//! limits. A file in `revocations/` that is not a valid list of a trusted organisation is
//! skipped with a warning naming it ([`Skipped`]): one stray file must not stop the relay
//! from applying every other organisation's revocations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tracing::warn;
use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::provisioning::{FileKind, dearmor};
use vigil_protocol::{OrgId, OrgRoot, RevocationError, RevocationList, TrustList, TrustStore};

use crate::config::{ConfigError, invalid};

/// A file of the revocations directory that was not applied, and why.
#[derive(Debug)]
pub struct Skipped {
    pub path: PathBuf,
    pub error: ConfigError,
}

/// Loads every root and partner limits file in `roots` and every revocation list in
/// `revocations` into a trust store. A root with a limits file (`ORG.limits.vigil`) is trusted
/// within those limits; a root without one is trusted without limit, as the operator placed it
/// (the relay's own organisation, or one sharing the relay). Returns the store and the
/// revocation files skipped.
///
/// # Errors
///
/// [`ConfigError`] for an unreadable directory, a file in `roots` that is not what it should
/// be, no root at all, or two limits files for one organisation.
pub fn load(roots: &Path, revocations: &Path) -> Result<(TrustStore, Vec<Skipped>), ConfigError> {
    let mut trust = load_roots(roots)?;
    let skipped = update_revocations(&mut trust, revocations)?;
    Ok((trust, skipped))
}

/// The roots in `dir`, each bounded by its limits file if it has one (no revocation list yet).
///
/// # Errors
///
/// As [`load`], for `roots/`.
pub fn load_roots(dir: &Path) -> Result<TrustStore, ConfigError> {
    let mut trust = TrustStore::new();
    let mut limits: BTreeMap<OrgId, (PathBuf, PartnerLimits)> = BTreeMap::new();
    let mut lists = Vec::new();
    for file in armored_files(dir)? {
        let (path, kind, bytes) = file?;
        // One arm per kind of file `roots/` may hold; anything else refuses the directory.
        match kind {
            FileKind::OrgRoot => {
                let root = OrgRoot::from_bytes(&bytes).map_err(|e| invalid(&path, e))?;
                trust.add_root(root).map_err(|e| invalid(&path, e))?;
            }
            FileKind::PartnerLimits => {
                let (org, bound) =
                    PartnerLimits::from_record(&bytes).map_err(|e| invalid(&path, e))?;
                if let Some((first, _)) = limits.insert(org.clone(), (path.clone(), bound)) {
                    return Err(invalid(
                        &path,
                        format!(
                            "a second limits file for {org}, besides {}",
                            first.display()
                        ),
                    ));
                }
            }
            FileKind::TrustList => lists.push((path, bytes)),
            other => {
                return Err(invalid(
                    &path,
                    format!(
                        "expected an org root, partner limits or trust list file, found a \
                         {other} file"
                    ),
                ));
            }
        }
    }
    if trust.roots().next().is_none() {
        return Err(invalid(dir, "no trusted roots (*.root.vigil)"));
    }
    apply_limits(&mut trust, limits)?;
    keep_trust_lists(&mut trust, lists);
    Ok(trust)
}

/// Keeps each organisation's trust list (`ORG.trust.vigil`, published by `vigil-keytool trust`)
/// to hand to its members; the relay's own trust stays what the roots and limits files say. A
/// list that does not verify against its organisation's root here, or is older than another
/// file's, is skipped with a warning naming the file: members verify every list themselves,
/// so a bad one costs nothing but its own delivery.
fn keep_trust_lists(trust: &mut TrustStore, lists: Vec<(PathBuf, Vec<u8>)>) {
    for (path, bytes) in lists {
        match TrustList::from_bytes(&bytes) {
            Ok(list) => {
                if let Err(reason) = trust.keep_trust_list(list) {
                    warn!(path = %path.display(), %reason, "trust list not served");
                }
            }
            Err(reason) => warn!(path = %path.display(), %reason, "trust list not served"),
        }
    }
}

/// Bounds each partner root by its limits file; a limits file without its root is ignored
/// with a warning (there is nothing to trust).
fn apply_limits(
    trust: &mut TrustStore,
    limits: BTreeMap<OrgId, (PathBuf, PartnerLimits)>,
) -> Result<(), ConfigError> {
    for (org, (path, bound)) in limits {
        match trust.root(&org).cloned() {
            Some(root) => trust
                .add_partner(root, bound)
                .map_err(|e| invalid(&path, e))?,
            None => {
                warn!(path = %path.display(), %org, "partner limits without a root of that organisation; ignored");
            }
        }
    }
    Ok(())
}

/// Applies every revocation list in `dir` to `trust`. A list older than the one in force is
/// ignored with a warning; a file that is unreadable, not a revocation list, of an
/// organisation not trusted, or badly signed is skipped with a warning naming it, and
/// returned.
///
/// # Errors
///
/// [`ConfigError::Io`] when `dir` itself cannot be read (nothing is applied).
pub fn update_revocations(trust: &mut TrustStore, dir: &Path) -> Result<Vec<Skipped>, ConfigError> {
    let mut skipped = Vec::new();
    for file in armored_files(dir)? {
        if let Err(error) =
            file.and_then(|(path, kind, bytes)| apply_list(trust, &path, kind, &bytes))
        {
            let path = error.path().to_owned();
            warn!(path = %path.display(), %error, "revocations: file skipped; remove or replace it");
            skipped.push(Skipped { path, error });
        }
    }
    Ok(skipped)
}

/// Applies one file of the revocations directory.
fn apply_list(
    trust: &mut TrustStore,
    path: &Path,
    kind: FileKind,
    bytes: &[u8],
) -> Result<(), ConfigError> {
    if kind != FileKind::RevocationList {
        return Err(invalid(
            path,
            format!("expected a revocation list file, found a {kind} file"),
        ));
    }
    let list = RevocationList::from_bytes(bytes).map_err(|e| invalid(path, e))?;
    match trust.update_revocations(list) {
        Ok(_) => Ok(()),
        Err(RevocationError::Stale {
            org,
            current,
            offered,
        }) => {
            warn!(path = %path.display(), %org, current, offered, "ignoring an older revocation list");
            Ok(())
        }
        Err(e) => Err(invalid(path, e)),
    }
}

/// One `*.vigil` file: its path, kind and bytes.
type Armored = (PathBuf, FileKind, Vec<u8>);

/// Every `*.vigil` file in `dir`, sorted by name: each read and dearmoured, or why not.
fn armored_files(dir: &Path) -> Result<Vec<Result<Armored, ConfigError>>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "vigil"))
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
                path: path.clone(),
                source,
            })?;
            let (kind, bytes) = dearmor(&text).map_err(|e| invalid(&path, e))?;
            Ok((path, kind, bytes))
        })
        .collect())
}
