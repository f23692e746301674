//! `evaluate` plugins whose output columns come from the data: `bag_unpack` and `pivot`.
//!
//! The static binder cannot know their schema, so it asks a [`SchemaProbe`] (supplied by the
//! engine, which runs the probe in the query's tenant scope, time window and limits) for the
//! distinct slots or values of the already-bound input. Without a probe ([`crate::bind`]) they
//! stay rejected by name. Both then bind to ordinary nodes (`project`, `summarize`), so the
//! planner needs nothing new. Semantics, per Kusto's plugin documentation:
//!
//! - `bag_unpack(Column [, OutputColumnPrefix])`: `Column` is removed and one column per
//!   distinct top-level slot is appended, named `prefix + slot`, in ordinal slot order. A
//!   column's type is the slots' type when all non-null values agree (`string`, `long`, `real`,
//!   `bool`), else `dynamic` (also for arrays, bags and all-null slots). A name clashing with a
//!   kept input column is an error (Kusto's default `columnsConflict='error'`); the
//!   `columnsConflict`/`ignoredProperties` arguments and output-schema syntax are not
//!   supported.
//! - `pivot(PivotColumn [, Aggregation] [, Column1, ...])`: one row per distinct combination
//!   of the given columns (default: every column except the pivot column and the columns the
//!   aggregation reads), then one column per distinct value of `tostring(PivotColumn)`, in
//!   ordinal order, holding the aggregation over the rows with that value. The aggregation is
//!   one of the documented `count()` (default), `sum`, `min`, `max`, `take_any`, `dcount`,
//!   `avg`, `stdev`, `variance`, `make_list`, `make_set`, `make_bag`; cells without rows are 0
//!   for `count`, `dcount` and `sum`, `[]`/`{}` for the `make_*` ones, else null.
//! - At most [`MAX_PROBE_COLUMNS`] columns may be added; more is an error.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::*;
use crate::functions::{ConditionalFn, ConversionFn};

fn conversion(f: ConversionFn) -> ScalarFunction {
    ScalarFunction::Conversion(f)
}

/// Most columns `bag_unpack` or `pivot` may add.
pub const MAX_PROBE_COLUMNS: usize = 1_000;

/// Why a [`SchemaProbe`] could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProbeError(pub String);

/// Runs bound tables for the binder when an operator's output schema depends on the data.
pub trait SchemaProbe {
    /// The values of the first column of `table`, at most `max_rows` of them. Implementations
    /// must run `table` in the scope (tenant, time window) and limits of the query being bound.
    fn first_column(&self, table: &BoundTable, max_rows: usize) -> Result<Vec<Json>, ProbeError>;
}

fn expr(node: ExprNode, ty: KqlType, span: Span) -> BoundExpr {
    BoundExpr { node, ty, span }
}

fn call(func: ScalarFunction, args: Vec<BoundExpr>, ty: KqlType, span: Span) -> BoundExpr {
    expr(ExprNode::Call { func, args }, ty, span)
}

fn column(index: usize, name: &str, ty: KqlType, span: Span) -> BoundExpr {
    expr(
        ExprNode::Column {
            index,
            name: name.into(),
        },
        ty,
        span,
    )
}

/// Input columns an expression reads.
fn columns_read(e: &BoundExpr, out: &mut Vec<usize>) {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if let ExprNode::Column { index, .. } = &x.node {
            out.push(*index);
        }
        stack.extend(x.children());
    }
}

/// The `*if` form of a pivot aggregation, with the predicate's argument position.
fn conditional(func: AggregateFunction) -> Option<AggregateFunction> {
    use AggregateFunction::*;
    Some(match func {
        Count => CountIf,
        Sum => SumIf,
        Min => MinIf,
        Max => MaxIf,
        TakeAny => TakeAnyIf,
        DCount => DCountIf,
        Avg => AvgIf,
        Stdev => StdevIf,
        Variance => VarianceIf,
        MakeList => MakeListIf,
        MakeSet => MakeSetIf,
        MakeBag => MakeBagIf,
        _ => return None,
    })
}

