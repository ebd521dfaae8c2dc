//! The one error type of the HTTP layer, and the JSON extractor that reports bad bodies in the
//! same shape.
//!
//! Every error answer is `{"error": {"code", "message", "rules"?, "details"?}}` with the status
//! and code of the API's table. Nothing a client sends makes the server answer 500.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::app::AppError;
use crate::domain::Problem;

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `invalid_request`, `unauthenticated`, `forbidden`, `not_found`, `conflict`,
    /// `payload_too_large` or `unavailable`.
    pub code: &'static str,
    pub message: String,
    /// The rule or policy ids that decided, when a rule did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// Every problem found, for state documents and policy sets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<std::collections::HashMap<String, serde_json::Value>>)]
    pub details: Vec<serde_json::Value>,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    rules: Vec<String>,
    details: Vec<serde_json::Value>,
}

impl ApiError {
    /// 504 `outcome_unknown`: a write whose commit was sent and not confirmed; it may be
    /// applied.
    pub(super) fn outcome_unknown(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "outcome_unknown", message)
    }

    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: bounded(message.into()),
            rules: Vec::new(),
            details: Vec::new(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// Adds structured details (every problem of a document, every policy error).
    pub fn with_details(mut self, details: Vec<serde_json::Value>) -> Self {
        self.details = details;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let rules = e.rules();
        let mut error = match &e {
            AppError::InvalidRequest { problems, .. } => {
                ApiError::invalid(e.to_string()).with_details(problems_json(problems))
            }
            AppError::NotFound(m) => ApiError::not_found(m.clone()),
            AppError::Forbidden { message, .. } => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", message.clone())
            }
            AppError::Conflict { message, .. } => {
                Self::new(StatusCode::CONFLICT, "conflict", message.clone())
            }
            AppError::Unavailable(_) if e.is_outcome_unknown() => {
                ApiError::outcome_unknown(e.to_string())
            }
            AppError::Unavailable(_) => ApiError::unavailable(e.to_string()),
        };
        error.rules = rules;
        error
    }
}

fn problems_json(problems: &[Problem]) -> Vec<serde_json::Value> {
    problems
        .iter()
        .filter_map(|p| serde_json::to_value(p).ok())
        .collect()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                rules: self.rules,
                details: self.details,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        // An unavailable store, a timeout, an unknown outcome: all worth retrying shortly.
        if self.status == StatusCode::SERVICE_UNAVAILABLE
            || self.status == StatusCode::GATEWAY_TIMEOUT
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s: malformed JSON, wrong types and unknown fields
/// are 400 with serde's message (field path, line and column); an oversized body is 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBody(bytes) = JsonBody::from_request(req, state).await?;
        parse_body(&bytes).map(ApiJson)
    }
}

/// Reads a JSON object body as `T`: refuses a key repeated in any object (see
/// [`unique_keys`]), then parses once; only a body that fails is parsed again with the path
/// tracking that names the offending field (`requests[3].principal: ...`).
pub(super) fn parse_body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    unique_keys(bytes)?;
    if let Ok(value) = serde_json::from_slice::<T>(bytes) {
        return Ok(value);
    }
    match axum::Json::<T>::from_bytes(bytes) {
        Ok(axum::Json(value)) => Ok(value),
        Err(rejection) => Err(json_rejection(rejection)),
    }
}

/// The raw body of a JSON request whose keys are each named once per object (see
/// [`unique_keys`]); otherwise as [`JsonBody`].
pub struct ApiBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBody(bytes) = JsonBody::from_request(req, state).await?;
        unique_keys(&bytes)?;
        Ok(ApiBody(bytes))
    }
}

/// The raw body of a JSON request: `Content-Type: application/json`, within the body limit
/// (413 otherwise, in the error shape), and a JSON object (serde would otherwise read a struct
/// from an array of its fields). Its keys are not checked yet: a handler that reads it the
/// fast way ([`super::check_body`]) refuses repeated keys as it reads, and hands any other
/// body to [`parse_body`].
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(is_json_media_type);
        if !json {
            return Err(ApiError::invalid(
                "expected a JSON body with `Content-Type: application/json`",
            ));
        }
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(limit)
            } else {
                ApiError::invalid(shorten(rejection.body_text()))
            }
        })?;
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(ApiError::invalid("the request body must be a JSON object"));
        }
        Ok(JsonBody(bytes))
    }
}

/// `application/json` or `application/...+json`, in any case.
fn is_json_media_type(media_type: &str) -> bool {
    let v = media_type.trim();
    let prefix = v
        .get(..12)
        .is_some_and(|p| p.eq_ignore_ascii_case("application/"));
    let suffix = v
        .get(v.len().saturating_sub(5)..)
        .is_some_and(|s| s.eq_ignore_ascii_case("+json"));
    v.eq_ignore_ascii_case("application/json") || (prefix && suffix)
}

/// Refuses a JSON body in which an object names a key twice, at any depth. serde keeps the
/// last value of a repeated key wherever a body is read into a map or a `Value` (a reference's
/// `{"type", "id"}`, a context), so `{"id": "ann", "id": "bob"}` would be decided as bob while
/// a log or a proxy reads ann: one document, one meaning. Malformed JSON is left to the parse
/// that follows, which names the field.
fn unique_keys(bytes: &[u8]) -> Result<(), ApiError> {
    use serde::de::DeserializeSeed;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match unique::Walk.deserialize(&mut deserializer) {
        Err(e) if e.is_data() => Err(ApiError::invalid(shorten(e.to_string()))),
        _ => Ok(()),
    }
}

