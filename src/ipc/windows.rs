//! Windows named-pipe transport, client side: `\\.\pipe\logto-companion-<user>`.
//!
//! NOT COMPILED on the Linux machine this was written on (no Windows target
//! available); the daemon's accept loop (`daemon/mod.rs`) is Unix-only so
//! far. The pipe must be created with a DACL for the current user only and
//! `PIPE_REJECT_REMOTE_CLIENTS` (tokio's `ServerOptions::reject_remote_clients`).

use super::IpcError;
use crate::paths::Paths;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub type Stream = File;

const DETACHED_PROCESS: u32 = 0x0000_0008;
const CREATE_NO_WINDOW: u32 = 0x0800_0000;

pub fn connect_existing(paths: &Paths) -> io::Result<Stream> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(paths.socket())
}

pub fn connect_or_start(paths: &Paths) -> Result<Stream, IpcError> {
    if let Ok(s) = connect_existing(paths) {
        return Ok(s);
    }
    let exe = std::env::current_exe().map_err(|e| IpcError::Start(e.to_string()))?;
    Command::new(exe)
        .args(["daemon", "--detach"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .creation_flags(DETACHED_PROCESS | CREATE_NO_WINDOW)
        .spawn()
        .map_err(|e| IpcError::Start(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match connect_existing(paths) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() > deadline => return Err(IpcError::Connect(e)),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}
