//! Source positions and the typed errors of every front-end stage.

use std::fmt;

/// A position in the query text: 1-based line and column (in characters) plus the byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Pos {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// Byte offset into the query text.
    pub offset: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A half-open byte range of the query text, with the position of its first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Span {
    /// Where the range starts.
    pub start: Pos,
    /// Byte offset one past the last character.
    pub end: usize,
}

/// An error from the lexer or the parser.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// The text does not match the grammar at `pos`.
    #[error("expected {expected}, found {} at {pos}", quote_found(.found))]
    Syntax {
        /// What the parser would have accepted.
        expected: String,
        /// The offending token text (`end of query` at the end).
        found: String,
        /// Where the offending token starts.
        pos: Pos,
    },
    /// The query exceeds a size limit (nesting depth, operator chain length).
    #[error("{message} at {pos}")]
    Limit {
        /// Which limit.
        message: String,
        /// Where it was exceeded.
        pos: Pos,
    },
    /// A recognised KQL construct Palisade deliberately does not support.
    #[error("{what} '{name}' is not supported{reason} at {pos}")]
    Unsupported {
        /// Kind of construct, e.g. `operator` or `function`.
        what: &'static str,
        /// The construct's KQL name, e.g. `externaldata`.
        name: String,
        /// Optional explanation, starting with a space or empty.
        reason: String,
        /// Where the construct starts.
        pos: Pos,
    },
}

/// `'tok'` for a token, bare text for `end of query` / `end of line`.
fn quote_found(found: &str) -> String {
    if found.starts_with("end of ") {
        found.to_string()
    } else {
        format!("'{found}'")
    }
}

impl ParseError {
    /// Where the error was detected.
    pub fn pos(&self) -> Pos {
        match self {
            ParseError::Syntax { pos, .. }
            | ParseError::Limit { pos, .. }
            | ParseError::Unsupported { pos, .. } => *pos,
        }
    }
}

/// An error from binding a parsed query against the catalog.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BindError {
    /// A name (table, column, let, function) could not be resolved.
    #[error("unknown {kind} '{name}' at {pos}")]
    Unknown {
        /// `table`, `column`, `function`, `name`, ...
        kind: &'static str,
        /// The unresolved name.
        name: String,
        /// Where it is used.
        pos: Pos,
    },
    /// Types or arity do not fit.
    #[error("{message} at {pos}")]
    Invalid {
        /// Human-readable description.
        message: String,
        /// Where the problem is.
        pos: Pos,
    },
    /// A recognised construct Palisade deliberately does not support.
    #[error("{what} '{name}' is not supported at {pos}")]
    Unsupported {
        /// Kind of construct, e.g. `evaluate plugin`.
        what: &'static str,
        /// The construct's KQL name.
        name: String,
        /// Where the construct starts.
        pos: Pos,
    },
}

impl BindError {
    /// Where the error was detected.
    pub fn pos(&self) -> Pos {
        match self {
            BindError::Unknown { pos, .. }
            | BindError::Invalid { pos, .. }
            | BindError::Unsupported { pos, .. } => *pos,
        }
    }
}

/// Any front-end error: parsing or binding.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KqlError {
    /// Lexing or parsing failed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Binding failed.
    #[error(transparent)]
    Bind(#[from] BindError),
}

impl KqlError {
    /// The unsupported construct's name, if this error rejects one by name.
    pub fn unsupported_name(&self) -> Option<&str> {
        match self {
            KqlError::Parse(ParseError::Unsupported { name, .. })
            | KqlError::Bind(BindError::Unsupported { name, .. }) => Some(name),
            _ => None,
        }
    }
}
