//! Command-line interface: clap definitions and one small function per
//! subcommand. `anyhow` lives here, at the edge.
//!
//! The session commands talk to the same daemon as every browser, with the
//! origin `cli`, so the terminal and the browsers share one session.
//! `token` is on scripts' hot path: no async runtime, no logging set-up, and
//! `hello` + `getAccessToken` go out together (one round trip).

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

/// The app the command is about: `--app-id`, else the only one the CLI may
/// use, else a clear error listing them.
fn pick_app(paths: &Paths, app_id: Option<&str>) -> Result<AppConfig, CliError> {
    let config = Config::load(&paths.config_file()).map_err(|e| CliError::other(e.to_string()))?;
    let usable: Vec<&AppConfig> = config.apps.iter().filter(|a| a.allow_cli).collect();
    if let Some(id) = app_id {
        return usable
            .iter()
            .find(|a| a.app_id == id)
            .map(|a| (*a).clone())
            .ok_or_else(|| {
                let exists = config.apps.iter().any(|a| a.app_id == id);
                CliError::other(if exists {
                    format!(
                        "app {id:?} does not allow the command line (allow_cli = false in {})",
                        paths.config_file().display()
                    )
                } else {
                    format!(
                        "app {id:?} is not registered; registered: {}",
                        list_apps(&config.apps)
                    )
                })
            });
    }
    match usable.as_slice() {
        [only] => Ok((*only).clone()),
        [] if config.apps.is_empty() => Err(CliError::other(format!(
            "no app is registered in {}; run `logto-companion install --endpoint <url> --app-id <id> …`",
            paths.config_file().display()
        ))),
        [] => Err(CliError::other(format!(
            "no registered app allows the command line (allow_cli); registered: {}",
            list_apps(&config.apps)
        ))),
        many => Err(CliError::other(format!(
            "several apps are registered; choose one with --app-id: {}",
            list_apps(&many.iter().map(|a| (*a).clone()).collect::<Vec<_>>())
        ))),
    }
}

