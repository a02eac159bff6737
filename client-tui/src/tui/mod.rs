//! The terminal UI: ratatui on crossterm. The UI only draws and dispatches: the network worker
//! ([`vigil_client::worker`]) owns the engine and the connection, and every request to it runs in a
//! task of its own whose answer comes back as an [`app::Update`], so neither the network nor
//! the disk ever blocks a keystroke. The screen is redrawn only when something changed: idle,
//! the UI sleeps.

pub mod app;
pub mod editor;
pub mod keys;
mod reader;
mod requests;
mod signals;
pub mod view;

use std::io::Write as _;

use ratatui::crossterm::event::{self as term, Event as TermEvent, KeyEventKind};
use ratatui::crossterm::execute;
use tokio::sync::mpsc;

use crate::config::Config;
use app::{Action, App, Saver, Update};
use vigil_client::client::Client;

/// How long quitting waits for the last save of the TUI's state (drafts, unread counts): a
/// sealed write takes milliseconds, but a loaded machine (or a save of an older state still
/// under way) can take longer, and a draft typed just before the terminal closed must not be
/// lost to a short bound. Only a stuck store makes quitting wait this long.
const FINAL_SAVE: std::time::Duration = std::time::Duration::from_secs(3);

/// How long quitting waits for the worker to acknowledge and close; past it, the process
/// exits anyway (the outbox is durable: nothing queued is lost).
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Why the TUI stopped before the user quit.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    /// The terminal could not be put in raw mode or the alternate screen.
    #[error("cannot set up the terminal: {0}")]
    Terminal(std::io::Error),
    /// Drawing a frame failed (the terminal went away).
    #[error("cannot draw: {0}")]
    Draw(std::io::Error),
}

/// Runs the TUI for `client` until the user quits. Restores the terminal on every exit path,
/// panics included.
///
/// # Errors
///
/// [`TuiError`] when the terminal cannot be set up or drawn on.
pub async fn run(client: Client, config: &Config) -> Result<(), TuiError> {
    let me = client.engine().user().clone();
    let name = client
        .engine()
        .certificate()
        .body()
        .display_name
        .to_string();
    let mut app = App::new(me, name, config);
    let (handle, mut events, task) = vigil_client::worker::spawn(client);
    let mut terminal = ratatui::try_init().map_err(TuiError::Terminal)?;
    take_paste_and_mouse(app.mouse);
    let (input_tx, mut input) = mpsc::channel::<TermEvent>(256);
    let reader = reader::Reader::spawn(input_tx);
    let (updates_tx, mut updates) = mpsc::unbounded_channel::<Update>();
    let mut pending = vec![Action::LoadUiState, Action::RefreshChannels];
    let mut result = Ok(());
    let mut saver = Saver::default();
    let (save, saving) = requests::saving(&handle);
    let mut stop = signals::Stop::new();
    loop {
        if let Some(state) = saver.poll(&app, std::time::Instant::now()) {
            let _ = save.send(Some(state));
        }
        for action in std::mem::take(&mut pending) {
            if action == Action::Quit {
                app.quit = true;
            } else if action == Action::Bell {
                let _ = std::io::stdout().write_all(b"\x07");
            } else if action == Action::Redraw {
                let _ = terminal.clear();
            } else if action == Action::Editor {
                let draft = app.compose.clone();
                let update = editor::edit_draft(&mut terminal, &reader, draft, app.mouse).await;
                // The text back in the box asks for nothing; should it ever, it is asked now.
                for next in app.on_update(update) {
                    requests::dispatch(&handle, next, updates_tx.clone());
                }
            } else {
                requests::dispatch(&handle, action, updates_tx.clone());
            }
        }
        if app.quit {
            break;
        }
        if let Err(e) = terminal.draw(|frame| view::draw(frame, &app)) {
            result = Err(TuiError::Draw(e));
            break;
        }
        tokio::select! {
            Some(event) = input.recv() => match event {
                TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
                    pending = app.on_key(key);
                }
                TermEvent::Paste(text) => app.on_paste(&text),
                TermEvent::Mouse(mouse) => pending = app.on_mouse(mouse),
                _ => {} // resize: redrawn on the next turn
            },
            Some(event) = events.recv() => pending = app.on_update(Update::Event(event)),
            Some(update) = updates.recv() => pending = app.on_update(update),
            () = signals::sleep_until(saver.wake_at()) => {}
            () = stop.recv() => app.quit = true,
            else => break,
        }
    }
    let _ = execute!(std::io::stdout(), term::DisableBracketedPaste);
    if app.mouse {
        let _ = execute!(std::io::stdout(), term::DisableMouseCapture);
    }
    ratatui::restore();
    if let Some(state) = saver.last(&app) {
        let _ = save.send(Some(state));
    }
    drop(save);
    let _ = tokio::time::timeout(FINAL_SAVE, saving).await;
    stop_worker(handle, task).await;
    result
}

/// Pasted text arrives whole (bracketed paste); the mouse is taken when configured.
fn take_paste_and_mouse(mouse: bool) {
    let _ = execute!(std::io::stdout(), term::EnableBracketedPaste);
    if mouse {
        let _ = execute!(std::io::stdout(), term::EnableMouseCapture);
    }
}

/// Asks the worker to stop and waits for it, at most [`SHUTDOWN_GRACE`].
async fn stop_worker(handle: vigil_client::worker::Handle, task: tokio::task::JoinHandle<Client>) {
    let stopped = async {
        handle.shutdown().await;
        let _ = task.await;
    };
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, stopped).await;
}
