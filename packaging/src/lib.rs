//! Shell completions (bash, zsh, fish) and man pages (section 1) for the three binaries,
//! generated from the same clap definitions the binaries parse with, so they never drift.
//! `vigil-gen-docs --out DIR` writes them; docs/operations.md says where to install them.

use std::path::{Path, PathBuf};

use clap::CommandFactory as _;
use clap_complete::Shell;

/// Writing a file failed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct GenerateError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Each binary's name and command-line definition.
#[must_use]
pub fn commands() -> Vec<clap::Command> {
    vec![
        vigil_tui::cli::Cli::command().name("vigil"),
        vigil_keytool::cli::Cli::command().name("vigil-keytool"),
        vigil_server::cli::Cli::command().name("vigil-relay"),
    ]
}

/// Writes `DIR/completions/{bash,zsh,fish}/…` (`vigil.bash`, `_vigil`, `vigil.fish`) and `DIR/man/man1/NAME.1` for every binary. Returns
/// the files written.
///
/// # Errors
///
/// [`GenerateError`] naming the file or directory that could not be written.
pub fn generate(out: &Path) -> Result<Vec<PathBuf>, GenerateError> {
    let mut written = Vec::new();
    for mut command in commands() {
        let name = command.get_name().to_owned();
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let dir = out.join("completions").join(shell.to_string());
            create(&dir)?;
            let path =
                clap_complete::generate_to(shell, &mut command, &name, &dir).map_err(|source| {
                    GenerateError {
                        path: dir.clone(),
                        source,
                    }
                })?;
            written.push(path);
        }
        let dir = out.join("man").join("man1");
        create(&dir)?;
        let path = dir.join(format!("{name}.1"));
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .and_then(|()| std::fs::write(&path, page))
            .map_err(|source| GenerateError {
                path: path.clone(),
                source,
            })?;
        written.push(path);
    }
    Ok(written)
}

fn create(dir: &Path) -> Result<(), GenerateError> {
    std::fs::create_dir_all(dir).map_err(|source| GenerateError {
        path: dir.to_owned(),
        source,
    })
}
