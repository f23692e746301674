//! Datetime and timespan functions.

use super::*;
use palisade_kql::functions::DateTimeFn as F;

fn dt(ns: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    )
}

fn to_ns(d: chrono::DateTime<chrono::Utc>) -> Out {
    d.timestamp_nanos_opt().map_or(Out::Null, Out::Ts)
}

fn naive_ns(d: chrono::NaiveDateTime) -> Out {
    to_ns(d.and_utc())
}

fn add_months(ns: i64, months: i64) -> Option<i64> {
    let d = dt(ns)?;
    let total = d.year() as i64 * 12 + d.month0() as i64 + months;
    let (y, m0) = (total.div_euclid(12) as i32, total.rem_euclid(12) as u32);
    let mut day = d.day();
    loop {
        if let Some(nd) = chrono::NaiveDate::from_ymd_opt(y, m0 + 1, day) {
            return nd.and_time(d.time()).and_utc().timestamp_nanos_opt();
        }
        day -= 1;
        if day == 0 {
            return None;
        }
    }
}

fn start_of(unit: &str, ns: i64, offset: i64) -> Option<i64> {
    let d = dt(ns)?.date_naive();
    let base = match unit {
        "day" => d,
        "week" => d - chrono::Duration::days(d.weekday().num_days_from_sunday() as i64),
        "month" => d.with_day(1)?,
        "year" => chrono::NaiveDate::from_ymd_opt(d.year(), 1, 1)?,
        _ => return None,
    };
    let start = base.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt()?;
    match unit {
        "day" => Some(start + offset * NS_DAY),
        "week" => Some(start + offset * 7 * NS_DAY),
        "month" => add_months(start, offset),
        _ => add_months(start, offset * 12),
    }
}

fn end_of(unit: &str, ns: i64, offset: i64) -> Option<i64> {
    let next = start_of(unit, ns, offset + 1)?;
    Some(next - 100)
}

fn part_ns(part: &str) -> Option<i64> {
    Some(match part.to_lowercase().as_str() {
        "day" | "days" => NS_DAY,
        "hour" | "hours" => 3_600_000_000_000,
        "minute" | "minutes" => 60_000_000_000,
        "second" | "seconds" => 1_000_000_000,
        "millisecond" | "milliseconds" => 1_000_000,
        "microsecond" | "microseconds" => 1_000,
        "nanosecond" | "nanoseconds" => 1,
        "week" | "weeks" => 7 * NS_DAY,
        _ => return None,
    })
}

/// .NET-style datetime format string → chrono format string.
fn dotnet_format(fmt: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let piece = match (c, n) {
            ('y', 4) => "%Y".to_string(),
            ('y', 2) => "%y".to_string(),
            ('M', 2) => "%m".to_string(),
            ('M', 1) => "%-m".to_string(),
            ('d', 2) => "%d".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('H', 2) => "%H".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('h', 2) => "%I".to_string(),
            ('h', 1) => "%-I".to_string(),
            ('m', 2) => "%M".to_string(),
            ('m', 1) => "%-M".to_string(),
            ('s', 2) => "%S".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('t', 2) => "%p".to_string(),
            ('f' | 'F', k) => format!("%{}f", k.min(9)).replace("%3f", "%3f"),
            (other, k) => {
                let s: String = std::iter::repeat_n(other, k).collect();
                s.replace('%', "%%")
            }
        };
        // chrono's fractional seconds are %3f/%6f/%9f; map other widths to the closest.
        let piece = match piece.as_str() {
            "%1f" | "%2f" | "%3f" => "%3f".to_string(),
            "%4f" | "%5f" | "%6f" => "%6f".to_string(),
            "%7f" | "%8f" | "%9f" => "%9f".to_string(),
            _ => piece,
        };
        out.push_str(&piece);
        i += n;
    }
    out
}

