//! Command-line interface of the daemon binary: the clap definitions of
//! every subcommand (the thin `logto-companion` hands it all it does not
//! serve itself, `--help` included) and one small function per subcommand.
//! `anyhow` lives here, at the edge.
//!
//! The session commands talk to the same daemon as every browser, with the
//! origin `cli`, so the terminal and the browsers share one session.
//! `token`, `status` and `ping` are the client crate's
//! (`logto_companion_client::commands`), the same code the thin binary runs.

mod app;
mod sign_in;
mod sign_out;

use app::*;
use sign_in::*;
use sign_out::*;

use crate::config::{AppConfig, Config};
use crate::daemon::{self, DaemonOptions};
use crate::ipc::client::Client;
use crate::logging;
use crate::paths::Paths;
use crate::protocol::{
    AppParams, CancelSignInParams, CancelSignInResult, ClaimsResult, DeviceSignInParams, ErrorCode,
    Event, HelloParams, HelloResult, OpenIn, Request, SignInParams, SignOutParams, SignOutResult,
};
use clap::{Parser, Subcommand};
use logto_companion_client::commands::{connect, describe_user, ping, status, token};
use logto_companion_client::{host, CliError};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "logto-companion",
    // The usage lines name the command users type, also when the thin
    // binary handed the command over.
    bin_name = "logto-companion",
    version,
    about = "Sign browser extensions and the terminal in with Logto; one session, kept in the OS keychain."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a valid access token (refreshing it if needed), for scripts:
    /// curl -H "Authorization: Bearer $(logto-companion token --resource https://api)"
    ///
    /// Exit codes: 0 ok, 2 not signed in, 3 identity provider unreachable, 1 other.
    Token {
        /// The app (required when several are registered).
        #[arg(long)]
        app_id: Option<String>,
        /// An API resource indicator configured for the app.
        #[arg(long)]
        resource: Option<String>,
        /// An organization id (needs the organizations scope).
        #[arg(long = "org")]
        organization_id: Option<String>,
        /// Print {"accessToken", "expiresAt"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign in through the daemon: opens the system browser (or prints the
    /// URL to open elsewhere) and waits. Every connected browser sees it.
    SignIn {
        #[arg(long)]
        app_id: Option<String>,
        /// Sign in with this phone number (pre-filled on the sign-in page).
        #[arg(long)]
        phone: Option<String>,
        /// Only print the URL; do not open a browser (default when there is
        /// no display, e.g. over SSH).
        #[arg(long)]
        no_browser: bool,
        /// Sign in on another device (phone, laptop) with a short code: the
        /// device authorization grant, for SSH and headless machines. Needs
        /// a provider that offers it.
        #[arg(long, conflicts_with_all = ["phone", "no_browser"])]
        device: bool,
        #[arg(long)]
        json: bool,
    },
    /// Sign out everywhere: revokes the refresh token at the identity
    /// provider (and says so if the provider refuses), tells every connected
    /// browser, and opens the provider's end-session page in the system
    /// browser so its own session ends too.
    SignOut {
        #[arg(long)]
        app_id: Option<String>,
        /// Print the end-session URL (without the ID token hint) instead of
        /// opening it; the provider may then ask to confirm.
        #[arg(long)]
        no_browser: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show the daemon, the registered apps and their sessions.
    Status {
        #[arg(long)]
        app_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Register an app and write the native-messaging host manifest for
    /// every browser.
    Install(Box<crate::install::InstallArgs>),
    /// Remove exactly what `install` wrote.
    Uninstall(crate::install::UninstallArgs),
    /// Check the installation and explain every problem.
    Doctor(crate::install::DoctorArgs),
    /// Check that the daemon answers (starting it if needed).
    Ping {
        #[arg(long)]
        json: bool,
    },
    /// Run the per-user companion daemon (browsers and the CLI start it on
    /// demand; run it by hand to watch its log).
    Daemon {
        /// Print a readiness line and detach from stdio (used by auto-start).
        #[arg(long)]
        detach: bool,
    },
    /// Run as a native-messaging host for the given origin (for tests and
    /// debugging; browsers pass their own arguments).
    Host {
        /// `chrome-extension://<id>/`, a Firefox add-on id, or `cli`.
        #[arg(long)]
        origin: String,
    },
}

fn paths_or_exit() -> Result<Paths, ExitCode> {
    Paths::discover().map_err(|e| {
        eprintln!("logto-companion: {e}");
        ExitCode::from(1)
    })
}

/// Host mode by hand (`host --origin`): the relay of the client crate, the
/// same the thin binary runs for a browser.
fn run_host(origin: String) -> ExitCode {
    let paths = match paths_or_exit() {
        Ok(p) => p,
        Err(c) => return c,
    };
    logto_companion_client::log::init(paths.log_dir(), "host");
    match host::run(paths, origin) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logto-companion: host failed: {e}");
            ExitCode::from(1)
        }
    }
}

pub fn run(args: Vec<String>) -> ExitCode {
    let cli = Cli::parse_from(args);
    let paths = match paths_or_exit() {
        Ok(p) => p,
        Err(c) => return c,
    };
    let result: Result<ExitCode, CliError> = match cli.command {
        Command::Host { origin } => return run_host(origin),
        Command::Daemon { detach } => {
            logging::init(&paths, "daemon", !detach);
            edge(daemon::run(paths, DaemonOptions { detach }).map(|_| ExitCode::SUCCESS))
        }
        Command::Token {
            app_id,
            resource,
            organization_id,
            json,
        } => token(&paths, app_id.as_deref(), resource, organization_id, json),
        Command::SignIn {
            app_id,
            phone,
            no_browser,
            device,
            json,
        } => {
            if device {
                sign_in_device(&paths, app_id.as_deref(), json)
            } else {
                sign_in(&paths, app_id.as_deref(), phone, no_browser, json)
            }
        }
        Command::SignOut {
            app_id,
            no_browser,
            json,
        } => sign_out(&paths, app_id.as_deref(), no_browser, json),
        Command::Status { app_id, json } => status(&paths, app_id.as_deref(), json),
        Command::Ping { json } => ping(&paths, json),
        Command::Install(args) => edge(crate::install::install(&paths, *args)),
        Command::Uninstall(args) => edge(crate::install::uninstall(&paths, args)),
        Command::Doctor(args) => edge(crate::install::doctor(&paths, args)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("logto-companion: {e}");
            ExitCode::from(e.code)
        }
    }
}

fn edge(r: anyhow::Result<ExitCode>) -> Result<ExitCode, CliError> {
    r.map_err(|e| CliError::other(format!("{e:#}")))
}
