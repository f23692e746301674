//! The Kusto value model: scalar types, literals, and the one parser and formatter of
//! `datetime` and `timespan` text. The lexer (`datetime(...)` literals), the binder,
//! the engine's conversions (`todatetime()`, `totimespan()`, result rows) and the event
//! store's ingest all use these functions, so a value reads and prints the same everywhere.
//!
//! Times are `i64` nanoseconds: a `datetime` since the Unix epoch (UTC), a `timespan` as a
//! duration. Kusto's own resolution is the 100 ns tick; formatting prints ticks.

use std::fmt;

/// A KQL scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum KqlType {
    /// `bool` / `boolean`.
    Bool,
    /// `int` (32-bit).
    Int,
    /// `long` (64-bit).
    Long,
    /// `real` / `double`.
    Real,
    /// `decimal`.
    Decimal,
    /// `string`.
    String,
    /// `datetime` / `date`.
    DateTime,
    /// `timespan` / `time`.
    TimeSpan,
    /// `guid` / `uuid`.
    Guid,
    /// `dynamic`.
    Dynamic,
}

impl KqlType {
    /// Every type, in declaration order.
    pub const ALL: [KqlType; 10] = [
        KqlType::Bool,
        KqlType::Int,
        KqlType::Long,
        KqlType::Real,
        KqlType::Decimal,
        KqlType::String,
        KqlType::DateTime,
        KqlType::TimeSpan,
        KqlType::Guid,
        KqlType::Dynamic,
    ];

    /// Parses a KQL type name (`string`, `int`, `long`, `real`, `double`, `bool`, `boolean`,
    /// `datetime`, `date`, `timespan`, `time`, `dynamic`, `guid`, `uuid`, `uniqueid`, `decimal`).
    pub fn from_name(name: &str) -> Option<KqlType> {
        Some(match name {
            "bool" | "boolean" => KqlType::Bool,
            "int" => KqlType::Int,
            "long" => KqlType::Long,
            "real" | "double" => KqlType::Real,
            "decimal" => KqlType::Decimal,
            "string" => KqlType::String,
            "datetime" | "date" => KqlType::DateTime,
            "timespan" | "time" => KqlType::TimeSpan,
            "guid" | "uuid" | "uniqueid" => KqlType::Guid,
            "dynamic" => KqlType::Dynamic,
            _ => return None,
        })
    }

    /// The canonical KQL name.
    pub fn name(self) -> &'static str {
        match self {
            KqlType::Bool => "bool",
            KqlType::Int => "int",
            KqlType::Long => "long",
            KqlType::Real => "real",
            KqlType::Decimal => "decimal",
            KqlType::String => "string",
            KqlType::DateTime => "datetime",
            KqlType::TimeSpan => "timespan",
            KqlType::Guid => "guid",
            KqlType::Dynamic => "dynamic",
        }
    }

    /// The .NET type name Kusto reports for the type (`getschema`'s `DataType` is
    /// `System.<this>`; the hunting APIs' schemas use it as the column type).
    pub fn dotnet_name(self) -> &'static str {
        match self {
            KqlType::Bool => "Boolean",
            KqlType::Int => "Int32",
            KqlType::Long => "Int64",
            KqlType::Real => "Double",
            KqlType::Decimal => "Decimal",
            KqlType::String => "String",
            KqlType::DateTime => "DateTime",
            KqlType::TimeSpan => "TimeSpan",
            KqlType::Guid => "Guid",
            KqlType::Dynamic => "Object",
        }
    }

    /// Numeric types (`int`, `long`, `real`, `decimal`).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            KqlType::Int | KqlType::Long | KqlType::Real | KqlType::Decimal
        )
    }
}

