//! Handing a command to the daemon binary: every subcommand the thin binary
//! does not serve (`sign-in`, `install`, `doctor`, `daemon`, `--help`, …)
//! runs there with the same argv, output and exit code.
//!
//! On Unix the thin process *becomes* the daemon binary (`exec`, argv[0]
//! kept), so signals, the terminal and the exit code are simply its own. On
//! Windows there is no `exec`: the daemon binary runs as a child on the same
//! console and standard handles, the thin process ignores Ctrl-C while it
//! waits (the child gets the same console event and handles it, e.g. a
//! device sign-in sending `cancelSignIn`) and exits with the child's code.

use crate::paths::{beside_this_program, DAEMON_BIN};
use std::process::{Command, ExitCode};

pub fn run(args: &[String]) -> ExitCode {
    let daemon = match beside_this_program(DAEMON_BIN) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("logto-companion: {e}");
            return ExitCode::from(1);
        }
    };
    let mut cmd = Command::new(&daemon);
    cmd.args(args.iter().skip(1));
    os_run(cmd, args.first().map(String::as_str), &daemon)
}

#[cfg(unix)]
fn os_run(mut cmd: Command, arg0: Option<&str>, daemon: &std::path::Path) -> ExitCode {
    use std::os::unix::process::CommandExt;
    if let Some(a0) = arg0 {
        cmd.arg0(a0);
    }
    let err = cmd.exec();
    eprintln!("logto-companion: cannot run {}: {err}", daemon.display());
    ExitCode::from(1)
}

#[cfg(windows)]
fn os_run(mut cmd: Command, _arg0: Option<&str>, daemon: &std::path::Path) -> ExitCode {
    use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("logto-companion: cannot run {}: {e}", daemon.display());
            return ExitCode::from(1);
        }
    };
    // After the spawn: the ignore flag would be inherited by the child.
    // SAFETY: a null handler with TRUE only sets this process's flag.
    unsafe { SetConsoleCtrlHandler(None, 1) };
    match child.wait() {
        // Exit codes are 0–255 on every path of ours (Wine and POSIX shells
        // see 8 bits anyway).
        Ok(status) => ExitCode::from(status.code().unwrap_or(1) as u8),
        Err(e) => {
            eprintln!("logto-companion: lost {}: {e}", daemon.display());
            ExitCode::from(1)
        }
    }
}
