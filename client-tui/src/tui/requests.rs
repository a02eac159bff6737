//! What each [`Action`] asks of the network worker, one function per action, each run in a
//! task of its own; the answer comes back as an [`Update`] (a refusal carries its reason).

use tokio::sync::mpsc;
use vigil_client::client::{Client, ClientError};
use vigil_client::engine::{Body, EngineError, Invitee};
use vigil_client::worker::Handle;
use vigil_common::now;
use vigil_protocol::UserId;
use vigil_protocol::label::Label;

use super::app::{Action, PAGE, TrustMark, Update};

/// History entries read per page while searching.
const SEARCH_PAGE: usize = 1000;

/// Most search results shown.
const MAX_RESULTS: usize = 500;

/// Why `/export` wrote nothing.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    /// Refused (`TLP:RED`), an unknown channel or a failing store.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The file exists already or cannot be written.
    #[error(transparent)]
    Files(#[from] vigil_common::Error),
}

/// Runs `action` against the worker in a task of its own; the answer comes back on `updates`.
pub(super) fn dispatch(handle: &Handle, action: Action, updates: mpsc::UnboundedSender<Update>) {
    let handle = handle.clone();
    tokio::spawn(async move {
        let update = perform(&handle, action).await;
        if let Some(update) = update {
            let _ = updates.send(update);
        }
    });
}

/// The update answering `action`; `None` when there is nothing to show.
async fn perform(handle: &Handle, action: Action) -> Option<Update> {
    match action {
        Action::Send(channel, text) => handle.send(channel, text).await.err().and_then(refused),
        Action::Create(name, label) => Some(create(handle, name, label).await),
        Action::Invite(channel, user) => Some(invite(handle, channel, user).await),
        Action::Remove(channel, user) => Some(remove(handle, channel, user).await),
        Action::LoadHistory(channel, before) => Some(load_history(handle, channel, before).await),
        Action::RefreshChannels => handle.channels().await.ok().map(Update::Channels),
        Action::Contact(user) => Some(contact(handle, user).await),
        Action::Whois(user) => Some(whois(handle, user).await),
        Action::SafetyNumber(user) => Some(safety_number(handle, user).await),
        Action::MarkVerified(user, number) => Some(mark_verified(handle, user, number).await),
        Action::Export(channel, path) => Some(export(handle, channel, path).await),
        Action::Search(channel, text) => Some(search(handle, channel, text).await),
        Action::Bell | Action::Quit => None,
    }
}

fn refused(e: impl std::fmt::Display) -> Option<Update> {
    Some(Update::Refused(e.to_string()))
}

/// The answer of a [`Handle::with`] call: `done` of the value, or the refusal of either error.
fn answer<T, E: std::fmt::Display>(
    result: Result<Result<T, E>, ClientError>,
    done: impl FnOnce(T) -> Update,
) -> Update {
    match result {
        Ok(Ok(value)) => done(value),
        Ok(Err(e)) => Update::Refused(e.to_string()),
        Err(e) => Update::Refused(e.to_string()),
    }
}

async fn create(handle: &Handle, name: String, label: Label) -> Update {
    match handle.create(name.clone(), label).await {
        Ok(_) => Update::Done(format!("created {name}")),
        Err(e) => Update::Refused(e.to_string()),
    }
}

async fn invite(handle: &Handle, channel: [u8; 32], user: UserId) -> Update {
    match handle.invite(channel, user).await {
        Ok(who) => Update::Done(invited(&who)),
        Err(e) => Update::Refused(e.to_string()),
    }
}

