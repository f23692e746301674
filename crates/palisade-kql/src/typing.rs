//! The type rules of KQL's operators: numeric widening, common types of branches, and the
//! result type of arithmetic.

use crate::value::KqlType;
use KqlType::*;

/// Numeric widening order used for arithmetic and common types.
fn numeric_rank(t: KqlType) -> Option<u8> {
    match t {
        Int => Some(0),
        Long => Some(1),
        Decimal => Some(2),
        Real => Some(3),
        _ => None,
    }
}

/// The common type of two types, if any (`int`+`long` → `long`, same → same, `dynamic`
/// absorbs).
pub fn common_type(a: KqlType, b: KqlType) -> Option<KqlType> {
    if a == b {
        return Some(a);
    }
    if let (Some(x), Some(y)) = (numeric_rank(a), numeric_rank(b)) {
        return Some(if x >= y { a } else { b });
    }
    if a == Dynamic || b == Dynamic {
        return Some(Dynamic);
    }
    None
}

/// Unifies the branches of `iff`/`case`/`coalesce`: like [`common_type`], except that a
/// dynamic branch adopts the other branch's scalar type (Kusto converts the dynamic value, so
/// `iff(c, parts[0], strcat(...))` is a string).
pub fn branch_type(a: KqlType, b: KqlType) -> Option<KqlType> {
    match (a, b) {
        (Dynamic, t) | (t, Dynamic) => Some(t),
        _ => common_type(a, b),
    }
}

/// Result type of arithmetic operator `op` (`+`, `-`, `*`, `/`, `%`), or `None` if the
/// operands do not combine.
pub fn arithmetic(op: &str, a: KqlType, b: KqlType) -> Option<KqlType> {
    if a == Dynamic || b == Dynamic {
        return Some(Dynamic);
    }
    if a.is_numeric() && b.is_numeric() {
        if op == "/" && a == Int && b == Int {
            return Some(Int);
        }
        return common_type(a, b)
            .map(|t| if t == Int { Long } else { t })
            .map(|t| if a == Int && b == Int { Int } else { t });
    }
    match (op, a, b) {
        ("-", DateTime, DateTime) => Some(TimeSpan),
        ("+" | "-", DateTime, TimeSpan) => Some(DateTime),
        ("+", TimeSpan, DateTime) => Some(DateTime),
        ("+" | "-", TimeSpan, TimeSpan) => Some(TimeSpan),
        ("*" | "/", TimeSpan, t) if t.is_numeric() => Some(TimeSpan),
        ("*", t, TimeSpan) if t.is_numeric() => Some(TimeSpan),
        ("/", TimeSpan, TimeSpan) => Some(Real),
        ("%", TimeSpan, TimeSpan) => Some(TimeSpan),
        _ => None,
    }
}
