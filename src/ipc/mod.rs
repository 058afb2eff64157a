//! The local channel between clients (host, CLI) and the daemon: connect,
//! start the daemon when it is not running, listen, check peers, and the
//! blocking client used by the host and the CLI.
//!
//! Each platform module supplies the same items, named once in the `pub use`
//! list below: an item missing on one platform is a compile error there, not
//! a glob that silently differs.
//!
//! | item                 | Unix (`unix.rs`)                         | Windows (`windows.rs`)                         |
//! |----------------------|------------------------------------------|------------------------------------------------|
//! | endpoint             | `$XDG_RUNTIME_DIR/logto-companion/daemon.sock`, 0600 in 0700 | `\\.\pipe\logto-companion-<hash of user SID>`, DACL: this user only |
//! | single instance      | `daemon.lock` (file lock)                | `daemon.lock` + `FILE_FLAG_FIRST_PIPE_INSTANCE` |
//! | peer check           | `SO_PEERCRED` uid                        | client pid → its token's user SID              |
//! | graceful stop        | SIGTERM, SIGINT                          | console Ctrl-C/Break/close, a named stop event |
//! | detached start       | `setsid`                                 | `DETACHED_PROCESS \| CREATE_NO_WINDOW`          |

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

/// What every platform supplies.
///
/// Clients: [`Stream`] (blocking), [`connect_existing`], [`connect_or_start`].
/// Daemon: [`bind`] → `Bound` → `Bound::listen` → `Listener`, whose
/// `accept` yields a [`ServerStream`] to check with [`peer_is_same_user`];
/// [`shutdown_signal`], [`harden_process`], [`detach_stdio`].
pub use os::{
    bind, connect_existing, detach_stdio, harden_process, peer_is_same_user, shutdown_signal,
    Bound, Listener, ServerStream, Stream,
};

/// The pipe name on Windows (a hash of the user's SID and runtime folder).
#[cfg(windows)]
pub(crate) use os::pipe_path;

/// Connects to the running daemon, starting one when none answers.
///
/// Two clients racing here start one daemon: the start lock serializes the
/// "nobody answers → spawn" step, and the second one in finds the daemon
/// answering.
pub fn connect_or_start(paths: &crate::paths::Paths) -> Result<Stream, IpcError> {
    if let Ok(s) = connect_existing(paths) {
        return Ok(s);
    }
    let _lock = start_lock(paths)?;
    if let Ok(s) = connect_existing(paths) {
        return Ok(s);
    }
    os::spawn_daemon()?;
    connect_existing(paths).map_err(IpcError::Connect)
    // `_lock` is released here, after the daemon answers.
}

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

/// How long a starter waits for a fresh daemon to say it is ready.
const START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes the start lock: two clients racing to start the daemon start one,
/// the second finds the first's daemon answering.
fn start_lock(paths: &crate::paths::Paths) -> Result<std::fs::File, IpcError> {
    let dir_err = |path: std::path::PathBuf| move |source| IpcError::Dir { path, source };
    crate::paths::ensure_private_dir(&paths.runtime_dir)
        .map_err(dir_err(paths.runtime_dir.clone()))?;
    let lock = std::fs::File::create(paths.start_lock()).map_err(dir_err(paths.start_lock()))?;
    lock.lock().map_err(dir_err(paths.start_lock()))?;
    Ok(lock)
}

/// Takes the daemon's single-instance lock (held for its whole life,
/// shutdown grace included, so a successor never refreshes alongside it).
fn daemon_lock(paths: &crate::paths::Paths) -> Result<std::fs::File, BindError> {
    let io_err = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| BindError::Io { path, source }
    };
    crate::paths::ensure_private_dir(&paths.runtime_dir).map_err(io_err(&paths.runtime_dir))?;
    let lock_path = paths.daemon_lock();
    let lock = std::fs::File::create(&lock_path).map_err(io_err(&lock_path))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(BindError::AlreadyRunning(lock_path)),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&lock_path)(e)),
    }
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

/// Why the daemon could not take its endpoint.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("another companion daemon is already running (lock {0} is held)")]
    AlreadyRunning(std::path::PathBuf),
    #[error("cannot bind the daemon endpoint at {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}
