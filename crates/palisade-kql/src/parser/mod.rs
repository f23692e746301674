//! Recursive-descent KQL parser producing [`crate::ast`] with exact error positions.

use crate::ast::*;
use crate::error::{ParseError, Span};
use crate::lexer::{tokenize, Token, TokenKind};
use crate::value::KqlType;

mod branching;
mod expr;
mod operators;

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

/// Operator names outside Kusto's grammar that clients send and Palisade rejects by name. Every
/// name of the Kusto operator reference without a rule here is rejected by name too
/// ([`crate::operators::is_reference_name`]).
const UNSUPPORTED_EXTRA_OPERATORS: &[&str] = &["project-smart", "as-of"];

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
            if self.at_word(w) {
                if let TokenKind::Ident(next) = &self.peek_at(1).kind {
                    // `declare query_parameters`, `declare pattern`: named with their second word.
                    let name = if w == "declare" {
                        format!("declare {next}")
                    } else {
                        w.to_string()
                    };
                    let t = self.peek();
                    return Err(ParseError::Unsupported {
                        what: "statement",
                        name,
                        reason: String::new(),
                        pos: t.span.start,
                    });
                }
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
}
