//! `inspect`: any Vigil file, for a human. Never prints a secret; always says whether
//! signatures verify, and exits 1 when one does not.

use std::io::Write;
use std::path::Path;

use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::provisioning::{
    BundleContents, CertificateRequest, FileKind, SealedFile, dearmor,
};
use vigil_protocol::{
    CertificateBody, MemberCertificate, OrgRoot, RevocationList, UnixTime, codec,
};

use crate::cli::InspectArgs;
use crate::error::{Damage, Error, Result, Unverified};
use crate::orgdir::{OrgDir, open_root_key, read_root};
use crate::say;
use vigil_common::passphrase::Source;
use vigil_common::{fs as fsutil, now};

/// An org root: organisation, country, creation, fingerprint and its self-signature.
fn org_root(root: &OrgRoot, out: &mut dyn Write) -> Result<()> {
    say(out, "Vigil org root");
    say(out, format!("  organisation:  {}", root.org()));
    say(out, format!("  country:       {}", root.country()));
    say(out, format!("  created:       {}", root.created()));
    say(out, format!("  fingerprint:   {}", root.fingerprint()));
    match root.verify() {
        Ok(()) => {
            say(out, "  self-signature: valid");
            Ok(())
        }
        Err(_) => refuse(
            out,
            "  self-signature: DOES NOT VERIFY",
            Unverified::RootSelfSignature {
                org: root.org().clone(),
            },
        ),
    }
}

/// Prints `args.file`; with `--check-passphrase`, opens a sealed root key with the passphrase
/// from `pass`.
pub fn inspect(args: &InspectArgs, pass: &Source, out: &mut dyn Write) -> Result<()> {
    let path = &args.file;
    let text = fsutil::read_text(path)?;
    if !text.contains("-----BEGIN VIGIL ") {
        return inspect_toml(path, &text, out);
    }
    let (kind, bytes) = dearmor(&text).map_err(|e| Error::corrupt(path, e))?;
    let roots = known_roots(args)?;
    if args.check_passphrase && kind != FileKind::SealedOrgRootKey {
        return Err(Error::NotSealedRootKey(kind));
    }
    let corrupt = |e: vigil_protocol::DecodeError| Error::corrupt(path, e);
    match kind {
        FileKind::OrgRoot => org_root(&codec::decode(&bytes).map_err(corrupt)?, out),
        FileKind::Certificate => {
            let cert = MemberCertificate::from_bytes(&bytes).map_err(corrupt)?;
            certificate(&cert, &roots, args.org_dir.as_deref(), out)
        }
        FileKind::RevocationList => {
            let list = RevocationList::from_bytes(&bytes).map_err(corrupt)?;
            revocation_list(&list, &roots, out)
        }
        FileKind::SealedOrgRootKey => {
            sealed_root_key(&SealedFile::from_bytes(&bytes).map_err(corrupt)?, out);
            if args.check_passphrase {
                check_root_key(path, &roots, pass, out)?;
            }
            Ok(())
        }
        FileKind::EnrollmentBundle => {
            bundle(&SealedFile::from_bytes(&bytes).map_err(corrupt)?, out);
            Ok(())
        }
        FileKind::PartnerLimits => {
            let (org, limits) = PartnerLimits::from_record(&bytes).map_err(corrupt)?;
            say(out, "Vigil partner limits (what this organisation accepts)");
            say(
                out,
                format!("  partner:       {org}\n  accepting:     {limits}"),
            );
            Ok(())
        }
        FileKind::TrustList => {
            let list = vigil_protocol::TrustList::from_bytes(&bytes).map_err(corrupt)?;
            super::show_trust_list::trust_list(&list, &roots, out)
        }
        FileKind::CertificateRequest => request(
            &CertificateRequest::from_bytes(&bytes).map_err(corrupt)?,
            out,
        ),
        _ => Err(Error::corrupt(path, Damage::NotInspectable(kind))),
    }
}

