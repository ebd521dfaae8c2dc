//! Tests that need something from outside the crate (a PostgreSQL server, the rule book beside
//! the checkout) run under a `libtest-mimic` harness, so that a missing dependency is honest:
//!
//! - present: the test runs;
//! - missing, outside CI: the test is reported as *ignored* in the count, and one line on
//!   standard error says what to provide;
//! - missing, under `CI` (which `.ci/run` always provides): the test fails, naming what is
//!   missing.
//!
//! A skip is never a silent `ok`.

use libtest_mimic::{Failed, Trial};

/// Something a group of tests needs, and where it comes from.
pub struct Need {
    /// What the tests would use, if it is there (a connection string, a path).
    pub value: Option<String>,
    /// What to provide, said to whoever runs the tests without it.
    pub how: &'static str,
}

impl Need {
    fn in_ci() -> bool {
        std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
    }

    /// The trial for `body`, ignored or failing as above when the need is not met.
    pub fn trial(
        &self,
        name: &str,
        body: impl FnOnce(String) -> Result<(), Failed> + Send + 'static,
    ) -> Trial {
        let value = self.value.clone();
        let how = self.how;
        let ignored = value.is_none() && !Self::in_ci();
        Trial::test(name, move || match value {
            Some(value) => body(value),
            None => Err(format!("missing: {how}").into()),
        })
        .with_ignored_flag(ignored)
    }

    /// Says on standard error (not captured: this runs before the trials) how many trials are
    /// ignored for want of this, and what to provide.
    pub fn report(&self, group: &str, count: usize) {
        if self.value.is_none() {
            if Self::in_ci() {
                eprintln!(
                    "{group}: {count} tests will FAIL under CI: missing {}",
                    self.how
                );
            } else {
                eprintln!("{group}: {count} tests ignored: they need {}", self.how);
            }
        }
    }
}
