//! The stored time format of incidents: fixed-width ISO-8601 UTC text with seven
//! fractional digits (`2021-01-26T01:00:37.8404534Z`), which sorts in time order.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

const TS_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z");

/// Formats a time the way incidents store and emit it: UTC, `Z`, seven fractional digits.
pub fn format_incident_time(t: OffsetDateTime) -> String {
    let utc = t.to_offset(UtcOffset::UTC);
    // Clamp to the four-digit years the fixed-width format (and its sort order) supports.
    let utc = if utc.year() < 1 {
        OffsetDateTime::UNIX_EPOCH
            .replace_year(1)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    } else if utc.year() > 9999 {
        OffsetDateTime::UNIX_EPOCH
            .replace_year(9999)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    } else {
        utc
    };
    utc.format(TS_FORMAT)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.0000000Z".to_string())
}

/// Parses a time in the fixed stored format of [`format_incident_time`].
pub fn parse_incident_time(s: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(s, TS_FORMAT)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}
