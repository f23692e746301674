//! The Kusto operator and statement reference as data, and Palisade's coverage of it.
//!
//! `kusto_operators.tsv` (beside this file, provenance in its header) lists every tabular
//! operator, query source and query statement the Kusto language service parses. Each one is,
//! as the parser answers it:
//! - **implemented**: the parser reads it (and the binder and engine run it); or
//! - **rejected by name**: the parser answers [`ParseError::Unsupported`] naming it, which the
//!   API turns into a 400 "'name' is not supported" with the line and column.
//!
//! The status is never listed by hand: [`status`] asks the parser itself (a probe query per
//! name), and the parser rejects every reference name it has no rule for
//! ([`is_reference_name`]), so a reference operator can never fall through to a generic syntax
//! error. Forms of an implemented operator that the engine does not run are rejected by name
//! too; [`LIMITED_FORMS`] lists them (a test in `palisade-hunting` checks each one).
//! `palisade hunt --operators` and `docs/kql-operators.md` ([`render_markdown`]) read this.

use std::sync::OnceLock;

use crate::error::ParseError;
use crate::parser::parse;

/// The reference data (see its header for where it comes from).
const REFERENCE_TSV: &str = include_str!("kusto_operators.tsv");

/// Forms of implemented operators that the engine rejects by name (the name it gives), and
/// why. The operator itself runs in every other form.
pub const LIMITED_FORMS: &[(&str, &str, &str)] = &[
    (
        "partition",
        "distinct inside partition",
        "inside `partition`, `where`, `extend`, `parse`, `project`, `project-rename`, \
         `project-away`, `mv-expand`, `as`, `summarize`, `count`, `top`, `take` and `sort` + \
         `take` run; other operators are rejected by name (`'<op> inside partition'`)",
    ),
    (
        "partition",
        "operators other than one 'sort' before 'scan' inside partition",
        "a `scan` inside `partition` runs per partition after at most one `sort`",
    ),
    (
        "scan",
        "a subquery or row-order function in a scan step",
        "step conditions and assignments read the row and the steps' state; a subquery \
         (`toscalar()`, tabular `in`) or `prev()`/`next()`/`row_number()` in them is rejected by \
         name",
    ),
    (
        "mv-apply",
        "distinct inside mv-apply",
        "inside `mv-apply`, the operators `partition` runs; others are rejected by name \
         (`'<op> inside mv-apply'`)",
    ),
    (
        "make-series",
        "make-series kind=nonempty with by keys",
        "`kind=nonempty` runs without `by` keys only",
    ),
];

/// Implemented operators whose Kusto answer is an estimate, and what Palisade computes instead.
pub const EXACT_WHERE_KUSTO_ESTIMATES: &[(&str, &str)] = &[(
    "top-hitters",
    "exact counts and sums (Kusto estimates them with a Count-Min sketch)",
)];

/// Where a reference entry may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OperatorKind {
    /// Starts a query (`print`, `range`, `union`, `datatable`, ...).
    Source,
    /// Follows `|`.
    Operator,
    /// A query statement (`let`, `set`, `declare query_parameters`, ...).
    Statement,
}

impl OperatorKind {
    /// `source`, `operator` or `statement`.
    pub fn label(self) -> &'static str {
        match self {
            OperatorKind::Source => "source",
            OperatorKind::Operator => "operator",
            OperatorKind::Statement => "statement",
        }
    }
}

/// One entry of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceOperator {
    /// Source, operator or statement.
    pub kind: OperatorKind,
    /// The name (`mv-expand`, `declare query_parameters`).
    pub name: &'static str,
    /// Other spellings of the same operator, comma-separated (`mvexpand`; see [`Self::aliases`]).
    pub other_spellings: &'static str,
    /// The rule of Kusto's grammar.
    pub rule: &'static str,
    /// The docs page under `learn.microsoft.com/kusto/query/`.
    pub page: &'static str,
}

impl ReferenceOperator {
    /// Other spellings of the same operator (`mvexpand`, `filter`, `order`, `limit`).
    pub fn aliases(&self) -> Vec<&'static str> {
        self.other_spellings
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect()
    }
}

/// Every entry of the reference, in the data's order.
pub fn reference() -> &'static [ReferenceOperator] {
    static REFERENCE: OnceLock<Vec<ReferenceOperator>> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        REFERENCE_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(parse_line)
            .collect()
    })
}

