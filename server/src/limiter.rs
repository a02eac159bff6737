//! Token buckets per member: how the relay holds one identity to a rate (messages per second,
//! bundle fetches per hour, one-time prekeys handed out per hour) without touching anyone
//! else's.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use vigil_protocol::UserId;

/// A rate: at most `burst` at once, refilled at `per_second`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rate {
    burst: f64,
    per_second: f64,
}

impl Rate {
    /// `per_second` sustained, and the same as burst.
    pub(crate) fn per_second(per_second: u32) -> Self {
        Self {
            burst: f64::from(per_second),
            per_second: f64::from(per_second),
        }
    }

    /// A burst of `burst`, then `per_hour` sustained.
    pub(crate) fn per_hour(burst: u32, per_hour: u32) -> Self {
        Self {
            burst: f64::from(burst),
            per_second: f64::from(per_hour) / 3600.0,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One token bucket per member, all at the same rate. The map holds only members the relay
/// knows (requesters are logged in, targets are in the directory), and [`Self::prune`] drops
/// the buckets that are full again, which are the same as none.
#[derive(Debug)]
pub(crate) struct Limiter {
    rate: Rate,
    buckets: Mutex<HashMap<UserId, Bucket>>,
}

impl Limiter {
    pub(crate) fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token of `user`'s, if there is one now.
    pub(crate) fn allow(&self, user: &UserId) -> bool {
        self.allow_at(user, Instant::now())
    }

    fn allow_at(&self, user: &UserId, now: Instant) -> bool {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(user.clone()).or_insert(Bucket {
            tokens: self.rate.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate.per_second).min(self.rate.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets the buckets that have refilled to the burst: a member seen once does not keep
    /// an entry forever.
    pub(crate) fn prune(&self) {
        self.prune_at(Instant::now());
    }

    fn prune_at(&self, now: Instant) {
        let rate = self.rate;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets.retain(|_, bucket| {
            let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
            bucket.tokens + elapsed * rate.per_second < rate.burst
        });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_then_the_hourly_rate_per_member_and_full_buckets_are_forgotten() {
        let limiter = Limiter::new(Rate::per_hour(3, 60));
        let (mallory, alice): (UserId, UserId) = (
            "mallory@cert-at".parse().unwrap(),
            "alice@cert-at".parse().unwrap(),
        );
        let start = Instant::now();
        let allowed = (0..10)
            .filter(|_| limiter.allow_at(&mallory, start))
            .count();
        assert_eq!(allowed, 3, "the burst");
        assert!(
            limiter.allow_at(&alice, start),
            "another member is unaffected"
        );
        // 60 per hour: one more a minute.
        assert!(!limiter.allow_at(&mallory, start + Duration::from_secs(59)));
        assert!(limiter.allow_at(&mallory, start + Duration::from_secs(61)));
        assert!(!limiter.allow_at(&mallory, start + Duration::from_secs(62)));
        limiter.prune_at(start + Duration::from_secs(62));
        assert_eq!(
            limiter.len(),
            1,
            "alice refilled her one token; mallory did not"
        );
        limiter.prune_at(start + Duration::from_secs(3600));
        assert_eq!(limiter.len(), 0, "both are full again");
    }

    #[test]
    fn per_second_is_its_own_burst() {
        let limiter = Limiter::new(Rate::per_second(2));
        let user: UserId = "alice@cert-at".parse().unwrap();
        let start = Instant::now();
        assert_eq!((0..5).filter(|_| limiter.allow_at(&user, start)).count(), 2);
        assert!(limiter.allow_at(&user, start + Duration::from_millis(600)));
        limiter.prune_at(start + Duration::from_millis(700));
        assert_eq!(limiter.len(), 1, "not refilled yet");
        limiter.prune_at(start + Duration::from_secs(2));
        assert_eq!(limiter.len(), 0, "full again: forgotten");
    }
}
