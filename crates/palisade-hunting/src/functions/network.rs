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

/// Plans `f` applied to `c`.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    Ok(match f {
        F::Ipv6IsMatch => return unsupported("ipv6_is_match"),
        // Needs a geolocation database Palisade does not have.
        F::GeoInfoFromIpAddress => return unsupported("geo_info_from_ip_address"),
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
