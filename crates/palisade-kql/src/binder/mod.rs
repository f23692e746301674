//! Binder: resolves tables, `let`s, user functions, columns and types, producing [`BoundQuery`].

use std::collections::HashMap;
use std::rc::Rc;

use crate::ast::*;
use crate::bound::*;
use crate::catalog::{wildcard_match, Catalog, Column, Schema, FILE_PROFILE_KEYS};
use crate::error::{BindError, Pos, Span};
use crate::functions::{
    self, AggregateFunction, ConversionFn, DateTimeFn, DynamicFn, Ret, ScalarFunction, StringFn,
};
use crate::typing;
use crate::value::parse_datetime;
use crate::value::KqlType;
use crate::visit::Walk;

mod builtins;
mod calls;
mod expr;
mod fork;
mod mv_apply;
mod operators;
mod plugins;
mod scan;
mod summarize;
mod tables;

pub use plugins::{ProbeError, SchemaProbe, MAX_PROBE_COLUMNS};

/// Binds a parsed query against `catalog`. Plugins whose output schema depends on the data
/// (`bag_unpack`, `pivot`) are rejected by name; see [`bind_with_probe`].
pub fn bind(query: &Query, catalog: &Catalog) -> Result<BoundQuery, BindError> {
    bind_inner(query, catalog, None)
}

/// Like [`bind`], asking `probe` for the data `bag_unpack` and `pivot` need to know their
/// output columns (see [`SchemaProbe`]).
pub fn bind_with_probe(
    query: &Query,
    catalog: &Catalog,
    probe: &dyn SchemaProbe,
) -> Result<BoundQuery, BindError> {
    bind_inner(query, catalog, Some(probe))
}

fn bind_inner(
    query: &Query,
    catalog: &Catalog,
    probe: Option<&dyn SchemaProbe>,
) -> Result<BoundQuery, BindError> {
    let mut b = Binder {
        catalog,
        probe,
        depth: 0,
        budget: MAX_INLINED_NODES,
        calls: MAX_CALLS,
        scan_steps: Vec::new(),
    };
    let env = b.prelude()?;
    let (_, results) = b.statements(&query.statements, env)?;
    let mut tables = Vec::new();
    for (bound, span) in results {
        match bound {
            Bound::Table(t) => tables.push(t),
            Bound::Scalar(_) => {
                return Err(invalid(
                    "a query statement must be tabular (use 'print' for scalars)",
                    span,
                ))
            }
        }
    }
    if tables.is_empty() {
        return Err(BindError::Invalid {
            message: "the query has no tabular statement".into(),
            pos: query_end(query),
        });
    }
    Ok(BoundQuery {
        results: tables,
        visualization: crate::render::of_query(query)?,
    })
}

/// A table passed for a tabular parameter `name:(c1:t1, ...)` must have those columns with
/// those types (it may have more).
fn check_tabular_arg(
    fname: &str,
    param: &str,
    cols: &[(Ident, KqlType)],
    schema: &Schema,
    span: Span,
) -> Result<(), BindError> {
    for (c, ty) in cols {
        match schema.columns.iter().find(|x| x.name == c.name) {
            Some(x) if x.ty == *ty => {}
            Some(x) => {
                return Err(invalid(
                    format!(
                        "function '{fname}': column '{}' of table parameter '{param}' must be {ty}, got {}",
                        c.name, x.ty
                    ),
                    span,
                ))
            }
            None => {
                return Err(invalid(
                    format!(
                        "function '{fname}': the table for parameter '{param}' has no column '{}' ({ty})",
                        c.name
                    ),
                    span,
                ))
            }
        }
    }
    Ok(())
}

fn query_end(q: &Query) -> Pos {
    match q.statements.last() {
        Some(Statement::Let { name, .. }) => name.span.start,
        Some(Statement::Query(e)) => e.span.start,
        None => Pos {
            line: 1,
            column: 1,
            offset: 0,
        },
    }
}

/// Columns `invoke FileProfile()` adds (those the input lacks): the stored profile columns,
/// then the computed `ProfileAvailability`.
fn file_profile_columns() -> impl Iterator<Item = (&'static str, KqlType)> {
    crate::catalog::FILE_PROFILE_COLUMNS
        .iter()
        .copied()
        .chain(std::iter::once(("ProfileAvailability", KqlType::String)))
}

/// `invoke FileProfile(x, y)`'s default `y` and the largest allowed.
const FILE_PROFILE_LIMIT: (i64, i64) = (100, 1000);

const MAX_CALL_DEPTH: usize = 16;

// Short-lived binder values; boxing the table would only add indirection.
#[allow(clippy::large_enum_variant)]
enum Binding {
    Scalar(BoundExpr, usize),
    Table(BoundTable, usize),
    Function(Rc<FunctionDef>, Env),
}

