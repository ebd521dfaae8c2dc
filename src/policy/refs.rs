//! Entity references as hosts write them: `{"type": "Hub::User", "id": "ann@acme.example"}`,
//! Cedar's escaped form `{"__entity": {...}}`, or the string `Hub::User::"ann@acme.example"`.
//!
//! A reference names one of the schema's entity types; anything else is refused here, before
//! a request reaches the store, with a message naming what was sent.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{EntityId, EntityTypeName, EntityUid};
use serde_json::Value;

/// The namespace of every type in the schema.
pub const NAMESPACE: &str = "Hub";

/// The entity types a request may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    User,
    /// A client account.
    Account,
    /// A partner account.
    Partner,
    Action,
}

impl EntityKind {
    /// The fully qualified Cedar type name.
    pub fn type_name(self) -> &'static str {
        match self {
            EntityKind::User => "Hub::User",
            EntityKind::Account => "Hub::Account",
            EntityKind::Partner => "Hub::Partner",
            EntityKind::Action => "Hub::Action",
        }
    }

    /// The kind a Cedar type name (`Hub::User`) names.
    pub fn from_type_name(name: &str) -> Option<Self> {
        match name {
            "Hub::User" => Some(EntityKind::User),
            "Hub::Account" => Some(EntityKind::Account),
            "Hub::Partner" => Some(EntityKind::Partner),
            "Hub::Action" => Some(EntityKind::Action),
            _ => None,
        }
    }
}

/// A reference to one entity: its type and id. The id is shared: a copy of a reference (a
/// cache key, a normalized reference that did not change) costs no allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityRef {
    pub kind: EntityKind,
    pub id: Arc<str>,
}

/// Why a value is not an entity reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error(
        "{0} is not an entity reference: expected {{\"type\": \"Hub::User\", \"id\": \"...\"}} or `Hub::User::\"...\"`"
    )]
    Malformed(String),
    #[error(
        "unknown entity type `{0}`: expected one of `Hub::User`, `Hub::Account`, `Hub::Partner`, `Hub::Action`"
    )]
    UnknownType(String),
    #[error("entity id is empty")]
    EmptyId,
}

impl EntityRef {
    pub fn new(kind: EntityKind, id: impl Into<Arc<str>>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }

    /// Reads a reference in any of the accepted forms.
    pub fn from_json(value: &Value) -> Result<Self, RefError> {
        match value {
            Value::String(text) => text.parse(),
            Value::Object(map) => {
                if let (Some(inner), 1) = (map.get("__entity"), map.len()) {
                    return Self::from_json(inner);
                }
                match (map.get("type"), map.get("id"), map.len()) {
                    (Some(Value::String(ty)), Some(Value::String(id)), 2) => {
                        let kind = EntityKind::from_type_name(ty)
                            .ok_or_else(|| RefError::UnknownType(ty.clone()))?;
                        if id.is_empty() {
                            return Err(RefError::EmptyId);
                        }
                        Ok(Self::new(kind, id.as_str()))
                    }
                    _ => Err(RefError::Malformed(short(value))),
                }
            }
            other => Err(RefError::Malformed(short(other))),
        }
    }

    /// Whether a JSON value looks like an entity reference object (used to find the entities a
    /// context names).
    pub(crate) fn looks_like_ref(value: &Value) -> bool {
        match value {
            Value::Object(map) => {
                (map.len() == 1 && map.contains_key("__entity"))
                    || (map.len() == 2 && map.contains_key("type") && map.contains_key("id"))
            }
            _ => false,
        }
    }

    /// The Cedar uid.
    pub(crate) fn to_uid(&self) -> Result<EntityUid, RefError> {
        let type_name = EntityTypeName::from_str(self.kind.type_name())
            .map_err(|_| RefError::UnknownType(self.kind.type_name().to_owned()))?;
        Ok(EntityUid::from_type_name_and_id(
            type_name,
            EntityId::new(&self.id),
        ))
    }

    /// The reference as JSON, in the object form.
    pub fn to_json(&self) -> Value {
        serde_json::json!({"type": self.kind.type_name(), "id": &*self.id})
    }
}

impl FromStr for EntityRef {
    type Err = RefError;

    fn from_str(text: &str) -> Result<Self, RefError> {
        let uid = EntityUid::from_str(text).map_err(|_| RefError::Malformed(short_str(text)))?;
        let ty = uid.type_name().to_string();
        let kind = EntityKind::from_type_name(&ty).ok_or(RefError::UnknownType(ty))?;
        let id = uid.id().unescaped();
        if id.is_empty() {
            return Err(RefError::EmptyId);
        }
        Ok(Self::new(kind, id))
    }
}

impl fmt::Display for EntityRef {
    /// Cedar's string form, with the id escaped: `Hub::User::"ann@acme.example"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}::\"{}\"",
            self.kind.type_name(),
            self.id.escape_debug()
        )
    }
}

fn short(value: &Value) -> String {
    short_str(&value.to_string())
}

fn short_str(text: &str) -> String {
    if text.chars().count() > 80 {
        format!("`{}…`", text.chars().take(80).collect::<String>())
    } else {
        format!("`{text}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_forms_are_read() {
        let expected = EntityRef::new(EntityKind::User, "ann@acme.example");
        for form in [
            json!({"type": "Hub::User", "id": "ann@acme.example"}),
            json!({"__entity": {"type": "Hub::User", "id": "ann@acme.example"}}),
            json!("Hub::User::\"ann@acme.example\""),
        ] {
            assert_eq!(EntityRef::from_json(&form).unwrap(), expected, "{form}");
        }
    }

    #[test]
    fn awkward_ids_round_trip() {
        for id in ["quo\"te", "a::b", "line\nbreak", "back\\slash"] {
            let r = EntityRef::new(EntityKind::Account, id);
            assert_eq!(r.to_string().parse::<EntityRef>().unwrap(), r);
            assert_eq!(r.to_uid().unwrap().id().unescaped(), id);
            assert_eq!(&*r.id, id);
        }
    }

    #[test]
    fn bad_references_are_named() {
        let err = EntityRef::from_json(&json!({"type": "Photo", "id": "x"})).unwrap_err();
        assert_eq!(err, RefError::UnknownType("Photo".into()));
        assert!(EntityRef::from_json(&json!(42)).is_err());
        assert!(EntityRef::from_json(&json!({"type": "Hub::User"})).is_err());
        assert!(EntityRef::from_json(&json!({"type": "Hub::User", "id": ""})).is_err());
        assert!(EntityRef::from_json(&json!("User::\"x\"")).is_err());
    }
}
