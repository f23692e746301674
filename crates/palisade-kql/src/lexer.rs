//! KQL lexer: turns query text into tokens with exact positions.

use crate::error::{ParseError, Pos, Span};
use crate::value::{is_guid, parse_datetime, parse_timespan, scaled, timespan_unit, NANOS_PER_DAY};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// An identifier or keyword (keywords are recognised by the parser); `$left` and `$right` included.
    Ident(String),
    /// A string literal, escapes already resolved.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A real literal.
    Real(f64),
    /// A timespan literal (`7d`, `time(1.10:00:00)`), in nanoseconds.
    Timespan(i64),
    /// A `datetime(2021-01-01)` literal, nanoseconds since the Unix epoch.
    Datetime(i64),
    /// A `guid(...)` literal, as written.
    Guid(String),
    /// Punctuation or an operator symbol.
    Punct(&'static str),
    /// End of the query.
    Eof,
}

/// One token with its source range and original text.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token's kind and value.
    pub kind: TokenKind,
    /// Where it is in the source.
    pub span: Span,
    /// The source text it was read from (`end of query` for [`TokenKind::Eof`]).
    pub text: String,
}

impl Token {
    /// True when this token is the identifier `word` (case-sensitive, as KQL keywords are).
    pub fn is_word(&self, word: &str) -> bool {
        matches!(&self.kind, TokenKind::Ident(s) if s == word)
    }

    /// True when this token is the punctuation `p`.
    pub fn is_punct(&self, p: &str) -> bool {
        matches!(&self.kind, TokenKind::Punct(s) if *s == p)
    }
}

const PUNCTS: &[&str] = &[
    "..", "==", "!=", "<>", "<=", ">=", "=~", "!~", "=>", "|", "(", ")", "[", "]", "{", "}", ",",
    ";", ":", ".", "=", "<", ">", "+", "-", "*", "/", "%", "!", "~", "?",
];

struct Lexer<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    line: u32,
    col: u32,
}