fn list_apps(apps: &[AppConfig]) -> String {
    apps.iter()
        .map(|a| format!("{} ({})", a.app_id, a.endpoint))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Connects as the CLI (starting the daemon if needed).
fn connect(paths: &Paths) -> Result<Client, CliError> {
    Client::connect(paths, &Origin::Cli, "cli").map_err(|e| CliError::other(e.to_string()))
}

/// Connects as the CLI and binds to `app`; returns the client and whether
/// the app is signed in.
fn bind(paths: &Paths, app: &AppConfig) -> Result<(Client, bool), CliError> {
    let mut client = connect(paths)?;
    let hello: HelloResult = client.call(&hello_request(app))?;
    Ok((client, hello.authenticated))
}

fn hello_request(app: &AppConfig) -> Request {
    Request::Hello(HelloParams {
        app: AppParams {
            endpoint: app.endpoint.clone(),
            app_id: app.app_id.clone(),
            ..Default::default()
        },
    })
}

fn token(
    paths: &Paths,
    app_id: Option<&str>,
    resource: Option<String>,
    organization_id: Option<String>,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let app = pick_app(paths, app_id)?;
    let mut client = connect(paths)?;
    let hello = client.send(&hello_request(&app))?;
    let get = client.send(&Request::GetAccessToken(AccessTokenParams {
        resource,
        organization_id,
    }))?;
    client.wait_reply::<HelloResult>(hello, |_| {})?;
    let result: AccessTokenResult = client.wait_reply(get, |_| {})?;
    if as_json {
        println!("{}", serde_json::to_string(&result).unwrap_or_default());
    } else {
        println!("{}", result.access_token);
    }
    Ok(ExitCode::SUCCESS)
}

fn has_display() -> bool {
    if cfg!(target_os = "linux") {
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    } else {
        true
    }
}

fn sign_in(
    paths: &Paths,
    app_id: Option<&str>,
    phone: Option<String>,
    no_browser: bool,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let app = pick_app(paths, app_id)?;
    let (mut client, _) = bind(paths, &app)?;
    // "system": the daemon opens the default browser; "extension": the
    // caller opens the URL, and here the caller is a person reading it.
    let open_in = if no_browser || !has_display() {
        OpenIn::Extension
    } else {
        OpenIn::System
    };
    let mut params = SignInParams {
        open_in: Some(open_in),
        ..Default::default()
    };
    if let Some(p) = &phone {
        params.login_hint = Some(p.clone());
        params.first_screen = Some("identifier:sign_in".into());
        params.identifiers = Some(vec!["phone".into()]);
    }
    let result: ClaimsResult = client.call_with_events(&Request::SignIn(params), |event| {
        if let Event::SignInStarted { url, .. } = event {
            if as_json {
                println!("{}", json!({"event": "signInStarted", "url": url}));
            } else if open_in == OpenIn::System {
                eprintln!("Opening your browser to sign in. If it does not open, visit:\n  {url}");
            } else {
                eprintln!("Open this URL in a browser to sign in:\n  {url}");
            }
            eprintln!("Waiting for the sign-in to finish…");
        }
    })?;
    let claims = &result.claims;
    if as_json {
        println!("{}", json!({"signedIn": true, "claims": claims}));
    } else {
        println!("Signed in as {}", describe_user(claims));
    }
    Ok(ExitCode::SUCCESS)
}

/// `sign-in --device`: shows where to go and the code to enter, and waits.
/// Ctrl-C sends `cancelSignIn` on a second connection so the daemon stops
/// polling the provider at once, then exits 130. Only what the person must
/// see is printed (the URI and the user code); the device code stays in the
/// daemon.
fn sign_in_device(
    paths: &Paths,
    app_id: Option<&str>,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let app = pick_app(paths, app_id)?;
    let (mut client, _) = bind(paths, &app)?;
    let interrupted = cancel_on_ctrl_c(paths.clone(), app.clone());
    let request = Request::SignInWithDevice(DeviceSignInParams::default());
    let result = client.call_with_events(&request, |event| {
        if let Event::DeviceCode {
            verification_uri,
            user_code,
            verification_uri_complete,
            expires_in,
            ..
        } = event
        {
            if as_json {
                println!(
                    "{}",
                    json!({"event": "deviceCode", "verificationUri": verification_uri, "userCode": user_code, "verificationUriComplete": verification_uri_complete, "expiresIn": expires_in})
                );
            } else {
                eprintln!("On another device, open\n  {verification_uri}\nand enter the code\n  {user_code}");
                if let Some(complete) = verification_uri_complete {
                    eprintln!("(or open {complete} to skip typing it)");
                }
                eprintln!(
                    "The code expires in {} min. Waiting for the sign-in… (Ctrl-C cancels)",
                    expires_in.div_ceil(60)
                );
            }
        }
    });
    // The cancel our Ctrl-C handler sent may answer before it exits.
    let result: ClaimsResult = match result {
        Err(e) if interrupted.load(Ordering::SeqCst) && e.code == ErrorCode::UserCancelled => {
            return Err(CliError {
                code: 130,
                message: "the sign-in was cancelled".into(),
            })
        }
        r => r?,
    };
    let claims = &result.claims;
    if as_json {
        println!("{}", json!({"signedIn": true, "claims": claims}));
    } else {
        println!("Signed in as {}", describe_user(claims));
    }
    Ok(ExitCode::SUCCESS)
}

/// On Ctrl-C, ends the app's running sign-in in the daemon (the device
/// flow would otherwise poll until its code expires) and exits 130.
fn cancel_on_ctrl_c(paths: Paths, app: AppConfig) -> Arc<AtomicBool> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
        else {
            return;
        };
        if rt.block_on(tokio::signal::ctrl_c()).is_err() {
            return;
        }
        flag.store(true, Ordering::SeqCst);
        eprintln!("\nCancelling the sign-in…");
        if let Ok((mut client, _)) = bind(&paths, &app) {
            let _ = client
                .call::<CancelSignInResult>(&Request::CancelSignIn(CancelSignInParams::default()));
        }
        std::process::exit(130);
    });
    interrupted
}

fn describe_user(claims: &Value) -> String {
    let sub = claims["sub"].as_str().unwrap_or("?");
    let who = claims["name"]
        .as_str()
        .or(claims["phone_number"].as_str())
        .or(claims["email"].as_str())
        .or(claims["username"].as_str());
    match who {
        Some(w) => format!("{w} ({sub})"),
        None => sub.to_string(),
    }
}

