//! Rule ids as the rule books write them: `PA-1`, `SEAT-9`, ... (a known prefix, a hyphen,
//! digits), found anywhere in a text.

use std::collections::BTreeSet;

/// The sections of the rule book, by the prefix of their ids.
pub const PREFIXES: &[&str] = &[
    "CAP", "PA", "ADD", "LINK", "PERM", "REM", "REL", "MIG", "SEAT", "OP",
];

/// Every rule id in `text`.
pub fn rule_ids(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| {
            word.split_once('-').is_some_and(|(prefix, number)| {
                PREFIXES.contains(&prefix)
                    && !number.is_empty()
                    && number.chars().all(|c| c.is_ascii_digit())
            })
        })
        .map(str::to_owned)
        .collect()
}