/// Splits `src` into tokens; the last token is always [`TokenKind::Eof`].
pub fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer {
        src,
        chars: src.char_indices().collect(),
        i: 0,
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    loop {
        lx.skip_trivia();
        let start = lx.pos();
        let Some(c) = lx.peek(0) else {
            out.push(Token {
                kind: TokenKind::Eof,
                span: Span {
                    start,
                    end: src.len(),
                },
                text: "end of query".into(),
            });
            return Ok(out);
        };
        let kind = lx.token(c, start)?;
        let end = lx.offset();
        out.push(Token {
            kind,
            span: Span { start, end },
            text: src[start.offset..end].to_string(),
        });
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).map(|&(_, c)| c)
    }

    fn offset(&self) -> usize {
        self.chars
            .get(self.i)
            .map(|&(o, _)| o)
            .unwrap_or(self.src.len())
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.col,
            offset: self.offset(),
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_trivia(&mut self) {
        while let Some(c) = self.peek(0) {
            if is_blank(c) {
                self.bump();
            } else if c == '/' && self.peek(1) == Some('/') {
                while let Some(c) = self.peek(0) {
                    if c == '\n' {
                        break;
                    }
                    self.bump();
                }
            } else {
                break;
            }
        }
    }

    fn err(&self, expected: &str, found: String, pos: Pos) -> ParseError {
        ParseError::Syntax {
            expected: expected.to_string(),
            found,
            pos,
        }
    }

    fn token(&mut self, c: char, start: Pos) -> Result<TokenKind, ParseError> {
        // Verbatim / obfuscated string prefixes.
        if (c == '@' && matches!(self.peek(1), Some('"' | '\'')))
            || (matches!(c, 'h' | 'H') && matches!(self.peek(1), Some('"' | '\'')))
            || (matches!(c, 'h' | 'H')
                && self.peek(1) == Some('@')
                && matches!(self.peek(2), Some('"' | '\'')))
        {
            self.bump();
            let verbatim = if c == '@' {
                true
            } else if self.peek(0) == Some('@') {
                self.bump();
                true
            } else {
                false
            };
            return self.string(verbatim, start);
        }
        if c == '`' && self.peek(1) == Some('`') && self.peek(2) == Some('`') {
            return self.multiline_string(start);
        }
        if c == '"' || c == '\'' {
            return self.string(false, start);
        }
        if c.is_ascii_digit() || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) {
            return self.number(start);
        }
        if is_ident_start(c) || (c == '$' && self.peek(1).is_some_and(is_ident_start)) {
            let from = self.offset();
            self.bump();
            while self.peek(0).is_some_and(is_ident_char) {
                self.bump();
            }
            let word = self.src[from..self.offset()].to_string();
            if let Some(kind) = self.raw_literal(&word)? {
                return Ok(kind);
            }
            return Ok(TokenKind::Ident(word));
        }
        for p in PUNCTS {
            let mut ok = true;
            for (k, pc) in p.chars().enumerate() {
                if self.peek(k) != Some(pc) {
                    ok = false;
                    break;
                }
            }
            if ok {
                for _ in 0..p.chars().count() {
                    self.bump();
                }
                return Ok(TokenKind::Punct(p));
            }
        }
        Err(self.err("a token", c.to_string(), start))
    }

    /// `datetime(...)`, `time(...)`, `timespan(...)`, `guid(...)` whose contents are not tokens.
    fn raw_literal(&mut self, word: &str) -> Result<Option<TokenKind>, ParseError> {
        if !matches!(
            word,
            "datetime" | "time" | "timespan" | "guid" | "uuid" | "uniqueid"
        ) {
            return Ok(None);
        }
        // Whitespace (newlines included) may stand on either side of the `(`; treating every
        // kind alike keeps the decision the same however the query is laid out.
        let mut k = 0;
        while self.peek(k).is_some_and(is_blank) {
            k += 1;
        }
        if self.peek(k) != Some('(') {
            return Ok(None);
        }
        let mut j = k + 1;
        while self.peek(j).is_some_and(is_blank) {
            j += 1;
        }
        let first = self.peek(j);
        let raw = match word {
            "datetime" => first.is_some_and(|c| c.is_ascii_digit()),
            "time" | "timespan" => first.is_some_and(|c| c.is_ascii_digit() || c == '-'),
            _ => first.is_some_and(|c| c.is_ascii_hexdigit()),
        };
        if !raw {
            return Ok(None);
        }
        for _ in 0..j {
            self.bump();
        }
        let content_pos = self.pos();
        let from = self.offset();
        loop {
            match self.peek(0) {
                None | Some('\n') => {
                    let found = self
                        .peek(0)
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "end of query".into());
                    return Err(self.err("')'", found, self.pos()));
                }
                Some(')') => break,
                Some(_) => {
                    self.bump();
                }
            }
        }
        let content = self.src[from..self.offset()]
            .trim_matches(is_blank)
            .to_string();
        self.bump();
        let kind = match word {
            "datetime" => parse_datetime(&content).map(TokenKind::Datetime),
            // A bare number in `time(...)` counts days.
            "time" | "timespan" => parse_timespan(&content)
                .or_else(|| {
                    let (neg, n) = match content.strip_prefix('-') {
                        Some(n) => (true, n),
                        None => (false, content.as_str()),
                    };
                    scaled(n, NANOS_PER_DAY).map(|v| if neg { -v } else { v })
                })
                .map(TokenKind::Timespan),
            _ => is_guid(&content).then(|| TokenKind::Guid(content.clone())),
        };
        kind.map(Some).ok_or_else(|| {
            let what = match word {
                "datetime" => "a datetime literal",
                "time" | "timespan" => "a timespan literal",
                _ => "a guid literal",
            };
            self.err(what, content, content_pos)
        })
    }

    fn string(&mut self, verbatim: bool, start: Pos) -> Result<TokenKind, ParseError> {
        let quote = self.bump().unwrap_or('"');
        let mut s = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(self.err(
                    &format!("closing {quote} of the string starting at {start}"),
                    "end of query".into(),
                    self.pos(),
                ));
            };
            if c == '\n' {
                return Err(self.err(
                    &format!("closing {quote} of the string starting at {start}"),
                    "end of line".into(),
                    self.pos(),
                ));
            }
            self.bump();
            if c == quote {
                if verbatim && self.peek(0) == Some(quote) {
                    self.bump();
                    s.push(quote);
                    continue;
                }
                return Ok(TokenKind::Str(s));
            }
            if c == '\\' && !verbatim {
                let epos = self.pos();
                let Some(e) = self.bump() else {
                    return Err(self.err("an escape sequence", "end of query".into(), epos));
                };
                match e {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    '0' => s.push('\0'),
                    '\\' | '"' | '\'' | '/' => s.push(e),
                    'u' => {
                        let mut code = 0u32;
                        for _ in 0..4 {
                            let d = self.peek(0).and_then(|c| c.to_digit(16));
                            let Some(d) = d else {
                                let found = self.peek(0).map(String::from).unwrap_or_default();
                                return Err(self.err("4 hex digits after \\u", found, self.pos()));
                            };
                            self.bump();
                            code = code * 16 + d;
                        }
                        s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    other => {
                        return Err(self.err(
                            "an escape sequence (\\n \\t \\r \\\\ \\\" \\' \\uXXXX); use @\"...\" for verbatim text",
                            format!("\\{other}"),
                            epos,
                        ))
                    }
                }
                continue;
            }
            s.push(c);
        }
    }

    fn multiline_string(&mut self, start: Pos) -> Result<TokenKind, ParseError> {
        for _ in 0..3 {
            self.bump();
        }
        let from = self.offset();
        loop {
            if self.peek(0).is_none() {
                return Err(self.err(
                    &format!("closing ``` of the string starting at {start}"),
                    "end of query".into(),
                    self.pos(),
                ));
            }
            if self.peek(0) == Some('`') && self.peek(1) == Some('`') && self.peek(2) == Some('`') {
                let s = self.src[from..self.offset()].to_string();
                for _ in 0..3 {
                    self.bump();
                }
                return Ok(TokenKind::Str(s));
            }
            self.bump();
        }
    }

    fn number(&mut self, start: Pos) -> Result<TokenKind, ParseError> {
        let from = self.offset();
        if self.peek(0) == Some('0') && matches!(self.peek(1), Some('x' | 'X')) {
            self.bump();
            self.bump();
            let hs = self.offset();
            while self.peek(0).is_some_and(|c| c.is_ascii_hexdigit()) {
                self.bump();
            }
            let text = &self.src[hs..self.offset()];
            return i64::from_str_radix(text, 16)
                .map(TokenKind::Int)
                .map_err(|_| self.err("a hexadecimal number", text.to_string(), start));
        }
        let mut real = false;
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            real = true;
            self.bump();
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        if matches!(self.peek(0), Some('e' | 'E'))
            && (self.peek(1).is_some_and(|c| c.is_ascii_digit())
                || (matches!(self.peek(1), Some('+' | '-'))
                    && self.peek(2).is_some_and(|c| c.is_ascii_digit())))
        {
            real = true;
            self.bump();
            self.bump();
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        let num_text = self.src[from..self.offset()].to_string();
        if self.peek(0).is_some_and(is_ident_start) {
            let upos = self.pos();
            let us = self.offset();
            while self.peek(0).is_some_and(is_ident_char) {
                self.bump();
            }
            let unit = &self.src[us..self.offset()];
            return match timespan_unit(unit) {
                Some(per) => scaled(&num_text, per)
                    .map(TokenKind::Timespan)
                    .ok_or_else(|| self.err("a timespan", num_text.clone(), start)),
                None => Err(self.err(
                    "a timespan unit (d, h, m, s, ms, microsecond, tick)",
                    unit.to_string(),
                    upos,
                )),
            };
        }
        if real {
            num_text
                .parse()
                .map(TokenKind::Real)
                .map_err(|_| self.err("a number", num_text, start))
        } else {
            match num_text.parse::<i64>() {
                Ok(v) => Ok(TokenKind::Int(v)),
                Err(_) => num_text
                    .parse()
                    .map(TokenKind::Real)
                    .map_err(|_| self.err("a number", num_text, start)),
            }
        }
    }
}

