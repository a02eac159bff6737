//! Composing in the user's editor ([`app::Action::Editor`]): the draft goes to a file only the
//! member can read, in a fresh private directory (`$XDG_RUNTIME_DIR`, a memory file system on
//! most systems, else the temporary directory), the editor (`$VISUAL`, `$EDITOR`, else `vi`)
//! runs on the real terminal, and the text comes back into the compose box. The directory and
//! whatever the editor left in it (swap and backup files) are removed afterwards. Any failure
//! leaves the draft as it was and says why.
//!
//! # Security
//!
//! The draft is plaintext on disk while the editor runs, as it is in the editor's memory;
//! editors that keep undo or backup files elsewhere keep their own copies.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};
use std::os::unix::fs::OpenOptionsExt as _;
use vigil_common::fs::FILE_MODE;

use super::app::Update;
use super::reader::Reader;

/// Why the editor gave nothing back; the draft is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditorError {
    /// The private directory or file for the draft could not be made.
    #[error("cannot write the draft for the editor: {0}")]
    TempFile(std::io::Error),
    /// The shell running the editor could not be started.
    #[error("cannot start the editor {editor:?}: {source}")]
    Start {
        editor: String,
        source: std::io::Error,
    },
    /// The editor exited with an error (or was not found: the shell's 127).
    #[error("the editor {editor:?} failed ({status})")]
    Failed { editor: String, status: ExitStatus },
    /// The file could not be read back (the editor removed it).
    #[error("cannot read the draft back: {0}")]
    Read(std::io::Error),
    /// The file is not UTF-8 text.
    #[error("the editor saved text that is not UTF-8")]
    NotText,
}

/// The editor to run: `$VISUAL`, else `$EDITOR`, else `vi`.
#[must_use]
pub fn editor_command() -> String {
    ["VISUAL", "EDITOR"]
        .into_iter()
        .filter_map(std::env::var_os)
        .map(|v| v.to_string_lossy().trim().to_owned())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "vi".to_owned())
}

/// Where the private directory for the draft goes: `$XDG_RUNTIME_DIR`, else `/dev/shm` (both
/// in memory on Linux, so the draft never reaches a disk), else the temporary directory.
fn scratch_parent() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/dev/shm")])
        .find(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// Writes `draft` to a new file `draft.txt` in `dir`, readable by the member only.
fn write_private(dir: &Path, draft: &str) -> std::io::Result<PathBuf> {
    let path = dir.join("draft.txt");
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(&path)?;
    file.write_all(draft.as_bytes())?;
    if !draft.is_empty() && !draft.ends_with('\n') {
        file.write_all(b"\n")?;
    }
    // Not synced: the file lives only while the editor runs, and forcing it onto a disk (when
    // the directory is not in memory) would only make the plaintext outlive its deletion.
    Ok(path)
}

/// Runs `editor` (a shell command line, as `$EDITOR` is; the file is its last argument) on
/// `draft` and returns the text saved, without the final newline editors add.
///
/// # Errors
///
/// [`EditorError`] when the file cannot be written or read, or the editor fails.
pub fn edit_text(draft: &str, editor: &str) -> Result<String, EditorError> {
    let dir = tempfile::Builder::new()
        .prefix("vigil-draft-")
        .tempdir_in(scratch_parent())
        .map_err(EditorError::TempFile)?;
    let path = write_private(dir.path(), draft).map_err(EditorError::TempFile)?;
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg("vigil-editor")
        .arg(&path)
        .status()
        .map_err(|source| EditorError::Start {
            editor: editor.to_owned(),
            source,
        })?;
    if !status.success() {
        return Err(EditorError::Failed {
            editor: editor.to_owned(),
            status,
        });
    }
    let bytes = std::fs::read(&path).map_err(EditorError::Read)?;
    let mut text = String::from_utf8(bytes).map_err(|_| EditorError::NotText)?;
    if text.ends_with('\n') {
        text.pop();
    }
    Ok(text)
}

/// Runs the editor on `draft` with the terminal handed over to it: the input reader paused,
/// bracketed paste and the mouse (when `mouse` says it was captured) released, the alternate
/// screen left, raw mode off; all restored afterwards. What comes back is an
/// [`Update::Edited`], or an [`Update::Refused`] saying why the draft is unchanged.
pub(super) async fn edit_draft(
    terminal: &mut DefaultTerminal,
    reader: &Reader,
    draft: String,
    mouse: bool,
) -> Update {
    reader.pause().await;
    let _ = execute!(std::io::stdout(), DisableBracketedPaste);
    if mouse {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
    }
    ratatui::restore();
    let editor = editor_command();
    let result = tokio::task::spawn_blocking(move || edit_text(&draft, &editor)).await;
    let _ = enable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste
    );
    if mouse {
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
    }
    let _ = terminal.clear();
    reader.resume();
    match result {
        Ok(Ok(text)) => Update::Edited(text),
        Ok(Err(why)) => Update::Refused(format!("{why}: the draft is unchanged")),
        Err(_) => Update::Refused("the editor stopped: the draft is unchanged".into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn the_draft_makes_the_round_trip_through_the_editor() {
        assert_eq!(edit_text("draft", "true").unwrap(), "draft");
        assert_eq!(edit_text("", "true").unwrap(), "");
        let appended = edit_text("line one\nline two", "printf 'x\\n' >>").unwrap();
        assert_eq!(appended, "line one\nline two\nx");
    }

    #[test]
    fn a_failing_editor_is_an_error() {
        assert!(matches!(
            edit_text("draft", "false"),
            Err(EditorError::Failed { .. })
        ));
        assert!(matches!(
            edit_text("draft", "/nonexistent/editor"),
            Err(EditorError::Failed { .. })
        ));
        assert!(matches!(
            edit_text("draft", "rm"),
            Err(EditorError::Read(_))
        ));
        assert!(matches!(
            edit_text("draft", "printf '\\377' >"),
            Err(EditorError::NotText)
        ));
    }

    #[test]
    fn the_draft_file_is_private_and_removed_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_private(dir.path(), "secret").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "secret\n");
        // The editor records where the file was; it is gone once the text is back.
        let seen = dir.path().join("seen");
        let editor = format!("printf '%s' >{}", seen.display());
        assert_eq!(edit_text("secret", &editor).unwrap(), "secret");
        let used = PathBuf::from(std::fs::read_to_string(&seen).unwrap());
        assert!(used.ends_with("draft.txt"), "{}", used.display());
        assert!(!used.exists() && !used.parent().unwrap().exists());
    }
}
