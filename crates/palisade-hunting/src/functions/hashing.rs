//! Digests (`hash_sha256`, `hash_sha1`, `hash_md5`) and xxHash64 (`hash`).

use super::*;
use palisade_kql::functions::HashFn as F;

/// .NET ticks (100 ns) from 0001-01-01 to the Unix epoch.
const DOTNET_EPOCH_TICKS: i64 = 621_355_968_000_000_000;

/// xxHash64 with seed 0, Kusto's `hash()`.
fn xxh64(bytes: &[u8]) -> u64 {
    twox_hash::XxHash64::oneshot(0, bytes)
}

/// The digests behind `hash_sha256`, `hash_sha1` and `hash_md5`.
#[derive(Debug, Clone, Copy)]
enum Digest {
    Sha256,
    Sha1,
    Md5,
}

impl Digest {
    /// Lowercase hex digest of `bytes`.
    fn hex(self, bytes: &[u8]) -> String {
        use sha2::Digest as _;
        let raw: Vec<u8> = match self {
            Digest::Sha256 => sha2::Sha256::digest(bytes).to_vec(),
            Digest::Sha1 => sha1::Sha1::digest(bytes).to_vec(),
            Digest::Md5 => md5::Md5::digest(bytes).to_vec(),
        };
        let mut out = String::with_capacity(raw.len() * 2);
        for b in raw {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

/// Plans `f` applied to `c`.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let n = c.n;
    Ok(match f {
        F::HashSha256 | F::HashSha1 | F::HashMd5 => {
            // Kusto hashes the value's string form (`tostring`): `hash_sha256(datetime(2020-01-01))`
            // is the digest of "2020-01-01T00:00:00.0000000Z". A null non-string value gives
            // Kusto's null string "" (strings themselves are never null: "" is hashed).
            let algo = match c.name {
                "hash_sha256" => Digest::Sha256,
                "hash_sha1" => Digest::Sha1,
                _ => Digest::Md5,
            };
            let is_string = matches!(c.t(0), KqlType::String | KqlType::Guid);
            c.row(
                c.name,
                KqlType::String,
                Box::new(move |a| {
                    if !is_string && a[0].is_null() {
                        Out::Str(String::new())
                    } else {
                        Out::Str(algo.hex(a[1].text().as_bytes()))
                    }
                }),
            )
            .call(vec![c.arg(0)?, c.arg_as(p, 0, KqlType::String)?])
        }
        F::Hash => {
            // xxHash64 (seed 0) of the value's bytes, as in Kusto: a string's UTF-8 bytes, and a
            // datetime's .NET ticks (100 ns since 0001-01-01) as a little-endian i64. Both are
            // verified by the Kusto docs' examples (`hash("World")`, `hash(datetime(2015-01-01))`).
            // [inferred] A timespan hashes its ticks the same way (.NET keeps both as ticks).
            // Other types' encodings are undocumented, so they are rejected by name. The 64-bit
            // hash is returned as a (signed) long; with `mod` it is the unsigned hash modulo
            // `mod`, so the result is in 0..mod-1 as the docs state; `mod` <= 0 gives null.
            let kind = c.t(0);
            if !matches!(
                kind,
                KqlType::String | KqlType::DateTime | KqlType::TimeSpan
            ) {
                return unsupported(format!("{} of {kind}", c.name));
            }
            let mut call_args = vec![c.arg(0)?];
            if n > 1 {
                call_args.push(c.arg_as(p, 1, KqlType::Long)?);
            }
            c.row(
                c.name,
                KqlType::Long,
                Box::new(move |a| {
                    let h = match (kind, a[0]) {
                        (KqlType::String, v) => xxh64(v.text().as_bytes()),
                        (KqlType::DateTime, Val::Ts(ns)) => {
                            xxh64(&(ns.div_euclid(100) + DOTNET_EPOCH_TICKS).to_le_bytes())
                        }
                        (KqlType::TimeSpan, Val::I64(ns)) => xxh64(&(ns / 100).to_le_bytes()),
                        _ => return Out::Null,
                    };
                    match a.get(1) {
                        None => Out::I64(h as i64),
                        Some(m) => match m.i64() {
                            Some(m) if m > 0 => Out::I64((h % m as u64) as i64),
                            _ => Out::Null,
                        },
                    }
                }),
            )
            .call(call_args)
        }
    })
}
