//! Countries and partner limits: `org init --country`, `trust add --max-clearance/--role`, the
//! safe default, and the limits reaching bundles, the relay directory and `inspect`. Each rule
//! is attacked first: a partner certificate beyond the limits is refused everywhere.

use std::path::Path;

use vigil_keytool::Error;
use vigil_keytool::orgdir::OrgDir;
use vigil_keytool::orgdir::partners::default_limits;
use vigil_protocol::cert::PartnerLimits;
use vigil_protocol::policy::PolicyError;
use vigil_protocol::provisioning::FileKind;
use vigil_protocol::{CertError, Clearance, MemberCertificate, OrgRoot, Role};

use crate::{Env, now, open_bundle, p, read_kind, run};

fn eu(level: u8) -> Clearance {
    Clearance {
        policy: "EU".parse().unwrap(),
        level,
    }
}

fn limits_at(path: &Path) -> PartnerLimits {
    let (org, limits) =
        PartnerLimits::from_record(&read_kind(path, FileKind::PartnerLimits)).unwrap();
    assert_eq!(org.as_str(), "CERT-CZ");
    limits
}

/// CERT-AT runs the relay; CERT-CZ uses it and issues `officer@cert-cz` with EU SECRET.
fn two_orgs() -> (Env, MemberCertificate) {
    let env = Env::new();
    env.org("CERT-AT", "at");
    env.org("CERT-CZ", "cz");
    env.ok(&["trust", "add", "--org-dir", "at", "--partner", "cz"]);
    env.relay("at");
    env.ok(&[
        "relay",
        "use",
        "--org-dir",
        "cz",
        "--config",
        "relay/relay.toml",
    ]);
    env.ok(&[
        "issue",
        "--org-dir",
        "cz",
        "--user",
        "officer@cert-cz",
        "--name",
        "Petra",
        "--role",
        "duty-officer",
        "--clearance",
        "EU SECRET",
        "--out",
        "petra.bundle",
        "--bundle-passphrase-file",
        "bundle-pass",
    ]);
    let cert = MemberCertificate::from_bytes(&read_kind(
        &env.path("cz/certificates/1-officer@cert-cz.vigil"),
        FileKind::Certificate,
    ))
    .unwrap();
    (env, cert)
}

fn at_trust(env: &Env) -> vigil_protocol::TrustStore {
    OrgDir::open(&env.path("at"))
        .unwrap()
        .trust_store()
        .unwrap()
}

#[test]
fn org_init_needs_an_assigned_country_and_signs_it_into_the_root() {
    let env = Env::new();
    let missing = run(
        &env,
        &["org", "init", "--org", "CERT-AT", "--dir", &p(&env, "at")],
    );
    assert!(matches!(missing, Err(Error::NoCountry)), "{missing:?}");
    env.fails(
        &["org", "init", "--org", "CERT-AT", "--dir", "at"],
        2,
        "no_country",
    );
    for bad in ["XK", "EU", "AUT", "A"] {
        let args = ["org", "init", "--org", "CERT-AT", "--country", bad];
        let refused = run(&env, &[&args[..], &["--dir", &p(&env, "at")]].concat());
        assert!(
            matches!(
                refused,
                Err(Error::InvalidOption {
                    option: "--country",
                    ..
                })
            ),
            "{bad}: {refused:?}"
        );
    }
    assert!(!env.path("at").exists(), "nothing created");
    let at = p(&env, "at");
    run(
        &env,
        &[
            "org",
            "init",
            "--org",
            "CERT-AT",
            "--country",
            "at",
            "--dir",
            &at,
        ],
    )
    .unwrap();
    let root =
        OrgRoot::from_bytes(&read_kind(&env.path("at/root.vigil"), FileKind::OrgRoot)).unwrap();
    assert_eq!(root.country().as_str(), "AT");
    let out = env.ok(&["inspect", "at/root.vigil"]);
    assert!(out.contains("country:       AT"), "{out}");
}

