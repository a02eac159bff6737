//! `vigil channel admins|transfer|renew|history`: who governs a channel, and its verified
//! history of changes.

use std::io::Write;

use vigil_protocol::UserId;
use vigil_protocol::channel::Proposal;

use super::{ChannelCommand, Failure, io, parse_user, usage};
use vigil_client::client::Client;
use vigil_client::engine::Invitee;
use vigil_client::sanitize::line;
use vigil_common::now;

/// Runs one of the governance commands.
pub(super) async fn run(
    client: &mut Client,
    online: bool,
    command: ChannelCommand,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    match command {
        ChannelCommand::Admins { channel, users } => {
            let id = client.engine().find_channel(&channel)?;
            let admins = parse_users(&users)?;
            client
                .engine_mut()
                .change(id, Proposal::SetAdmins(admins), now())?;
            let names = if users.is_empty() {
                "nobody".to_owned()
            } else {
                users.join(", ")
            };
            writeln!(out, "Admins of {channel}: {names}").map_err(io)
        }
        ChannelCommand::Transfer { channel, user } => {
            let id = client.engine().find_channel(&channel)?;
            let user = parse_user(&user)?;
            client
                .engine_mut()
                .change(id, Proposal::Transfer(user.clone()), now())?;
            writeln!(out, "{user} now owns {channel}").map_err(io)
        }
        ChannelCommand::Renew { channel, user } => {
            let id = client.engine().find_channel(&channel)?;
            let user = parse_user(&user)?;
            if !online {
                return Err(usage(
                    "cannot renew while the relay is unreachable: the member's current \
                     certificate comes from it; try again when it is back",
                ));
            }
            let renewed = client.renew(id, &user).await?;
            describe(out, &channel, "Renewed", &renewed)
        }
        ChannelCommand::History { channel } => history(client, &channel, out),
        other => Err(usage(format!("not a governance command: {other:?}"))),
    }
}

fn parse_users(users: &[String]) -> Result<Vec<UserId>, Failure> {
    users.iter().map(|u| parse_user(u)).collect()
}

/// Prints who was invited or renewed, so the member can check it is the right person.
pub(super) fn describe(
    out: &mut dyn Write,
    channel: &str,
    what: &str,
    who: &Invitee,
) -> Result<(), Failure> {
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
    .map_err(io)?;
    if !who.known {
        writeln!(
            out,
            "First contact with these keys of {}: compare safety numbers (`vigil verify {}`).",
            who.user, who.user
        )
        .map_err(io)?;
    }
    Ok(())
}

/// `vigil channel list`: each channel with its label, owner, admins and members, and its alert.
pub(super) fn list(client: &Client, out: &mut dyn Write) -> Result<(), Failure> {
    for c in client.engine().channels() {
        let members: Vec<&str> = c.members.iter().map(|(u, _, _)| u.as_str()).collect();
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
        .map_err(io)?;
        if let Some(alert) = &c.alert {
            writeln!(out, "  !! {}", line(alert)).map_err(io)?;
        }
    }
    Ok(())
}

/// Prints the channel's verified chain of states, one line per change.
fn history(client: &Client, channel: &str, out: &mut dyn Write) -> Result<(), Failure> {
    let id = client.engine().find_channel(channel)?;
    for entry in client.engine().audit_history(id)? {
        writeln!(out, "{}", line(&entry)).map_err(io)?;
    }
    Ok(())
}
