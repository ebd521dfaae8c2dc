//! Formatting policy text with Cedar's own formatter (`partner-access fmt`).

use cedar_policy_formatter::{Config, policies_str_to_pretty};

/// `text` (the policies of one file) as Cedar's formatter prints it, 100 columns wide with an
/// indent of two; the error is the formatter's, for text that does not parse.
pub fn format_policies(text: &str) -> Result<String, String> {
    let config = Config {
        line_width: 100,
        indent_width: 2,
    };
    policies_str_to_pretty(text, &config).map_err(|e| format!("{e:?}"))
}
