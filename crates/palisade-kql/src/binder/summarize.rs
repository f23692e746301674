//! `summarize`: group keys, aggregate items and their default names (`count_`, `dcount_X`, …), multi-output aggregates (`arg_max`, `take_any`, `percentiles`).

use super::*;

impl Binder<'_> {
    pub(super) fn summarize(
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
    pub(super) fn multi_aggregate(
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
        let min = if func == AggregateFunction::TakeAny {
            1
        } else {
            2
        };
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
}

/// `count()` → `count_`, `dcount(X)` → `dcount_X`, `make_set(X)` → `set_X`, `percentile(X, 95)`
/// → `percentile_X_95`; only when the item is a single aggregate call.
pub(super) fn default_agg_name(e: &Expr, x: &BoundExpr) -> Option<String> {
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
    if *func == AggregateFunction::CountIf || (*func == AggregateFunction::Count && raw.is_empty())
    {
        return Some(prefix.to_string());
    }
    let col = raw
        .first()
        .and_then(|a| derive_name(a, true))
        .unwrap_or_default();
    if matches!(
        func,
        AggregateFunction::Percentile | AggregateFunction::PercentileW
    ) {
        // The percentage: `percentile(x, p)`, `percentilew(x, weight, p)`.
        let at = if *func == AggregateFunction::Percentile {
            1
        } else {
            2
        };
        if let Some(BoundExpr {
            node: ExprNode::Literal(l),
            ..
        }) = args.get(at)
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
