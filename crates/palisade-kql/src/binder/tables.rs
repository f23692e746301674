//! Multi-table forms: `join`/`lookup`, `union` (with wildcards and `withsource`), `search` and `find`.

use super::expr::convert;
use super::*;

impl Binder<'_> {
    pub(super) fn join(
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

    pub(super) fn union(
        &mut self,
        first: Option<(String, BoundTable)>,
        spec: &UnionSpec,
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let mut inputs = Vec::new();
        if let Some(labelled) = first {
            inputs.push(labelled);
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
    pub(super) fn resolve_tables(
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
                        // `(T | ... | as Name)`: labelled Name.
                        ExprKind::Pipe { ops, .. } => match ops.last().map(|o| &o.kind) {
                            Some(OpKind::As(name)) => name.name.clone(),
                            _ => format!("union_arg{}", out.len()),
                        },
                        _ => format!("union_arg{}", out.len()),
                    };
                    out.push((label, t));
                }
            }
        }
        Ok(out)
    }

    /// All catalog tables, labelled by name (the default scope of `search` and `find`).
    pub(super) fn all_tables(&self) -> Vec<(String, BoundTable)> {
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
    pub(super) fn filter_tables(
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

    pub(super) fn search(
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

    pub(super) fn find(&mut self, spec: &FindSpec, env: &Env) -> Result<BoundTable, BindError> {
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
}

/// A union of labelled inputs; columns merge by name in order of appearance, a name with
/// several types becomes one `name_type` column per type; `withsource` adds a first column.
pub(super) fn union_of(
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

/// Unqualified names an expression refers to, in order of first appearance (not descending
/// into subqueries).
pub(super) fn ast_names(e: &Expr, out: &mut Vec<String>) {
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
pub(super) fn expand_terms(e: &Expr, columns: &[Column], case_sensitive: bool) -> Expr {
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