#[test]
fn trust_add_defaults_to_unclassified_and_the_limits_reach_bundles_relay_and_inspect() {
    let (env, petra) = two_orgs();
    // No --max-clearance: only UNCLASSIFIED, recorded here and (relay init came after) at the
    // relay this organisation runs.
    assert_eq!(
        limits_at(&env.path("at/partners/CERT-CZ.limits.vigil")),
        default_limits().unwrap()
    );
    assert_eq!(default_limits().unwrap(), PartnerLimits::up_to(eu(0)));
    assert_eq!(
        limits_at(&env.path("relay/roots/CERT-CZ.limits.vigil")),
        default_limits().unwrap()
    );
    let refused = at_trust(&env).verify_certificate(&petra, now());
    assert!(
        matches!(refused, Err(CertError::ClearanceAboveLimit { .. })),
        "{refused:?}"
    );
    let cert_file = p(&env, "cz/certificates/1-officer@cert-cz.vigil");
    let inspected = run(&env, &["inspect", "--org-dir", &p(&env, "at"), &cert_file]);
    assert!(
        matches!(
            inspected,
            Err(Error::BeyondLimits(CertError::ClearanceAboveLimit { .. }))
        ),
        "{inspected:?}"
    );
    env.fails(
        &["inspect", "--org-dir", "at", &cert_file],
        1,
        "clearance_above_limit",
    );
    env.issue("lead@cert-at", "EU TOP SECRET", "lead.bundle");
    let bundle = open_bundle(&env.path("lead.bundle"), "one-time bundle passphrase");
    assert_eq!(bundle.roots()[1].limits, Some(default_limits().unwrap()));
    let device = bundle.trust_store().unwrap();
    assert!(matches!(
        device.verify_certificate(&petra, now()),
        Err(CertError::ClearanceAboveLimit { .. })
    ));

    // Raised to EU SECRET for duty officers: recorded, published, and the certificate passes.
    let args = ["trust", "add", "--org-dir", "at", "--partner", "cz"];
    let raise = ["--max-clearance", "EU SECRET", "--role", "duty-officer"];
    let out = env.ok(&[&args[..], &raise[..]].concat());
    assert!(out.contains("updated"), "{out}");
    let raised = PartnerLimits {
        max_clearance: eu(3),
        roles: Some(vec![Role::new("duty-officer").unwrap()]),
    };
    assert_eq!(
        limits_at(&env.path("at/partners/CERT-CZ.limits.vigil")),
        raised
    );
    assert_eq!(
        limits_at(&env.path("relay/roots/CERT-CZ.limits.vigil")),
        raised
    );
    at_trust(&env).verify_certificate(&petra, now()).unwrap();
    run(&env, &["inspect", "--org-dir", &p(&env, "at"), &cert_file]).unwrap();
    // A re-run without limits keeps them; the list shows countries and limits.
    env.ok(&args);
    assert_eq!(
        limits_at(&env.path("at/partners/CERT-CZ.limits.vigil")),
        raised
    );
    let list = env.ok(&["trust", "list", "--org-dir", "at"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("CERT-CZ") && l.split_whitespace().nth(1) == Some("CZ")),
        "{list}"
    );
    assert!(list.contains(&raised.to_string()), "{list}");

    // CERT-CZ uses CERT-AT's relay: its limits on CERT-AT stay in its own directory and never
    // bound CERT-AT's members at CERT-AT's relay.
    env.ok(&["trust", "add", "--org-dir", "cz", "--partner", "at"]);
    assert!(env.path("cz/partners/CERT-AT.limits.vigil").is_file());
    assert!(!env.path("relay/roots/CERT-AT.limits.vigil").exists());
}

#[test]
fn a_role_outside_the_allowed_ones_is_refused() {
    let (env, petra) = two_orgs();
    env.ok(&[
        "trust",
        "add",
        "--org-dir",
        "at",
        "--partner",
        "cz/root.vigil",
        "--max-clearance",
        "EU TOP SECRET",
        "--role",
        "incident-lead",
    ]);
    let refused = at_trust(&env).verify_certificate(&petra, now());
    assert!(
        matches!(refused, Err(CertError::RoleNotAllowed { ref role, .. }) if role.as_str() == "duty-officer"),
        "{refused:?}"
    );
    let bad_role = run(
        &env,
        &[
            "trust",
            "add",
            "--org-dir",
            &p(&env, "at"),
            "--partner",
            &p(&env, "cz"),
            "--role",
            "Not A Role",
        ],
    );
    assert!(
        matches!(
            bad_role,
            Err(Error::InvalidOption {
                option: "--role",
                ..
            })
        ),
        "{bad_role:?}"
    );
    let bad_level = run(
        &env,
        &[
            "trust",
            "add",
            "--org-dir",
            &p(&env, "at"),
            "--partner",
            &p(&env, "cz"),
            "--max-clearance",
            "COSMIC TOP SECRET",
        ],
    );
    assert!(
        matches!(
            bad_level,
            Err(Error::Clearance(PolicyError::UnknownLevel { .. }))
        ),
        "{bad_level:?}"
    );
}

#[test]
fn a_partner_trusted_before_limits_existed_gets_the_safe_default() {
    let (env, petra) = two_orgs();
    env.ok(&[
        "trust",
        "add",
        "--org-dir",
        "at",
        "--partner",
        "cz",
        "--max-clearance",
        "EU SECRET",
    ]);
    at_trust(&env).verify_certificate(&petra, now()).unwrap();
    std::fs::remove_file(env.path("at/partners/CERT-CZ.limits.vigil")).unwrap();
    let org = OrgDir::open(&env.path("at")).unwrap();
    let partners = org.partners().unwrap();
    assert_eq!(partners.len(), 1);
    assert!(!partners[0].recorded);
    assert_eq!(partners[0].limits, default_limits().unwrap());
    assert!(matches!(
        org.trust_store().unwrap().verify_certificate(&petra, now()),
        Err(CertError::ClearanceAboveLimit { .. })
    ));
    drop(org);
    // Running trust add again records the default, saying so; the list tells how to raise it.
    let list = env.ok(&["trust", "list", "--org-dir", "at"]);
    assert!(list.contains("--max-clearance"), "{list}");
    env.ok(&["trust", "add", "--org-dir", "at", "--partner", "cz"]);
    assert_eq!(
        limits_at(&env.path("at/partners/CERT-CZ.limits.vigil")),
        default_limits().unwrap()
    );
}
