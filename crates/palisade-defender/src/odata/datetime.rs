//! OData DateTimeOffset literals: ISO-8601 with any number of fractional digits, `Z` or
//! `±hh:mm`, no zone = UTC, or a bare date.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A date-time without a zone (`…T10:00:00`), which may have lost a `+` to form decoding.
pub(super) fn looks_zoneless(text: &str) -> bool {
    match text.split_once(['T', 't']) {
        Some((_, time)) => !time.ends_with(['Z', 'z']) && !time.contains(['+', '-']),
        None => false,
    }
}

fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Parses an ISO-8601 date-time (see the module docs). Returns UTC.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let (date_part, rest) = match s.find(['T', 't']) {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let mut dp = date_part.split('-');
    let year = digits(dp.next()?, 4)?;
    let month = digits(dp.next()?, 2)?;
    let day = digits(dp.next()?, 2)?;
    if dp.next().is_some() {
        return None;
    }
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let Some(rest) = rest else {
        return Some(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc());
    };
    let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, UtcOffset::UTC)
    } else if let Some(p) = rest.find(['+', '-']) {
        let (c, o) = rest.split_at(p);
        let sign: i8 = if o.starts_with('-') { -1 } else { 1 };
        let (oh, om) = o[1..].split_once(':')?;
        let (oh, om) = (digits(oh, 2)?, digits(om, 2)?);
        let offset = UtcOffset::from_hms(
            sign * i8::try_from(oh).ok()?,
            sign * i8::try_from(om).ok()?,
            0,
        )
        .ok()?;
        (c, offset)
    } else {
        (rest, UtcOffset::UTC)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (clock, None),
    };
    let mut tp = hms.split(':');
    let hour = digits(tp.next()?, 2)?;
    let minute = digits(tp.next()?, 2)?;
    let second = match tp.next() {
        Some(s) => digits(s, 2)?,
        None => 0,
    };
    if tp.next().is_some() {
        return None;
    }
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let mut padded: String = f.chars().take(9).collect();
            while padded.len() < 9 {
                padded.push('0');
            }
            padded.parse::<u32>().ok()?
        }
        Some(_) => return None,
    };
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .to_offset(UtcOffset::UTC),
    )
}