impl fmt::Display for KqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A constant value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `true` / `false`.
    Bool(bool),
    /// An integer literal (typed `long` in KQL).
    Long(i64),
    /// An `int(5)` literal.
    Int(i32),
    /// A real number.
    Real(f64),
    /// A string.
    String(String),
    /// Nanoseconds since the Unix epoch.
    DateTime(i64),
    /// Nanoseconds.
    TimeSpan(i64),
    /// A GUID as written.
    Guid(String),
    /// A `dynamic(...)` value.
    Dynamic(serde_json::Value),
    /// A typed null such as `long(null)`.
    Null(KqlType),
}

impl Literal {
    /// The literal's KQL type.
    pub fn ty(&self) -> KqlType {
        match self {
            Literal::Bool(_) => KqlType::Bool,
            Literal::Long(_) => KqlType::Long,
            Literal::Int(_) => KqlType::Int,
            Literal::Real(_) => KqlType::Real,
            Literal::String(_) => KqlType::String,
            Literal::DateTime(_) => KqlType::DateTime,
            Literal::TimeSpan(_) => KqlType::TimeSpan,
            Literal::Guid(_) => KqlType::Guid,
            Literal::Dynamic(_) => KqlType::Dynamic,
            Literal::Null(t) => *t,
        }
    }

    /// The value as an integer, if it is one (`long`, `int`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Literal::Long(v) => Some(*v),
            Literal::Int(v) => Some(*v as i64),
            _ => None,
        }
    }

    /// The value as a real, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Literal::Long(v) => Some(*v as f64),
            Literal::Int(v) => Some(*v as f64),
            Literal::Real(v) => Some(*v),
            _ => None,
        }
    }
}

/// Nanoseconds per second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Nanoseconds per day.
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

/// Parses the datetime text Kusto accepts (in `datetime(...)` literals, `todatetime()` and
/// ingested rows) into nanoseconds since the Unix epoch:
/// - ISO 8601: `2014-05-25`, `2014-05-25T08:20`, `2014-05-25 08:20:03`,
///   `2014-05-25T08:20:03.1234567Z`, with an optional `Z` or `±hh[:mm]` offset (the date's
///   month and day may have one digit);
/// - RFC 822 / RFC 2822: `Sat, 8 Nov 2014 15:05:02 GMT`, `Sat, 08 Nov 2014 15:05:02 +0100`;
/// - `MM/dd/yyyy [HH:mm:ss[.f]]`, `MM/dd/yyyy hh:mm:ss AM` and `yyyy/MM/dd`.
///
/// Fractions are read exactly, to the nanosecond. A date or time out of range
/// (`2021-02-30`, `24:00`) is no datetime.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(ns) = parse_iso_datetime(s) {
        return Some(ns);
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc2822(s) {
        return dt.timestamp_nanos_opt();
    }
    let t = s.trim_end_matches('Z');
    for f in [
        "%m/%d/%Y %H:%M:%S%.f",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, f) {
            return dt.and_utc().timestamp_nanos_opt();
        }
    }
    for f in ["%m/%d/%Y", "%Y/%m/%d"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(t, f) {
            return d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt();
        }
    }
    None
}

/// `yyyy-M-d[(T| )HH:mm[:ss[.f]]][Z|±hh[:mm]]`.
fn parse_iso_datetime(s: &str) -> Option<i64> {
    let (date, rest) = match s
        .char_indices()
        .find(|(_, c)| *c == 'T' || c.is_whitespace())
    {
        Some((i, c)) => (&s[..i], s[i + c.len_utf8()..].trim_start()),
        None => (s, ""),
    };
    let mut dp = date.split('-');
    let (y, mo, d) = (dp.next()?, dp.next()?, dp.next()?);
    if dp.next().is_some()
        || y.len() != 4
        || !(1..=2).contains(&mo.len())
        || !(1..=2).contains(&d.len())
    {
        return None;
    }
    let date =
        chrono::NaiveDate::from_ymd_opt(digits(y)? as i32, digits(mo)? as u32, digits(d)? as u32)?;
    // Seconds first, nanoseconds at the end: the first day of the range (1677-09-21) starts
    // before i64 nanoseconds do, but its later instants are representable.
    let midnight_s = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
    let at = |since_midnight: i64| {
        i64::try_from(
            i128::from(midnight_s) * i128::from(NANOS_PER_SEC) + i128::from(since_midnight),
        )
        .ok()
    };
    if rest.is_empty() {
        return at(0);
    }
    let (time, offset_ns) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let off = &off[1..];
        let (h, m) = match off.split_once(':') {
            Some((h, m)) => (digits(h)?, digits(m)?),
            None if off.len() == 4 => (digits(&off[..2])?, digits(&off[2..])?),
            None => (digits(off)?, 0),
        };
        if h > 14 || m > 59 {
            return None;
        }
        (t, sign * (h * 3600 + m * 60) * NANOS_PER_SEC)
    } else {
        (rest, 0)
    };
    let clock = parse_clock(time.trim_end(), false)?;
    if clock >= NANOS_PER_DAY {
        return None;
    }
    at(clock - offset_ns)
}