/// Whitespace between tokens: Unicode whitespace, and the zero-width space and BOM that appear
/// in pasted queries. The one definition for skipping trivia and for the space around a raw
/// literal's `(` (so a query lexes alike however its blanks are laid out; found by the
/// `kql-mutated` fuzz target).
fn is_blank(c: char) -> bool {
    c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<TokenKind> {
        tokenize(s).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn numbers_and_timespans() {
        assert_eq!(
            kinds("1 2.5 1e3 7d 1.5h 100ms 30m 0x10"),
            vec![
                TokenKind::Int(1),
                TokenKind::Real(2.5),
                TokenKind::Real(1000.0),
                TokenKind::Timespan(7 * 86_400_000_000_000),
                TokenKind::Timespan(5_400_000_000_000),
                TokenKind::Timespan(100_000_000),
                TokenKind::Timespan(1_800_000_000_000),
                TokenKind::Int(16),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn strings() {
        assert_eq!(
            kinds(r#""a\"b" 'c\'d' @"x""y" @'p''q' h"secret" h@'v\'"#),
            vec![
                TokenKind::Str("a\"b".into()),
                TokenKind::Str("c'd".into()),
                TokenKind::Str("x\"y".into()),
                TokenKind::Str("p'q".into()),
                TokenKind::Str("secret".into()),
                TokenKind::Str("v\\".into()),
                TokenKind::Eof
            ]
        );
        assert_eq!(kinds("```a\nb```")[0], TokenKind::Str("a\nb".into()));
    }

    /// A zero-width space or BOM around a raw literal's `(` or its content counts as the
    /// whitespace it is elsewhere (the `kql-mutated` fuzz target found `datetime(\u{feff}9…)`
    /// lexed as separate tokens, which lexed as a literal once laid out with spaces).
    #[test]
    fn zero_width_blanks_around_raw_literals_are_whitespace() {
        let day = TokenKind::Datetime(18_628 * 86_400_000_000_000);
        for q in [
            "datetime(\u{feff}2021-01-01)",
            "datetime\u{200b}(2021-01-01\u{feff})",
            "datetime \u{feff}( 2021-01-01 )",
        ] {
            assert_eq!(kinds(q), vec![day.clone(), TokenKind::Eof], "{q:?}");
        }
        // A year of three digits is refused the same way however the blanks are laid out.
        for q in ["datetime(\u{feff}999-12-31)", "datetime ( 999 - 12 - 31 )"] {
            assert!(tokenize(q).is_err(), "{q:?}");
        }
    }

    #[test]
    fn raw_literals() {
        assert_eq!(
            kinds("datetime(2021-01-01) datetime(1970-01-01 00:01) time(1.00:00:01) guid(74be27de-1e4e-49d9-b579-fe0b331d3642)"),
            vec![
                TokenKind::Datetime(18_628 * 86_400_000_000_000),
                TokenKind::Datetime(60_000_000_000),
                TokenKind::Timespan(86_401_000_000_000),
                TokenKind::Guid("74be27de-1e4e-49d9-b579-fe0b331d3642".into()),
                TokenKind::Eof
            ]
        );
        assert_eq!(
            parse_datetime("2021-01-01T00:00:00.5+01:00"),
            Some(18_628 * 86_400_000_000_000 - 3_600_000_000_000 + 500_000_000)
        );
        // datetime(column) stays an identifier + call
        assert_eq!(kinds("datetime(x)")[0], TokenKind::Ident("datetime".into()));
        // Laid out over lines or spaced, a literal lexes alike (found by the KQL fuzz target:
        // `datetime(\n02` lexed as tokens while `datetime ( 02` was an unterminated literal).
        assert_eq!(
            kinds("datetime(\n2021-01-01)"),
            kinds("datetime ( 2021-01-01 )")
        );
        assert!(tokenize("let v = iff(datetime(\n02").is_err());
        assert!(tokenize("let v = iff ( datetime ( 02").is_err());
    }

    #[test]
    fn comments_and_positions() {
        let t = tokenize("// hi\n  T | where x !~ 'a'").unwrap();
        assert_eq!(t[0].text, "T");
        assert_eq!((t[0].span.start.line, t[0].span.start.column), (2, 3));
        assert!(t[4].is_punct("!~"));
    }

    #[test]
    fn lexer_errors() {
        let e = tokenize("T\n| where x == \"abc").unwrap_err();
        assert_eq!(e.pos().line, 2);
        assert_eq!(e.pos().column, 18);
        let e = tokenize("T | where t > ago(7x)").unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected a timespan unit (d, h, m, s, ms, microsecond, tick), found 'x' at 1:20"
        );
        let e = tokenize("print datetime(2021-13-01)").unwrap_err();
        assert_eq!(e.pos().column, 16);
    }
}
