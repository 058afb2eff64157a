//! `install`, `uninstall` and `doctor`.
//!
//! - `browsers.rs`: the browser table (data) and the pure location mapping;
//! - `plan.rs`: which manifests an install writes;
//! - `manifest.rs`: host manifests from `host-manifests/`, merged and checked;
//! - `apply.rs`: writing and exactly undoing files, config and registry;
//! - `record.rs`: the install record `uninstall` works from;
//! - `doctor.rs`: the checks.

mod apply;
pub mod browsers;
mod doctor;
mod manifest;
mod plan;
mod record;

use crate::config::{normalize_endpoint, Config};
use crate::paths::Paths;
use anyhow::Context;
use browsers::{Env, Family, Scope};
use manifest::DEFAULT_HOST_NAME;
use plan::Selection;
use record::Record;
use std::path::PathBuf;
use std::process::ExitCode;

/// The environment variable `--root` falls back to (tests).
pub const ROOT_ENV: &str = "LOGTO_COMPANION_ROOT";

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  logto-companion install --endpoint https://tenant.logto.app --app-id <id> --extension-id <32-letter id>
  logto-companion install … --firefox-id ext@example.org --browser firefox,chrome
  logto-companion install … --user-data-dir /tmp/profile     (a Chromium started with --user-data-dir)
  sudo logto-companion install … --system                    (system-wide manifests)

Browsers: all (default: every browser found), none (only register the app), or any of
  chrome chrome-beta chrome-dev chrome-canary chrome-for-testing chromium edge edge-beta
  edge-dev edge-canary brave vivaldi vivaldi-snapshot opera arc firefox librewolf waterfox
  tor-browser zen")]
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

fn env_for(hidden: &Hidden) -> anyhow::Result<Env> {
    let root = hidden
        .root
        .clone()
        .or_else(|| std::env::var_os(ROOT_ENV).map(PathBuf::from))
        .map(|r| plan::absolute(&r));
    Env::from_process(root)
}

/// Validates and normalizes the arguments; every error says what is wrong.
fn spec_from(args: &InstallArgs, notes: &mut Vec<String>) -> anyhow::Result<apply::Spec> {
    let endpoint = normalize_endpoint(&args.endpoint);
    check_url("--endpoint", &endpoint)?;
    if args.app_id.trim().is_empty() || args.app_id.chars().any(char::is_whitespace) {
        anyhow::bail!("--app-id {:?} is empty or contains spaces", args.app_id);
    }
    let mut chrome = Vec::new();
    let mut firefox = Vec::new();
    for raw in &args.extension_ids {
        let id = raw
            .trim()
            .trim_start_matches("chrome-extension://")
            .trim_end_matches('/');
        if manifest::is_chrome_id(id) {
            let o = manifest::chrome_origin(id);
            if !chrome.contains(&o) {
                chrome.push(o);
            }
        } else if manifest::is_firefox_id(id) {
            notes.push(format!(
                "{id:?} is a Firefox add-on id; taking it as --firefox-id {id}"
            ));
            if !firefox.contains(&id.to_string()) {
                firefox.push(id.to_string());
            }
        } else {
            anyhow::bail!(
                "--extension-id {raw:?} is not a Chromium extension id: it must be 32 letters a-p (as shown on chrome://extensions)"
            );
        }
    }
    for raw in &args.firefox_ids {
        let id = raw.trim();
        if !manifest::is_firefox_id(id) {
            anyhow::bail!(
                "--firefox-id {raw:?} is not a Firefox add-on id: it must look like name@example.org or {{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}} (browser_specific_settings.gecko.id)"
            );
        }
        if !firefox.contains(&id.to_string()) {
            firefox.push(id.to_string());
        }
    }
    if !manifest::valid_host_name(&args.host_name) {
        anyhow::bail!(
            "--host-name {:?} is not valid: use lowercase letters, digits, '_' and '.' (not at either end, no '..')",
            args.host_name
        );
    }
    for r in &args.resources {
        check_url("--resource", r)?;
    }
    if let Some(u) = &args.post_logout_redirect_uri {
        url::Url::parse(u)
            .with_context(|| format!("--post-logout-redirect-uri {u:?} is not a URL"))?;
    }
    if let Some(i) = &args.issuer {
        check_url("--issuer", i)?;
    }
    for s in &args.scopes {
        if s.is_empty() || s.chars().any(char::is_whitespace) {
            anyhow::bail!("--scope {s:?}: one scope per --scope, without spaces");
        }
    }
    let binary = match &args.hidden.binary {
        Some(b) => plan::absolute(b),
        None => std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .map(plain_path)
            .context("cannot find the path of this program")?,
    };
    if !binary.is_file() {
        anyhow::bail!("the host binary {} does not exist", binary.display());
    }
    Ok(apply::Spec {
        endpoint,
        app_id: args.app_id.trim().to_string(),
        chrome_origins: chrome,
        firefox_ids: firefox,
        scope: if args.system {
            Scope::System
        } else {
            Scope::User
        },
        host: args.host_name.clone(),
        binary,
        allow_cli: args.no_cli.then_some(false),
        scopes: args.scopes.clone(),
        resources: args.resources.clone(),
        post_logout_redirect_uri: args.post_logout_redirect_uri.clone(),
        issuer: args
            .issuer
            .as_deref()
            .map(|i| i.trim_end_matches('/').to_string()),
    })
}