/// A revocation list, its signature checked against the root of its organisation if known.
fn revocation_list(list: &RevocationList, roots: &[OrgRoot], out: &mut dyn Write) -> Result<()> {
    let body = list.body();
    say(out, "Vigil revocation list");
    say(out, format!("  organisation:  {}", body.org));
    say(out, format!("  version:       {}", body.version));
    say(out, format!("  issued:        {}", body.issued_at));
    say(out, format!("  revoked:       {}", body.entries.len()));
    for entry in &body.entries {
        say(
            out,
            format!(
                "    serial {} {} at {}: {}",
                entry.serial, entry.user, entry.revoked_at, entry.reason
            ),
        );
    }
    check_org_signature(roots, &body.org, out, |root| {
        list.verify(root).map_err(|_| Unverified::RevocationList {
            org: root.org().clone(),
        })
    })
}

/// The signature line of a record `org`'s root signs: checked against that root when it is
/// among `roots` (`verify` says whether it holds), else said to be unchecked.
pub(super) fn check_org_signature(
    roots: &[OrgRoot],
    org: &vigil_protocol::OrgId,
    out: &mut dyn Write,
    verify: impl FnOnce(&OrgRoot) -> std::result::Result<(), Unverified>,
) -> Result<()> {
    let Some(root) = roots.iter().find(|r| r.org() == org) else {
        say(
            out,
            format!(
                "  signature:     not checked: no root of {org} given (use --org-dir or --root)"
            ),
        );
        return Ok(());
    };
    match verify(root) {
        Ok(()) => {
            say(
                out,
                format!(
                    "  signature:     valid ({} root {})",
                    root.org(),
                    root.fingerprint()
                ),
            );
            Ok(())
        }
        Err(why) => refuse(
            out,
            format!(
                "  signature:     DOES NOT VERIFY against the {} root",
                root.org()
            ),
            why,
        ),
    }
}

/// A sealed org root key: only its organisation and KDF parameters, never its contents.
fn sealed_root_key(sealed: &SealedFile, out: &mut dyn Write) {
    let org = codec::decode::<vigil_protocol::OrgId>(&sealed.header)
        .map_or_else(|_| "(unreadable header)".to_owned(), |o| o.to_string());
    say(out, "Vigil org root key (sealed; contents are never shown)");
    say(out, format!("  organisation:  {org}"));
    kdf_lines(sealed, out);
}

/// `--check-passphrase`: the sealed root key at `path` opens with the passphrase, and (when a
/// root of its organisation is known) is that root's key. Prints only fingerprints.
fn check_root_key(
    path: &Path,
    roots: &[OrgRoot],
    pass: &Source,
    out: &mut dyn Write,
) -> Result<()> {
    let passphrase = pass.existing(&format!("the root key in {}", path.display()))?;
    let key = open_root_key(path, &passphrase)?;
    drop(passphrase);
    let public = key.public();
    drop(key);
    say(out, "  passphrase:    correct (the key opens)");
    say(
        out,
        format!("  key:           fingerprint {}", public.fingerprint()),
    );
    if roots.is_empty() {
        say(
            out,
            "  root:          not checked (give --org-dir or --root to compare with the root)",
        );
        return Ok(());
    }
    match roots.iter().find(|r| r.key() == &public) {
        Some(root) => {
            say(
                out,
                format!("  root:          matches the root of {}", root.org()),
            );
            Ok(())
        }
        None => Err(Error::corrupt(path, Damage::KeyNotOfRoot)),
    }
}

/// An enrolment bundle: its unauthenticated header (said so) and KDF parameters.
fn bundle(sealed: &SealedFile, out: &mut dyn Write) {
    say(
        out,
        "Vigil enrollment bundle (sealed; keys are never shown)",
    );
    match BundleContents::peek_header(sealed) {
        Ok(h) => {
            say(
                out,
                format!("  member:        {} ({})", h.user, h.display_name),
            );
            say(out, format!("  organisation:  {}", h.org));
            say(
                out,
                format!(
                    "  certificate:   serial {}, valid until {}",
                    h.serial, h.not_after
                ),
            );
            say(out, format!("  created:       {}", h.created));
            say(
                out,
                "  header:        authenticated only when the bundle is opened with its passphrase",
            );
        }
        Err(e) => say(out, format!("  header:        unreadable ({e})")),
    }
    kdf_lines(sealed, out);
}

