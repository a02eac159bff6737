//! `members list`, bulk issuing from a CSV file, the root key backup check of `inspect`, and
//! a passphrase too short to be the root key's.

use std::os::unix::fs::PermissionsExt as _;

use crate::{PASSPHRASE, open_bundle, ready, snapshot};

const CSV_HEADER: &str = "user,name,roles,clearance,days\n";

fn csv_args(csv: &str) -> Vec<&str> {
    vec![
        "issue",
        "--org-dir",
        "at",
        "--csv",
        csv,
        "--out-dir",
        "bundles",
        "--passphrases",
        "passphrases.txt",
    ]
}

#[test]
fn members_list_shows_live_certificates_with_clearance_roles_and_expiry() {
    let env = ready();
    env.issue("officer2@cert-at", "EU RESTRICTED", "o2.bundle");
    env.issue("leaver@cert-at", "EU SECRET", "l.bundle");
    env.ok(&[
        "revoke",
        "--org-dir",
        "at",
        "--user",
        "leaver@cert-at",
        "--reason",
        "left",
    ]);
    let live = env.ok(&["members", "list", "--org-dir", "at"]);
    let lines: Vec<&str> = live.lines().collect();
    assert!(
        lines[0].starts_with("2 live certificates of CERT-AT"),
        "{live}"
    );
    let officer2 = lines
        .iter()
        .find(|l| l.contains("officer2@cert-at"))
        .unwrap();
    for part in [
        "EU RESTRICTED",
        "roles duty-officer",
        "serial 2",
        "expires",
        "live",
    ] {
        assert!(officer2.contains(part), "{part}: {officer2}");
    }
    assert!(!live.contains("leaver@cert-at"), "{live}");
    let all = env.ok(&["members", "list", "--org-dir", "at", "--all"]);
    let leaver = all.lines().find(|l| l.contains("leaver@cert-at")).unwrap();
    assert!(leaver.trim_end().ends_with("revoked"), "{leaver}");
    // A stored certificate swapped for another member's is refused, not listed.
    let dir = env.path("at/certificates");
    std::fs::copy(
        dir.join("1-officer1@cert-at.vigil"),
        dir.join("2-officer2@cert-at.vigil"),
    )
    .unwrap();
    env.fails(&["members", "list", "--org-dir", "at"], 2, "corrupt");
}

