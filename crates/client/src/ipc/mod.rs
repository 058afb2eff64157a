//! The client side of the local channel to the daemon: connect, and start
//! the daemon when none answers. The daemon's side (bind, listen, peer
//! checks, signals) lives in the daemon crate's `ipc`.
//!
//! Each platform module supplies the same items, named once in the `pub use`
//! list below: an item missing on one platform is a compile error there, not
//! a glob that silently differs.
//!
//! | item            | Unix (`unix.rs`)                         | Windows (`windows.rs`)                         |
//! |-----------------|------------------------------------------|------------------------------------------------|
//! | endpoint        | `$XDG_RUNTIME_DIR/logto-companion/daemon.sock`, 0600 in 0700 | `\\.\pipe\logto-companion-<hash of user SID>`, DACL: this user only |
//! | server check    | the socket's 0700 folder, owned by us    | the pipe server's pid → its token's user SID   |
//! | detached start  | `setsid`                                 | `DETACHED_PROCESS \| CREATE_NO_WINDOW`          |

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;

#[cfg(windows)]
pub mod windows;
#[cfg(windows)]
use windows as os;

/// What every platform supplies to clients: [`Stream`] (blocking),
/// [`connect_existing`], and `spawn_daemon` behind [`connect_or_start`].
pub use os::{connect_existing, Stream};

/// The pipe name on Windows (a hash of the user's SID and runtime folder).
#[cfg(windows)]
pub use os::pipe_path;

use crate::paths::Paths;
use std::path::PathBuf;

/// The daemon binary beside the running executable (both binaries ship
/// side by side in every package; the daemon binary finds itself).
pub fn daemon_binary() -> Result<PathBuf, IpcError> {
    crate::paths::beside_this_program(crate::paths::DAEMON_BIN).map_err(IpcError::Start)
}

/// Connects to the running daemon, starting one when none answers.
///
/// Two clients racing here start one daemon: the start lock serializes the
/// "nobody answers → spawn" step, and the second one in finds the daemon
/// answering.
pub fn connect_or_start(paths: &Paths) -> Result<Stream, IpcError> {
    if let Ok(s) = connect_existing(paths) {
        return Ok(s);
    }
    let _lock = start_lock(paths)?;
    if let Ok(s) = connect_existing(paths) {
        return Ok(s);
    }
    os::spawn_daemon(&daemon_binary()?)?;
    connect_existing(paths).map_err(IpcError::Connect)
    // `_lock` is released here, after the daemon answers.
}

/// Why a client could not reach the daemon.
#[derive(Debug)]
pub enum IpcError {
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    Start(String),
    Connect(std::io::Error),
    Refused(logto_companion_protocol::RpcError),
}

// Written out (no thiserror): this crate is linked into the thin binary.
impl std::fmt::Display for IpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IpcError::Dir { path, source } => {
                write!(f, "cannot prepare {}: {source}", path.display())
            }
            IpcError::Start(why) => write!(f, "could not start the companion daemon: {why}"),
            IpcError::Connect(e) => write!(f, "cannot connect to the companion daemon: {e}"),
            IpcError::Refused(e) => write!(f, "the companion daemon refused the connection: {e}"),
        }
    }
}

impl std::error::Error for IpcError {}

/// The line a detached daemon prints on stdout once its socket listens.
pub const READY_LINE: &str = "ready";

/// How long a starter waits for a fresh daemon to say it is ready.
const START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes the start lock: two clients racing to start the daemon start one,
/// the second finds the first's daemon answering.
fn start_lock(paths: &Paths) -> Result<std::fs::File, IpcError> {
    let dir_err = |path: PathBuf| move |source| IpcError::Dir { path, source };
    crate::paths::ensure_private_dir(&paths.runtime_dir)
        .map_err(dir_err(paths.runtime_dir.clone()))?;
    let lock = std::fs::File::create(paths.start_lock()).map_err(dir_err(paths.start_lock()))?;
    lock.lock().map_err(dir_err(paths.start_lock()))?;
    Ok(lock)
}

/// Reads the detached daemon's one status line: `ready`, or why it stopped.
fn await_ready(stdout: impl std::io::Read + Send + 'static) -> Result<(), IpcError> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let res = std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line);
        let _ = tx.send(res);
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(line)) if line.trim_end() == READY_LINE => Ok(()),
        Ok(Ok(line)) if line.is_empty() => Err(IpcError::Start(
            "the daemon exited before it was ready (see its log)".into(),
        )),
        Ok(Ok(line)) => Err(IpcError::Start(line.trim().to_string())),
        Ok(Err(e)) => Err(IpcError::Start(e.to_string())),
        Err(_) => Err(IpcError::Start(format!(
            "the daemon did not become ready within {}s",
            START_TIMEOUT.as_secs()
        ))),
    }
}
