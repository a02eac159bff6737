//! The `vigil` binary is honest about what it cannot do yet.

use std::process::Command;

#[test]
fn demo_says_what_is_not_ready_and_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("demo")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("cannot run the demo yet"), "{stderr}");
    assert!(stderr.contains("Not ready yet"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn help_explains_the_demo() {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().contains("demo"));
}
