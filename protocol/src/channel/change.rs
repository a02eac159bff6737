//! The shape of a state and of a change: what a state must look like whatever came before, and
//! that the next state says exactly what its change claims. Pure structure; who may sign and
//! which certificates are valid are decided elsewhere ([`super::rules`], [`super::judge`]).

use super::error::ChannelError;
use super::state::{Change, ChannelState, MAX_MEMBERS};
use crate::cert::MemberCertificate;
use crate::ids::UserId;

fn bad<T>(why: &'static str) -> Result<T, ChannelError> {
    Err(ChannelError::Malformed(why))
}

/// Whether `users` is sorted and each appears once.
fn strictly_sorted<'a>(users: impl Iterator<Item = &'a UserId>) -> bool {
    let users: Vec<&UserId> = users.collect();
    users.windows(2).all(|w| matches!(w, [a, b] if a < b))
}

/// What every state satisfies on its own: 1 to [`MAX_MEMBERS`] members sorted by user id, each
/// once; the owner, the author and every admin are members; admins are listed once.
///
/// # Errors
///
/// [`ChannelError::Malformed`] naming the broken rule.
pub fn check_structure(state: &ChannelState) -> Result<(), ChannelError> {
    if state.members.is_empty() || state.members.len() > MAX_MEMBERS {
        return bad("a channel has 1 to 2000 members");
    }
    if !strictly_sorted(state.members.iter().map(|m| &m.body().user)) {
        return bad("members must be sorted by user id, each once");
    }
    if !state.is_member(&state.owner) {
        return bad("the owner is not a member");
    }
    if !state.is_member(&state.author) {
        return bad("the author is not a member");
    }
    let mut admins = state.admins.clone();
    admins.sort();
    admins.dedup();
    if admins.len() != state.admins.len() || !state.admins.iter().all(|a| state.is_member(a)) {
        return bad("admins must be members, each once");
    }
    Ok(())
}

/// The members of `state` without `users`.
fn without(members: &[MemberCertificate], users: &[UserId]) -> Vec<MemberCertificate> {
    members
        .iter()
        .filter(|m| !users.contains(&m.body().user))
        .cloned()
        .collect()
}

/// Checks that `next` says exactly what its change claims, relative to `previous`: the name
/// never changes, the owner only by a transfer or a takeover, and each change touches only
/// what it names (an invite adds exactly the invitee, a removal removes exactly the listed
/// members, ...).
///
/// # Errors
///
/// [`ChannelError::Malformed`], or a [`super::PolicyRefusal`] for a relabel that lowers the
/// label without the owner.
pub fn check_change(previous: &ChannelState, next: &ChannelState) -> Result<(), ChannelError> {
    if next.name != previous.name {
        return bad("the name never changes");
    }
    let same_epoch = next.epoch == previous.epoch;
    let next_epoch = previous.epoch.checked_add(1) == Some(next.epoch);
    let same_owner = next.owner == previous.owner;
    let same_label = next.label == previous.label;
    let same_admins = next.admins == previous.admins;
    let same_members = next.members == previous.members;
    match &next.change {
        Change::Create => bad("only the first state creates the channel"),
        Change::Invite { user } => {
            let Some(invited) = next.member(user) else {
                return bad("an invite's state must list the invited member");
            };
            if previous.is_member(user) {
                return bad("the invited user is already a member");
            }
            let mut expected = previous.members.clone();
            expected.push(invited.clone());
            expected.sort_by(|a, b| a.body().user.cmp(&b.body().user));
            if next.members != expected || !same_label || !same_admins || !same_owner {
                return bad("an invite adds exactly the invited member and changes nothing else");
            }
            if !same_epoch {
                return bad("an invite keeps the epoch");
            }
            Ok(())
        }
        Change::Remove { users, .. } => check_removal(previous, next, users, next_epoch),
        Change::Relabel => {
            if !same_members || !same_admins || !same_owner || same_label || !next_epoch {
                return bad("a relabel changes only the label and starts a new epoch");
            }
            super::rules::check_relabel(
                &next.author,
                &previous.owner,
                &previous.label,
                &next.label,
            )?;
            Ok(())
        }
        Change::SetAdmins => {
            if !same_members || !same_label || !same_owner || !same_epoch {
                return bad("setting admins changes only the admins");
            }
            Ok(())
        }
        Change::Rekey { .. } => {
            if !same_members || !same_label || !same_admins || !same_owner || !next_epoch {
                return bad("a rekey changes only the epoch");
            }
            Ok(())
        }
        Change::Transfer { to } => {
            let admins: Vec<UserId> = previous
                .admins
                .iter()
                .filter(|a| *a != to)
                .cloned()
                .collect();
            if !previous.is_member(to) || to == &previous.owner || &next.owner != to {
                return bad("a transfer hands ownership to another member");
            }
            if !same_members || !same_label || !same_epoch || next.admins != admins {
                return bad("a transfer changes only the owner (who leaves the admins)");
            }
            Ok(())
        }
        Change::Renew { user } => check_renewal(previous, next, user),
    }
}

