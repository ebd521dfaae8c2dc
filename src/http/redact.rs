//! Request paths as they may be logged: an access-link token in a path is a secret, so the
//! trace layer logs [`redact_path`]'s form of it. It owns that one rule and may not know the
//! routes (it redacts a misspelt path that routes nowhere too).

/// A request path as it may be logged. An access-link token is a secret
/// (`/v1/access-links/{token}/approve`), so the segment after an `access-links` segment, and
/// any segment that looks like a token (`pal_…`) wherever it is, becomes `<redacted:…>` with
/// the first 8 hex digits of the segment's SHA-256: enough to tell two requests apart, useless
/// to approve with. The marker is compared percent-decoded and case-insensitively, so a
/// misspelt path that routes nowhere is redacted too.
pub fn redact_path(path: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write;

    use sha2::{Digest, Sha256};
    let mut out = String::with_capacity(path.len());
    let mut redacted = false;
    let mut after_marker = false;
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let decoded = percent_decoded(segment);
        let looks_like_token = decoded
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"pal_"));
        if (after_marker || looks_like_token) && !segment.is_empty() {
            let digest = Sha256::digest(segment.as_bytes());
            out.push_str("<redacted:");
            for b in &digest[..4] {
                let _ = write!(out, "{b:02x}");
            }
            out.push('>');
            redacted = true;
        } else {
            out.push_str(segment);
        }
        after_marker = decoded.eq_ignore_ascii_case(b"access-links");
    }
    if redacted {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}

/// The bytes of a path segment with `%XX` escapes decoded (a malformed escape is kept as is).
fn percent_decoded(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test: a failed unwrap fails it")]

    use proptest::prelude::*;

    use super::redact_path;

    #[test]
    fn paths_without_tokens_are_kept_as_they_are() {
        for path in [
            "/v1/is_authorized",
            "/v1/partners/p1/access-links",
            "/v1/clients/c1/users/a@b.example",
            "/",
            "",
        ] {
            assert!(
                matches!(redact_path(path), std::borrow::Cow::Borrowed(p) if p == path),
                "{path}"
            );
        }
    }

    #[test]
    fn the_same_token_redacts_the_same_way() {
        let a = redact_path("/v1/access-links/pal_00ff/approve");
        let b = redact_path("/v1/access-links/pal_00ff/approve");
        assert_eq!(a, b);
        assert!(a.starts_with("/v1/access-links/<redacted:"), "{a}");
        assert!(a.ends_with(">/approve"), "{a}");
    }

    /// A marker segment as a client might spell it: any case, any byte percent-escaped.
    fn marker() -> impl Strategy<Value = String> {
        proptest::collection::vec((any::<bool>(), any::<bool>()), 12).prop_map(|choices| {
            "access-links"
                .bytes()
                .zip(choices)
                .map(|(b, (upper, escape))| {
                    let b = if upper { b.to_ascii_uppercase() } else { b };
                    if escape {
                        format!("%{b:02X}")
                    } else {
                        char::from(b).to_string()
                    }
                })
                .collect()
        })
    }

    proptest! {
        /// Whatever the token and wherever the marker, the token's text is not in the log.
        #[test]
        fn a_token_after_the_marker_never_reaches_the_log(
            before in proptest::collection::vec("[a-z0-9]{1,8}", 0..3),
            marker in marker(),
            token in "[A-Za-z0-9_.~%-]{12,80}",
            after in proptest::collection::vec("[a-z]{1,8}", 0..3),
        ) {
            let mut path = String::new();
            for s in &before {
                path.push('/');
                path.push_str(s);
            }
            path.push('/');
            path.push_str(&marker);
            path.push('/');
            path.push_str(&token);
            for s in &after {
                path.push('/');
                path.push_str(s);
            }
            let logged = redact_path(&path);
            prop_assert!(!logged.contains(&token), "{path} logged as {logged}");
        }

        /// A token-shaped segment is redacted wherever it is, with or without the marker.
        #[test]
        fn a_token_shaped_segment_is_redacted_anywhere(
            before in proptest::collection::vec("[a-z0-9-]{1,8}", 0..4),
            token in "[Pp][Aa][Ll]_[0-9a-f]{8,64}",
            after in proptest::collection::vec("[a-z]{1,8}", 0..3),
        ) {
            let path = format!(
                "/{}/{token}/{}",
                before.join("/"),
                after.join("/")
            );
            let logged = redact_path(&path);
            prop_assert!(!logged.contains(&token), "{path} logged as {logged}");
        }
    }
}
