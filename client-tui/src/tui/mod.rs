//! The terminal UI: ratatui on crossterm. The UI only draws and dispatches: the network worker
//! ([`vigil_client::worker`]) owns the engine and the connection, and every request to it runs in a
//! task of its own whose answer comes back as an [`app::Update`], so neither the network nor
//! the disk ever blocks a keystroke. The screen is redrawn only when something changed: idle,
//! the UI sleeps.

pub mod app;
pub mod keys;
pub mod view;

use std::io::Write as _;

use ratatui::crossterm::event::{self as term, Event as TermEvent, KeyEventKind};
use ratatui::crossterm::execute;
use tokio::sync::mpsc;
use vigil_protocol::channel::ChannelId;

use crate::config::Config;
use app::{Action, App, PAGE, TrustMark, Update};
use vigil_client::client::{Client, ClientError};
use vigil_client::engine::Whois;
use vigil_client::history::Hit;
use vigil_client::worker::Handle;
use vigil_common::now;

/// Runs the TUI for `client` until the user quits. Restores the terminal on every exit path,
/// panics included.
///
/// # Errors
///
/// When the terminal cannot be set up.
pub async fn run(client: Client, config: &Config) -> Result<(), String> {
    let me = client.engine().user().clone();
    let name = client
        .engine()
        .certificate()
        .body()
        .display_name
        .to_string();
    let mut app = App::new(me, name, config);
    let (handle, mut events, task) = vigil_client::worker::spawn(client);
    let mut terminal =
        ratatui::try_init().map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let _ = execute!(std::io::stdout(), term::EnableBracketedPaste);
    let (input_tx, mut input) = mpsc::channel::<TermEvent>(256);
    std::thread::spawn(move || {
        while let Ok(event) = term::read() {
            if input_tx.blocking_send(event).is_err() {
                return;
            }
        }
    });
    let (updates_tx, mut updates) = mpsc::unbounded_channel::<Update>();
    let mut pending = vec![Action::RefreshChannels];
    let mut result = Ok(());
    loop {
        for action in std::mem::take(&mut pending) {
            if action == Action::Quit {
                app.quit = true;
            } else if action == Action::Bell {
                let _ = std::io::stdout().write_all(b"\x07");
            } else {
                dispatch(&handle, action, updates_tx.clone());
            }
        }
        if app.quit {
            break;
        }
        if let Err(e) = terminal.draw(|frame| view::draw(frame, &app)) {
            result = Err(format!("cannot draw: {e}"));
            break;
        }
        tokio::select! {
            Some(event) = input.recv() => match event {
                TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
                    pending = app.on_key(key);
                }
                TermEvent::Paste(text) => app.on_paste(&text),
                _ => {} // resize: redrawn on the next turn
            },
            Some(event) = events.recv() => pending = app.on_update(Update::Event(event)),
            Some(update) = updates.recv() => pending = app.on_update(update),
            else => break,
        }
    }
    let _ = execute!(std::io::stdout(), term::DisableBracketedPaste);
    ratatui::restore();
    handle.shutdown().await;
    let _ = task.await;
    result
}

/// Runs `action` against the worker in a task of its own; the answer comes back on `updates`.
fn dispatch(handle: &Handle, action: Action, updates: mpsc::UnboundedSender<Update>) {
    let handle = handle.clone();
    tokio::spawn(async move {
        let update = perform(&handle, action).await;
        if let Some(update) = update {
            let _ = updates.send(update);
        }
    });
}

fn refused(e: impl std::fmt::Display) -> Option<Update> {
    Some(Update::Refused(e.to_string()))
}

/// What the inviter is shown: who was invited, so they can check it is the right person.
fn invited(who: &vigil_client::engine::Invitee) -> String {
    format!(
        "invited {} ({}, {}, clearance {}, key {}){}",
        who.user,
        who.display_name,
        who.org,
        who.clearance,
        who.fingerprint,
        if who.known {
            ""
        } else {
            "; first contact: verify with /verify"
        }
    )
}

