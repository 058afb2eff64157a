//! Command-line interface: clap definitions and one small function per
//! subcommand. `anyhow` lives here, at the edge.

use crate::config::Config;
use crate::daemon::{self, DaemonOptions};
use crate::ipc::client::Client;
use crate::paths::Paths;
use crate::protocol::CLI_ORIGIN;
use crate::{host, logging};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::process::ExitCode;

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
    /// Run the per-user companion daemon.
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
    /// Check that the daemon answers (starting it if needed).
    Ping {
        #[arg(long)]
        json: bool,
    },
    /// Register an app and write the native-messaging host manifest for
    /// every browser.
    Install(crate::install::InstallArgs),
    /// Remove exactly what `install` wrote.
    Uninstall(crate::install::UninstallArgs),
    /// Check the installation and explain every problem.
    Doctor(crate::install::DoctorArgs),
    /// Show the daemon, the registered apps and their sessions.
    Status {
        #[arg(long)]
        app_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
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
    let result = match cli.command {
        Command::Host { origin } => return run_host(origin),
        Command::Daemon { detach } => {
            logging::init(&paths, "daemon", !detach);
            daemon::run(paths, DaemonOptions { detach }).map(|_| ExitCode::SUCCESS)
        }
        Command::Ping { json } => ping(&paths, json),
        Command::Install(args) => crate::install::install(&paths, args),
        Command::Uninstall(args) => crate::install::uninstall(&paths, args),
        Command::Doctor(args) => crate::install::doctor(&paths, args),
        Command::Status { app_id, json } => status(&paths, app_id.as_deref(), json),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("logto-companion: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn ping(paths: &Paths, as_json: bool) -> anyhow::Result<ExitCode> {
    let start = std::time::Instant::now();
    let mut client = Client::connect(paths, CLI_ORIGIN, "cli")?;
    let result = client.call("ping", Value::Null)?;
    if as_json {
        println!(
            "{}",
            json!({"result": result, "ms": start.elapsed().as_secs_f64() * 1e3})
        );
    } else {
        println!(
            "daemon answers (version {}), {:.2} ms",
            result["version"].as_str().unwrap_or("?"),
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn status(paths: &Paths, app_id: Option<&str>, as_json: bool) -> anyhow::Result<ExitCode> {
    let mut client = match Client::connect_existing(paths, CLI_ORIGIN, "cli") {
        Ok(c) => c,
        Err(_) => {
            if as_json {
                println!("{}", json!({"daemon": {"running": false}}));
            } else {
                println!("daemon: not running (it starts on first use)");
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let mut st = client.call("status", Value::Null)?;
    if let (Some(id), Some(apps)) = (app_id, st.get_mut("apps").and_then(Value::as_array_mut)) {
        apps.retain(|a| a["appId"] == id);
    }
    if as_json {
        println!(
            "{}",
            json!({"daemon": {"running": true, "pid": st["pid"], "version": st["version"]}, "store": st["store"], "apps": st["apps"]})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "daemon: running (pid {}, version {})",
        st["pid"],
        st["version"].as_str().unwrap_or("?")
    );
    println!(
        "keychain: {}",
        st["store"]["description"].as_str().unwrap_or("?")
    );
    let apps = st["apps"].as_array().cloned().unwrap_or_default();
    if apps.is_empty() {
        println!("apps: none registered (run `logto-companion install …`)");
    }
    for app in apps {
        let who = if app["authenticated"] == true {
            let claims = &app["claims"];
            let name = claims["name"]
                .as_str()
                .or(claims["phone_number"].as_str())
                .unwrap_or("");
            format!(
                "signed in as {} {}",
                claims["sub"].as_str().unwrap_or("?"),
                name
            )
        } else {
            "signed out".to_string()
        };
        println!(
            "app {} at {}: {}",
            app["appId"].as_str().unwrap_or("?"),
            app["endpoint"].as_str().unwrap_or("?"),
            who.trim_end()
        );
    }
    Ok(ExitCode::SUCCESS)
}
