//! `install`, `uninstall` and `doctor`: the command-line arguments here,
//! each concept in a file of its own.
//!
//! - `browsers/`: the browser table (`table.rs`, rows only), location
//!   templates, detection;
//! - `spec.rs`: the validated install request;
//! - `plan.rs`: which manifests an install writes;
//! - `manifest.rs`: host manifests from `host-manifests/`, merged and checked;
//! - `config_change.rs`: what an install changed in `config.toml`;
//! - `apply.rs`: doing an install; `uninstall.rs`: undoing it exactly;
//! - `record.rs`: the install record `uninstall` works from;
//! - `registry.rs`: Windows registry values;
//! - `doctor/`: the checks, over facts gathered once.

mod apply;
pub mod browsers;
mod config_change;
mod doctor;
mod manifest;
mod plan;
mod record;
mod registry;
mod spec;
mod uninstall;

use crate::paths::Paths;
use crate::util::push_unique;
use browsers::Env;
use manifest::DEFAULT_HOST_NAME;
use std::path::PathBuf;
use std::process::ExitCode;

/// The environment variable `--root` falls back to (tests).
pub const ROOT_ENV: &str = "LOGTO_COMPANION_ROOT";

/// `install --help`'s epilogue; the browser ids come from the table, so a
/// new row shows up here by itself.
fn install_after_help() -> String {
    format!(
        "Examples:
  logto-companion install --endpoint https://tenant.logto.app --app-id <id> --extension-id <32-letter id>
  logto-companion install … --firefox-id ext@example.org --browser firefox,chrome
  logto-companion install … --user-data-dir /tmp/profile     (a Chromium started with --user-data-dir)
  sudo logto-companion install … --system                    (system-wide manifests)

Browsers: all (default: every browser found), none (only register the app), or any of
{}",
        browsers::ids_wrapped(90)
    )
}

#[derive(clap::Args, Debug)]
#[command(after_help = install_after_help())]
pub struct InstallArgs {
    /// The Logto endpoint, e.g. https://your-tenant.logto.app
    #[arg(long, value_name = "URL")]
    pub endpoint: String,
    /// The app id of the Logto "Native app".
    #[arg(long, value_name = "ID")]
    pub app_id: String,
    /// A Chromium-family extension id (32 letters a-p); repeat for several.
    #[arg(long = "extension-id", value_name = "ID")]
    pub extension_ids: Vec<String>,
    /// A Firefox-family add-on id (name@domain or {GUID}); repeat for several.
    #[arg(long = "firefox-id", value_name = "ADDON_ID")]
    pub firefox_ids: Vec<String>,
    /// Which browsers: all (every one found), none, or names (repeat or comma-separate).
    #[arg(long = "browser", value_name = "NAME", value_delimiter = ',')]
    pub browsers: Vec<String>,
    /// Write system-wide manifests (needs root) instead of per-user ones.
    #[arg(long)]
    pub system: bool,
    /// Also write <DIR>/NativeMessagingHosts/ for a Chromium profile started
    /// with --user-data-dir=<DIR> (only that, unless --browser is given too).
    #[arg(long = "user-data-dir", value_name = "DIR")]
    pub user_data_dirs: Vec<PathBuf>,
    /// The native-messaging host name (the extension's connectNative name).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_HOST_NAME)]
    pub host_name: String,
    /// Print what would be written and where; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not let the command line (`logto-companion token` …) use this app.
    #[arg(long)]
    pub no_cli: bool,
    /// An extra scope to request (repeat).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// An API resource indicator the app may get tokens for (repeat).
    #[arg(long = "resource", value_name = "URL")]
    pub resources: Vec<String>,
    /// Sent with sign-out; must match a URI registered for the app.
    #[arg(long, value_name = "URL")]
    pub post_logout_redirect_uri: Option<String>,
    /// The OpenID issuer, when it is not {endpoint}/oidc (other providers).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// Pin the loopback redirect port (repeat for fallbacks, tried in
    /// order), for providers that match the redirect URI exactly: register
    /// http://127.0.0.1:<port>/callback there. Logto needs none.
    #[arg(long = "redirect-port", value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub redirect_ports: Vec<u16>,
    /// Set by the installer scripts, which copied both program files:
    /// record them, so `uninstall` deletes them with the rest.
    #[arg(long, hide = true)]
    pub copied_programs: bool,
    #[command(flatten)]
    pub hidden: Hidden,
}

