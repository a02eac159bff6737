//! `org rotate`: the organisation moves to a new root key. The old root stays named in the
//! trust list as a predecessor, so channel histories it signed stay verifiable; members are
//! reissued under the new root, and partners run `trust rotate` with the new `root.vigil`.

use std::io::Write;
use std::path::Path;

use vigil_protocol::cert::{PredecessorRoot, RevocationListBody, RevokedCertificate};
use vigil_protocol::keys::OrgRootKeyPair;
use vigil_protocol::provisioning::{FileKind, KdfParams, SealedFile, armor};
use vigil_protocol::{OrgRoot, RevocationList, Text, UnixTime, UserId, codec};

use crate::error::{Damage, Error, Result};
use crate::orgdir::partners::root_name;
use crate::orgdir::{OrgDir, RootKey};
use crate::say;
use vigil_common::passphrase::Source;
use vigil_common::{fs as fsutil, now};

/// Hex digits of the old root's fingerprint naming its files in `predecessors/`: enough to
/// tell roots apart, short enough to read.
const TAG_DIGITS: usize = 16;

/// Rotates the root of the organisation in `org_dir`: the old key (its passphrase asked)
/// proves the administrator holds it, a new key is made and sealed under a new passphrase, and
/// the revocation and trust lists are signed again by it.
pub fn rotate(org_dir: &Path, pass: &Source, out: &mut dyn Write) -> Result<()> {
    let org = OrgDir::open(org_dir)?;
    if org.ledger.root_token.is_some() {
        return Err(Error::RotateOnToken);
    }
    let old_key = org.unlock_root(pass)?;
    let previous = org.trust_list()?;
    let created = now();
    // Every certificate of the old root, revoked as of now, in a last list the old root signs:
    // relays and partners that still trust the old root (until they run `trust rotate`) stop
    // accepting its certificates too. States signed before stay valid everywhere.
    let retired = retire_all(&org, created)?;
    let last_old = RevocationList::sign_with(&old_key, retired.clone())?;
    let passphrase = pass.new_passphrase(&format!("the new root key of {}", org.org))?;
    let rng = &mut rand_core::OsRng;
    let key = OrgRootKeyPair::generate(rng);
    let old = org.root.clone();
    let root = OrgRoot::create(&key, org.org.clone(), old.country().clone(), created);
    let sealed = SealedFile::seal(
        rng,
        passphrase.as_bytes(),
        KdfParams::DEFAULT,
        codec::encode(&org.org),
        key.to_seed().as_slice(),
    )
    .map_err(Error::Seal)?;
    keep_old(&org, &old, &last_old)?;
    fsutil::write_atomic(
        &org.root_key_path(),
        armor(FileKind::SealedOrgRootKey, &sealed.to_bytes()).as_bytes(),
    )?;
    let root_text = armor(FileKind::OrgRoot, &root.to_bytes());
    fsutil::write_atomic(&org.root_path(), root_text.as_bytes())?;
    // Reopened: everything below is checked against the new root.
    drop(org);
    let mut org = OrgDir::open(org_dir)?;
    let key = RootKey::Sealed(key);
    // The new root's list carries the same entries, one version on.
    let mut body = retired;
    body.version = body.version.saturating_add(1);
    for record in org.ledger.issued.iter_mut() {
        record.revoked = true;
    }
    let list = RevocationList::sign_with(&key, body)?;
    let list_text = armor(FileKind::RevocationList, &list.to_bytes());
    fsutil::write_atomic(&org.revocations_path(), list_text.as_bytes())?;
    org.save_ledger()?;
    let mut predecessors = previous
        .as_ref()
        .map(|l| l.body().predecessors.clone())
        .unwrap_or_default();
    predecessors.push(PredecessorRoot {
        root: old.clone(),
        until: created,
    });
    let (trust, _) = org.sign_trust_list_after(previous.as_ref(), predecessors, &key, created)?;
    let relay_root = org.publish_to_relay("roots", &root_name(&org.org), root_text.as_bytes())?;
    let relay_list = org.publish_to_relay(
        "revocations",
        &format!("{}.vigil", org.org),
        list_text.as_bytes(),
    )?;
    report(
        &org,
        &old,
        &root,
        trust.version(),
        relay_root.is_some() && relay_list.is_some(),
        out,
    );
    Ok(())
}

/// The next revocation list's body: the entries in force and every certificate of the ledger
/// not revoked yet, revoked at `at`. A ledger entry whose user id does not parse refuses the
/// rotation (nothing is marked revoked that the list does not name).
fn retire_all(org: &OrgDir, at: UnixTime) -> Result<RevocationListBody> {
    let current = org.revocations()?;
    let mut body = current.body().clone();
    body.version = body
        .version
        .checked_add(1)
        .ok_or_else(|| Error::corrupt(org.revocations_path(), Damage::VersionExhausted))?;
    body.issued_at = at;
    let reason = Text::new("the organisation's root was rotated").map_err(Error::PolicyName)?;
    for record in org.ledger.issued.iter().filter(|r| !r.revoked) {
        let user = UserId::new(&record.user)
            .map_err(|e| Error::corrupt(OrgDir::ledger_path(org.path()), Damage::LedgerUser(e)))?;
        if current.find(record.serial).is_none() {
            body.entries.push(RevokedCertificate {
                serial: record.serial,
                user,
                revoked_at: at,
                reason: reason.clone(),
            });
        }
    }
    Ok(body)
}

/// Keeps the old root, its sealed key and the last list it signed in `predecessors/`, named by
/// the old fingerprint.
fn keep_old(org: &OrgDir, old: &OrgRoot, last: &RevocationList) -> Result<()> {
    let dir = org.path().join("predecessors");
    fsutil::create_private_dir(&dir)?;
    let tag: String = old
        .fingerprint()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(TAG_DIGITS)
        .collect();
    fsutil::write_new(
        &dir.join(format!("root-{tag}.vigil")),
        armor(FileKind::OrgRoot, &old.to_bytes()).as_bytes(),
    )?;
    let sealed =
        std::fs::read(org.root_key_path()).map_err(|e| Error::io(org.root_key_path(), e))?;
    fsutil::write_new(&dir.join(format!("root-key-{tag}.vigil")), &sealed)?;
    fsutil::write_new(
        &dir.join(format!("revocations-{tag}.vigil")),
        armor(FileKind::RevocationList, &last.to_bytes()).as_bytes(),
    )?;
    Ok(())
}

fn report(
    org: &OrgDir,
    old: &OrgRoot,
    root: &OrgRoot,
    version: u64,
    published: bool,
    out: &mut dyn Write,
) {
    say(
        out,
        format!(
            "{} now has a new root: fingerprint {} (was {}); the old root and its sealed key are \
             in {}",
            org.org,
            root.fingerprint(),
            old.fingerprint(),
            org.path().join("predecessors").display()
        ),
    );
    say(
        out,
        format!(
            "Revocation list and trust list (version {version}) signed by the new root; the trust \
             list names the old root, so channel histories it signed stay verifiable."
        ),
    );
    if published {
        say(
            out,
            "Published the new root and lists to the relay's roots/ and revocations/.",
        );
    } else {
        say(
            out,
            "No relay directory on this machine: send root.vigil, revocations.vigil and \
             trust-list.vigil to the relay's operator.",
        );
    }
    say(
        out,
        "Next: reissue every member under the new root (vigil-keytool members list; \
         certificates of the old root are refused from now on), send root.vigil to each partner \
         for `vigil-keytool trust rotate` (read them the new fingerprint), and back up the new \
         root-key.vigil. Destroy the old key in predecessors/ once nobody needs it.",
    );
}
