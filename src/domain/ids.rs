//! Typed identifiers.
//!
//! Every id that crosses a layer boundary is one of these types, never a bare `String`: a
//! `ClientId` cannot be passed where a `PartnerId` is expected, and every value has been checked
//! once, at the edge, so the layers below never see an empty id, a control character or an
//! e-mail in mixed case.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest id the sidecar accepts (partner, client, asset, permission set names).
pub const MAX_ID_LEN: usize = 256;
/// The longest e-mail address the sidecar accepts (RFC 5321's limit).
pub const MAX_EMAIL_LEN: usize = 320;

/// Why a string is not a valid id or e-mail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} is empty")]
    Empty { kind: &'static str },
    #[error("{kind} `{value}` is longer than {max} characters")]
    TooLong {
        kind: &'static str,
        value: String,
        max: usize,
    },
    #[error("{kind} `{value}` contains a control character")]
    ControlCharacter { kind: &'static str, value: String },
    #[error("{kind} `{value}` may only contain {allowed}")]
    InvalidCharacters {
        kind: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error("e-mail `{0}` is not of the form `name@domain`")]
    MalformedEmail(String),
}

/// Characters that render as nothing: zero-width spaces and joiners, the byte order mark, soft
/// hyphens, bidirectional controls. `ann\u{200b}@acme.example` looks like `ann@acme.example` in
/// every log and console, so an address holding one is refused rather than kept apart.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{feff}'
    )
}

/// Checks what every id must satisfy: not empty, not too long, no control characters.
fn check_plain(kind: &'static str, value: &str, max: usize) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.chars().count() > max {
        return Err(IdError::TooLong {
            kind,
            value: value.chars().take(64).collect::<String>() + "…",
            max,
        });
    }
    if value.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter {
            kind,
            value: value.escape_debug().to_string(),
        });
    }
    Ok(())
}

macro_rules! plain_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, example = $example:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
        )]
        #[serde(try_from = "String", into = "String")]
        #[schema(example = $example)]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps an id.
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check_plain($kind, &value, MAX_ID_LEN)?;
                Ok(Self(value))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

plain_id!(
    /// The id of a partner account (`p-acme`).
    PartnerId,
    "partner id",
    example = "p-acme"
);
plain_id!(
    /// The id of a client account (`c-globex`).
    ClientId,
    "client id",
    example = "c-globex"
);
plain_id!(
    /// The id of an asset in a client account (`deal-1`).
    AssetId,
    "asset id",
    example = "deal-1"
);
plain_id!(
    /// The name of a permission set (`partner_admin`, `Sales rep`).
    PermissionSetName,
    "permission set name",
    example = "partner_admin"
);

/// An e-mail address, its ASCII letters lower-cased when parsed: e-mails are compared
/// case-insensitively in ASCII only.
///
/// INVARIANT: two different people never fold onto one `Email`. Nothing is trimmed (an address
/// with white space anywhere is refused, not cleaned up), and only `A`–`Z` are folded: Unicode
/// case rules would make the Kelvin sign `K` (U+212A) the letter `k`, so `\u{212a}im@…` would be
/// decided and audited as `kim@…`. Non-ASCII characters are kept as they are (an address in
/// another script is another address).
///
/// Its schema gives the shape it is checked for (one `@` with text either side, no white
/// space) rather than the `email` format, which non-ASCII addresses do not meet.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(
    description = "An e-mail address, its ASCII letters lower-case.",
    pattern = r"^[^@\s]+@[^@\s]+$",
    example = "ann@acme.example"
)]
pub struct Email(String);

impl Email {
    /// Checks an e-mail address and lower-cases its ASCII letters.
    pub fn parse(value: impl AsRef<str>) -> Result<Self, IdError> {
        let value = value.as_ref();
        check_plain("e-mail", value, MAX_EMAIL_LEN)?;
        let lower = value.to_ascii_lowercase();
        match lower.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !lower.chars().any(|c| c.is_whitespace() || is_invisible(c)) =>
            {
                Ok(Self(lower))
            }
            _ => Err(IdError::MalformedEmail(value.escape_debug().to_string())),
        }
    }

    /// The address as text, lower-case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        // INVARIANT: `parse` only accepts addresses with exactly one `@`.
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl TryFrom<String> for Email {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, IdError> {
        Self::parse(value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for Email {
    fn borrow(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        let email = Email::parse("Ann@ACME.example").unwrap();
        assert_eq!(email.as_str(), "ann@acme.example");
        assert_eq!(email.domain(), "acme.example");
        for bad in [
            "",
            "ann",
            "@acme.example",
            "ann@",
            "a b@c.d",
            "a@b@c",
            "ann\n@acme.example",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn emails_fold_ascii_case_only_and_are_never_trimmed() {
        assert_eq!(
            Email::parse("KIM@Acme.Example").unwrap().as_str(),
            "kim@acme.example"
        );
        // The Kelvin sign is not the letter K: another address, never kim's.
        let kelvin = Email::parse("\u{212a}im@acme.example").unwrap();
        assert_ne!(kelvin, Email::parse("kim@acme.example").unwrap());
        assert_eq!(kelvin.as_str(), "\u{212a}im@acme.example");
        for bad in [
            " ann@acme.example",
            "ann@acme.example ",
            "ann@acme.example\n",
            "ann@acme.example\u{a0}",
            "ann\u{200b}@acme.example",
            "ann@acme.example\u{feff}",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    /// Generated: any two strings that parse to the same `Email` differ only in the case of
    /// ASCII letters.
    #[test]
    fn only_ascii_case_folds() {
        use proptest::prelude::*;
        let alphabet = prop::sample::select(vec![
            'a', 'A', 'k', 'K', '\u{212a}', 'ß', 'ẞ', 'İ', 'i', 'ı', 'ſ', 's', 'é', 'É', '@', '.',
            ' ', '\u{200b}', '-',
        ]);
        let word = prop::collection::vec(alphabet, 1..12)
            .prop_map(|chars| chars.into_iter().collect::<String>());
        proptest!(|(a in word.clone(), b in word)| {
            if let (Ok(x), Ok(y)) = (Email::parse(&a), Email::parse(&b))
                && x == y
            {
                prop_assert!(a.eq_ignore_ascii_case(&b), "{a:?} and {b:?} fold together");
            }
        });
    }

    #[test]
    fn ids_refuse_empty_long_and_control_characters() {
        assert!(ClientId::parse("c-globex").is_ok());
        assert!(ClientId::parse("quotes \" and :: are fine").is_ok());
        assert_eq!(
            ClientId::parse(""),
            Err(IdError::Empty { kind: "client id" })
        );
        assert!(ClientId::parse("x".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(PartnerId::parse("p\n1").is_err());
    }

    #[test]
    fn serde_names_the_bad_value() {
        let err = serde_json::from_str::<Email>("\"not-an-email\"").unwrap_err();
        assert!(err.to_string().contains("`not-an-email`"), "{err}");
    }
}
