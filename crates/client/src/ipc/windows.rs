//! Windows named-pipe client: `\\.\pipe\logto-companion-<id>`, where
//! `<id>` is a hash of the user's SID and the runtime folder (so the pipe is
//! per user, and a test with its own `%LOCALAPPDATA%` gets its own daemon).
//!
//! Clients check the server as the daemon checks them: the pipe server's
//! process id → its token's user SID must equal ours, and the server may
//! only identify us (`SECURITY_IDENTIFICATION`), never impersonate us. The
//! SID helpers are public because the daemon's side (`logto_companion::ipc`)
//! applies the same rule to every client.

use super::{await_ready, IpcError};
use crate::paths::Paths;
use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::os::windows::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    LocalFree, SetHandleInformation, ERROR_ACCESS_DENIED, ERROR_BROKEN_PIPE, ERROR_IO_PENDING,
    ERROR_PIPE_BUSY, HANDLE, HANDLE_FLAG_INHERIT, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
use windows_sys::Win32::Security::{
    CopySid, EqualSid, GetLengthSid, GetTokenInformation, TokenUser, PSID, TOKEN_QUERY, TOKEN_USER,
};
use windows_sys::Win32::Storage::FileSystem::{
    ReadFile, WriteFile, FILE_FLAG_OVERLAPPED, SECURITY_IDENTIFICATION,
};
use windows_sys::Win32::System::Console::{
    GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
};
use windows_sys::Win32::System::Pipes::GetNamedPipeServerProcessId;
use windows_sys::Win32::System::Threading::{
    CreateEventW, GetCurrentProcess, OpenProcess, OpenProcessToken, CREATE_BREAKAWAY_FROM_JOB,
    CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, DETACHED_PROCESS,
    PROCESS_QUERY_LIMITED_INFORMATION,
};
use windows_sys::Win32::System::IO::{GetOverlappedResult, OVERLAPPED};

/// How long a client retries while every pipe instance is busy (the daemon
/// creates the next one right after each connection).
const BUSY_WAIT: Duration = Duration::from_secs(2);

// ------------------------------------------------------------------ SIDs

/// An owned copy of a security identifier, in a `u32` buffer because the
/// API wants SIDs 4-byte aligned.
#[derive(Clone)]
pub struct Sid(Vec<u32>);

impl Sid {
    /// Copies the SID at `p`.
    ///
    /// # Safety
    /// `p` must point to a valid SID.
    pub unsafe fn copy_from(p: PSID) -> io::Result<Sid> {
        // SAFETY: the caller guarantees `p` is a valid SID.
        let len = unsafe { GetLengthSid(p) };
        let mut buf = vec![0u32; (len as usize).div_ceil(4)];
        // SAFETY: `buf` holds at least `len` bytes.
        if unsafe { CopySid(len, buf.as_mut_ptr().cast(), p) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Sid(buf))
    }

    pub fn as_psid(&self) -> PSID {
        // The API takes a mutable pointer but only reads through it.
        self.0.as_ptr() as PSID
    }

    /// Parses the string form (`S-1-5-21-…`).
    pub fn parse(s: &str) -> io::Result<Sid> {
        use windows_sys::Win32::Security::Authorization::ConvertStringSidToSidW;
        let wide = wide(s);
        let mut p: PSID = std::ptr::null_mut();
        // SAFETY: `wide` is NUL-terminated; on success `p` is a LocalAlloc'd SID.
        if unsafe { ConvertStringSidToSidW(wide.as_ptr(), &mut p) } == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `p` is the valid SID just returned; freed right after.
        let sid = unsafe { Sid::copy_from(p) };
        // SAFETY: `p` came from LocalAlloc inside ConvertStringSidToSidW.
        unsafe { LocalFree(p) };
        sid
    }

    /// The string form (`S-1-5-21-…`).
    pub fn to_sddl(&self) -> io::Result<String> {
        let mut s: *mut u16 = std::ptr::null_mut();
        // SAFETY: `self` is a valid SID; on success `s` is a LocalAlloc'd string.
        if unsafe { ConvertSidToStringSidW(self.as_psid(), &mut s) } == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `s` is NUL-terminated, freed right after.
        let out = unsafe { from_wide_ptr(s) };
        // SAFETY: `s` came from LocalAlloc.
        unsafe { LocalFree(s.cast()) };
        Ok(out)
    }
}

impl PartialEq for Sid {
    fn eq(&self, other: &Sid) -> bool {
        // SAFETY: both are valid SIDs owned by their `Sid`.
        unsafe { EqualSid(self.as_psid(), other.as_psid()) != 0 }
    }
}

