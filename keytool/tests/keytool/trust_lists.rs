//! The signed trust list: `org init` signs version 1, `trust add`, `trust remove` and `trust
//! rotate` sign the next, each published to the relay's `roots/` and carried by bundles; a
//! wrong passphrase changes nothing; `inspect` checks the list.

use vigil_keytool::orgdir::OrgDir;
use vigil_protocol::provisioning::{FileKind, armor};
use vigil_protocol::{OrgId, OrgRoot, TrustList};

use crate::{Env, open_bundle, read_kind};

fn list_at(env: &Env, path: &str) -> TrustList {
    TrustList::from_bytes(&read_kind(&env.path(path), FileKind::TrustList)).unwrap()
}

fn org(name: &str) -> OrgId {
    OrgId::new(name).unwrap()
}

fn partners(list: &TrustList) -> Vec<OrgId> {
    list.body()
        .partners
        .iter()
        .map(|p| p.root.org().clone())
        .collect()
}

/// CERT-AT runs the relay; CERT-CZ and CERT-SK exist.
fn three_orgs() -> Env {
    let env = Env::new();
    env.org("CERT-AT", "at");
    env.org("CERT-CZ", "cz");
    env.org("CERT-SK", "sk");
    env.relay("at");
    env
}

#[test]
fn each_change_signs_the_next_version_and_publishes_it_to_the_relay() {
    let env = three_orgs();
    let first = list_at(&env, "at/trust-list.vigil");
    assert_eq!((first.version(), partners(&first)), (1, vec![]));
    let at_root = OrgDir::open(&env.path("at")).unwrap().root;
    first.verify(&at_root).unwrap();
    assert_eq!(
        list_at(&env, "relay/roots/CERT-AT.trust.vigil"),
        first,
        "relay init publishes the list in force"
    );

    env.ok(&["trust", "add", "--org-dir", "at", "--partner", "cz"]);
    env.ok(&["trust", "add", "--org-dir", "at", "--partner", "sk"]);
    let added = list_at(&env, "at/trust-list.vigil");
    assert_eq!(added.version(), 3);
    assert_eq!(partners(&added), vec![org("CERT-CZ"), org("CERT-SK")]);
    assert_eq!(list_at(&env, "relay/roots/CERT-AT.trust.vigil"), added);

    // Running it again without a change signs nothing.
    env.ok(&["trust", "add", "--org-dir", "at", "--partner", "cz"]);
    assert_eq!(list_at(&env, "at/trust-list.vigil").version(), 3);
    // New limits are a new version carrying them.
    let args = ["trust", "add", "--org-dir", "at", "--partner", "cz"];
    env.ok(&[&args[..], &["--max-clearance", "EU SECRET"]].concat());
    let relimited = list_at(&env, "at/trust-list.vigil");
    assert_eq!(relimited.version(), 4);
    let cz = relimited.partner(&org("CERT-CZ")).unwrap();
    assert_eq!(cz.limits.max_clearance.marking(), "EU SECRET");

    let out = env.ok(&["trust", "remove", "--org-dir", "at", "--partner", "CERT-SK"]);
    assert!(out.contains("version 5"), "{out}");
    let removed = list_at(&env, "relay/roots/CERT-AT.trust.vigil");
    assert_eq!(partners(&removed), vec![org("CERT-CZ")]);
    assert!(!env.path("relay/roots/CERT-SK.root.vigil").exists());
    assert!(!env.path("at/partners/CERT-SK.root.vigil").exists());
    let listed = env.ok(&["trust", "list", "--org-dir", "at"]);
    assert!(!listed.contains("CERT-SK"), "{listed}");
    assert!(listed.contains("Trust list version 5"), "{listed}");
}

#[test]
fn a_bundle_carries_the_list_in_force() {
    let env = three_orgs();
    env.ok(&["trust", "add", "--org-dir", "at", "--partner", "cz"]);
    env.issue("officer@cert-at", "EU SECRET", "officer.bundle");
    let bundle = open_bundle(&env.path("officer.bundle"), "one-time bundle passphrase");
    let carried = bundle.trust_list().expect("a trust list in the bundle");
    assert_eq!(carried, &list_at(&env, "at/trust-list.vigil"));
    assert_eq!(partners(carried), vec![org("CERT-CZ")]);
}

#[test]
fn a_rotated_partner_root_replaces_the_old_one_with_its_limits() {
    let env = three_orgs();
    let args = ["trust", "add", "--org-dir", "at", "--partner", "cz"];
    env.ok(&[&args[..], &["--max-clearance", "EU RESTRICTED"]].concat());
    // CERT-CZ starts over with a new root key (a new directory, the same organisation).
    env.org("CERT-CZ", "cz-new");
    let new_root = OrgDir::open(&env.path("cz-new")).unwrap().root;
    // `trust add` refuses another root of a partner, and says to rotate.
    env.fails(
        &["trust", "add", "--org-dir", "at", "--partner", "cz-new"],
        1,
        "root_conflict",
    );
    env.fails(
        &["trust", "rotate", "--org-dir", "at", "--partner", "cz"],
        2,
        "same_root",
    );
    let fingerprint = new_root.fingerprint();
    env.fails(
        &[
            "trust",
            "rotate",
            "--org-dir",
            "at",
            "--partner",
            "cz-new",
            "--fingerprint",
            "0000",
        ],
        1,
        "fingerprint_mismatch",
    );
    env.ok(&[
        "trust",
        "rotate",
        "--org-dir",
        "at",
        "--partner",
        "cz-new",
        "--fingerprint",
        &fingerprint,
    ]);
    let list = list_at(&env, "relay/roots/CERT-AT.trust.vigil");
    let cz = list.partner(&org("CERT-CZ")).unwrap();
    assert_eq!(cz.root, new_root);
    assert_eq!(cz.limits.max_clearance.marking(), "EU RESTRICTED");
    let at_relay = OrgRoot::from_bytes(&read_kind(
        &env.path("relay/roots/CERT-CZ.root.vigil"),
        FileKind::OrgRoot,
    ))
    .unwrap();
    assert_eq!(
        at_relay, new_root,
        "the relay's copy of the root is the new one"
    );
}