fn slot_type(name: &str) -> Option<KqlType> {
    Some(match name {
        "string" => KqlType::String,
        "long" | "int" => KqlType::Long,
        "real" | "decimal" => KqlType::Real,
        "bool" => KqlType::Bool,
        "null" => return None,
        _ => KqlType::Dynamic,
    })
}

impl Binder<'_> {
    /// Binds `evaluate plugin(args)` over `t`.
    pub(super) fn evaluate(
        &mut self,
        t: BoundTable,
        call: &Expr,
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let (name, args, pos) = match &call.kind {
            ExprKind::Call { name, args } => (name.name.clone(), args, name.span.start),
            _ => ("evaluate".to_string(), &Vec::new(), call.span.start),
        };
        let probe = match (name.as_str(), self.probe) {
            ("bag_unpack" | "pivot", Some(p)) => p,
            _ => {
                return Err(BindError::Unsupported {
                    what: "evaluate plugin",
                    name,
                    pos,
                })
            }
        };
        if name == "bag_unpack" {
            self.bag_unpack(t, args, env, probe, call.span)
        } else {
            self.pivot(t, args, env, probe, call.span)
        }
    }

    fn bag_unpack(
        &mut self,
        t: BoundTable,
        args: &[Expr],
        env: &Env,
        probe: &dyn SchemaProbe,
        span: Span,
    ) -> Result<BoundTable, BindError> {
        let Some((first, rest)) = args.split_first() else {
            return Err(invalid("bag_unpack expects a dynamic column", span));
        };
        let src = self.scalar(first, row(env, &t.schema))?;
        let ExprNode::Column { index: src_ix, .. } = src.node else {
            return Err(invalid(
                "bag_unpack: the first argument must be a column",
                first.span,
            ));
        };
        if src.ty != KqlType::Dynamic {
            return Err(invalid(
                format!("bag_unpack: the column must be dynamic, found {}", src.ty),
                first.span,
            ));
        }
        let prefix = match rest {
            [] => String::new(),
            [p] => {
                let x = self.scalar(
                    p,
                    Ctx {
                        row: None,
                        ..row(env, &t.schema)
                    },
                )?;
                match x.node {
                    ExprNode::Literal(Literal::String(s)) => s,
                    _ => {
                        return Err(invalid(
                            "bag_unpack: the prefix must be a string literal",
                            p.span,
                        ))
                    }
                }
            }
            [_, extra, ..] => {
                return Err(BindError::Unsupported {
                    what: "evaluate plugin",
                    name: "bag_unpack columnsConflict/ignoredProperties".into(),
                    pos: extra.span.start,
                })
            }
        };

        // Probe: distinct [slot, gettype(value)] pairs of the bag column.
        let sp = src.span;
        let bag = column(0, "b", KqlType::Dynamic, sp);
        let only = project(
            t.clone(),
            vec![src.clone()],
            vec![Column::new("b", KqlType::Dynamic)],
        );
        let expanded = table(
            TableNode::MvExpand {
                input: Box::new(only),
                items: vec![(
                    1,
                    call(
                        ScalarFunction::Dynamic(DynamicFn::BagKeys),
                        vec![bag.clone()],
                        KqlType::Dynamic,
                        sp,
                    ),
                    KqlType::String,
                )],
                passthrough: vec![Some(0), None],
                item_index: None,
                limit: None,
            },
            Schema::new(vec![
                Column::new("b", KqlType::Dynamic),
                Column::new("k", KqlType::String),
            ]),
        );
        let key = column(1, "k", KqlType::String, sp);
        let value = expr(
            ExprNode::Index {
                base: Box::new(bag),
                index: Box::new(key.clone()),
            },
            KqlType::Dynamic,
            sp,
        );
        let pair = call(
            ScalarFunction::Dynamic(DynamicFn::PackArray),
            vec![
                key,
                call(
                    ScalarFunction::Conditional(ConditionalFn::GetType),
                    vec![value],
                    KqlType::String,
                    sp,
                ),
            ],
            KqlType::Dynamic,
            sp,
        );
        let pairs = project(
            expanded,
            vec![pair],
            vec![Column::new("kt", KqlType::Dynamic)],
        );
        let distinct = table(
            TableNode::Distinct {
                input: Box::new(pairs),
            },
            Schema::new(vec![Column::new("kt", KqlType::Dynamic)]),
        );
        // A slot has at most seven gettype() kinds (null, bool, long, real, string, array,
        // dictionary).
        let cap = MAX_PROBE_COLUMNS * 7 + 1;
        let rows = probe
            .first_column(&distinct, cap)
            .map_err(|e| invalid(format!("bag_unpack: {e}"), span))?;
        let mut slots: BTreeMap<String, Option<KqlType>> = BTreeMap::new();
        for r in &rows {
            let Some([Json::String(k), Json::String(ty)]) = r.as_array().map(Vec::as_slice) else {
                continue;
            };
            let seen = slots.entry(k.clone()).or_insert(None);
            if let Some(ty) = slot_type(ty) {
                *seen = match *seen {
                    None => Some(ty),
                    Some(prev) if prev == ty => Some(ty),
                    Some(_) => Some(KqlType::Dynamic),
                };
            }
        }
        if rows.len() >= cap || slots.len() > MAX_PROBE_COLUMNS {
            return Err(invalid(
                format!("bag_unpack would add more than {MAX_PROBE_COLUMNS} columns"),
                span,
            ));
        }

        let mut cols = Vec::new();
        let mut exprs = Vec::new();
        for (i, c) in t.schema.columns.iter().enumerate() {
            if i != src_ix {
                cols.push(c.clone());
                exprs.push(column(i, &c.name, c.ty, sp));
            }
        }
        for (slot, ty) in slots {
            let name = format!("{prefix}{slot}");
            if cols.iter().any(|c| c.name == name) {
                return Err(invalid(
                    format!("bag_unpack: the slot column '{name}' already exists in the input"),
                    span,
                ));
            }
            let ty = ty.unwrap_or(KqlType::Dynamic);
            let member = expr(
                ExprNode::Member {
                    base: Box::new(src.clone()),
                    key: slot,
                },
                KqlType::Dynamic,
                sp,
            );
            let x = match ty {
                KqlType::String => call(conversion(ConversionFn::ToString), vec![member], ty, sp),
                KqlType::Long => call(conversion(ConversionFn::ToLong), vec![member], ty, sp),
                KqlType::Real => call(conversion(ConversionFn::ToReal), vec![member], ty, sp),
                KqlType::Bool => call(conversion(ConversionFn::ToBool), vec![member], ty, sp),
                _ => member,
            };
            cols.push(Column::new(name, ty));
            exprs.push(x);
        }
        Ok(project(t, exprs, cols))
    }

    fn pivot(
        &mut self,
        t: BoundTable,
        args: &[Expr],
        env: &Env,
        probe: &dyn SchemaProbe,
        span: Span,
    ) -> Result<BoundTable, BindError> {
        let Some((first, mut rest)) = args.split_first() else {
            return Err(invalid("pivot expects the column to rotate", span));
        };
        let rctx = row(env, &t.schema);
        let pv = self.scalar(first, rctx)?;
        let ExprNode::Column { index: pv_ix, .. } = pv.node else {
            return Err(invalid(
                "pivot: the first argument must be a column",
                first.span,
            ));
        };
        // The optional aggregation, then the optional key columns.
        let mut agg = None;
        if let Some((a, more)) = rest.split_first() {
            let x = self.scalar(a, Ctx { agg: true, ..rctx })?;
            if x.contains_aggregate() {
                agg = Some((x, a.span));
                rest = more;
            }
        }
        let (func, agg_args, agg_ty) = match &agg {
            None => (AggregateFunction::Count, Vec::new(), KqlType::Long),
            Some((x, s)) => match &x.node {
                ExprNode::Aggregate { func, args, .. } => (*func, args.clone(), x.ty),
                _ => {
                    return Err(invalid(
                        "pivot: the aggregation must be a single aggregate call",
                        *s,
                    ))
                }
            },
        };
        let Some(cond) = conditional(func) else {
            return Err(BindError::Unsupported {
                what: "pivot aggregation",
                name: format!("{func} in pivot"),
                pos: agg.as_ref().map_or(span.start, |(_, s)| s.start),
            });
        };
        if func == AggregateFunction::Count && !agg_args.is_empty() {
            return Err(invalid("pivot: use count() without arguments", span));
        }
        let mut keys = Vec::new();
        if rest.is_empty() {
            let mut read = vec![pv_ix];
            for a in &agg_args {
                columns_read(a, &mut read);
            }
            for (i, c) in t.schema.columns.iter().enumerate() {
                if !read.contains(&i) {
                    keys.push(column(i, &c.name, c.ty, span));
                }
            }
        } else {
            for k in rest {
                let x = self.scalar(k, rctx)?;
                if !matches!(x.node, ExprNode::Column { .. }) {
                    return Err(invalid("pivot: extra arguments must be columns", k.span));
                }
                keys.push(x);
            }
        }

        // Probe: the distinct values of tostring(PivotColumn).
        let as_text = call(
            ScalarFunction::Conversion(ConversionFn::ToString),
            vec![pv.clone()],
            KqlType::String,
            pv.span,
        );
        let values = project(
            t.clone(),
            vec![as_text.clone()],
            vec![Column::new("v", KqlType::String)],
        );
        let distinct = table(
            TableNode::Distinct {
                input: Box::new(values),
            },
            Schema::new(vec![Column::new("v", KqlType::String)]),
        );
        let rows = probe
            .first_column(&distinct, MAX_PROBE_COLUMNS + 1)
            .map_err(|e| invalid(format!("pivot: {e}"), span))?;
        if rows.len() > MAX_PROBE_COLUMNS {
            return Err(invalid(
                format!("pivot would add more than {MAX_PROBE_COLUMNS} columns"),
                span,
            ));
        }
        let mut names: Vec<String> = rows
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect();
        names.sort();
        names.dedup();

        let mut cols: Vec<Column> = keys
            .iter()
            .map(|k| match &k.node {
                ExprNode::Column { name, .. } => Column::new(name.clone(), k.ty),
                _ => Column::new("Column1", k.ty),
            })
            .collect();
        let mut aggs = Vec::new();
        for v in names {
            let pred = expr(
                ExprNode::Binary {
                    op: BinOp::Eq,
                    lhs: Box::new(as_text.clone()),
                    rhs: Box::new(expr(
                        ExprNode::Literal(Literal::String(v.clone())),
                        KqlType::String,
                        span,
                    )),
                },
                KqlType::Bool,
                span,
            );
            let mut a = agg_args.clone();
            a.insert(a.len().min(1), pred);
            let x = expr(
                ExprNode::Aggregate {
                    func: cond,
                    args: a,
                    output: 0,
                },
                agg_ty,
                span,
            );
            // sumif over no rows is null; Kusto's pivot shows 0.
            let x = if func == AggregateFunction::Sum {
                let zero = match agg_ty {
                    KqlType::Real | KqlType::Decimal => Literal::Real(0.0),
                    KqlType::Int => Literal::Int(0),
                    _ => Literal::Long(0),
                };
                let zero = expr(ExprNode::Literal(zero), agg_ty, span);
                call(
                    ScalarFunction::Conditional(ConditionalFn::Coalesce),
                    vec![x, zero],
                    agg_ty,
                    span,
                )
            } else {
                x
            };
            // Each value copies the aggregate's arguments: counted like any other inlining.
            self.charge(x.size(), span)?;
            cols.push(Column::new(unique(&v, &cols), agg_ty));
            aggs.push(x);
        }
        Ok(table(
            TableNode::Aggregate {
                input: Box::new(t),
                keys,
                aggs,
            },
            Schema::new(cols),
        ))
    }
}
