//! The identity of a policy set: which rules made a decision.
//!
//! A policy set (its `.cedarschema` and `.cedar` files) is known by a content hash, the
//! [`PolicyVersion`]: the same files give the same version on every sidecar and every load,
//! any change to a file gives another. Every decision, explanation, decision-log record and
//! audit record carries the version it was made under, and a check may name the version it
//! expects (a sidecar on another answers 409 rather than deciding under other rules).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The SHA-256 of a policy set, 64 lower-case hex digits (computed by the policy engine as it
/// loads the set; see `policy::PolicyEngine::version`). Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, pattern = "^[0-9a-f]{64}$")]
pub struct PolicyVersion(Arc<str>);

impl PolicyVersion {
    /// The version whose digest is `hex` (64 lower-case hex digits, as the engine computes
    /// it).
    pub fn from_digest(hex: &str) -> Self {
        PolicyVersion(Arc::from(hex))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `expected`, as a caller wrote it, names this version. Hex digits compare
    /// without regard to case; anything else is another version.
    pub fn is(&self, expected: &str) -> bool {
        self.0.eq_ignore_ascii_case(expected)
    }
}

impl fmt::Display for PolicyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
