//! `vigil channel create|invite|remove`: making a channel and changing who is in it.

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
    let caveats: Vec<&str> = caveats.iter().map(String::as_str).collect();
    let label =
        Label::new(tlp, level, &caveats, ClassificationPolicy::eu()).map_err(UsageError::from)?;
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