fn parse_line(line: &'static str) -> Option<ReferenceOperator> {
    let mut cols = line.split('\t');
    let kind = match cols.next()? {
        "source" => OperatorKind::Source,
        "operator" => OperatorKind::Operator,
        "statement" => OperatorKind::Statement,
        _ => return None,
    };
    let name = cols.next()?;
    Some(ReferenceOperator {
        kind,
        name,
        other_spellings: cols.next().unwrap_or("").trim(),
        rule: cols.next().unwrap_or(""),
        page: cols.next().unwrap_or("").trim(),
    })
}

/// True when `name` is an operator or source name (or another spelling of one) of the
/// reference: after a `|`, the parser rejects such a name by name when it has no rule for it.
pub fn is_reference_name(name: &str) -> bool {
    reference().iter().any(|o| {
        o.kind != OperatorKind::Statement && (o.name == name || o.aliases().contains(&name))
    })
}

pub use crate::coverage::{Counts, Status};

/// A minimal query that puts `name` (a spelling of an entry of kind `kind`) where the parser
/// decides on it.
fn probe(kind: OperatorKind, name: &str) -> String {
    match kind {
        OperatorKind::Source => format!("{name} x"),
        OperatorKind::Operator => format!("T | {name} x"),
        OperatorKind::Statement => format!("{name} x = 1;\nT"),
    }
}

/// What the parser answers for spelling `name` of an entry of kind `kind`.
pub fn spelling_status(kind: OperatorKind, name: &str) -> Status {
    match parse(&probe(kind, name)) {
        Err(ParseError::Unsupported { name: n, .. }) if n == name => Status::Rejected,
        _ => Status::Implemented,
    }
}

/// The status of a reference entry: what the parser answers for its name.
pub fn status(op: &ReferenceOperator) -> Status {
    spelling_status(op.kind, op.name)
}

/// One row of the coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Covered {
    /// The reference entry.
    pub operator: ReferenceOperator,
    /// Palisade's answer.
    pub status: Status,
}

/// The coverage of the whole reference, in the data's order (sources, operators, statements).
pub fn coverage() -> Vec<Covered> {
    reference()
        .iter()
        .map(|o| Covered {
            operator: *o,
            status: status(o),
        })
        .collect()
}

/// Counts per kind and overall.
pub fn counts(rows: &[Covered]) -> (Vec<(OperatorKind, Counts)>, Counts) {
    let mut per: Vec<(OperatorKind, Counts)> = Vec::new();
    let mut all = Counts::default();
    for r in rows {
        let idx = match per.iter().position(|(k, _)| *k == r.operator.kind) {
            Some(i) => i,
            None => {
                per.push((r.operator.kind, Counts::default()));
                per.len() - 1
            }
        };
        per[idx].1.add(r.status);
        all.add(r.status);
    }
    (per, all)
}

/// A row's note: other spellings and the forms the engine rejects.
fn note(c: &Covered) -> String {
    let mut parts = Vec::new();
    let aliases = c.operator.aliases();
    if !aliases.is_empty() {
        parts.push(format!("also `{}`", aliases.join("`, `")));
    }
    for (op, what) in EXACT_WHERE_KUSTO_ESTIMATES {
        if *op == c.operator.name && c.status == Status::Implemented {
            parts.push((*what).to_string());
        }
    }
    for (op, form, why) in LIMITED_FORMS {
        if *op == c.operator.name && c.status == Status::Implemented {
            parts.push(format!("'{form}' is rejected by name: {why}"));
        }
    }
    parts.join("; ")
}

/// The headline: `Kusto operators and statements: I of N implemented, R rejected by name`.
fn headline(all: &Counts) -> String {
    format!(
        "{} of {} implemented, {} rejected by name",
        all.implemented,
        all.total(),
        all.rejected
    )
}

