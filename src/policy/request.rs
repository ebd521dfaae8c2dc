//! A request as a host or a test writes it, and what the engine answers: [`CheckRequest`],
//! [`Decision`], and [`CheckError`] for a request that cannot be decided at all.
//!
//! Also the normal form of a request's references: user ids are e-mails, compared
//! case-insensitively, so a request's principal, resource and the references in its context are
//! lower-cased before the entities are looked up (and before a cached slice is keyed by them).

use serde::Serialize;
use serde_json::{Map, Value};

use super::SliceError;
use super::refs::{EntityKind, EntityRef};
use crate::domain::{Email, Verdict};

/// A request as a host or a test writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRequest {
    pub principal: EntityRef,
    /// The action's name (`reports.access`).
    pub action: String,
    pub resource: EntityRef,
    /// Extra facts; entity references in it are looked up like the principal's.
    pub context: Map<String, Value>,
}

impl CheckRequest {
    /// Reads a request from its JSON parts: references in object or string form; the action
    /// as a plain name (`reports.access`) or a `Hub::Action` reference. Errors name the part.
    pub fn from_parts(
        principal: &Value,
        action: &Value,
        resource: &Value,
        context: Map<String, Value>,
    ) -> Result<Self, String> {
        let principal = EntityRef::from_json(principal).map_err(|e| format!("principal: {e}"))?;
        let resource = EntityRef::from_json(resource).map_err(|e| format!("resource: {e}"))?;
        let action = match action {
            Value::String(name) if !name.contains("::") => {
                if name.is_empty() {
                    return Err("action: the action name is empty".into());
                }
                name.clone()
            }
            other => {
                let r = EntityRef::from_json(other).map_err(|e| format!("action: {e}"))?;
                if r.kind != EntityKind::Action {
                    return Err(format!("action: `{r}` is not a `Hub::Action`"));
                }
                r.id.to_string()
            }
        };
        Ok(CheckRequest {
            principal,
            action,
            resource,
            context,
        })
    }
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// The ids of the policies that determined the decision.
    pub reasons: Vec<String>,
    /// What went wrong: unknown entities, policies that failed to evaluate.
    pub errors: Vec<String>,
}

impl Decision {
    /// `Allow` or `Deny`.
    pub fn verdict(&self) -> Verdict {
        Verdict::from_allowed(self.allowed)
    }

    pub(super) fn deny_with(errors: Vec<String>) -> Self {
        Decision {
            allowed: false,
            reasons: Vec::new(),
            errors,
        }
    }
}

/// Why a request could not be decided at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The schema declares no such action (a 400 for hosts), with the declared action whose
    /// name is nearest, when one is near enough to be what was meant.
    #[error(
        "unknown action `{name}`: the schema declares no such action{}",
        nearest.as_ref().map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default()
    )]
    UnknownAction {
        name: String,
        nearest: Option<String>,
    },
    /// The request does not fit the action (a 400 for hosts).
    #[error("{0}")]
    InvalidRequest(String),
    /// The state could not be read or the entities not built: the caller must deny.
    #[error(transparent)]
    Slice(#[from] SliceError),
}

/// User ids are e-mails, compared case-insensitively: lower-case them. A reference already in
/// its normal form is shared, not copied.
pub(super) fn normalize(r: &EntityRef) -> EntityRef {
    match r.kind {
        EntityKind::User => match Email::parse(&*r.id) {
            Ok(email) if email.as_str() != &*r.id => {
                EntityRef::new(EntityKind::User, String::from(email))
            }
            Ok(_) | Err(_) => r.clone(),
        },
        _ => r.clone(),
    }
}

/// Rewrites the entity references in a context into the object form, normalized, and collects
/// them.
pub(super) fn normalize_context(
    context: &Map<String, Value>,
    refs: &mut Vec<EntityRef>,
) -> Map<String, Value> {
    fn walk(value: &Value, refs: &mut Vec<EntityRef>) -> Value {
        // The string form `Hub::User::"..."` is a reference too (The API: accepted anywhere the
        // object form is); other strings are plain strings.
        let string_ref = match value {
            Value::String(text) if text.starts_with("Hub::") => text.parse::<EntityRef>().ok(),
            _ => None,
        };
        let reference = string_ref.or_else(|| {
            EntityRef::looks_like_ref(value)
                .then(|| EntityRef::from_json(value).ok())
                .flatten()
        });
        if let Some(r) = reference {
            let r = normalize(&r);
            let json = serde_json::json!({"__entity": {"type": r.kind.type_name(), "id": &*r.id}});
            refs.push(r);
            return json;
        }
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(v, refs)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, refs)).collect()),
            other => other.clone(),
        }
    }
    context
        .iter()
        .map(|(k, v)| (k.clone(), walk(v, refs)))
        .collect()
}
