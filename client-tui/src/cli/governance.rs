//! `vigil channel admins|transfer|renew|history|list`: who governs a channel, its verified
//! history of changes, and the list of our channels.

use std::io::Write;

use vigil_protocol::UserId;
use vigil_protocol::channel::Proposal;

use super::{CliError, UsageError, parse_user, parse_users};
use vigil_client::client::Client;
use vigil_client::engine::Invitee;
use vigil_client::sanitize::line;
use vigil_common::now;

/// `channel admins`: replaces the channel's admins by `users` (none: no admins).
pub(super) fn admins(
    client: &mut Client,
    channel: &str,
    users: &[String],
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let id = client.engine().find_channel(channel)?;
    let admins = parse_users(users)?;
    client
        .engine_mut()
        .change(id, Proposal::SetAdmins(admins), now())?;
    let names = if users.is_empty() {
        "nobody".to_owned()
    } else {
        users.join(", ")
    };
    writeln!(out, "Admins of {channel}: {names}").map_err(CliError::Output)
}

/// `channel transfer`: hands ownership to `user`.
pub(super) fn transfer(
    client: &mut Client,
    channel: &str,
    user: &str,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let id = client.engine().find_channel(channel)?;
    let user = parse_user(user)?;
    client
        .engine_mut()
        .change(id, Proposal::Transfer(user.clone()), now())?;
    writeln!(out, "{user} now owns {channel}").map_err(CliError::Output)
}

/// `channel renew`: needs the relay, which holds the member's current certificate.
pub(super) async fn renew(
    client: &mut Client,
    online: bool,
    channel: &str,
    user: &str,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let id = client.engine().find_channel(channel)?;
    let user = parse_user(user)?;
    if !online {
        return Err(UsageError::RenewOffline.into());
    }
    let renewed = client.renew(id, &user).await?;
    describe(out, channel, "Renewed", &renewed)
}

/// Prints who was invited or renewed, so the member can check it is the right person.
pub(super) fn describe(
    out: &mut dyn Write,
    channel: &str,
    what: &str,
    who: &Invitee,
) -> Result<(), CliError> {
    writeln!(
        out,
        "{what} {} in {}: {}, {}, clearance {}, identity key {}",
        who.user,
        line(channel),
        line(&who.display_name),
        who.org,
        who.clearance,
        who.fingerprint
    )
    .map_err(CliError::Output)?;
    if !who.known {
        writeln!(
            out,
            "First contact with these keys of {}: compare safety numbers (`vigil verify {}`).",
            who.user, who.user
        )
        .map_err(CliError::Output)?;
    }
    Ok(())
}

/// `vigil channel list`: each channel with its label, owner, admins and members, and its alert.
pub(super) fn list(client: &Client, out: &mut dyn Write) -> Result<(), CliError> {
    for c in client.engine().channels() {
        let members: Vec<&str> = c.members.iter().map(|m| m.user.as_str()).collect();
        let admins: Vec<&str> = c.admins.iter().map(UserId::as_str).collect();
        let admins = if admins.is_empty() {
            String::new()
        } else {
            format!("  admins {}", admins.join(","))
        };
        writeln!(
            out,
            "{}  [{}]  {}  owner {}{admins}  members {}{}",
            line(&c.name),
            line(&c.label.to_string()),
            c.id.short(),
            c.owner,
            members.join(","),
            if c.member { "" } else { "  (you were removed)" }
        )
        .map_err(CliError::Output)?;
        if let Some(alert) = &c.alert {
            writeln!(out, "  !! {}", line(alert)).map_err(CliError::Output)?;
        }
    }
    Ok(())
}

/// `channel history`: the channel's verified chain of states, one line per change.
pub(super) fn history(client: &Client, channel: &str, out: &mut dyn Write) -> Result<(), CliError> {
    let id = client.engine().find_channel(channel)?;
    for entry in client.engine().audit_history(id)? {
        writeln!(out, "{}", line(&entry)).map_err(CliError::Output)?;
    }
    Ok(())
}