/// Windows' `canonicalize` gives `\\?\C:\...`; browsers want `C:\...`.
fn plain_path(p: PathBuf) -> PathBuf {
    let s = p.to_string_lossy();
    match s.strip_prefix(r"\\?\") {
        Some(rest) if !rest.starts_with("UNC\\") => PathBuf::from(rest),
        _ => p,
    }
}

fn check_url(flag: &str, s: &str) -> anyhow::Result<()> {
    let u = url::Url::parse(s).map_err(|e| {
        anyhow::anyhow!(
            "{flag} {s:?} is not a URL ({e}); expected e.g. https://your-tenant.logto.app"
        )
    })?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        anyhow::bail!("{flag} {s:?} must be an http(s) URL with a host");
    }
    if u.query().is_some() || u.fragment().is_some() {
        anyhow::bail!("{flag} {s:?} must not have a query or fragment");
    }
    Ok(())
}

pub fn install(paths: &Paths, args: InstallArgs) -> anyhow::Result<ExitCode> {
    let mut notes = Vec::new();
    let spec = spec_from(&args, &mut notes)?;
    let env = env_for(&args.hidden)?;
    // `--user-data-dir` alone writes only there.
    let selection = if args.browsers.is_empty() && !args.user_data_dirs.is_empty() {
        Selection::None
    } else {
        Selection::parse(&args.browsers)?
    };
    let mut families = Vec::new();
    if !spec.chrome_origins.is_empty() {
        families.push(Family::Chromium);
    }
    if !spec.firefox_ids.is_empty() {
        families.push(Family::Firefox);
    }
    if families.is_empty() && !matches!(selection, Selection::None) {
        anyhow::bail!(
            "give the extensions that may use the app: --extension-id <id> (Chrome, Edge, Brave, …) and/or --firefox-id <add-on id>; or --browser none to only register the app"
        );
    }
    let plan = plan::plan(
        &env,
        &plan::Request {
            selection: &selection,
            scope: spec.scope,
            user_data_dirs: &args.user_data_dirs,
            families: &families,
            host: &spec.host,
        },
    )?;
    notes.extend(plan.notes.iter().cloned());
    let binary = spec.binary.to_string_lossy();
    if binary.contains("/target/debug/") || binary.contains("/target/release/") {
        notes.push(format!(
            "the manifests point at {binary}, inside a cargo build folder: `cargo clean` breaks them. installers/install.sh copies the binary to ~/.local/bin first."
        ));
    }
    if spec.scope == Scope::System {
        notes.push(format!(
            "--system writes the manifests for every user, but the app is registered only in {}; each user who signs in registers it with `logto-companion install … --browser none`",
            paths.config_file().display()
        ));
    }

    let config_path = paths.config_file();
    let mut cfg = Config::load(&config_path)?;
    let change = apply::change_config(&mut cfg, &spec, &config_path);
    let wrapper_for = |t: &plan::Target| t.flatpak.map(|id| plan::flatpak_wrapper_path(&env, id));

    if args.dry_run {
        println!("dry run: nothing is written.");
        match &change {
            Some(_) => {
                let app = cfg
                    .find_app(&spec.endpoint, &spec.app_id)
                    .cloned()
                    .expect("registered above");
                let snippet = toml::to_string_pretty(&Config {
                    apps: vec![app],
                    ..Default::default()
                })
                .unwrap_or_default();
                let snippet = snippet
                    .split_once("[[apps]]")
                    .map(|(_, s)| format!("[[apps]]{s}"))
                    .unwrap_or(snippet);
                println!(
                    "would register app {} in {}:",
                    spec.app_id,
                    config_path.display()
                );
                for l in snippet.lines() {
                    println!("    {l}");
                }
            }
            None => println!(
                "app {} is already registered in {} as asked",
                spec.app_id,
                config_path.display()
            ),
        }
        for t in &plan.targets {
            let exec = match wrapper_for(t) {
                Some(w) => {
                    println!(
                        "would write {} (runs the host outside the Flatpak sandbox)",
                        w.display()
                    );
                    w.to_string_lossy().into_owned()
                }
                None => binary.to_string(),
            };
            let path = t.manifest(&spec.host);
            let existing = std::fs::read_to_string(&path).ok();
            let (m, _) = manifest::merged(
                existing.as_deref(),
                t.family,
                &spec.host,
                &exec,
                spec.ids(t.family),
            );
            println!(
                "would write {} (for {}):",
                path.display(),
                names(&t.browsers)
            );
            for l in m.to_text().lines() {
                println!("    {l}");
            }
            for k in &t.registry {
                println!("would set {k} = {}", path.display());
            }
        }
        for n in &notes {
            println!("note: {n}");
        }
        return Ok(ExitCode::SUCCESS);
    }

    let record_path = paths.install_record();
    let mut record = Record::load(&record_path)?;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    if let Some(ch) = change.clone() {
        match apply::write_config(&config_path, &cfg, ch.clone(), &spec, &mut record) {
            Ok(()) => done.push(format!(
                "{} app {} ({}) in {}",
                match &ch {
                    record::What::Config {
                        created_app: true, ..
                    } => "registered",
                    _ => "updated",
                },
                spec.app_id,
                spec.endpoint,
                config_path.display()
            )),
            Err(e) => failed.push(format!("{e:#}")),
        }
    } else {
        done.push(format!(
            "app {} was already registered in {}",
            spec.app_id,
            config_path.display()
        ));
    }
    if failed.is_empty() {
        for t in &plan.targets {
            let w = wrapper_for(t);
            match apply::write_target(t, &spec, w.as_deref(), &mut record) {
                Ok(lines) => {
                    for l in lines {
                        done.push(format!("{l}  [{}]", names(&t.browsers)));
                    }
                }
                Err(e) => failed.push(format!("{e:#}")),
            }
        }
    }
    // Whatever was written is recorded, even after a failure.
    record.save(&record_path).with_context(|| {
        "the install record could not be saved: `uninstall` will not know what was written"
    })?;
    for l in &done {
        println!("{l}");
    }
    if !plan.found.is_empty() {
        println!(
            "browsers found: {}",
            plan.found
                .iter()
                .map(|(id, how)| format!("{id} ({how})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    if !failed.is_empty() {
        for f in &failed {
            eprintln!("logto-companion: {f}");
        }
        return Ok(ExitCode::from(1));
    }
    println!(
        "recorded in {} (`logto-companion uninstall` removes exactly this); check with `logto-companion doctor`",
        record_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn names(ids: &[String]) -> String {
    ids.iter()
        .map(|id| match browsers::by_id(id) {
            Some(b) => b.name.to_string(),
            None if id == plan::USER_DATA_DIR => "--user-data-dir".to_string(),
            None => id.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn uninstall(paths: &Paths, args: UninstallArgs) -> anyhow::Result<ExitCode> {
    let record_path = paths.install_record();
    let mut record = Record::load(&record_path)?;
    let browsers = if args.browsers.is_empty() {
        None
    } else {
        match Selection::parse(&args.browsers)? {
            Selection::All => None,
            Selection::None => Some(Vec::new()),
            Selection::Named(v) => Some(v.iter().map(|b| b.id.to_string()).collect()),
        }
    };
    let filter = apply::Filter {
        scope: if args.system {
            Scope::System
        } else {
            Scope::User
        },
        app_ids: args.app_ids.clone(),
        browsers,
        user_data_dirs: args
            .user_data_dirs
            .iter()
            .map(|d| plan::absolute(d))
            .collect(),
    };
    let _ = env_for(&args.hidden)?; // validates --root; recorded paths are absolute
    let selected: Vec<&record::Item> = record.items.iter().filter(|i| filter.matches(i)).collect();
    for i in record.items.iter() {
        if let Some(others) = filter.partly(i) {
            println!(
                "kept {}: it also serves {}",
                i.what.describe(),
                names(&others)
            );
        }
    }
    if selected.is_empty() {
        if record.items.is_empty() {
            println!(
                "nothing to uninstall: no install is recorded in {}",
                record_path.display()
            );
        } else {
            println!("nothing recorded matches; recorded:");
            for i in &record.items {
                println!(
                    "  {} (app {}, {})",
                    i.what.describe(),
                    i.app_id,
                    match i.scope {
                        Scope::User => "per user",
                        Scope::System => "--system",
                    }
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        println!("dry run: nothing is changed.");
        for i in selected {
            println!("would undo {} (app {})", i.what.describe(), i.app_id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let result = apply::uninstall(&mut record, &filter);
    record.save(&record_path)?;
    match result {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e.context(
            "uninstall did not finish; what is left stays recorded, run it again after fixing this",
        )),
    }
}

pub fn doctor(paths: &Paths, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let env = env_for(&args.hidden)?;
    let opts = doctor::Options {
        host_names: args.host_names.clone(),
        user_data_dirs: args.user_data_dirs.clone(),
        offline: args.offline,
    };
    let (ok, json, lines) = doctor::run(paths, &env, &opts);
    if args.json {
        println!("{json}");
    } else {
        for l in lines {
            println!("{l}");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn verbatim_windows_paths_are_made_plain() {
        use std::path::PathBuf;
        assert_eq!(
            super::plain_path(PathBuf::from(r"\\?\C:\Users\u\lc.exe")),
            PathBuf::from(r"C:\Users\u\lc.exe")
        );
        let unc = PathBuf::from(r"\\?\UNC\server\share\lc.exe");
        assert_eq!(super::plain_path(unc.clone()), unc);
        assert_eq!(
            super::plain_path(PathBuf::from("/usr/bin/lc")),
            PathBuf::from("/usr/bin/lc")
        );
    }
}
