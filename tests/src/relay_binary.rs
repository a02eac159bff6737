//! The `vigil-relay` binary for the tests of other packages: cargo names only a package's own
//! binaries to its tests (`CARGO_BIN_EXE_*`), so a test of the `vigil` client that needs the
//! relay as a process (to `kill -9` it) builds it beside its own binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `vigil-relay` beside `binary` (a binary of the running test's target directory, e.g.
/// `env!("CARGO_BIN_EXE_vigil")`), built first with the cargo that runs the test (so it is never
/// stale) in the same profile.
///
/// # Panics
///
/// When the build fails or the binary is not there afterwards.
#[must_use]
pub fn beside(binary: &Path) -> PathBuf {
    let relay = binary.with_file_name("vigil-relay");
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut build = Command::new(cargo);
        build.args([
            "build",
            "--locked",
            "-p",
            "vigil-server",
            "--bin",
            "vigil-relay",
        ]);
        // The profile's directory: `debug` for `dev`, else the profile's own name.
        match binary
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
        {
            Some("debug") | None => {}
            Some(profile) => {
                build.args(["--profile", profile]);
            }
        }
        let output = build.output().expect("cargo runs");
        assert!(
            output.status.success(),
            "cargo build of vigil-relay failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(
        relay.exists(),
        "{} not found: build it (cargo build -p vigil-server)",
        relay.display()
    );
    relay
}
