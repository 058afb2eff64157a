//! The local socket between clients (host, CLI) and the daemon: connect,
//! start the daemon when it is not running, and the blocking client used by
//! the host and the CLI.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

pub mod client;

/// Why a client could not reach the daemon.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    #[error("cannot prepare {path}: {source}")]
    Dir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("could not start the companion daemon: {0}")]
    Start(String),
    #[error("cannot connect to the companion daemon: {0}")]
    Connect(std::io::Error),
    #[error("the companion daemon refused the connection: {0}")]
    Refused(crate::protocol::RpcError),
}

/// The line a detached daemon prints on stdout once its socket listens.
pub const READY_LINE: &str = "ready";
