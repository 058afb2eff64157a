//! Unix-domain socket, the daemon's side: `$XDG_RUNTIME_DIR/logto-companion/daemon.sock`
//! in a 0700 directory, socket 0600, peers checked by uid (SO_PEERCRED).

use super::{daemon_lock, BindError};
use crate::paths::Paths;
use std::fs::File;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// The daemon side of one accepted connection.
pub type ServerStream = tokio::net::UnixStream;

/// What the daemon holds between binding and running its runtime: the
/// bound socket and the single-instance lock.
pub struct Bound {
    listener: std::os::unix::net::UnixListener,
    socket: PathBuf,
    lock: File,
}

/// Takes the daemon lock and binds the socket (0600 in a 0700 directory).
pub fn bind(paths: &Paths) -> Result<Bound, BindError> {
    let lock = daemon_lock(paths)?;
    let socket = paths.socket();
    let io_err = |source| BindError::Io {
        path: socket.clone(),
        source,
    };
    // We hold the lock, so a socket file here is a leftover of a dead daemon.
    match std::fs::remove_file(&socket) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    let listener = std::os::unix::net::UnixListener::bind(&socket).map_err(io_err)?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).map_err(io_err)?;
    listener.set_nonblocking(true).map_err(io_err)?;
    Ok(Bound {
        listener,
        socket,
        lock,
    })
}

impl Bound {
    /// Registers the socket with the tokio runtime (call inside it).
    pub fn listen(self) -> io::Result<Listener> {
        Ok(Listener {
            listener: Some(tokio::net::UnixListener::from_std(self.listener)?),
            socket: self.socket,
            _lock: self.lock,
        })
    }
}

/// The listening daemon. It keeps the single-instance lock until dropped,
/// after [`Listener::stop_accepting`] and the shutdown grace.
pub struct Listener {
    listener: Option<tokio::net::UnixListener>,
    socket: PathBuf,
    _lock: File,
}

impl Listener {
    /// The next client connection.
    pub async fn accept(&mut self) -> io::Result<ServerStream> {
        match &self.listener {
            Some(l) => l.accept().await.map(|(s, _)| s),
            None => std::future::pending().await,
        }
    }

    /// Removes the socket so new clients start a successor (which waits for
    /// our lock) instead of reaching a daemon on its way out.
    pub fn stop_accepting(&mut self) {
        if self.listener.take().is_some() {
            let _ = std::fs::remove_file(&self.socket);
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop_accepting();
    }
}

/// True when the peer runs as our own user.
pub fn peer_is_same_user(stream: &ServerStream) -> io::Result<bool> {
    let cred = stream.peer_cred()?;
    // SAFETY: geteuid has no preconditions.
    Ok(cred.uid() == unsafe { libc::geteuid() })
}

/// Resolves on SIGTERM or SIGINT: the daemon then stops accepting and lets
/// refreshes in flight finish.
pub async fn shutdown_signal(_paths: &Paths) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Keeps secrets out of core dumps and out of reach of same-user debuggers.
pub fn harden_process() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_DUMPABLE with 0 only changes this process's flag.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    #[cfg(target_os = "macos")]
    // SAFETY: setrlimit on our own process with a valid struct; PT_DENY_ATTACH
    // takes no address or data and only marks this process as not traceable.
    unsafe {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        libc::ptrace(libc::PT_DENY_ATTACH, 0, std::ptr::null_mut(), 0);
    }
}

/// After readiness, a detached daemon lets go of the starter's pipe so the
/// starter sees EOF and nothing we print can block on it.
pub fn detach_stdio() {
    // SAFETY: plain fd juggling on fds we own; failures leave the old fds.
    unsafe {
        let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if devnull >= 0 {
            libc::dup2(devnull, 1);
            libc::dup2(devnull, 2);
            if devnull > 2 {
                libc::close(devnull);
            }
        }
    }
}
