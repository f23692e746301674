//! IPv6 address functions. An argument is an IPv6 or IPv4 address, optionally with a
//! `/prefix`; an IPv4 address is the IPv4-mapped IPv6 address `::ffff:a.b.c.d`, its prefix
//! counted within the IPv4 part (so `/24` covers 96 + 24 bits), as Kusto's docs describe.
//! Text results are the canonical form: eight groups of four lower-case hex digits.

use super::*;
use palisade_kql::functions::NetworkFn as F;

/// An address and its prefix length (0 to 128).
fn parse_ipv6(s: &str) -> Option<(u128, u32)> {
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p.trim().parse::<u32>().ok()?)),
        None => (s, None),
    };
    if let Ok(v4) = addr.parse::<std::net::Ipv4Addr>() {
        let bits = prefix.unwrap_or(32);
        if bits > 32 {
            return None;
        }
        return Some((u128::from(v4.to_ipv6_mapped()), 96 + bits));
    }
    let v6: std::net::Ipv6Addr = addr.parse().ok()?;
    let bits = prefix.unwrap_or(128);
    (bits <= 128).then_some((u128::from(v6), bits))
}

fn mask6(bits: u32) -> u128 {
    if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits.min(128))
    }
}

/// The canonical text of an address.
fn canonical(v: u128) -> String {
    (0..8)
        .map(|i| format!("{:04x}", (v >> (112 - 16 * i)) & 0xffff))
        .collect::<Vec<_>>()
        .join(":")
}

/// Compares `a` and `b` over the smaller of their prefixes and `prefix` (0 to 128).
fn compare(a: &str, b: &str, prefix: Option<i64>) -> Option<std::cmp::Ordering> {
    let (x, bx) = parse_ipv6(a)?;
    let (y, by) = parse_ipv6(b)?;
    let mut bits = bx.min(by);
    if let Some(p) = prefix {
        bits = bits.min(u32::try_from(p).ok().filter(|p| *p <= 128)?);
    }
    Some((x & mask6(bits)).cmp(&(y & mask6(bits))))
}

/// Plans `f` applied to `c`.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let strings_then_long = |c: &Call, strings: usize| -> PResult<Vec<Expr>> {
        (0..c.n)
            .map(|i| {
                let to = if i < strings {
                    KqlType::String
                } else {
                    KqlType::Long
                };
                c.arg_as(p, i, to)
            })
            .collect()
    };
    Ok(match f {
        // An invalid address gives the empty string (the docs' rule for parse_ipv6).
        F::ParseIpv6 | F::ParseIpv6Mask => c
            .row(
                c.name,
                KqlType::String,
                Box::new(|a| {
                    let text = a[0].text();
                    let Some((v, own)) = parse_ipv6(text) else {
                        return Out::Str(String::new());
                    };
                    let bits = match a.get(1).map(|b| b.i64()) {
                        None => own,
                        Some(None) => return Out::Str(String::new()),
                        Some(Some(b)) => {
                            let ipv4 = !text.contains(':');
                            let b = if ipv4 { b + 96 } else { b };
                            if !(0..=128).contains(&b) || (ipv4 && b < 96) {
                                return Out::Str(String::new());
                            }
                            own.min(b as u32)
                        }
                    };
                    Out::Str(canonical(v & mask6(bits)))
                }),
            )
            .call(strings_then_long(c, 1)?),
        F::Ipv6Compare | F::Ipv6IsMatch => {
            let is_match = f == F::Ipv6IsMatch;
            c.row(
                c.name,
                if is_match {
                    KqlType::Bool
                } else {
                    KqlType::Int
                },
                Box::new(move |a| {
                    let prefix = match a.get(2) {
                        Some(v) => match v.i64() {
                            Some(p) => Some(p),
                            None => return Out::Null,
                        },
                        None => None,
                    };
                    match compare(a[0].text(), a[1].text(), prefix) {
                        Some(o) if is_match => Out::Bool(o.is_eq()),
                        Some(o) => Out::I64(o as i64),
                        None => Out::Null,
                    }
                }),
            )
            .call(strings_then_long(c, 2)?)
        }
        F::Ipv6IsInRange => c
            .row(
                c.name,
                KqlType::Bool,
                Box::new(|a| match compare(a[0].text(), a[1].text(), None) {
                    Some(o) => Out::Bool(o.is_eq()),
                    None => Out::Null,
                }),
            )
            .call(c.all_as(p, KqlType::String)?),
        F::Ipv6IsInAnyRange => c.json_fn(
            p,
            Box::new(|v| {
                let ip = v.first().map(json_to_string).unwrap_or_default();
                let ranges: Vec<Json> = match &v[1..] {
                    [Json::Array(a)] => a.clone(),
                    rest => rest.to_vec(),
                };
                let mut any = false;
                for r in &ranges {
                    match compare(&ip, &json_to_string(r), None) {
                        Some(o) => any |= o.is_eq(),
                        None => return Json::Null,
                    }
                }
                Json::Bool(any)
            }),
        )?,
        other => {
            return Err(PlanError::Invalid(format!(
                "{other} is planned by the network module"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_mapped_and_its_prefix_counts_within_it() {
        assert_eq!(
            canonical(parse_ipv6("127.0.0.1").unwrap().0),
            "0000:0000:0000:0000:0000:ffff:7f00:0001"
        );
        assert_eq!(parse_ipv6("10.0.0.0/8").unwrap().1, 104);
        assert_eq!(parse_ipv6("::1/129"), None);
    }
}
