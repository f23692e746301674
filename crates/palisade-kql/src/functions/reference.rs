//! The Kusto function reference as data, and Palisade's coverage of it.
//!
//! `kusto_reference.tsv` (beside this file, provenance in its header) lists every scalar and
//! aggregation function the Kusto language service declares. Each name is, in this order:
//! - **implemented**: a registry function the engine runs ([`ScalarFunction::lookup`],
//!   [`AggregateFunction::lookup`]) or a special form the binder
//!   handles ([`SPECIAL_FORMS`]);
//! - **rejected by name**: anything else, with `BindError::Unsupported` (the API's 400 "'name'
//!   is not supported"); declared functions the engine does not run are rejected by the engine
//!   with the same error.
//!
//! Nothing is listed by hand, so the coverage ([`coverage`]), the binder's rejection
//! ([`is_rejected_by_name`]), `palisade hunt --functions` and `docs/kql-functions.md`
//! ([`render_markdown`]) cannot drift apart.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::{AggregateFunction, ScalarFunction};

/// The reference data (see its header for where it comes from).
const REFERENCE_TSV: &str = include_str!("kusto_reference.tsv");

/// Forms the binder handles itself instead of the registry (see `binder/calls.rs`).
pub const SPECIAL_FORMS: &[&str] = &[
    "toscalar",
    "materialize",
    "pack_all",
    "table",
    "column_ifexists",
    "columnifexists",
    "iscolumnexists",
    "typeof",
];

/// Names Palisade implements that the reference does not list, and why they exist.
pub const IMPLEMENTED_EXTRAS: &[(&str, &str)] = &[
    (
        "datetime",
        "the `datetime(...)` literal, also accepted with a string expression",
    ),
    (
        "decimal",
        "the `decimal(...)` literal, also accepted with an expression",
    ),
    ("toscalar", "KQL syntax: a tabular expression's first value"),
    ("materialize", "KQL syntax: a cached tabular expression"),
    (
        "typeof",
        "KQL syntax: a type name (`extract`'s fourth argument)",
    ),
];

/// Names outside the reference that Defender advanced hunting knows and Palisade rejects by
/// name, and why.
pub const REJECTED_EXTRAS: &[(&str, &str)] = &[
    ("externaldata", "reads from the network"),
    ("make_series", "the operator is `make-series`"),
    (
        "AssignedIPAddresses",
        "a Defender function whose KQL definition is not published",
    ),
    (
        "DeviceFromIP",
        "a Defender function whose KQL definition is not published",
    ),
    (
        "SeenBy",
        "a Defender function whose KQL definition is not published",
    ),
];

/// Whether a reference function is a scalar or an aggregation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FunctionKind {
    /// A scalar (or window) function.
    Scalar,
    /// An aggregation function.
    Aggregate,
}

impl FunctionKind {
    /// `scalar` or `aggregation`.
    pub fn label(self) -> &'static str {
        match self {
            FunctionKind::Scalar => "scalar",
            FunctionKind::Aggregate => "aggregation",
        }
    }
}

/// One function of the Kusto reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceFunction {
    /// Scalar or aggregation.
    pub kind: FunctionKind,
    /// The function's name.
    pub name: &'static str,
    /// The family: the source's `#region`, shortened (`aggregation` for aggregates).
    pub family: &'static str,
    /// For an obsolete name, what the source says to use instead.
    pub replacement: Option<&'static str>,
}

/// Every public function of the reference, in the source's order (a name declared both as a
/// scalar and an aggregate, such as `any`, appears once per kind). Internal (`__`) names are
/// left out.
pub fn reference() -> &'static [ReferenceFunction] {
    static REFERENCE: OnceLock<Vec<ReferenceFunction>> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        REFERENCE_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(parse_line)
            .filter(|f| !f.name.starts_with("__"))
            .collect()
    })
}

/// One data line: kind, name, region, hidden flag, replacement.
fn parse_line(line: &'static str) -> Option<ReferenceFunction> {
    let mut cols = line.split('\t');
    let kind = match cols.next()? {
        "scalar" => FunctionKind::Scalar,
        "aggregate" => FunctionKind::Aggregate,
        _ => return None,
    };
    let name = cols.next()?;
    let region = cols.next().unwrap_or("");
    let _hidden = cols.next();
    let replacement = cols.next().map(str::trim).filter(|r| !r.is_empty());
    Some(ReferenceFunction {
        kind,
        name,
        family: family_label(kind, region),
        replacement,
    })
}

