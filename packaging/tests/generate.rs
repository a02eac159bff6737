//! Completions and man pages (issue 21): for each binary, non-empty bash, zsh and fish
//! completions that name its subcommands, and a man page that starts with `.TH` and that
//! groff formats without a warning (when groff is installed).

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::process::Command;

#[test]
fn every_binary_gets_completions_for_three_shells_and_a_man_page_groff_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vigil-gen-docs"))
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let groff = Command::new("groff").arg("--version").output().is_ok();
    if !groff {
        println!("SKIPPED groff check of the man pages: groff is not installed");
    }
    for (name, subcommand) in [
        ("vigil", "enroll"),
        ("vigil-keytool", "issue"),
        ("vigil-relay", "backup"),
    ] {
        let completions = dir.path().join("completions");
        for file in [
            completions.join("bash").join(format!("{name}.bash")),
            completions.join("zsh").join(format!("_{name}")),
            completions.join("fish").join(format!("{name}.fish")),
        ] {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                text.contains(subcommand),
                "{} lacks {subcommand}",
                file.display()
            );
        }
        let page = dir.path().join("man/man1").join(format!("{name}.1"));
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(
            text.starts_with(".ie") || text.starts_with(".TH"),
            "{}",
            page.display()
        );
        assert!(
            text.lines().any(|l| l.starts_with(".TH ")),
            "no .TH in {}",
            page.display()
        );
        if groff {
            let formatted = Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .arg(&page)
                .output()
                .unwrap();
            assert!(
                formatted.status.success() && formatted.stderr.is_empty(),
                "{}: {}",
                page.display(),
                String::from_utf8_lossy(&formatted.stderr)
            );
        }
    }
}