/// `HH:mm[:ss[.f]]` as nanoseconds; hours above 23 only with `any_hours`.
fn parse_clock(s: &str, any_hours: bool) -> Option<i64> {
    let mut parts = s.split(':');
    let (h, m) = (parts.next()?, parts.next()?);
    let sec = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let (h, m) = (digits(h)?, digits(m)?);
    if (!any_hours && h > 23) || m > 59 {
        return None;
    }
    let (s, frac) = match sec {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = match sec.split_once('.') {
                Some((w, f)) => (w, fraction_ns(f)?),
                None => (sec, 0),
            };
            let whole = digits(whole)?;
            if whole > 59 {
                return None;
            }
            (whole, frac)
        }
    };
    h.checked_mul(3600)?
        .checked_add(m * 60 + s)?
        .checked_mul(NANOS_PER_SEC)?
        .checked_add(frac)
}

/// The digits of a decimal fraction (`1234567`) as nanoseconds; beyond 9 digits truncated.
fn fraction_ns(f: &str) -> Option<i64> {
    if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ns = 0i64;
    for (i, b) in f.bytes().take(9).enumerate() {
        ns += (b - b'0') as i64 * 10i64.pow(8 - i as u32);
    }
    Some(ns)
}

/// A non-empty run of ASCII digits.
fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Nanoseconds per timespan unit name (`d`, `h`, `m`, `s`, `ms`, `microsecond`, `tick`, and
/// their long forms).
pub fn timespan_unit(unit: &str) -> Option<i64> {
    Some(match unit {
        "d" | "day" | "days" => NANOS_PER_DAY,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600 * NANOS_PER_SEC,
        "m" | "min" | "minute" | "minutes" => 60 * NANOS_PER_SEC,
        "s" | "sec" | "second" | "seconds" => NANOS_PER_SEC,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "microsecond" | "microseconds" => 1_000,
        "tick" | "ticks" => 100,
        _ => return None,
    })
}

/// Parses timespan text into nanoseconds: `[-][d.]hh:mm[:ss[.f]]` (`1.10:00:00`,
/// `00:30:00.5`) or a number with a unit (`2d`, `1.5h`, `30m`, `10s`, `5ms`, `100tick`).
/// A bare number has no unit and is no timespan here (the `time(2)` literal means days; the
/// lexer says so).
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let ns = if s.contains(':') {
        let (days, clock) = match s.split_once('.') {
            Some((d, c)) if c.contains(':') => (digits(d)?, c),
            _ => (0, s),
        };
        days.checked_mul(NANOS_PER_DAY)?
            .checked_add(parse_clock(clock, false)?)?
    } else {
        let split = s.find(|c: char| c.is_ascii_alphabetic())?;
        let (num, unit) = s.split_at(split);
        let per = timespan_unit(unit)?;
        scaled(num, per)?
    };
    Some(if neg { -ns } else { ns })
}

