//! The `partner-access` binary: parse the command line and run it.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the check path allocates small objects on every request from several threads,
/// where glibc's malloc contends on its arena locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    partner_access::cli::run(partner_access::cli::Cli::parse())
}
