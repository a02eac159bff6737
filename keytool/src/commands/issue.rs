//! `issue` (keys made here, sealed bundle) and `sign-request` (keys made on the device).

use std::io::Write;
use std::path::Path;

use vigil_protocol::keys::{
    AgreementKeyPair, AgreementPublicKey, IdentityKeyPair, IdentityPublicKey,
};
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::provisioning::{
    BundleContents, CertificateRequest, FileKind, KdfParams, RelayInfo, armor,
};
use vigil_protocol::{
    CertificateBody, Clearance, LocalIdentity, MemberCertificate, Role, Text, UnixTime, UserId,
};

use crate::cli::{IssueArgs, SignRequestArgs};
use crate::error::{Damage, Error, Result};
use crate::orgdir::{OrgDir, RootKey, read_armored};
use crate::say;
use vigil_common::passphrase::{self, Source};
use vigil_common::{fs as fsutil, now};

/// Longest validity `--days` accepts: ten years.
pub const MAX_DAYS: u64 = 3650;

/// What a certificate will say, parsed and checked before any secret is touched.
pub(crate) struct Terms {
    roles: Vec<Role>,
    clearance: Clearance,
    clearance_text: String,
    not_before: UnixTime,
    not_after: UnixTime,
}

pub(crate) fn terms(roles: &[String], clearance: &str, days: u64) -> Result<Terms> {
    let roles = roles
        .iter()
        .map(|r| {
            Role::new(r).map_err(|why| Error::InvalidOption {
                option: "--role",
                why,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if roles.len() > vigil_protocol::cert::MAX_ROLES {
        return Err(Error::TooManyRoles {
            given: roles.len(),
            max: vigil_protocol::cert::MAX_ROLES,
        });
    }
    let clearance = parse_clearance(clearance)?;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Error::DaysOutOfRange {
            given: days,
            max: MAX_DAYS,
        });
    }
    let now = now();
    Ok(Terms {
        roles,
        clearance_text: ClassificationPolicy::eu().describe(clearance.level),
        clearance,
        // A few minutes of grace for devices whose clocks run slightly behind.
        not_before: UnixTime(now.0.saturating_sub(300)),
        not_after: now.plus_days(days),
    })
}

/// Parses a clearance as an administrator types it: an EU marking or a national one.
///
/// # Errors
///
/// [`Error::Clearance`] for a level the EU policy does not know.
pub(crate) fn parse_clearance(text: &str) -> Result<Clearance> {
    let policy = ClassificationPolicy::eu();
    let level = policy.parse_level(text)?;
    Ok(Clearance {
        policy: Text::new(policy.name()).map_err(Error::PolicyName)?,
        level,
    })
}

/// Reserves a serial and signs the certificate.
fn certify(
    org: &mut OrgDir,
    key: &RootKey,
    user: UserId,
    display_name: Text,
    keys: (IdentityPublicKey, AgreementPublicKey),
    terms: &Terms,
) -> Result<MemberCertificate> {
    let body = CertificateBody {
        serial: org.reserve_serial()?,
        org: org.org.clone(),
        user,
        display_name,
        roles: terms.roles.clone(),
        clearance: terms.clearance.clone(),
        identity_key: keys.0,
        agreement_key: keys.1,
        not_before: terms.not_before,
        not_after: terms.not_after,
    };
    MemberCertificate::issue_with(key, body)
}

/// Writes `file` to `path` (never over an existing file), records the certificate in the
/// ledger, and says what was issued.
pub(crate) fn deliver(
    org: &mut OrgDir,
    certificate: &MemberCertificate,
    terms: &Terms,
    path: &Path,
    file: &str,
    out: &mut dyn Write,
) -> Result<()> {
    fsutil::write_new(path, file.as_bytes())?;
    org.record_issued(certificate, terms.clearance_text.clone())?;
    let body = certificate.body();
    say(
        out,
        format!(
            "Issued certificate {} to {} ({}), clearance {}, valid until {}",
            body.serial, body.user, body.display_name, terms.clearance_text, body.not_after
        ),
    );
    Ok(())
}

pub(crate) fn relay_info(org: &OrgDir) -> Result<RelayInfo> {
    let relay = org
        .ledger
        .relay
        .as_ref()
        .ok_or_else(|| Error::NoRelay(org.path().to_owned()))?;
    let corrupt = |why: Damage| Error::corrupt(OrgDir::ledger_path(org.path()), why);
    let pin = relay.pin_bytes().ok_or_else(|| corrupt(Damage::RelayPin))?;
    Ok(RelayInfo {
        address: Text::new(&relay.address).map_err(|_| corrupt(Damage::RelayAddress))?,
        server_name: Text::new(&relay.server_name).map_err(|_| corrupt(Damage::RelayName))?,
        pin,
    })
}

pub(crate) fn parse_user(org: &OrgDir, user: &str) -> Result<UserId> {
    let user = UserId::new(user).map_err(|why| Error::InvalidOption {
        option: "--user",
        why,
    })?;
    org.check_new_member(&user, now().0)?;
    Ok(user)
}

/// What every bundle of one `issue` run carries besides the member's own keys: the org root
/// key that signs, the relay, the trusted roots and the revocation list.
pub(crate) struct Issuer {
    pub(crate) root_key: RootKey,
    pub(crate) relay: RelayInfo,
    pub(crate) roots: Vec<vigil_protocol::provisioning::TrustedRoot>,
    pub(crate) revocations: vigil_protocol::RevocationList,
    /// The organisation's trust list in force, carried by every bundle.
    pub(crate) trust_list: Option<vigil_protocol::TrustList>,
}

impl Issuer {
    /// Opens the root key with the passphrase from `pass` and reads what bundles carry.
    pub(crate) fn open(org: &OrgDir, pass: &Source) -> Result<Self> {
        let relay = relay_info(org)?;
        let root_key = org.unlock_root(pass)?;
        Ok(Self {
            root_key,
            relay,
            roots: org.trusted_roots()?,
            revocations: org.revocations()?,
            trust_list: org.trust_list()?,
        })
    }

    /// New keys for `user`, their certificate, and the armoured bundle sealed under
    /// `passphrase`; written and recorded by [`deliver`].
    pub(crate) fn bundle(
        &self,
        org: &mut OrgDir,
        (user, name): (UserId, Text),
        terms: &Terms,
        passphrase: &str,
    ) -> Result<(MemberCertificate, String)> {
        let rng = &mut rand_core::OsRng;
        let identity = IdentityKeyPair::generate(rng);
        let agreement = AgreementKeyPair::generate(rng);
        let keys = (identity.public(), agreement.public());
        let certificate = certify(org, &self.root_key, user, name, keys, terms)?;
        let member = LocalIdentity::new(certificate.clone(), identity, agreement)
            .map_err(Error::Identity)?;
        let roots = self.roots.clone();
        let mut contents = BundleContents::new(
            &member,
            self.relay.clone(),
            roots,
            vec![self.revocations.clone()],
        );
        if let Some(list) = &self.trust_list {
            contents = contents.with_trust_list(list.clone());
        }
        let sealed = contents
            .seal(rng, passphrase.as_bytes(), KdfParams::DEFAULT, now())
            .map_err(Error::Seal)?;
        let file = armor(FileKind::EnrollmentBundle, &sealed.to_bytes());
        Ok((certificate, file))
    }
}

/// `issue`: keys, certificate, sealed bundle (with `--csv`, one per row: [`super::bulk`]).
pub fn issue(args: &IssueArgs, pass: &Source, out: &mut dyn Write) -> Result<()> {
    if let Some(csv) = &args.csv {
        return super::bulk::issue_csv(args, csv, pass, out);
    }
    let (Some(user), Some(name), Some(clearance), Some(path)) =
        (&args.user, &args.name, &args.clearance, &args.out)
    else {
        return Err(Error::IssueNeeds);
    };
    let mut org = OrgDir::open(&args.org_dir)?;
    let user = parse_user(&org, user)?;
    let name = Text::new(name).map_err(|why| Error::InvalidOption {
        option: "--name",
        why,
    })?;
    let terms = terms(&args.roles, clearance, args.days)?;
    if path.exists() {
        return Err(Error::Exists(path.clone()));
    }
    let (bundle_passphrase, generated) =
        passphrase::bundle_passphrase(args.bundle_passphrase_file.as_deref())?;
    let issuer = Issuer::open(&org, pass)?;
    let (certificate, file) = issuer.bundle(&mut org, (user, name), &terms, &bundle_passphrase)?;
    deliver(&mut org, &certificate, &terms, path, &file, out)?;
    say(out, format!("Enrollment bundle: {}", path.display()));
    if generated {
        say(
            out,
            format!(
                "One-time bundle passphrase (shown once; hand it over separately from the \
                 bundle): {}",
                *bundle_passphrase
            ),
        );
    }
    Ok(())
}

/// `sign-request`: a certificate for keys generated on the member's device.
pub fn sign_request(args: &SignRequestArgs, pass: &Source, out: &mut dyn Write) -> Result<()> {
    let mut org = OrgDir::open(&args.org_dir)?;
    let bytes = read_armored(&args.request, FileKind::CertificateRequest)?;
    let request =
        CertificateRequest::from_bytes(&bytes).map_err(|e| Error::corrupt(&args.request, e))?;
    let body = request
        .verify()
        .map_err(|why| Error::Request {
            path: args.request.clone(),
            why,
        })?
        .clone();
    let user = parse_user(&org, body.user.as_str())?;
    let terms = terms(&args.roles, &args.clearance, args.days)?;
    if args.out.exists() {
        return Err(Error::Exists(args.out.clone()));
    }
    let root_key = org.unlock_root(pass)?;
    let keys = (body.identity_key, body.agreement_key);
    let certificate = certify(&mut org, &root_key, user, body.display_name, keys, &terms)?;
    let file = armor(FileKind::Certificate, &certificate.to_bytes());
    deliver(&mut org, &certificate, &terms, &args.out, &file, out)?;
    say(out, format!("Certificate: {}", args.out.display()));
    say(
        out,
        format!(
            "Identity key fingerprint: {}",
            body.identity_key.fingerprint()
        ),
    );
    say(
        out,
        "Compare that fingerprint with the one the member's device shows before handing the \
         certificate over.",
    );
    Ok(())
}
