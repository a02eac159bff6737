//! What each [`Action`] asks of the network worker, one function per action, each run in a
//! task of its own; the answer comes back as an [`Update`] (a refusal carries its reason).

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use vigil_client::client::ClientError;
use vigil_client::engine::{Body, Invitee};
use vigil_client::history::Hit;
use vigil_client::trust::Contact;
use vigil_client::ui_state::UiState;
use vigil_client::worker::Handle;
use vigil_common::now;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Label;
use vigil_protocol::{CertificateBody, UserId};

use super::app::{Action, PAGE, TrustMark, Update};

/// Most search results shown.
const MAX_RESULTS: usize = 500;

/// Why `/export` wrote nothing.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    /// Refused (`TLP:RED`), an unknown channel, a failing store or a stopped worker.
    #[error(transparent)]
    Client(#[from] ClientError),
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

/// A task that saves the TUI's state, the newest given on the returned sender each time (so
/// saves never land out of order, and one still waiting is replaced by a newer one). Ends,
/// after saving what was last given, when the sender is dropped.
pub(super) fn saving(handle: &Handle) -> (watch::Sender<Option<UiState>>, JoinHandle<()>) {
    let (tx, mut rx) = watch::channel(None::<UiState>);
    let handle = handle.clone();
    let task = tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let state = rx.borrow_and_update().clone();
            if let Some(state) = state
                && let Err(e) = handle.save_ui_state(state).await
            {
                tracing::warn!(code = e.exit_code(), "saving the TUI's state failed");
            }
        }
    });
    (tx, task)
}

/// The update answering `action`; `None` when there is nothing to show.
async fn perform(handle: &Handle, action: Action) -> Option<Update> {
    match action {
        Action::Send(channel, text) => handle.send(channel, text).await.err().and_then(refused),
        Action::Create(name, label) => Some(create(handle, name, label).await),
        Action::Invite(channel, user) => Some(invite(handle, channel, user).await),
        Action::Remove(channel, user) => Some(remove(handle, channel, user).await),
        Action::Relabel(channel, label) => Some(relabel(handle, channel, label).await),
        Action::LoadHistory(channel, before) => Some(load_history(handle, channel, before).await),
        Action::RefreshChannels => handle.channels().await.ok().map(Update::Channels),
        Action::Contact(user) => Some(contact(handle, user).await),
        Action::Whois(user) => Some(whois(handle, user).await),
        Action::SafetyNumber(user) => Some(safety_number(handle, user).await),
        Action::MarkVerified(user, number) => Some(mark_verified(handle, user, number).await),
        Action::Export(channel, path) => Some(export(handle, channel, path).await),
        Action::Search(channel, text) => Some(search(handle, channel, text).await),
        Action::LoadUiState => Some(answer(handle.ui_state().await, Update::UiState)),
        Action::SaveUiState(state) => handle.save_ui_state(state).await.err().and_then(refused),
        Action::Bell | Action::Redraw | Action::Quit | Action::Editor => None,
    }
}

fn refused(e: impl std::fmt::Display) -> Option<Update> {
    Some(Update::Refused(e.to_string()))
}

/// `done` of the worker's answer, or its refusal.
fn answer<T, E: std::fmt::Display>(result: Result<T, E>, done: impl FnOnce(T) -> Update) -> Update {
    match result {
        Ok(value) => done(value),
        Err(e) => Update::Refused(e.to_string()),
    }
}

async fn create(handle: &Handle, name: String, label: Label) -> Update {
    match handle.create(name.clone(), label).await {
        Ok(_) => Update::Done(format!("created {name}")),
        Err(e) => Update::Refused(e.to_string()),
    }
}

