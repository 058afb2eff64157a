//! The daemon's side of the local channel: take the endpoint, listen, check
//! every peer, stop on a signal. The client side (connect, start the
//! daemon, the typed client) is `logto_companion_client::ipc`, re-exported
//! here so daemon code names one module.
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
//! | detached start       | `setsid` (client crate)                  | `DETACHED_PROCESS \| CREATE_NO_WINDOW` (client crate) |

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

/// What every platform supplies to the daemon: [`bind`] → `Bound` →
/// `Bound::listen` → `Listener`, whose `accept` yields a [`ServerStream`] to
/// check with [`peer_is_same_user`]; [`shutdown_signal`],
/// [`harden_process`], [`detach_stdio`].
pub use os::{
    bind, detach_stdio, harden_process, peer_is_same_user, shutdown_signal, Bound, Listener,
    ServerStream,
};

/// The client side, for the daemon binary's own CLI commands and `doctor`.
pub use logto_companion_client::client;
pub use logto_companion_client::ipc::{
    connect_existing, connect_or_start, IpcError, Stream, READY_LINE,
};

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
