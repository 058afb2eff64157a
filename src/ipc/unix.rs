//! Unix-domain socket transport: `$XDG_RUNTIME_DIR/logto-companion/daemon.sock`
//! in a 0700 directory, socket 0600, peers checked by uid (SO_PEERCRED).

use super::{IpcError, READY_LINE};
use crate::paths::{ensure_private_dir, Paths};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

pub type Stream = UnixStream;

/// How long a starter waits for a fresh daemon to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to the running daemon, starting one when none answers.
///
/// Two clients racing here start one daemon: the start lock serializes the
/// "nobody answers → spawn" step, and the second one in finds the socket
/// answering.
pub fn connect_or_start(paths: &Paths) -> Result<Stream, IpcError> {
    let socket = paths.socket();
    if let Ok(s) = UnixStream::connect(&socket) {
        return Ok(s);
    }
    ensure_private_dir(&paths.runtime_dir).map_err(|source| IpcError::Dir {
        path: paths.runtime_dir.clone(),
        source,
    })?;
    let lock = File::create(paths.start_lock()).map_err(|source| IpcError::Dir {
        path: paths.start_lock(),
        source,
    })?;
    lock.lock().map_err(|source| IpcError::Dir {
        path: paths.start_lock(),
        source,
    })?;
    if let Ok(s) = UnixStream::connect(&socket) {
        return Ok(s);
    }
    spawn_daemon()?;
    UnixStream::connect(&socket).map_err(IpcError::Connect)
    // `lock` is released here, after the daemon answers.
}

/// Connects without starting anything (for `status`, `doctor`).
pub fn connect_existing(paths: &Paths) -> io::Result<Stream> {
    UnixStream::connect(paths.socket())
}

/// Starts `logto-companion daemon --detach` in its own session (so the
/// browser killing the host's process group does not kill it) and waits
/// for its readiness line.
fn spawn_daemon() -> Result<(), IpcError> {
    let exe = std::env::current_exe()
        .map_err(|e| IpcError::Start(format!("cannot find our own executable: {e}")))?;
    let mut cmd = Command::new(exe);
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
        .map_err(|e| IpcError::Start(format!("spawn failed: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| IpcError::Start("no stdout pipe".into()))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let res = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = tx.send(res);
    });
    // Reap the daemon when it exits, so it never lingers as a zombie of a
    // long-lived host.
    std::thread::spawn(move || {
        let _ = child.wait();
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

/// What the daemon holds while it runs: the bound listener and the
/// single-instance lock.
pub struct Bound {
    pub listener: std::os::unix::net::UnixListener,
    _lock: File,
}

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("another companion daemon is already running (lock {0} is held)")]
    AlreadyRunning(std::path::PathBuf),
    #[error("cannot bind the daemon socket at {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: io::Error,
    },
}

/// Takes the daemon lock and binds the socket (0600 in a 0700 directory).
pub fn bind(paths: &Paths) -> Result<Bound, BindError> {
    let io_err = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| BindError::Io { path, source }
    };
    ensure_private_dir(&paths.runtime_dir).map_err(io_err(&paths.runtime_dir))?;
    let lock_path = paths.daemon_lock();
    let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(BindError::AlreadyRunning(lock_path)),
        Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
    }
    let socket = paths.socket();
    // We hold the lock, so a socket file here is a leftover of a dead daemon.
    match std::fs::remove_file(&socket) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&socket)(e)),
    }
    let listener = std::os::unix::net::UnixListener::bind(&socket).map_err(io_err(&socket))?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
        .map_err(io_err(&socket))?;
    listener.set_nonblocking(true).map_err(io_err(&socket))?;
    Ok(Bound {
        listener,
        _lock: lock,
    })
}

/// True when the peer runs as our own user.
pub fn peer_is_same_user(stream: &tokio::net::UnixStream) -> io::Result<bool> {
    let cred = stream.peer_cred()?;
    // SAFETY: geteuid has no preconditions.
    Ok(cred.uid() == unsafe { libc::geteuid() })
}

/// Keeps secrets out of core dumps and out of reach of same-user ptrace.
pub fn harden_process() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_DUMPABLE with 0 only changes this process's flag.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
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
