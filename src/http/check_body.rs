//! The check body's fast reading: the common shape of a check, read straight from the body's
//! bytes into a [`CheckRequest`] in one pass, with no `serde_json::Value` in between and no
//! separate walk for repeated keys.
//!
//! A check is read twice over in the general case ([`super::error::parse_body`]: a walk that
//! refuses repeated keys, then a parse into `Value`s, then each reference read from its
//! `Value`), so that every mistake is named exactly. Hosts send one shape almost always:
//! references as `{"type": ..., "id": ...}` or in Cedar's string form, the action by name or
//! reference, no context or an empty one. This module reads only that shape, and reads it to
//! the very request the general path would build; anything else (an unknown member, a repeated
//! key, a context with facts, an escaped key, a reference that does not read) is not an error
//! here but `None`, and the caller reads the body the general way, which names what is wrong.
//! So the fast reading can make a check cheaper, never change its answer or its error; the
//! tests compare the two over bodies of every shape.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::checks::ConsistencyBody;
use crate::app::{CheckRequest, EntityKind, EntityRef};

/// A check read the fast way: the request, the consistency and the policy version it asks for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FastCheck {
    principal: Reference,
    action: ActionName,
    resource: Reference,
    #[serde(default, rename = "context")]
    _context: Option<EmptyContext>,
    #[serde(default)]
    pub consistency: Option<ConsistencyBody>,
    #[serde(default)]
    pub policy_version: Option<String>,
}

/// One item of a batch read the fast way (a batch gives consistency and policy version once).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FastItem {
    principal: Reference,
    action: ActionName,
    resource: Reference,
    #[serde(default, rename = "context")]
    _context: Option<EmptyContext>,
}

/// A batch read the fast way: every item in the common shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FastBatch {
    pub requests: Vec<Object<FastItem>>,
    #[serde(default)]
    pub consistency: Option<ConsistencyBody>,
    #[serde(default)]
    pub policy_version: Option<String>,
}

impl FastCheck {
    /// Reads `bytes` the fast way, or `None` when the body is not in the common shape.
    pub fn read(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// The request, as `CheckBody::to_request` builds it from the same body, and the
    /// consistency and policy version it asks for.
    pub fn into_parts(self) -> (CheckRequest, Option<ConsistencyBody>, Option<String>) {
        let request = request(self.principal, self.action, self.resource);
        (request, self.consistency, self.policy_version)
    }
}

impl FastBatch {
    /// Reads `bytes` the fast way, or `None` when the body or any item is not in the common
    /// shape.
    pub fn read(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

impl Object<FastItem> {
    /// The request, as `CheckBody::to_request` builds it from the same item.
    pub fn into_request(self) -> CheckRequest {
        let item = self.0;
        request(item.principal, item.action, item.resource)
    }
}

/// A request with no context: the only context the fast reading accepts is an empty one.
fn request(principal: Reference, action: ActionName, resource: Reference) -> CheckRequest {
    CheckRequest {
        principal: principal.0,
        action: action.0,
        resource: resource.0,
        context: serde_json::Map::new(),
    }
}

/// A `T` given as a JSON object. (serde reads a struct from an array of its fields too: a
/// batch item `[principal, action, resource]` is an error of that item on the general path,
/// so it declines here.)
#[derive(Debug)]
pub(super) struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_any(ObjectVisitor(std::marker::PhantomData))
    }
}

/// Declines the fast reading; the caller reads the body the general way.
fn decline<E: de::Error>() -> E {
    E::custom("not in the common shape")
}

/// A string, borrowed from the body unless it has escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

/// `{"type": T, "id": I}`, each once and nothing else, read as `EntityRef::from_json` reads
/// it: a known type and an id that is not empty.
fn reference_object<'de, A: MapAccess<'de>>(mut map: A) -> Result<EntityRef, A::Error> {
    let mut type_name: Option<Text<'de>> = None;
    let mut id: Option<Text<'de>> = None;
    // Keys with escapes (`"\u0069d"`) are not borrowed, and decline.
    while let Some(key) = map.next_key::<&'de str>()? {
        let slot = match key {
            "type" => &mut type_name,
            "id" => &mut id,
            _ => return Err(decline()),
        };
        if slot.is_some() {
            return Err(decline());
        }
        *slot = Some(map.next_value()?);
    }
    let (Some(type_name), Some(id)) = (type_name, id) else {
        return Err(decline());
    };
    let kind = EntityKind::from_type_name(&type_name.0).ok_or_else(decline)?;
    if id.0.is_empty() {
        return Err(decline());
    }
    Ok(EntityRef::new(kind, &*id.0))
}

/// An entity reference in object form or Cedar's string form.
#[derive(Debug)]
struct Reference(EntityRef);

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ReferenceVisitor;
        impl<'de> Visitor<'de> for ReferenceVisitor {
            type Value = Reference;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an entity reference")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Reference, E> {
                text.parse().map(Reference).map_err(|_| decline())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Reference, A::Error> {
                reference_object(map).map(Reference)
            }
        }
        d.deserialize_any(ReferenceVisitor)
    }
}

/// An action by name (`reports.access`) or as a `Hub::Action` reference, read as
/// `CheckRequest::from_parts` reads it.
#[derive(Debug)]
struct ActionName(String);

impl<'de> Deserialize<'de> for ActionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ActionVisitor;
        impl ActionVisitor {
            fn action<E: de::Error>(reference: EntityRef) -> Result<ActionName, E> {
                match reference.kind {
                    EntityKind::Action => Ok(ActionName(reference.id.to_string())),
                    _ => Err(decline()),
                }
            }
        }
        impl<'de> Visitor<'de> for ActionVisitor {
            type Value = ActionName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an action")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<ActionName, E> {
                if text.contains("::") {
                    return text.parse().map_err(|_| decline()).and_then(Self::action);
                }
                if text.is_empty() {
                    return Err(decline());
                }
                Ok(ActionName(text.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ActionName, A::Error> {
                reference_object(map).and_then(Self::action)
            }
        }
        d.deserialize_any(ActionVisitor)
    }
}

/// `null` or `{}`: a context with no facts. One with facts declines (its keys must be checked
/// for repeats at every depth, and its references looked up).
#[derive(Debug)]
struct EmptyContext;

impl<'de> Deserialize<'de> for EmptyContext {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ContextVisitor;
        impl<'de> Visitor<'de> for ContextVisitor {
            type Value = EmptyContext;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an empty context")
            }
            fn visit_unit<E>(self) -> Result<EmptyContext, E> {
                Ok(EmptyContext)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EmptyContext, A::Error> {
                match map.next_key::<IgnoredAny>()? {
                    None => Ok(EmptyContext),
                    Some(_) => Err(decline()),
                }
            }
        }
        d.deserialize_any(ContextVisitor)
    }
}

#[cfg(test)]
mod tests;