impl Binding {
    fn scalar(x: BoundExpr) -> Binding {
        let n = x.size();
        Binding::Scalar(x, n)
    }

    fn table(t: BoundTable) -> Binding {
        let n = t.size();
        Binding::Table(t, n)
    }
}

#[derive(Clone, Default)]
struct Env {
    vars: HashMap<String, Rc<Binding>>,
}

#[allow(clippy::large_enum_variant)]
enum Bound {
    Scalar(BoundExpr),
    Table(BoundTable),
}

#[derive(Clone, Copy)]
struct Ctx<'a> {
    env: &'a Env,
    row: Option<&'a Schema>,
    agg: bool,
}

struct Binder<'c> {
    catalog: &'c Catalog,
    /// Runs inputs whose data decides an operator's schema (`bag_unpack`, `pivot`).
    probe: Option<&'c dyn SchemaProbe>,
    depth: usize,
    /// Nodes still allowed to be copied by inlining `let`s and `extend` chains.
    budget: usize,
    /// User-function calls still allowed.
    calls: usize,
    /// The step names of the `scan` whose steps are being bound: `Step.Column` reads the
    /// step's state ([`scan`]).
    scan_steps: Vec<String>,
}

/// Upper bound on nodes produced by inlining (`let a = T; let b = a | join a ...` doubles).
const MAX_INLINED_NODES: usize = 1_000_000;

/// Upper bound on user-function calls bound per query.
const MAX_CALLS: usize = 10_000;

fn invalid(message: impl Into<String>, span: Span) -> BindError {
    BindError::Invalid {
        message: message.into(),
        pos: span.start,
    }
}

fn unknown(kind: &'static str, name: &str, span: Span) -> BindError {
    BindError::Unknown {
        kind,
        name: name.to_string(),
        pos: span.start,
    }
}

fn col_ref(schema: &Schema, index: usize, span: Span) -> BoundExpr {
    let c = &schema.columns[index];
    BoundExpr {
        node: ExprNode::Column {
            index,
            name: c.name.clone(),
        },
        ty: c.ty,
        span,
    }
}

fn identity(schema: &Schema, span: Span) -> Vec<BoundExpr> {
    (0..schema.columns.len())
        .map(|i| col_ref(schema, i, span))
        .collect()
}

/// A fresh name: `name`, else `name1`, `name2`, ... not in `taken`.
fn unique(name: &str, taken: &[Column]) -> String {
    if !taken.iter().any(|c| c.name == name) {
        return name.to_string();
    }
    (1..)
        .map(|k| format!("{name}{k}"))
        .find(|n| !taken.iter().any(|c| &c.name == n))
        .unwrap_or_default()
}

/// `Column1`, `Column2`, ... not in `taken`.
fn generated(counter: &mut usize, taken: &[Column]) -> String {
    loop {
        *counter += 1;
        let n = format!("Column{counter}");
        if !taken.iter().any(|c| c.name == n) {
            return n;
        }
    }
}

/// The output name KQL derives from an expression: a column keeps its name, `a.b` / `a['b']`
/// becomes `a_b`; with `through_calls`, `bin(x, 1h)` / `tostring(x)` keep the first argument's name.
fn derive_name(e: &Expr, through_calls: bool) -> Option<String> {
    match &e.kind {
        ExprKind::Name(n) if !n.starts_with('$') => Some(n.clone()),
        ExprKind::Member { base, name } => {
            let b = derive_name(base, false)?;
            Some(format!("{b}_{}", name.name))
        }
        ExprKind::Index { base, index } => {
            let b = derive_name(base, false)?;
            match &index.kind {
                ExprKind::Literal(Literal::Long(i)) => Some(format!("{b}_{i}")),
                _ => Some(b),
            }
        }
        ExprKind::Call { name, args } if through_calls || name.name == "bin" => {
            args.first().and_then(|a| derive_name(a, through_calls))
        }
        _ => None,
    }
}

/// Replaces input-column references by `exprs[index]` (used to chain `extend` items).
fn substitute(mut e: BoundExpr, exprs: &[BoundExpr]) -> BoundExpr {
    e.rewrite(|x| {
        if let ExprNode::Column { index, .. } = &x.node {
            if let Some(r) = exprs.get(*index) {
                *x = r.clone();
            }
            return Walk::Skip;
        }
        Walk::Descend
    });
    e
}

fn table(node: TableNode, schema: Schema) -> BoundTable {
    BoundTable { node, schema }
}

