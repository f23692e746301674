//! Why a query did not run, grouped by the answer the API gives.

use std::time::Duration;

use palisade_events::StoreError;
use palisade_kql::{BindError, KqlError, ParseError, Pos};

use crate::plan::PlanError;

/// Errors of [`crate::HuntingEngine::run`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum HuntError {
    /// The query does not parse.
    #[error("syntax error at {pos}: {message}")]
    Syntax {
        /// Where the parser stopped.
        pos: Pos,
        /// What it expected and found.
        message: String,
    },
    /// The query parses but is invalid: unknown names, type errors, bad arguments.
    #[error("semantic error{}: {message}", .pos.map(|p| format!(" at {p}")).unwrap_or_default())]
    Semantic {
        /// Where, when the error belongs to a place in the text (planning errors do not).
        pos: Option<Pos>,
        /// What is wrong.
        message: String,
    },
    /// A KQL construct Palisade does not implement, by name.
    #[error("'{name}' is not supported{}", .pos.map(|p| format!(" at {p}")).unwrap_or_default())]
    Unsupported {
        /// The construct's name (`externaldata`, `hash of long`, …).
        name: String,
        /// Where it is used, when the front end rejected it (the planner's rejections of a
        /// form have none).
        pos: Option<Pos>,
    },
    /// The query ran longer than [`crate::Limits::timeout`].
    #[error("query exceeded the time limit of {0:?}")]
    Timeout(Duration),
    /// The query needed more memory than [`crate::Limits::memory_bytes`].
    #[error("query exceeded the memory limit: {0}")]
    TooLarge(String),
    /// The tenant id is not a valid store name.
    #[error("invalid tenant id")]
    InvalidTenant,
    /// Anything else: a defect or an I/O failure, never the caller's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<KqlError> for HuntError {
    fn from(e: KqlError) -> Self {
        if let Some(name) = e.unsupported_name() {
            return HuntError::Unsupported {
                name: name.to_string(),
                pos: Some(match &e {
                    KqlError::Parse(p) => p.pos(),
                    KqlError::Bind(b) => b.pos(),
                }),
            };
        }
        match e {
            KqlError::Parse(p) => HuntError::Syntax {
                pos: p.pos(),
                message: p.to_string(),
            },
            KqlError::Bind(b) => HuntError::Semantic {
                pos: Some(b.pos()),
                message: b.to_string(),
            },
        }
    }
}

impl From<ParseError> for HuntError {
    fn from(e: ParseError) -> Self {
        KqlError::from(e).into()
    }
}

impl From<BindError> for HuntError {
    fn from(e: BindError) -> Self {
        KqlError::from(e).into()
    }
}

impl From<PlanError> for HuntError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Unsupported { name } => HuntError::Unsupported { name, pos: None },
            PlanError::Invalid(message) => HuntError::Semantic { pos: None, message },
            PlanError::InvalidAt { message, pos } => HuntError::Semantic {
                pos: Some(pos),
                message,
            },
            PlanError::DataFusion(m) => HuntError::Internal(m),
        }
    }
}

impl From<datafusion::error::DataFusionError> for HuntError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        match e.find_root() {
            datafusion::error::DataFusionError::ResourcesExhausted(m) => {
                HuntError::TooLarge(m.clone())
            }
            other => HuntError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for HuntError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidTenant(_) => HuntError::InvalidTenant,
            other => HuntError::Internal(other.to_string()),
        }
    }
}
