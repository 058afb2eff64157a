//! `logto-companion-daemon`: the daemon binary. It runs the per-user daemon
//! (`daemon`, `daemon --detach` when the thin binary auto-starts it) and
//! every CLI subcommand; the thin `logto-companion` hands it each command it
//! does not serve itself, with the same argv.
//!
//! It is not a native-messaging host: browser manifests point at the thin
//! binary, so the process a browser starts never links TLS, OIDC or the
//! keychain. (`host --origin` still works here, for debugging.)

use logto_companion::cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run(std::env::args().collect())
}
