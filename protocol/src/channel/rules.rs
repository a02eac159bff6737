//! The label rules, each a function, each tested. Applied by every member to every state, and
//! by the author before signing.

use super::error::PolicyRefusal;
use super::state::{Change, ChannelState};
use crate::cert::{CertificateBody, TrustStore};
use crate::ids::{CountryCode, UserId};
use crate::label::{Label, Tlp};

/// Rule 2: a member's clearance dominates the channel's level (the owner's too).
///
/// # Errors
///
/// [`PolicyRefusal::InsufficientClearance`] naming the member, their clearance and the level.
pub fn check_clearance(member: &CertificateBody, label: &Label) -> Result<(), PolicyRefusal> {
    if member.clearance.dominates(&label.level) {
        return Ok(());
    }
    Err(PolicyRefusal::InsufficientClearance {
        user: member.user.clone(),
        has: member.clearance.marking(),
        needs: label.level.marking(),
    })
}

/// Rule 3: `TLP:AMBER+STRICT` admits only members of the owner's organisation.
///
/// # Errors
///
/// [`PolicyRefusal::OutsideOwnerOrg`].
pub fn check_owner_org(
    member: &CertificateBody,
    owner: &CertificateBody,
    label: &Label,
) -> Result<(), PolicyRefusal> {
    if label.tlp != Tlp::AmberStrict || member.org == owner.org {
        return Ok(());
    }
    Err(PolicyRefusal::OutsideOwnerOrg {
        user: member.user.clone(),
        owner_org: owner.org.to_string(),
    })
}

/// `REL TO` caveats: a member's organisation must be of a country the label is releasable to
/// (`country` is the organisation's, from the trust store; an organisation of unknown country
/// is refused whenever the label names countries).
///
/// # Errors
///
/// [`PolicyRefusal::NotReleasable`].
pub fn check_releasable(
    member: &CertificateBody,
    label: &Label,
    country: Option<&CountryCode>,
) -> Result<(), PolicyRefusal> {
    let Some(allowed) = label.releasable_to() else {
        return Ok(());
    };
    if country.is_some_and(|c| allowed.contains(c)) {
        return Ok(());
    }
    let allowed: Vec<&str> = allowed.iter().map(CountryCode::as_str).collect();
    Err(PolicyRefusal::NotReleasable {
        user: member.user.clone(),
        country: country.map_or_else(|| "an unknown country".to_owned(), ToString::to_string),
        allowed: allowed.join(","),
    })
}

/// Rule 5: raising a label is an owner or admin change (checked by [`check_authority`]);
/// any change that does not dominate the old label lowers it, and only the originating owner
/// may do that.
///
/// # Errors
///
/// [`PolicyRefusal::LoweringByNonOwner`].
pub fn check_relabel(
    author: &UserId,
    owner: &UserId,
    from: &Label,
    to: &Label,
) -> Result<(), PolicyRefusal> {
    if to.dominates(from) || author == owner {
        return Ok(());
    }
    Err(PolicyRefusal::LoweringByNonOwner {
        user: author.clone(),
        from: from.canonical(),
        to: to.canonical(),
    })
}

/// Rule 3 for clients: `TLP:RED` messages are never exported or forwarded.
///
/// # Errors
///
/// [`PolicyRefusal::RedNoExport`].
pub fn check_export(label: &Label) -> Result<(), PolicyRefusal> {
    if label.allows_export() {
        Ok(())
    } else {
        Err(PolicyRefusal::RedNoExport)
    }
}

/// Who may make `change`: the owner or an admin of the previous state. Only the owner names
/// admins and hands ownership over; removing the owner is an admin's takeover (allowed only
/// once the owner's certificate is no longer valid, which [`super::judge`] checks).
///
/// # Errors
///
/// [`PolicyRefusal::NotAuthorized`].
pub fn check_authority(
    author: &UserId,
    previous: &ChannelState,
    change: &Change,
) -> Result<(), PolicyRefusal> {
    let refuse = |action, who| {
        Err(PolicyRefusal::NotAuthorized {
            user: author.clone(),
            action,
            who,
        })
    };
    match change {
        Change::Create => refuse("create a channel that exists", "nobody"),
        Change::SetAdmins if author != &previous.owner => refuse("name admins", "the owner"),
        Change::Transfer { .. } if author != &previous.owner => {
            refuse("hand ownership over", "the owner")
        }
        Change::Remove { users, .. }
            if users.contains(&previous.owner) && !previous.admins.contains(author) =>
        {
            refuse(
                "remove the owner",
                "an admin, once the owner's certificate is no longer valid,",
            )
        }
        _ if previous.may_change(author) => Ok(()),
        _ => refuse("change this channel", "the owner or an admin"),
    }
}

/// Rules 2 and 3 and `REL TO` for every member of `state`: clearance dominates the level,
/// `TLP:AMBER+STRICT` admits only the owner's organisation, and a `REL TO` caveat only
/// organisations of the countries it names (each organisation's country from `trust`). They
/// depend only on the label and what the certificates and roots say, so they hold for every
/// state whenever it is checked.
///
/// # Errors
///
/// The first [`PolicyRefusal`].
pub fn check_members(state: &ChannelState, trust: &TrustStore) -> Result<(), PolicyRefusal> {
    let owner = state
        .member(&state.owner)
        .ok_or_else(|| PolicyRefusal::NotAuthorized {
            user: state.owner.clone(),
            action: "own this channel",
            who: "a member",
        })?;
    for member in &state.members {
        check_clearance(member.body(), &state.label)?;
        check_owner_org(member.body(), owner.body(), &state.label)?;
        let country = trust.country(&member.body().org);
        check_releasable(member.body(), &state.label, country)?;
    }
    Ok(())
}
