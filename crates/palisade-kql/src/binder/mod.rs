//! Binder: resolves tables, `let`s, user functions, columns and types, producing [`BoundQuery`].

use std::collections::HashMap;
use std::rc::Rc;

use crate::ast::*;
use crate::bound::*;
use crate::visit::Walk;
use crate::catalog::{wildcard_match, Catalog, Column, Schema, FILE_PROFILE_KEYS};
use crate::error::{BindError, Pos, Span};
use crate::functions::{
    self, AggregateFunction, ConversionFn, DateTimeFn, DynamicFn, Ret, ScalarFunction, StringFn,
};
use crate::typing;
use crate::value::parse_datetime;
use crate::value::KqlType;

mod builtins;
mod plugins;

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
    Ok(BoundQuery { results: tables })
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

    fn any(&mut self, e: &Expr, ctx: Ctx<'_>) -> Result<Bound, BindError> {
        let span = e.span;
        let mk = |node, ty| Ok(Bound::Scalar(BoundExpr { node, ty, span }));
        match &e.kind {
            ExprKind::Literal(l) => mk(ExprNode::Literal(l.clone()), l.ty()),
            ExprKind::Name(n) => self.name(n, span, ctx),
            ExprKind::Star => Err(invalid(
                "'*' is only allowed as an argument of arg_max, arg_min, take_any, count or in distinct",
                span,
            )),
            ExprKind::Member { base, name } => {
                let b = self.scalar(base, ctx)?;
                if b.ty != KqlType::Dynamic {
                    return Err(invalid(
                        format!(
                            "member access '.{}' needs a dynamic value, found {} (use parse_json())",
                            name.name, b.ty
                        ),
                        name.span,
                    ));
                }
                mk(
                    ExprNode::Member {
                        base: Box::new(b),
                        key: name.name.clone(),
                    },
                    KqlType::Dynamic,
                )
            }
            ExprKind::Index { base, index } => {
                let b = self.scalar(base, ctx)?;
                let i = self.scalar(index, ctx)?;
                if b.ty != KqlType::Dynamic {
                    return Err(invalid(
                        format!("indexing needs a dynamic value, found {}", b.ty),
                        span,
                    ));
                }
                mk(
                    ExprNode::Index {
                        base: Box::new(b),
                        index: Box::new(i),
                    },
                    KqlType::Dynamic,
                )
            }
            ExprKind::Call { name, args } => self.call(name, args, span, ctx),
            ExprKind::Neg(x) => {
                let v = self.scalar(x, ctx)?;
                if !(v.ty.is_numeric() || matches!(v.ty, KqlType::TimeSpan | KqlType::Dynamic)) {
                    return Err(invalid(format!("cannot negate a {}", v.ty), span));
                }
                let ty = v.ty;
                mk(ExprNode::Neg(Box::new(v)), ty)
            }
            ExprKind::Binary { .. } => {
                // Long chains (`a or b or c ...`, `x + y + z ...`) are left-deep: walk the left
                // spine iteratively so deep chains cannot exhaust the stack.
                let mut rights = Vec::new();
                let mut cur = e;
                while let ExprKind::Binary { op, lhs, rhs } = &cur.kind {
                    rights.push((*op, rhs.as_ref()));
                    cur = lhs;
                }
                let mut acc = self.scalar(cur, ctx)?;
                for (op, r) in rights.into_iter().rev() {
                    let rb = self.scalar(r, ctx)?;
                    let s = Span {
                        start: acc.span.start,
                        end: rb.span.end,
                    };
                    let ty = self.binary_type(op, &acc, &rb, s)?;
                    acc = BoundExpr {
                        node: ExprNode::Binary {
                            op,
                            lhs: Box::new(acc),
                            rhs: Box::new(rb),
                        },
                        ty,
                        span: s,
                    };
                }
                Ok(Bound::Scalar(acc))
            }
            ExprKind::List { op, expr, items } => {
                let x = self.scalar(expr, ctx)?;
                if items.len() == 1 {
                    if let Bound::Table(t) = self.any(&items[0], ctx)? {
                        if t.schema.columns.is_empty() {
                            return Err(invalid("the subquery has no columns", items[0].span));
                        }
                        return mk(
                            ExprNode::InSubquery {
                                op: *op,
                                expr: Box::new(x),
                                query: Box::new(t),
                            },
                            KqlType::Bool,
                        );
                    }
                }
                let mut bound = Vec::with_capacity(items.len());
                for it in items {
                    bound.push(self.scalar(it, ctx)?);
                }
                mk(
                    ExprNode::InList {
                        op: *op,
                        expr: Box::new(x),
                        items: bound,
                    },
                    KqlType::Bool,
                )
            }
            ExprKind::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let x = self.scalar(expr, ctx)?;
                let lo = self.scalar(low, ctx)?;
                let hi = self.scalar(high, ctx)?;
                for b in [&lo, &hi] {
                    let ok = typing::common_type(x.ty, b.ty).is_some()
                        || (x.ty == KqlType::DateTime && b.ty == KqlType::TimeSpan);
                    if !ok {
                        return Err(invalid(
                            format!("between: cannot compare {} with {}", x.ty, b.ty),
                            b.span,
                        ));
                    }
                }
                mk(
                    ExprNode::Between {
                        expr: Box::new(x),
                        low: Box::new(lo),
                        high: Box::new(hi),
                        negated: *negated,
                    },
                    KqlType::Bool,
                )
            }
            ExprKind::Pipe { source, ops } => {
                let mut t = self.table_expr(source, ctx.env)?;
                for op in ops {
                    t = self.operator(t, op, ctx.env)?;
                }
                Ok(Bound::Table(t))
            }
            ExprKind::Union(spec) => Ok(Bound::Table(self.union(None, spec, ctx.env)?)),
            ExprKind::Search(spec) => Ok(Bound::Table(self.search(None, spec, ctx.env)?)),
            ExprKind::Find(spec) => Ok(Bound::Table(self.find(spec, ctx.env)?)),
            ExprKind::Datatable { columns, values } => {
                let schema = Schema::new(
                    columns
                        .iter()
                        .map(|(n, t)| Column::new(n.name.clone(), *t))
                        .collect(),
                );
                let vctx = Ctx {
                    env: ctx.env,
                    row: None,
                    agg: false,
                };
                let mut rows = Vec::new();
                for chunk in values.chunks(columns.len().max(1)) {
                    let mut row = Vec::new();
                    for (v, c) in chunk.iter().zip(&schema.columns) {
                        let b = self.scalar(v, vctx)?;
                        if typing::common_type(b.ty, c.ty).is_none() {
                            return Err(invalid(
                                format!(
                                    "datatable column '{}' is {}, value is {}",
                                    c.name, c.ty, b.ty
                                ),
                                v.span,
                            ));
                        }
                        row.push(b);
                    }
                    rows.push(row);
                }
                Ok(Bound::Table(table(TableNode::Values { rows }, schema)))
            }
            ExprKind::Range {
                name,
                from,
                to,
                step,
            } => {
                let c = Ctx { row: None, ..ctx };
                let f = self.scalar(from, c)?;
                let t = self.scalar(to, c)?;
                let s = self.scalar(step, c)?;
                let ty = typing::common_type(f.ty, t.ty)
                    .ok_or_else(|| invalid("range bounds have different types", span))?;
                let ty = if ty == KqlType::Int {
                    KqlType::Long
                } else {
                    ty
                };
                Ok(Bound::Table(table(
                    TableNode::Range {
                        from: f,
                        to: t,
                        step: s,
                    },
                    Schema::new(vec![Column::new(name.name.clone(), ty)]),
                )))
            }
            ExprKind::Print(items) => {
                let c = Ctx {
                    env: ctx.env,
                    row: None,
                    agg: false,
                };
                let mut cols = Vec::new();
                let mut exprs = Vec::new();
                for (i, it) in items.iter().enumerate() {
                    let x = self.scalar(&it.expr, c)?;
                    let name = it
                        .names
                        .first()
                        .map(|n| n.name.clone())
                        .unwrap_or_else(|| format!("print_{i}"));
                    cols.push(Column::new(unique(&name, &cols), x.ty));
                    exprs.push(x);
                }
                Ok(Bound::Table(table(
                    TableNode::Print { exprs },
                    Schema::new(cols),
                )))
            }
        }
    }

    /// A scan of catalog table `n` (the tenant scope is applied by the engine's scans).
    fn catalog_scan(&self, n: &str) -> Option<BoundTable> {
        let schema = self.catalog.table(n)?;
        Some(table(
            TableNode::Scan {
                table: n.to_string(),
            },
            schema.clone(),
        ))
    }

    fn name(&mut self, n: &str, span: Span, ctx: Ctx<'_>) -> Result<Bound, BindError> {
        if let Some(row) = ctx.row {
            if let Some((i, _)) = row.find(n) {
                return Ok(Bound::Scalar(col_ref(row, i, span)));
            }
        }
        if let Some(b) = ctx.env.vars.get(n).cloned() {
            return match &*b {
                Binding::Scalar(x, size) => {
                    self.charge(*size, span)?;
                    Ok(Bound::Scalar(x.clone()))
                }
                Binding::Table(t, size) => {
                    self.charge(*size, span)?;
                    Ok(Bound::Table(t.clone()))
                }
                Binding::Function(def, closure) => self.call_user(n, def, closure, &[], span, ctx),
            };
        }
        if let Some(t) = self.catalog_scan(n) {
            return Ok(Bound::Table(t));
        }
        if ctx.row.is_some() {
            Err(unknown("column", n, span))
        } else {
            Err(unknown("table or name", n, span))
        }
    }

    /// Checks `invoke FileProfile(x, y)`'s arguments against `input` and returns them in the
    /// form the planner expects: `[key column, Long limit]` (defaults `SHA1` and 100). `x` may be
    /// a column name or a string naming it; `y` is a constant from 1 to 1000.
    fn file_profile_args(
        &mut self,
        input: &BoundTable,
        args: &[Expr],
        at: Span,
        env: &Env,
    ) -> Result<Vec<BoundExpr>, BindError> {
        if args.len() > 2 {
            return Err(invalid(
                format!(
                    "FileProfile() takes at most 2 arguments (file id column, record limit), got {}",
                    args.len()
                ),
                args[2].span,
            ));
        }
        let (key, key_span) = match args.first() {
            None => ("SHA1".to_string(), at),
            Some(a) => match &a.kind {
                ExprKind::Name(n) => (n.clone(), a.span),
                ExprKind::Literal(Literal::String(n)) => (n.clone(), a.span),
                _ => {
                    return Err(invalid(
                        format!(
                            "FileProfile()'s first argument must be one of {}",
                            FILE_PROFILE_KEYS.join(", ")
                        ),
                        a.span,
                    ))
                }
            },
        };
        if !FILE_PROFILE_KEYS.contains(&key.as_str()) {
            return Err(invalid(
                format!(
                    "FileProfile() file id column '{key}' must be one of {}",
                    FILE_PROFILE_KEYS.join(", ")
                ),
                key_span,
            ));
        }
        let Some(index) = input.schema.columns.iter().position(|c| c.name == key) else {
            return Err(invalid(
                format!("FileProfile(): the input has no '{key}' column to use as the file id"),
                key_span,
            ));
        };
        let key_ty = input.schema.columns[index].ty;
        if !matches!(key_ty, KqlType::String | KqlType::Guid) {
            return Err(invalid(
                format!("FileProfile(): the file id column '{key}' must be a string, not {key_ty}"),
                key_span,
            ));
        }
        let limit = match args.get(1) {
            None => FILE_PROFILE_LIMIT.0,
            Some(a) => {
                let b = self.scalar(a, row(env, &input.schema))?;
                let (lo, hi) = (1, FILE_PROFILE_LIMIT.1);
                match crate::fold::const_eval(&b, 0) {
                    Some(Literal::Long(v)) if (lo..=hi).contains(&v) => v,
                    Some(Literal::Int(v)) if (lo..=hi).contains(&(v as i64)) => v as i64,
                    _ => {
                        return Err(invalid(
                            format!(
                                "FileProfile()'s record limit must be a constant from {lo} to {hi}"
                            ),
                            a.span,
                        ))
                    }
                }
            }
        };
        Ok(vec![
            BoundExpr {
                node: ExprNode::Column { index, name: key },
                ty: key_ty,
                span: key_span,
            },
            BoundExpr {
                node: ExprNode::Literal(Literal::Long(limit)),
                ty: KqlType::Long,
                span: args.get(1).map_or(at, |a| a.span),
            },
        ])
    }

    fn call_user(
        &mut self,
        fname: &str,
        def: &FunctionDef,
        closure: &Env,
        args: &[Expr],
        span: Span,
        ctx: Ctx<'_>,
    ) -> Result<Bound, BindError> {
        if self.calls == 0 {
            return Err(invalid(
                format!("the query calls user functions more than {MAX_CALLS} times"),
                span,
            ));
        }
        self.calls -= 1;
        if self.depth >= MAX_CALL_DEPTH {
            return Err(invalid(
                format!("function '{fname}' calls itself too deeply"),
                span,
            ));
        }
        if args.len() > def.params.len() {
            return Err(invalid(
                format!(
                    "function '{fname}' takes {} arguments, got {}",
                    def.params.len(),
                    args.len()
                ),
                span,
            ));
        }
        let mut fenv = closure.clone();
        for (i, p) in def.params.iter().enumerate() {
            let value = if let Some(a) = args.get(i) {
                self.any(a, ctx)?
            } else if let Some(d) = &p.default {
                self.any(
                    d,
                    Ctx {
                        env: closure,
                        row: None,
                        agg: false,
                    },
                )?
            } else {
                return Err(invalid(
                    format!("function '{fname}': missing argument '{}'", p.name.name),
                    span,
                ));
            };
            let binding = match (&p.ty, value) {
                (ParamType::Scalar(_), Bound::Scalar(x)) => Binding::scalar(x),
                (ParamType::Tabular(cols), Bound::Table(t)) => {
                    check_tabular_arg(
                        fname,
                        &p.name.name,
                        cols,
                        &t.schema,
                        args.get(i).map_or(span, |a| a.span),
                    )?;
                    Binding::table(t)
                }
                (ParamType::Scalar(t), Bound::Table(_)) => {
                    return Err(invalid(
                        format!(
                            "function '{fname}': parameter '{}' is a {t}, got a table",
                            p.name.name
                        ),
                        args.get(i).map_or(span, |a| a.span),
                    ))
                }
                (ParamType::Tabular(_), Bound::Scalar(_)) => {
                    return Err(invalid(
                        format!(
                            "function '{fname}': parameter '{}' is a table, got a scalar",
                            p.name.name
                        ),
                        args.get(i).map_or(span, |a| a.span),
                    ))
                }
            };
            fenv.vars.insert(p.name.name.clone(), Rc::new(binding));
        }
        self.depth += 1;
        let r = self.statements(&def.body, fenv);
        self.depth -= 1;
        let (_, mut results) = r?;
        match results.pop() {
            Some((b, _)) => Ok(b),
            None => Err(invalid(
                format!("function '{fname}' has no result expression"),
                def.span,
            )),
        }
    }

    fn binary_type(
        &self,
        op: BinOp,
        l: &BoundExpr,
        r: &BoundExpr,
        span: Span,
    ) -> Result<KqlType, BindError> {
        use KqlType::*;
        let (a, b) = (l.ty, r.ty);
        match op {
            BinOp::And | BinOp::Or => {
                for x in [l, r] {
                    if !matches!(x.ty, Bool | Dynamic) {
                        return Err(invalid(
                            format!("'and'/'or' need bool operands, found {}", x.ty),
                            x.span,
                        ));
                    }
                }
                Ok(Bool)
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                // bool compares with integers (`IsSigned == 1`), guid with string.
                let ok = typing::common_type(a, b).is_some()
                    || matches!((a, b), (Guid, String) | (String, Guid))
                    || matches!((a, b), (Bool, Int | Long) | (Int | Long, Bool));
                if !ok {
                    return Err(invalid(format!("cannot compare {a} with {b}"), span));
                }
                Ok(Bool)
            }
            BinOp::Str(_) => Ok(Bool),
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let sym = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                    _ => "%",
                };
                typing::arithmetic(sym, a, b).ok_or_else(|| {
                    invalid(format!("operator '{sym}' cannot combine {a} and {b}"), span)
                })
            }
        }
    }

    fn call(
        &mut self,
        name: &Ident,
        args: &[Expr],
        span: Span,
        ctx: Ctx<'_>,
    ) -> Result<Bound, BindError> {
        let n = name.name.as_str();
        let scalar = |node, ty| Ok(Bound::Scalar(BoundExpr { node, ty, span }));
        match n {
            "toscalar" => {
                let [a] = args else {
                    return Err(invalid("toscalar() takes one argument", span));
                };
                // toscalar() of a scalar expression is that expression.
                let t = match self.any(
                    a,
                    Ctx {
                        row: None,
                        agg: false,
                        ..ctx
                    },
                )? {
                    Bound::Scalar(x) => return Ok(Bound::Scalar(x)),
                    Bound::Table(t) => t,
                };
                let ty =
                    t.schema.columns.first().map(|c| c.ty).ok_or_else(|| {
                        invalid("toscalar(): the subquery has no columns", a.span)
                    })?;
                return scalar(ExprNode::ScalarSubquery(Box::new(t)), ty);
            }
            "materialize" => {
                let [a] = args else {
                    return Err(invalid("materialize() takes one argument", span));
                };
                return Ok(Bound::Table(self.table_expr(a, ctx.env)?));
            }
            "pack_all" => {
                // `pack_all([ignore_null_empty])`: a bag of every column of the row, as
                // `bag_pack("c1", c1, ...)`; with `true`, null and empty-string values are left
                // out.
                let Some(row) = ctx.row else {
                    return Err(invalid(
                        "pack_all() needs a row: use it in extend, project or where",
                        span,
                    ));
                };
                let skip_empty = match args {
                    [] => false,
                    [a] => match &self.scalar(a, ctx)?.node {
                        ExprNode::Literal(Literal::Bool(b)) => *b,
                        _ => {
                            return Err(invalid(
                                "pack_all(): ignore_null_empty is a constant bool",
                                a.span,
                            ))
                        }
                    },
                    _ => return Err(invalid("pack_all() takes at most one argument", span)),
                };
                let mut pairs = Vec::with_capacity(2 * row.columns.len());
                for (i, c) in row.columns.iter().enumerate() {
                    pairs.push(BoundExpr {
                        node: ExprNode::Literal(Literal::String(c.name.clone())),
                        ty: KqlType::String,
                        span,
                    });
                    pairs.push(col_ref(row, i, span));
                }
                let func = ScalarFunction::Dynamic(if skip_empty {
                    DynamicFn::BagPackNonEmpty
                } else {
                    DynamicFn::BagPack
                });
                return scalar(
                    ExprNode::Call { func, args: pairs },
                    KqlType::Dynamic,
                );
            }
            "table" => {
                // `table(name [, scope])`: a table (or tabular `let`) named by a constant string;
                // the scan is the caller's tenant's, like the bare name's. The
                // data scope is accepted: every row here is "hot", so all three scopes read the
                // same rows.
                let (arg, scope) = match args {
                    [a] => (a, None),
                    [a, s] => (a, Some(s)),
                    _ => {
                        return Err(invalid(
                            "table() takes a name and an optional data scope",
                            span,
                        ))
                    }
                };
                let no_row = Ctx {
                    row: None,
                    agg: false,
                    ..ctx
                };
                if let Some(s) = scope {
                    let scope = self.scalar(s, no_row)?;
                    let ok = matches!(&scope.node, ExprNode::Literal(Literal::String(v))
                        if matches!(v.as_str(), "all" | "default" | "hotcache"));
                    if !ok {
                        return Err(invalid(
                            "table(): the data scope is 'all', 'default' or 'hotcache'",
                            s.span,
                        ));
                    }
                }
                let name = self.scalar(arg, no_row)?;
                let ExprNode::Literal(Literal::String(table_name)) = &name.node else {
                    return Err(invalid("table() takes a constant string", arg.span));
                };
                // The catalog's table first (Kusto's table() reaches a table a `let` or
                // function of the same name hides), then a tabular `let` or function.
                if let Some(t) = self.catalog_scan(table_name) {
                    return Ok(Bound::Table(t));
                }
                return match self.name(table_name, arg.span, no_row)? {
                    Bound::Table(t) => Ok(Bound::Table(t)),
                    Bound::Scalar(_) => Err(invalid(
                        format!("table(): '{table_name}' is not a table"),
                        arg.span,
                    )),
                };
            }
            "typeof" => {
                if let [Expr {
                    kind: ExprKind::Name(t),
                    ..
                }] = args
                {
                    if let Some(ty) = KqlType::from_name(t) {
                        return scalar(ExprNode::TypeOf(ty), ty);
                    }
                }
                return Err(invalid("typeof() takes a type name", span));
            }
            _ => {}
        }
        if let Some(b) = ctx.env.vars.get(n).cloned() {
            if let Binding::Function(def, closure) = &*b {
                return self.call_user(n, def, closure, args, span, ctx);
            }
            return Err(invalid(format!("'{n}' is not a function"), name.span));
        }
        if functions::is_rejected_by_name(n) {
            return Err(BindError::Unsupported {
                what: "function",
                name: n.to_string(),
                pos: name.span.start,
            });
        }
        if let Some(ScalarFunction::Series(_)) = ScalarFunction::lookup(n) {
            return Err(invalid(
                format!("'{n}' returns several results; use 'extend (a, b, ...) = {n}(...)'"),
                name.span,
            ));
        }
        if let Some(func) = AggregateFunction::lookup(n) {
            if !ctx.agg {
                return Err(invalid(
                    format!("aggregate function '{n}' is only allowed in summarize"),
                    name.span,
                ));
            }
            let sig = func.signature();
            let inner = Ctx { agg: false, ..ctx };
            let mut bound = Vec::new();
            for a in args {
                if matches!(a.kind, ExprKind::Star) && func == AggregateFunction::Count {
                    continue;
                }
                bound.push(self.scalar(a, inner)?);
            }
            check_arity(n, sig.min, sig.max, bound.len(), span)?;
            if func.is_multi_output() && bound.len() > 1 {
                return Err(invalid(
                    format!("'{n}' with several arguments must be a whole summarize item"),
                    span,
                ));
            }
            let ty = result_type(sig.ret, &bound, n, span)?;
            return scalar(
                ExprNode::Aggregate {
                    func,
                    args: bound,
                    output: 0,
                },
                ty,
            );
        }
        if let Some(func) = ScalarFunction::lookup(n) {
            let sig = func.signature();
            let mut bound = Vec::new();
            for a in args {
                bound.push(self.scalar(a, ctx)?);
            }
            check_arity(n, sig.min, sig.max, bound.len(), span)?;
            // datetime("2021-01-01") with a literal string becomes a datetime literal.
            if n == "datetime" {
                if let [BoundExpr {
                    node: ExprNode::Literal(Literal::String(s)),
                    ..
                }] = bound.as_slice()
                {
                    if let Some(v) = parse_datetime(s) {
                        return scalar(ExprNode::Literal(Literal::DateTime(v)), KqlType::DateTime);
                    }
                }
            }
            if func == ScalarFunction::DateTime(DateTimeFn::Ago)
                && !matches!(bound[0].ty, KqlType::TimeSpan | KqlType::Dynamic)
            {
                return Err(invalid(
                    format!("ago() needs a timespan, found {}", bound[0].ty),
                    bound[0].span,
                ));
            }
            let mut ty = result_type(sig.ret, &bound, n, span)?;
            if func == ScalarFunction::String(StringFn::Extract) {
                if let Some(BoundExpr {
                    node: ExprNode::TypeOf(t),
                    ..
                }) = bound.get(3)
                {
                    ty = *t;
                }
            }
            return scalar(ExprNode::Call { func, args: bound }, ty);
        }
        Err(unknown("function", n, name.span))
    }

    // ------------------------------------------------------------------ operators

    fn operator(
        &mut self,
        t: BoundTable,
        op: &Operator,
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let span = op.span;
        match &op.kind {
            OpKind::Where(e) => {
                let p = self.scalar(e, row(env, &t.schema))?;
                if !matches!(p.ty, KqlType::Bool | KqlType::Dynamic) {
                    return Err(invalid(
                        format!("the where predicate must be bool, found {}", p.ty),
                        e.span,
                    ));
                }
                let schema = t.schema.clone();
                Ok(table(
                    TableNode::Filter {
                        input: Box::new(t),
                        predicate: p,
                    },
                    schema,
                ))
            }
            OpKind::Project(items) => {
                let mut cols = Vec::new();
                let mut exprs = Vec::new();
                let mut counter = 0;
                for it in items {
                    if it.names.len() > 1 {
                        return Err(invalid(
                            "'(a, b, ...) = ' is only allowed in extend and summarize",
                            it.expr.span,
                        ));
                    }
                    let x = self.scalar(&it.expr, row(env, &t.schema))?;
                    let name = match it.names.first() {
                        Some(n) => n.name.clone(),
                        None => derive_name(&it.expr, true)
                            .unwrap_or_else(|| generated(&mut counter, &cols)),
                    };
                    cols.push(Column::new(unique(&name, &cols), x.ty));
                    exprs.push(x);
                }
                Ok(project(t, exprs, cols))
            }
            OpKind::Extend(items) => self.extend(t, items, env),
            OpKind::ProjectAway(pats) => {
                let keep = self.match_patterns(&t.schema, pats)?;
                let idx: Vec<usize> = (0..t.schema.columns.len())
                    .filter(|i| !keep.contains(i))
                    .collect();
                Ok(select(t, &idx, span))
            }
            OpKind::ProjectKeep(pats) => {
                let m = self.match_patterns(&t.schema, pats)?;
                let idx: Vec<usize> = (0..t.schema.columns.len())
                    .filter(|i| m.contains(i))
                    .collect();
                Ok(select(t, &idx, span))
            }
            OpKind::ProjectReorder(pats) => {
                let mut idx = self.match_patterns(&t.schema, pats)?;
                for i in 0..t.schema.columns.len() {
                    if !idx.contains(&i) {
                        idx.push(i);
                    }
                }
                Ok(select(t, &idx, span))
            }
            OpKind::ProjectRename(pairs) => {
                let mut cols = t.schema.columns.clone();
                for (new, old) in pairs {
                    let (i, _) = t
                        .schema
                        .find(&old.name)
                        .ok_or_else(|| unknown("column", &old.name, old.span))?;
                    cols[i].name = new.name.clone();
                }
                for (new, _) in pairs {
                    if cols.iter().filter(|c| c.name == new.name).count() > 1 {
                        return Err(invalid(
                            format!("project-rename: column '{}' already exists", new.name),
                            new.span,
                        ));
                    }
                }
                let exprs = identity(&t.schema, span);
                Ok(project(t, exprs, cols))
            }
            OpKind::Summarize { aggs, by, .. } => self.summarize(t, aggs, by, env),
            OpKind::Sort(keys) => {
                let keys = self.sort_keys(&t.schema, keys, env)?;
                let schema = t.schema.clone();
                Ok(table(
                    TableNode::Sort {
                        input: Box::new(t),
                        keys,
                    },
                    schema,
                ))
            }
            OpKind::Top { n, by } => {
                let n = self.count_expr(n, env)?;
                let keys = self.sort_keys(&t.schema, std::slice::from_ref(by), env)?;
                let schema = t.schema.clone();
                let sorted = table(
                    TableNode::Sort {
                        input: Box::new(t),
                        keys,
                    },
                    schema.clone(),
                );
                Ok(table(
                    TableNode::Limit {
                        input: Box::new(sorted),
                        n,
                    },
                    schema,
                ))
            }
            OpKind::Take(n) => {
                let n = self.count_expr(n, env)?;
                let schema = t.schema.clone();
                Ok(table(
                    TableNode::Limit {
                        input: Box::new(t),
                        n,
                    },
                    schema,
                ))
            }
            OpKind::Sample(n) => {
                let n = self.count_expr(n, env)?;
                let schema = t.schema.clone();
                Ok(table(
                    TableNode::Sample {
                        input: Box::new(t),
                        n,
                    },
                    schema,
                ))
            }
            OpKind::Distinct(items) => {
                let t = if matches!(
                    items.as_slice(),
                    [Expr {
                        kind: ExprKind::Star,
                        ..
                    }]
                ) {
                    t
                } else {
                    let named: Vec<NamedExpr> = items
                        .iter()
                        .map(|e| NamedExpr {
                            names: Vec::new(),
                            expr: e.clone(),
                        })
                        .collect();
                    self.operator(
                        t,
                        &Operator {
                            kind: OpKind::Project(named),
                            span,
                        },
                        env,
                    )?
                };
                let schema = t.schema.clone();
                Ok(table(TableNode::Distinct { input: Box::new(t) }, schema))
            }
            OpKind::Count => Ok(table(
                TableNode::Count { input: Box::new(t) },
                Schema::new(vec![Column::new("Count", KqlType::Long)]),
            )),
            OpKind::Join { params, right, on } => {
                let mut kind = JoinKind::InnerUnique;
                for p in params {
                    if p.name.name == "kind" {
                        kind = join_kind(p)?;
                    }
                }
                let r = self.table_expr(right, env)?;
                self.join(t, r, kind, on, false)
            }
            OpKind::Lookup { params, right, on } => {
                let mut kind = JoinKind::LeftOuter;
                for p in params {
                    if p.name.name == "kind" {
                        kind = match p.value.name.as_str() {
                            "leftouter" => JoinKind::LeftOuter,
                            "inner" => JoinKind::Inner,
                            other => {
                                return Err(invalid(
                                    format!(
                                    "unknown lookup kind '{other}' (expected leftouter or inner)"
                                ),
                                    p.value.span,
                                ))
                            }
                        };
                    }
                }
                let r = self.table_expr(right, env)?;
                self.join(t, r, kind, on, true)
            }
            OpKind::Union(spec) => self.union(Some(t), spec, env),
            OpKind::Search(spec) => self.search(Some(t), spec, env),
            OpKind::MvExpand {
                params,
                items,
                limit,
            } => self.mv_expand(t, params, items, limit.as_ref(), env),
            OpKind::Parse {
                params,
                expr,
                pattern,
            } => {
                let source = self.scalar(expr, row(env, &t.schema))?;
                let mut kind = ParseKind::Simple;
                let mut flags = None;
                for p in params {
                    match p.name.name.as_str() {
                        "kind" => {
                            kind = match p.value.name.as_str() {
                                "simple" => ParseKind::Simple,
                                "regex" => ParseKind::Regex,
                                "relaxed" => ParseKind::Relaxed,
                                other => {
                                    return Err(invalid(
                                        format!(
                                            "unknown parse kind '{other}' (expected simple, regex or relaxed)"
                                        ),
                                        p.value.span,
                                    ))
                                }
                            };
                        }
                        "flags" => flags = Some(p.value.name.clone()),
                        _ => {}
                    }
                }
                let mut cols = t.schema.columns.clone();
                let mut parts = Vec::new();
                for part in pattern {
                    parts.push(match part {
                        ParsePart::Text(s) => BoundParsePart::Text(s.clone()),
                        ParsePart::Any => BoundParsePart::Any,
                        ParsePart::Capture(id, ty) => {
                            let ty = ty.unwrap_or(KqlType::String);
                            let column = match cols.iter().position(|c| c.name == id.name) {
                                Some(i) => {
                                    cols[i].ty = ty;
                                    i
                                }
                                None => {
                                    cols.push(Column::new(id.name.clone(), ty));
                                    cols.len() - 1
                                }
                            };
                            BoundParsePart::Capture { column, ty }
                        }
                    });
                }
                Ok(table(
                    TableNode::Parse {
                        input: Box::new(t),
                        source,
                        kind,
                        flags,
                        pattern: parts,
                    },
                    Schema::new(cols),
                ))
            }
            OpKind::As(_) | OpKind::Render(_) => Ok(t),
            OpKind::Serialize(items) => {
                let schema = t.schema.clone();
                let s = table(TableNode::Serialize { input: Box::new(t) }, schema);
                if items.is_empty() {
                    Ok(s)
                } else {
                    self.extend(s, items, env)
                }
            }
            OpKind::GetSchema => Ok(table(
                TableNode::GetSchema { input: Box::new(t) },
                Schema::new(vec![
                    Column::new("ColumnName", KqlType::String),
                    Column::new("ColumnOrdinal", KqlType::Int),
                    Column::new("DataType", KqlType::String),
                    Column::new("ColumnType", KqlType::String),
                ]),
            )),
            OpKind::Invoke(call) => {
                let ExprKind::Call { name, args } = &call.kind else {
                    return Err(invalid("invoke needs a function call", call.span));
                };
                if name.name != "FileProfile" {
                    if let Some(b) = env.vars.get(&name.name).cloned() {
                        if let Binding::Function(def, closure) = &*b {
                            // invoke f(args) == f(input, args): the first parameter is the input.
                            let mut fenv = closure.clone();
                            let Some(first) = def.params.first() else {
                                return Err(invalid(
                                    format!("function '{}' takes no table to invoke", name.name),
                                    name.span,
                                ));
                            };
                            if let ParamType::Tabular(cols) = &first.ty {
                                check_tabular_arg(
                                    &name.name,
                                    &first.name.name,
                                    cols,
                                    &t.schema,
                                    call.span,
                                )?;
                            }
                            fenv.vars
                                .insert(first.name.name.clone(), Rc::new(Binding::table(t)));
                            let rest = FunctionDef {
                                params: def.params[1..].to_vec(),
                                ..(**def).clone()
                            };
                            let ctx = Ctx {
                                env,
                                row: None,
                                agg: false,
                            };
                            return match self
                                .call_user(&name.name, &rest, &fenv, args, call.span, ctx)?
                            {
                                Bound::Table(t) => Ok(t),
                                Bound::Scalar(_) => Err(invalid(
                                    format!("function '{}' does not return a table", name.name),
                                    name.span,
                                )),
                            };
                        }
                    }
                    return Err(BindError::Unsupported {
                        what: "invoke function",
                        name: name.name.clone(),
                        pos: name.span.start,
                    });
                }
                let bound = self.file_profile_args(&t, args, name.span, env)?;
                let mut cols = t.schema.columns.clone();
                for (n, ty) in file_profile_columns() {
                    if !cols.iter().any(|c| c.name == n) {
                        cols.push(Column::new(n, ty));
                    }
                }
                Ok(table(
                    TableNode::Invoke {
                        input: Box::new(t),
                        function: name.name.clone(),
                        args: bound,
                    },
                    Schema::new(cols),
                ))
            }
            OpKind::MakeSeries(ms) => {
                let MakeSeries {
                    params,
                    aggs,
                    on,
                    from,
                    to,
                    step,
                    by,
                } = &**ms;
                let mut nonempty = false;
                for p in params {
                    if p.name.name == "kind" {
                        nonempty = p.value.name == "nonempty";
                    }
                    if p.name.name == "kind" && p.value.name != "nonempty" {
                        return Err(invalid(
                            format!(
                                "unknown make-series kind '{}' (expected nonempty)",
                                p.value.name
                            ),
                            p.value.span,
                        ));
                    }
                }
                let rctx = row(env, &t.schema);
                let axis = self.scalar(on, rctx)?;
                let axis_name = derive_name(on, false)
                    .ok_or_else(|| invalid("make-series 'on' must name a column", on.span))?;
                let bounds =
                    |b: &mut Self, e: &Option<Expr>| -> Result<Option<BoundExpr>, BindError> {
                        match e {
                            Some(e) => Ok(Some(b.scalar(e, Ctx { row: None, ..rctx })?)),
                            None => Ok(None),
                        }
                    };
                let from = bounds(self, from)?;
                let to = bounds(self, to)?;
                let step = self.scalar(step, Ctx { row: None, ..rctx })?;
                let mut cols: Vec<Column> = Vec::new();
                let mut keys = Vec::new();
                let mut counter = 0;
                for it in by {
                    let x = self.scalar(&it.expr, rctx)?;
                    let name = match it.names.first() {
                        Some(n) => n.name.clone(),
                        None => derive_name(&it.expr, true)
                            .unwrap_or_else(|| generated(&mut counter, &cols)),
                    };
                    cols.push(Column::new(unique(&name, &cols), x.ty));
                    keys.push(x);
                }
                let mut out = Vec::new();
                for (it, default) in aggs {
                    let x = self.scalar(&it.expr, Ctx { agg: true, ..rctx })?;
                    if !x.contains_aggregate() {
                        return Err(invalid(
                            "a make-series item must use an aggregate function",
                            it.expr.span,
                        ));
                    }
                    let d = match default {
                        Some(d) => Some(self.scalar(d, Ctx { row: None, ..rctx })?),
                        None => None,
                    };
                    let name = match it.names.first() {
                        Some(n) => n.name.clone(),
                        None => default_agg_name(&it.expr, &x)
                            .unwrap_or_else(|| generated(&mut counter, &cols)),
                    };
                    cols.push(Column::new(unique(&name, &cols), KqlType::Dynamic));
                    out.push((x, d));
                }
                cols.push(Column::new(unique(&axis_name, &cols), KqlType::Dynamic));
                Ok(table(
                    TableNode::MakeSeries {
                        input: Box::new(t),
                        keys,
                        aggs: out,
                        axis,
                        from,
                        to,
                        step,
                        nonempty,
                    },
                    Schema::new(cols),
                ))
            }
            OpKind::TopNested(levels) => {
                let mut cols: Vec<Column> = Vec::new();
                let mut out = Vec::new();
                let mut counter = 0;
                for l in levels {
                    let n = match &l.n {
                        Some(e) => Some(self.count_expr(e, env)?),
                        None => None,
                    };
                    let key = self.scalar(&l.of.expr, row(env, &t.schema))?;
                    let key_name = match l.of.names.first() {
                        Some(n) => n.name.clone(),
                        None => derive_name(&l.of.expr, true)
                            .unwrap_or_else(|| generated(&mut counter, &cols)),
                    };
                    let others = match &l.others {
                        Some(e) => Some(self.scalar(e, row(env, &t.schema))?),
                        None => None,
                    };
                    let agg = self.scalar(
                        &l.by.expr,
                        Ctx {
                            env,
                            row: Some(&t.schema),
                            agg: true,
                        },
                    )?;
                    if !agg.contains_aggregate() {
                        return Err(invalid(
                            "top-nested ranks by an aggregate (count(), sum(), ...)",
                            l.by.expr.span,
                        ));
                    }
                    let agg_name = match l.by.names.first() {
                        Some(n) => n.name.clone(),
                        None => format!("aggregated_{key_name}"),
                    };
                    cols.push(Column::new(unique(&key_name, &cols), key.ty));
                    cols.push(Column::new(unique(&agg_name, &cols), agg.ty));
                    out.push(BoundTopNestedLevel {
                        n,
                        key,
                        others,
                        agg,
                        asc: l.asc,
                    });
                }
                Ok(table(
                    TableNode::TopNested {
                        input: Box::new(t),
                        levels: out,
                    },
                    Schema::new(cols),
                ))
            }
            OpKind::Partition { by, ops, .. } => {
                let (key, _) = t
                    .schema
                    .find(&by.name)
                    .ok_or_else(|| unknown("column", &by.name, by.span))?;
                let mut body = table(TableNode::PartitionSource, t.schema.clone());
                for op in ops {
                    body = self.operator(body, op, env)?;
                }
                let schema = body.schema.clone();
                Ok(table(
                    TableNode::Partition {
                        input: Box::new(t),
                        key,
                        body: Box::new(body),
                    },
                    schema,
                ))
            }
            OpKind::Evaluate { call, .. } => self.evaluate(t, call, env),
        }
    }

    fn count_expr(&mut self, e: &Expr, env: &Env) -> Result<BoundExpr, BindError> {
        let x = self.scalar(
            e,
            Ctx {
                env,
                row: None,
                agg: false,
            },
        )?;
        if !matches!(x.ty, KqlType::Int | KqlType::Long) {
            return Err(invalid(
                format!("a row count must be an integer, found {}", x.ty),
                e.span,
            ));
        }
        Ok(x)
    }

    fn sort_keys(
        &mut self,
        schema: &Schema,
        keys: &[SortKey],
        env: &Env,
    ) -> Result<Vec<BoundSortKey>, BindError> {
        keys.iter()
            .map(|k| {
                Ok(BoundSortKey {
                    expr: self.scalar(&k.expr, row(env, schema))?,
                    asc: k.asc,
                    nulls_first: k.nulls_first,
                })
            })
            .collect()
    }

    fn match_patterns(&self, schema: &Schema, pats: &[Ident]) -> Result<Vec<usize>, BindError> {
        let mut out = Vec::new();
        for p in pats {
            let before = out.len();
            for (i, c) in schema.columns.iter().enumerate() {
                if wildcard_match(&p.name, &c.name) && !out.contains(&i) {
                    out.push(i);
                }
            }
            if out.len() == before && !p.name.contains('*') && !schema.contains(&p.name) {
                return Err(unknown("column", &p.name, p.span));
            }
        }
        Ok(out)
    }

    fn extend(
        &mut self,
        t: BoundTable,
        items: &[NamedExpr],
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let span = items.first().map_or_else(Span::default, |i| i.expr.span);
        let mut exprs = identity(&t.schema, span);
        let mut schema = t.schema.clone();
        let mut counter = 0;
        for it in items {
            if it.names.len() > 1 {
                let outputs = self.multi_call(it, &schema, env)?;
                for (name, x) in outputs {
                    let x = substitute(x, &exprs);
                    self.charge(x.size(), it.expr.span)?;
                    match schema.find(&name) {
                        Some((i, _)) => {
                            schema.columns[i].ty = x.ty;
                            exprs[i] = x;
                        }
                        None => {
                            schema.columns.push(Column::new(name, x.ty));
                            exprs.push(x);
                        }
                    }
                }
                continue;
            }
            let x = self.scalar(&it.expr, row(env, &schema))?;
            let x = substitute(x, &exprs);
            self.charge(x.size(), it.expr.span)?;
            let name = match it.names.first() {
                Some(n) => n.name.clone(),
                None => derive_name(&it.expr, false)
                    .unwrap_or_else(|| generated(&mut counter, &schema.columns)),
            };
            match schema.find(&name) {
                Some((i, _)) => {
                    schema.columns[i].ty = x.ty;
                    exprs[i] = x;
                }
                None => {
                    schema.columns.push(Column::new(name, x.ty));
                    exprs.push(x);
                }
            }
        }
        Ok(table(
            TableNode::Project {
                input: Box::new(t),
                exprs,
            },
            schema,
        ))
    }

    /// `(a, b, c) = f(...)` for a multi-result function: one expression per name.
    fn multi_call(
        &mut self,
        it: &NamedExpr,
        schema: &Schema,
        env: &Env,
    ) -> Result<Vec<(String, BoundExpr)>, BindError> {
        let span = it.expr.span;
        let ExprKind::Call { name, args } = &it.expr.kind else {
            return Err(invalid(
                "'(a, b, ...) = ' needs a function with several results",
                span,
            ));
        };
        let Some(ScalarFunction::Series(series)) = ScalarFunction::lookup(&name.name) else {
            return Err(invalid(
                format!("'{}' does not return several results", name.name),
                name.span,
            ));
        };
        let (sig, results) = (series.signature(), series.outputs());
        check_arity(&name.name, sig.min, sig.max, args.len(), span)?;
        if it.names.len() > results.len() {
            return Err(invalid(
                format!(
                    "'{}' returns {} results, {} names given",
                    name.name,
                    results.len(),
                    it.names.len()
                ),
                span,
            ));
        }
        let mut bound = Vec::new();
        for a in args {
            bound.push(self.scalar(a, row(env, schema))?);
        }
        let call = BoundExpr {
            node: ExprNode::Call {
                func: ScalarFunction::Series(series),
                args: bound,
            },
            ty: KqlType::Dynamic,
            span,
        };
        Ok(it
            .names
            .iter()
            .enumerate()
            .map(|(index, n)| {
                (
                    n.name.clone(),
                    BoundExpr {
                        node: ExprNode::Output {
                            call: Box::new(call.clone()),
                            index,
                        },
                        ty: KqlType::Dynamic,
                        span,
                    },
                )
            })
            .collect())
    }

    fn summarize(
        &mut self,
        t: BoundTable,
        aggs: &[NamedExpr],
        by: &[NamedExpr],
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let mut cols: Vec<Column> = Vec::new();
        let mut keys = Vec::new();
        let mut counter = 0;
        for it in by {
            let x = self.scalar(&it.expr, row(env, &t.schema))?;
            let name = match it.names.first() {
                Some(n) => n.name.clone(),
                None => {
                    derive_name(&it.expr, true).unwrap_or_else(|| generated(&mut counter, &cols))
                }
            };
            cols.push(Column::new(unique(&name, &cols), x.ty));
            keys.push(x);
        }
        let mut out = Vec::new();
        let actx = Ctx {
            env,
            row: Some(&t.schema),
            agg: true,
        };
        let vctx = Ctx { agg: false, ..actx };
        for it in aggs {
            if let ExprKind::Call { name, args } = &it.expr.kind {
                use AggregateFunction::{ArgMax, ArgMin, Percentiles, TakeAny};
                let canon = AggregateFunction::lookup(&name.name);
                let multi = match canon {
                    Some(ArgMax | ArgMin | Percentiles) => true,
                    Some(TakeAny) => {
                        args.len() > 1
                            || matches!(args.first().map(|a| &a.kind), Some(ExprKind::Star))
                    }
                    _ => false,
                };
                if let (true, Some(func)) = (multi, canon) {
                    self.multi_aggregate(func, it, args, &t.schema, vctx, &mut cols, &mut out)?;
                    continue;
                }
            }
            let x = self.scalar(&it.expr, actx)?;
            if !x.contains_aggregate() {
                return Err(invalid(
                    "a summarize item must use an aggregate function (count(), sum(), ...)",
                    it.expr.span,
                ));
            }
            let name = match it.names.first() {
                Some(n) => n.name.clone(),
                None => {
                    default_agg_name(&it.expr, &x).unwrap_or_else(|| generated(&mut counter, &cols))
                }
            };
            cols.push(Column::new(unique(&name, &cols), x.ty));
            out.push(x);
        }
        if keys.is_empty() && out.is_empty() {
            return Err(invalid(
                "summarize needs aggregates or 'by' keys",
                Span::default(),
            ));
        }
        Ok(table(
            TableNode::Aggregate {
                input: Box::new(t),
                keys,
                aggs: out,
            },
            Schema::new(cols),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn multi_aggregate(
        &mut self,
        func: AggregateFunction,
        it: &NamedExpr,
        args: &[Expr],
        input: &Schema,
        ctx: Ctx<'_>,
        cols: &mut Vec<Column>,
        out: &mut Vec<BoundExpr>,
    ) -> Result<(), BindError> {
        let span = it.expr.span;
        let min = if func == AggregateFunction::TakeAny { 1 } else { 2 };
        if args.len() < min {
            return Err(invalid(
                format!("'{func}' needs at least {min} arguments"),
                span,
            ));
        }
        // Bound arguments and the output name of each.
        let mut bound: Vec<BoundExpr> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let has_by = func != AggregateFunction::TakeAny;
        let percentiles = func == AggregateFunction::Percentiles;
        for (k, a) in args.iter().enumerate() {
            if matches!(a.kind, ExprKind::Star) {
                if percentiles || (has_by && k == 0) {
                    return Err(invalid(
                        format!("'*' is not allowed here in '{func}'"),
                        a.span,
                    ));
                }
                for (i, c) in input.columns.iter().enumerate() {
                    let taken = names.contains(&c.name) || cols.iter().any(|o| o.name == c.name);
                    if !taken {
                        bound.push(col_ref(input, i, a.span));
                        names.push(c.name.clone());
                    }
                }
                continue;
            }
            let x = self.scalar(a, ctx)?;
            let name = if percentiles && k > 0 {
                let p = match &x.node {
                    ExprNode::Literal(Literal::Long(v)) => v.to_string(),
                    ExprNode::Literal(Literal::Real(v)) => v.to_string().replace('.', "_"),
                    _ => return Err(invalid("percentiles() needs constant percentages", a.span)),
                };
                format!(
                    "percentile_{}_{p}",
                    derive_name(&args[0], true).unwrap_or_default()
                )
            } else {
                derive_name(a, true).unwrap_or_else(|| {
                    let mut c = 0;
                    generated(&mut c, cols)
                })
            };
            bound.push(x);
            names.push(name);
        }
        let outputs: Vec<usize> = if percentiles {
            (1..bound.len()).collect()
        } else {
            (0..bound.len()).collect()
        };
        for (j, k) in outputs.into_iter().enumerate() {
            let name = it
                .names
                .get(j)
                .map(|n| n.name.clone())
                .unwrap_or_else(|| names[k].clone());
            let ty = if percentiles {
                bound[0].ty
            } else {
                bound[k].ty
            };
            cols.push(Column::new(unique(&name, cols), ty));
            out.push(BoundExpr {
                node: ExprNode::Aggregate {
                    func,
                    args: bound.clone(),
                    output: k,
                },
                ty,
                span,
            });
        }
        Ok(())
    }

    fn join(
        &mut self,
        left: BoundTable,
        right: BoundTable,
        kind: JoinKind,
        on: &[JoinCond],
        lookup: bool,
    ) -> Result<BoundTable, BindError> {
        let mut pairs = Vec::new();
        for c in on {
            let (l, r) = match c {
                JoinCond::Same(id) => (id, id),
                JoinCond::Eq { left, right } => (left, right),
            };
            let (li, lc) = left
                .schema
                .find(&l.name)
                .ok_or_else(|| unknown("column (left side of join)", &l.name, l.span))?;
            let (ri, rc) = right
                .schema
                .find(&r.name)
                .ok_or_else(|| unknown("column (right side of join)", &r.name, r.span))?;
            if typing::common_type(lc.ty, rc.ty).is_none() {
                return Err(invalid(
                    format!(
                        "join keys '{}' ({}) and '{}' ({}) have different types",
                        l.name, lc.ty, r.name, rc.ty
                    ),
                    l.span,
                ));
            }
            pairs.push((li, ri));
        }
        let mut outputs = Vec::new();
        let mut cols: Vec<Column> = Vec::new();
        let left_cols = !matches!(kind, JoinKind::RightSemi | JoinKind::RightAnti);
        let right_cols = !matches!(kind, JoinKind::LeftSemi | JoinKind::LeftAnti);
        if left_cols {
            for (i, c) in left.schema.columns.iter().enumerate() {
                outputs.push((false, i));
                cols.push(c.clone());
            }
        }
        if right_cols {
            for (i, c) in right.schema.columns.iter().enumerate() {
                if lookup && pairs.iter().any(|&(_, r)| r == i) {
                    continue;
                }
                outputs.push((true, i));
                cols.push(Column::new(unique(&c.name, &cols), c.ty));
            }
        }
        Ok(table(
            TableNode::Join {
                left: Box::new(left),
                right: Box::new(right),
                kind,
                on: pairs,
                outputs,
            },
            Schema::new(cols),
        ))
    }

    fn union(
        &mut self,
        first: Option<BoundTable>,
        spec: &UnionSpec,
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let mut inputs = Vec::new();
        if let Some(t) = first {
            inputs.push(("union_arg0".to_string(), t));
        }
        inputs.extend(self.resolve_tables(&spec.tables, spec.isfuzzy, env)?);
        let inner = spec.kind.as_ref().is_some_and(|k| k.name == "inner");
        if let Some(k) = &spec.kind {
            if !matches!(k.name.as_str(), "inner" | "outer") {
                return Err(invalid(
                    format!("unknown union kind '{}' (expected inner or outer)", k.name),
                    k.span,
                ));
            }
        }
        if inputs.is_empty() {
            return Err(invalid("union has no tables", Span::default()));
        }
        Ok(union_of(
            inputs,
            spec.withsource.as_ref().map(|w| w.name.as_str()),
            inner,
        ))
    }

    /// Resolves `union`/`search`/`find` operands: names (with `*` wildcards over the catalog)
    /// and subqueries, labelled with their table name (or `union_argN`).
    fn resolve_tables(
        &mut self,
        exprs: &[Expr],
        fuzzy: bool,
        env: &Env,
    ) -> Result<Vec<(String, BoundTable)>, BindError> {
        let mut out = Vec::new();
        for e in exprs {
            match &e.kind {
                ExprKind::Name(n) if n.contains('*') => {
                    let names: Vec<String> = self
                        .catalog
                        .table_names()
                        .filter(|t| wildcard_match(n, t))
                        .map(str::to_string)
                        .collect();
                    if names.is_empty() && !fuzzy {
                        return Err(unknown("table pattern", n, e.span));
                    }
                    for t in names {
                        let schema = self.catalog.table(&t).cloned().unwrap_or_default();
                        out.push((t.clone(), table(TableNode::Scan { table: t }, schema)));
                    }
                }
                _ => {
                    let t = match self.table_expr(e, env) {
                        Ok(t) => t,
                        Err(BindError::Unknown { .. }) if fuzzy => continue,
                        Err(err) => return Err(err),
                    };
                    let label = match &e.kind {
                        ExprKind::Name(n) => n.clone(),
                        _ => format!("union_arg{}", out.len()),
                    };
                    out.push((label, t));
                }
            }
        }
        Ok(out)
    }

    /// All catalog tables, labelled by name (the default scope of `search` and `find`).
    fn all_tables(&self) -> Vec<(String, BoundTable)> {
        self.catalog
            .table_names()
            .map(|t| {
                let schema = self.catalog.table(t).cloned().unwrap_or_default();
                (
                    t.to_string(),
                    table(
                        TableNode::Scan {
                            table: t.to_string(),
                        },
                        schema,
                    ),
                )
            })
            .collect()
    }

    /// Filters each input by `pred`, the way `search` and `find` evaluate a predicate over
    /// several tables: a column missing from one table reads as a typed null there, and
    /// (for `search`) a bare string term means "some column has the term". Inputs in which
    /// the predicate references no existing column are dropped (unless it references none).
    fn filter_tables(
        &mut self,
        inputs: Vec<(String, BoundTable)>,
        pred: &Expr,
        terms: Option<bool>,
        env: &Env,
    ) -> Result<Vec<(String, BoundTable, Vec<String>)>, BindError> {
        let mut names = Vec::new();
        ast_names(pred, &mut names);
        let mut merged: Vec<Column> = Vec::new();
        for (_, t) in &inputs {
            for c in &t.schema.columns {
                if !merged.iter().any(|m| m.name == c.name) {
                    merged.push(c.clone());
                }
            }
        }
        let mut out = Vec::new();
        for (label, t) in inputs {
            let present: Vec<String> = names
                .iter()
                .filter(|n| t.schema.contains(n))
                .cloned()
                .collect();
            let referenced_any = names.iter().any(|n| merged.iter().any(|m| &m.name == n));
            if referenced_any && present.is_empty() {
                continue;
            }
            let own_columns = t.schema.columns.clone();
            let mut schema = t.schema.clone();
            let mut exprs = identity(&t.schema, pred.span);
            for n in &names {
                if schema.contains(n) {
                    continue;
                }
                if let Some(m) = merged.iter().find(|m| &m.name == n) {
                    exprs.push(BoundExpr {
                        node: ExprNode::Literal(Literal::Null(m.ty)),
                        ty: m.ty,
                        span: pred.span,
                    });
                    schema.columns.push(m.clone());
                }
            }
            let input = if schema.columns.len() > own_columns.len() {
                table(
                    TableNode::Project {
                        input: Box::new(t),
                        exprs,
                    },
                    schema.clone(),
                )
            } else {
                t
            };
            let p = match terms {
                Some(case_sensitive) => expand_terms(pred, &own_columns, case_sensitive),
                None => pred.clone(),
            };
            let predicate = self.scalar(&p, row(env, &schema))?;
            if !matches!(predicate.ty, KqlType::Bool | KqlType::Dynamic) {
                return Err(invalid(
                    format!("the predicate must be bool, found {}", predicate.ty),
                    pred.span,
                ));
            }
            let filtered = table(
                TableNode::Filter {
                    input: Box::new(input),
                    predicate,
                },
                schema,
            );
            out.push((
                label,
                filtered,
                own_columns.iter().map(|c| c.name.clone()).collect(),
            ));
        }
        Ok(out)
    }

    fn search(
        &mut self,
        input: Option<BoundTable>,
        spec: &SearchSpec,
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let case_sensitive = match spec.kind.as_ref().map(|k| k.name.as_str()) {
            None | Some("case_insensitive") => false,
            Some("case_sensitive") => true,
            Some(other) => {
                return Err(invalid(
                    format!(
                    "unknown search kind '{other}' (expected case_sensitive or case_insensitive)"
                ),
                    spec.kind.as_ref().map_or(spec.predicate.span, |k| k.span),
                ))
            }
        };
        if let Some(t) = input {
            // `T | search pred`: a filter over T's own columns.
            let own = t.schema.columns.clone();
            let p = expand_terms(&spec.predicate, &own, case_sensitive);
            let predicate = self.scalar(&p, row(env, &t.schema))?;
            let schema = t.schema.clone();
            return Ok(table(
                TableNode::Filter {
                    input: Box::new(t),
                    predicate,
                },
                schema,
            ));
        }
        let inputs = match &spec.tables {
            Some(tables) => self.resolve_tables(tables, false, env)?,
            None => self.all_tables(),
        };
        let filtered = self.filter_tables(inputs, &spec.predicate, Some(case_sensitive), env)?;
        if filtered.is_empty() {
            return Err(invalid(
                "search: no table has the columns the predicate uses",
                spec.predicate.span,
            ));
        }
        let inputs = filtered.into_iter().map(|(l, t, _)| (l, t)).collect();
        Ok(union_of(inputs, Some("$table"), false))
    }

    fn find(&mut self, spec: &FindSpec, env: &Env) -> Result<BoundTable, BindError> {
        let inputs = match &spec.tables {
            Some(tables) => self.resolve_tables(tables, false, env)?,
            None => self.all_tables(),
        };
        let filtered = self.filter_tables(inputs, &spec.predicate, None, env)?;
        if filtered.is_empty() {
            return Err(invalid(
                "find: no table has the columns the predicate uses",
                spec.predicate.span,
            ));
        }
        let span = spec.predicate.span;
        // Output columns (besides the source column and pack_).
        let mut out_cols: Vec<Column> = Vec::new();
        let pack = match &spec.project {
            Some(p) => {
                for (c, ty) in &p.columns {
                    let ty = match ty {
                        Some(t) => *t,
                        None => filtered
                            .iter()
                            .find_map(|(_, t, own)| {
                                own.contains(&c.name)
                                    .then(|| t.schema.find(&c.name).map(|(_, col)| col.ty))
                                    .flatten()
                            })
                            .ok_or_else(|| unknown("column", &c.name, c.span))?,
                    };
                    out_cols.push(Column::new(c.name.clone(), ty));
                }
                p.pack_all
            }
            None => {
                // project-smart: predicate columns, then columns common to all tables.
                let mut names = Vec::new();
                ast_names(&spec.predicate, &mut names);
                for n in names {
                    if let Some(c) = filtered.iter().find_map(|(_, t, own)| {
                        own.contains(&n).then(|| t.schema.find(&n)).flatten()
                    }) {
                        if !out_cols.iter().any(|o| o.name == c.1.name) {
                            out_cols.push(c.1.clone());
                        }
                    }
                }
                if let Some((_, first, own)) = filtered.first() {
                    for c in first
                        .schema
                        .columns
                        .iter()
                        .filter(|c| own.contains(&c.name))
                    {
                        let common = filtered.iter().all(|(_, t, own)| {
                            own.contains(&c.name)
                                && t.schema.find(&c.name).is_some_and(|(_, x)| x.ty == c.ty)
                        });
                        if common && !out_cols.iter().any(|o| o.name == c.name) {
                            out_cols.push(c.clone());
                        }
                    }
                }
                true
            }
        };
        let mut projected = Vec::new();
        for (label, t, own) in filtered {
            let mut exprs = Vec::new();
            let mut cols = Vec::new();
            for c in &out_cols {
                let e = match t.schema.find(&c.name) {
                    Some((i, col)) if own.contains(&c.name) => {
                        let x = col_ref(&t.schema, i, span);
                        if col.ty == c.ty {
                            x
                        } else {
                            convert(x, c.ty)
                        }
                    }
                    _ => BoundExpr {
                        node: ExprNode::Literal(Literal::Null(c.ty)),
                        ty: c.ty,
                        span,
                    },
                };
                exprs.push(e);
                cols.push(c.clone());
            }
            if pack {
                // pack_all() packs every column; project-smart packs the ones not output.
                let mut args = Vec::new();
                for (i, c) in t.schema.columns.iter().enumerate() {
                    let packed = own.contains(&c.name)
                        && (spec.project.is_some() || !out_cols.iter().any(|o| o.name == c.name));
                    if packed {
                        args.push(BoundExpr {
                            node: ExprNode::Literal(Literal::String(c.name.clone())),
                            ty: KqlType::String,
                            span,
                        });
                        args.push(col_ref(&t.schema, i, span));
                    }
                }
                exprs.push(BoundExpr {
                    node: ExprNode::Call {
                        func: ScalarFunction::Dynamic(DynamicFn::BagPack),
                        args,
                    },
                    ty: KqlType::Dynamic,
                    span,
                });
                cols.push(Column::new("pack_", KqlType::Dynamic));
            }
            projected.push((
                label,
                table(
                    TableNode::Project {
                        input: Box::new(t),
                        exprs,
                    },
                    Schema::new(cols),
                ),
            ));
        }
        let source = spec
            .withsource
            .as_ref()
            .map_or("source_", |w| w.name.as_str());
        Ok(union_of(projected, Some(source), false))
    }

    fn mv_expand(
        &mut self,
        t: BoundTable,
        params: &[OpParam],
        items: &[MvExpandItem],
        limit: Option<&Expr>,
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let mut cols = t.schema.columns.clone();
        let mut passthrough: Vec<Option<usize>> = (0..cols.len()).map(Some).collect();
        let mut bound = Vec::new();
        let mut counter = 0;
        for it in items {
            let x = self.scalar(&it.expr, row(env, &t.schema))?;
            if x.ty != KqlType::Dynamic {
                return Err(invalid(
                    format!("mv-expand needs a dynamic array or bag, found {}", x.ty),
                    it.expr.span,
                ));
            }
            let ty = it.to.unwrap_or(KqlType::Dynamic);
            let name = match &it.name {
                Some(n) => n.name.clone(),
                None => {
                    derive_name(&it.expr, true).unwrap_or_else(|| generated(&mut counter, &cols))
                }
            };
            let idx = match cols.iter().position(|c| c.name == name) {
                Some(i) => {
                    cols[i].ty = ty;
                    passthrough[i] = None;
                    i
                }
                None => {
                    cols.push(Column::new(name, ty));
                    passthrough.push(None);
                    cols.len() - 1
                }
            };
            bound.push((idx, x, ty));
        }
        let mut item_index = None;
        for p in params {
            if p.name.name == "with_itemindex" {
                cols.push(Column::new(unique(&p.value.name, &cols), KqlType::Long));
                passthrough.push(None);
                item_index = Some(cols.len() - 1);
            }
        }
        let limit = match limit {
            Some(l) => Some(self.count_expr(l, env)?),
            None => None,
        };
        Ok(table(
            TableNode::MvExpand {
                input: Box::new(t),
                items: bound,
                passthrough,
                item_index,
                limit,
            },
            Schema::new(cols),
        ))
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

fn check_arity(n: &str, min: usize, max: usize, got: usize, span: Span) -> Result<(), BindError> {
    if got < min || got > max {
        let want = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(invalid(
            format!("function '{n}' takes {want} arguments, got {got}"),
            span,
        ));
    }
    Ok(())
}

fn result_type(ret: Ret, args: &[BoundExpr], n: &str, span: Span) -> Result<KqlType, BindError> {
    let arg = |i: usize| args.get(i).map(|a| a.ty).unwrap_or(KqlType::Dynamic);
    Ok(match ret {
        Ret::Fixed(t) => t,
        Ret::Arg(i) => arg(i),
        Ret::Sum => match arg(0) {
            KqlType::Int => KqlType::Long,
            t => t,
        },
        Ret::Avg => match arg(0) {
            t @ (KqlType::TimeSpan | KqlType::DateTime) => t,
            KqlType::Decimal => KqlType::Decimal,
            _ => KqlType::Real,
        },
        Ret::Common { start, step } => {
            let mut ty: Option<KqlType> = None;
            let mut i = start;
            while i < args.len() {
                let t = args[i].ty;
                ty = Some(match ty {
                    None => t,
                    Some(prev) => typing::branch_type(prev, t).ok_or_else(|| {
                        invalid(
                            format!("'{n}': branches have different types ({prev} and {t})"),
                            args[i].span,
                        )
                    })?,
                });
                i += step;
            }
            // case(): the trailing else value.
            if n == "case" && args.len() % 2 == 1 {
                if let Some(last) = args.last() {
                    if let Some(prev) = ty {
                        ty = Some(typing::branch_type(prev, last.ty).ok_or_else(|| {
                            invalid(
                                format!(
                                    "'case': branches have different types ({prev} and {})",
                                    last.ty
                                ),
                                last.span,
                            )
                        })?);
                    }
                }
            }
            ty.ok_or_else(|| invalid(format!("'{n}' needs arguments"), span))?
        }
    })
}

/// `count()` → `count_`, `dcount(X)` → `dcount_X`, `make_set(X)` → `set_X`, `percentile(X, 95)`
/// → `percentile_X_95`; only when the item is a single aggregate call.
fn default_agg_name(e: &Expr, x: &BoundExpr) -> Option<String> {
    // Look through wrapping calls such as tostring(make_set(x)) along the first argument.
    let (mut e, mut x) = (e, x);
    while let (ExprNode::Call { args: bargs, .. }, ExprKind::Call { args: raw, .. }) =
        (&x.node, &e.kind)
    {
        match (bargs.first(), raw.first()) {
            (Some(b), Some(r)) => (x, e) = (b, r),
            _ => return None,
        }
    }
    let ExprNode::Aggregate { func, args, .. } = &x.node else {
        return None;
    };
    let ExprKind::Call { args: raw, .. } = &e.kind else {
        return None;
    };
    let prefix = func.output_prefix();
    if prefix.is_empty() {
        return None;
    }
    if *func == AggregateFunction::CountIf || (*func == AggregateFunction::Count && raw.is_empty()) {
        return Some(prefix.to_string());
    }
    let col = raw
        .first()
        .and_then(|a| derive_name(a, true))
        .unwrap_or_default();
    if *func == AggregateFunction::Percentile {
        if let Some(BoundExpr {
            node: ExprNode::Literal(l),
            ..
        }) = args.get(1)
        {
            let p = match l {
                Literal::Long(v) => v.to_string(),
                Literal::Real(v) => v.to_string().replace('.', "_"),
                _ => String::new(),
            };
            return Some(format!("{prefix}{col}_{p}"));
        }
    }
    Some(format!("{prefix}{col}"))
}

/// A union of labelled inputs; columns merge by name in order of appearance, a name with
/// several types becomes one `name_type` column per type; `withsource` adds a first column.
fn union_of(
    inputs: Vec<(String, BoundTable)>,
    withsource: Option<&str>,
    inner: bool,
) -> BoundTable {
    let (labels, inputs): (Vec<String>, Vec<BoundTable>) = inputs.into_iter().unzip();
    let mut by_name: Vec<(String, Vec<KqlType>)> = Vec::new();
    for t in &inputs {
        for c in &t.schema.columns {
            match by_name.iter_mut().find(|(n, _)| *n == c.name) {
                Some((_, tys)) => {
                    if !tys.contains(&c.ty) {
                        tys.push(c.ty);
                    }
                }
                None => by_name.push((c.name.clone(), vec![c.ty])),
            }
        }
    }
    let mut cols = Vec::new();
    if let Some(ws) = withsource {
        cols.push(Column::new(ws, KqlType::String));
    }
    for (name, tys) in by_name {
        if inner
            && !inputs.iter().all(|t| {
                t.schema
                    .columns
                    .iter()
                    .any(|c| c.name == name && tys.len() == 1)
            })
        {
            continue;
        }
        if tys.len() == 1 {
            cols.push(Column::new(name, tys[0]));
        } else {
            for ty in tys {
                cols.push(Column::new(format!("{name}_{ty}"), ty));
            }
        }
    }
    table(
        TableNode::Union {
            inputs,
            labels,
            source_column: withsource.map(|_| 0),
        },
        Schema::new(cols),
    )
}

/// Converts `x` to `ty` with the matching `to*()` function.
fn convert(x: BoundExpr, ty: KqlType) -> BoundExpr {
    use ConversionFn::*;
    let func = ScalarFunction::Conversion(match ty {
        KqlType::Bool => ToBool,
        KqlType::Int => ToInt,
        KqlType::Long => ToLong,
        KqlType::Real => ToReal,
        KqlType::Decimal => ToDecimal,
        KqlType::String => ToString,
        KqlType::DateTime => ToDateTime,
        KqlType::TimeSpan => ToTimespan,
        KqlType::Guid => ToGuid,
        KqlType::Dynamic => {
            return BoundExpr {
                node: ExprNode::Call {
                    func: ScalarFunction::Dynamic(DynamicFn::ParseJson),
                    args: vec![x.clone()],
                },
                ty,
                span: x.span,
            }
        }
    });
    let span = x.span;
    BoundExpr {
        node: ExprNode::Call {
            func,
            args: vec![x],
        },
        ty,
        span,
    }
}

/// Unqualified names an expression refers to, in order of first appearance (not descending
/// into subqueries).
fn ast_names(e: &Expr, out: &mut Vec<String>) {
    let mut push = |n: &String| {
        if !n.starts_with('$') && !out.contains(n) {
            out.push(n.clone());
        }
    };
    match &e.kind {
        ExprKind::Name(n) => push(n),
        ExprKind::Member { base, .. } => ast_names(base, out),
        ExprKind::Index { base, index } => {
            ast_names(base, out);
            ast_names(index, out);
        }
        ExprKind::Call { name, args } if name.name != "toscalar" => {
            for a in args {
                ast_names(a, out);
            }
        }
        ExprKind::Neg(x) => ast_names(x, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            ast_names(lhs, out);
            ast_names(rhs, out);
        }
        ExprKind::List { expr, items, .. } => {
            ast_names(expr, out);
            for i in items {
                if !matches!(i.kind, ExprKind::Pipe { .. }) {
                    ast_names(i, out);
                }
            }
        }
        ExprKind::Between {
            expr, low, high, ..
        } => {
            ast_names(expr, out);
            ast_names(low, out);
            ast_names(high, out);
        }
        _ => {}
    }
}

/// `search` term syntax: a bare string where a condition is expected means
/// "some column has the term"; it becomes `tostring(c1) has "t" or tostring(c2) has "t" ...`
/// over `columns`.
fn expand_terms(e: &Expr, columns: &[Column], case_sensitive: bool) -> Expr {
    let span = e.span;
    match &e.kind {
        ExprKind::Literal(Literal::String(term)) => {
            let mut acc: Option<Expr> = None;
            for c in columns {
                let col = Expr {
                    kind: ExprKind::Name(c.name.clone()),
                    span,
                };
                let text = if c.ty == KqlType::String {
                    col
                } else {
                    Expr {
                        kind: ExprKind::Call {
                            name: Ident {
                                name: "tostring".into(),
                                span,
                            },
                            args: vec![col],
                        },
                        span,
                    }
                };
                let has = Expr {
                    kind: ExprKind::Binary {
                        op: BinOp::Str(StrOp {
                            kind: StrOpKind::Has,
                            case_sensitive,
                            negated: false,
                        }),
                        lhs: Box::new(text),
                        rhs: Box::new(Expr {
                            kind: ExprKind::Literal(Literal::String(term.clone())),
                            span,
                        }),
                    },
                    span,
                };
                acc = Some(match acc {
                    None => has,
                    Some(prev) => Expr {
                        kind: ExprKind::Binary {
                            op: BinOp::Or,
                            lhs: Box::new(prev),
                            rhs: Box::new(has),
                        },
                        span,
                    },
                });
            }
            acc.unwrap_or(Expr {
                kind: ExprKind::Literal(Literal::Bool(false)),
                span,
            })
        }
        ExprKind::Binary {
            op: op @ (BinOp::And | BinOp::Or),
            lhs,
            rhs,
        } => Expr {
            kind: ExprKind::Binary {
                op: *op,
                lhs: Box::new(expand_terms(lhs, columns, case_sensitive)),
                rhs: Box::new(expand_terms(rhs, columns, case_sensitive)),
            },
            span,
        },
        ExprKind::Call { name, args } if name.name == "not" && args.len() == 1 => Expr {
            kind: ExprKind::Call {
                name: name.clone(),
                args: vec![expand_terms(&args[0], columns, case_sensitive)],
            },
            span,
        },
        _ => e.clone(),
    }
}