async fn perform(handle: &Handle, action: Action) -> Option<Update> {
    match action {
        Action::Send(channel, text) => handle.send(channel, text).await.err().and_then(refused),
        Action::Create(name, label) => match handle.create(name.clone(), label).await {
            Ok(_) => Some(Update::Done(format!("created {name}"))),
            Err(e) => refused(e),
        },
        Action::Invite(channel, user) => match handle.invite(channel, user.clone()).await {
            Ok(who) => Some(Update::Done(invited(&who))),
            Err(e) => refused(e),
        },
        Action::Remove(channel, user) => {
            let reason = "removed by the owner".to_owned();
            match handle.remove(channel, user.clone(), reason).await {
                Ok(()) => Some(Update::Done(format!(
                    "removed {user}; new keys for the others"
                ))),
                Err(e) => refused(e),
            }
        }
        Action::LoadHistory(channel, before) => match handle.history(channel, before, PAGE).await {
            Ok(page) => Some(Update::History(channel, before, page)),
            Err(e) => refused(e),
        },
        Action::RefreshChannels => handle.channels().await.ok().map(Update::Channels),
        Action::Contact(user) => {
            let contact = handle.contact(user.clone()).await.ok().flatten();
            let mark = match contact {
                Some(c) if c.changed.is_some() => TrustMark::Changed,
                Some(c) if c.verified => TrustMark::Verified,
                _ => TrustMark::Unverified,
            };
            Some(Update::Trust(user, mark))
        }
        Action::Whois(user) => match handle.whois(user.clone()).await {
            Ok(found) => Some(Update::Info(format!("Who is {user}"), whois(&found))),
            Err(e) => refused(e),
        },
        Action::SafetyNumber(user) => match handle.safety_number(user.clone()).await {
            Ok((number, contact)) => {
                let status = match contact {
                    Some(c) if c.changed.is_some() => "KEYS CHANGED: not verified",
                    Some(c) if c.verified => "verified",
                    _ => "not verified",
                };
                Some(Update::Safety(
                    user,
                    number.display_groups(),
                    status.to_owned(),
                ))
            }
            Err(e) => refused(e),
        },
        Action::MarkVerified(user, number) => match handle.verify(user.clone(), number).await {
            Ok(()) => {
                let _ = handle.contact(user.clone()).await;
                Some(Update::Trust(user, TrustMark::Verified))
            }
            Err(e) => refused(e),
        },
        Action::Export(channel, path) => match export(handle, channel, &path).await {
            Ok(text) => Some(Update::Done(text)),
            Err(e) => refused(e),
        },
        Action::Search(channel, text) => {
            match handle
                .search(Some(channel), text.clone(), MAX_RESULTS)
                .await
            {
                Ok(hits) => Some(Update::Info(
                    format!("Search: {text} (newest first)"),
                    search_lines(&hits, &text),
                )),
                Err(e) => refused(e),
            }
        }
        Action::Bell | Action::Quit => None,
    }
}

/// The lines of the `/whois` screen.
fn whois(found: &Whois) -> Vec<String> {
    let body = found.certificate.body();
    let policy = vigil_protocol::policy::ClassificationPolicy::eu();
    let roles: Vec<&str> = body
        .roles
        .iter()
        .map(vigil_protocol::Role::as_str)
        .collect();
    let trust = match &found.pinned {
        Some(c) if c.changed.is_some() => "KEYS CHANGED since first seen: verify again",
        Some(c) if c.verified => "verified (safety number compared)",
        Some(_) => "unverified (pinned on first use)",
        None => "not seen yet",
    };
    vec![
        format!("Name:          {}", body.display_name),
        format!("User:          {}", body.user),
        format!("Organisation:  {}", body.org),
        format!("Roles:         {}", roles.join(", ")),
        format!("Clearance:     {}", policy.describe(body.clearance.level)),
        format!("Valid:         {} to {}", body.not_before, body.not_after),
        format!("Serial:        {}", body.serial),
        format!("Fingerprint:   {}", body.identity_key.fingerprint()),
        format!("Certificate:   valid, from a trusted root"),
        format!("Trust:         {trust}"),
    ]
}

/// Why an export from the TUI failed: the library refused, or the file cannot be written.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Write(#[from] vigil_common::Error),
}

async fn export(handle: &Handle, channel: ChannelId, path: &str) -> Result<String, ExportError> {
    let format = if path.to_ascii_lowercase().ends_with(".json") {
        crate::export::Format::Json
    } else {
        crate::export::Format::Markdown
    };
    let text = crate::export::render(&handle.export(channel).await?, format, now());
    vigil_common::fs::write_new(std::path::Path::new(path), text.as_bytes())?;
    Ok(format!("exported to {path}"))
}

/// Most search results shown.
const MAX_RESULTS: usize = 500;

/// The lines of the `/search` screen.
fn search_lines(hits: &[Hit], text: &str) -> Vec<String> {
    let mut lines: Vec<String> = hits
        .iter()
        .filter_map(|hit| match &hit.entry.body {
            vigil_client::engine::Body::Text(t) => Some(format!(
                "{}  {}: {}",
                hit.entry.at,
                hit.entry.sender_name,
                t.replace('\n', " ")
            )),
            _ => None,
        })
        .collect();
    if lines.is_empty() {
        lines.push(format!("no message contains {text:?}"));
    }
    lines
}
