//! The limits the relay holds each member to, beyond what `relay.toml` names one by one: the
//! fixed bounds on a request, the rate buckets built from the configured rates, and the
//! mailbox quota a send is stored against. Over any of them a member gets a clear refusal and
//! nobody else notices.

use vigil_protocol::UserId;
use vigil_protocol::relay::{ErrorCode, Response};

use crate::config::Limits;
use crate::handlers::refuse;
use crate::limiter::{Limiter, Rate};
use crate::store::Quota;

/// Most recipients one send may name (a national channel, with room).
pub const MAX_RECIPIENTS: usize = 2000;

/// Below this many one-time prekeys the owner is told to publish more.
pub const PREKEYS_LOW: usize = 10;

/// The rate buckets, one per member in each.
#[derive(Debug)]
pub(crate) struct Rates {
    /// Sends per identity: `messages_per_second` sustained, the same as burst.
    sends: Limiter,
    /// Bundle fetches per requester.
    bundle_fetches: Limiter,
    /// One-time prekeys handed out per target.
    one_time_handouts: Limiter,
    messages_per_second: u32,
}

impl Rates {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            sends: Limiter::new(Rate::per_second(limits.messages_per_second)),
            bundle_fetches: Limiter::new(Rate::per_hour(
                limits.bundle_fetch_burst,
                limits.bundle_fetches_per_hour,
            )),
            one_time_handouts: Limiter::new(Rate::per_hour(
                limits.one_time_prekeys_per_target_per_hour,
                limits.one_time_prekeys_per_target_per_hour,
            )),
            messages_per_second: limits.messages_per_second,
        }
    }

    /// Takes one of `sender`'s sends, or the refusal to answer when none is left.
    pub(crate) fn allow_send(&self, sender: &UserId) -> Result<(), Response> {
        if self.sends.allow(sender) {
            Ok(())
        } else {
            Err(refuse(
                ErrorCode::RateLimited,
                format!("more than {} messages per second", self.messages_per_second),
            ))
        }
    }

    /// Takes one of `requester`'s bundle fetches that may carry a one-time prekey.
    pub(crate) fn allow_bundle_fetch(&self, requester: &UserId) -> bool {
        self.bundle_fetches.allow(requester)
    }

    /// Takes one of the one-time prekeys of `target` that may be handed out now.
    pub(crate) fn allow_one_time_handout(&self, target: &UserId) -> bool {
        self.one_time_handouts.allow(target)
    }

    /// Forgets the buckets that are full again (housekeeping).
    pub(crate) fn prune(&self) {
        self.sends.prune();
        self.bundle_fetches.prune();
        self.one_time_handouts.prune();
    }
}

/// How many recipients a send may name: the refusal for an empty or oversized list.
pub(crate) fn check_recipient_count(recipients: &[UserId]) -> Result<(), Response> {
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(refuse(
            ErrorCode::Malformed,
            format!("a message names 1 to {MAX_RECIPIENTS} recipients"),
        ));
    }
    Ok(())
}

/// The most one-time prekeys one publish may carry: the refusal, before any signature is
/// checked, so the work a publish costs is bounded too.
pub(crate) fn check_one_time_prekey_count(count: usize) -> Result<(), Response> {
    let max = vigil_protocol::prekey::MAX_ONE_TIME_PREKEYS;
    if count > max {
        return Err(refuse(
            ErrorCode::QuotaExceeded,
            format!("at most {max} one-time prekeys per member"),
        ));
    }
    Ok(())
}

/// The quota each recipient's mailbox is held to.
pub(crate) fn mailbox_quota(limits: &Limits) -> Quota {
    Quota {
        messages: limits.mailbox_max_messages,
        bytes: limits.mailbox_max_bytes,
    }
}
