//! The `render` operator's visualization: checked against Kusto's documented visualizations
//! and properties, and reported with the result (the data itself is unchanged).
//!
//! Kusto puts a `Visualization` annotation into the result's extended properties, keyed as
//! its client libraries read them (`Visualization`, `Title`, `XColumn`, `YColumns`, ...). The
//! Defender API documents no such field; Palisade reports the same object under
//! `Stats.visualization` **[inferred]**, with only the properties the query names.

use crate::ast::{Expr, ExprKind, OpKind, Query, RenderProp, Statement};
use crate::error::{BindError, Span};

/// The visualizations of Kusto's `render` reference page.
pub const VISUALIZATIONS: &[&str] = &[
    "anomalychart",
    "areachart",
    "barchart",
    "card",
    "columnchart",
    "ladderchart",
    "linechart",
    "piechart",
    "pivotchart",
    "scatterchart",
    "stackedareachart",
    "table",
    "timechart",
    "timepivot",
    "treemap",
    "3Dchart",
    "list",
    "graph",
    "plotly",
    "sankey",
];

/// The documented properties: the name written in a query (any case) and the key Kusto uses
/// in the `Visualization` annotation.
pub const PROPERTIES: &[(&str, &str)] = &[
    ("accumulate", "Accumulate"),
    ("kind", "Kind"),
    ("legend", "Legend"),
    ("series", "Series"),
    ("ymin", "Ymin"),
    ("ymax", "Ymax"),
    ("xmin", "Xmin"),
    ("xmax", "Xmax"),
    ("title", "Title"),
    ("xaxis", "XAxis"),
    ("xcolumn", "XColumn"),
    ("xtitle", "XTitle"),
    ("yaxis", "YAxis"),
    ("ycolumns", "YColumns"),
    ("ysplit", "YSplit"),
    ("ytitle", "YTitle"),
    ("anomalycolumns", "AnomalyColumns"),
];

/// A checked `render`: the visualization and its properties as the annotation names them.
#[derive(Debug, Clone, PartialEq)]
pub struct Visualization {
    /// The visualization (`timechart`, ...).
    pub chart: String,
    /// `(annotation key, value)` in the order written.
    pub properties: Vec<(&'static str, serde_json::Value)>,
}

impl Visualization {
    /// The annotation as JSON: `{"Visualization": chart, "Title": ..., ...}`.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("Visualization".into(), self.chart.clone().into());
        for (k, v) in &self.properties {
            m.insert((*k).to_string(), v.clone());
        }
        m
    }
}

/// Checks one `render` operator.
pub fn check(chart: &crate::ast::Ident, props: &[RenderProp]) -> Result<Visualization, BindError> {
    let Some(known) = VISUALIZATIONS
        .iter()
        .find(|v| v.eq_ignore_ascii_case(&chart.name))
    else {
        return Err(invalid(
            format!(
                "unknown visualization '{}' (expected one of {})",
                chart.name,
                VISUALIZATIONS.join(", ")
            ),
            chart.span,
        ));
    };
    let mut properties = Vec::new();
    for p in props {
        let Some((_, key)) = PROPERTIES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&p.name.name))
        else {
            return Err(invalid(
                format!("unknown render property '{}'", p.name.name),
                p.name.span,
            ));
        };
        properties.retain(|(k, _)| k != key);
        properties.push((*key, p.value.clone()));
    }
    Ok(Visualization {
        chart: (*known).to_string(),
        properties,
    })
}

fn invalid(message: String, span: Span) -> BindError {
    BindError::Invalid {
        message,
        pos: span.start,
    }
}

/// The visualization of the query's first result statement: the `render` of its pipeline
/// (the last one, if it names several), checked. Renders inside subqueries are checked by the
/// binder too but annotate nothing.
pub fn of_query(query: &Query) -> Result<Option<Visualization>, BindError> {
    let Some(Statement::Query(e)) = query
        .statements
        .iter()
        .find(|s| matches!(s, Statement::Query(_)))
    else {
        return Ok(None);
    };
    of_pipeline(e)
}

fn of_pipeline(e: &Expr) -> Result<Option<Visualization>, BindError> {
    let ExprKind::Pipe { ops, .. } = &e.kind else {
        return Ok(None);
    };
    let mut out = None;
    for op in ops {
        if let OpKind::Render { chart, props } = &op.kind {
            out = Some(check(chart, props)?);
        }
    }
    Ok(out)
}