/// Options for tests, not shown in `--help`.
#[derive(clap::Args, Debug, Default)]
pub struct Hidden {
    /// Prefix of every system path (default /, or $LOGTO_COMPANION_ROOT).
    #[arg(long, hide = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// The binary the manifests point at (default: this one).
    #[arg(long, hide = true, value_name = "PATH")]
    pub binary: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct UninstallArgs {
    /// Only this app's changes (repeat); default: every recorded app.
    #[arg(long = "app-id", value_name = "ID")]
    pub app_ids: Vec<String>,
    /// Only these browsers' manifests (the config entry stays).
    #[arg(long = "browser", value_name = "NAME", value_delimiter = ',')]
    pub browsers: Vec<String>,
    /// Only what was written under this --user-data-dir.
    #[arg(long = "user-data-dir", value_name = "DIR")]
    pub user_data_dirs: Vec<PathBuf>,
    /// Undo a `--system` install.
    #[arg(long)]
    pub system: bool,
    /// Print what would be removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub hidden: Hidden,
}

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Skip the network checks (endpoint discovery).
    #[arg(long)]
    pub offline: bool,
    /// Also check this host name (default logto_companion plus recorded ones).
    #[arg(long = "host-name", value_name = "NAME")]
    pub host_names: Vec<String>,
    /// Also check <DIR>/NativeMessagingHosts.
    #[arg(long = "user-data-dir", value_name = "DIR")]
    pub user_data_dirs: Vec<PathBuf>,
    #[command(flatten)]
    pub hidden: Hidden,
}

/// The machine the browser table is read against: this process's HOME,
/// XDG folders and PATH, under `--root` (or `$LOGTO_COMPANION_ROOT`).
fn env_for(hidden: &Hidden) -> anyhow::Result<Env> {
    let root = hidden
        .root
        .clone()
        .or_else(|| std::env::var_os(ROOT_ENV).map(PathBuf::from))
        .map(|r| crate::fsx::absolute(&r));
    Env::from_process(root)
}

/// `logto-companion install`: see `apply.rs`.
pub fn install(paths: &Paths, args: InstallArgs) -> anyhow::Result<ExitCode> {
    apply::run(paths, args)
}

/// `logto-companion uninstall`: see `uninstall.rs`.
pub fn uninstall(paths: &Paths, args: UninstallArgs) -> anyhow::Result<ExitCode> {
    uninstall::run(paths, args)
}

/// `logto-companion doctor`: see `doctor/`.
pub fn doctor(paths: &Paths, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    doctor::run(paths, args)
}

/// Adds each of `from` that `into` lacks, in order.
fn union<T: PartialEq + Clone>(into: &mut Vec<T>, from: &[T]) {
    for x in from {
        push_unique(into, x.clone());
    }
}

/// Adds each of `new` that `into` lacks; returns the ones it added (what an
/// uninstall takes out again).
fn add_missing<T: PartialEq + Clone>(into: &mut Vec<T>, new: &[T]) -> Vec<T> {
    let mut added = Vec::new();
    for x in new.iter().filter(|x| !into.contains(x)) {
        push_unique(&mut added, x.clone());
    }
    union(into, &added);
    added
}

#[cfg(test)]
mod tests {
    #[test]
    fn add_missing_returns_only_what_was_new() {
        let mut v = vec!["a".to_string()];
        let added = super::add_missing(&mut v, &["b".into(), "a".into(), "b".into()]);
        assert_eq!(added, ["b"]);
        assert_eq!(v, ["a", "b"]);
    }

    #[test]
    fn install_help_lists_every_browser() {
        let help = super::install_after_help();
        for b in super::browsers::BROWSERS {
            assert!(help.contains(b.id), "{} missing from --help", b.id);
        }
    }

    /// docs/install.md mirrors the browser table; regenerate with
    /// `UPDATE_DOCS=1 cargo test docs_table`.
    #[test]
    fn docs_table_matches_the_data() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/install.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let (begin, end) = (
            "<!-- browser-table:begin -->\n",
            "<!-- browser-table:end -->",
        );
        let start = doc.find(begin).expect("begin marker") + begin.len();
        let stop = doc.find(end).expect("end marker");
        let table = super::browsers::markdown_table();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let new = format!("{}{}{}", &doc[..start], table, &doc[stop..]);
            std::fs::write(&path, new).unwrap();
            return;
        }
        if doc[start..stop] != table {
            let first = doc[start..stop]
                .lines()
                .zip(table.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("docs: {a}\ndata: {b}"))
                .unwrap_or_else(|| "the tables differ in length".into());
            panic!(
                "docs/install.md is out of date: run UPDATE_DOCS=1 cargo test docs_table\n{first}"
            );
        }
    }
}
