//! The label rules, each a function, each tested. Applied by every member to every state, and
//! by the author before signing.

use super::error::{ChannelError, PolicyRefusal};
use super::state::{Change, ChannelState, MAX_MEMBERS};
use crate::cert::{CertificateBody, TrustStore};
use crate::ids::UserId;
use crate::label::{Label, Tlp};
use crate::time::UnixTime;

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

/// Who may make `change`: the owner or an admin of the previous state; only the owner names
/// admins.
///
/// # Errors
///
/// [`PolicyRefusal::NotAuthorized`].
pub fn check_authority(
    author: &UserId,
    previous: &ChannelState,
    change: &Change,
) -> Result<(), PolicyRefusal> {
    if matches!(change, Change::SetAdmins) {
        if author == &previous.owner {
            return Ok(());
        }
        return Err(PolicyRefusal::NotAuthorized {
            user: author.clone(),
            action: "name admins",
            who: "the owner",
        });
    }
    if previous.may_change(author) {
        return Ok(());
    }
    Err(PolicyRefusal::NotAuthorized {
        user: author.clone(),
        action: "change this channel",
        who: "the owner or an admin",
    })
}

/// Everything a single state must satisfy, whatever came before: structure, every member's
/// certificate as of `now` (trusted root, validity window, and revocations dated at or before
/// `now`: see [`TrustStore::verify_certificate_at`]), and rules 2 and 3 for every member.
/// Proposers pass the current time; members applying a state pass its timestamp.
///
/// # Errors
///
/// [`ChannelError`] naming the first rule broken.
pub fn check_state(
    state: &ChannelState,
    trust: &TrustStore,
    now: UnixTime,
) -> Result<(), ChannelError> {
    let users: Vec<&UserId> = state.members.iter().map(|m| &m.body().user).collect();
    if users.is_empty() || users.len() > MAX_MEMBERS {
        return Err(ChannelError::Malformed("a channel has 1 to 2000 members"));
    }
    if !users.windows(2).all(|w| matches!(w, [a, b] if a < b)) {
        return Err(ChannelError::Malformed(
            "members must be sorted by user id, each once",
        ));
    }
    let owner = state
        .member(&state.owner)
        .ok_or(ChannelError::Malformed("the owner is not a member"))?;
    if !state.is_member(&state.author) {
        return Err(ChannelError::Malformed("the author is not a member"));
    }
    let mut admins = state.admins.clone();
    admins.sort();
    admins.dedup();
    if admins.len() != state.admins.len() || !state.admins.iter().all(|a| state.is_member(a)) {
        return Err(ChannelError::Malformed("admins must be members, each once"));
    }
    for member in &state.members {
        trust.verify_certificate_at(member, now)?;
        check_clearance(member.body(), &state.label)?;
        check_owner_org(member.body(), owner.body(), &state.label)?;
    }
    Ok(())
}

/// Checks that `next` says what its change claims, relative to `previous`.
///
/// # Errors
///
/// [`ChannelError`]: a structural mismatch, or a refused relabel.
pub fn check_change(previous: &ChannelState, next: &ChannelState) -> Result<(), ChannelError> {
    let bad = |why| Err(ChannelError::Malformed(why));
    if next.name != previous.name || next.owner != previous.owner {
        return bad("name and owner never change");
    }
    let same_members = next.members == previous.members;
    let same_label = next.label == previous.label;
    let same_admins = next.admins == previous.admins;
    let next_epoch = previous.epoch.checked_add(1);
    match &next.change {
        Change::Create => bad("only the first state creates the channel"),
        Change::Invite { user } => {
            let mut expected = previous.members.clone();
            if previous.is_member(user) {
                return bad("invited user is already a member");
            }
            expected.extend(next.member(user).cloned());
            expected.sort_by(|a, b| a.body().user.cmp(&b.body().user));
            if next.members != expected
                || !same_label
                || !same_admins
                || next.epoch != previous.epoch
            {
                return bad("an invite adds exactly the invited member, in the same epoch");
            }
            Ok(())
        }
        Change::Remove { user, .. } => {
            let expected: Vec<_> = previous
                .members
                .iter()
                .filter(|m| &m.body().user != user)
                .cloned()
                .collect();
            if !previous.is_member(user) || user == &previous.owner {
                return bad("a removal removes an existing member other than the owner");
            }
            let admins: Vec<_> = previous
                .admins
                .iter()
                .filter(|a| *a != user)
                .cloned()
                .collect();
            if next.members != expected
                || !same_label
                || next.admins != admins
                || Some(next.epoch) != next_epoch
            {
                return bad("a removal removes exactly that member and starts a new epoch");
            }
            Ok(())
        }
        Change::Relabel => {
            if !same_members || !same_admins || same_label || Some(next.epoch) != next_epoch {
                return bad("a relabel changes only the label and starts a new epoch");
            }
            check_relabel(&next.author, &previous.owner, &previous.label, &next.label)?;
            Ok(())
        }
        Change::SetAdmins => {
            if !same_members || !same_label || next.epoch != previous.epoch {
                return bad("setting admins changes only the admins");
            }
            Ok(())
        }
        Change::Rekey { .. } => {
            if !same_members || !same_label || !same_admins || Some(next.epoch) != next_epoch {
                return bad("a rekey changes only the epoch");
            }
            Ok(())
        }
    }
}