/// A removal: a non-empty sorted list of members, exactly those gone, a new epoch; removing the
/// owner makes the author (an admin) the owner.
fn check_removal(
    previous: &ChannelState,
    next: &ChannelState,
    users: &[UserId],
    next_epoch: bool,
) -> Result<(), ChannelError> {
    if users.is_empty() || !strictly_sorted(users.iter()) {
        return bad("a removal lists members, sorted, each once");
    }
    if !users.iter().all(|u| previous.is_member(u)) {
        return bad("a removal removes existing members only");
    }
    let takeover = users.contains(&previous.owner);
    let mut gone_admins = users.to_vec();
    if takeover {
        if next.owner != next.author || users.contains(&next.author) {
            return bad("removing the owner makes the author, who stays, the owner");
        }
        gone_admins.push(next.author.clone());
    } else if next.owner != previous.owner {
        return bad("a removal changes the owner only when it removes the owner");
    }
    let admins = previous
        .admins
        .iter()
        .filter(|a| !gone_admins.contains(a))
        .cloned()
        .collect::<Vec<_>>();
    if next.members != without(&previous.members, users)
        || next.label != previous.label
        || next.admins != admins
        || !next_epoch
    {
        return bad("a removal removes exactly the listed members and starts a new epoch");
    }
    Ok(())
}

/// A renewal: one member's certificate replaced by a later one (higher serial) of the same
/// member; a new epoch exactly when the identity key changed.
fn check_renewal(
    previous: &ChannelState,
    next: &ChannelState,
    user: &UserId,
) -> Result<(), ChannelError> {
    let (Some(old), Some(new)) = (previous.member(user), next.member(user)) else {
        return bad("a renewal replaces the certificate of an existing member");
    };
    if new.body().serial <= old.body().serial {
        return bad("a renewal replaces a certificate with a later one (a higher serial)");
    }
    let expected: Vec<MemberCertificate> = previous
        .members
        .iter()
        .map(|m| {
            if &m.body().user == user {
                new.clone()
            } else {
                m.clone()
            }
        })
        .collect();
    let key_changed = new.body().identity_key != old.body().identity_key;
    let epoch_ok = if key_changed {
        previous.epoch.checked_add(1) == Some(next.epoch)
    } else {
        next.epoch == previous.epoch
    };
    if next.members != expected
        || next.label != previous.label
        || next.admins != previous.admins
        || next.owner != previous.owner
    {
        return bad("a renewal replaces one certificate and changes nothing else");
    }
    if !epoch_ok {
        return bad("a renewal starts a new epoch exactly when the identity key changes");
    }
    Ok(())
}

/// The certificates `next` brings in that `previous` did not hold: the invitee's, a renewed
/// one, or every member's at creation. Their validity is what a change adds to the channel.
#[must_use]
pub fn added_certificates<'a>(
    previous: Option<&ChannelState>,
    next: &'a ChannelState,
) -> Vec<&'a MemberCertificate> {
    match previous {
        None => next.members.iter().collect(),
        Some(previous) => next
            .members
            .iter()
            .filter(|m| !holds(previous, m))
            .collect(),
    }
}

/// Whether `state` holds exactly `certificate`, found by its user (members are sorted by user
/// id, so this costs a binary search, not a scan: states of 2000 members are compared member by
/// member on every link). In a state that is not sorted it may answer `false` for a certificate
/// it holds, which only makes a caller check that certificate again.
#[must_use]
pub fn holds(state: &ChannelState, certificate: &MemberCertificate) -> bool {
    state
        .members
        .binary_search_by(|m| m.body().user.cmp(&certificate.body().user))
        .ok()
        .and_then(|i| state.members.get(i))
        == Some(certificate)
}
