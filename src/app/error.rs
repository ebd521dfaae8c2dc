//! The one error type of the use cases. The HTTP layer maps each variant to a status and an
//! error code of the API; nothing here knows about HTTP.

use crate::domain::Problem;
use crate::store::StoreError;

/// Why a use case did not do what was asked. Every variant means "nothing was changed".
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed or unacceptable input (400 `invalid_request`).
    #[error("{message}")]
    InvalidRequest {
        message: String,
        /// Every problem found, for a state document or a policy set.
        problems: Vec<Problem>,
    },
    /// Something named does not exist (404 `not_found`).
    #[error("{0}")]
    NotFound(String),
    /// The policies deny it (403 `forbidden`).
    #[error("{message}")]
    Forbidden { message: String, rules: Vec<String> },
    /// An invariant would break, or a precondition is stale (409 `conflict`).
    #[error("{message}")]
    Conflict { message: String, rules: Vec<String> },
    /// The store cannot be read or written (503 `unavailable`).
    #[error("the store is unavailable: {0}")]
    Unavailable(StoreError),
}

impl AppError {
    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::InvalidRequest {
            message: message.into(),
            problems: Vec::new(),
        }
    }

    /// A state that does not validate: every problem, with the rule ids among them.
    pub fn invalid_state(problems: Vec<Problem>) -> Self {
        let message = match problems.as_slice() {
            [one] => one.to_string(),
            many => format!(
                "the state is not valid: {} problems, the first: {}",
                many.len(),
                many.first().map(ToString::to_string).unwrap_or_default()
            ),
        };
        AppError::InvalidRequest { message, problems }
    }

    /// Whether this is a store write whose outcome is unknown: it may have been applied
    /// (504 `outcome_unknown`).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self,
            AppError::Unavailable(StoreError::OutcomeUnknown { .. })
        )
    }

    /// The rule ids an error names.
    pub fn rules(&self) -> Vec<String> {
        match self {
            AppError::Forbidden { rules, .. } | AppError::Conflict { rules, .. } => rules.clone(),
            AppError::InvalidRequest { problems, .. } => {
                let mut rules: Vec<String> = problems
                    .iter()
                    .filter_map(|p| p.rule.map(str::to_owned))
                    .collect();
                rules.sort();
                rules.dedup();
                rules
            }
            _ => Vec::new(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(message) => AppError::Conflict {
                message,
                rules: Vec::new(),
            },
            other => AppError::Unavailable(other),
        }
    }
}
