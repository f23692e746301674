//! Recursive-descent KQL parser producing [`crate::ast`] with exact error positions.

use crate::ast::*;
use crate::error::{ParseError, Span};
use crate::lexer::{tokenize, Token, TokenKind};
use crate::value::KqlType;

/// Parses a full query (statements separated by `;`).
pub fn parse(src: &str) -> Result<Query, ParseError> {
    let tokens = tokenize(src)?;
    let mut p = Parser {
        toks: tokens,
        i: 0,
        src,
        depth: 0,
        signs: 0,
        operators: 0,
    };
    p.query()
}

/// Operators that are recognised but deliberately unsupported (rejected by name).
const UNSUPPORTED_OPERATORS: &[&str] = &[
    "top-hitters",
    "scan",
    "fork",
    "facet",
    "mv-apply",
    "find",
    "reduce",
    "parse-where",
    "parse-kv",
    "sample-distinct",
    "externaldata",
    "graph-match",
    "make-graph",
    "consume",
    "project-smart",
    "as-of",
];

struct Parser<'s> {
    toks: Vec<Token>,
    i: usize,
    src: &'s str,
    depth: usize,
    signs: usize,
    operators: usize,
}

/// Maximum nesting of parentheses, call arguments, subqueries and unary signs: deep enough for
/// real queries (the hunting corpus nests at most 7 levels) while keeping recursion well within
/// a 2 MiB thread stack even in debug builds.
const MAX_NESTING: usize = 24;

/// Maximum operands in one chain of binary operators (`a or b or ...`).
const MAX_CHAIN: usize = 1000;

/// Maximum operators in one pipeline (`T | op | op ...`).
const MAX_PIPELINE: usize = 250;

/// Maximum tabular operators in the whole query.
const MAX_OPERATORS: usize = 1000;

type PResult<T> = Result<T, ParseError>;