/// A short family name from a source region (`"bool functions  (test state, return bool)"`
/// is `bool`, `"digest / series functions"` is `digest/series`).
fn family_label(kind: FunctionKind, region: &'static str) -> &'static str {
    if kind == FunctionKind::Aggregate {
        return "aggregation";
    }
    let r = region.split('(').next().unwrap_or(region).trim();
    let r = r.strip_suffix(" functions").unwrap_or(r);
    match r {
        "cluster / database / table / etc" => "cluster/database/table",
        "digest / series" => "digest/series",
        "iif / case" => "iif/case",
        "bin / floor" => "bin/floor",
        "dynamic array/object" => "dynamic",
        "encoding/decoding" => "encoding",
        "date and time" => "date/time",
        "type conversion" => "conversion",
        "Graph" => "graph",
        "" => "other",
        other => other,
    }
}

pub use crate::coverage::{Counts, Status};

/// The status of function `name` of kind `kind`.
pub fn status(kind: FunctionKind, name: &str) -> Status {
    let implemented = match kind {
        FunctionKind::Aggregate => AggregateFunction::lookup(name).is_some(),
        FunctionKind::Scalar => {
            ScalarFunction::lookup(name).is_some()
                || SPECIAL_FORMS.contains(&name)
                // A scalar-kind name Palisade serves as an aggregate (`any`).
                || AggregateFunction::lookup(name).is_some()
        }
    };
    if implemented {
        Status::Implemented
    } else {
        Status::Rejected
    }
}

/// True for a function of the reference (or of [`REJECTED_EXTRAS`]) that Palisade neither
/// declares nor handles as a special form: the binder rejects its calls by name. (Declared
/// functions the engine does not run bind, and the engine rejects them by name.)
pub fn is_rejected_by_name(name: &str) -> bool {
    static REJECTED: OnceLock<HashSet<&'static str>> = OnceLock::new();
    REJECTED
        .get_or_init(|| {
            reference()
                .iter()
                .map(|f| f.name)
                .chain(REJECTED_EXTRAS.iter().map(|(n, _)| *n))
                .filter(|n| {
                    ScalarFunction::lookup(n).is_none()
                        && AggregateFunction::lookup(n).is_none()
                        && !SPECIAL_FORMS.contains(n)
                })
                .collect()
        })
        .contains(name)
}

/// One row of the coverage: a reference function and its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Covered {
    /// The reference function.
    pub function: ReferenceFunction,
    /// Palisade's answer.
    pub status: Status,
}

/// The coverage of the whole reference: one row per reference function, sorted by family
/// (ignoring case), then name.
pub fn coverage() -> Vec<Covered> {
    let mut rows: Vec<Covered> = reference()
        .iter()
        .map(|f| Covered {
            function: *f,
            status: status(f.kind, f.name),
        })
        .collect();
    rows.sort_by_key(|r| (r.function.family.to_lowercase(), r.function.name));
    rows
}

