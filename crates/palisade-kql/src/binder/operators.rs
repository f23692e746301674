//! Tabular operators: each `| op` applied to the bound input, with the output schema Kusto gives it.

use super::calls::check_arity;
use super::summarize::default_agg_name;
use super::*;

impl Binder<'_> {
    pub(super) fn operator(
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
            OpKind::TopHitters { n, of, by } => self.top_hitters(t, n, of, by.as_ref(), env),
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
            OpKind::Union(spec) => self.union(Some(("union_arg0".to_string(), t)), spec, env),
            OpKind::Search(spec) => self.search(Some(t), spec, env),
            OpKind::MvExpand {
                params,
                items,
                limit,
            } => self.mv_expand(t, params, items, limit.as_ref(), env),
            OpKind::MvApply(ma) => self.mv_apply(t, ma, span, env),
            OpKind::Parse {
                params,
                expr,
                pattern,
                filter,
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
                        filter: *filter,
                    },
                    Schema::new(cols),
                ))
            }
            OpKind::As(_) => Ok(t),
            OpKind::Render { chart, props } => {
                crate::render::check(chart, props)?;
                Ok(t)
            }
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
            OpKind::Partition { by, ops, .. } => self.partition(t, by, ops, env),
            OpKind::Evaluate { call, .. } => self.evaluate(t, call, env),
            OpKind::Scan(spec) => self.scan(t, spec, env),
            OpKind::Fork(_) | OpKind::Facet { .. } => Err(invalid(
                format!(
                    "'{}' must be the last operator of a query statement (its result tables \
                     cannot be used by other operators)",
                    if matches!(op.kind, OpKind::Fork(_)) {
                        "fork"
                    } else {
                        "facet"
                    }
                ),
                span,
            )),
        }
    }

    pub(super) fn count_expr(&mut self, e: &Expr, env: &Env) -> Result<BoundExpr, BindError> {
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

    pub(super) fn sort_keys(
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

    pub(super) fn match_patterns(
        &self,
        schema: &Schema,
        pats: &[Ident],
    ) -> Result<Vec<usize>, BindError> {
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

    pub(super) fn extend(
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
    pub(super) fn multi_call(
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

    pub(super) fn mv_expand(
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
