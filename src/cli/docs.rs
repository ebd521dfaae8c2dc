//! Shell completions and manual pages, generated from the command line's own definition
//! ([`super::Cli`]), so that they list exactly the subcommands and flags this build has.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory};

use super::Cli;

/// `partner-access completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `partner-access man [--out DIR]`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `partner-access.1` and a page per subcommand (`partner-access-serve.1`, ...) into
    /// this directory (created if missing); without it, print `partner-access.1`.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Prints the completion script for `args.shell` (for example
/// `partner-access completions bash > /etc/bash_completion.d/partner-access`).
pub fn completions(args: &CompletionsArgs) -> ExitCode {
    // Generated into memory first: the generator cannot report a failed write, and standard
    // output may be a closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "partner-access",
        &mut script,
    );
    emit(&script)
}

/// Prints the manual page, or writes every page into a directory.
pub fn man(args: &ManArgs) -> ExitCode {
    let command = Cli::command();
    let written = match &args.out {
        None => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(command).render(&mut page) {
                Ok(()) => return emit(&page),
                Err(e) => Err(e),
            }
        }
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the manual pages: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `bytes` to standard output; a closed pipe (`| head`) is not an error.
fn emit(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            ExitCode::FAILURE
        }
    }
}
