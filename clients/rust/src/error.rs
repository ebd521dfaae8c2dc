//! The client's one error type.

use serde::Deserialize;

/// What went wrong with a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The sidecar answered with its error shape, `{"error": {"code", "message", ...}}`: a
    /// refusal (`forbidden`, `conflict`, ...) or a failure it reported (`unavailable`, ...).
    #[error("{0}")]
    Api(#[from] ApiError),
    /// The sidecar (or something in front of it) answered a status that is not a success with
    /// a body that is not the API's error shape.
    #[error("HTTP {status} without the API's error body: {body}")]
    UnexpectedStatus {
        status: u16,
        /// The first 512 bytes of the body, as text.
        body: String,
    },
    /// A success whose body is not what the API documents for it.
    #[error("the answer of {what} does not decode: {source}")]
    Decode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// The base URL given to the builder does not parse, or cannot take a path.
    #[error("invalid base URL {url:?}: {reason}")]
    BaseUrl { url: String, reason: &'static str },
    /// A command's or read's path template and its parameters do not match (`{client}` with no
    /// value, or a value left over).
    #[error("path {template:?}: {reason}")]
    Path {
        template: String,
        reason: &'static str,
    },
    /// A request body that does not serialize as JSON (a map with keys that are not strings).
    #[error("the request body does not serialize: {0}")]
    Encode(#[source] serde_json::Error),
    /// The request did not get an answer: connection refused or reset, a timeout, a header
    /// value that is not valid (a token with a line break).
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
}

impl Error {
    /// The API's error, when the sidecar answered one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The API's error code (`forbidden`, `conflict`, ...), when the sidecar answered one.
    pub fn code(&self) -> Option<&str> {
        self.api().map(|e| e.code.as_str())
    }

    /// The HTTP status of an answer that was not a success.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::UnexpectedStatus { status, .. } => Some(*status),
            Error::Transport(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }
}

/// An error answer of the API: its status and `{"error": {"code", "message", "rules"?,
/// "details"?}}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("HTTP {status} {code}: {message}")]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status (400, 401, 403, 404, 409, 413, 503, 504).
    pub status: u16,
    /// `invalid_request`, `unauthenticated`, `forbidden`, `not_found`, `conflict`,
    /// `payload_too_large`, `unavailable` or `outcome_unknown`.
    pub code: String,
    pub message: String,
    /// The rule or policy ids that decided, when a rule did (a `403` of the policies, a `409`
    /// of an invariant).
    pub rules: Vec<String>,
    /// Every problem found, for state documents and policy sets.
    pub details: Vec<serde_json::Value>,
}

impl ApiError {
    /// Is this the sidecar saying a command's outcome is unknown (`504 outcome_unknown`, or a
    /// `503` after the request's deadline): retry it with the same idempotency key to learn it.
    pub fn is_retryable(&self) -> bool {
        matches!(self.status, 503 | 504)
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

/// The error of a non-success answer: the API's error when the body is its shape.
pub(crate) fn from_answer(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => Error::Api(ApiError {
            status,
            code: error.code,
            message: error.message,
            rules: error.rules,
            details: error.details,
        }),
        Err(_) => {
            let end = body.len().min(512);
            Error::UnexpectedStatus {
                status,
                body: String::from_utf8_lossy(&body[..end]).into_owned(),
            }
        }
    }
}
