//! `partner-access serve` as a child process on a loopback port, for the tests that need the
//! real binary (a crash, a fleet of sidecars, a soak, the process's own start and stop).

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

/// A loopback port free at the time of asking (another process may take it before the server
/// binds: a caller that must not fail on that retries).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `binary serve --listen LISTEN --data DATA` with the policies and schema of `rules` (a
/// directory holding `policies/` and `schema/`: the checkout, [`super::root`], or a copy), no
/// `PARTNER_ACCESS_*` variable of the environment, standard input and output closed. The
/// caller adds its flags, its log level, its standard error and its working directory.
pub fn serve_command(binary: &Path, listen: &str, data: &Path, rules: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("serve")
        .args(["--listen", listen])
        .args(["--data", data.to_str().unwrap()])
        .args(["--policies", rules.join("policies").to_str().unwrap()])
        .args(["--schema", rules.join("schema").to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    for (var, _) in std::env::vars() {
        if var.starts_with("PARTNER_ACCESS_") {
            command.env_remove(var);
        }
    }
    command
}

/// Why a server did not become ready.
#[derive(Debug)]
pub enum NotReady {
    /// The process exited first.
    Exited(ExitStatus),
    /// `/readyz` did not answer 200 in time.
    TimedOut,
}

/// Waits until `GET {base}/readyz` answers 200, asking every `poll`, for at most `timeout`.
pub async fn wait_ready(
    child: &mut Child,
    base: &str,
    client: &reqwest::Client,
    timeout: Duration,
    poll: Duration,
) -> Result<(), NotReady> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(NotReady::Exited(status));
        }
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status() == StatusCode::OK
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(NotReady::TimedOut);
        }
        tokio::time::sleep(poll).await;
    }
}