async fn invite(handle: &Handle, channel: ChannelId, user: UserId) -> Update {
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

async fn remove(handle: &Handle, channel: ChannelId, user: UserId) -> Update {
    let reason = "removed by the owner".to_owned();
    match handle.remove(channel, user.clone(), reason).await {
        Ok(()) => Update::Done(format!("removed {user}; new keys for the others")),
        Err(e) => Update::Refused(e.to_string()),
    }
}

async fn relabel(handle: &Handle, channel: ChannelId, label: Label) -> Update {
    let done = format!("label changed to [{label}]; new keys for everyone");
    answer(handle.relabel(channel, label).await, |()| {
        Update::Done(done)
    })
}

async fn load_history(handle: &Handle, channel: ChannelId, before: Option<u64>) -> Update {
    match handle.history(channel, before, PAGE).await {
        Ok(page) => Update::History(channel, before, page),
        Err(e) => Update::Refused(e.to_string()),
    }
}

/// The trust marker of `user` and the key it is about; unverified when the worker cannot say.
async fn contact(handle: &Handle, user: UserId) -> Update {
    let contact = handle.contact(user.clone()).await.ok().flatten();
    let mark = match &contact {
        Some(c) if c.changed.is_some() => TrustMark::Changed,
        Some(c) if c.verified => TrustMark::Verified,
        _ => TrustMark::Unverified,
    };
    Update::Trust(user, contact.map(|c| c.identity_key), mark)
}

async fn whois(handle: &Handle, user: UserId) -> Update {
    let found = handle.whois(user.clone()).await;
    answer(found, |found| {
        let lines = whois_lines(found.certificate.body(), found.pinned.as_ref());
        Update::Info(format!("Who is {user}"), lines)
    })
}

/// `/whois`: the certificate's details (verified against our roots by the worker) and whether
/// we verified the keys: safety number compared or not, or keys changed since first seen.
fn whois_lines(body: &CertificateBody, pinned: Option<&Contact>) -> Vec<String> {
    let policy = vigil_protocol::policy::ClassificationPolicy::eu();
    let roles: Vec<&str> = body
        .roles
        .iter()
        .map(vigil_protocol::Role::as_str)
        .collect();
    let user = &body.user;
    let verified = match pinned {
        Some(Contact {
            changed: Some(change),
            ..
        }) => format!(
            "NO: KEYS CHANGED since first seen (previous key {}); compare safety numbers again \
             (/verify {user})",
            change.previous.fingerprint()
        ),
        Some(c) if c.verified && c.identity_key == body.identity_key => {
            "yes: safety number compared".to_owned()
        }
        Some(_) => format!("no: safety number not compared (/verify {user})"),
        None => format!("no: keys not seen yet (/verify {user})"),
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
        format!("Verified:      {verified}"),
    ]
}

async fn safety_number(handle: &Handle, user: UserId) -> Update {
    let found = handle.safety_number(user.clone()).await;
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
    match handle.verify(user.clone(), number).await {
        // The marker of the key that was verified, read back from the worker.
        Ok(()) => contact(handle, user).await,
        Err(e) => Update::Refused(e.to_string()),
    }
}

async fn export(handle: &Handle, channel: ChannelId, path: String) -> Update {
    answer(export_file(handle, channel, &path).await, Update::Done)
}

/// `/export FILE`: JSON for a `.json` file, else Markdown; never over an existing file.
async fn export_file(
    handle: &Handle,
    channel: ChannelId,
    path: &str,
) -> Result<String, ExportError> {
    let format = if path.to_ascii_lowercase().ends_with(".json") {
        crate::export::Format::Json
    } else {
        crate::export::Format::Markdown
    };
    let text = crate::export::render(&handle.export(channel).await?, format, now());
    vigil_common::fs::write_new(std::path::Path::new(path), text.as_bytes())?;
    Ok(format!("exported to {path}"))
}

async fn search(handle: &Handle, channel: ChannelId, text: String) -> Update {
    let found = handle
        .search(Some(channel), text.clone(), MAX_RESULTS)
        .await;
    answer(found, |hits| {
        Update::Info(
            format!("Search: {text} (newest first)"),
            search_lines(&hits, &text),
        )
    })
}

/// `/search TEXT`: the channel's text messages containing it (any case), newest first.
fn search_lines(hits: &[Hit], text: &str) -> Vec<String> {
    let mut lines: Vec<String> = hits
        .iter()
        .filter_map(|hit| match &hit.entry.body {
            Body::Text(t) => Some(format!(
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use vigil_client::trust::{Contact, KeyChange};
    use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair};
    use vigil_protocol::{CertificateBody, Clearance, OrgId, Text, UnixTime, UserId};

    use super::whois_lines;

    fn body(seed: u8) -> CertificateBody {
        CertificateBody {
            serial: 7,
            org: OrgId::new("CERT-CZ").unwrap(),
            user: UserId::new("petra@cert-cz").unwrap(),
            display_name: Text::new("Petra").unwrap(),
            roles: vec![],
            clearance: Clearance {
                policy: Text::new("EU").unwrap(),
                level: 2,
            },
            identity_key: IdentityKeyPair::from_seed(&[seed; 32]).public(),
            agreement_key: AgreementKeyPair::from_bytes(&[seed; 32]).public(),
            not_before: UnixTime(0),
            not_after: UnixTime(4_000_000_000),
        }
    }

    fn verified_line(body: &CertificateBody, pinned: Option<&Contact>) -> String {
        let lines = whois_lines(body, pinned);
        lines
            .into_iter()
            .find_map(|l| l.strip_prefix("Verified:").map(|v| v.trim().to_owned()))
            .unwrap()
    }

    #[test]
    fn whois_says_whether_the_safety_number_was_compared_or_the_keys_changed() {
        let now = body(1);
        let contact = |verified, changed| Contact {
            user: now.user.clone(),
            identity_key: now.identity_key,
            agreement_key: now.agreement_key,
            first_seen: UnixTime(1),
            verified,
            changed,
        };
        assert!(verified_line(&now, None).starts_with("no: keys not seen"));
        let pinned = contact(false, None);
        assert!(verified_line(&now, Some(&pinned)).starts_with("no: safety number not compared"));
        let pinned = contact(true, None);
        assert_eq!(
            verified_line(&now, Some(&pinned)),
            "yes: safety number compared"
        );
        let change = KeyChange {
            previous: body(2).identity_key,
            at: UnixTime(5),
        };
        let pinned = contact(false, Some(change));
        let line = verified_line(&now, Some(&pinned));
        assert!(line.starts_with("NO: KEYS CHANGED"), "{line}");
        assert!(line.contains(&body(2).identity_key.fingerprint()), "{line}");
        let lines = whois_lines(&now, None);
        assert!(lines.iter().any(|l| l.contains("Clearance:")), "{lines:?}");
    }
}
