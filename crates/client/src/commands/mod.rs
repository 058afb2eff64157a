//! The session commands the thin binary answers itself — `token`, `status`
//! and `ping` — and what they share with the daemon binary's commands: the
//! exit-code-carrying [`CliError`] and the CLI connection.
//!
//! They are here, not in the daemon crate, because scripts call `token` per
//! request: the process must be small and start fast. The daemon binary's
//! own clap definitions call these same functions, so both binaries print
//! the same bytes.

mod status;
mod token;

pub use status::{ping, status};
pub use token::token;

use crate::client::Client;
use crate::paths::Paths;
use logto_companion_protocol::{ErrorCode, Origin, RpcError};
use serde_json::Value;

/// A failure with the exit code the CLI promises.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl CliError {
    pub fn other(message: impl Into<String>) -> CliError {
        CliError {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<RpcError> for CliError {
    fn from(e: RpcError) -> CliError {
        let code = match e.code {
            ErrorCode::NotAuthenticated => 2,
            ErrorCode::NetworkError => 3,
            _ => 1,
        };
        let hint = match e.code {
            ErrorCode::NotAuthenticated => {
                "\n  sign in with `logto-companion sign-in` (or from the browser extension)"
            }
            ErrorCode::NetworkError => {
                "\n  the identity provider did not answer; check the network and the app's endpoint"
            }
            _ => "",
        };
        CliError {
            code,
            message: format!("{} ({}){hint}", e.message, e.code.as_str()),
        }
    }
}

/// Called once a command is done with the daemon, before it prints: a
/// reader that went away (`logto-companion status | head -1`) then ends the
/// process quietly, as it ends any Unix tool, instead of Rust's broken-pipe
/// panic (exit 101). Not earlier: a daemon that goes away mid-request stays
/// an error with a message. The thin binary's commands and the daemon
/// binary's `doctor` call it.
pub fn printing_now() {
    #[cfg(unix)]
    // SAFETY: sets the default disposition of one signal, once the
    // command's talk with the daemon is over; nothing else here changes it.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Connects as the CLI (starting the daemon if needed).
pub fn connect(paths: &Paths) -> Result<Client, CliError> {
    Client::connect(paths, &Origin::Cli, "cli").map_err(|e| CliError::other(e.to_string()))
}

/// "name (sub)" from ID token claims: name, phone, email or username.
pub fn describe_user(claims: &Value) -> String {
    let sub = claims["sub"].as_str().unwrap_or("?");
    let who = claims["name"]
        .as_str()
        .or(claims["phone_number"].as_str())
        .or(claims["email"].as_str())
        .or(claims["username"].as_str());
    match who {
        Some(w) => format!("{w} ({sub})"),
        None => sub.to_string(),
    }
}

/// Seconds since the Unix epoch, the unit of every `expiresAt`.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