/// A certificate request and whether its proof of possession verifies.
fn request(request: &CertificateRequest, out: &mut dyn Write) -> Result<()> {
    let body = request.body();
    say(out, "Vigil certificate request");
    say(out, format!("  user:          {}", body.user));
    say(out, format!("  name:          {}", body.display_name));
    say(out, format!("  created:       {}", body.created));
    say(
        out,
        format!("  identity key:  {}", body.identity_key.fingerprint()),
    );
    match request.verify() {
        Ok(_) => {
            say(
                out,
                "  proof of possession: valid (signed by the identity key it names)",
            );
            Ok(())
        }
        Err(_) => refuse(
            out,
            "  proof of possession: DOES NOT VERIFY",
            Unverified::Request {
                user: body.user.clone(),
            },
        ),
    }
}

/// Prints `line` (what does not verify) and refuses with `why`.
fn refuse(out: &mut dyn Write, line: impl std::fmt::Display, why: Unverified) -> Result<()> {
    say(out, line);
    Err(why.into())
}

fn kdf_lines(sealed: &SealedFile, out: &mut dyn Write) {
    say(
        out,
        format!(
            "  sealing:       Argon2id (memory {} MiB, passes {}, lanes {}) + ChaCha20-Poly1305",
            sealed.kdf.memory_kib / 1024,
            sealed.kdf.iterations,
            sealed.kdf.parallelism
        ),
    );
}

fn known_roots(args: &InspectArgs) -> Result<Vec<OrgRoot>> {
    let mut roots = Vec::new();
    if let Some(dir) = &args.org_dir {
        roots.extend(OrgDir::open(dir)?.all_roots()?);
    }
    if let Some(file) = &args.root {
        roots.push(read_root(file)?);
    }
    Ok(roots)
}

/// What a certificate says, line by line (its signature aside).
fn certificate_body(body: &CertificateBody, out: &mut dyn Write) {
    let now = now();
    let clearance = if body.clearance.policy.as_str() == ClassificationPolicy::eu().name() {
        ClassificationPolicy::eu().describe(body.clearance.level)
    } else {
        format!("{} level {}", body.clearance.policy, body.clearance.level)
    };
    let validity = if now < body.not_before {
        "not yet valid"
    } else if now >= body.not_after {
        "EXPIRED"
    } else {
        "valid now"
    };
    let roles: Vec<&str> = body
        .roles
        .iter()
        .map(vigil_protocol::Role::as_str)
        .collect();
    say(out, "Vigil member certificate");
    say(out, format!("  user:          {}", body.user));
    say(out, format!("  name:          {}", body.display_name));
    say(out, format!("  organisation:  {}", body.org));
    say(out, format!("  roles:         {}", roles.join(", ")));
    say(out, format!("  clearance:     {clearance}"));
    say(out, format!("  serial:        {}", body.serial));
    say(
        out,
        format!(
            "  valid:         {} to {} ({validity})",
            body.not_before, body.not_after
        ),
    );
    say(
        out,
        format!("  identity key:  {}", body.identity_key.fingerprint()),
    );
    say(
        out,
        format!("  agreement key: {}", body.agreement_key.to_hex()),
    );
}

/// A certificate, its signature checked against the root of its organisation if known, then
/// what the organisation in `org_dir` says of it.
fn certificate(
    cert: &MemberCertificate,
    roots: &[OrgRoot],
    org_dir: Option<&Path>,
    out: &mut dyn Write,
) -> Result<()> {
    let body = cert.body();
    certificate_body(body, out);
    let Some(root) = roots.iter().find(|r| r.org() == &body.org) else {
        say(
            out,
            format!(
                "  signature:     not checked: no root of {} given (use --org-dir or --root)",
                body.org
            ),
        );
        return Ok(());
    };
    if cert.verify_signature(root.key()).is_err() {
        return refuse(
            out,
            format!(
                "  signature:     DOES NOT VERIFY against the {} root ({})",
                root.org(),
                root.fingerprint()
            ),
            Unverified::Certificate {
                user: body.user.clone(),
                org: root.org().clone(),
                fingerprint: root.fingerprint(),
            },
        );
    }
    say(
        out,
        format!(
            "  signature:     valid ({} root {})",
            root.org(),
            root.fingerprint()
        ),
    );
    match org_dir {
        Some(dir) => org_checks(&OrgDir::open(dir)?, body, out),
        None => Ok(()),
    }
}