fn sign_out(
    paths: &Paths,
    app_id: Option<&str>,
    no_browser: bool,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let app = pick_app(paths, app_id)?;
    let (mut client, was_signed_in) = bind(paths, &app)?;
    let result: SignOutResult = client.call(&Request::SignOut(SignOutParams::default()))?;
    // The full URL (with id_token_hint, RP-Initiated Logout §2) goes only to
    // the browser; the terminal gets it without the ID token.
    let opened = match (&result.end_session_url, no_browser || !has_display()) {
        (Some(url), false) => match webbrowser::open(url) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("Could not open the browser ({e}).");
                false
            }
        },
        _ => false,
    };
    let printable = result
        .end_session_url
        .as_deref()
        .map(printable_end_session_url);
    if as_json {
        println!(
            "{}",
            json!({"signedOut": true, "wasSignedIn": was_signed_in, "endSessionUrl": printable,
                   "openedInBrowser": opened, "revoked": result.revoked,
                   "revocationError": result.revocation_error})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}",
        if was_signed_in {
            "Signed out."
        } else {
            "Was not signed in."
        }
    );
    if let Some(err) = &result.revocation_error {
        eprintln!(
            "Signed out here, but the identity provider did not revoke the refresh token ({}): it stays valid until it expires.",
            err.message
        );
    }
    match (&printable, opened) {
        (Some(_), true) => {
            eprintln!("Opened the identity provider's sign-out page in your browser.")
        }
        (Some(url), false) => eprintln!(
            "To end the identity provider's own browser session too, open (it may ask you to confirm):\n  {url}"
        ),
        (None, _) => eprintln!(
            "The identity provider offers no end-session endpoint: its own browser session, if any, stays until you sign out there."
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The end-session URL without `id_token_hint`: a terminal (and its
/// scrollback) is no place for an ID token, and the IdP ends its session
/// from `client_id` alone after a confirmation.
fn printable_end_session_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return String::new();
    };
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != "id_token_hint")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(kept);
    parsed.into()
}

fn ping(paths: &Paths, as_json: bool) -> Result<ExitCode, CliError> {
    let start = std::time::Instant::now();
    let mut client = connect(paths)?;
    let result: PingResult = client.call(&Request::Ping(NoParams))?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if as_json {
        println!("{}", json!({"result": result, "ms": ms}));
    } else {
        println!("daemon answers (version {}), {ms:.2} ms", result.version);
    }
    Ok(ExitCode::SUCCESS)
}

fn status(paths: &Paths, app_id: Option<&str>, as_json: bool) -> Result<ExitCode, CliError> {
    // Sessions live in the keychain and only the daemon reads them, so a
    // status starts the daemon if needed (and says it was not running).
    let was_running = crate::ipc::connect_existing(paths).is_ok();
    let mut client = connect(paths)?;
    let mut st: StatusResult = client.call(&Request::Status(NoParams))?;
    if let Some(id) = app_id {
        st.apps.retain(|a| a.app_id == id);
    }
    if as_json {
        println!(
            "{}",
            json!({
                "daemon": {"running": true, "wasRunning": was_running, "pid": st.pid, "version": st.version},
                "store": st.store,
                "apps": st.apps,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "daemon: running (pid {}, version {}){}",
        st.pid,
        st.version,
        if was_running { "" } else { " — started now" }
    );
    println!("keychain: {}", st.store.description);
    if st.apps.is_empty() {
        println!("apps: none usable from the command line (run `logto-companion install …`)");
    }
    let now = crate::oidc::tokens::now_secs();
    for app in st.apps {
        println!("app {} at {}", app.app_id, app.endpoint);
        if let Some(err) = &app.error {
            println!("  error: {err}");
        }
        if app.authenticated {
            let claims = serde_json::to_value(app.claims.unwrap_or_default()).unwrap_or_default();
            println!("  signed in as {}", describe_user(&claims));
            for t in &app.access_tokens {
                let what = match (t.resource.as_str(), t.organization_id.as_str()) {
                    (r, _) if !r.is_empty() => r.to_string(),
                    (_, o) if !o.is_empty() => format!("organization {o}"),
                    _ => "userinfo (no resource)".to_string(),
                };
                if t.expires_at > now {
                    println!(
                        "  access token for {what}: expires in {}s",
                        t.expires_at - now
                    );
                } else {
                    println!("  access token for {what}: expired (refreshed on next use)");
                }
            }
        } else {
            println!("  signed out");
        }
        println!("  connections: {}", app.connections);
    }
    Ok(ExitCode::SUCCESS)
}
