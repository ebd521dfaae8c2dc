//! The `partner-access` binary: parse the command line and run it.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    partner_access::cli::run(partner_access::cli::Cli::parse())
}
