//! Unix-domain socket client: `$XDG_RUNTIME_DIR/logto-companion/daemon.sock`
//! in a 0700 directory owned by us (checked by `ensure_private_dir` before a
//! daemon is started; the daemon checks every peer by uid).

use super::{await_ready, IpcError};
use crate::paths::Paths;
use std::io;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// The client side of a connection (blocking).
pub type Stream = UnixStream;

/// Connects without starting anything (for `status`, `doctor`).
pub fn connect_existing(paths: &Paths) -> io::Result<Stream> {
    UnixStream::connect(paths.socket())
}

/// Starts `logto-companion-daemon daemon --detach` in its own session (so
/// the browser killing the host's process group does not kill it) and waits
/// for its readiness line.
pub(super) fn spawn_daemon(daemon: &Path) -> Result<(), IpcError> {
    let mut cmd = Command::new(daemon);
    cmd.args(["daemon", "--detach"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no Rust state.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| IpcError::Start(format!("spawn {} failed: {e}", daemon.display())))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| IpcError::Start("no stdout pipe".into()))?;
    // Reap the daemon when it exits, so it never lingers as a zombie of a
    // long-lived host.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    await_ready(stdout)
}
