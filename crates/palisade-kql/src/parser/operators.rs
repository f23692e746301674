//! Tabular operators: `where`, `project`, `summarize`, `join`, `mv-expand`, `parse`, … with
//! their parameters, and the `union`/`search`/`find` specifications.

use super::expr::flatten_join;
use super::*;

impl Parser<'_> {
    pub(super) fn operator(&mut self) -> PResult<Operator> {
        let start = self.peek().span;
        let Some(name) = self.dashed_name() else {
            return self.err("a tabular operator");
        };
        let kind = match name.as_str() {
            "where" | "filter" => OpKind::Where(self.expr()?),
            "project" => OpKind::Project(self.named_list()?),
            "project-away" => OpKind::ProjectAway(self.pattern_list()?),
            "project-keep" => OpKind::ProjectKeep(self.pattern_list()?),
            "project-reorder" => OpKind::ProjectReorder(self.pattern_list()?),
            "project-rename" => {
                let mut v = Vec::new();
                loop {
                    let new = self.ident("a column name")?;
                    self.expect_punct("=")?;
                    let old = self.ident("a column name")?;
                    v.push((new, old));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                OpKind::ProjectRename(v)
            }
            "extend" => OpKind::Extend(self.named_list()?),
            "summarize" => {
                let params = self.op_params(&[])?;
                let aggs = if self.at_word("by") {
                    Vec::new()
                } else {
                    self.named_list()?
                };
                let by = if self.eat_word("by") {
                    self.named_list()?
                } else {
                    Vec::new()
                };
                OpKind::Summarize { params, aggs, by }
            }
            "sort" | "order" => {
                self.op_params(&[])?;
                self.expect_word("by")?;
                let mut keys = vec![self.sort_key()?];
                while self.eat_punct(",") {
                    keys.push(self.sort_key()?);
                }
                OpKind::Sort(keys)
            }
            "top" => {
                let n = self.expr()?;
                self.expect_word("by")?;
                OpKind::Top {
                    n,
                    by: self.sort_key()?,
                }
            }
            "take" | "limit" => {
                self.op_params(&[])?;
                OpKind::Take(self.expr()?)
            }
            "distinct" => {
                let mut v = vec![self.expr()?];
                while self.eat_punct(",") {
                    v.push(self.expr()?);
                }
                OpKind::Distinct(v)
            }
            "count" => OpKind::Count,
            "join" | "lookup" => {
                let params = self.op_params(&["kind", "withsource"])?;
                let right = Box::new(self.postfix()?);
                self.expect_word("on")?;
                let on = self.join_conditions()?;
                if name == "join" {
                    OpKind::Join { params, right, on }
                } else {
                    OpKind::Lookup { params, right, on }
                }
            }
            "union" => OpKind::Union(self.union_spec()?),
            "mv-expand" | "mvexpand" => {
                let params = self.op_params(&["bagexpansion", "with_itemindex", "kind"])?;
                let (items, limit) = self.expand_items()?;
                OpKind::MvExpand {
                    params,
                    items,
                    limit,
                }
            }
            "mv-apply" | "mvapply" => {
                let params = self.op_params(&["with_itemindex"])?;
                let (items, limit) = self.expand_items()?;
                self.expect_word("on")?;
                self.expect_punct("(")?;
                let mut ops = vec![self.operator()?];
                while self.eat_punct("|") {
                    ops.push(self.operator()?);
                }
                self.expect_punct(")")?;
                OpKind::MvApply(Box::new(MvApply {
                    params,
                    items,
                    limit,
                    ops,
                }))
            }
            "parse" | "parse-where" => {
                let params = self.op_params(&["kind", "flags"])?;
                let expr = self.expr()?;
                self.expect_word("with")?;
                let mut pattern = Vec::new();
                loop {
                    let t = self.peek().clone();
                    match &t.kind {
                        TokenKind::Str(s) => {
                            self.advance();
                            pattern.push(ParsePart::Text(s.clone()));
                        }
                        TokenKind::Punct("*") => {
                            self.advance();
                            pattern.push(ParsePart::Any);
                        }
                        TokenKind::Ident(_) | TokenKind::Punct("[") => {
                            let id = self.ident("a capture column name")?;
                            let ty = if self.eat_punct(":") {
                                Some(self.type_name()?)
                            } else {
                                None
                            };
                            pattern.push(ParsePart::Capture(id, ty));
                        }
                        _ => break,
                    }
                    self.eat_punct(",");
                }
                if pattern.is_empty() {
                    return self.err("a parse pattern (strings, '*' and column names)");
                }
                OpKind::Parse {
                    params,
                    expr,
                    pattern,
                    filter: name == "parse-where",
                }
            }
            "as" => {
                self.op_params(&[])?;
                OpKind::As(self.ident("a name")?)
            }
            "serialize" => {
                if self.at_punct("|") || self.at_punct(";") || self.at_punct(")") || self.at_eof() {
                    OpKind::Serialize(Vec::new())
                } else {
                    OpKind::Serialize(self.named_list()?)
                }
            }
            "render" => {
                let chart = self.ident("a chart type")?;
                let mut props = Vec::new();
                if self.at_word("with") && self.peek_at(1).is_punct("(") {
                    self.advance_n(2);
                    if !self.at_punct(")") {
                        loop {
                            props.push(self.render_prop()?);
                            if !self.eat_punct(",") {
                                break;
                            }
                        }
                    }
                    self.expect_punct(")")?;
                } else {
                    // The legacy form: `render timechart kind=stacked title="..."`.
                    while matches!(self.peek().kind, TokenKind::Ident(_))
                        && self.peek_at(1).is_punct("=")
                    {
                        props.push(self.render_prop()?);
                    }
                }
                OpKind::Render { chart, props }
            }
            "invoke" => OpKind::Invoke(self.postfix()?),
            "evaluate" => {
                let params = self.op_params(&[])?;
                OpKind::Evaluate {
                    params,
                    call: self.postfix()?,
                }
            }
            "getschema" => OpKind::GetSchema,
            "make-series" => {
                let params = self.op_params(&["kind"])?;
                let mut aggs = Vec::new();
                loop {
                    let agg = self.named_expr()?;
                    let default = if self.eat_word("default") {
                        self.expect_punct("=")?;
                        Some(self.expr()?)
                    } else {
                        None
                    };
                    aggs.push((agg, default));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                self.expect_word("on")?;
                let on = self.expr()?;
                if self.at_word("in") {
                    return self.unsupported(
                        "make-series syntax",
                        "in range",
                        "; use 'from .. to .. step'",
                        self.peek().span,
                    );
                }
                let from = if self.eat_word("from") {
                    Some(self.expr()?)
                } else {
                    None
                };
                let to = if self.eat_word("to") {
                    Some(self.expr()?)
                } else {
                    None
                };
                self.expect_word("step")?;
                let step = self.expr()?;
                let by = if self.eat_word("by") {
                    self.named_list()?
                } else {
                    Vec::new()
                };
                OpKind::MakeSeries(Box::new(MakeSeries {
                    params,
                    aggs,
                    on,
                    from,
                    to,
                    step,
                    by,
                }))
            }
            "top-nested" => {
                let mut levels = Vec::new();
                loop {
                    let n = if self.at_word("of") {
                        None
                    } else {
                        Some(self.expr()?)
                    };
                    self.expect_word("of")?;
                    let of = self.named_expr()?;
                    let others = if self.eat_word("with") {
                        self.expect_word("others")?;
                        self.expect_punct("=")?;
                        Some(self.expr()?)
                    } else {
                        None
                    };
                    self.expect_word("by")?;
                    let by = self.named_expr()?;
                    let asc = if self.eat_word("asc") {
                        true
                    } else {
                        self.eat_word("desc");
                        false
                    };
                    levels.push(TopNestedLevel {
                        n,
                        of,
                        others,
                        by,
                        asc,
                    });
                    let more = self.at_punct(",")
                        && self.peek_at(1).is_word("top")
                        && self.peek_at(2).is_punct("-")
                        && self.peek_at(3).is_word("nested");
                    if !more {
                        break;
                    }
                    self.advance();
                    self.dashed_name();
                }
                OpKind::TopNested(levels)
            }
            "top-hitters" => {
                let n = self.expr()?;
                self.expect_word("of")?;
                let of = self.named_expr()?;
                let by = if self.eat_word("by") {
                    Some(self.expr()?)
                } else {
                    None
                };
                OpKind::TopHitters { n, of, by }
            }
            "partition" => {
                let params = self.op_params(&[])?;
                self.expect_word("by")?;
                let by = self.ident("a partition column")?;
                let close = if self.eat_punct("(") {
                    ")"
                } else if self.eat_punct("{") {
                    "}"
                } else {
                    return self.err("'(' and the operators to run on each partition");
                };
                let mut ops = vec![self.operator()?];
                while self.eat_punct("|") {
                    ops.push(self.operator()?);
                }
                self.expect_punct(close)?;
                OpKind::Partition { params, by, ops }
            }
            "sample" => OpKind::Sample(self.expr()?),
            "fork" => OpKind::Fork(self.fork_branches()?),
            "facet" => self.facet()?,
            "scan" => OpKind::Scan(Box::new(self.scan_spec()?)),
            "search" => OpKind::Search(Box::new(self.search_spec(false)?)),
            other
                if crate::operators::is_reference_name(other)
                    || UNSUPPORTED_EXTRA_OPERATORS.contains(&other) =>
            {
                return self.unsupported("operator", other, "", start);
            }
            _ => {
                return Err(ParseError::Syntax {
                    expected: "a tabular operator".into(),
                    found: name,
                    pos: start.start,
                })
            }
        };
        Ok(Operator {
            kind,
            span: self.span_from(start),
        })
    }

    /// `mv-expand`/`mv-apply` columns, `[Name =] ArrayExpression [to typeof(Type)], ...`, and
    /// the optional `limit N`.
    fn expand_items(&mut self) -> PResult<(Vec<MvExpandItem>, Option<Expr>)> {
        let mut items = Vec::new();
        loop {
            let name = if self.ident_or_bracket_ahead() && self.named_ahead() {
                let n = self.ident("a column name")?;
                self.expect_punct("=")?;
                Some(n)
            } else {
                None
            };
            let expr = self.expr()?;
            let to = if self.eat_word("to") {
                self.expect_word("typeof")?;
                self.expect_punct("(")?;
                let t = self.type_name()?;
                self.expect_punct(")")?;
                Some(t)
            } else {
                None
            };
            items.push(MvExpandItem { name, expr, to });
            if !self.eat_punct(",") {
                break;
            }
        }
        let limit = if self.eat_word("limit") {
            Some(self.expr()?)
        } else {
            None
        };
        Ok((items, limit))
    }

    /// One `render` property, `name = value`: a string, a number (signed), `true`/`false`, a
    /// name, or for `ycolumns`/`series`/`anomalycolumns` a comma-separated list of names.
    fn render_prop(&mut self) -> PResult<RenderProp> {
        let name = self.ident("a render property name")?;
        self.expect_punct("=")?;
        let list = matches!(
            name.name.to_ascii_lowercase().as_str(),
            "ycolumns" | "series" | "anomalycolumns"
        );
        let mut values = Vec::new();
        loop {
            let t = self.peek().clone();
            let negative = t.is_punct("-");
            if negative {
                self.advance();
            }
            let t = self.peek().clone();
            let sign = if negative { -1.0 } else { 1.0 };
            let v = match &t.kind {
                TokenKind::Str(s) if !negative => serde_json::Value::String(s.clone()),
                TokenKind::Int(i) => serde_json::json!(if negative { -i } else { *i }),
                TokenKind::Real(r) => serde_json::json!(sign * r),
                TokenKind::Ident(w) if !negative && (w == "true" || w == "false") => {
                    serde_json::Value::Bool(w == "true")
                }
                TokenKind::Ident(_) | TokenKind::Punct("[") if !negative => {
                    let id = self.ident("a render property value")?;
                    values.push(serde_json::Value::String(id.name));
                    if list
                        && self.at_punct(",")
                        && !(matches!(self.peek_at(1).kind, TokenKind::Ident(_))
                            && self.peek_at(2).is_punct("="))
                    {
                        self.advance();
                        continue;
                    }
                    break;
                }
                _ => return self.err("a render property value"),
            };
            self.advance();
            values.push(v);
            break;
        }
        let value = if list {
            serde_json::Value::Array(values)
        } else {
            values.pop().unwrap_or_default()
        };
        Ok(RenderProp { name, value })
    }

    /// `name=value` parameters before an operator's arguments; `hint.*` is always allowed.
    pub(super) fn op_params(&mut self, allowed: &[&str]) -> PResult<Vec<OpParam>> {
        let mut out = Vec::new();
        while let TokenKind::Ident(w) = &self.peek().kind {
            let is_hint = w == "hint" && self.peek_at(1).is_punct(".");
            let is_param = allowed.contains(&w.as_str()) && self.peek_at(1).is_punct("=");
            if !(is_hint || is_param) {
                break;
            }
            let start = self.peek().span;
            let mut name = w.clone();
            self.advance();
            while self.eat_punct(".") {
                let part = self.ident("a hint name")?;
                name.push('.');
                name.push_str(&part.name);
            }
            self.expect_punct("=")?;
            let vt = self.peek().clone();
            let value = match &vt.kind {
                TokenKind::Ident(s) | TokenKind::Str(s) => s.clone(),
                TokenKind::Int(_) | TokenKind::Real(_) => vt.text.clone(),
                _ => return self.err("a parameter value"),
            };
            self.advance();
            out.push(OpParam {
                name: Ident {
                    name,
                    span: self.span_from(start),
                },
                value: Ident {
                    name: value,
                    span: vt.span,
                },
            });
        }
        Ok(out)
    }

    pub(super) fn join_conditions(&mut self) -> PResult<Vec<JoinCond>> {
        let mut out = Vec::new();
        loop {
            let e = self.expr()?;
            flatten_join(&e, &mut out)?;
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(out)
    }

    pub(super) fn sort_key(&mut self) -> PResult<SortKey> {
        let expr = self.expr()?;
        let asc = if self.eat_word("asc") {
            true
        } else {
            self.eat_word("desc");
            false
        };
        let nulls_first = if self.eat_word("nulls") {
            if self.eat_word("first") {
                true
            } else {
                self.expect_word("last")?;
                false
            }
        } else {
            asc
        };
        Ok(SortKey {
            expr,
            asc,
            nulls_first,
        })
    }

    /// Names with optional `*` wildcards, e.g. `Initiating*`, for project-away/keep/reorder.
    pub(super) fn pattern_list(&mut self) -> PResult<Vec<Ident>> {
        let mut out = Vec::new();
        loop {
            let p = self.name_pattern()?;
            // project-reorder accepts a direction after each name.
            for w in ["asc", "desc", "granny-asc", "granny-desc"] {
                self.eat_word(w);
            }
            out.push(p);
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(out)
    }

    /// A name made of adjacent identifier and `*` tokens (`Device*Events`), or `['x']`.
    pub(super) fn name_pattern(&mut self) -> PResult<Ident> {
        if self.at_punct("[") {
            return self.ident("a column name");
        }
        let start = self.peek().span;
        let mut name = String::new();
        loop {
            match &self.peek().kind {
                TokenKind::Ident(s) => name.push_str(s),
                TokenKind::Punct("*") => name.push('*'),
                _ if name.is_empty() => return self.err("a name"),
                _ => break,
            }
            self.advance();
            let prev_end = self.toks[self.i - 1].span.end;
            if self.peek().span.start.offset != prev_end {
                break;
            }
        }
        Ok(Ident {
            name,
            span: self.span_from(start),
        })
    }

    pub(super) fn named_ahead(&self) -> bool {
        if matches!(self.peek().kind, TokenKind::Ident(_)) {
            return self.peek_at(1).is_punct("=");
        }
        if self.at_punct("[") && matches!(self.peek_at(1).kind, TokenKind::Str(_)) {
            return self.peek_at(2).is_punct("]") && self.peek_at(3).is_punct("=");
        }
        false
    }

    pub(super) fn named_list(&mut self) -> PResult<Vec<NamedExpr>> {
        let mut out = vec![self.named_expr()?];
        while self.eat_punct(",") {
            out.push(self.named_expr()?);
        }
        Ok(out)
    }

    pub(super) fn named_expr(&mut self) -> PResult<NamedExpr> {
        let mut names = Vec::new();
        if self.ident_or_bracket_ahead() && self.named_ahead() {
            names.push(self.ident("a column name")?);
            self.expect_punct("=")?;
        } else if self.at_punct("(") && self.tuple_names_ahead() {
            self.advance();
            loop {
                names.push(self.ident("a column name")?);
                if !self.eat_punct(",") {
                    break;
                }
            }
            self.expect_punct(")")?;
            self.expect_punct("=")?;
        }
        Ok(NamedExpr {
            names,
            expr: self.expr()?,
        })
    }

    pub(super) fn tuple_names_ahead(&self) -> bool {
        let mut k = 1;
        loop {
            if !matches!(self.peek_at(k).kind, TokenKind::Ident(_)) {
                return false;
            }
            k += 1;
            if self.peek_at(k).is_punct(",") {
                k += 1;
                continue;
            }
            return self.peek_at(k).is_punct(")") && self.peek_at(k + 1).is_punct("=");
        }
    }

    pub(super) fn union_spec(&mut self) -> PResult<UnionSpec> {
        let params = self.op_params(&["kind", "withsource", "isfuzzy"])?;
        let mut spec = UnionSpec {
            kind: None,
            withsource: None,
            isfuzzy: false,
            tables: Vec::new(),
        };
        for p in params {
            match p.name.name.as_str() {
                "kind" => spec.kind = Some(p.value),
                "withsource" => spec.withsource = Some(p.value),
                "isfuzzy" => spec.isfuzzy = p.value.name == "true",
                _ => {}
            }
        }
        loop {
            let start = self.peek().span;
            let e = if self.at_punct("(") {
                self.primary()?
            } else {
                let pat = self.name_pattern()?;
                if self.at_punct("(") && !pat.name.contains('*') {
                    let args = self.call_args()?;
                    Expr {
                        kind: ExprKind::Call { name: pat, args },
                        span: self.span_from(start),
                    }
                } else {
                    Expr {
                        kind: ExprKind::Name(pat.name),
                        span: pat.span,
                    }
                }
            };
            spec.tables.push(e);
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(spec)
    }

    /// `(T1, T2, ...)` after `in`; names may contain `*`.
    pub(super) fn table_list(&mut self) -> PResult<Vec<Expr>> {
        self.expect_punct("(")?;
        let mut tables = Vec::new();
        loop {
            if self.at_punct("(") {
                tables.push(self.primary()?);
            } else {
                let pat = self.name_pattern()?;
                tables.push(Expr {
                    kind: ExprKind::Name(pat.name),
                    span: pat.span,
                });
            }
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct(")")?;
        Ok(tables)
    }

    pub(super) fn search_spec(&mut self, allow_in: bool) -> PResult<SearchSpec> {
        let params = self.op_params(&["kind"])?;
        let kind = params
            .into_iter()
            .find(|p| p.name.name == "kind")
            .map(|p| p.value);
        let tables = if allow_in && self.at_word("in") && self.peek_at(1).is_punct("(") {
            self.advance();
            Some(self.table_list()?)
        } else {
            None
        };
        Ok(SearchSpec {
            kind,
            tables,
            predicate: self.expr()?,
        })
    }

    pub(super) fn find_spec(&mut self) -> PResult<FindSpec> {
        let params = self.op_params(&["withsource"])?;
        let withsource = params
            .into_iter()
            .find(|p| p.name.name == "withsource")
            .map(|p| p.value);
        let tables = if self.eat_word("in") {
            Some(self.table_list()?)
        } else {
            None
        };
        self.expect_word("where")?;
        let predicate = self.expr()?;
        let start = self.peek().span;
        let project = match self.dashed_name_ahead().as_deref() {
            Some("project-smart") => {
                self.dashed_name();
                None
            }
            Some("project") => {
                self.dashed_name();
                let mut columns = Vec::new();
                let mut pack_all = false;
                loop {
                    if self.at_word("pack_all") && self.peek_at(1).is_punct("(") {
                        self.advance_n(2);
                        self.expect_punct(")")?;
                        pack_all = true;
                    } else {
                        let c = self.ident("a column name")?;
                        let ty = if self.eat_punct(":") {
                            Some(self.type_name()?)
                        } else {
                            None
                        };
                        columns.push((c, ty));
                    }
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                Some(FindProject { columns, pack_all })
            }
            Some(other) if other.starts_with("project") => {
                return self.unsupported("find clause", other, "", start);
            }
            _ => None,
        };
        Ok(FindSpec {
            withsource,
            tables,
            predicate,
            project,
        })
    }

    /// The dashed name at the current position, without consuming it.
    pub(super) fn dashed_name_ahead(&mut self) -> Option<String> {
        let save = self.i;
        let name = self.dashed_name();
        self.i = save;
        name
    }

    // ---------------------------------------------------------------- expressions
}
