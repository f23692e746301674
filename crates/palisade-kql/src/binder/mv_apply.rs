//! `mv-apply` and the general `partition`: a subquery applied to the expanded rows of each
//! input row, or to the rows of each partition, bound as operators Palisade already runs.
//!
//! Kusto's semantics: each input row's arrays are expanded into a subtable (the expanded
//! columns, and the item index); the subquery runs on each subtable; the result is the union
//! of the subquery results, each with the input row's other columns. Bound as:
//!
//! ```text
//! T | serialize __mvapply_row = row_number() | mv-expand <items>
//!   | <subquery, each operator kept per input row: see below> | project-away __mvapply_row
//! ```
//!
//! Row-wise operators (`where`, `extend`, `parse`, `project-rename`, `project-away`,
//! `mv-expand`) run as they are; `project` and `summarize ... by` keep the row's other columns
//! (they group or project by them too); `count` counts per row; `top N by` and `take N`
//! (alone or after `sort by` one key) keep N rows per input row (`partition by
//! __mvapply_row`). Other operators inside `mv-apply` are rejected by name
//! (`'<op> inside mv-apply' is not supported`). The subquery also sees the row's other
//! columns, which Kusto's subtable does not have: a query that binds in Kusto binds here the
//! same way.

use super::*;

/// The row id column the binding adds and removes.
const ROW: &str = "__mvapply_row";

fn name_expr(name: &str, span: Span) -> Expr {
    Expr {
        kind: ExprKind::Name(name.to_string()),
        span,
    }
}

fn named(name: &str, span: Span) -> NamedExpr {
    NamedExpr {
        names: Vec::new(),
        expr: name_expr(name, span),
    }
}

fn op(kind: OpKind, span: Span) -> Operator {
    Operator { kind, span }
}

/// `partition by group (top n by key)`: n rows per group (the planner's partition form).
fn per_group_top(group: &str, n: Expr, by: SortKey, span: Span) -> Operator {
    op(
        OpKind::Partition {
            params: Vec::new(),
            by: Ident {
                name: group.into(),
                span,
            },
            ops: vec![op(OpKind::Top { n, by }, span)],
        },
        span,
    )
}

/// A short name of an operator for the rejection message.
fn label(kind: &OpKind) -> &'static str {
    match kind {
        OpKind::Distinct(_) => "distinct",
        OpKind::Join { .. } => "join",
        OpKind::Lookup { .. } => "lookup",
        OpKind::Union(_) => "union",
        OpKind::MakeSeries(_) => "make-series",
        OpKind::TopNested(_) => "top-nested",
        OpKind::TopHitters { .. } => "top-hitters",
        OpKind::Sort(_) => "sort",
        OpKind::Sample(_) => "sample",
        OpKind::Serialize(_) => "serialize",
        OpKind::Evaluate { .. } => "evaluate",
        OpKind::Partition { .. } => "partition",
        OpKind::MvApply(_) => "mv-apply",
        OpKind::Scan(_) => "scan",
        OpKind::Fork(_) => "fork",
        OpKind::Facet { .. } => "facet",
        _ => "this operator",
    }
}

impl Binder<'_> {
    pub(super) fn mv_apply(
        &mut self,
        t: BoundTable,
        ma: &MvApply,
        span: Span,
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let numbered = self.operator(
            t,
            &op(
                OpKind::Serialize(vec![NamedExpr {
                    names: vec![Ident {
                        name: ROW.into(),
                        span,
                    }],
                    expr: Expr {
                        kind: ExprKind::Call {
                            name: Ident {
                                name: "row_number".into(),
                                span,
                            },
                            args: Vec::new(),
                        },
                        span,
                    },
                }]),
                span,
            ),
            env,
        )?;
        // The expanded columns (and the item index) form the subtable; the others are carried.
        let mut sub: Vec<String> = ma
            .items
            .iter()
            .filter_map(|it| match &it.name {
                Some(n) => Some(n.name.clone()),
                None => derive_name(&it.expr, true),
            })
            .collect();
        sub.extend(
            ma.params
                .iter()
                .filter(|p| p.name.name == "with_itemindex")
                .map(|p| p.value.name.clone()),
        );
        let carry: Vec<String> = numbered
            .schema
            .columns
            .iter()
            .map(|c| c.name.clone())
            .filter(|c| !sub.contains(c))
            .collect();
        let t = self.operator(
            numbered,
            &op(
                OpKind::MvExpand {
                    params: ma.params.clone(),
                    items: ma.items.clone(),
                    limit: ma.limit.clone(),
                },
                span,
            ),
            env,
        )?;
        let t = self.per_group(t, &ma.ops, &carry, ROW, "mv-apply", env)?;
        self.operator(
            t,
            &op(
                OpKind::ProjectAway(vec![Ident {
                    name: ROW.into(),
                    span,
                }]),
                span,
            ),
            env,
        )
    }
}

fn unsupported_inside(kind: &OpKind, within: &str, span: Span) -> BindError {
    BindError::Unsupported {
        what: "operator",
        name: format!("{} inside {within}", label(kind)),
        pos: span.start,
    }
}

