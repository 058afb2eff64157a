//! Windows named-pipe daemon side: `\\.\pipe\logto-companion-<id>`, where
//! `<id>` is a hash of the user's SID and the runtime folder (so the pipe is
//! per user, and a test with its own `%LOCALAPPDATA%` gets its own daemon).
//!
//! The same rules as the Unix socket's 0700/0600/`SO_PEERCRED`:
//! - the pipe's DACL grants the current user only (protected, no inherited
//!   ACEs), and remote clients are rejected;
//! - the first instance is created with `FILE_FLAG_FIRST_PIPE_INSTANCE`, so
//!   nobody can squat the name before the daemon (their pipe makes our
//!   create fail instead of serving our clients);
//! - every client is checked: its process id → its token's user SID must
//!   equal ours, else `forbidden`; and clients check the server the same way
//!   and only let it identify them (`SECURITY_IDENTIFICATION`), never
//!   impersonate them.
//!
//! Graceful stop: console Ctrl-C/Ctrl-Break/close/shutdown, or the named
//! event `Local\logto-companion-stop-<id>` (a detached daemon has no
//! console; the event is its SIGTERM).
//!
//! The client side (the pipe name, the SID helpers, connecting, starting
//! the daemon) is `logto_companion_client::ipc::windows`.

use super::{daemon_lock, BindError};
use crate::paths::Paths;
use logto_companion_client::ipc::windows::{
    current_user, endpoint_id, process_user, same_user, wide,
};
use std::ffi::c_void;
use std::fs::File;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::{Path, PathBuf};
use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};
use windows_sys::Win32::Foundation::{
    CloseHandle, LocalFree, ERROR_ACCESS_DENIED, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, PIPE_ACCESS_DUPLEX,
};
use windows_sys::Win32::System::Console::{
    GetStdHandle, SetStdHandle, STD_ERROR_HANDLE, STD_OUTPUT_HANDLE,
};
use windows_sys::Win32::System::Pipes::{
    CreateNamedPipeW, GetNamedPipeClientProcessId, PIPE_READMODE_BYTE, PIPE_REJECT_REMOTE_CLIENTS,
    PIPE_TYPE_BYTE, PIPE_UNLIMITED_INSTANCES, PIPE_WAIT,
};
use windows_sys::Win32::System::Threading::{CreateEventW, WaitForSingleObject, INFINITE};

/// Pipe buffer sizes (tokio's defaults, used for every instance alike).
const PIPE_BUFFER: u32 = 65536;

fn stop_event_name(paths: &Paths) -> String {
    format!(
        r"Local\logto-companion-stop-{}",
        endpoint_id(&paths.runtime_dir)
    )
}

/// A security descriptor whose DACL grants the current user only, with no
/// inherited entries (`D:P(A;;GA;;;<our SID>)`).
struct UserOnly(PSECURITY_DESCRIPTOR);

// SAFETY: the descriptor is an immutable, self-relative block owned by us.
unsafe impl Send for UserOnly {}
unsafe impl Sync for UserOnly {}

impl UserOnly {
    fn new() -> io::Result<UserOnly> {
        let sddl = format!("D:P(A;;GA;;;{})", current_user()?.to_sddl()?);
        let wide = wide(&sddl);
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `wide` is NUL-terminated; on success `sd` is LocalAlloc'd.
        if unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                wide.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        } == 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(UserOnly(sd))
    }

    /// Attributes pointing at the descriptor; valid while `self` lives.
    fn attributes(&self) -> SECURITY_ATTRIBUTES {
        SECURITY_ATTRIBUTES {
            nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: self.0,
            bInheritHandle: 0,
        }
    }
}

impl Drop for UserOnly {
    fn drop(&mut self) {
        // SAFETY: LocalAlloc'd by ConvertStringSecurityDescriptorToSecurityDescriptorW.
        unsafe { LocalFree(self.0) };
    }
}

