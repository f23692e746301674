//! IPv4 address functions.

use super::*;
use palisade_kql::functions::NetworkFn as F;

fn parse_ipv4(s: &str) -> Option<(u32, u32)> {
    let (ip, bits) = match s.trim().split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok().filter(|b| *b <= 32)?),
        None => (s.trim(), 32),
    };
    let addr: std::net::Ipv4Addr = ip.parse().ok()?;
    Some((u32::from(addr), bits))
}

fn mask(bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    }
}

/// The valid IPv4 addresses that appear in `text` as whole tokens: runs of digits and dots
/// not touching a letter, digit, dot or other address character (Kusto's `has_ipv4` rule: the
/// address must be delimited by non-alphanumeric characters other than the dot).
fn ipv4_tokens(text: &str) -> Vec<&str> {
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '_';
    let mut out = Vec::new();
    let mut start = None;
    for (i, ch) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (start, is_part(ch)) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                let tok = &text[s..i];
                if tok.parse::<std::net::Ipv4Addr>().is_ok() {
                    out.push(tok);
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// The fewest CIDR blocks covering `lo..=hi` exactly, in address order.
fn cidr_list(lo: u32, hi: u32) -> Vec<String> {
    let (mut start, end) = (u64::from(lo), u64::from(hi));
    let mut out = Vec::new();
    while start <= end {
        // The largest block aligned at `start` that stays inside the range.
        let mut size = if start == 0 {
            1u64 << 32
        } else {
            start & start.wrapping_neg()
        };
        while start + size - 1 > end {
            size >>= 1;
        }
        let bits = 32 - size.trailing_zeros();
        out.push(format!("{}/{bits}", std::net::Ipv4Addr::from(start as u32)));
        start += size;
    }
    out
}

/// An IPv4 argument given as text (`a.b.c.d[/bits]`) or as its 32-bit number.
fn ipv4_val(v: Val) -> Option<(u32, u32)> {
    match v {
        Val::I64(x) => u32::try_from(x).ok().map(|ip| (ip, 32)),
        Val::Str(s) => parse_ipv4(s),
        _ => None,
    }
}

/// The argument as text, or kept as a number when it is one (see [`ipv4_val`]).
fn ip_arg(p: &Planner, c: &Call, i: usize) -> PResult<Expr> {
    match c.t(i) {
        KqlType::Int | KqlType::Long => c.arg_as(p, i, KqlType::Long),
        _ => c.arg_as(p, i, KqlType::String),
    }
}

/// The address masked to the smaller of its own prefix and the `prefix` argument (0 to 32;
/// out of range = invalid), with that prefix.
fn masked(a: &[Val]) -> Option<(u32, u32)> {
    let (ip, own) = ipv4_val(a[0])?;
    let bits = match a.get(1) {
        None => own,
        Some(b) => u32::try_from(b.i64()?).ok().filter(|b| *b <= 32)?.min(own),
    };
    Some((ip & mask(bits), bits))
}

/// The stats' note when a query calls `geo_info_from_ip_address` on a server without a
/// GeoIP database.
pub(crate) const NO_GEOIP_NOTE: &str =
    "geo_info_from_ip_address returned null: this server has no GeoIP \
     database (the operator starts it with `palisade serve --geoip FILE`, a MaxMind City database)";

/// Plans `f` applied to `c`.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let rest_long = |c: &Call, mut v: Vec<Expr>| -> PResult<Vec<Expr>> {
        for i in 1..c.n {
            v.push(c.arg_as(p, i, KqlType::Long)?);
        }
        Ok(v)
    };
    Ok(match f {
        F::ParseIpv4Mask => c
            .row(
                c.name,
                KqlType::Long,
                Box::new(|a| masked(a).map_or(Out::Null, |(ip, _)| Out::I64(ip as i64))),
            )
            .call(rest_long(c, vec![ip_arg(p, c, 0)?])?),
        // An invalid address formats as the empty string (the docs' examples).
        F::FormatIpv4 | F::FormatIpv4Mask => {
            let with_bits = f == F::FormatIpv4Mask;
            c.row(
                c.name,
                KqlType::String,
                Box::new(move |a| {
                    Out::Str(masked(a).map_or(String::new(), |(ip, bits)| {
                        let addr = std::net::Ipv4Addr::from(ip);
                        if with_bits {
                            format!("{addr}/{bits}")
                        } else {
                            addr.to_string()
                        }
                    }))
                }),
            )
            .call(rest_long(c, vec![ip_arg(p, c, 0)?])?)
        }
        F::Ipv4NetmaskSuffix => c
            .row(
                c.name,
                KqlType::Int,
                Box::new(|a| match parse_ipv4(a[0].text()) {
                    Some((_, bits)) => Out::I64(bits as i64),
                    None => Out::Null,
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::Ipv4IsInAnyRange => c.json_fn(
            p,
            Box::new(|v| {
                // The ranges are the further arguments, or one dynamic array of them; null
                // when the address or any range is invalid.
                let Some(ip) = v.first().map(json_to_string).and_then(|s| parse_ipv4(&s)) else {
                    return Json::Null;
                };
                let ranges: Vec<Json> = match &v[1..] {
                    [Json::Array(a)] => a.clone(),
                    rest => rest.to_vec(),
                };
                let mut any = false;
                for r in &ranges {
                    let Some((net, bits)) = parse_ipv4(&json_to_string(r)) else {
                        return Json::Null;
                    };
                    let b = bits.min(ip.1);
                    any |= ip.0 & mask(b) == net & mask(b);
                }
                Json::Bool(any)
            }),
        )?,
        F::ParseIpv6
        | F::ParseIpv6Mask
        | F::Ipv6Compare
        | F::Ipv6IsMatch
        | F::Ipv6IsInRange
        | F::Ipv6IsInAnyRange => super::ipv6::plan(p, f, c)?,
        F::HasIpv4 | F::HasIpv4Prefix | F::HasAnyIpv4 | F::HasAnyIpv4Prefix => {
            let prefix = matches!(f, F::HasIpv4Prefix | F::HasAnyIpv4Prefix);
            c.json_fn(
                p,
                Box::new(move |v| {
                    // The addresses to look for: the further arguments, or one array of them.
                    let text = v.first().map(json_to_string).unwrap_or_default();
                    let wanted: Vec<String> = match &v[1..] {
                        [Json::Array(a)] => a.iter().map(json_to_string).collect(),
                        rest => rest.iter().map(json_to_string).collect(),
                    };
                    let found = ipv4_tokens(&text);
                    Json::Bool(wanted.iter().any(|w| {
                        found.iter().any(|t| {
                            if prefix {
                                t.starts_with(w.as_str())
                                    && (w.ends_with('.') || t.len() == w.len())
                            } else {
                                t == w
                            }
                        })
                    }))
                }),
            )?
        }
        // From the operator's City database; without one every answer is null, and the
        // result's stats say why.
        F::GeoInfoFromIpAddress => match p.geoip.clone() {
            Some(db) => c
                .row(
                    c.name,
                    KqlType::Dynamic,
                    Box::new(move |a| dyn_out(db.lookup(a[0].text()))),
                )
                .call(vec![c.arg_as(p, 0, KqlType::String)?]),
            None => {
                p.note(NO_GEOIP_NOTE);
                lit(datafusion::common::ScalarValue::Utf8(None))
            }
        },
        F::Ipv4RangeToCidrList => c
            .row(
                c.name,
                KqlType::Dynamic,
                Box::new(
                    |a| match (parse_ipv4(a[0].text()), parse_ipv4(a[1].text())) {
                        (Some((lo, 32)), Some((hi, 32))) if lo <= hi => dyn_out(Json::Array(
                            cidr_list(lo, hi).into_iter().map(Json::String).collect(),
                        )),
                        _ => Out::Null,
                    },
                ),
            )
            .call(c.all_as(p, KqlType::String)?),
        F::ParseIpv4 => c
            .row(
                c.name,
                KqlType::Long,
                Box::new(|a| match parse_ipv4(a[0].text()) {
                    Some((ip, bits)) => Out::I64((ip & mask(bits)) as i64),
                    None => Out::Null,
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::Ipv4IsPrivate => c
            .row(
                c.name,
                KqlType::Bool,
                Box::new(|a| match parse_ipv4(a[0].text()) {
                    Some((ip, _)) => {
                        let a8 = ip >> 24;
                        let b8 = (ip >> 16) & 0xff;
                        Out::Bool(
                            a8 == 10
                                || (a8 == 172 && (16..32).contains(&b8))
                                || (a8 == 192 && b8 == 168),
                        )
                    }
                    None => Out::Null,
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::Ipv4IsInRange | F::Ipv4IsMatch => c
            .row(
                c.name,
                KqlType::Bool,
                Box::new(
                    |a| match (parse_ipv4(a[0].text()), parse_ipv4(a[1].text())) {
                        (Some((x, bx)), Some((y, by))) => {
                            let bits = a
                                .get(2)
                                .and_then(|v| v.i64())
                                .map_or(bx.min(by), |b| b.clamp(0, 32) as u32);
                            Out::Bool(x & mask(bits) == y & mask(bits))
                        }
                        _ => Out::Null,
                    },
                ),
            )
            .call(c.all_as(p, KqlType::String)?),
        F::Ipv4Compare => c
            .row(
                c.name,
                KqlType::Int,
                Box::new(
                    |a| match (parse_ipv4(a[0].text()), parse_ipv4(a[1].text())) {
                        (Some((x, bx)), Some((y, by))) => {
                            let bits = a
                                .get(2)
                                .and_then(|v| v.i64())
                                .map_or(bx.min(by), |b| b.clamp(0, 32) as u32);
                            Out::I64(((x & mask(bits)).cmp(&(y & mask(bits)))) as i64)
                        }
                        _ => Out::Null,
                    },
                ),
            )
            .call(c.all_as(p, KqlType::String)?),
    })
}

#[cfg(test)]
mod tests {
    use super::cidr_list;

    #[test]
    fn ranges_become_the_docs_cidr_lists() {
        let ip = |s: &str| u32::from(s.parse::<std::net::Ipv4Addr>().unwrap());
        assert_eq!(
            cidr_list(ip("127.0.0.0"), ip("127.0.0.255")),
            ["127.0.0.0/24"]
        );
        assert_eq!(
            cidr_list(ip("127.0.0.1"), ip("127.0.0.255")),
            [
                "127.0.0.1/32",
                "127.0.0.2/31",
                "127.0.0.4/30",
                "127.0.0.8/29",
                "127.0.0.16/28",
                "127.0.0.32/27",
                "127.0.0.64/26",
                "127.0.0.128/25"
            ]
        );
        assert_eq!(cidr_list(0, u32::MAX), ["0.0.0.0/0"]);
        assert_eq!(cidr_list(ip("1.2.3.4"), ip("1.2.3.4")), ["1.2.3.4/32"]);
    }
}
