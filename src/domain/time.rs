//! Instants on the wire: RFC 3339 UTC strings.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

/// An instant, written as RFC 3339 in UTC (`2026-11-22T18:50:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2026-11-22T18:50:00Z")]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The current instant.
    pub fn now() -> Self {
        Timestamp(OffsetDateTime::now_utc())
    }

    /// Parses RFC 3339 (any offset; kept as UTC).
    pub fn parse(text: &str) -> Result<Self, String> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(|t| Timestamp(t.to_offset(time::UtcOffset::UTC)))
            .map_err(|e| format!("`{text}` is not an RFC 3339 time: {e}"))
    }

    /// This instant plus a number of days.
    pub fn plus_days(self, days: i64) -> Self {
        self.plus_seconds(days.saturating_mul(86_400))
    }

    /// This instant plus a number of seconds.
    /// Saturates at the ends of the representable range (an imported instant near year 9999
    /// plus 60 days), never panics.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        match self.0.checked_add(time::Duration::seconds(seconds)) {
            Some(t) => Timestamp(t),
            None if seconds > 0 => Timestamp(time::PrimitiveDateTime::MAX.assume_utc()),
            None => Timestamp(time::PrimitiveDateTime::MIN.assume_utc()),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// How long after `earlier` this instant is; zero when it is not after it.
    pub fn since(self, earlier: Timestamp) -> std::time::Duration {
        std::time::Duration::try_from(self.0 - earlier.0).unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "{}", self.0.unix_timestamp()),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_utc() {
        let t = Timestamp::parse("2026-01-02T03:04:05+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-01-02T01:04:05Z");
        assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        assert!(Timestamp::parse("yesterday").is_err());
        assert_eq!(t.plus_days(60).to_string(), "2026-03-03T01:04:05Z");
    }
}

#[cfg(test)]
mod arithmetic_tests {
    use super::*;

    #[test]
    fn adding_past_the_representable_range_saturates() {
        let late = Timestamp::parse("9999-12-31T00:00:00Z").unwrap();
        assert!(late.plus_days(60) >= late);
        assert!(late.plus_days(i64::MAX) >= late);
        let early = Timestamp::parse("0001-01-01T00:00:00Z").unwrap();
        assert!(early.plus_days(-60) <= early);
        assert!(early.plus_seconds(i64::MIN) <= early);
    }
}