/// `num` (decimal text) times `per` nanoseconds, exact for integers.
pub fn scaled(num: &str, per: i64) -> Option<i64> {
    if let Some(n) = digits(num) {
        return n.checked_mul(per);
    }
    let n: f64 = num.parse().ok().filter(|n: &f64| n.is_finite())?;
    let v = (n * per as f64).round();
    (v.abs() < 9.2e18).then_some(v as i64)
}

/// Formats nanoseconds since the epoch as Kusto does: `2020-08-30T06:38:35.7664356Z` (always
/// seven fractional digits: ticks). Out-of-range values print as the empty string.
pub fn format_datetime(ns: i64) -> String {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let frac = ns.rem_euclid(NANOS_PER_SEC);
    match chrono::DateTime::from_timestamp(secs, frac as u32) {
        Some(dt) => format!("{}.{:07}Z", dt.format("%Y-%m-%dT%H:%M:%S"), frac / 100),
        None => String::new(),
    }
}

/// Formats a timespan (nanoseconds) as .NET does: `[-][d.]hh:mm:ss[.fffffff]`.
pub fn format_timespan(ns: i64) -> String {
    use std::fmt::Write;
    let abs = ns.unsigned_abs();
    let ticks = abs / 100;
    let frac = ticks % 10_000_000;
    let total_secs = ticks / 10_000_000;
    let (d, h, m, s) = (
        total_secs / 86_400,
        (total_secs / 3600) % 24,
        (total_secs / 60) % 60,
        total_secs % 60,
    );
    let mut out = String::new();
    if ns < 0 {
        out.push('-');
    }
    if d > 0 {
        let _ = write!(out, "{d}.");
    }
    let _ = write!(out, "{h:02}:{m:02}:{s:02}");
    if frac > 0 {
        let _ = write!(out, ".{frac:07}");
    }
    out
}

/// `yyyy-mm-dd` of a datetime (UTC); `0000-00-00` when out of range.
pub fn day_of(ns: i64) -> String {
    match chrono::DateTime::from_timestamp(ns.div_euclid(NANOS_PER_SEC), 0) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => "0000-00-00".into(),
    }
}

/// Kusto's `tolong()` of text: an integer, or a finite real truncated toward zero.
pub fn parse_long(s: &str) -> Option<i64> {
    let t = s.trim();
    t.parse::<i64>().ok().or_else(|| {
        t.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| f as i64)
    })
}

/// Kusto's `toreal()` of text.
pub fn parse_real(s: &str) -> Option<f64> {
    s.trim().parse().ok()
}

/// Kusto's `tobool()` of text: `true`/`false` in any case, `1`/`0`.
pub fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") || t == "1" {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") || t == "0" {
        Some(false)
    } else {
        None
    }
}

