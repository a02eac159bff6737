//! What happens around every command that works on a member's store: connect and sync (or note
//! that we are offline), run the command, follow a channel when asked, send the outbox, and
//! report trust warnings and undecryptable items, which are never silent.

use std::io::Write;

use vigil_client::client::{Client, ClientError};
use vigil_client::engine::{Event, TrustWarning, describe_trust_change};

use super::{ChannelCommand, CliError, Command, Notes, UsageError};
use super::{channel, governance, messages, verify};

/// Runs `command` on `client`, online unless `offline`, and closes the client.
pub(super) async fn networked(
    mut client: Client,
    offline: bool,
    command: Command,
    out: &mut dyn Write,
    notes: &mut dyn Notes,
) -> Result<(), CliError> {
    if offline && matches!(command, Command::Read { follow: true, .. }) {
        return Err(UsageError::FollowOffline.into());
    }
    let online = !offline && go_online(&mut client, notes).await?;
    let follow_channel = match &command {
        Command::Read {
            channel,
            follow: true,
            json,
            ..
        } => Some((channel.clone(), *json)),
        _ => None,
    };
    let mut result = dispatch(&mut client, online, command, out).await;
    if let (Ok(()), Some((channel, json))) = (&result, follow_channel) {
        let (back, followed) = messages::follow(client, &channel, json, out, notes).await;
        result = followed;
        match back {
            Some(back) => client = back,
            None => return result,
        }
    }
    finish(&mut client, result.is_ok(), notes).await;
    client.close().await;
    result
}

/// Connects and syncs; offline is a note, not an error, for commands that can work locally.
async fn go_online(client: &mut Client, notes: &mut dyn Notes) -> Result<bool, CliError> {
    match client.connect().await {
        Ok(()) => {}
        Err(e @ ClientError::LoginRefused(_)) => return Err(e.into()),
        Err(e) => {
            notes.note(&format!("offline ({e})"));
            return Ok(false);
        }
    }
    let synced = client.sync().await;
    client.check_waiting()?;
    match synced {
        Ok(()) => Ok(true),
        Err(ClientError::Transport(e)) => {
            notes.note(&format!("offline ({e})"));
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Hands `command` to the function that runs it.
async fn dispatch(
    client: &mut Client,
    online: bool,
    command: Command,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        Command::Channel(command) => match command {
            ChannelCommand::Create {
                name,
                tlp,
                level,
                caveat,
            } => channel::create(client, &name, &tlp, &level, &caveat, out),
            ChannelCommand::Invite { channel, user } => {
                channel::invite(client, online, &channel, &user, out).await
            }
            ChannelCommand::Remove {
                channel,
                users,
                reason,
            } => channel::remove(client, &channel, &users, &reason, out),
            ChannelCommand::Relabel {
                channel,
                tlp,
                level,
                caveat,
            } => channel::relabel(client, &channel, (&tlp, &level, &caveat), out),
            ChannelCommand::Admins { channel, users } => {
                governance::admins(client, &channel, &users, out)
            }
            ChannelCommand::Transfer { channel, user } => {
                governance::transfer(client, &channel, &user, out)
            }
            ChannelCommand::Renew { channel, user } => {
                governance::renew(client, online, &channel, &user, out).await
            }
            ChannelCommand::History { channel } => governance::history(client, &channel, out),
            ChannelCommand::List => governance::list(client, out),
        },
        Command::Send { channel, text } => messages::send(client, &channel, text),
        Command::Read {
            channel,
            follow,
            json,
            last,
        } => messages::read(client, &channel, follow, json, last, out),
        Command::Verify { user, number } => verify::verify(client, &user, number.as_deref(), out),
        Command::Export {
            channel,
            out: file,
            format,
        } => messages::export(client, &channel, &file, format, out),
        // [`super::run`] runs these without opening a store.
        Command::Demo | Command::Request { .. } | Command::Enroll { .. } => {
            Err(UsageError::NotNetworked.into())
        }
    }
}

/// After the command: the outbox goes out when online, and what is still queued is noted.
async fn finish(client: &mut Client, succeeded: bool, notes: &mut dyn Notes) {
    if client.is_online()
        && let Err(e) = client.flush_outbox().await
    {
        notes.note(&format!("{e}; the rest of the outbox is sent next time"));
    }
    let queued = client.engine().outbox_len().unwrap_or(0);
    if queued > 0 && succeeded {
        notes.note(&format!(
            "{queued} message(s) queued: they are sent the next time vigil reaches the relay"
        ));
    }
    for event in client.take_events() {
        report_warning(&event, notes);
    }
}

/// Notes a key change or an item that could not be decrypted; other events are for the TUI.
pub(super) fn report_warning(event: &Event, notes: &mut dyn Notes) {
    match event {
        Event::Trust {
            user,
            warning: TrustWarning::KeyChanged,
        } => notes.note(&format!(
            "WARNING: the keys of {user} changed. Compare safety numbers (`vigil verify \
             {user}`) before trusting them."
        )),
        Event::DecryptFailed { sender, reason, .. } => {
            notes.note(&format!(
                "could not decrypt or verify from {sender}: {reason}"
            ));
        }
        Event::Alert { text, .. } => notes.note(&format!("WARNING: {text}")),
        Event::Partners(change) => notes.note(&describe_trust_change(change)),
        _ => {}
    }
}
