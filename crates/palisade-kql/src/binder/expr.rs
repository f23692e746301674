//! Scalar expressions: names (columns, `let`s, tables), operators and their types, member and index access, `in`/`between`, user-function calls, `invoke FileProfile()` arguments.

use super::*;

impl Binder<'_> {
    pub(super) fn any(&mut self, e: &Expr, ctx: Ctx<'_>) -> Result<Bound, BindError> {
        let span = e.span;
        let mk = |node, ty| Ok(Bound::Scalar(BoundExpr { node, ty, span }));
        match &e.kind {
            ExprKind::Literal(l) => mk(ExprNode::Literal(l.clone()), l.ty()),
            ExprKind::Name(n) => self.name(n, span, ctx),
            ExprKind::NamedArg { name, .. } => Err(BindError::Unsupported {
                what: "argument",
                name: format!("named argument '{}' of a built-in function", name.name),
                pos: name.span.start,
            }),
            ExprKind::Star => Err(invalid(
                "'*' is only allowed as an argument of arg_max, arg_min, take_any, count or in distinct",
                span,
            )),
            ExprKind::Member { base, name } => {
                if let Some(row) = ctx.row {
                    if let Some(state) = self.scan_state_column(base, name, row)? {
                        return Ok(Bound::Scalar(col_ref(row, state, span)));
                    }
                }
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
                        if matches!(op, ListOp::HasAny | ListOp::HasAll) {
                            return mk(
                                ExprNode::InList {
                                    op: *op,
                                    expr: Box::new(x),
                                    items: vec![terms_of(t, items[0].span)],
                                },
                                KqlType::Bool,
                            );
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
                // `| as Name` binds Name to its input for the operators after it (a `join`'s
                // right side, a subquery) and labels it in a following `union withsource=`.
                let mut named: Option<(Env, String)> = None;
                for op in ops {
                    let env = named.as_ref().map_or(ctx.env, |(e, _)| e);
                    t = match (&op.kind, &named) {
                        (OpKind::Union(spec), Some((_, label))) => {
                            self.union(Some((label.clone(), t)), spec, env)?
                        }
                        _ => self.operator(t, op, env)?,
                    };
                    if let OpKind::As(name) = &op.kind {
                        let mut scoped = env.clone();
                        scoped
                            .vars
                            .insert(name.name.clone(), Rc::new(Binding::table(t.clone())));
                        named = Some((scoped, name.name.clone()));
                    }
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
    pub(super) fn catalog_scan(&self, n: &str) -> Option<BoundTable> {
        let schema = self.catalog.table(n)?;
        Some(table(
            TableNode::Scan {
                table: n.to_string(),
            },
            schema.clone(),
        ))
    }

    pub(super) fn name(&mut self, n: &str, span: Span, ctx: Ctx<'_>) -> Result<Bound, BindError> {
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
    pub(super) fn file_profile_args(
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

    pub(super) fn call_user(
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
        let args = by_parameter(fname, def, args)?;
        let mut fenv = closure.clone();
        for (i, p) in def.params.iter().enumerate() {
            let value = if let Some(Some(a)) = args.get(i) {
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
                        args.get(i).copied().flatten().map_or(span, |a| a.span),
                    )?;
                    Binding::table(t)
                }
                (ParamType::Scalar(t), Bound::Table(_)) => {
                    return Err(invalid(
                        format!(
                            "function '{fname}': parameter '{}' is a {t}, got a table",
                            p.name.name
                        ),
                        args.get(i).copied().flatten().map_or(span, |a| a.span),
                    ))
                }
                (ParamType::Tabular(_), Bound::Scalar(_)) => {
                    return Err(invalid(
                        format!(
                            "function '{fname}': parameter '{}' is a table, got a scalar",
                            p.name.name
                        ),
                        args.get(i).copied().flatten().map_or(span, |a| a.span),
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

    pub(super) fn binary_type(
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
}

/// Converts `x` to `ty` with the matching `to*()` function.
pub(super) fn convert(x: BoundExpr, ty: KqlType) -> BoundExpr {
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

/// `has_any`/`has_all` with a tabular argument: the terms are the values of its first column,
/// as `toscalar(T | summarize make_list(first column))` (a table without rows gives `[]`, so
/// `has_any` is false and `has_all` true, as with an empty literal list).
fn terms_of(t: BoundTable, span: Span) -> BoundExpr {
    let first = &t.schema.columns[0];
    let column = BoundExpr {
        node: ExprNode::Column {
            index: 0,
            name: first.name.clone(),
        },
        ty: first.ty,
        span,
    };
    let list = BoundExpr {
        node: ExprNode::Aggregate {
            func: AggregateFunction::MakeList,
            args: vec![column],
            output: 0,
        },
        ty: KqlType::Dynamic,
        span,
    };
    let terms = BoundTable {
        node: TableNode::Aggregate {
            input: Box::new(t),
            keys: Vec::new(),
            aggs: vec![list],
        },
        schema: Schema::new(vec![Column::new("terms", KqlType::Dynamic)]),
    };
    BoundExpr {
        node: ExprNode::ScalarSubquery(Box::new(terms)),
        ty: KqlType::Dynamic,
        span,
    }
}

/// A user function's arguments in parameter order: positional ones first, then `name = value`
/// ones by parameter name (Kusto's rule: a named argument may not precede a positional one,
/// nor name a parameter twice). `None` for a parameter left to its default.
fn by_parameter<'a>(
    fname: &str,
    def: &FunctionDef,
    args: &'a [Expr],
) -> Result<Vec<Option<&'a Expr>>, BindError> {
    let mut out: Vec<Option<&Expr>> = vec![None; def.params.len()];
    let mut named = false;
    for (i, a) in args.iter().enumerate() {
        match &a.kind {
            ExprKind::NamedArg { name, value } => {
                named = true;
                let Some(k) = def.params.iter().position(|p| p.name.name == name.name) else {
                    return Err(invalid(
                        format!("function '{fname}' has no parameter '{}'", name.name),
                        name.span,
                    ));
                };
                if out[k].is_some() {
                    return Err(invalid(
                        format!("parameter '{}' is given twice", name.name),
                        name.span,
                    ));
                }
                out[k] = Some(value);
            }
            _ if named => {
                return Err(invalid(
                    "a positional argument cannot follow a named one",
                    a.span,
                ))
            }
            _ => out[i] = Some(a),
        }
    }
    Ok(out)
}
