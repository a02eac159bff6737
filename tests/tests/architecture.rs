//! `docs/architecture.md` draws the crate graph: its table must name exactly the workspace
//! crates each package depends on, as the `Cargo.toml` files say.

#![allow(clippy::expect_used, reason = "test code")]

use std::collections::BTreeMap;
use std::path::Path;

const PACKAGES: [(&str, &str); 8] = [
    ("vigil-protocol", "protocol"),
    ("vigil-common", "common"),
    ("vigil-keytool", "keytool"),
    ("vigil-server", "server"),
    ("vigil-client", "client"),
    ("vigil", "client-tui"),
    ("vigil-packaging", "packaging"),
    ("vigil-tests", "tests"),
];

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds this package")
}

/// The workspace crates in the `[dependencies]` section of `dir/Cargo.toml`.
fn normal_dependencies(dir: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(workspace().join(dir).join("Cargo.toml")).expect("a manifest");
    let manifest: toml::Table = toml::from_str(&text).expect("a valid manifest");
    let mut names: Vec<String> = manifest
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .map(|deps| {
            deps.keys()
                .filter(|k| k.starts_with("vigil"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The table of docs/architecture.md: crate → the crates it depends on.
fn documented() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(workspace().join("docs/architecture.md"))
        .expect("docs/architecture.md");
    let mut table = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `vigil")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_owned();
        let mut deps: Vec<String> = cells[3]
            .split(',')
            .map(|d| d.trim().trim_matches('`').to_owned())
            .filter(|d| d.starts_with("vigil"))
            .collect();
        deps.sort();
        table.insert(name, deps);
    }
    table
}

#[test]
fn the_documented_crate_graph_is_the_one_cargo_builds() {
    let documented = documented();
    assert_eq!(
        documented.len(),
        PACKAGES.len(),
        "one row per crate: {documented:?}"
    );
    for (name, dir) in PACKAGES {
        assert_eq!(
            documented.get(name),
            Some(&normal_dependencies(dir)),
            "docs/architecture.md's row of {name} against {dir}/Cargo.toml"
        );
    }
}

#[test]
fn the_client_library_has_no_ui_keytool_or_relay_dependency() {
    let text = std::fs::read_to_string(workspace().join("client/Cargo.toml")).expect("manifest");
    let manifest: toml::Table = toml::from_str(&text).expect("a valid manifest");
    let deps = manifest["dependencies"].as_table().expect("dependencies");
    for forbidden in ["clap", "ratatui", "vigil-keytool", "vigil-server", "vigil"] {
        assert!(
            !deps.contains_key(forbidden),
            "vigil-client must not depend on {forbidden}"
        );
    }
}