mod unique {
    //! A walk over a JSON document that keeps nothing but, per object, the keys seen so far.

    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

    pub struct Walk;

    impl<'de> DeserializeSeed<'de> for Walk {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Walk {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Walk)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            // Objects in requests are small: a list beats a hash set, up to a point; past it
            // (a body of many thousands of keys) the set keeps the walk linear.
            let mut keys: Vec<Cow<'de, str>> = Vec::new();
            let mut many: std::collections::HashSet<Cow<'de, str>> = Default::default();
            while let Some(Key(key)) = map.next_key()? {
                let repeated = if keys.len() < 16 {
                    keys.contains(&key)
                } else {
                    if many.is_empty() {
                        many.extend(keys.iter().cloned());
                    }
                    !many.insert(key.clone())
                };
                if repeated {
                    return Err(de::Error::custom(format_args!(
                        "the key `{}` appears twice in one object",
                        key.escape_debug()
                    )));
                }
                map.next_value_seed(Walk)?;
                keys.push(key);
            }
            Ok(())
        }
    }

    /// A key, borrowed from the body unless it has escapes.
    struct Key<'de>(Cow<'de, str>);

    impl<'de> de::Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a key")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_owned())))
                }
            }
            d.deserialize_str(KeyVisitor)
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(None),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::invalid("expected a JSON body with `Content-Type: application/json`")
        }
        _ => {
            let mut message = shorten(rejection.body_text());
            if message.contains("recursion limit exceeded") {
                message.push_str(&format!(" (JSON may nest at most {MAX_JSON_DEPTH} levels)"));
            }
            ApiError::invalid(message)
        }
    }
}

/// How deep JSON may nest (serde_json's recursion limit of 128, counting the outer object).
pub const MAX_JSON_DEPTH: usize = 127;

/// The configured body limit, put in every request's extensions by the router so the 413
/// can name it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

fn too_large(limit: Option<usize>) -> ApiError {
    ApiError::too_large(match limit {
        Some(bytes) if bytes % (1024 * 1024) == 0 => format!(
            "the request body is larger than the body limit of {} MiB ({bytes} bytes)",
            bytes / (1024 * 1024)
        ),
        Some(bytes) => format!("the request body is larger than the body limit of {bytes} bytes"),
        None => "the request body is larger than the body limit".to_owned(),
    })
}

/// The longest error message answered, in characters. Messages quote what was sent (an unknown
/// member, type or action, a path) so that a caller sees which value was refused; a long value
/// would make the message as long, in the answer and in every log line that shows it.
pub const MAX_MESSAGE: usize = 1024;

/// Every message within [`MAX_MESSAGE`] characters: a longer one keeps its start (what was
/// wrong) and its end (usually the limit or the hint), saying how much was left out. Applied to
/// every error answer's message, and to the error texts inside decisions (a check's
/// `diagnostics.errors`, a batch item's error, AuthZEN's `context.errors`), which quote the
/// reference that was sent.
pub(super) fn bounded(message: String) -> String {
    const HEAD: usize = 640;
    const TAIL: usize = 256;
    let count = message.chars().count();
    if count <= MAX_MESSAGE {
        return message;
    }
    let head: String = message.chars().take(HEAD).collect();
    let tail: String = message.chars().skip(count - TAIL).collect();
    format!(
        "{head} … ({} characters left out) … {tail}",
        count - HEAD - TAIL
    )
}

/// Keeps error messages readable when serde's path is long (deeply nested input).
fn shorten(message: String) -> String {
    const MAX: usize = 400;
    if message.chars().count() <= MAX {
        return message;
    }
    let head: String = message.chars().take(MAX / 2).collect();
    let tail: String = {
        let mut t: Vec<char> = message.chars().rev().take(MAX / 2).collect();
        t.reverse();
        t.into_iter().collect()
    };
    format!("{head} … {tail}")
}

/// `Path<T>` whose rejections are [`ApiError`]s naming the segment.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> ApiError {
    ApiError::invalid(rejection.body_text())
}

/// `Query<T>` whose rejections are [`ApiError`]s.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::invalid(rejection.body_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_kept_within_the_bound_whatever_their_length() {
        for length in [
            0,
            1,
            MAX_MESSAGE - 1,
            MAX_MESSAGE,
            MAX_MESSAGE + 1,
            5_000,
            100_000,
        ] {
            for unit in ["x", "é", "\u{1F600}"] {
                let message = unit.repeat(length);
                let answered = ApiError::invalid(message.clone()).message().to_owned();
                let count = answered.chars().count();
                assert!(count <= MAX_MESSAGE, "{length} {unit}: {count}");
                if length <= MAX_MESSAGE {
                    assert_eq!(answered, message);
                } else {
                    assert!(answered.starts_with(&unit.repeat(640)), "{length}");
                    assert!(answered.ends_with(&unit.repeat(256)), "{length}");
                    assert!(
                        answered.contains(&format!("({} characters left out)", length - 896)),
                        "{answered}"
                    );
                }
            }
        }
    }
}