impl std::fmt::Debug for Sid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_sddl() {
            Ok(s) => f.write_str(&s),
            Err(_) => f.write_str("<sid>"),
        }
    }
}

/// The user SID of a token.
fn token_user(token: &OwnedHandle) -> io::Result<Sid> {
    let mut len = 0u32;
    // SAFETY: a size query (null buffer, length 0); it fails and sets `len`.
    unsafe {
        GetTokenInformation(
            token.as_raw_handle(),
            TokenUser,
            std::ptr::null_mut(),
            0,
            &mut len,
        )
    };
    if len == 0 {
        return Err(io::Error::last_os_error());
    }
    // `u64` buffer: TOKEN_USER holds a pointer and needs its alignment.
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    // SAFETY: `buf` holds `len` bytes, suitably aligned.
    if unsafe {
        GetTokenInformation(
            token.as_raw_handle(),
            TokenUser,
            buf.as_mut_ptr().cast(),
            len,
            &mut len,
        )
    } == 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success the buffer starts with a TOKEN_USER whose SID
    // points inside the buffer, which outlives the copy.
    unsafe {
        let user = &*(buf.as_ptr() as *const TOKEN_USER);
        Sid::copy_from(user.User.Sid)
    }
}

/// The user this process runs as (looked up once).
pub fn current_user() -> io::Result<&'static Sid> {
    static ME: OnceLock<Sid> = OnceLock::new();
    if let Some(me) = ME.get() {
        return Ok(me);
    }
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the pseudo handle of our own process; `token` receives a new handle.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `token` is a fresh handle we own.
    let token = unsafe { OwnedHandle::from_raw_handle(token) };
    let me = token_user(&token)?;
    Ok(ME.get_or_init(|| me))
}

