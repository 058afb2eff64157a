//! `logto-companion`: the thin front binary. Host mode, `token`, `status`,
//! `ping` and `--version` are answered here; every other command runs in
//! `logto-companion-daemon` with the same argv (`handoff`).

// The test build keeps libtest's own `main` (this file has no tests).
#![cfg_attr(all(unix, not(test)), no_main)]

use logto_companion_client::argv::{role, Role};
use logto_companion_client::paths::Paths;
use logto_companion_client::{commands, handoff, host, log, CliError};
use std::process::ExitCode;

/// The C entry point on Unix, in place of Rust's `lang_start`: that one
/// readies things this program never needs before `main` runs (the main
/// thread's stack guard, read from `/proc/self/maps`; a signal stack; a
/// poll of fds 0-2), and the browser pays for them on every `connectNative`.
/// What it did that matters is done here: SIGPIPE ignored (writes to a
/// closed pipe fail with EPIPE instead of killing the host), and a panic
/// ends the process with Rust's usual code 101, never an abort. (Measured:
/// ~70–90 µs less from start to first reply, A/B in one run; what is lost
/// is only the "has overflowed its stack" message, a plain SIGSEGV then.)
#[cfg(all(unix, not(test)))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: one signal's disposition, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    match std::panic::catch_unwind(run) {
        // ExitCode has no stable getter; it compares, so find its value.
        Ok(code) => (0..=255u8)
            .find(|c| ExitCode::from(*c) == code)
            .map_or(1, libc::c_int::from),
        Err(_) => 101,
    }
}

#[cfg(any(not(unix), test))]
fn main() -> ExitCode {
    run()
}

fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let role = match role(&args) {
        Role::Handoff => return handoff::run(&args),
        Role::Version => {
            commands::printing_now();
            println!("logto-companion {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        r => r,
    };
    let paths = match Paths::discover() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("logto-companion: {e}");
            return ExitCode::from(1);
        }
    };
    let result: Result<ExitCode, CliError> = match role {
        Role::Host(origin) => {
            log::init(paths.log_dir(), "host");
            match host::run(paths, origin) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(e) => {
                    logto_companion_client::log!(Error, "host failed: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Role::Ping { json } => commands::ping(&paths, json),
        Role::Token {
            app_id,
            resource,
            organization_id,
            json,
        } => commands::token(&paths, app_id.as_deref(), resource, organization_id, json),
        Role::Status { app_id, json } => commands::status(&paths, app_id.as_deref(), json),
        // Answered before the paths were needed.
        Role::Version | Role::Handoff => Ok(ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("logto-companion: {e}");
            ExitCode::from(e.code)
        }
    }
}