#[test]
fn a_wrong_passphrase_or_an_unknown_partner_changes_nothing() {
    let env = three_orgs();
    env.ok(&["trust", "add", "--org-dir", "at", "--partner", "cz"]);
    std::fs::write(env.path("pass"), "not the passphrase\n").unwrap();
    env.fails(
        &["trust", "add", "--org-dir", "at", "--partner", "sk"],
        2,
        "wrong_passphrase",
    );
    assert!(!env.path("at/partners/CERT-SK.root.vigil").exists());
    env.fails(
        &["trust", "remove", "--org-dir", "at", "--partner", "CERT-CZ"],
        2,
        "wrong_passphrase",
    );
    assert!(env.path("at/partners/CERT-CZ.root.vigil").exists());
    env.fails(
        &["trust", "remove", "--org-dir", "at", "--partner", "CERT-PL"],
        2,
        "not_a_partner",
    );
    assert_eq!(list_at(&env, "at/trust-list.vigil").version(), 2);
}

#[test]
fn inspect_checks_a_trust_list_and_refuses_a_tampered_one() {
    let env = three_orgs();
    env.ok(&["trust", "add", "--org-dir", "at", "--partner", "cz"]);
    let shown = env.ok(&["inspect", "--org-dir", "at", "at/trust-list.vigil"]);
    assert!(shown.contains("Vigil trust list"), "{shown}");
    assert!(shown.contains("CERT-CZ"), "{shown}");
    assert!(shown.contains("signature:     valid"), "{shown}");
    // One bit of the signature changed: refused with exit code 1.
    let mut bytes = read_kind(&env.path("at/trust-list.vigil"), FileKind::TrustList);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(
        env.path("tampered.vigil"),
        armor(FileKind::TrustList, &bytes),
    )
    .unwrap();
    env.fails(
        &["inspect", "--org-dir", "at", "tampered.vigil"],
        1,
        "bad_trust_list",
    );
}

#[test]
fn org_rotate_signs_everything_again_under_a_new_root_and_names_the_old_one() {
    let env = three_orgs();
    env.ok(&["trust", "add", "--org-dir", "at", "--partner", "cz"]);
    env.issue("officer@cert-at", "EU SECRET", "officer.bundle");
    let old = OrgDir::open(&env.path("at")).unwrap().root;
    let before = list_at(&env, "at/trust-list.vigil").version();

    let said = env.ok(&["org", "rotate", "--org-dir", "at"]);
    assert!(said.contains("reissue every member"), "{said}");
    let new = OrgDir::open(&env.path("at")).unwrap().root;
    assert_ne!(new.key(), old.key());
    assert_eq!(new.org(), old.org());

    let list = list_at(&env, "at/trust-list.vigil");
    list.verify(&new).unwrap();
    assert_eq!(list.version(), before + 1);
    assert_eq!(partners(&list), vec![org("CERT-CZ")], "partners stay");
    assert_eq!(list.body().predecessors.len(), 1);
    assert_eq!(list.body().predecessors[0].root, old);
    assert_eq!(list_at(&env, "relay/roots/CERT-AT.trust.vigil"), list);

    let revocations = vigil_protocol::RevocationList::from_bytes(&read_kind(
        &env.path("at/revocations.vigil"),
        FileKind::RevocationList,
    ))
    .unwrap();
    revocations.verify(&new).unwrap();
    assert!(
        revocations.find(1).is_some(),
        "the old root's certificate is revoked"
    );
    // Issuing goes on under the new root, with the next serial.
    env.issue("officer@cert-at", "EU SECRET", "officer-new.bundle");
    let bundle = open_bundle(
        &env.path("officer-new.bundle"),
        "one-time bundle passphrase",
    );
    assert_eq!(bundle.certificate().body().serial, 2);
    bundle.certificate().verify_signature(new.key()).unwrap();
    assert!(env.path("at/predecessors").is_dir());
}

#[test]
fn org_rotate_leaves_a_last_list_of_the_old_root_revoking_every_old_certificate() {
    let env = three_orgs();
    env.issue("officer@cert-at", "EU SECRET", "officer.bundle");
    let old = OrgDir::open(&env.path("at")).unwrap().root;
    env.ok(&["org", "rotate", "--org-dir", "at"]);
    let kept = std::fs::read_dir(env.path("at/predecessors"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("revocations-"))
        .expect("the old root's last list is kept");
    let last =
        vigil_protocol::RevocationList::from_bytes(&read_kind(&kept, FileKind::RevocationList))
            .unwrap();
    last.verify(&old).unwrap();
    assert!(last.find(1).is_some());
    let new = vigil_protocol::RevocationList::from_bytes(&read_kind(
        &env.path("at/revocations.vigil"),
        FileKind::RevocationList,
    ))
    .unwrap();
    assert!(new.body().version > last.body().version);
}