/// True when `s` is a GUID written `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn is_guid(s: &str) -> bool {
    let mut parts = s.split('-');
    [8, 4, 4, 4, 12].iter().all(|n| {
        parts
            .next()
            .is_some_and(|p| p.len() == *n && p.bytes().all(|b| b.is_ascii_hexdigit()))
    }) && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `fuzz_kql_values` at scale 400: the last instant of 1677-09-21 printed but
    /// did not parse back, because that day's midnight is before i64 nanoseconds begin.
    #[test]
    fn the_first_representable_day_round_trips() {
        let ts = -9_223_286_400_000_000_100;
        assert_eq!(format_datetime(ts), "1677-09-21T23:59:59.9999999Z");
        assert_eq!(parse_datetime(&format_datetime(ts)), Some(ts));
        assert_eq!(
            parse_datetime("1677-09-21T00:00:00Z"),
            None,
            "before i64::MIN ns"
        );
        assert_eq!(parse_datetime("1677-09-21"), None);
        assert_eq!(
            parse_datetime("2262-04-11T23:47:16.854775807Z"),
            Some(i64::MAX)
        );
        assert_eq!(parse_datetime("2262-04-12T00:00:00Z"), None);
    }

    fn ns(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        chrono::NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_opt(h, mi, s))
            .unwrap()
            .and_utc()
            .timestamp_nanos_opt()
            .unwrap()
    }

    #[test]
    fn datetimes_of_every_documented_form() {
        let base = ns(2014, 5, 25, 8, 20, 3);
        for (text, want) in [
            ("2014-05-25", ns(2014, 5, 25, 0, 0, 0)),
            ("2014-5-25", ns(2014, 5, 25, 0, 0, 0)),
            ("2014-05-25T08:20", ns(2014, 5, 25, 8, 20, 0)),
            ("2014-05-25 08:20", ns(2014, 5, 25, 8, 20, 0)),
            ("2014-05-25 08:20:03", base),
            ("2014-05-25T08:20:03Z", base),
            ("2014-05-25T08:20:03.1234567Z", base + 123_456_700),
            ("2014-05-25T08:20:03.123456789", base + 123_456_789),
            ("2014-05-25T10:20:03+02:00", base),
            ("2014-05-25T07:20:03-0100", base),
            ("  2014-05-25T08:20:03Z ", base),
            ("Sun, 25 May 2014 08:20:03 GMT", base),
            ("Sun, 25 May 2014 10:20:03 +0200", base),
            ("05/25/2014 08:20:03", base),
            ("05/25/2014 08:20:03 AM", base),
            ("05/25/2014", ns(2014, 5, 25, 0, 0, 0)),
            ("2014/05/25", ns(2014, 5, 25, 0, 0, 0)),
            // Any whitespace separates the date and the time (a narrow no-break space here).
            ("2014-05-25\u{202f}08:20:03", base),
        ] {
            assert_eq!(parse_datetime(text), Some(want), "{text}");
        }
        for bad in [
            "",
            "2021-02-30",
            "2021-13-01",
            "2021-01-01T24:00",
            "2021-01-01T10:60",
            "21-01-01",
            "2021-01-01T10:00:00.x",
            "yesterday",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn timespans_of_every_documented_form() {
        const S: i64 = NANOS_PER_SEC;
        for (text, want) in [
            ("1.10:00:00", NANOS_PER_DAY + 36_000 * S),
            ("00:30:00.5", 1_800 * S + 500_000_000),
            ("00:00:00.1234567", 123_456_700),
            ("-01:00", -3_600 * S),
            ("2d", 2 * NANOS_PER_DAY),
            ("1.5h", 5_400 * S),
            ("30m", 1_800 * S),
            ("10s", 10 * S),
            ("5ms", 5_000_000),
            ("3microseconds", 3_000),
            ("10tick", 1_000),
            ("-7d", -7 * NANOS_PER_DAY),
        ] {
            assert_eq!(parse_timespan(text), Some(want), "{text}");
        }
        for bad in ["", "2", "1x", "1:2:3:4", "00:61", "abc"] {
            assert_eq!(parse_timespan(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for text in [
            "2020-08-30T06:38:35.7664356Z",
            "1970-01-01T00:00:00.0000000Z",
            "1969-12-31T23:59:59.9999999Z",
        ] {
            assert_eq!(format_datetime(parse_datetime(text).unwrap()), text);
        }
        for (ns, text) in [
            (0, "00:00:00"),
            (90 * 60 * NANOS_PER_SEC, "01:30:00"),
            (NANOS_PER_DAY + 1_500_000_000, "1.00:00:01.5000000"),
            (-NANOS_PER_DAY, "-1.00:00:00"),
        ] {
            assert_eq!(format_timespan(ns), text);
            assert_eq!(parse_timespan(text), Some(ns), "{text}");
        }
    }

    #[test]
    fn text_conversions() {
        assert_eq!(parse_long(" 42 "), Some(42));
        assert_eq!(parse_long("4.9"), Some(4));
        assert_eq!(parse_long("x"), None);
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
        assert!(is_guid("74be27de-1e4e-49d9-b579-fe0b331d3642"));
        assert!(!is_guid("74be27de-1e4e-49d9-b579-fe0b331d364"));
        assert_eq!(day_of(0), "1970-01-01");
    }
}
