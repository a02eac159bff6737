//! `vigil channel create|invite|remove|relabel`: making a channel, changing who is in it and
//! its label.

use std::io::Write;

use vigil_client::client::Client;
use vigil_client::sanitize::line;
use vigil_common::now;
use vigil_protocol::UserId;
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;

use super::{CliError, UsageError, governance, parse_user, parse_users};

/// `channel create`: a channel labelled `tlp` / `level` / `caveats`, owned by us.
pub(super) fn create(
    client: &mut Client,
    name: &str,
    tlp: &str,
    level: &str,
    caveats: &[String],
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let label = parse_label(tlp, level, caveats)?;
    let (id, _) = client.engine_mut().create_channel(name, label, now())?;
    let summary = client.engine().channel(id)?;
    writeln!(
        out,
        "Created {} [{}] ({})",
        line(&summary.name),
        line(&summary.label.to_string()),
        id.short()
    )
    .map_err(CliError::Output)
}

/// The label of `--tlp`, `--level` and `--caveat`s, as the policy accepts it.
fn parse_label(tlp: &str, level: &str, caveats: &[String]) -> Result<Label, UsageError> {
    let caveats: Vec<&str> = caveats.iter().map(String::as_str).collect();
    Ok(Label::new(
        tlp,
        level,
        &caveats,
        ClassificationPolicy::eu(),
    )?)
}

/// `channel relabel`: the channel's new label (`tlp`, `level`, `caveats`), checked as for
/// `create`; the engine refuses a label that would exclude a current member.
pub(super) fn relabel(
    client: &mut Client,
    channel: &str,
    (tlp, level, caveats): (&str, &str, &[String]),
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let id = client.engine().find_channel(channel)?;
    let label = parse_label(tlp, level, caveats)?;
    let before = client.engine().channel(id)?;
    if before.label == label {
        return Err(UsageError::SameLabel(line(&label.to_string()).into_owned()).into());
    }
    client.engine_mut().relabel(id, label, now())?;
    let after = client.engine().channel(id)?;
    writeln!(
        out,
        "Relabelled {} ({}) from [{}] to [{}]; new keys for everyone",
        line(&after.name),
        id.short(),
        line(&before.label.to_string()),
        line(&after.label.to_string())
    )
    .map_err(CliError::Output)
}

/// `channel invite`: needs the relay, which holds the invitee's certificate and keys.
pub(super) async fn invite(
    client: &mut Client,
    online: bool,
    channel: &str,
    user: &str,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let id = client.engine().find_channel(channel)?;
    let user = parse_user(user)?;
    if !online {
        return Err(UsageError::InviteOffline.into());
    }
    let who = client.invite(id, &user).await?;
    governance::describe(out, channel, "Invited", &who)
}

/// `channel remove`: one change for all `users`, new keys for everyone else.
pub(super) fn remove(
    client: &mut Client,
    channel: &str,
    users: &[String],
    reason: &str,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let id = client.engine().find_channel(channel)?;
    let users = parse_users(users)?;
    client.engine_mut().remove(id, &users, reason, now())?;
    let names: Vec<&str> = users.iter().map(UserId::as_str).collect();
    writeln!(
        out,
        "Removed {} from {channel}; new keys for everyone else",
        names.join(", ")
    )
    .map_err(CliError::Output)
}