impl Binder<'_> {
    /// Runs `ops` on `t` once per group of equal `group` values, keeping the `carry` columns
    /// (which `group` is one of) beside each result: row-wise operators as they are,
    /// `summarize`/`project`/`count` by or with the carried columns, `top`/`take` (or `sort`
    /// one key + `take`) as `partition by group (top ...)`. Others are rejected by name
    /// (`'<op> inside <within>'`).
    pub(super) fn per_group(
        &mut self,
        mut t: BoundTable,
        ops: &[Operator],
        carry: &[String],
        group: &str,
        within: &str,
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let carried = |span: Span, except: &[NamedExpr]| {
            carry
                .iter()
                .filter(|c| {
                    !except.iter().any(|e| {
                        e.names
                            .first()
                            .map(|n| n.name.clone())
                            .or_else(|| derive_name(&e.expr, true))
                            .as_deref()
                            == Some(c.as_str())
                    })
                })
                .map(|c| named(c, span))
                .collect::<Vec<_>>()
        };
        let mut ops = ops.iter().peekable();
        while let Some(o) = ops.next() {
            let s = o.span;
            let rewritten = match &o.kind {
                OpKind::Where(_)
                | OpKind::Extend(_)
                | OpKind::Parse { .. }
                | OpKind::ProjectRename(_)
                | OpKind::ProjectAway(_)
                | OpKind::MvExpand { .. }
                | OpKind::As(_) => o.clone(),
                OpKind::Project(items) => {
                    let mut all = carried(s, items.as_slice());
                    all.extend(items.iter().cloned());
                    op(OpKind::Project(all), s)
                }
                OpKind::Summarize { params, aggs, by } => {
                    let mut keys = carried(s, by.as_slice());
                    keys.extend(by.iter().cloned());
                    op(
                        OpKind::Summarize {
                            params: params.clone(),
                            aggs: aggs.clone(),
                            by: keys,
                        },
                        s,
                    )
                }
                OpKind::Count => op(
                    OpKind::Summarize {
                        params: Vec::new(),
                        aggs: vec![NamedExpr {
                            names: vec![Ident {
                                name: "Count".into(),
                                span: s,
                            }],
                            expr: Expr {
                                kind: ExprKind::Call {
                                    name: Ident {
                                        name: "count".into(),
                                        span: s,
                                    },
                                    args: Vec::new(),
                                },
                                span: s,
                            },
                        }],
                        by: carried(s, &[]),
                    },
                    s,
                ),
                OpKind::Top { n, by } => per_group_top(group, n.clone(), by.clone(), s),
                OpKind::Take(n) => per_group_top(
                    group,
                    n.clone(),
                    SortKey {
                        expr: name_expr(group, s),
                        asc: true,
                        nulls_first: true,
                    },
                    s,
                ),
                OpKind::Sort(keys) if keys.len() == 1 => match ops.peek().map(|o| &o.kind) {
                    Some(OpKind::Take(n)) => {
                        let n = n.clone();
                        ops.next();
                        per_group_top(group, n, keys[0].clone(), s)
                    }
                    _ => return Err(unsupported_inside(&o.kind, within, s)),
                },
                other => return Err(unsupported_inside(other, within, s)),
            };
            t = self.operator(t, &rewritten, env)?;
        }
        Ok(t)
    }
}

impl Binder<'_> {
    /// `partition by K (ops)` in general: `ops` once per value of K, bound with
    /// [`Binder::per_group`] (K carried), and the output is what the subquery itself returns
    /// (its columns, by name). `partition by K (top N by ...)` alone is planned directly.
    /// `partition by key (ops)`: a `scan` runs per partition natively, a lone `top N by`
    /// as the planner's partition form, anything else as [`Binder::per_group`] operators.
    pub(super) fn partition(
        &mut self,
        t: BoundTable,
        by: &Ident,
        ops: &[Operator],
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        if ops.iter().any(|o| matches!(o.kind, OpKind::Scan(_))) {
            return self.partitioned_scan(t, by, ops, env);
        }
        let [Operator {
            kind: OpKind::Top { .. },
            ..
        }] = ops
        else {
            return self.partition_per_group(t, by, ops, env);
        };
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

    fn partition_per_group(
        &mut self,
        t: BoundTable,
        by: &Ident,
        ops: &[Operator],
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        if t.schema.find(&by.name).is_none() {
            return Err(unknown("column", &by.name, by.span));
        }
        // The subquery's own output, bound over one partition's rows.
        let mut body = table(TableNode::PartitionSource, t.schema.clone());
        for o in ops {
            body = self.operator(body, o, env)?;
        }
        let grouped = self.per_group(
            t,
            ops,
            std::slice::from_ref(&by.name),
            &by.name,
            "partition",
            env,
        )?;
        let span = by.span;
        let columns = body
            .schema
            .columns
            .iter()
            .map(|c| named(&c.name, span))
            .collect();
        self.operator(grouped, &op(OpKind::Project(columns), span), env)
    }
}
