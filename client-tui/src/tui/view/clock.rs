//! Times as a duty officer reads them: the hour and minute in the configured zone (local by
//! default, UTC on request) beside each message, and the full date on a line of its own where
//! the day changes.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use vigil_protocol::UnixTime;

/// Which clock the message pane shows.
#[derive(Clone, Debug)]
pub struct Clock {
    zone: TimeZone,
    utc: bool,
}

impl Clock {
    /// The system's local zone (`TZ`, else `/etc/localtime`; UTC when neither is readable).
    #[must_use]
    pub fn local() -> Self {
        Self {
            zone: TimeZone::try_system().unwrap_or(TimeZone::UTC),
            utc: false,
        }
    }

    /// Coordinated universal time.
    #[must_use]
    pub fn utc() -> Self {
        Self {
            zone: TimeZone::UTC,
            utc: true,
        }
    }

    fn zoned(&self, at: UnixTime) -> Option<jiff::ZonedDateTime> {
        let second = i64::try_from(at.0).ok()?;
        Some(
            Timestamp::from_second(second)
                .ok()?
                .to_zoned_datetime(self.zone.clone()),
        )
    }

    /// `HH:MM` of `at` (`--:--` for a time out of range).
    #[must_use]
    pub fn time(&self, at: UnixTime) -> String {
        self.zoned(at)
            .map_or_else(|| "--:--".to_owned(), |z| z.strftime("%H:%M").to_string())
    }

    /// The day `at` falls on in this zone.
    #[must_use]
    pub fn day(&self, at: UnixTime) -> Option<Date> {
        self.zoned(at).map(|z| z.date())
    }

    /// The time `text` names in this zone: `YYYY-MM-DD` (its first second) or
    /// `YYYY-MM-DD HH:MM`; `None` when it is neither.
    #[must_use]
    pub fn parse(&self, text: &str) -> Option<UnixTime> {
        let text = text.trim();
        let civil: jiff::civil::DateTime = if text.contains([' ', 'T']) {
            text.replacen(' ', "T", 1).parse().ok()?
        } else {
            text.parse::<Date>()
                .ok()?
                .to_datetime(jiff::civil::Time::midnight())
        };
        let second = civil
            .to_zoned_datetime(self.zone.clone())
            .ok()?
            .timestamp()
            .as_second();
        u64::try_from(second).ok().map(UnixTime)
    }

    /// The day-change line's text, e.g. `Sunday 29 November 2026 (CET)`.
    #[must_use]
    pub fn day_line(&self, at: UnixTime) -> String {
        self.zoned(at).map_or_else(String::new, |z| {
            let zone = if self.utc {
                "UTC".to_owned()
            } else {
                z.strftime("%Z").to_string()
            };
            format!("{} ({zone})", z.strftime("%A %-d %B %Y"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_and_day_lines() {
        let clock = Clock::utc();
        let at = UnixTime(1_795_872_104); // 2026-11-28T13:21:44Z
        assert_eq!(clock.time(at), "13:21");
        assert_eq!(clock.day_line(at), "Saturday 28 November 2026 (UTC)");
        assert_ne!(clock.day(at), clock.day(UnixTime(at.0 + 86_400)));
        assert_eq!(clock.time(UnixTime(u64::MAX)), "--:--");
        assert_eq!(clock.parse("2026-11-28"), Some(UnixTime(1_795_824_000)));
        assert_eq!(
            clock.parse("2026-11-28 13:21"),
            Some(UnixTime(1_795_872_060))
        );
        assert_eq!(clock.parse("yesterday"), None);
    }
}
