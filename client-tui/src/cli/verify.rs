//! `vigil verify`: the safety number shared with a contact, and marking them verified once the
//! number they read out matches.

use std::io::Write;

use vigil_client::client::Client;
use vigil_common::now;

use super::{CliError, parse_user};

/// Shows the safety number with `user`, or with `number` marks them verified when it matches.
pub(super) fn verify(
    client: &Client,
    user: &str,
    number: Option<&str>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let user = parse_user(user)?;
    let (safety, contact) = client.engine().safety_number(&user, now())?;
    if let Some(number) = number {
        client.engine().verify(&user, number, now())?;
        return writeln!(out, "{user} is verified.").map_err(CliError::Output);
    }
    let state = contact.map_or("unknown", |c| {
        if c.changed.is_some() {
            "KEYS CHANGED since first seen: not verified"
        } else if c.verified {
            "verified"
        } else {
            "not verified"
        }
    });
    writeln!(out, "Safety number with {user}:").map_err(CliError::Output)?;
    writeln!(out, "{}", safety.display_groups()).map_err(CliError::Output)?;
    writeln!(out, "Status: {state}").map_err(CliError::Output)?;
    writeln!(
        out,
        "Compare it with {user} in person or by phone; then run `vigil verify {user} --number \
         \"...\"` with the number they read out."
    )
    .map_err(CliError::Output)
}
