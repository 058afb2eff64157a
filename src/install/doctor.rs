//! `doctor`: checks the installation and explains every problem, one line
//! each with ✓/✗ and the fix. Exit code 1 when anything is ✗.

use super::apply::registry;
use super::browsers::{self, Env, Family, Os, Scope, BROWSERS};
use super::manifest::{self, chrome_id_of, DEFAULT_HOST_NAME};
use super::plan::{absolute, flatpak_wrapper_path};
use super::record::{Record, What};
use crate::config::{normalize_endpoint, AppConfig, Config, StoreKind};
use crate::paths::Paths;
use serde::Serialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Fail,
    Info,
}

#[derive(Serialize, Clone, Debug)]
pub struct Check {
    pub status: Status,
    pub area: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn line(&self) -> String {
        let mark = match self.status {
            Status::Ok => "✓",
            Status::Fail => "✗",
            Status::Info => "·",
        };
        match &self.fix {
            Some(f) => format!("{mark} {} — fix: {f}", self.message),
            None => format!("{mark} {}", self.message),
        }
    }
}

pub struct Options {
    pub host_names: Vec<String>,
    pub user_data_dirs: Vec<PathBuf>,
    pub offline: bool,
}

#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn push(&mut self, status: Status, area: &'static str, message: String, fix: Option<String>) {
        self.checks.push(Check {
            status,
            area,
            message,
            fix,
        });
    }
    fn ok(&mut self, area: &'static str, m: String) {
        self.push(Status::Ok, area, m, None);
    }
    fn info(&mut self, area: &'static str, m: String) {
        self.push(Status::Info, area, m, None);
    }
    fn fail(&mut self, area: &'static str, m: String, fix: impl Into<String>) {
        self.push(Status::Fail, area, m, Some(fix.into()));
    }
}

/// A manifest location worth looking at.
struct Place {
    dir: PathBuf,
    family: Family,
    /// Browser names (or "--user-data-dir") reading it.
    readers: Vec<String>,
}

fn add_place(places: &mut Vec<Place>, dir: PathBuf, family: Family, reader: String) {
    if let Some(p) = places.iter_mut().find(|p| p.dir == dir) {
        if !p.readers.contains(&reader) {
            p.readers.push(reader);
        }
        return;
    }
    places.push(Place {
        dir,
        family,
        readers: vec![reader],
    });
}

/// The ids the configured apps expect in a manifest of `family`.
fn wanted(apps: &[AppConfig], family: Family) -> Vec<(String, &AppConfig)> {
    let mut out = Vec::new();
    for a in apps {
        for o in &a.allowed_origins {
            let is_chrome = o.starts_with("chrome-extension://");
            if o == crate::protocol::CLI_ORIGIN {
                continue;
            }
            if (family == Family::Chromium) == is_chrome {
                out.push((o.clone(), a));
            }
        }
    }
    out
}