/// What the inviter is shown: who was invited, so they can check it is the right person.
fn invited(who: &Invitee) -> String {
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

async fn remove(handle: &Handle, channel: [u8; 32], user: UserId) -> Update {
    let reason = "removed by the owner".to_owned();
    match handle.remove(channel, user.clone(), reason).await {
        Ok(()) => Update::Done(format!("removed {user}; new keys for the others")),
        Err(e) => Update::Refused(e.to_string()),
    }
}

async fn load_history(handle: &Handle, channel: [u8; 32], before: Option<u64>) -> Update {
    match handle.history(channel, before, PAGE).await {
        Ok(page) => Update::History(channel, before, page),
        Err(e) => Update::Refused(e.to_string()),
    }
}

/// The trust marker of `user`; unverified when the worker cannot say.
async fn contact(handle: &Handle, user: UserId) -> Update {
    let contact = handle.contact(user.clone()).await.ok().flatten();
    let mark = match contact {
        Some(c) if c.changed.is_some() => TrustMark::Changed,
        Some(c) if c.verified => TrustMark::Verified,
        _ => TrustMark::Unverified,
    };
    Update::Trust(user, mark)
}

async fn whois(handle: &Handle, user: UserId) -> Update {
    let lines = handle.with(move |client| whois_lines(client, &user)).await;
    answer(lines, |(title, lines)| Update::Info(title, lines))
}

/// `/whois`: the certificate's details and what we know of the keys.
fn whois_lines(client: &Client, user: &UserId) -> Result<(String, Vec<String>), EngineError> {
    let engine = client.engine();
    let verified = engine.contact_certificate(user, now())?;
    let body = verified.body();
    let policy = vigil_protocol::policy::ClassificationPolicy::eu();
    let roles: Vec<&str> = body
        .roles
        .iter()
        .map(vigil_protocol::Role::as_str)
        .collect();
    let trust = match engine.contact(user)? {
        Some(c) if c.changed.is_some() => "KEYS CHANGED since first seen: verify again",
        Some(c) if c.verified => "verified (safety number compared)",
        Some(_) => "unverified (pinned on first use)",
        None => "not seen yet",
    };
    Ok((
        format!("Who is {user}"),
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
        ],
    ))
}

async fn safety_number(handle: &Handle, user: UserId) -> Update {
    let found = handle
        .with({
            let user = user.clone();
            move |client| client.engine().safety_number(&user, now())
        })
        .await;
    answer(found, |(number, contact)| {
        let status = match contact {
            Some(c) if c.changed.is_some() => "KEYS CHANGED: not verified",
            Some(c) if c.verified => "verified",
            _ => "not verified",
        };
        Update::Safety(user, number.display_groups(), status.to_owned())
    })
}

async fn mark_verified(handle: &Handle, user: UserId, number: String) -> Update {
    let done = handle
        .with({
            let user = user.clone();
            move |client| client.engine().verify(&user, &number, now())
        })
        .await;
    if matches!(done, Ok(Ok(()))) {
        // Refreshes the worker's view of the contact before the marker changes.
        let _ = handle.contact(user.clone()).await;
    }
    answer(done, |()| Update::Trust(user, TrustMark::Verified))
}

async fn export(handle: &Handle, channel: [u8; 32], path: String) -> Update {
    let done = handle
        .with(move |client| export_file(client, channel, &path))
        .await;
    answer(done, Update::Done)
}

/// `/export FILE`: JSON for a `.json` file, else Markdown; never over an existing file.
fn export_file(client: &Client, channel: [u8; 32], path: &str) -> Result<String, ExportError> {
    let format = if path.to_ascii_lowercase().ends_with(".json") {
        crate::export::Format::Json
    } else {
        crate::export::Format::Markdown
    };
    let text = crate::export::export(client.engine(), channel, format, now())?;
    vigil_common::fs::write_new(std::path::Path::new(path), text.as_bytes())?;
    Ok(format!("exported to {path}"))
}

async fn search(handle: &Handle, channel: [u8; 32], text: String) -> Update {
    let found = handle
        .with(move |client| search_lines(client, channel, &text))
        .await;
    answer(found, |(title, lines)| Update::Info(title, lines))
}

/// `/search TEXT`: the channel's text messages containing it (any case), newest first, at
/// most [`MAX_RESULTS`].
fn search_lines(
    client: &Client,
    channel: [u8; 32],
    text: &str,
) -> Result<(String, Vec<String>), EngineError> {
    let engine = client.engine();
    let needle = text.to_lowercase();
    let mut lines = Vec::new();
    let mut before = None;
    loop {
        let page = engine.history(channel, before, SEARCH_PAGE)?;
        let done = page.len() < SEARCH_PAGE;
        before = page.last().map(|(seq, _)| *seq);
        for (_, entry) in page {
            if let Body::Text(t) = &entry.body
                && t.to_lowercase().contains(&needle)
            {
                lines.push(format!(
                    "{}  {}: {}",
                    entry.at,
                    entry.sender_name,
                    t.replace('\n', " ")
                ));
            }
        }
        if done || lines.len() >= MAX_RESULTS {
            break;
        }
    }
    lines.truncate(MAX_RESULTS);
    if lines.is_empty() {
        lines.push(format!("no message contains {text:?}"));
    }
    Ok((format!("Search: {text} (newest first)"), lines))
}