fn describe(t: &Token) -> String {
    t.text.clone()
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, k: usize) -> &Token {
        let idx = (self.i + k).min(self.toks.len() - 1);
        &self.toks[idx]
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn at_word(&self, w: &str) -> bool {
        self.peek().is_word(w)
    }

    fn at_punct(&self, p: &str) -> bool {
        self.peek().is_punct(p)
    }

    fn at_eof(&self) -> bool {
        self.peek().kind == TokenKind::Eof
    }

    /// Tokens `k` and `k+1` (relative) touch with no whitespace in between.
    fn adjacent(&self, k: usize) -> bool {
        let a = self.peek_at(k);
        let b = self.peek_at(k + 1);
        b.kind != TokenKind::Eof && a.span.end == b.span.start.offset
    }

    fn err<T>(&self, expected: &str) -> PResult<T> {
        let t = self.peek();
        Err(ParseError::Syntax {
            expected: expected.to_string(),
            found: describe(t),
            pos: t.span.start,
        })
    }

    fn expect_punct(&mut self, p: &str) -> PResult<Token> {
        if self.at_punct(p) {
            Ok(self.advance())
        } else {
            self.err(&format!("'{p}'"))
        }
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if self.at_punct(p) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.at_word(w) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, w: &str) -> PResult<Token> {
        if self.at_word(w) {
            Ok(self.advance())
        } else {
            self.err(&format!("'{w}'"))
        }
    }

    fn span_from(&self, start: Span) -> Span {
        let end = if self.i > 0 {
            self.toks[self.i - 1].span.end
        } else {
            start.end
        };
        Span {
            start: start.start,
            end: end.max(start.start.offset),
        }
    }

    /// An identifier, or a bracketed name `['x']` / `["x"]`.
    fn ident(&mut self, expected: &str) -> PResult<Ident> {
        let t = self.peek().clone();
        match &t.kind {
            TokenKind::Ident(s) => {
                self.advance();
                Ok(Ident {
                    name: s.clone(),
                    span: t.span,
                })
            }
            TokenKind::Punct("[") if matches!(self.peek_at(1).kind, TokenKind::Str(_)) => {
                self.advance();
                let TokenKind::Str(s) = self.advance().kind else {
                    return self.err(expected);
                };
                self.expect_punct("]")?;
                Ok(Ident {
                    name: s,
                    span: self.span_from(t.span),
                })
            }
            _ => self.err(expected),
        }
    }

    fn ident_or_bracket_ahead(&self) -> bool {
        matches!(self.peek().kind, TokenKind::Ident(_))
            || (self.at_punct("[") && matches!(self.peek_at(1).kind, TokenKind::Str(_)))
    }

    fn query(&mut self) -> PResult<Query> {
        let mut statements = Vec::new();
        loop {
            while self.eat_punct(";") {}
            if self.at_eof() {
                break;
            }
            let is_let = self.at_word("let");
            statements.push(self.statement()?);
            if self.eat_punct(";") {
                continue;
            }
            if self.at_eof() {
                break;
            }
            // Portal convention: queries separated by a blank line are separate statements.
            if !is_let && self.blank_line_before_current() {
                continue;
            }
            return self.err(if is_let { "';'" } else { "'|' or end of query" });
        }
        Ok(Query { statements })
    }

    /// True when at least one empty line separates the previous token from the current one.
    fn blank_line_before_current(&self) -> bool {
        if self.i == 0 {
            return false;
        }
        let from = self.toks[self.i - 1].span.end;
        let to = self.peek().span.start.offset;
        let Some(gap) = self.src.get(from..to) else {
            return false;
        };
        let lines: Vec<&str> = gap.split('\n').collect();
        lines.len() > 2
            && lines[1..lines.len() - 1].iter().any(|l| {
                l.chars()
                    .all(|c| c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}')
            })
    }

    fn statement(&mut self) -> PResult<Statement> {
        if self.at_word("let") {
            self.advance();
            let name = self.ident("a name after 'let'")?;
            self.expect_punct("=")?;
            let value = if self.function_ahead() {
                LetValue::Function(self.function_def()?)
            } else {
                LetValue::Expr(self.pipeline()?)
            };
            return Ok(Statement::Let { name, value });
        }
        for w in ["declare", "set", "alias", "pattern", "restrict"] {
            if self.at_word(w) && matches!(self.peek_at(1).kind, TokenKind::Ident(_)) {
                let t = self.peek();
                return Err(ParseError::Unsupported {
                    what: "statement",
                    name: w.to_string(),
                    reason: String::new(),
                    pos: t.span.start,
                });
            }
        }
        Ok(Statement::Query(self.pipeline()?))
    }

    fn function_ahead(&self) -> bool {
        let k = usize::from(self.at_word("view"));
        if !self.peek_at(k).is_punct("(") {
            return false;
        }
        if k == 1 {
            return true;
        }
        (self.peek_at(1).is_punct(")") && self.peek_at(2).is_punct("{"))
            || (matches!(self.peek_at(1).kind, TokenKind::Ident(_))
                && self.peek_at(2).is_punct(":"))
    }

    fn function_def(&mut self) -> PResult<FunctionDef> {
        let start = self.peek().span;
        let is_view = self.eat_word("view");
        self.expect_punct("(")?;
        let mut params = Vec::new();
        if !self.at_punct(")") {
            loop {
                let name = self.ident("a parameter name")?;
                self.expect_punct(":")?;
                let ty = if self.at_punct("(") {
                    self.advance();
                    let mut cols = Vec::new();
                    if !self.eat_punct("*") {
                        loop {
                            let c = self.ident("a column name")?;
                            self.expect_punct(":")?;
                            cols.push((c, self.type_name()?));
                            if !self.eat_punct(",") {
                                break;
                            }
                        }
                    }
                    self.expect_punct(")")?;
                    ParamType::Tabular(cols)
                } else {
                    ParamType::Scalar(self.type_name()?)
                };
                let default = if self.eat_punct("=") {
                    Some(self.expr()?)
                } else {
                    None
                };
                params.push(Param { name, ty, default });
                if !self.eat_punct(",") {
                    break;
                }
            }
        }
        self.expect_punct(")")?;
        self.expect_punct("{")?;
        let mut body = Vec::new();
        loop {
            while self.eat_punct(";") {}
            if self.at_punct("}") {
                break;
            }
            body.push(self.statement()?);
            if !self.eat_punct(";") && !self.at_punct("}") {
                return self.err("';' or '}'");
            }
        }
        self.expect_punct("}")?;
        Ok(FunctionDef {
            params,
            body,
            is_view,
            span: self.span_from(start),
        })
    }

    fn type_name(&mut self) -> PResult<KqlType> {
        if let TokenKind::Ident(s) = &self.peek().kind {
            if let Some(t) = KqlType::from_name(s) {
                self.advance();
                return Ok(t);
            }
        }
        self.err("a type name (string, int, long, real, bool, datetime, timespan, dynamic, guid, decimal)")
    }

    /// An expression optionally followed by `| operator ...`.
    fn pipeline(&mut self) -> PResult<Expr> {
        if self.depth >= MAX_NESTING {
            return self.limit(format!(
                "the query nests expressions more than {MAX_NESTING} levels deep"
            ));
        }
        self.depth += 1;
        let r = self.pipeline_inner();
        self.depth -= 1;
        r
    }

    fn pipeline_inner(&mut self) -> PResult<Expr> {
        let start = self.peek().span;
        let source = self.expr()?;
        if !self.at_punct("|") {
            return Ok(source);
        }
        let mut ops = Vec::new();
        while self.at_punct("|") {
            if ops.len() >= MAX_PIPELINE {
                return self.limit(format!(
                    "more than {MAX_PIPELINE} operators in one pipeline"
                ));
            }
            if self.operators >= MAX_OPERATORS {
                return self.limit(format!("more than {MAX_OPERATORS} operators in the query"));
            }
            self.operators += 1;
            self.advance();
            ops.push(self.operator()?);
        }
        Ok(Expr {
            kind: ExprKind::Pipe {
                source: Box::new(source),
                ops,
            },
            span: self.span_from(start),
        })
    }

    /// Reads a possibly dashed name (`project-away`, `mv-expand`) starting at the current ident.
    fn dashed_name(&mut self) -> Option<String> {
        let TokenKind::Ident(first) = &self.peek().kind else {
            return None;
        };
        let mut name = first.clone();
        self.advance();
        while self.at_punct("-")
            && self.adjacent(0)
            && self.toks[self.i - 1].span.end == self.peek().span.start.offset
        {
            let TokenKind::Ident(next) = &self.peek_at(1).kind else {
                break;
            };
            name.push('-');
            name.push_str(next);
            self.advance();
            self.advance();
        }
        Some(name)
    }

    fn unsupported<T>(
        &self,
        what: &'static str,
        name: &str,
        reason: &str,
        span: Span,
    ) -> PResult<T> {
        Err(ParseError::Unsupported {
            what,
            name: name.to_string(),
            reason: reason.to_string(),
            pos: span.start,
        })
    }

    fn operator(&mut self) -> PResult<Operator> {
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
                OpKind::MvExpand {
                    params,
                    items,
                    limit,
                }
            }
            "parse" => {
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
                loop {
                    if self.at_word("with") && self.peek_at(1).is_punct("(") {
                        // with (name = value, ...): skip the balanced parentheses.
                        self.advance();
                        let mut depth = 0i32;
                        loop {
                            if self.at_eof() {
                                return self.err("')'");
                            }
                            if self.at_punct("(") {
                                depth += 1;
                            } else if self.at_punct(")") {
                                depth -= 1;
                            }
                            self.advance();
                            if depth == 0 {
                                break;
                            }
                        }
                    } else if matches!(self.peek().kind, TokenKind::Ident(_))
                        && self.peek_at(1).is_punct("=")
                    {
                        // Legacy `kind=stacked`, `title="..."` properties.
                        self.advance_n(3);
                    } else {
                        break;
                    }
                }
                OpKind::Render(chart)
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
            "search" => OpKind::Search(Box::new(self.search_spec(false)?)),
            other if UNSUPPORTED_OPERATORS.contains(&other) => {
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

    /// `name=value` parameters before an operator's arguments; `hint.*` is always allowed.
    fn op_params(&mut self, allowed: &[&str]) -> PResult<Vec<OpParam>> {
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

    fn join_conditions(&mut self) -> PResult<Vec<JoinCond>> {
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

    fn sort_key(&mut self) -> PResult<SortKey> {
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
    fn pattern_list(&mut self) -> PResult<Vec<Ident>> {
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
    fn name_pattern(&mut self) -> PResult<Ident> {
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

    fn named_ahead(&self) -> bool {
        if matches!(self.peek().kind, TokenKind::Ident(_)) {
            return self.peek_at(1).is_punct("=");
        }
        if self.at_punct("[") && matches!(self.peek_at(1).kind, TokenKind::Str(_)) {
            return self.peek_at(2).is_punct("]") && self.peek_at(3).is_punct("=");
        }
        false
    }

    fn named_list(&mut self) -> PResult<Vec<NamedExpr>> {
        let mut out = vec![self.named_expr()?];
        while self.eat_punct(",") {
            out.push(self.named_expr()?);
        }
        Ok(out)
    }

    fn named_expr(&mut self) -> PResult<NamedExpr> {
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

    fn tuple_names_ahead(&self) -> bool {
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

    fn union_spec(&mut self) -> PResult<UnionSpec> {
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
    fn table_list(&mut self) -> PResult<Vec<Expr>> {
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

    fn search_spec(&mut self, allow_in: bool) -> PResult<SearchSpec> {
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

    fn find_spec(&mut self) -> PResult<FindSpec> {
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
    fn dashed_name_ahead(&mut self) -> Option<String> {
        let save = self.i;
        let name = self.dashed_name();
        self.i = save;
        name
    }

    // ---------------------------------------------------------------- expressions

    /// A scalar or tabular expression without a trailing pipe.
    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        self.or_expr()
    }

    fn binary(&self, op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
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

    fn or_expr(&mut self) -> PResult<Expr> {
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

    fn and_expr(&mut self) -> PResult<Expr> {
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

    fn cmp_expr(&mut self) -> PResult<Expr> {
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

    fn limit<T>(&self, message: String) -> PResult<T> {
        Err(ParseError::Limit {
            message,
            pos: self.peek().span.start,
        })
    }

    fn check_chain(&self, n: usize) -> PResult<()> {
        if n > MAX_CHAIN {
            return self.err(&format!(
                "at most {MAX_CHAIN} operands in one chain of operators"
            ));
        }
        Ok(())
    }

    fn advance_n(&mut self, n: usize) {
        for _ in 0..n {
            self.advance();
        }
    }

    fn list_op(&mut self, op: ListOp, lhs: Expr) -> PResult<Expr> {
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

    fn add_expr(&mut self) -> PResult<Expr> {
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

    fn mul_expr(&mut self) -> PResult<Expr> {
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

    fn unary(&mut self) -> PResult<Expr> {
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

    fn unary_inner(&mut self) -> PResult<Expr> {
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

    fn postfix(&mut self) -> PResult<Expr> {
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

    fn call_args(&mut self) -> PResult<Vec<Expr>> {
        self.expect_punct("(")?;
        let mut args = Vec::new();
        if !self.at_punct(")") {
            loop {
                args.push(self.pipeline()?);
                if !self.eat_punct(",") {
                    break;
                }
            }
        }
        self.expect_punct(")")?;
        Ok(args)
    }

    fn lit(&self, l: Literal, start: Span) -> Expr {
        Expr {
            kind: ExprKind::Literal(l),
            span: self.span_from(start),
        }
    }

    fn primary(&mut self) -> PResult<Expr> {
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

    fn ident_primary(&mut self, w: String, start: Span) -> PResult<Expr> {
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
    fn typed_literal(&mut self, ty: KqlType) -> PResult<Option<Literal>> {
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

    fn datatable(&mut self, start: Span) -> PResult<Expr> {
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

    fn json_value(&mut self) -> PResult<serde_json::Value> {
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

    fn json_value_inner(&mut self) -> PResult<serde_json::Value> {
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

fn str_op(kind: StrOpKind, case_sensitive: bool, negated: bool) -> BinOp {
    BinOp::Str(StrOp {
        kind,
        case_sensitive,
        negated,
    })
}

fn side_column(e: &Expr, side: &str) -> Option<Ident> {
    if let ExprKind::Member { base, name } = &e.kind {
        if matches!(&base.kind, ExprKind::Name(n) if n == side) {
            return Some(name.clone());
        }
    }
    None
}

fn flatten_join(e: &Expr, out: &mut Vec<JoinCond>) -> PResult<()> {
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