/// Counts per family (sorted by family) and overall, over distinct names: a name declared both
/// as a scalar and an aggregate counts once, in the family of its first row.
pub fn counts(rows: &[Covered]) -> (Vec<(&'static str, Counts)>, Counts) {
    let mut seen = HashSet::new();
    let mut per: Vec<(&'static str, Counts)> = Vec::new();
    let mut all = Counts::default();
    for r in rows {
        if !seen.insert(r.function.name) {
            continue;
        }
        all.add(r.status);
        match per.iter_mut().find(|(f, _)| *f == r.function.family) {
            Some((_, c)) => c.add(r.status),
            None => {
                let mut c = Counts::default();
                c.add(r.status);
                per.push((r.function.family, c));
            }
        }
    }
    (per, all)
}

/// A note for a row: the replacement of an obsolete name, or the canonical name of an alias.
fn note(c: &Covered) -> String {
    let f = &c.function;
    let canonical = match f.kind {
        FunctionKind::Aggregate => AggregateFunction::lookup(f.name).map(|a| a.name()),
        FunctionKind::Scalar => ScalarFunction::lookup(f.name).map(|s| s.name()),
    };
    let mut parts = Vec::new();
    if let Some(c) = canonical.filter(|c| *c != f.name) {
        parts.push(format!("alias of `{c}`"));
    }
    if let Some(r) = f.replacement {
        parts.push(format!("obsolete: use `{}`", r.replace('\'', "")));
    }
    if c.status == Status::Rejected && ScalarFunction::lookup(f.name).is_some() {
        parts.push("declared, not run by the engine".into());
    }
    if SPECIAL_FORMS.contains(&f.name) {
        parts.push("special form of the binder".into());
    }
    parts.join("; ")
}

/// The coverage as an aligned text table, counts first (`palisade hunt --functions`).
pub fn render_text() -> String {
    let rows = coverage();
    let (per, all) = counts(&rows);
    let mut out = format!(
        "Kusto functions: {} of {} implemented, {} rejected by name\n\n",
        all.implemented,
        all.total(),
        all.rejected
    );
    for (family, c) in &per {
        out.push_str(&format!(
            "  {family:<24} {:>3} of {:>3} implemented\n",
            c.implemented,
            c.total()
        ));
    }
    out.push('\n');
    let w = rows
        .iter()
        .map(|r| r.function.name.len())
        .max()
        .unwrap_or(4);
    out.push_str(&format!(
        "{:<24} {:<w$} {:<11} {:<11} NOTE\n",
        "FAMILY", "NAME", "KIND", "STATUS"
    ));
    for r in &rows {
        let line = format!(
            "{:<24} {:<w$} {:<11} {:<11} {}",
            r.function.family,
            r.function.name,
            r.function.kind.label(),
            r.status.label(),
            note(r)
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The coverage as JSON (`palisade hunt --functions --output json`): counts and one object per
/// reference function.
pub fn render_json() -> serde_json::Value {
    let rows = coverage();
    let (per, all) = counts(&rows);
    let count = |c: &Counts| c.to_json();
    serde_json::json!({
        "counts": count(&all),
        "families": per
            .iter()
            .map(|(f, c)| {
                let mut o = count(c);
                o["family"] = serde_json::json!(f);
                o
            })
            .collect::<Vec<_>>(),
        "functions": rows
            .iter()
            .map(|r| serde_json::json!({
                "name": r.function.name,
                "kind": r.function.kind.label(),
                "family": r.function.family,
                "status": r.status.label(),
                "note": note(r),
            }))
            .collect::<Vec<_>>(),
    })
}

/// `docs/kql-functions.md`: the coverage page, generated (a test compares the checked-in page
/// with this).
pub fn render_markdown() -> String {
    let rows = coverage();
    let (per, all) = counts(&rows);
    let mut out = String::from(
        "# KQL functions in Palisade's advanced hunting\n\n\
         <!-- Generated from the function registry by palisade_kql::functions::render_markdown();\n     \
         do not edit. Regenerate: PALISADE_REGENERATE_DOCS=1 cargo test -p palisade-kql --test it functions_page -->\n\n\
         Every scalar and aggregation function of the Kusto Query Language reference (the functions\n\
         the Kusto language service declares, microsoft/Kusto-Query-Language at commit\n\
         c94c9e761b3d) is either **implemented** or **rejected** by name: a query calling it gets a\n\
         400 saying `'name' is not supported by this advanced hunting service.`\n\
         `palisade hunt --functions` prints the same list.\n\n",
    );
    out.push_str(&format!(
        "**{} of {} implemented, {} rejected by name.**\n\n",
        all.implemented,
        all.total(),
        all.rejected
    ));
    out.push_str("| Family | Implemented | Rejected | Total |\n|---|---:|---:|---:|\n");
    for (family, c) in &per {
        out.push_str(&format!(
            "| {family} | {} | {} | {} |\n",
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
    out.push_str(
        "\nWhere Kusto estimates (`dcount`, `dcountif`, the `percentile` family, including the \
         weighted `percentilew`), Palisade computes exact values (nearest rank for percentiles), \
         which are within Kusto's documented error bounds. The estimators' intermediate \
         results (`hll`, `tdigest` and their `*_merge`, `dcount_hll`, `percentile_tdigest`) are \
         not implemented: a query that needs them is rejected by name.\n",
    );
    out.push_str(
        "\nThe series functions follow Kusto's documented algorithms; where Kusto leaves a detail \
         unpublished, Palisade's choice is documented in the engine (`series_math.rs`): \
         `series_decompose`/`series_decompose_anomalies` detect seasonality with the \
         autocorrelation's strongest local maximum (Kusto's `series_periods_detect` is an \
         unpublished FFT/autocorrelation estimate, so on series with several comparable \
         periods Kusto may pick another one); percentiles in `series_outliers` interpolate \
         linearly. Geospatial distances are on a sphere of radius 6,371,010 m, as Kusto's. \
         `geo_info_from_ip_address` answers from the operator's MaxMind City database \
         (`palisade serve --geoip FILE`); without one it answers null and the response's \
         `Stats.notes` says so.\n",
    );
    let mut family = "";
    for r in &rows {
        if r.function.family != family {
            family = r.function.family;
            out.push_str(&format!(
                "\n## {family}\n\n| Function | Kind | Status | Note |\n|---|---|---|---|\n"
            ));
        }
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            r.function.name,
            r.function.kind.label(),
            r.status.label(),
            note(r)
        ));
    }
    out.push_str("\n## Outside the reference\n\n| Name | Status | Why |\n|---|---|---|\n");
    for (n, why) in IMPLEMENTED_EXTRAS {
        out.push_str(&format!("| `{n}` | implemented | {why} |\n"));
    }
    for (n, why) in REJECTED_EXTRAS {
        out.push_str(&format!("| `{n}` | rejected | {why} |\n"));
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
        let internal = REFERENCE_TSV
            .lines()
            .filter(|l| l.split('\t').nth(1).is_some_and(|n| n.starts_with("__")))
            .count();
        assert_eq!(reference().len() + internal, data_lines);
        assert!(reference().len() > 400);
        assert!(reference().iter().any(|f| f.name == "binary_and"));
    }

    #[test]
    fn every_implemented_name_is_in_the_reference_or_a_documented_extra() {
        let names: HashSet<&str> = reference().iter().map(|f| f.name).collect();
        let extras: HashSet<&str> = IMPLEMENTED_EXTRAS.iter().map(|(n, _)| *n).collect();
        let scalar = ScalarFunction::all().flat_map(|f| f.names().iter().copied());
        let aggregate = AggregateFunction::ALL
            .iter()
            .flat_map(|f| f.names().iter().copied());
        for n in scalar.chain(aggregate).chain(SPECIAL_FORMS.iter().copied()) {
            if n.starts_with("__") {
                continue;
            }
            assert!(
                names.contains(n) || extras.contains(n),
                "'{n}' is implemented but is neither in the Kusto reference nor in IMPLEMENTED_EXTRAS"
            );
        }
        for (n, _) in IMPLEMENTED_EXTRAS {
            assert!(
                ScalarFunction::lookup(n).is_some() || SPECIAL_FORMS.contains(n),
                "{n}"
            );
        }
    }

    #[test]
    fn every_reference_name_is_implemented_or_rejected_by_name() {
        for f in reference() {
            let declared = ScalarFunction::lookup(f.name).is_some()
                || AggregateFunction::lookup(f.name).is_some()
                || SPECIAL_FORMS.contains(&f.name);
            assert!(
                declared != is_rejected_by_name(f.name),
                "{}: declared {declared}",
                f.name
            );
        }
        for (n, _) in REJECTED_EXTRAS {
            assert!(is_rejected_by_name(n), "{n}");
        }
        assert!(!is_rejected_by_name("strcat"));
        assert!(!is_rejected_by_name("no_such_function"));
    }

    #[test]
    fn counts_add_up() {
        let rows = coverage();
        let (per, all) = counts(&rows);
        let distinct: HashSet<&str> = reference().iter().map(|f| f.name).collect();
        assert_eq!(all.total(), distinct.len());
        assert_eq!(
            per.iter().map(|(_, c)| c.implemented).sum::<usize>(),
            all.implemented
        );
        assert!(render_text().contains(&format!("{} of {}", all.implemented, all.total())));
    }
}
