//! A decision's verdict: [`Verdict::Allow`] or [`Verdict::Deny`].
//!
//! Serialized as `Allow` / `Deny` (the check and explain answers, the decision log, the
//! `check` command's output); [`Verdict::label`] is the lower-case `allow` / `deny` of metric
//! labels, audit records and test reports. AuthZEN answers carry a boolean instead
//! ([`Verdict::is_allow`]).

use serde::{Deserialize, Serialize};

/// Whether the policies allow a request.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumString,
)]
pub enum Verdict {
    Allow,
    Deny,
}

impl Verdict {
    /// `Allow` for `true`.
    pub fn from_allowed(allowed: bool) -> Self {
        if allowed {
            Verdict::Allow
        } else {
            Verdict::Deny
        }
    }

    pub fn is_allow(self) -> bool {
        self == Verdict::Allow
    }

    /// `Allow` or `Deny`, as serialized.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// `allow` or `deny`: metric labels, audit records, test reports.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_wire_forms() {
        for (verdict, name, label) in [
            (Verdict::Allow, "Allow", "allow"),
            (Verdict::Deny, "Deny", "deny"),
        ] {
            assert_eq!(
                serde_json::to_string(&verdict).unwrap(),
                format!("\"{name}\"")
            );
            assert_eq!(
                serde_json::from_str::<Verdict>(&format!("\"{name}\"")).unwrap(),
                verdict
            );
            assert_eq!(verdict.as_str(), name);
            assert_eq!(verdict.to_string(), name);
            assert_eq!(name.parse::<Verdict>().unwrap(), verdict);
            assert_eq!(verdict.label(), label);
            assert_eq!(Verdict::from_allowed(verdict.is_allow()), verdict);
        }
    }
}
