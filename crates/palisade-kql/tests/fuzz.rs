//! Property-based fuzzing of the KQL front end alone (lexer, parser, binder, `explain`), with
//! a grammar-aware generator: queries built from the catalog's tables, the operators, the
//! built-in functions by their declared names and literals of every type; then the same
//! queries mutated and truncated, and raw text. `scripts/fuzz.sh` runs these longer.
//!
//! Properties, beyond "never panics":
//! - every token's span is a char-boundary range of the text holding exactly its text, tokens
//!   are ordered, and each position's line and column agree with its byte offset;
//! - re-lexing the tokens' texts joined by spaces gives the same token kinds;
//! - every error's position lies inside the text with a consistent line and column;
//! - a query that binds binds to the same tree (the same `explain`) when the space between its
//!   tokens is laid out on other lines;
//! - datetime and timespan values survive format → parse.

use palisade_fuzzkit::proptest::prelude::*;
use palisade_fuzzkit::proptest::test_runner::TestCaseError;
use palisade_fuzzkit::{edits, fuzz, mutate};
use palisade_kql::functions::{AggregateFunction, ScalarFunction};
use palisade_kql::lexer::{tokenize, TokenKind};
use palisade_kql::value::{format_datetime, format_timespan, parse_datetime, parse_timespan};
use palisade_kql::{analyze, explain_bound, parse, Catalog, KqlError, Pos};

/// Column names common to the advanced-hunting tables, plus names that exist nowhere.
const COLUMNS: &[&str] = &[
    "Timestamp",
    "DeviceId",
    "DeviceName",
    "FileName",
    "FolderPath",
    "SHA256",
    "ProcessCommandLine",
    "InitiatingProcessFileName",
    "AccountName",
    "ActionType",
    "RemoteIP",
    "RemotePort",
    "RemoteUrl",
    "ReportId",
    "AdditionalFields",
    "Count",
    "x",
    "n",
    "NoSuchColumn",
];

/// Characters edits favour: KQL's punctuation, quotes, digits and letters of its keywords.
const CHARS: &[char] = &[
    '|', '(', ')', '[', ']', '{', '}', ',', ';', ':', '.', '=', '<', '>', '!', '~', '"', '\'', '@',
    '`', '\\', '/', '*', '-', '+', '%', ' ', '\n', '0', '9', 'd', 'h', 'e', 'x', 'é', '\0',
];

fn tables() -> Vec<String> {
    let mut t: Vec<String> = Catalog::defender()
        .table_names()
        .map(str::to_string)
        .collect();
    t.sort();
    t.push("NoSuchTable".into());
    t
}

fn scalar_names() -> Vec<&'static str> {
    ScalarFunction::all()
        .flat_map(|f| f.names().iter().copied())
        .filter(|n| !n.starts_with("__"))
        .collect()
}

fn aggregate_names() -> Vec<&'static str> {
    AggregateFunction::ALL
        .iter()
        .flat_map(|f| f.names().iter().copied())
        .collect()
}

fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 .\\\\-]{0,12}".prop_map(|s| format!("\"{}\"", s.replace('\\', "\\\\"))),
        "[a-z0-9']{0,8}".prop_map(|s| format!("'{}'", s.replace('\'', "\\'"))),
        "[a-z\\\\\"]{0,8}".prop_map(|s| format!("@\"{}\"", s.replace('"', "\"\""))),
        Just("\"\\u00e9\\t\\n\"".to_string()),
        Just("h\"secret\"".to_string()),
        Just("```multi\nline```".to_string()),
    ]
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        (0u32..100_000).prop_map(|v| v.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|v| format!("{v:?}")),
        string_literal(),
        prop::sample::select(vec![
            "true",
            "false",
            "bool(null)",
            "long(null)",
            "real(nan)"
        ])
        .prop_map(str::to_string),
        (
            1u32..1000,
            prop::sample::select(vec!["d", "h", "m", "s", "ms", "tick", "microsecond"])
        )
            .prop_map(|(n, u)| format!("{n}{u}")),
        prop::sample::select(vec![
            "datetime(2026-11-20)",
            "datetime(2026-11-20T10:20:30.1234567Z)",
            "datetime(null)",
            "datetime(1601-01-01)",
            "datetime(9999-12-31 23:59:59)",
            "time(1.10:00:00)",
            "timespan(-00:00:01)",
            "guid(74be27de-1e4e-49d9-b579-fe0b331d3642)",
            "dynamic([1, \"a\", {\"k\": null}])",
            "dynamic({\"a\": [1, 2]})",
            "dynamic(null)",
            "1e308",
            "0x1F",
            "-9223372036854775808",
        ])
        .prop_map(str::to_string),
    ]
}