/// The coverage as an aligned text table, counts first (`palisade hunt --operators`).
pub fn render_text() -> String {
    let rows = coverage();
    let (per, all) = counts(&rows);
    let mut out = format!("Kusto operators and statements: {}\n\n", headline(&all));
    for (kind, c) in &per {
        out.push_str(&format!(
            "  {:<10} {:>3} of {:>3} implemented\n",
            kind.label(),
            c.implemented,
            c.total()
        ));
    }
    out.push('\n');
    let w = rows
        .iter()
        .map(|r| r.operator.name.len())
        .max()
        .unwrap_or(4);
    out.push_str(&format!(
        "{:<10} {:<w$} {:<11} NOTE\n",
        "KIND", "NAME", "STATUS"
    ));
    for r in &rows {
        let line = format!(
            "{:<10} {:<w$} {:<11} {}",
            r.operator.kind.label(),
            r.operator.name,
            r.status.label(),
            note(r)
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The coverage as JSON (`palisade hunt --operators --output json`).
pub fn render_json() -> serde_json::Value {
    let rows = coverage();
    let (per, all) = counts(&rows);
    let count = |c: &Counts| c.to_json();
    serde_json::json!({
        "counts": count(&all),
        "kinds": per
            .iter()
            .map(|(k, c)| {
                let mut o = count(c);
                o["kind"] = serde_json::json!(k.label());
                o
            })
            .collect::<Vec<_>>(),
        "operators": rows
            .iter()
            .map(|r| serde_json::json!({
                "name": r.operator.name,
                "kind": r.operator.kind.label(),
                "aliases": r.operator.aliases(),
                "status": r.status.label(),
                "note": note(r),
            }))
            .collect::<Vec<_>>(),
    })
}

/// `docs/kql-operators.md`: the coverage page, generated (a test compares the checked-in page
/// with this).
pub fn render_markdown() -> String {
    let rows = coverage();
    let (per, all) = counts(&rows);
    let mut out = String::from(
        "# KQL operators and statements in Palisade's advanced hunting\n\n\
         <!-- Generated from the parser by palisade_kql::operators::render_markdown();\n     \
         do not edit. Regenerate: PALISADE_REGENERATE_DOCS=1 cargo test -p palisade-kql --test it operators_page -->\n\n\
         Every tabular operator, query source and query statement of the Kusto Query Language (the\n\
         grammar of microsoft/Kusto-Query-Language at commit c94c9e761b3d) is either\n\
         **implemented** or **rejected** by name: a query using it gets a 400 saying\n\
         `'name' is not supported by this advanced hunting service (line L, column C).`\n\
         The status is what the parser answers, not a hand-kept list.\n\
         `palisade hunt --operators` prints the same list; `docs/kql-functions.md` covers the functions.\n\n",
    );
    out.push_str(&format!("**{}.**\n\n", headline(&all)));
    out.push_str("| Kind | Implemented | Rejected | Total |\n|---|---:|---:|---:|\n");
    for (kind, c) in &per {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            kind.label(),
            c.implemented,
            c.rejected,
            c.total()
        ));
    }
    out.push_str(&format!(
        "| **all** | **{}** | **{}** | **{}** |\n",
        all.implemented,
        all.rejected,
        all.total()
    ));
    let mut kind = None;
    for r in &rows {
        if kind != Some(r.operator.kind) {
            kind = Some(r.operator.kind);
            out.push_str(&format!(
                "\n## {}s\n\n| Name | Status | Note |\n|---|---|---|\n",
                r.operator.kind.label()
            ));
        }
        out.push_str(&format!(
            "| [`{}`](https://learn.microsoft.com/kusto/query/{}) | {} | {} |\n",
            r.operator.name,
            r.operator.page,
            r.status.label(),
            note(r)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_parses_completely() {
        let data_lines = REFERENCE_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(reference().len(), data_lines);
        assert!(reference().len() > 60);
        assert!(reference().iter().all(|o| !o.rule.is_empty()));
        let mv = reference().iter().find(|o| o.name == "mv-expand").unwrap();
        assert_eq!(mv.aliases(), vec!["mvexpand"]);
    }

    #[test]
    fn every_spelling_of_an_entry_gets_the_same_answer() {
        for o in reference() {
            for a in o.aliases() {
                assert_eq!(spelling_status(o.kind, a), status(o), "{} / {a}", o.name);
            }
        }
    }

    #[test]
    fn counts_add_up() {
        let rows = coverage();
        let (per, all) = counts(&rows);
        assert_eq!(all.total(), reference().len());
        assert_eq!(
            per.iter().map(|(_, c)| c.implemented).sum::<usize>(),
            all.implemented
        );
        assert!(render_text().contains(&headline(&all)));
    }
}