#[test]
fn issue_csv_checks_every_row_first_and_keeps_each_passphrase_in_a_private_file() {
    let env = ready();
    let before = snapshot(&env.path("at"));
    // Each bad row is named by its line, and nothing is issued.
    for (row, line) in [
        (
            "eva@cert-at,Eva,duty-officer,EU SECRET,30\nbad id,X,duty-officer,EU SECRET,30\n",
            3,
        ),
        ("eva@cert-at,Eva,duty-officer,EU PINK,30\n", 2),
        ("eva@cert-at,Eva,,EU SECRET,30\n", 2),
        ("eva@cert-at,Eva,duty-officer,EU SECRET,many\n", 2),
        ("eva@cert-at,Eva,duty-officer,EU SECRET\n", 2),
        (
            "# comment\neva@cert-at,Eva,duty-officer,EU SECRET,30\neva@cert-at,E,a,EU SECRET,1\n",
            4,
        ),
        ("officer1@cert-at,Already,duty-officer,EU SECRET,30\n", 2),
        ("jan@cert-cz,Jan,duty-officer,EU SECRET,30\n", 2),
        ("eva@cert-at,\"Eva, unclosed,duty-officer,EU SECRET,30\n", 2),
    ] {
        std::fs::write(env.path("m.csv"), format!("{CSV_HEADER}{row}")).unwrap();
        let out = env.run(&[&["--error-format", "json"], &csv_args("m.csv")[..]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{row}: {stderr}");
        assert!(stderr.contains(r#""error":"csv_row""#), "{row}: {stderr}");
        assert!(
            stderr.contains(&format!("m.csv:{line}:")),
            "{row}: {stderr}"
        );
        assert_eq!(snapshot(&env.path("at")), before, "{row}: nothing issued");
        assert!(!env.path("passphrases.txt").exists() && !env.path("bundles").exists());
    }
    std::fs::write(env.path("m.csv"), "name,user\n").unwrap();
    env.fails(&csv_args("m.csv"), 2, "csv_row");

    let rows = "eva@cert-at,\"Huber, Eva\",duty-officer;incident-lead,EU SECRET,30\n\
                \n\
                max@cert-at,Max,duty-officer,EU RESTRICTED,\n";
    std::fs::write(env.path("m.csv"), format!("{CSV_HEADER}{rows}")).unwrap();
    let said = env.ok(&csv_args("m.csv"));
    assert!(said.contains("passphrases.txt"), "{said}");
    let sheet = std::fs::read_to_string(env.path("passphrases.txt")).unwrap();
    let mode = std::fs::metadata(env.path("passphrases.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let mut seen = Vec::new();
    for (line, (user, roles, clearance)) in sheet.lines().zip([
        ("eva@cert-at", 2, "EU SECRET"),
        ("max@cert-at", 1, "EU RESTRICTED"),
    ]) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields[0], user);
        assert!(!said.contains(fields[1]), "a passphrase is never printed");
        assert!(
            !seen.contains(&fields[1]),
            "each bundle has its own passphrase"
        );
        seen.push(fields[1]);
        let bundle = env.path(&format!("bundles/{user}.bundle"));
        assert_eq!(
            fields[2],
            bundle
                .strip_prefix(env.dir.path())
                .unwrap()
                .to_str()
                .unwrap()
        );
        let contents = open_bundle(&bundle, fields[1]);
        let body = contents
            .local_identity()
            .unwrap()
            .certificate()
            .body()
            .clone();
        assert_eq!(body.user.as_str(), user);
        assert_eq!(body.roles.len(), roles);
        assert!(
            vigil_protocol::policy::ClassificationPolicy::eu()
                .describe(body.clearance.level)
                .starts_with(clearance)
        );
    }
    assert_eq!(sheet.lines().count(), 2);
    let listed = env.ok(&["members", "list", "--org-dir", "at"]);
    assert!(
        listed.contains("Huber, Eva") && listed.contains("duty-officer,incident-lead"),
        "{listed}"
    );
    // Run again: the passphrase file exists and the members hold live certificates.
    env.fails(&csv_args("m.csv"), 2, "csv_row");
}

#[test]
fn inspect_checks_a_root_key_backup_against_its_passphrase_and_root() {
    let env = ready();
    std::fs::copy(env.path("at/root-key.vigil"), env.path("backup.vigil")).unwrap();
    let said = env.ok(&[
        "inspect",
        "--check-passphrase",
        "--org-dir",
        "at",
        "backup.vigil",
    ]);
    assert!(said.contains("passphrase:    correct"), "{said}");
    assert!(said.contains("matches the root of CERT-AT"), "{said}");
    assert!(!said.contains(PASSPHRASE));
    // Without a root to compare with, it says so.
    let said = env.ok(&["inspect", "--check-passphrase", "backup.vigil"]);
    assert!(said.contains("not checked"), "{said}");
    // Another organisation's key is refused.
    env.org("CERT-CZ", "cz");
    env.fails(
        &[
            "inspect",
            "--check-passphrase",
            "--org-dir",
            "at",
            "cz/root-key.vigil",
        ],
        2,
        "corrupt",
    );
    // Without --check-passphrase no passphrase is read.
    std::fs::write(env.path("pass"), "not the passphrase at all\n").unwrap();
    env.ok(&["inspect", "backup.vigil"]);
    env.fails(
        &["inspect", "--check-passphrase", "backup.vigil"],
        2,
        "wrong_passphrase",
    );
    std::fs::write(env.path("pass"), "short\n").unwrap();
    env.fails(
        &["inspect", "--check-passphrase", "backup.vigil"],
        2,
        "short_passphrase",
    );
    // Only for sealed root keys.
    std::fs::write(env.path("pass"), format!("{PASSPHRASE}\n")).unwrap();
    env.fails(
        &["inspect", "--check-passphrase", "at/root.vigil"],
        2,
        "not_sealed_root_key",
    );
}

#[test]
fn a_short_root_passphrase_is_too_short_not_wrong() {
    let env = ready();
    let before = snapshot(&env.path("at"));
    std::fs::write(env.path("pass"), "short\n").unwrap();
    env.fails(
        &crate::issue_args("officer2@cert-at", "EU SECRET", "o2.bundle"),
        2,
        "short_passphrase",
    );
    assert_eq!(snapshot(&env.path("at")), before);
}