/// An expression over columns `cols` (literals only when `cols` is empty).
fn expr(cols: Vec<String>) -> BoxedStrategy<String> {
    let leaf = if cols.is_empty() {
        literal().boxed()
    } else {
        prop_oneof![
            3 => prop::sample::select(cols).prop_map(|c| c),
            3 => literal(),
        ]
        .boxed()
    };
    let scalars = scalar_names();
    leaf.prop_recursive(4, 24, 4, move |inner| {
        let ops = vec![
            "+",
            "-",
            "*",
            "/",
            "%",
            "==",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
            "and",
            "or",
            "=~",
            "!~",
            "contains",
            "!contains",
            "has",
            "!has",
            "startswith",
            "endswith",
            "matches regex",
            "has_any",
            "in~",
            "contains_cs",
            "hasprefix",
        ];
        prop_oneof![
            (
                prop::sample::select(scalars.clone()),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(f, a)| format!("{f}({})", a.join(", "))),
            (inner.clone(), prop::sample::select(ops), inner.clone())
                .prop_map(|(a, o, b)| format!("{a} {o} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("not({a})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (inner.clone(), prop::collection::vec(inner.clone(), 1..4))
                .prop_map(|(a, l)| format!("{a} in ({})", l.join(", "))),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("{a} between ({b} .. {c})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}[{b}]")),
            inner.clone().prop_map(|a| format!("{a}.key")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("iff({a}, {b}, {c})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("case({a}, {b}, \"other\")")),
        ]
    })
    .boxed()
}

fn column(cols: &[String]) -> impl Strategy<Value = String> {
    prop::sample::select(cols.to_vec())
}

/// One tabular operator over a table with columns `cols`.
fn operator(tables: Vec<String>, cols: Vec<String>) -> impl Strategy<Value = String> {
    let column = || column(&cols);
    let expr = || expr(cols.clone());
    let aggs = aggregate_names();
    let kinds = vec![
        "inner",
        "innerunique",
        "leftouter",
        "rightouter",
        "fullouter",
        "leftanti",
        "rightanti",
        "leftsemi",
        "rightsemi",
        "bogus",
    ];
    prop_oneof![
        expr().prop_map(|e| format!("where {e}")),
        prop::collection::vec((column(), expr()), 1..3).prop_map(|v| {
            let items: Vec<String> = v.into_iter().map(|(c, e)| format!("{c} = {e}")).collect();
            format!("extend {}", items.join(", "))
        }),
        prop::collection::vec(column(), 1..4).prop_map(|v| format!("project {}", v.join(", "))),
        (column(), expr()).prop_map(|(c, e)| format!("project {c}, n = {e}")),
        prop::collection::vec(column(), 1..3)
            .prop_map(|v| format!("project-away {}", v.join(", "))),
        (column(), column()).prop_map(|(a, b)| format!("project-rename {a} = {b}")),
        (
            prop::sample::select(aggs),
            prop::collection::vec(expr(), 0..3),
            prop::collection::vec(column(), 0..3)
        )
            .prop_map(|(a, args, by)| {
                let by = if by.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", by.join(", "))
                };
                format!("summarize r = {a}({}){by}", args.join(", "))
            }),
        (1u32..2000).prop_map(|b| format!("summarize count() by bin(Timestamp, {b}m)")),
        any::<i64>().prop_map(|n| format!("take {n}")),
        (0u32..100, expr()).prop_map(|(n, e)| format!("top {n} by {e} desc")),
        (expr(), any::<bool>()).prop_map(|(e, a)| format!(
            "sort by {e} {}",
            if a { "asc" } else { "desc nulls first" }
        )),
        Just("count".to_string()),
        Just("getschema".to_string()),
        Just("serialize".to_string()),
        prop::collection::vec(column(), 1..3).prop_map(|v| format!("distinct {}", v.join(", "))),
        column().prop_map(|c| format!("mv-expand {c}")),
        (any::<i32>(), any::<i32>())
            .prop_map(|(a, b)| format!("mv-expand with_itemindex=i r = range({a}, {b}) limit 5")),
        (
            prop::sample::select(kinds),
            prop::sample::select(tables.clone()),
            column()
        )
            .prop_map(|(k, t, c)| format!("join kind={k} ({t} | take 5) on {c}")),
        (prop::sample::select(tables.clone()), column())
            .prop_map(|(t, c)| format!("lookup ({t}) on {c}")),
        prop::sample::select(tables).prop_map(|t| format!("union withsource=T {t}")),
        column().prop_map(|c| format!("parse {c} with * \"=\" v:long \",\" rest")),
        column().prop_map(|c| format!("parse kind=regex {c} with @\"(\\d+)\" v:int")),
        (1u32..48).prop_map(|h| format!(
            "make-series n = count() default = 0 on Timestamp step {h}h by DeviceId"
        )),
        column().prop_map(|c| format!("evaluate bag_unpack({c})")),
        column().prop_map(|c| format!("top-nested 3 of {c} by count()")),
        (any::<i64>(), any::<i64>(), any::<i64>())
            .prop_map(|(a, b, c)| format!("extend r = range({a}, {b}, {c})")),
        (1u32..100).prop_map(|n| format!("sample {n}")),
        column().prop_map(|c| format!("invoke FileProfile({c}, 10)")),
    ]
}

/// A whole query: optional `let`s, a source (a table, `range`, `print`, `datatable`,
/// `union`), operators over the source table's columns (and names that exist nowhere), and
/// sometimes a second statement.
fn query() -> impl Strategy<Value = String> {
    let catalog = Catalog::defender();
    let sources: Vec<(String, Vec<String>)> = tables()
        .into_iter()
        .map(|t| {
            let cols = catalog
                .table(&t)
                .map(|s| s.columns.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            (t, cols)
        })
        .collect();
    prop::sample::select(sources).prop_flat_map(|(table, mut cols)| {
        cols.extend(COLUMNS.iter().map(|c| c.to_string()));
        query_over(table, cols)
    })
}

fn query_over(table: String, cols: Vec<String>) -> impl Strategy<Value = String> {
    let t = tables();
    let source = prop_oneof![
        4 => Just(table),
        1 => (any::<i64>(), any::<i64>(), any::<i64>())
            .prop_map(|(a, b, c)| format!("range x from {a} to {b} step {c}")),
        1 => expr(Vec::new()).prop_map(|e| format!("print x = {e}")),
        1 => prop::collection::vec(literal(), 0..4)
            .prop_map(|v| format!("datatable(x: long, s: string) [{}]", v.join(", "))),
        1 => (prop::sample::select(t.clone()), prop::sample::select(t.clone()))
            .prop_map(|(a, b)| format!("union {a}, {b}")),
    ];
    (
        prop::option::of(expr(Vec::new())),
        prop::option::of(prop::sample::select(t.clone())),
        source,
        prop::collection::vec(operator(t, cols), 0..6),
        any::<bool>(),
    )
        .prop_map(|(let_scalar, let_table, source, ops, second)| {
            let mut q = String::new();
            if let Some(e) = let_scalar {
                q.push_str(&format!("let v = {e};\n"));
            }
            if let Some(t) = let_table {
                q.push_str(&format!("let T = {t} | where Timestamp > ago(1d);\n"));
            }
            q.push_str(&source);
            for op in ops {
                q.push_str("\n| ");
                q.push_str(&op);
            }
            if second {
                q.push_str(";\nT | count");
            }
            q
        })
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() as u32 + 1;
    (line, col)
}

fn check_pos(text: &str, pos: Pos, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        pos.offset <= text.len() && text.is_char_boundary(pos.offset),
        "{what}: offset {} outside {text:?}",
        pos.offset
    );
    // Positions at a line end may be counted either side of the newline.
    let (line, col) = line_col(text, pos.offset);
    prop_assert!(
        (pos.line, pos.column) == (line, col) || pos.offset == text.len(),
        "{what}: {}:{} but offset {} is {line}:{col} in {text:?}",
        pos.line,
        pos.column,
        pos.offset
    );
    Ok(())
}

/// Lexer properties, then parse + bind + explain; every error's position checked.
fn front_end(q: &str, catalog: &Catalog) -> Result<(), TestCaseError> {
    match tokenize(q) {
        Ok(tokens) => {
            let mut end = 0;
            let mut kinds = Vec::new();
            for t in tokens.iter().filter(|t| t.kind != TokenKind::Eof) {
                let start = t.span.start.offset;
                prop_assert!(start >= end, "tokens overlap at {start} in {q:?}");
                prop_assert!(
                    q.get(start..t.span.end) == Some(t.text.as_str()),
                    "token {:?} spans {start}..{} of {q:?}",
                    t.text,
                    t.span.end
                );
                check_pos(q, t.span.start, "token")?;
                end = t.span.end;
                kinds.push(t.kind.clone());
            }
            let spaced: Vec<&str> = tokens
                .iter()
                .filter(|t| t.kind != TokenKind::Eof)
                .map(|t| t.text.as_str())
                .collect();
            let again: Vec<TokenKind> = tokenize(&spaced.join(" "))
                .map_err(|e| TestCaseError::fail(format!("re-lexing {spaced:?}: {e}")))?
                .into_iter()
                .map(|t| t.kind)
                .filter(|k| *k != TokenKind::Eof)
                .collect();
            prop_assert_eq!(&again, &kinds, "re-lexed {:?}", spaced);
        }
        Err(e) => check_pos(q, e.pos(), "lexer error")?,
    }
    match parse(q) {
        Ok(_) => {}
        Err(e) => check_pos(q, e.pos(), "parse error")?,
    }
    match analyze(q, catalog) {
        Ok(bound) => {
            let explained = explain_bound(&bound);
            // The same tokens on other lines with other spacing bind to the same tree.
            if let Ok(tokens) = tokenize(q) {
                // Adjacent tokens stay adjacent (`make-series` is three tokens).
                let mut relaid = String::new();
                let mut end = None;
                for t in tokens.iter().filter(|t| t.kind != TokenKind::Eof) {
                    if end.is_some_and(|e| e != t.span.start.offset) {
                        relaid.push_str(" \n  ");
                    }
                    relaid.push_str(&t.text);
                    end = Some(t.span.end);
                }
                match analyze(&relaid, catalog) {
                    Ok(b) => prop_assert_eq!(explain_bound(&b), explained, "{}", relaid),
                    Err(e) => return Err(TestCaseError::fail(format!("{relaid:?}: {e}"))),
                }
            }
        }
        Err(KqlError::Parse(e)) => check_pos(q, e.pos(), "parse error")?,
        Err(KqlError::Bind(e)) => check_pos(q, e.pos(), "bind error")?,
    }
    Ok(())
}

#[test]
fn fuzz_kql_grammar() {
    let catalog = Catalog::defender();
    fuzz("kql-grammar", 1_500, query(), |q| front_end(&q, &catalog));
}

#[test]
fn fuzz_kql_mutated() {
    let catalog = Catalog::defender();
    fuzz(
        "kql-mutated",
        1_500,
        (
            query(),
            edits(CHARS),
            any::<prop::sample::Index>(),
            any::<bool>(),
        ),
        |(q, e, cut, truncate)| {
            let mut q = mutate(&q, &e);
            if truncate {
                let n = q.chars().count();
                q = q.chars().take(cut.index(n + 1)).collect();
            }
            front_end(&q, &catalog)
        },
    );
}

#[test]
fn fuzz_kql_raw() {
    let catalog = Catalog::defender();
    fuzz(
        "kql-raw",
        1_500,
        prop_oneof![
            "\\PC{0,48}",
            "[|()\\[\\]{},;:.=<>!~\"'@`\\\\/*+%0-9a-z \n-]{0,48}",
            prop::collection::vec(any::<u8>(), 0..48)
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ],
        |q| front_end(&q, &catalog),
    );
}

#[test]
fn fuzz_kql_values() {
    fuzz(
        "kql-values",
        2_000,
        (any::<i64>(), any::<i64>()),
        |(ts, span)| {
            // `datetime` is stored in nanoseconds and printed to 100 ns (7 digits).
            let ts = ts / 100 * 100;
            let text = format_datetime(ts);
            prop_assert_eq!(parse_datetime(&text), Some(ts), "{}", text);
            let span = span / 100 * 100;
            let text = format_timespan(span);
            prop_assert_eq!(parse_timespan(&text), Some(span), "{}", text);
            Ok(())
        },
    );
}
