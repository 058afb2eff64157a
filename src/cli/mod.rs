//! Command-line interface: clap definitions and one small function per
//! subcommand. `anyhow` lives here, at the edge.
//!
//! The session commands talk to the same daemon as every browser, with the
//! origin `cli`, so the terminal and the browsers share one session.
//! `token` is on scripts' hot path: no async runtime, no logging set-up, and
//! `hello` + `getAccessToken` go out together (one round trip).

mod app;
mod sign_in;
mod sign_out;
mod status;
mod token;

use app::*;
use sign_in::*;
use sign_out::*;
use status::*;
use token::*;

use crate::config::{AppConfig, Config};
use crate::daemon::{self, DaemonOptions};
use crate::ipc::client::Client;
use crate::paths::Paths;
use crate::protocol::{
    AccessTokenParams, AccessTokenResult, AppParams, CancelSignInParams, CancelSignInResult,
    ClaimsResult, DeviceSignInParams, ErrorCode, Event, HelloParams, HelloResult, NoParams, OpenIn,
    Origin, PingResult, Request, RpcError, SignInParams, SignOutParams, SignOutResult,
    StatusResult,
};
use crate::{host, logging};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "logto-companion",
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

/// A failure with the exit code the CLI promises.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct CliError {
    code: u8,
    message: String,
}

impl CliError {
    fn other(message: impl Into<String>) -> CliError {
        CliError {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<RpcError> for CliError {
    fn from(e: RpcError) -> CliError {
        let code = match e.code {
            ErrorCode::NotAuthenticated => 2,
            ErrorCode::NetworkError => 3,
            _ => 1,
        };
        let hint = match e.code {
            ErrorCode::NotAuthenticated => {
                "\n  sign in with `logto-companion sign-in` (or from the browser extension)"
            }
            ErrorCode::NetworkError => {
                "\n  the identity provider did not answer; check the network and the app's endpoint"
            }
            _ => "",
        };
        CliError {
            code,
            message: format!("{} ({}){hint}", e.message, e.code.as_str()),
        }
    }
}

fn paths_or_exit() -> Result<Paths, ExitCode> {
    Paths::discover().map_err(|e| {
        eprintln!("logto-companion: {e}");
        ExitCode::from(1)
    })
}

/// Host mode (from the browser's argv or `host --origin`).
pub fn run_host(origin: String) -> ExitCode {
    let paths = match paths_or_exit() {
        Ok(p) => p,
        Err(c) => return c,
    };
    logging::init(&paths, "host", false);
    // The config is only read for the frame cap; a broken config must not
    // stop the relay (the daemon will report it on `hello`).
    let max_frame = Config::load(&paths.config_file())
        .map(|c| c.max_frame)
        .unwrap_or(crate::codec::DEFAULT_MAX_INBOUND);
    match host::run(paths, origin, max_frame) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("host failed: {e}");
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