/// The `install` command that registers `app` again (ids from the config).
fn install_cmd(app: Option<&AppConfig>, extra: &str) -> String {
    let mut s = "logto-companion install".to_string();
    match app {
        Some(a) => {
            s.push_str(&format!(" --endpoint {} --app-id {}", a.endpoint, a.app_id));
            for o in &a.allowed_origins {
                match chrome_id_of(o) {
                    Some(id) => s.push_str(&format!(" --extension-id {id}")),
                    None if o != crate::protocol::CLI_ORIGIN => {
                        s.push_str(&format!(" --firefox-id {o}"))
                    }
                    None => {}
                }
            }
        }
        None => s.push_str(" --endpoint <url> --app-id <id> --extension-id <id>"),
    }
    if !extra.is_empty() {
        s.push(' ');
        s.push_str(extra);
    }
    s
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

pub fn run(paths: &Paths, env: &Env, opts: &Options) -> (bool, Value, Vec<String>) {
    let mut r = Report::default();
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "?".into());
    r.info(
        "binary",
        format!("logto-companion {} at {exe}", env!("CARGO_PKG_VERSION")),
    );

    // ---------------------------------------------------------- config
    let config_path = paths.config_file();
    let config = match Config::load(&config_path) {
        Ok(c) => {
            if c.apps.is_empty() {
                r.fail(
                    "config",
                    format!("no app is registered in {}", config_path.display()),
                    install_cmd(None, ""),
                );
            } else {
                r.ok(
                    "config",
                    format!(
                        "{}: {}",
                        config_path.display(),
                        c.apps
                            .iter()
                            .map(|a| format!("{} at {}", a.app_id, a.endpoint))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            for a in &c.apps {
                for o in &a.allowed_origins {
                    let fine = match chrome_id_of(o) {
                        Some(id) => manifest::is_chrome_id(id) && o.ends_with('/'),
                        None => o == crate::protocol::CLI_ORIGIN || manifest::is_firefox_id(o),
                    };
                    if !fine {
                        r.fail(
                            "config",
                            format!("app {}: allowed origin {o:?} is neither chrome-extension://<32 letters a-p>/ nor a Firefox add-on id", a.app_id),
                            format!("correct it in {}", config_path.display()),
                        );
                    }
                }
            }
            Some(c)
        }
        Err(e) => {
            r.fail(
                "config",
                e.to_string(),
                format!("correct or remove {}", config_path.display()),
            );
            None
        }
    };
    let apps: Vec<AppConfig> = config.as_ref().map(|c| c.apps.clone()).unwrap_or_default();
    let record = Record::load(&paths.install_record()).unwrap_or_else(|e| {
        r.fail(
            "record",
            format!("{e:#}"),
            format!("delete {}", paths.install_record().display()),
        );
        Record::default()
    });

    // ---------------------------------------------------------- manifests
    let mut hosts: Vec<String> = opts.host_names.clone();
    if !hosts.iter().any(|h| h == DEFAULT_HOST_NAME) {
        hosts.push(DEFAULT_HOST_NAME.into());
    }
    let mut places: Vec<Place> = Vec::new();
    let mut win_keys: Vec<(String, String, Family)> = Vec::new(); // key, browser, family
    for b in BROWSERS.iter().filter(|b| b.supported_on(env.os)) {
        if env.os == Os::Windows {
            for scope in [Scope::User, Scope::System] {
                for h in &hosts {
                    for k in browsers::registry_keys(b, scope, h) {
                        win_keys.push((k, b.name.to_string(), b.family));
                    }
                }
            }
            continue;
        }
        for scope in [Scope::User, Scope::System] {
            for d in browsers::manifest_dirs(b, env, scope) {
                add_place(&mut places, d, b.family, b.name.to_string());
            }
        }
        if env.os == Os::Linux {
            for f in b.flatpak {
                for d in env.resolve(&format!("~/.var/app/{}/{}", f.app_id, f.dir)) {
                    add_place(&mut places, d, b.family, format!("Flatpak {}", f.app_id));
                }
            }
            for s in b.snap {
                if let Some(dir) = s.dir {
                    let d = env.home.join("snap").join(s.name).join(dir);
                    add_place(&mut places, d, b.family, format!("Snap {}", s.name));
                }
            }
        }
    }
    for d in &opts.user_data_dirs {
        add_place(
            &mut places,
            absolute(d).join("NativeMessagingHosts"),
            Family::Chromium,
            "--user-data-dir".into(),
        );
    }
    for i in &record.items {
        if let What::Manifest {
            path,
            host_name,
            family,
            ..
        } = &i.what
        {
            if !hosts.contains(host_name) {
                hosts.push(host_name.clone());
            }
            if let Some(dir) = path.parent() {
                for id in &i.browsers {
                    let reader = match browsers::by_id(id) {
                        Some(b) => b.name.to_string(),
                        None if id == super::plan::USER_DATA_DIR => "--user-data-dir".to_string(),
                        None => id.clone(),
                    };
                    add_place(&mut places, dir.to_path_buf(), *family, reader);
                }
            }
        }
    }
    // Windows: the registry points at the manifests.
    for (key, browser, family) in &win_keys {
        if let Ok(Some(Some(p))) = registry::query_default(key) {
            let p = PathBuf::from(p);
            if let Some(dir) = p.parent() {
                add_place(&mut places, dir.to_path_buf(), *family, browser.clone());
            }
        }
    }

    let mut present: Vec<PathBuf> = Vec::new();
    for place in &places {
        for h in &hosts {
            let file = place.dir.join(format!("{h}.json"));
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            present.push(file.clone());
            check_manifest(&mut r, &file, &text, h, place, &apps);
        }
    }
    let any_extension =
        !wanted(&apps, Family::Chromium).is_empty() || !wanted(&apps, Family::Firefox).is_empty();
    if present.is_empty() && !any_extension && config.is_some() {
        r.info(
            "manifest",
            "no host manifest, and no app lists an extension (command line only)".into(),
        );
    } else if present.is_empty() {
        r.fail(
            "manifest",
            format!(
                "no host manifest ({}) in any known location",
                hosts
                    .iter()
                    .map(|h| format!("{h}.json"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            install_cmd(apps.first(), ""),
        );
    }

    // ---------------------------------------------------------- browsers
    let families_wanted = |f: Family| !wanted(&apps, f).is_empty();
    // Manifests a browser found on this machine reads (so another browser
    // sharing the folder, e.g. Opera and Chrome, is not worth a line).
    let mut used_by_found: Vec<PathBuf> = Vec::new();
    for b in BROWSERS.iter().filter(|b| b.supported_on(env.os)) {
        if browsers::detect(b, env).native.is_some() {
            for scope in [Scope::User, Scope::System] {
                for d in browsers::manifest_dirs(b, env, scope) {
                    used_by_found.extend(hosts.iter().map(|h| d.join(format!("{h}.json"))));
                }
            }
        }
    }
    for b in BROWSERS.iter().filter(|b| b.supported_on(env.os)) {
        let det = browsers::detect(b, env);
        let mut dirs: Vec<PathBuf> = Vec::new();
        if env.os == Os::Windows {
            for (key, browser, _) in &win_keys {
                if browser == b.name {
                    if let Ok(Some(Some(p))) = registry::query_default(key) {
                        dirs.extend(PathBuf::from(p).parent().map(Path::to_path_buf));
                    }
                }
            }
        } else {
            for scope in [Scope::User, Scope::System] {
                dirs.extend(browsers::manifest_dirs(b, env, scope));
            }
        }
        let has = |dirs: &[PathBuf]| {
            dirs.iter()
                .flat_map(|d| hosts.iter().map(move |h| d.join(format!("{h}.json"))))
                .find(|f| present.contains(f))
        };
        let native_manifest = has(&dirs);
        let how = det.native.as_ref().map(|h| {
            if b.note.is_empty() {
                h.clone()
            } else {
                format!("{h}; note: {}", b.note)
            }
        });
        if let Some(how) = &how {
            match (&native_manifest, families_wanted(b.family)) {
                (Some(m), _) => r.ok(
                    "browser",
                    format!("{}: installed ({how}); host manifest {}", b.name, m.display()),
                ),
                (None, true) => r.fail(
                    "browser",
                    format!("{}: installed ({how}) but has no host manifest", b.name),
                    install_cmd(
                        apps.iter().find(|a| !wanted(std::slice::from_ref(*a), b.family).is_empty()),
                        &format!("--browser {}", b.id),
                    ),
                ),
                (None, false) => r.info(
                    "browser",
                    format!(
                        "{}: installed ({how}); no app lists a {} extension, so no manifest is needed",
                        b.name,
                        match b.family {
                            Family::Chromium => "Chromium",
                            Family::Firefox => "Firefox",
                        }
                    ),
                ),
            }
        } else if let Some(m) = &native_manifest {
            if !det.any() && !used_by_found.contains(m) {
                r.info(
                    "browser",
                    format!(
                        "{}: not found on this machine, but {} is there",
                        b.name,
                        m.display()
                    ),
                );
            }
        }
        // ------------------------------------------------------ sandboxes
        for f in b
            .flatpak
            .iter()
            .filter(|f| det.flatpaks.contains(&f.app_id))
        {
            let fdirs = env.resolve(&format!("~/.var/app/{}/{}", f.app_id, f.dir));
            let m = has(&fdirs);
            let wrapper = flatpak_wrapper_path(env, f.app_id);
            match m {
                None if families_wanted(b.family) => r.fail(
                    "sandbox",
                    format!(
                        "Flatpak {} ({}): no host manifest inside its sandbox",
                        f.app_id, b.name
                    ),
                    install_cmd(apps.first(), &format!("--browser {}", b.id)),
                ),
                None => r.info(
                    "sandbox",
                    format!(
                        "Flatpak {} ({}): found; no manifest needed",
                        f.app_id, b.name
                    ),
                ),
                Some(m) => {
                    if !is_executable(&wrapper) {
                        r.fail(
                            "sandbox",
                            format!(
                                "Flatpak {}: {} points outside the sandbox but {} is missing",
                                f.app_id,
                                m.display(),
                                wrapper.display()
                            ),
                            install_cmd(apps.first(), &format!("--browser {}", b.id)),
                        );
                    } else if !flatpak_may_spawn(env, f.app_id) {
                        r.fail(
                            "sandbox",
                            format!("Flatpak {}: manifest in place, but the sandbox may not run programs outside it (flatpak-spawn --host)", f.app_id),
                            format!("flatpak override --user --talk-name=org.freedesktop.Flatpak {}", f.app_id),
                        );
                    } else {
                        r.ok(
                            "sandbox",
                            format!(
                                "Flatpak {}: manifest {} and host-spawn permission in place",
                                f.app_id,
                                m.display()
                            ),
                        );
                    }
                }
            }
        }
        for s in b.snap.iter().filter(|s| det.snaps.contains(&s.name)) {
            match s.dir {
                Some(dir) => {
                    let d = env.home.join("snap").join(s.name).join(dir);
                    match has(std::slice::from_ref(&d)) {
                        Some(m) => r.ok(
                            "sandbox",
                            format!("Snap {}: manifest {} (strict confinement may still refuse to start the host; if the extension reports \"Native host has exited\", use a non-Snap {})", s.name, m.display(), b.name),
                        ),
                        None if families_wanted(b.family) => r.fail(
                            "sandbox",
                            format!("Snap {}: no host manifest in {}", s.name, d.display()),
                            install_cmd(apps.first(), &format!("--browser {}", b.id)),
                        ),
                        None => r.info("sandbox", format!("Snap {}: found; no manifest needed", s.name)),
                    }
                }
                None => {
                    let user = browsers::manifest_dirs(b, env, Scope::User);
                    match has(&user) {
                        Some(m) => r.ok(
                            "sandbox",
                            format!("Snap {}: goes through the WebExtensions portal, which reads {} (the first connection asks you to allow it)", s.name, m.display()),
                        ),
                        None if families_wanted(b.family) => r.fail(
                            "sandbox",
                            format!("Snap {}: goes through the WebExtensions portal, which reads the per-user manifest; there is none", s.name),
                            install_cmd(apps.first(), &format!("--browser {}", b.id)),
                        ),
                        None => r.info("sandbox", format!("Snap {}: found; no manifest needed", s.name)),
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------- record
    for i in &record.items {
        if let What::Manifest { path, .. } | What::File { path } = &i.what {
            if !path.exists() {
                r.fail(
                    "record",
                    format!(
                        "{} was written by install for app {} and is gone",
                        path.display(),
                        i.app_id
                    ),
                    "run the same `logto-companion install …` again".to_string(),
                );
            }
        }
    }

    // ---------------------------------------------------------- daemon
    check_daemon(&mut r, paths);

    // ---------------------------------------------------------- keychain
    if let Some(c) = &config {
        check_keychain(&mut r, c.store, &config_path);
    }

    // ---------------------------------------------------------- endpoints
    if opts.offline {
        r.info("endpoint", "skipped (--offline)".into());
    } else {
        let timeout = Duration::from_secs(
            config
                .as_ref()
                .map(|c| c.http_timeout_secs.clamp(1, 5))
                .unwrap_or(5),
        );
        for a in &apps {
            check_endpoint(&mut r, a, timeout);
        }
    }

    let ok = !r.checks.iter().any(|c| c.status == Status::Fail);
    let failures = r.checks.iter().filter(|c| c.status == Status::Fail).count();
    let mut lines: Vec<String> = r.checks.iter().map(Check::line).collect();
    lines.push(if ok {
        "No problems found.".to_string()
    } else {
        format!("{failures} problem(s) found.")
    });
    let json = json!({"ok": ok, "problems": failures, "checks": r.checks});
    (ok, json, lines)
}

fn check_manifest(
    r: &mut Report,
    file: &Path,
    text: &str,
    host: &str,
    place: &Place,
    apps: &[AppConfig],
) {
    let who = place.readers.join(", ");
    let label = format!("{} ({who})", file.display());
    let m = match manifest::problems(text, host, place.family) {
        Ok(m) => m,
        Err(problems) => {
            for p in problems {
                r.fail(
                    "manifest",
                    format!("{label}: {p}"),
                    install_cmd(apps.first(), "(rewrites it)"),
                );
            }
            return;
        }
    };
    let mut fine = true;
    let target = PathBuf::from(&m.path);
    if !target.is_absolute() {
        fine = false;
        r.fail(
            "manifest",
            format!("{label}: \"path\" {:?} is not absolute", m.path),
            "re-run `logto-companion install …` with the installed binary".to_string(),
        );
    } else if !target.exists() {
        fine = false;
        r.fail(
            "manifest",
            format!("{label}: the host binary {} does not exist", m.path),
            format!(
                "{} (run by the installed binary, e.g. after installers/install.sh)",
                install_cmd(apps.first(), "")
            ),
        );
    } else if !is_executable(&target) {
        fine = false;
        r.fail(
            "manifest",
            format!("{label}: the host binary {} is not executable", m.path),
            format!("chmod +x {}", m.path),
        );
    }
    for (id, app) in wanted(apps, place.family) {
        if !m.ids(place.family).contains(&id) {
            fine = false;
            let field = match place.family {
                Family::Chromium => "allowed_origins",
                Family::Firefox => "allowed_extensions",
            };
            r.fail(
                "manifest",
                format!(
                    "{label}: {id} (app {}) is not in {field}, so the browser refuses it",
                    app.app_id
                ),
                install_cmd(Some(app), ""),
            );
        }
    }
    if fine {
        r.ok(
            "manifest",
            format!(
                "{label}: valid, binary {} executable, {} caller(s) allowed",
                m.path,
                m.ids(place.family).len()
            ),
        );
    }
}

/// Whether a Flatpak app may call `flatpak-spawn --host` (talk to
/// org.freedesktop.Flatpak), per the user and system overrides.
fn flatpak_may_spawn(env: &Env, app_id: &str) -> bool {
    let files = [
        env.xdg_data.join("flatpak/overrides").join(app_id),
        env.xdg_data.join("flatpak/overrides/global"),
        browsers::under_root(&env.root, Path::new("/var/lib/flatpak/overrides")).join(app_id),
        browsers::under_root(&env.root, Path::new("/var/lib/flatpak/overrides/global")),
    ];
    files.iter().any(|f| {
        std::fs::read_to_string(f)
            .map(|t| {
                t.lines()
                    .any(|l| l.replace(' ', "") == "org.freedesktop.Flatpak=talk")
            })
            .unwrap_or(false)
    })
}

fn check_daemon(r: &mut Report, paths: &Paths) {
    use crate::ipc::client::Client;
    use crate::ipc::IpcError;
    use crate::protocol::{NoParams, Origin, PingResult, Request};
    let socket = paths.socket();
    match Client::connect_existing(paths, &Origin::Cli, "cli") {
        Ok(mut c) => match c.call::<PingResult>(&Request::Ping(NoParams)) {
            Ok(v) => r.ok(
                "daemon",
                format!(
                    "daemon answers on {} (version {})",
                    socket.display(),
                    v.version
                ),
            ),
            Err(e) => r.fail(
                "daemon",
                format!(
                    "the daemon on {} answered ping with an error: {}",
                    socket.display(),
                    e.message
                ),
                "restart it: stop the `logto-companion daemon` process; it starts again on demand"
                    .to_string(),
            ),
        },
        Err(IpcError::Connect(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            // Not running is normal: browsers and the CLI start it. What
            // must hold is that it could start: a private runtime folder.
            match runtime_dir_problem(&paths.runtime_dir) {
                None => r.ok(
                    "daemon",
                    format!(
                        "daemon not running (browsers and the CLI start it on demand); {} is usable",
                        paths.runtime_dir.display()
                    ),
                ),
                Some(p) => r.fail("daemon", p, format!("fix the ownership/permissions of {} (0700, yours)", paths.runtime_dir.display())),
            }
        }
        Err(e) => r.fail(
            "daemon",
            format!("cannot reach the daemon socket {}: {e}", socket.display()),
            format!(
                "check {} (it must be yours, mode 0700); `logto-companion ping` starts the daemon",
                paths.runtime_dir.display()
            ),
        ),
    }
}

fn runtime_dir_problem(dir: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(dir).ok()?;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Some(format!(
                "{} belongs to uid {}, not to you ({me}): the daemon refuses it",
                dir.display(),
                meta.uid()
            ));
        }
        if meta.mode() & 0o077 != 0 {
            return Some(format!(
                "{} is readable by others (mode {:o}); the daemon makes it 0700 when it starts",
                dir.display(),
                meta.mode() & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    None
}

fn check_keychain(r: &mut Report, store: StoreKind, config_path: &Path) {
    match crate::store::keychain::probe(store) {
        Ok(info) => {
            r.ok("keychain", format!("{} ({})", info.description, info.kind));
            if !info.persistent {
                r.info(
                    "keychain",
                    format!(
                        "store {:?} does not keep sessions across reboots or daemon exits",
                        info.kind
                    ),
                );
            }
        }
        Err(e) => {
            let fix = match (store, Os::current()) {
                (StoreKind::Keychain, Os::Linux) => format!(
                    "start a Secret Service provider in your session (gnome-keyring, KWallet, KeePassXC), or set store = \"keyutils\" in {} (sessions then last until reboot)",
                    config_path.display()
                ),
                (StoreKind::Keyutils, _) => "install keyutils support in the kernel, or use store = \"keychain\"".to_string(),
                _ => format!("check the OS keychain, or choose another store in {}", config_path.display()),
            };
            r.fail(
                "keychain",
                format!("keychain store {store:?} is not usable: {e}"),
                fix,
            );
        }
    }
}

/// The issuer `doctor` expects for an app.
pub fn expected_issuer(app: &AppConfig) -> String {
    app.issuer
        .clone()
        .unwrap_or_else(|| format!("{}/oidc", normalize_endpoint(&app.endpoint)))
}

fn check_endpoint(r: &mut Report, app: &AppConfig, timeout: Duration) {
    let issuer = expected_issuer(app);
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let result: Result<Value, String> = (|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let client = reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!(
                    "logto-companion-doctor/",
                    env!("CARGO_PKG_VERSION")
                ))
                .build()
                .map_err(|e| e.to_string())?;
            let resp = client
                .get(&url)
                .send()
                .await
                .map_err(|e| crate::oidc::discovery::chain(&e))?;
            let status = resp.status();
            if !status.is_success() {
                return Err(format!("HTTP {status}"));
            }
            resp.json::<Value>()
                .await
                .map_err(|e| format!("not JSON: {}", crate::oidc::discovery::chain(&e)))
        })
    })();
    match result {
        Err(e) => r.fail(
            "endpoint",
            format!("app {}: discovery {url} failed: {e}", app.app_id),
            "check the network and the app's endpoint (and issuer, for non-Logto providers) in config.toml".to_string(),
        ),
        Ok(doc) => match doc["issuer"].as_str() {
            Some(i) if i == issuer => r.ok(
                "endpoint",
                format!("app {}: {url} answers; issuer {i} matches", app.app_id),
            ),
            Some(i) => r.fail(
                "endpoint",
                format!("app {}: discovery says issuer {i:?}, expected {issuer:?}", app.app_id),
                format!("set issuer = {i:?} for this app in config.toml, or correct its endpoint"),
            ),
            None => r.fail(
                "endpoint",
                format!("app {}: {url} is not an OpenID discovery document (no issuer)", app.app_id),
                "check the app's endpoint in config.toml".to_string(),
            ),
        },
    }
}