/// What the organisation in `--org-dir` says of a certificate whose signature verified: for its
/// own members the revocation status, for a partner's whether it is within the partner's limits
/// (exit code 1 when it is not).
fn org_checks(org: &OrgDir, body: &CertificateBody, out: &mut dyn Write) -> Result<()> {
    if org.org == body.org {
        let revocations = org.revocations()?;
        match revocations.find(body.serial) {
            Some(entry) => say(
                out,
                format!(
                    "  revocation:    REVOKED at {}: {}",
                    entry.revoked_at, entry.reason
                ),
            ),
            None => say(
                out,
                format!(
                    "  revocation:    not revoked (list version {})",
                    revocations.body().version
                ),
            ),
        }
        return Ok(());
    }
    let Some(partner) = org
        .partners()?
        .into_iter()
        .find(|p| p.root.org() == &body.org)
    else {
        return Ok(());
    };
    match partner.limits.check(body) {
        Ok(()) => {
            say(
                out,
                format!(
                    "  limits:        within what {} accepts from {} ({})",
                    org.org, body.org, partner.limits
                ),
            );
            Ok(())
        }
        Err(e) => {
            say(
                out,
                format!(
                    "  limits:        BEYOND what {} accepts from {} ({})",
                    org.org, body.org, partner.limits
                ),
            );
            Err(Error::BeyondLimits(e))
        }
    }
}

fn inspect_toml(path: &Path, text: &str, out: &mut dyn Write) -> Result<()> {
    let table: toml::Table = text
        .parse()
        .map_err(|_| Error::corrupt(path, Damage::NotVigil))?;
    let get = |section: &str, key: &str| -> String {
        table.get(section).and_then(|s| s.get(key)).map_or_else(
            || "(missing)".to_owned(),
            |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned),
        )
    };
    if table.contains_key("relay") && table.contains_key("limits") {
        say(out, "Vigil relay configuration");
        for key in ["listen", "host", "pin", "certificate", "data_dir"] {
            say(out, format!("  {key:<16} {}", get("relay", key)));
        }
        for key in ["roots_dir", "revocations_dir"] {
            say(out, format!("  {key:<16} {}", get("trust", key)));
        }
        if let Some(limits) = table.get("limits").and_then(toml::Value::as_table) {
            say(out, "  limits:");
            for (key, value) in limits {
                say(out, format!("    {key:<26} {value}"));
            }
        }
        return Ok(());
    }
    if let Ok(ledger) = toml::from_str::<crate::orgdir::Ledger>(text) {
        say(out, format!("Vigil organisation ledger of {}", ledger.org));
        say(out, format!("  next serial:   {}", ledger.next_serial));
        match &ledger.relay {
            Some(r) => say(
                out,
                format!("  relay:         {} (pin {})", r.address, r.pin),
            ),
            None => say(out, "  relay:         none yet"),
        }
        say(out, format!("  issued:        {}", ledger.issued.len()));
        for r in &ledger.issued {
            let state = if r.revoked {
                "revoked"
            } else if r.not_after <= now().0 {
                "expired"
            } else {
                "live"
            };
            say(
                out,
                format!(
                    "    {:>4} {:<28} {:<8} until {}  {}",
                    r.serial,
                    r.user,
                    state,
                    UnixTime(r.not_after),
                    r.clearance
                ),
            );
        }
        return Ok(());
    }
    Err(Error::corrupt(path, Damage::NotVigil))
}