fn join_kind(p: &OpParam) -> Result<JoinKind, BindError> {
    Ok(match p.value.name.as_str() {
        "innerunique" => JoinKind::InnerUnique,
        "inner" => JoinKind::Inner,
        "leftouter" => JoinKind::LeftOuter,
        "rightouter" => JoinKind::RightOuter,
        "fullouter" | "outer" => JoinKind::FullOuter,
        "leftsemi" | "semi" => JoinKind::LeftSemi,
        "rightsemi" => JoinKind::RightSemi,
        "leftanti" | "anti" | "leftantisemi" => JoinKind::LeftAnti,
        "rightanti" | "rightantisemi" => JoinKind::RightAnti,
        other => {
            return Err(invalid(
                format!("unknown join kind '{other}' (expected inner, innerunique, leftouter, rightouter, fullouter, leftsemi, rightsemi, leftanti, rightanti)"),
                p.value.span,
            ))
        }
    })
}

impl Binder<'_> {
    /// Accounts for `n` copied nodes; fails once the inlining budget is exhausted.
    fn charge(&mut self, n: usize, span: Span) -> Result<(), BindError> {
        if n > self.budget {
            return Err(invalid(
                format!(
                    "the query is too large once lets and extends are inlined (more than {MAX_INLINED_NODES} nodes)"
                ),
                span,
            ));
        }
        self.budget -= n;
        Ok(())
    }

    /// The environment a query starts in: the built-in functions of [`builtins::PRELUDE`]
    /// when the catalog has the tables they read.
    fn prelude(&mut self) -> Result<Env, BindError> {
        if !builtins::PRELUDE_TABLES
            .iter()
            .all(|t| self.catalog.table(t).is_some())
        {
            return Ok(Env::default());
        }
        // Parsed once per process: binding a query must not re-parse the prelude.
        static PARSED: std::sync::OnceLock<Result<Query, crate::error::ParseError>> =
            std::sync::OnceLock::new();
        let q = PARSED
            .get_or_init(|| crate::parser::parse(builtins::PRELUDE))
            .as_ref()
            .map_err(|e| BindError::Invalid {
                message: format!("built-in functions: {e}"),
                pos: e.pos(),
            })?;
        let (env, _) = self.statements(&q.statements, Env::default())?;
        Ok(env)
    }

    fn statements(
        &mut self,
        stmts: &[Statement],
        mut env: Env,
    ) -> Result<(Env, Vec<(Bound, Span)>), BindError> {
        let mut results = Vec::new();
        for s in stmts {
            match s {
                Statement::Let { name, value } => {
                    let binding = match value {
                        LetValue::Function(def) => {
                            Binding::Function(Rc::new(def.clone()), env.clone())
                        }
                        LetValue::Expr(e) => {
                            let ctx = Ctx {
                                env: &env,
                                row: None,
                                agg: false,
                            };
                            match self.any(e, ctx)? {
                                Bound::Scalar(x) => Binding::scalar(x),
                                Bound::Table(t) => Binding::table(t),
                            }
                        }
                    };
                    env.vars.insert(name.name.clone(), Rc::new(binding));
                }
                Statement::Query(e) => {
                    if let Some(tables) = self.result_tables(e, &env)? {
                        results.extend(tables.into_iter().map(|t| (Bound::Table(t), e.span)));
                        continue;
                    }
                    let ctx = Ctx {
                        env: &env,
                        row: None,
                        agg: false,
                    };
                    results.push((self.any(e, ctx)?, e.span));
                }
            }
        }
        Ok((env, results))
    }

    fn table_expr(&mut self, e: &Expr, env: &Env) -> Result<BoundTable, BindError> {
        let ctx = Ctx {
            env,
            row: None,
            agg: false,
        };
        match self.any(e, ctx)? {
            Bound::Table(t) => Ok(t),
            Bound::Scalar(_) => Err(invalid("expected a tabular expression", e.span)),
        }
    }

    fn scalar(&mut self, e: &Expr, ctx: Ctx<'_>) -> Result<BoundExpr, BindError> {
        match self.any(e, ctx)? {
            Bound::Scalar(x) => Ok(x),
            Bound::Table(_) => Err(invalid(
                "expected a scalar expression, found a table (use toscalar())",
                e.span,
            )),
        }
    }
}

fn row<'a>(env: &'a Env, schema: &'a Schema) -> Ctx<'a> {
    Ctx {
        env,
        row: Some(schema),
        agg: false,
    }
}

fn project(t: BoundTable, exprs: Vec<BoundExpr>, cols: Vec<Column>) -> BoundTable {
    table(
        TableNode::Project {
            input: Box::new(t),
            exprs,
        },
        Schema::new(cols),
    )
}

fn select(t: BoundTable, idx: &[usize], span: Span) -> BoundTable {
    let exprs = idx.iter().map(|&i| col_ref(&t.schema, i, span)).collect();
    let cols = idx.iter().map(|&i| t.schema.columns[i].clone()).collect();
    project(t, exprs, cols)
}
