//! Which certificates a state may rely on, and when: the time-dependent half of accepting a
//! state.
//!
//! A state is judged twice. As a **link** of the chain, as of its own timestamp: its author's
//! certificate and every certificate it adds must have been valid when it says it was signed,
//! and its timestamp must not run backwards or lie in the future. Then, at **receipt**, with the
//! revocation lists this member knows now: the author of the last state of what is applied in
//! one step, and every certificate added in that step that is still in the channel, must be
//! valid now, and that last state may not be older than [`MAX_STATE_AGE_SECS`]. A revoked key
//! therefore signs nothing a member applies after learning of the revocation; a state signed
//! before the revocation is applied only when a later state, by an author valid now who was the
//! owner or an admin in the state the member already relied on, builds on it (that author
//! vouches for it) and leaves nothing invalid behind. A joiner, who relied on no state before,
//! accepts a history whose last state is signed by an author valid now.

use super::change::{added_certificates, holds};
use super::error::ChannelError;
use super::state::{Change, ChannelState};
use crate::cert::TrustStore;
use crate::prekey::MAX_CLOCK_SKEW_SECS;
use crate::time::UnixTime;

/// How far in the past the newest state applied in one step may be dated. Duty laptops stay
/// closed over long weekends and holidays; a state older than this is more likely a withheld
/// or replayed one, and is held until a fresher change (any rekey by the owner) confirms it.
pub const MAX_STATE_AGE_SECS: u64 = 30 * 86_400;

/// Checks `next` as a link after `previous` (or as the creation) as of its own timestamp: not
/// before `previous`, not more than [`MAX_CLOCK_SKEW_SECS`] ahead of `now`, and the author's
/// certificate and every certificate the state adds valid at that timestamp.
///
/// # Errors
///
/// [`ChannelError::Malformed`] for a timestamp before the previous state's;
/// [`ChannelError::Unconfirmed`] (held, [`ChannelError::Early`]) for one too far ahead of
/// `now`; [`ChannelError::Certificate`].
pub(super) fn check_as_signed(
    previous: Option<&ChannelState>,
    next: &ChannelState,
    trust: &TrustStore,
    now: UnixTime,
) -> Result<(), ChannelError> {
    if previous.is_some_and(|p| next.timestamp < p.timestamp) {
        return Err(ChannelError::Malformed(
            "timestamp before the previous state",
        ));
    }
    let ahead = next.timestamp.secs_since(now);
    if ahead > MAX_CLOCK_SKEW_SECS {
        return Err(ChannelError::Unconfirmed {
            version: next.version,
            reason: Box::new(ChannelError::Early {
                version: next.version,
                secs_ahead: ahead,
                max_skew_secs: MAX_CLOCK_SKEW_SECS,
            }),
        });
    }
    let authority = previous.unwrap_or(next);
    let author = authority
        .member(&next.author)
        .ok_or_else(|| ChannelError::BadStateSignature {
            author: next.author.clone(),
        })?;
    trust.verify_certificate_at(author, next.timestamp)?;
    for added in added_certificates(previous, next) {
        trust.verify_certificate_at(added, next.timestamp)?;
    }
    Ok(())
}

/// Checks, at receipt (`now`, with the revocation lists known now), the states applied in one
/// step: `chain` follows `base` (`None` for a joiner, whose chain starts at the creation).
///
/// The last state is at most [`MAX_STATE_AGE_SECS`] old and its author is valid now; every
/// certificate added by a state of `chain` and still in the last state is valid now; and every
/// takeover in `chain` removed an owner whose certificate is not valid now.
///
/// # Errors
///
/// [`ChannelError::Unconfirmed`]: nothing is wrong with the states themselves, but this member
/// may not rely on them yet (a later state, or newer revocation lists, may settle it).
pub(super) fn check_at_receipt(
    base: Option<&ChannelState>,
    chain: &[&ChannelState],
    trust: &TrustStore,
    now: UnixTime,
) -> Result<(), ChannelError> {
    let hold = |version, reason| ChannelError::Unconfirmed {
        version,
        reason: Box::new(reason),
    };
    let Some(last) = chain.last() else {
        return Ok(());
    };
    if now.secs_since(last.timestamp) > MAX_STATE_AGE_SECS {
        return Err(hold(
            last.version,
            ChannelError::TooOld {
                version: last.version,
                max_days: MAX_STATE_AGE_SECS / 86_400,
            },
        ));
    }
    let mut previous = base;
    for next in chain {
        if let Some(p) = previous {
            check_takeover(p, next, trust, now).map_err(|e| hold(next.version, e))?;
        }
        for added in added_certificates(previous, next) {
            if holds(last, added) {
                trust
                    .verify_certificate(added, now)
                    .map_err(|e| hold(next.version, e.into()))?;
            }
        }
        previous = Some(next);
    }
    let authority = match chain.len() {
        1 => base.unwrap_or(last),
        n => chain.get(n - 2).copied().unwrap_or(last),
    };
    let author = authority
        .member(&last.author)
        .ok_or_else(|| ChannelError::BadStateSignature {
            author: last.author.clone(),
        })?;
    trust
        .verify_certificate(author, now)
        .map_err(|e| hold(last.version, e.into()))?;
    Ok(())
}