/// The DACL of a kernel object, as SDDL (`D:P(A;;FA;;;S-1-…)`): how a test
/// (and a curious user) reads back what [`bind`] set.
#[cfg(test)]
pub(crate) fn dacl_sddl(handle: std::os::windows::io::RawHandle) -> io::Result<String> {
    use windows_sys::Win32::Security::Authorization::{
        ConvertSecurityDescriptorToStringSecurityDescriptorW, GetSecurityInfo, SE_KERNEL_OBJECT,
    };
    use windows_sys::Win32::Security::DACL_SECURITY_INFORMATION;
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `handle` is open with READ_CONTROL; `sd` receives a LocalAlloc'd copy.
    let rc = unsafe {
        GetSecurityInfo(
            handle,
            SE_KERNEL_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc as i32));
    }
    let mut s: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sd` is valid; `s` receives a LocalAlloc'd string.
    let ok = unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            SDDL_REVISION_1,
            DACL_SECURITY_INFORMATION,
            &mut s,
            std::ptr::null_mut(),
        )
    };
    let res = if ok == 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: `s` is NUL-terminated.
        let out = unsafe { logto_companion_client::ipc::windows::from_wide_ptr(s) };
        // SAFETY: LocalAlloc'd by the conversion.
        unsafe { LocalFree(s.cast()) };
        Ok(out)
    };
    // SAFETY: LocalAlloc'd by GetSecurityInfo.
    unsafe { LocalFree(sd) };
    res
}

// ----------------------------------------------------------------- daemon

/// The daemon side of one accepted connection.
pub type ServerStream = NamedPipeServer;

/// What the daemon holds between binding and running its runtime: the
/// single-instance lock and the pipe's first instance (which claims the
/// name), not yet registered with tokio.
pub struct Bound {
    first: OwnedHandle,
    name: PathBuf,
    security: UserOnly,
    lock: File,
}

/// Creates the pipe's first instance: fails when the name exists (another
/// daemon, or a squatter).
fn create_first_instance(name: &Path, security: &UserOnly) -> io::Result<OwnedHandle> {
    let wide_name = wide(name.as_os_str());
    let sa = security.attributes();
    // SAFETY: `wide_name` is NUL-terminated and `sa` points at a live descriptor.
    let h = unsafe {
        CreateNamedPipeW(
            wide_name.as_ptr(),
            PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
            PIPE_UNLIMITED_INSTANCES,
            PIPE_BUFFER,
            PIPE_BUFFER,
            0,
            &sa,
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh handle we own.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// Takes the daemon lock and creates the pipe (this user only).
pub fn bind(paths: &Paths) -> Result<Bound, BindError> {
    let lock = daemon_lock(paths)?;
    let name = paths.socket();
    let io_err = |source| BindError::Io {
        path: name.clone(),
        source,
    };
    let security = UserOnly::new().map_err(io_err)?;
    let first = match create_first_instance(&name, &security) {
        Ok(h) => h,
        // The name is taken although we hold the lock: the previous daemon
        // still has connections open while it exits (or someone squats it).
        // The caller waits and retries, as for a held lock.
        Err(e) if e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32) => {
            return Err(BindError::AlreadyRunning(name))
        }
        Err(e) => return Err(io_err(e)),
    };
    Ok(Bound {
        first,
        name,
        security,
        lock,
    })
}

impl Bound {
    /// Registers the pipe with the tokio runtime (call inside it).
    pub fn listen(self) -> io::Result<Listener> {
        let raw = self.first.as_raw_handle();
        // The handle moves into tokio, which closes it.
        std::mem::forget(self.first);
        // SAFETY: `raw` is an overlapped pipe server handle we own.
        let first = unsafe { NamedPipeServer::from_raw_handle(raw)? };
        Ok(Listener {
            next: Some(first),
            name: self.name,
            security: self.security,
            _lock: self.lock,
        })
    }
}

/// The listening daemon: one pipe instance waiting for the next client. It
/// keeps the single-instance lock until dropped, after
/// [`Listener::stop_accepting`] and the shutdown grace.
pub struct Listener {
    next: Option<NamedPipeServer>,
    name: PathBuf,
    security: UserOnly,
    _lock: File,
}

impl Listener {
    fn new_instance(&self) -> io::Result<NamedPipeServer> {
        let mut sa = self.security.attributes();
        // SAFETY: `sa` and the descriptor it points at outlive the call.
        unsafe {
            ServerOptions::new()
                .first_pipe_instance(false)
                .reject_remote_clients(true)
                .in_buffer_size(PIPE_BUFFER)
                .out_buffer_size(PIPE_BUFFER)
                .create_with_security_attributes_raw(
                    &self.name,
                    (&mut sa as *mut SECURITY_ATTRIBUTES).cast::<c_void>(),
                )
        }
    }

    /// The next client connection. The next instance is created before the
    /// connected one is handed out, so clients rarely see "all busy".
    pub async fn accept(&mut self) -> io::Result<ServerStream> {
        let Some(current) = &self.next else {
            return std::future::pending().await;
        };
        let connected = current.connect().await;
        let next = self.new_instance()?;
        let current = self.next.replace(next);
        connected?;
        current.ok_or_else(|| io::Error::other("no pipe instance"))
    }

    /// Closes the waiting instance so new clients start a successor (which
    /// waits for our lock) instead of reaching a daemon on its way out.
    pub fn stop_accepting(&mut self) {
        self.next = None;
    }
}

/// True when the client runs as our own user.
pub fn peer_is_same_user(stream: &ServerStream) -> io::Result<bool> {
    let mut pid = 0u32;
    // SAFETY: `stream` is a connected pipe server handle.
    if unsafe { GetNamedPipeClientProcessId(stream.as_raw_handle(), &mut pid) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(same_user(current_user()?, &process_user(pid)?))
}

/// Creates (or opens) the stop event, this user only.
fn stop_event(paths: &Paths) -> io::Result<OwnedHandle> {
    let security = UserOnly::new()?;
    let sa = security.attributes();
    let name = wide(stop_event_name(paths));
    // SAFETY: `sa` and `name` outlive the call; manual reset, not signalled.
    let h = unsafe { CreateEventW(&sa, 1, 0, name.as_ptr()) };
    if h.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh handle we own.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// Asks the daemon of `paths` to stop gracefully (what SIGTERM does on Unix).
#[cfg(test)]
pub(crate) fn request_stop(paths: &Paths) -> io::Result<()> {
    use windows_sys::Win32::System::Threading::{OpenEventW, SetEvent, EVENT_MODIFY_STATE};
    let name = wide(stop_event_name(paths));
    // SAFETY: `name` is NUL-terminated.
    let h = unsafe { OpenEventW(EVENT_MODIFY_STATE, 0, name.as_ptr()) };
    if h.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh handle we own.
    let h = unsafe { OwnedHandle::from_raw_handle(h) };
    // SAFETY: `h` is an event handle opened with EVENT_MODIFY_STATE.
    if unsafe { SetEvent(h.as_raw_handle()) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Resolves on a console Ctrl-C/Ctrl-Break/close/shutdown or on the stop
/// event; the daemon then stops accepting and lets refreshes finish.
pub async fn shutdown_signal(paths: &Paths) {
    use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close, ctrl_shutdown};
    let event = match stop_event(paths) {
        Ok(ev) => {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            // A thread, not the runtime: WaitForSingleObject blocks.
            std::thread::spawn(move || {
                // SAFETY: `ev` stays open for the wait.
                unsafe { WaitForSingleObject(ev.as_raw_handle(), INFINITE) };
                let _ = tx.send(());
            });
            Some(rx)
        }
        Err(e) => {
            tracing::warn!("no stop event ({e}); only console signals stop the daemon");
            None
        }
    };
    let fired = async move {
        if let Some(rx) = event {
            if rx.await.is_ok() {
                return;
            }
        }
        std::future::pending::<()>().await
    };
    let (mut c, mut b, mut cl, mut sd) = (
        ctrl_c().ok(),
        ctrl_break().ok(),
        ctrl_close().ok(),
        ctrl_shutdown().ok(),
    );
    macro_rules! console {
        ($s:expr) => {
            async {
                match $s.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            }
        };
    }
    tokio::select! {
        _ = fired => {}
        Some(()) = console!(c) => {}
        Some(()) = console!(b) => {}
        Some(()) = console!(cl) => {}
        Some(()) = console!(sd) => {}
    }
}

/// Windows has no per-process "not dumpable" flag like Linux's
/// `PR_SET_DUMPABLE`: processes of the same user can open ours, the same
/// trust boundary the pipe's DACL draws. Nothing to do here.
pub fn harden_process() {}

/// After readiness, a detached daemon closes the starter's pipe so the
/// starter sees EOF; later prints go nowhere (Rust treats a null standard
/// handle as a sink).
pub fn detach_stdio() {
    for which in [STD_OUTPUT_HANDLE, STD_ERROR_HANDLE] {
        // SAFETY: swaps our own standard handles; the old one is closed once.
        unsafe {
            let h = GetStdHandle(which);
            SetStdHandle(which, std::ptr::null_mut());
            if !h.is_null() && h != INVALID_HANDLE_VALUE {
                CloseHandle(h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logto_companion_client::ipc::windows::Sid;
    use logto_companion_client::ipc::{connect_existing, pipe_path};
    use std::io::{Read, Write};
    use std::os::windows::fs::OpenOptionsExt;
    use std::time::{Duration, Instant};

    fn temp_paths() -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = Paths {
            config_dir: dir.path().join("config"),
            state_dir: dir.path().join("state"),
            runtime_dir: dir.path().join("run"),
        };
        (dir, paths)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_token_of_another_user_is_refused() {
        let me = current_user().expect("our SID");
        let sddl = me.to_sddl().expect("sddl");
        assert!(sddl.starts_with("S-1-"), "{sddl}");
        assert!(same_user(me, &Sid::parse(&sddl).expect("parse ours")));
        for other in ["S-1-5-18", "S-1-5-21-1-2-3-1001", "S-1-1-0"] {
            let other = Sid::parse(other).expect("parse");
            assert!(!same_user(me, &other), "{other:?} passed as {me:?}");
        }
    }

    #[test]
    fn pipe_name_is_per_user_and_per_runtime_dir() {
        let a = pipe_path(Path::new(r"C:\a"));
        let b = pipe_path(Path::new(r"C:\b"));
        assert_ne!(a, b);
        assert_eq!(a, pipe_path(Path::new(r"C:\a")));
        assert!(a
            .to_string_lossy()
            .starts_with(r"\\.\pipe\logto-companion-"));
    }

    #[test]
    fn pipe_grants_only_the_current_user_and_passes_our_own_client() {
        let (_dir, paths) = temp_paths();
        let bound = bind(&paths).expect("bind");
        let rt = runtime();
        rt.block_on(async {
            let mut listener = bound.listen().expect("listen");
            let p = paths.clone();
            let client = tokio::task::spawn_blocking(move || connect_existing(&p));
            let server = listener.accept().await.expect("accept");
            let mut client = client.await.expect("join").expect("client connects");
            assert!(peer_is_same_user(&server).expect("peer check"));

            // Read the DACL back through a handle opened for READ_CONTROL.
            let p = paths.clone();
            let probe = tokio::task::spawn_blocking(move || {
                use windows_sys::Win32::Storage::FileSystem::READ_CONTROL;
                std::fs::OpenOptions::new()
                    .access_mode(READ_CONTROL)
                    .custom_flags(FILE_FLAG_OVERLAPPED)
                    .open(p.socket())
            });
            let _second = listener.accept().await.expect("accept probe");
            let probe = probe.await.expect("join").expect("open with READ_CONTROL");
            let dacl = dacl_sddl(probe.as_raw_handle()).expect("read DACL");
            let me = current_user().unwrap().to_sddl().unwrap();
            assert!(dacl.starts_with("D:P"), "DACL not protected: {dacl}");
            assert_eq!(dacl.matches('(').count(), 1, "more than one ACE: {dacl}");
            assert!(dacl.contains(&format!(";;;{me})")), "ACE not ours: {dacl}");

            // Frames flow both ways; the client writes while its clone reads.
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut reader = client.try_clone().expect("clone");
            let read = std::thread::spawn(move || {
                let mut buf = [0u8; 4];
                reader.read_exact(&mut buf).map(|_| buf)
            });
            client.write_all(b"ping").expect("client write");
            let mut server = server;
            let mut got = [0u8; 4];
            server.read_exact(&mut got).await.expect("server read");
            assert_eq!(&got, b"ping");
            server.write_all(b"pong").await.expect("server write");
            assert_eq!(&read.join().unwrap().expect("client read"), b"pong");
        });
    }

    #[test]
    fn a_second_daemon_cannot_take_the_pipe() {
        let (_dir, paths) = temp_paths();
        let _first = bind(&paths).expect("bind");
        assert!(matches!(bind(&paths), Err(BindError::AlreadyRunning(_))));
        // Without the lock, FILE_FLAG_FIRST_PIPE_INSTANCE still refuses.
        let security = UserOnly::new().unwrap();
        let second = create_first_instance(&paths.socket(), &security);
        if under_wine() {
            // Wine 8 ignores FILE_FLAG_FIRST_PIPE_INSTANCE: only the lock
            // above can be checked here; Windows enforces the flag.
            eprintln!("under Wine: FILE_FLAG_FIRST_PIPE_INSTANCE is not enforced, not checked");
            return;
        }
        let err = second.unwrap_err();
        assert_eq!(
            err.raw_os_error(),
            Some(ERROR_ACCESS_DENIED as i32),
            "{err}"
        );
    }

    /// Wine's ntdll exports `wine_get_version`; Windows' does not.
    fn under_wine() -> bool {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
        let ntdll = wide("ntdll.dll");
        // SAFETY: ntdll is always loaded; the name is NUL-terminated.
        unsafe {
            let module = GetModuleHandleW(ntdll.as_ptr());
            !module.is_null()
                && GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }

    #[test]
    fn the_stop_event_ends_shutdown_signal() {
        let (_dir, paths) = temp_paths();
        let rt = runtime();
        rt.block_on(async {
            let p = paths.clone();
            let waiting = tokio::spawn(async move { shutdown_signal(&p).await });
            // The event exists once shutdown_signal has run up to its wait.
            let deadline = Instant::now() + Duration::from_secs(5);
            while request_stop(&paths).is_err() {
                assert!(Instant::now() < deadline, "stop event never appeared");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::timeout(Duration::from_secs(5), waiting)
                .await
                .expect("shutdown_signal did not return")
                .expect("join");
        });
    }
}
