//! Calls of built-in functions: the special forms (`functions::SPECIAL_FORMS`: `toscalar`, `materialize`, `pack_all`, `table`, `column_ifexists`, `iscolumnexists`, `typeof`), then the registry's aggregates and scalar functions with their arity and result type.

use super::*;

impl Binder<'_> {
    pub(super) fn call(
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
                return scalar(ExprNode::Call { func, args: pairs }, KqlType::Dynamic);
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
            "iscolumnexists" => {
                // `iscolumnexists(name)`: whether the row has a column `name` (a constant
                // string), resolved while binding like `column_ifexists`.
                let [name_arg] = args else {
                    return Err(invalid("iscolumnexists() takes a column name", span));
                };
                let no_agg = Ctx { agg: false, ..ctx };
                let ExprNode::Literal(Literal::String(column)) =
                    self.scalar(name_arg, no_agg)?.node
                else {
                    return Err(invalid(
                        "iscolumnexists(): the column name must be a constant string",
                        name_arg.span,
                    ));
                };
                let exists = ctx.row.is_some_and(|row| row.find(&column).is_some());
                return scalar(ExprNode::Literal(Literal::Bool(exists)), KqlType::Bool);
            }
            "column_ifexists" | "columnifexists" => {
                // `column_ifexists(name, default)`: the row's column `name` if it has one,
                // else `default` (Kusto resolves it while binding, as here).
                let [name_arg, default] = args else {
                    return Err(invalid(
                        "column_ifexists() takes a column name and a default value",
                        span,
                    ));
                };
                let no_agg = Ctx { agg: false, ..ctx };
                let ExprNode::Literal(Literal::String(column)) =
                    self.scalar(name_arg, no_agg)?.node
                else {
                    return Err(invalid(
                        "column_ifexists(): the column name must be a constant string",
                        name_arg.span,
                    ));
                };
                if let Some(row) = ctx.row {
                    if let Some((i, _)) = row.find(&column) {
                        return Ok(Bound::Scalar(col_ref(row, i, span)));
                    }
                }
                return Ok(Bound::Scalar(self.scalar(default, ctx)?));
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
}

pub(super) fn check_arity(
    n: &str,
    min: usize,
    max: usize,
    got: usize,
    span: Span,
) -> Result<(), BindError> {
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

pub(super) fn result_type(
    ret: Ret,
    args: &[BoundExpr],
    n: &str,
    span: Span,
) -> Result<KqlType, BindError> {
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