/// How many states of `chain` (each already checked as a link, in order after `base`) this
/// member may apply now: the longest prefix that passes [`check_at_receipt`], found in one
/// pass rather than by checking every prefix again (a member catching up on hundreds of
/// states of a channel of thousands would otherwise wait minutes).
///
/// # Errors
///
/// What [`check_at_receipt`] says of the first state alone, when no prefix passes.
pub(super) fn confirmed_prefix(
    base: &ChannelState,
    chain: &[&ChannelState],
    trust: &TrustStore,
    now: UnixTime,
) -> Result<usize, ChannelError> {
    let mut confirmed = 0;
    // Certificates added on the way that are not valid now: a prefix whose last state still
    // holds one of them is held.
    let mut invalid = Vec::new();
    // A state whose author is not valid now is vouched for only by a later author valid now
    // who was the owner or an admin in `base`, the state this member already relied on: not
    // by one whose authority the unconfirmed states themselves granted (a revoked owner's
    // backdated invite and nomination of an accomplice, whom the accomplice then "confirms").
    let mut unvouched = false;
    let mut previous = base;
    for (i, next) in chain.iter().enumerate() {
        // A takeover from an owner still valid holds every prefix that contains it.
        if check_takeover(previous, next, trust, now).is_err() {
            break;
        }
        invalid.extend(
            added_certificates(Some(previous), next)
                .into_iter()
                .filter(|c| trust.verify_certificate(c, now).is_err()),
        );
        let fresh = now.secs_since(next.timestamp) <= MAX_STATE_AGE_SECS;
        let kept_valid = !invalid.iter().any(|c| holds(next, c));
        let author_valid = previous
            .member(&next.author)
            .is_some_and(|c| trust.verify_certificate(c, now).is_ok());
        // The voucher is the owner or an admin of `base` with the very key `base` holds for
        // them: not another certificate of theirs that the unconfirmed states swapped in.
        let same_key =
            |state: &ChannelState| state.member(&next.author).map(|c| c.body().identity_key);
        let known_voucher = base.may_change(&next.author)
            && same_key(base).is_some()
            && same_key(base) == same_key(previous);
        if !author_valid {
            unvouched = true;
        } else if known_voucher {
            unvouched = false;
        }
        if fresh && kept_valid && author_valid && !unvouched {
            confirmed = i + 1;
        }
        previous = next;
    }
    if confirmed == 0 {
        check_at_receipt(Some(base), chain.get(..1).unwrap_or_default(), trust, now)?;
    }
    Ok(confirmed)
}

/// A removal of the owner (an admin's takeover) needs the owner's certificate to be no longer
/// valid now: an admin cannot depose an owner who can still act.
fn check_takeover(
    previous: &ChannelState,
    next: &ChannelState,
    trust: &TrustStore,
    now: UnixTime,
) -> Result<(), ChannelError> {
    let Change::Remove { users, .. } = &next.change else {
        return Ok(());
    };
    if !users.contains(&previous.owner) {
        return Ok(());
    }
    match previous.member(&previous.owner) {
        Some(owner) if trust.verify_certificate(owner, now).is_ok() => {
            Err(ChannelError::OwnerStillValid {
                owner: previous.owner.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// What the author of a new state checks before signing: the link as of `now`, the receipt
/// checks as of `now`, and every member of the new state valid now: a change is checked
/// against the members who remain, so revoked and expired members must be removed (any number
/// in one removal) before anything else changes.
///
/// # Errors
///
/// [`ChannelError`] naming the first rule broken (not wrapped in
/// [`ChannelError::Unconfirmed`]: the author is told what to fix).
pub(super) fn check_proposal(
    previous: Option<&ChannelState>,
    next: &ChannelState,
    trust: &TrustStore,
    now: UnixTime,
) -> Result<(), ChannelError> {
    check_as_signed(previous, next, trust, now)?;
    for member in &next.members {
        trust.verify_certificate(member, now)?;
    }
    check_at_receipt(previous, &[next], trust, now).map_err(ChannelError::unwrap_unconfirmed)
}