/// Plans `f` applied to `c`.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let (n, ty, now) = (c.n, c.ty, p.now);
    Ok(match f {
        // The store's hidden per-row ingestion time (see `Planner::ingestion_time`).
        F::IngestionTime => p.ingestion_time()?,
        F::Ago => match const_eval(&c.args[0], now) {
            Some(Literal::TimeSpan(v)) => ts_lit(now - v),
            _ => cast(
                lit(now) - c.arg_as(p, 0, KqlType::TimeSpan)?,
                arrow_type(KqlType::DateTime),
            ),
        },
        F::Now => match c.args.first() {
            None => ts_lit(now),
            Some(_) => cast(
                lit(now) + c.arg_as(p, 0, KqlType::TimeSpan)?,
                arrow_type(KqlType::DateTime),
            ),
        },
        F::FormatDatetime => c
            .row(
                "format_datetime",
                KqlType::String,
                Box::new(|a| {
                    let (Some(ns), fmt) = (a[0].i64(), a[1].text()) else {
                        return Out::Str(String::new());
                    };
                    match dt(ns) {
                        Some(d) => Out::Str(d.format(&dotnet_format(fmt)).to_string()),
                        None => Out::Str(String::new()),
                    }
                }),
            )
            .call(vec![c.arg(0)?, c.arg_as(p, 1, KqlType::String)?]),
        F::FormatTimespan => c
            .row(
                "format_timespan",
                KqlType::String,
                Box::new(|a| {
                    a[0].i64()
                        .map_or(Out::Str(String::new()), |v| Out::Str(format_timespan(v)))
                }),
            )
            .call(vec![
                c.arg_as(p, 0, KqlType::TimeSpan)?,
                c.arg_as(p, 1, KqlType::String)?,
            ]),
        F::DatetimeDiff => c
            .row(
                "datetime_diff",
                KqlType::Long,
                Box::new(|a| {
                    let (part, Some(x), Some(y)) =
                        (a[0].text().to_lowercase(), a[1].i64(), a[2].i64())
                    else {
                        return Out::Null;
                    };
                    let (Some(dx), Some(dy)) = (dt(x), dt(y)) else {
                        return Out::Null;
                    };
                    Out::I64(match part.as_str() {
                        "year" => (dx.year() - dy.year()) as i64,
                        "quarter" => {
                            ((dx.year() * 12 + dx.month0() as i32) / 3
                                - (dy.year() * 12 + dy.month0() as i32) / 3)
                                as i64
                        }
                        "month" => {
                            ((dx.year() * 12 + dx.month0() as i32)
                                - (dy.year() * 12 + dy.month0() as i32))
                                as i64
                        }
                        "week" => {
                            let sx = start_of("week", x, 0).unwrap_or(x);
                            let sy = start_of("week", y, 0).unwrap_or(y);
                            (sx - sy) / (7 * NS_DAY)
                        }
                        "day" => x.div_euclid(NS_DAY) - y.div_euclid(NS_DAY),
                        other => match part_ns(other) {
                            Some(u) => x.div_euclid(u) - y.div_euclid(u),
                            None => return Out::Null,
                        },
                    })
                }),
            )
            .call(vec![
                c.arg_as(p, 0, KqlType::String)?,
                c.arg_as(p, 1, KqlType::DateTime)?,
                c.arg_as(p, 2, KqlType::DateTime)?,
            ]),
        F::DatetimeAdd => c
            .row(
                "datetime_add",
                KqlType::DateTime,
                Box::new(|a| {
                    let (part, Some(k), Some(x)) =
                        (a[0].text().to_lowercase(), a[1].i64(), a[2].i64())
                    else {
                        return Out::Null;
                    };
                    match part.as_str() {
                        "year" => add_months(x, k * 12).map_or(Out::Null, Out::Ts),
                        "quarter" => add_months(x, k * 3).map_or(Out::Null, Out::Ts),
                        "month" => add_months(x, k).map_or(Out::Null, Out::Ts),
                        other => part_ns(other).map_or(Out::Null, |u| Out::Ts(x + k * u)),
                    }
                }),
            )
            .call(vec![
                c.arg_as(p, 0, KqlType::String)?,
                c.arg_as(p, 1, KqlType::Long)?,
                c.arg_as(p, 2, KqlType::DateTime)?,
            ]),
        F::DatetimePart => c
            .row(
                "datetime_part",
                KqlType::Int,
                Box::new(|a| {
                    let (part, Some(x)) = (a[0].text().to_lowercase(), a[1].i64()) else {
                        return Out::Null;
                    };
                    let Some(d) = dt(x) else { return Out::Null };
                    Out::I64(match part.as_str() {
                        "year" => d.year() as i64,
                        "quarter" => (d.month0() / 3 + 1) as i64,
                        "month" => d.month() as i64,
                        "weekofyear" | "week_of_year" => d.iso_week().week() as i64,
                        "day" => d.day() as i64,
                        "dayofyear" => d.ordinal() as i64,
                        "hour" => d.hour() as i64,
                        "minute" => d.minute() as i64,
                        "second" => d.second() as i64,
                        "millisecond" => (d.nanosecond() / 1_000_000) as i64,
                        "microsecond" => (d.nanosecond() / 1_000) as i64,
                        "nanosecond" => d.nanosecond() as i64,
                        _ => return Out::Null,
                    })
                }),
            )
            .call(vec![
                c.arg_as(p, 0, KqlType::String)?,
                c.arg_as(p, 1, KqlType::DateTime)?,
            ]),
        F::StartOfDay
        | F::StartOfWeek
        | F::StartOfMonth
        | F::StartOfYear
        | F::EndOfDay
        | F::EndOfWeek
        | F::EndOfMonth
        | F::EndOfYear => {
            let unit = c
                .name
                .trim_start_matches("startof")
                .trim_start_matches("endof")
                .to_string();
            let end = c.name.starts_with("end");
            let mut v = vec![c.arg_as(p, 0, KqlType::DateTime)?];
            if n > 1 {
                v.push(c.arg_as(p, 1, KqlType::Long)?);
            }
            c.row(
                c.name,
                KqlType::DateTime,
                Box::new(move |a| {
                    let (Some(x), off) = (a[0].i64(), a.get(1).and_then(|o| o.i64()).unwrap_or(0))
                    else {
                        return Out::Null;
                    };
                    let r = if end {
                        end_of(&unit, x, off)
                    } else {
                        start_of(&unit, x, off)
                    };
                    r.map_or(Out::Null, Out::Ts)
                }),
            )
            .call(v)
        }
        F::DayOfWeek
        | F::DayOfMonth
        | F::DayOfYear
        | F::HourOfDay
        | F::GetMonth
        | F::GetYear
        | F::WeekOfYear => {
            let which = c.name.to_string();
            c.row(
                c.name,
                ty,
                Box::new(move |a| {
                    let Some(d) = a[0].i64().and_then(dt) else {
                        return Out::Null;
                    };
                    Out::I64(match which.as_str() {
                        "dayofweek" => d.weekday().num_days_from_sunday() as i64 * NS_DAY,
                        "dayofmonth" => d.day() as i64,
                        "dayofyear" => d.ordinal() as i64,
                        "hourofday" => d.hour() as i64,
                        "getmonth" => d.month() as i64,
                        "getyear" => d.year() as i64,
                        _ => d.iso_week().week() as i64,
                    })
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::DateTime)?])
        }
        F::MakeDatetime => c
            .row(
                "make_datetime",
                KqlType::DateTime,
                Box::new(|a| {
                    let g = |i: usize, d: i64| a.get(i).and_then(|v| v.i64()).unwrap_or(d);
                    let secs = a.get(5).and_then(|v| v.f64()).unwrap_or(0.0);
                    let Some(date) = chrono::NaiveDate::from_ymd_opt(
                        g(0, 1970) as i32,
                        g(1, 1) as u32,
                        g(2, 1) as u32,
                    ) else {
                        return Out::Null;
                    };
                    let Some(t) = date.and_hms_opt(g(3, 0) as u32, g(4, 0) as u32, 0) else {
                        return Out::Null;
                    };
                    match naive_ns(t) {
                        Out::Ts(v) => Out::Ts(v + (secs * 1e9) as i64),
                        o => o,
                    }
                }),
            )
            .call(c.all_as(p, KqlType::Real)?),
        F::MakeTimespan => c
            .row(
                "make_timespan",
                KqlType::TimeSpan,
                Box::new(|a| {
                    let v: Vec<f64> = a.iter().map(|x| x.f64().unwrap_or(0.0)).collect();
                    let (d, h, m, s) = match v.len() {
                        2 => (0.0, v[0], v[1], 0.0),
                        3 => (0.0, v[0], v[1], v[2]),
                        _ => (v[0], v[1], v[2], v[3]),
                    };
                    Out::I64((((d * 24.0 + h) * 60.0 + m) * 60.0 + s) as i64 * 1_000_000_000)
                }),
            )
            .call(c.all_as(p, KqlType::Real)?),
        F::UnixtimeSecondsToDatetime
        | F::UnixtimeMillisecondsToDatetime
        | F::UnixtimeMicrosecondsToDatetime
        | F::UnixtimeNanosecondsToDatetime => {
            let mult = match f {
                F::UnixtimeMillisecondsToDatetime => 1e6,
                F::UnixtimeMicrosecondsToDatetime => 1e3,
                F::UnixtimeNanosecondsToDatetime => 1.0,
                _ => 1e9,
            };
            c.row(
                c.name,
                KqlType::DateTime,
                Box::new(move |a| a[0].f64().map_or(Out::Null, |v| Out::Ts((v * mult) as i64))),
            )
            .call(vec![c.arg_as(p, 0, KqlType::Real)?])
        }
    })
}