/// The user another process runs as.
pub fn process_user(pid: u32) -> io::Result<Sid> {
    // SAFETY: plain call; a null result is an error.
    let process = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if process.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `process` is a fresh handle we own.
    let process = unsafe { OwnedHandle::from_raw_handle(process) };
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: `process` is valid; `token` receives a new handle.
    if unsafe { OpenProcessToken(process.as_raw_handle(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `token` is a fresh handle we own.
    let token = unsafe { OwnedHandle::from_raw_handle(token) };
    token_user(&token)
}

/// The rule itself: a peer is served only when its token's user is ours.
/// (Wine runs everything as one user, so a refusal can be tested only here.)
pub fn same_user(ours: &Sid, theirs: &Sid) -> bool {
    ours == theirs
}

// ------------------------------------------------------ names, security

/// The per-user, per-runtime-folder part of the pipe and event names.
pub fn endpoint_id(runtime_dir: &Path) -> String {
    let user = current_user()
        .and_then(Sid::to_sddl)
        // Never seen; the DACL and the peer checks still hold without it.
        .unwrap_or_else(|_| std::env::var("USERNAME").unwrap_or_default());
    let mut h = Sha256::new();
    h.update(user.as_bytes());
    h.update([0]);
    h.update(runtime_dir.as_os_str().as_encoded_bytes());
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `\\.\pipe\logto-companion-<id>`: what [`Paths::socket`] is on Windows.
pub fn pipe_path(runtime_dir: &Path) -> PathBuf {
    PathBuf::from(format!(
        r"\\.\pipe\logto-companion-{}",
        endpoint_id(runtime_dir)
    ))
}

// ----------------------------------------------------------------- client

/// The client side of a connection (blocking).
///
/// Opened for overlapped I/O on purpose: the host reads daemon frames on
/// one thread while another writes requests on a clone of the stream, and
/// on a synchronous handle Windows serializes those two calls — the write
/// would wait for a read that waits for the daemon's answer to that write.
pub struct Stream {
    handle: Arc<OwnedHandle>,
}

impl Stream {
    /// Another handle on the same connection, for a reader thread.
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(Stream {
            handle: Arc::clone(&self.handle),
        })
    }

    /// Runs one overlapped read or write to completion.
    fn complete(
        &self,
        start: impl FnOnce(HANDLE, *mut OVERLAPPED) -> windows_sys::core::BOOL,
    ) -> io::Result<usize> {
        // SAFETY: a manual-reset, unnamed event with default security.
        let event = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
        if event.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh handle we own.
        let event = unsafe { OwnedHandle::from_raw_handle(event) };
        // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
        let mut ov: OVERLAPPED = unsafe { std::mem::zeroed() };
        ov.hEvent = event.as_raw_handle();
        let h = self.handle.as_raw_handle();
        if start(h, &mut ov) == 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(ERROR_IO_PENDING as i32) {
                return Err(e);
            }
        }
        let mut n = 0u32;
        // SAFETY: waits (bWait = TRUE) until the operation that uses `ov`
        // and the caller's buffer is finished, so both outlive it.
        if unsafe { GetOverlappedResult(h, &ov, &mut n, 1) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(u32::MAX as usize) as u32;
        let ptr = buf.as_mut_ptr();
        // SAFETY: `ptr` is valid for `len` bytes until `complete` returns.
        match self.complete(|h, ov| unsafe { ReadFile(h, ptr, len, std::ptr::null_mut(), ov) }) {
            Err(e) if e.raw_os_error() == Some(ERROR_BROKEN_PIPE as i32) => Ok(0),
            r => r,
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let len = buf.len().min(u32::MAX as usize) as u32;
        let ptr = buf.as_ptr();
        // SAFETY: `ptr` is valid for `len` bytes until `complete` returns.
        self.complete(|h, ov| unsafe { WriteFile(h, ptr, len, std::ptr::null_mut(), ov) })
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Connects without starting anything (for `status`, `doctor`), and only
/// to a daemon of our own user.
pub fn connect_existing(paths: &Paths) -> io::Result<Stream> {
    let name = paths.socket();
    let deadline = Instant::now() + BUSY_WAIT;
    let file = loop {
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(FILE_FLAG_OVERLAPPED)
            // The server may learn who we are, never act as us.
            .security_qos_flags(SECURITY_IDENTIFICATION)
            .open(&name)
        {
            Ok(f) => break f,
            Err(e)
                if e.raw_os_error() == Some(ERROR_PIPE_BUSY as i32)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    };
    let handle = OwnedHandle::from(file);
    let mut pid = 0u32;
    // SAFETY: `handle` is an open pipe client handle.
    if unsafe { GetNamedPipeServerProcessId(handle.as_raw_handle(), &mut pid) } == 0 {
        return Err(io::Error::last_os_error());
    }
    if !same_user(current_user()?, &process_user(pid)?) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is served by another user's process (pid {pid}); refusing it: end that process or sign in as its user",
                name.display()
            ),
        ));
    }
    Ok(Stream {
        handle: Arc::new(handle),
    })
}

/// Starts `logto-companion-daemon daemon --detach` as its own process
/// (not through `cmd`), with no console and no window, and waits for its
/// readiness line.
pub(super) fn spawn_daemon(exe: &Path) -> Result<(), IpcError> {
    keep_std_handles_private();
    let spawn = |flags: u32| {
        Command::new(exe)
            .args(["daemon", "--detach"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .creation_flags(flags)
            .spawn()
    };
    // No console window may flash when the browser starts the host.
    let base = DETACHED_PROCESS | CREATE_NO_WINDOW | CREATE_NEW_PROCESS_GROUP;
    // Firefox runs the host in a job it kills when the port closes; the
    // daemon must outlive the host, so it leaves the job when allowed.
    let child = match spawn(base | CREATE_BREAKAWAY_FROM_JOB) {
        Err(e) if e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32) => spawn(base),
        r => r,
    };
    let mut child = child.map_err(|e| IpcError::Start(format!("spawn failed: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| IpcError::Start("no stdout pipe".into()))?;
    // Dropping `child` closes our handle on the process; it keeps running.
    drop(child);
    await_ready(stdout)
}

/// The host's stdin/stdout are the browser's pipes: the daemon must not
/// inherit them, or the browser never sees EOF when the host exits.
fn keep_std_handles_private() {
    for which in [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE] {
        // SAFETY: reads our own standard handle; clearing its inherit flag
        // changes nothing for this process.
        unsafe {
            let h = GetStdHandle(which);
            if !h.is_null() && h != INVALID_HANDLE_VALUE {
                SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0);
            }
        }
    }
}

// ---------------------------------------------------------------- helpers

pub fn wide(s: impl AsRef<std::ffi::OsStr>) -> Vec<u16> {
    s.as_ref().encode_wide().chain(std::iter::once(0)).collect()
}

/// # Safety
/// `p` must point to a NUL-terminated UTF-16 string.
pub unsafe fn from_wide_ptr(p: *const u16) -> String {
    let mut len = 0;
    // SAFETY: the caller guarantees a terminator.
    while unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` elements were just read.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(p, len) })
}
