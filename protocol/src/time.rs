//! Time as the caller gives it to us: the protocol never reads a clock.

use bincode::{Decode, Encode};

/// Seconds since the Unix epoch (UTC), supplied by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// The time `secs` seconds later, saturating at the end of time.
    #[must_use]
    pub fn plus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// The time `days` days later, saturating at the end of time.
    #[must_use]
    pub fn plus_days(self, days: u64) -> Self {
        self.plus_secs(days.saturating_mul(86_400))
    }

    /// The UTC calendar date: (year, month 1-12, day 1-31).
    #[must_use]
    pub fn date(self) -> (u64, u64, u64) {
        civil_from_days(self.0 / 86_400)
    }

    /// Seconds elapsed since `earlier`, or zero when `earlier` is in the future.
    #[must_use]
    pub fn secs_since(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::fmt::Display for UnixTime {
    /// RFC 3339 in UTC, e.g. `2026-11-27T16:55:04Z`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rem = self.0 % 86_400;
        let (year, month, day) = self.date();
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

/// Gregorian date of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::UnixTime;

    #[test]
    fn displays_rfc3339_utc() {
        assert_eq!(UnixTime(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(UnixTime(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(UnixTime(1_795_798_504).to_string(), "2026-11-27T16:55:04Z");
    }
}
