//! Scalar expressions by precedence (`or`, `and`, comparisons and string operators,
//! `+`/`-`, `*`/`/`/`%`, unary, postfix member/index/call), literals, `datatable` and
//! `dynamic(...)` JSON.
//!
//! (Just over 800 lines on purpose: one precedence climb, whose levels read best together.)

use super::*;

impl Parser<'_> {
    /// A scalar or tabular expression without a trailing pipe.
    pub(super) fn expr(&mut self) -> PResult<Expr> {
        self.or_expr()
    }

    pub(super) fn binary(&self, op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        let span = Span {
            start: lhs.span.start,
            end: rhs.span.end,
        };
        Expr {
            kind: ExprKind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        }
    }

    pub(super) fn or_expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.and_expr()?;
        let mut n = 1;
        while self.at_word("or") {
            n += 1;
            self.check_chain(n)?;
            self.advance();
            let rhs = self.and_expr()?;
            lhs = self.binary(BinOp::Or, lhs, rhs);
        }
        Ok(lhs)
    }

    pub(super) fn and_expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.cmp_expr()?;
        let mut n = 1;
        while self.at_word("and") {
            n += 1;
            self.check_chain(n)?;
            self.advance();
            let rhs = self.cmp_expr()?;
            lhs = self.binary(BinOp::And, lhs, rhs);
        }
        Ok(lhs)
    }

    pub(super) fn cmp_expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.add_expr()?;
        loop {
            let t = self.peek().clone();
            let simple = match &t.kind {
                TokenKind::Punct("==") => Some(BinOp::Eq),
                TokenKind::Punct("!=") | TokenKind::Punct("<>") => Some(BinOp::Ne),
                TokenKind::Punct("<") => Some(BinOp::Lt),
                TokenKind::Punct("<=") => Some(BinOp::Le),
                TokenKind::Punct(">") => Some(BinOp::Gt),
                TokenKind::Punct(">=") => Some(BinOp::Ge),
                TokenKind::Punct("=~") => Some(str_op(StrOpKind::Equals, false, false)),
                TokenKind::Punct("!~") => Some(str_op(StrOpKind::Equals, false, true)),
                _ => None,
            };
            if let Some(op) = simple {
                self.advance();
                let rhs = self.add_expr()?;
                lhs = self.binary(op, lhs, rhs);
                continue;
            }
            // `!word` negated operators.
            let (negated, word) = match &t.kind {
                TokenKind::Punct("!") if self.adjacent(0) => match &self.peek_at(1).kind {
                    TokenKind::Ident(w) => (true, w.clone()),
                    _ => return self.err("an operator after '!'"),
                },
                TokenKind::Ident(w) => (false, w.clone()),
                _ => break,
            };
            let word_idx = usize::from(negated);
            let (w, legacy_neg) = match word.as_str() {
                "notcontains" => ("contains".to_string(), true),
                "notcontainscs" => ("contains_cs".to_string(), true),
                "nothas" => ("has".to_string(), true),
                "notbetween" => ("between".to_string(), true),
                _ => (word.clone(), false),
            };
            let negated = negated || legacy_neg;
            let (base, cs) = match w.strip_suffix("_cs") {
                Some(b) => (b, true),
                None => (w.as_str(), false),
            };
            let kind = match base {
                "has" => Some(StrOpKind::Has),
                "hasprefix" => Some(StrOpKind::HasPrefix),
                "hassuffix" => Some(StrOpKind::HasSuffix),
                "contains" => Some(StrOpKind::Contains),
                "startswith" => Some(StrOpKind::StartsWith),
                "endswith" => Some(StrOpKind::EndsWith),
                "containscs" => {
                    self.advance_n(word_idx + 1);
                    let rhs = self.add_expr()?;
                    lhs = self.binary(str_op(StrOpKind::Contains, true, negated), lhs, rhs);
                    continue;
                }
                _ => None,
            };
            if let Some(kind) = kind {
                self.advance_n(word_idx + 1);
                let rhs = self.add_expr()?;
                lhs = self.binary(str_op(kind, cs, negated), lhs, rhs);
                continue;
            }
            match w.as_str() {
                "matches" if !negated => {
                    self.advance();
                    self.expect_word("regex")?;
                    let rhs = self.add_expr()?;
                    lhs = self.binary(str_op(StrOpKind::MatchesRegex, true, false), lhs, rhs);
                }
                "in" => {
                    self.advance_n(word_idx + 1);
                    let ci = self.at_punct("~") && self.i > 0 && {
                        let prev = &self.toks[self.i - 1];
                        prev.span.end == self.peek().span.start.offset
                    };
                    if ci {
                        self.advance();
                    }
                    lhs = self.list_op(
                        ListOp::In {
                            negated,
                            case_insensitive: ci,
                        },
                        lhs,
                    )?;
                }
                "has_any" | "has_all" if !negated => {
                    self.advance();
                    let op = if w == "has_any" {
                        ListOp::HasAny
                    } else {
                        ListOp::HasAll
                    };
                    lhs = self.list_op(op, lhs)?;
                }
                "between" => {
                    self.advance_n(word_idx + 1);
                    self.expect_punct("(")?;
                    let low = self.add_expr()?;
                    self.expect_punct("..")?;
                    let high = self.add_expr()?;
                    self.expect_punct(")")?;
                    let span = self.span_from(lhs.span);
                    lhs = Expr {
                        kind: ExprKind::Between {
                            expr: Box::new(lhs),
                            low: Box::new(low),
                            high: Box::new(high),
                            negated,
                        },
                        span,
                    };
                }
                _ if negated => return self.err("a string operator after '!'"),
                _ => break,
            }
        }
        Ok(lhs)
    }

    pub(super) fn limit<T>(&self, message: String) -> PResult<T> {
        Err(ParseError::Limit {
            message,
            pos: self.peek().span.start,
        })
    }

    pub(super) fn check_chain(&self, n: usize) -> PResult<()> {
        if n > MAX_CHAIN {
            return self.err(&format!(
                "at most {MAX_CHAIN} operands in one chain of operators"
            ));
        }
        Ok(())
    }

    pub(super) fn advance_n(&mut self, n: usize) {
        for _ in 0..n {
            self.advance();
        }
    }

    pub(super) fn list_op(&mut self, op: ListOp, lhs: Expr) -> PResult<Expr> {
        let items = if self.at_punct("(") {
            self.call_args()?
        } else {
            vec![self.add_expr()?]
        };
        let span = self.span_from(lhs.span);
        Ok(Expr {
            kind: ExprKind::List {
                op,
                expr: Box::new(lhs),
                items,
            },
            span,
        })
    }

    pub(super) fn add_expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.mul_expr()?;
        let mut n = 1;
        loop {
            let op = if self.at_punct("+") {
                BinOp::Add
            } else if self.at_punct("-") {
                BinOp::Sub
            } else {
                break;
            };
            n += 1;
            self.check_chain(n)?;
            self.advance();
            let rhs = self.mul_expr()?;
            lhs = self.binary(op, lhs, rhs);
        }
        Ok(lhs)
    }

    pub(super) fn mul_expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        let mut n = 1;
        loop {
            let op = if self.at_punct("*") {
                BinOp::Mul
            } else if self.at_punct("/") {
                BinOp::Div
            } else if self.at_punct("%") {
                BinOp::Mod
            } else {
                break;
            };
            n += 1;
            self.check_chain(n)?;
            self.advance();
            let rhs = self.unary()?;
            lhs = self.binary(op, lhs, rhs);
        }
        Ok(lhs)
    }

    pub(super) fn unary(&mut self) -> PResult<Expr> {
        if !(self.at_punct("-") || self.at_punct("+")) {
            return self.unary_inner();
        }
        // Sign chains recurse through two small frames only: a separate, larger limit.
        if self.signs >= MAX_CHAIN / 10 {
            return self.limit(format!("more than {} unary signs in a row", MAX_CHAIN / 10));
        }
        self.signs += 1;
        let r = self.unary_inner();
        self.signs -= 1;
        r
    }

    pub(super) fn unary_inner(&mut self) -> PResult<Expr> {
        let start = self.peek().span;
        if self.eat_punct("-") {
            let inner = self.unary()?;
            let kind = match inner.kind {
                ExprKind::Literal(Literal::Long(v)) => ExprKind::Literal(Literal::Long(-v)),
                ExprKind::Literal(Literal::Real(v)) => ExprKind::Literal(Literal::Real(-v)),
                ExprKind::Literal(Literal::TimeSpan(v)) => ExprKind::Literal(Literal::TimeSpan(-v)),
                other => ExprKind::Neg(Box::new(Expr {
                    kind: other,
                    span: inner.span,
                })),
            };
            return Ok(Expr {
                kind,
                span: self.span_from(start),
            });
        }
        if self.eat_punct("+") {
            return self.unary();
        }
        self.postfix()
    }

    pub(super) fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        loop {
            if self.at_punct(".") {
                self.advance();
                let name = if self.at_punct("[") {
                    self.ident("a member name")?
                } else {
                    // Any identifier (even a keyword) may follow '.'.
                    let t = self.peek().clone();
                    match &t.kind {
                        TokenKind::Ident(s) => {
                            self.advance();
                            Ident {
                                name: s.clone(),
                                span: t.span,
                            }
                        }
                        TokenKind::Int(_) => {
                            self.advance();
                            Ident {
                                name: t.text.clone(),
                                span: t.span,
                            }
                        }
                        _ => return self.err("a member name after '.'"),
                    }
                };
                // `cluster('c').database('d').T`: a cross-cluster reference, named in the error
                // rather than failing on the '(' of a method-like call.
                if self.at_punct("(") {
                    if let ExprKind::Call { name: root, .. } = &e.kind {
                        if matches!(root.name.as_str(), "cluster" | "database") {
                            return Err(ParseError::Unsupported {
                                what: "function",
                                name: root.name.clone(),
                                reason: " (cross-cluster and cross-database references)".into(),
                                pos: root.span.start,
                            });
                        }
                    }
                }
                let span = self.span_from(e.span);
                e = Expr {
                    kind: ExprKind::Member {
                        base: Box::new(e),
                        name,
                    },
                    span,
                };
            } else if self.at_punct("[") {
                self.advance();
                let idx = self.expr()?;
                self.expect_punct("]")?;
                let span = self.span_from(e.span);
                e = match idx.kind {
                    ExprKind::Literal(Literal::String(s)) => Expr {
                        kind: ExprKind::Member {
                            base: Box::new(e),
                            name: Ident {
                                name: s,
                                span: idx.span,
                            },
                        },
                        span,
                    },
                    _ => Expr {
                        kind: ExprKind::Index {
                            base: Box::new(e),
                            index: Box::new(idx),
                        },
                        span,
                    },
                };
            } else {
                break;
            }
        }
        Ok(e)
    }

    pub(super) fn call_args(&mut self) -> PResult<Vec<Expr>> {
        self.expect_punct("(")?;
        let mut args = Vec::new();
        if !self.at_punct(")") {
            loop {
                if matches!(self.peek().kind, TokenKind::Ident(_)) && self.peek_at(1).is_punct("=")
                {
                    let start = self.peek().span;
                    let name = self.ident("a parameter name")?;
                    self.advance();
                    let value = self.pipeline()?;
                    args.push(Expr {
                        kind: ExprKind::NamedArg {
                            name,
                            value: Box::new(value),
                        },
                        span: self.span_from(start),
                    });
                } else {
                    args.push(self.pipeline()?);
                }
                if !self.eat_punct(",") {
                    break;
                }
            }
        }
        self.expect_punct(")")?;
        Ok(args)
    }

    pub(super) fn lit(&self, l: Literal, start: Span) -> Expr {
        Expr {
            kind: ExprKind::Literal(l),
            span: self.span_from(start),
        }
    }

    pub(super) fn primary(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        let start = t.span;
        match &t.kind {
            TokenKind::Int(v) => {
                self.advance();
                Ok(self.lit(Literal::Long(*v), start))
            }
            TokenKind::Real(v) => {
                self.advance();
                Ok(self.lit(Literal::Real(*v), start))
            }
            TokenKind::Str(s) => {
                self.advance();
                // Adjacent string literals concatenate.
                let mut s = s.clone();
                while let TokenKind::Str(more) = &self.peek().kind {
                    s.push_str(more);
                    self.advance();
                }
                Ok(self.lit(Literal::String(s), start))
            }
            TokenKind::Timespan(v) => {
                self.advance();
                Ok(self.lit(Literal::TimeSpan(*v), start))
            }
            TokenKind::Datetime(v) => {
                self.advance();
                Ok(self.lit(Literal::DateTime(*v), start))
            }
            TokenKind::Guid(g) => {
                self.advance();
                Ok(self.lit(Literal::Guid(g.clone()), start))
            }
            TokenKind::Punct("(") => {
                self.advance();
                let inner = self.pipeline()?;
                self.expect_punct(")")?;
                Ok(Expr {
                    kind: inner.kind,
                    span: self.span_from(start),
                })
            }
            TokenKind::Punct("[") if matches!(self.peek_at(1).kind, TokenKind::Str(_)) => {
                let id = self.ident("a name")?;
                Ok(Expr {
                    kind: ExprKind::Name(id.name),
                    span: id.span,
                })
            }
            TokenKind::Punct("*") => {
                self.advance();
                Ok(Expr {
                    kind: ExprKind::Star,
                    span: start,
                })
            }
            TokenKind::Ident(w) => self.ident_primary(w.clone(), start),
            TokenKind::Eof => self.err("an expression"),
            _ => self.err("an expression"),
        }
    }

    pub(super) fn ident_primary(&mut self, w: String, start: Span) -> PResult<Expr> {
        let next_paren = self.peek_at(1).is_punct("(");
        match w.as_str() {
            "true" | "false" => {
                self.advance();
                return Ok(self.lit(Literal::Bool(w == "true"), start));
            }
            "dynamic" if next_paren => {
                self.advance();
                self.advance();
                let v = self.json_value()?;
                self.expect_punct(")")?;
                return Ok(self.lit(Literal::Dynamic(v), start));
            }
            "externaldata" => {
                return self.unsupported(
                    "operator",
                    "externaldata",
                    " (it reads data from the network)",
                    start,
                );
            }
            "union" => {
                self.advance();
                let spec = self.union_spec()?;
                return Ok(Expr {
                    kind: ExprKind::Union(spec),
                    span: self.span_from(start),
                });
            }
            "print" => {
                self.advance();
                let items = self.named_list()?;
                return Ok(Expr {
                    kind: ExprKind::Print(items),
                    span: self.span_from(start),
                });
            }
            "datatable" if next_paren => {
                self.advance();
                return self.datatable(start);
            }
            "range" if self.peek_at(2).is_word("from") => {
                self.advance();
                let name = self.ident("a column name")?;
                self.expect_word("from")?;
                let from = self.expr()?;
                self.expect_word("to")?;
                let to = self.expr()?;
                self.expect_word("step")?;
                let step = self.expr()?;
                return Ok(Expr {
                    kind: ExprKind::Range {
                        name,
                        from: Box::new(from),
                        to: Box::new(to),
                        step: Box::new(step),
                    },
                    span: self.span_from(start),
                });
            }
            "search" if !next_paren => {
                self.advance();
                let spec = self.search_spec(true)?;
                return Ok(Expr {
                    kind: ExprKind::Search(Box::new(spec)),
                    span: self.span_from(start),
                });
            }
            "find" if !next_paren => {
                self.advance();
                let spec = self.find_spec()?;
                return Ok(Expr {
                    kind: ExprKind::Find(Box::new(spec)),
                    span: self.span_from(start),
                });
            }
            "macro"
                if self.peek_at(1).is_punct("-")
                    && self.adjacent(0)
                    && self.adjacent(1)
                    && self.peek_at(2).is_word("expand") =>
            {
                return self.unsupported("operator", "macro-expand", "", start);
            }
            "evaluate" if !next_paren => {
                return self.unsupported("operator", &w, " as a query source", start);
            }
            _ => {}
        }
        if next_paren {
            // Typed literals: long(null), int(5), real(1.5), bool(true), datetime(null).
            if let Some(ty) = KqlType::from_name(&w) {
                if let Some(l) = self.typed_literal(ty)? {
                    return Ok(self.lit(l, start));
                }
            }
            self.advance();
            let args = self.call_args()?;
            return Ok(Expr {
                kind: ExprKind::Call {
                    name: Ident {
                        name: w,
                        span: start,
                    },
                    args,
                },
                span: self.span_from(start),
            });
        }
        self.advance();
        Ok(Expr {
            kind: ExprKind::Name(w),
            span: start,
        })
    }

    /// At `type ( ... )`: consumes and returns a typed literal, or leaves the tokens alone.
    pub(super) fn typed_literal(&mut self, ty: KqlType) -> PResult<Option<Literal>> {
        let inner = self.peek_at(2).clone();
        let (neg, inner, close) = if inner.is_punct("-") {
            (true, self.peek_at(3).clone(), 4)
        } else {
            (false, inner, 3)
        };
        if !self.peek_at(close).is_punct(")") {
            return Ok(None);
        }
        let sign = if neg { -1.0 } else { 1.0 };
        let lit = match (&inner.kind, ty) {
            (TokenKind::Ident(w), _) if w == "null" && !neg => Literal::Null(ty),
            (TokenKind::Int(v), KqlType::Long) => Literal::Long(if neg { -*v } else { *v }),
            (TokenKind::Int(v), KqlType::Int) => {
                let v = if neg { -*v } else { *v };
                match i32::try_from(v) {
                    Ok(i) => Literal::Int(i),
                    Err(_) => {
                        return Err(ParseError::Syntax {
                            expected: "an int between -2147483648 and 2147483647".into(),
                            found: inner.text.clone(),
                            pos: inner.span.start,
                        })
                    }
                }
            }
            (TokenKind::Int(v), KqlType::Real) => Literal::Real(sign * *v as f64),
            (TokenKind::Real(v), KqlType::Real) => Literal::Real(sign * v),
            (TokenKind::Ident(w), KqlType::Real) if w == "nan" && !neg => Literal::Real(f64::NAN),
            (TokenKind::Ident(w), KqlType::Real) if w == "inf" => {
                Literal::Real(sign * f64::INFINITY)
            }
            (TokenKind::Ident(w), KqlType::Bool) if (w == "true" || w == "false") && !neg => {
                Literal::Bool(w == "true")
            }
            _ => return Ok(None),
        };
        self.advance_n(close + 1);
        Ok(Some(lit))
    }

    pub(super) fn datatable(&mut self, start: Span) -> PResult<Expr> {
        self.expect_punct("(")?;
        let mut columns = Vec::new();
        loop {
            let c = self.ident("a column name")?;
            self.expect_punct(":")?;
            columns.push((c, self.type_name()?));
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct(")")?;
        self.expect_punct("[")?;
        let mut values = Vec::new();
        while !self.at_punct("]") {
            values.push(self.expr()?);
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct("]")?;
        if values.len() % columns.len() != 0 {
            return Err(ParseError::Syntax {
                expected: format!("a multiple of {} values", columns.len()),
                found: format!("{} values", values.len()),
                pos: start.start,
            });
        }
        Ok(Expr {
            kind: ExprKind::Datatable { columns, values },
            span: self.span_from(start),
        })
    }

    pub(super) fn json_value(&mut self) -> PResult<serde_json::Value> {
        if self.depth >= MAX_NESTING {
            return self.limit(format!(
                "the query nests values more than {MAX_NESTING} levels deep"
            ));
        }
        self.depth += 1;
        let r = self.json_value_inner();
        self.depth -= 1;
        r
    }

    pub(super) fn json_value_inner(&mut self) -> PResult<serde_json::Value> {
        use serde_json::Value;
        let t = self.peek().clone();
        let v = match &t.kind {
            TokenKind::Punct("[") => {
                self.advance();
                let mut arr = Vec::new();
                while !self.at_punct("]") {
                    arr.push(self.json_value()?);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                self.expect_punct("]")?;
                return Ok(Value::Array(arr));
            }
            TokenKind::Punct("{") => {
                self.advance();
                let mut map = serde_json::Map::new();
                while !self.at_punct("}") {
                    let kt = self.advance();
                    let key = match kt.kind {
                        TokenKind::Str(s) | TokenKind::Ident(s) => s,
                        _ => {
                            return Err(ParseError::Syntax {
                                expected: "a property name".into(),
                                found: kt.text,
                                pos: kt.span.start,
                            })
                        }
                    };
                    self.expect_punct(":")?;
                    map.insert(key, self.json_value()?);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                self.expect_punct("}")?;
                return Ok(Value::Object(map));
            }
            TokenKind::Punct("-") => {
                self.advance();
                return match self.json_value()? {
                    Value::Number(n) => Ok(n
                        .as_i64()
                        .map(|i| Value::from(-i))
                        .or_else(|| n.as_f64().map(|f| Value::from(-f)))
                        .unwrap_or(Value::Null)),
                    _ => Err(ParseError::Syntax {
                        expected: "a number after '-'".into(),
                        found: t.text,
                        pos: t.span.start,
                    }),
                };
            }
            TokenKind::Str(s) => Value::String(s.clone()),
            TokenKind::Int(i) => Value::from(*i),
            TokenKind::Real(f) => Value::from(*f),
            TokenKind::Guid(g) => Value::String(g.clone()),
            TokenKind::Ident(w) if w == "true" => Value::Bool(true),
            TokenKind::Ident(w) if w == "false" => Value::Bool(false),
            TokenKind::Ident(w) if w == "null" => Value::Null,
            _ => return self.err("a dynamic value (array, object, string, number, bool, null)"),
        };
        self.advance();
        Ok(v)
    }
}

pub(super) fn str_op(kind: StrOpKind, case_sensitive: bool, negated: bool) -> BinOp {
    BinOp::Str(StrOp {
        kind,
        case_sensitive,
        negated,
    })
}

pub(super) fn side_column(e: &Expr, side: &str) -> Option<Ident> {
    if let ExprKind::Member { base, name } = &e.kind {
        if matches!(&base.kind, ExprKind::Name(n) if n == side) {
            return Some(name.clone());
        }
    }
    None
}

pub(super) fn flatten_join(e: &Expr, out: &mut Vec<JoinCond>) -> PResult<()> {
    match &e.kind {
        ExprKind::Name(n) => out.push(JoinCond::Same(Ident {
            name: n.clone(),
            span: e.span,
        })),
        ExprKind::Binary {
            op: BinOp::And,
            lhs,
            rhs,
        } => {
            flatten_join(lhs, out)?;
            flatten_join(rhs, out)?;
        }
        ExprKind::Binary {
            op: BinOp::Eq,
            lhs,
            rhs,
        } => {
            let pair = match (side_column(lhs, "$left"), side_column(rhs, "$right")) {
                (Some(l), Some(r)) => Some((l, r)),
                _ => match (side_column(rhs, "$left"), side_column(lhs, "$right")) {
                    (Some(l), Some(r)) => Some((l, r)),
                    _ => None,
                },
            };
            let Some((left, right)) = pair else {
                return Err(ParseError::Syntax {
                    expected: "'$left.column == $right.column'".into(),
                    found: "an expression".into(),
                    pos: e.span.start,
                });
            };
            out.push(JoinCond::Eq { left, right });
        }
        _ => {
            return Err(ParseError::Syntax {
                expected: "a column name or '$left.column == $right.column'".into(),
                found: "an expression".into(),
                pos: e.span.start,
            })
        }
    }
    Ok(())
}
