//! Doing and undoing: files, the config entry and (Windows) registry values,
//! each recorded so `uninstall` reverses exactly what `install` did.

use super::browsers::{Family, Scope};
use super::manifest::{self, Manifest};
use super::plan::Target;
use super::record::{remove_empty_dirs, union_paths, Item, Owner, Record, What};
use crate::config::{normalize_endpoint, AppConfig, Config};
use anyhow::Context;
use std::io;
use std::path::{Path, PathBuf};

/// A validated `install` request.
#[derive(Clone, Debug)]
pub struct Spec {
    pub endpoint: String,
    pub app_id: String,
    /// `chrome-extension://<id>/` origins.
    pub chrome_origins: Vec<String>,
    pub firefox_ids: Vec<String>,
    pub scope: Scope,
    pub host: String,
    pub binary: PathBuf,
    /// `Some(false)` with `--no-cli`.
    pub allow_cli: Option<bool>,
    pub scopes: Vec<String>,
    pub resources: Vec<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub issuer: Option<String>,
}

impl Spec {
    pub fn ids(&self, family: Family) -> &[String] {
        match family {
            Family::Chromium => &self.chrome_origins,
            Family::Firefox => &self.firefox_ids,
        }
    }

    fn item(&self, browsers: &[String], what: What, owner: Option<Owner>) -> Item {
        Item {
            app_id: self.app_id.clone(),
            endpoint: self.endpoint.clone(),
            scope: self.scope,
            browsers: browsers.to_vec(),
            what,
            owner,
        }
    }
}

// ------------------------------------------------------------ file helpers

/// Creates `dir` and its missing parents; returns the ones it created,
/// outermost first.
pub fn create_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    std::fs::create_dir_all(dir)?;
    missing.reverse();
    Ok(missing)
}

/// Writes through a temporary file and a rename, so a reader never sees
/// half a file.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

pub fn read_opt(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Adds context that says what to do about a permission error.
fn io_context(e: io::Error, what: &str, path: &Path, scope: Scope) -> anyhow::Error {
    let hint = if e.kind() == io::ErrorKind::PermissionDenied && scope == Scope::System {
        " — system-wide locations need root: run it with sudo, or drop --system for a per-user install"
    } else {
        ""
    };
    anyhow::anyhow!("cannot {what} {}: {e}{hint}", path.display())
}

/// Ownership of a resource this run touched: the first item for a resource
/// owns it; a later one only refreshes the owner when the file had vanished.
fn ownership(
    record: &mut Record,
    resource: &str,
    existing: Option<String>,
    created_dirs: Vec<PathBuf>,
) -> Option<Owner> {
    if !record.has_resource(resource) {
        return Some(Owner {
            created: existing.is_none(),
            original: existing,
            created_dirs,
        });
    }
    if let Some(o) = record.owner_of(resource) {
        if existing.is_none() {
            o.created = true;
            o.original = None;
        }
        union_paths(&mut o.created_dirs, &created_dirs);
    }
    None
}

// ------------------------------------------------------------ config

/// Registers (or updates) the app in `cfg`; returns the change for the
/// record, or `None` when nothing changed.
pub fn change_config(cfg: &mut Config, spec: &Spec, path: &Path) -> Option<What> {
    let mut origins: Vec<String> = spec.chrome_origins.clone();
    origins.extend(spec.firefox_ids.iter().cloned());
    let Some(app) = cfg
        .apps
        .iter_mut()
        .find(|a| a.matches(&spec.endpoint, &spec.app_id))
    else {
        cfg.apps.push(AppConfig {
            endpoint: normalize_endpoint(&spec.endpoint),
            app_id: spec.app_id.clone(),
            issuer: spec.issuer.clone(),
            allowed_origins: origins.clone(),
            allow_cli: spec.allow_cli.unwrap_or(true),
            scopes: spec.scopes.clone(),
            resources: spec.resources.clone(),
            post_logout_redirect_uri: spec.post_logout_redirect_uri.clone(),
        });
        return Some(What::Config {
            path: path.to_path_buf(),
            created_app: true,
            added_origins: origins,
            added_scopes: spec.scopes.clone(),
            added_resources: spec.resources.clone(),
            previous_allow_cli: None,
            post_logout_changed: false,
            previous_post_logout: None,
            issuer_changed: false,
            previous_issuer: None,
        });
    };
    let add = |list: &mut Vec<String>, new: &[String]| {
        let mut added = Vec::new();
        for x in new {
            if !list.contains(x) {
                list.push(x.clone());
                added.push(x.clone());
            }
        }
        added
    };
    let added_origins = add(&mut app.allowed_origins, &origins);
    let added_scopes = add(&mut app.scopes, &spec.scopes);
    let added_resources = add(&mut app.resources, &spec.resources);
    let mut previous_allow_cli = None;
    if let Some(v) = spec.allow_cli {
        if app.allow_cli != v {
            previous_allow_cli = Some(app.allow_cli);
            app.allow_cli = v;
        }
    }
    let mut post_logout_changed = false;
    let mut previous_post_logout = None;
    if spec.post_logout_redirect_uri.is_some()
        && app.post_logout_redirect_uri != spec.post_logout_redirect_uri
    {
        post_logout_changed = true;
        previous_post_logout = app.post_logout_redirect_uri.clone();
        app.post_logout_redirect_uri = spec.post_logout_redirect_uri.clone();
    }
    let mut issuer_changed = false;
    let mut previous_issuer = None;
    if spec.issuer.is_some() && app.issuer != spec.issuer {
        issuer_changed = true;
        previous_issuer = app.issuer.clone();
        app.issuer = spec.issuer.clone();
    }
    let changed = !added_origins.is_empty()
        || !added_scopes.is_empty()
        || !added_resources.is_empty()
        || previous_allow_cli.is_some()
        || post_logout_changed
        || issuer_changed;
    changed.then(|| What::Config {
        path: path.to_path_buf(),
        created_app: false,
        added_origins,
        added_scopes,
        added_resources,
        previous_allow_cli,
        post_logout_changed,
        previous_post_logout,
        issuer_changed,
        previous_issuer,
    })
}

pub fn write_config(
    path: &Path,
    cfg: &Config,
    change: What,
    spec: &Spec,
    record: &mut Record,
) -> anyhow::Result<()> {
    let existing = read_opt(path).with_context(|| format!("cannot read {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let dirs = create_dirs(dir).map_err(|e| io_context(e, "create", dir, Scope::User))?;
    cfg.save(path)?;
    let owner = ownership(record, &change.resource(), existing, dirs);
    record.add(spec.item(&[], change, owner));
    Ok(())
}

// ------------------------------------------------------------ targets

/// Writes one target (wrapper, manifest, registry values) and records it.
/// Returns what it did, one line each.
pub fn write_target(
    t: &Target,
    spec: &Spec,
    wrapper: Option<&Path>,
    record: &mut Record,
) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    let binary = spec.binary.to_string_lossy().into_owned();
    let exec_path = match (t.flatpak, wrapper) {
        (Some(app_id), Some(w)) => {
            let existing = read_opt(w).map_err(|e| io_context(e, "read", w, spec.scope))?;
            let dir = w.parent().unwrap_or(Path::new("."));
            let dirs = create_dirs(dir).map_err(|e| io_context(e, "create", dir, spec.scope))?;
            let text = manifest::flatpak_wrapper(app_id, &binary);
            write_atomic(w, text.as_bytes(), 0o755)
                .map_err(|e| io_context(e, "write", w, spec.scope))?;
            let what = What::File {
                path: w.to_path_buf(),
            };
            let owner = ownership(record, &what.resource(), existing, dirs);
            record.add(spec.item(&t.browsers, what, owner));
            lines.push(format!(
                "wrote {} (runs the host outside the sandbox)",
                w.display()
            ));
            w.to_string_lossy().into_owned()
        }
        _ => binary,
    };
    let path = t.manifest(&spec.host);
    let existing = read_opt(&path).map_err(|e| io_context(e, "read", &path, spec.scope))?;
    let dirs = create_dirs(&t.dir).map_err(|e| io_context(e, "create", &t.dir, spec.scope))?;
    let ids = spec.ids(t.family).to_vec();
    let (m, added) = manifest::merged(existing.as_deref(), t.family, &spec.host, &exec_path, &ids);
    write_atomic(&path, m.to_text().as_bytes(), 0o644)
        .map_err(|e| io_context(e, "write", &path, spec.scope))?;
    let what = What::Manifest {
        path: path.clone(),
        host_name: spec.host.clone(),
        family: t.family,
        ids,
        added,
    };
    let owner = ownership(record, &what.resource(), existing, dirs);
    record.add(spec.item(&t.browsers, what, owner));
    lines.push(format!("wrote {}", path.display()));
    let value = path.to_string_lossy().into_owned();
    for key in &t.registry {
        let previous = registry::query_default(key)
            .with_context(|| format!("cannot read the registry key {key}"))?;
        registry::set_default(key, &value)
            .with_context(|| format!("cannot write the registry key {key}"))?;
        let what = What::Registry {
            key: key.clone(),
            value: value.clone(),
        };
        let owner = if record.has_resource(&what.resource()) {
            None
        } else {
            Some(Owner {
                created: previous.is_none(),
                original: previous.flatten(),
                created_dirs: Vec::new(),
            })
        };
        record.add(spec.item(&t.browsers, what, owner));
        lines.push(format!("set {key} = {value}"));
    }
    Ok(lines)
}

// ------------------------------------------------------------ uninstall

/// Which recorded items an `uninstall` takes away.
pub struct Filter {
    pub scope: Scope,
    pub app_ids: Vec<String>,
    /// Browser ids; `None` = every browser.
    pub browsers: Option<Vec<String>>,
    pub user_data_dirs: Vec<PathBuf>,
}

impl Filter {
    fn by_place(&self) -> bool {
        self.browsers.is_some() || !self.user_data_dirs.is_empty()
    }

    pub fn matches(&self, item: &Item) -> bool {
        if item.scope != self.scope {
            return false;
        }
        if !self.app_ids.is_empty() && !self.app_ids.contains(&item.app_id) {
            return false;
        }
        if !self.by_place() {
            return true;
        }
        if matches!(item.what, What::Config { .. }) || item.browsers.is_empty() {
            return false;
        }
        let by_browser = self
            .browsers
            .as_ref()
            .is_some_and(|bs| item.browsers.iter().all(|b| bs.contains(b)));
        let by_dir = item
            .what
            .path()
            .is_some_and(|p| self.user_data_dirs.iter().any(|d| p.starts_with(d)));
        by_browser || by_dir
    }

    /// An item the filter touches only partly (it also serves other
    /// browsers).
    pub fn partly(&self, item: &Item) -> Option<Vec<String>> {
        let bs = self.browsers.as_ref()?;
        if item.scope != self.scope
            || (!self.app_ids.is_empty() && !self.app_ids.contains(&item.app_id))
            || self.matches(item)
        {
            return None;
        }
        item.browsers.iter().any(|b| bs.contains(b)).then(|| {
            item.browsers
                .iter()
                .filter(|b| !bs.contains(b))
                .cloned()
                .collect()
        })
    }
}

fn union(into: &mut Vec<String>, from: &[String]) {
    for x in from {
        if !into.contains(x) {
            into.push(x.clone());
        }
    }
}

/// Undoes the items `filter` selects; the rest stay in `record`. Returns
/// one line per action.
pub fn uninstall(record: &mut Record, filter: &Filter) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    let (removed, mut remaining): (Vec<Item>, Vec<Item>) = std::mem::take(&mut record.items)
        .into_iter()
        .partition(|i| filter.matches(i));
    let mut resources: Vec<String> = Vec::new();
    for i in &removed {
        let r = i.what.resource();
        if !resources.contains(&r) {
            resources.push(r);
        }
    }
    let mut dirs = Vec::new();
    let mut result = Ok(());
    for res in &resources {
        let rm: Vec<&Item> = removed
            .iter()
            .filter(|i| &i.what.resource() == res)
            .collect();
        let mut rest: Vec<&mut Item> = remaining
            .iter_mut()
            .filter(|i| &i.what.resource() == res)
            .collect();
        let owner = rm.iter().find_map(|i| i.owner.clone());
        let r = match &rm[0].what {
            What::Manifest { path, family, .. } => {
                undo_manifest(path, *family, &rm, &mut rest, owner, &mut dirs, &mut lines)
            }
            What::File { path } => undo_file(path, &mut rest, owner, &mut dirs, &mut lines),
            What::Registry { key, value } => {
                undo_registry(key, value, &mut rest, owner, &mut lines)
            }
            What::Config { path, .. } => {
                undo_config(path, &rm, &mut rest, owner, &mut dirs, &mut lines)
            }
        };
        if let Err(e) = r {
            // Keep what could not be undone in the record, to retry.
            remaining.extend(rm.into_iter().cloned());
            lines.push(format!("failed: {e:#}"));
            result = Err(e);
        }
    }
    for d in remove_empty_dirs(&dirs) {
        // Still holds something of ours: whoever lives there owns it now.
        if let Some(o) = remaining
            .iter_mut()
            .filter(|i| i.what.path().is_some_and(|p| p.starts_with(&d)))
            .find_map(|i| i.owner.as_mut())
        {
            union_paths(&mut o.created_dirs, std::slice::from_ref(&d));
        }
    }
    record.items = remaining;
    result.map(|()| lines)
}

fn hand_over(owner: Option<Owner>, rest: &mut [&mut Item]) {
    let Some(o) = owner else { return };
    if rest.iter().any(|i| i.owner.is_some()) {
        return;
    }
    if let Some(first) = rest.first_mut() {
        first.owner = Some(o);
    }
}

fn undo_manifest(
    path: &Path,
    family: Family,
    rm: &[&Item],
    rest: &mut [&mut Item],
    owner: Option<Owner>,
    dirs: &mut Vec<PathBuf>,
    lines: &mut Vec<String>,
) -> anyhow::Result<()> {
    let mut ours: Vec<String> = Vec::new();
    for i in rm {
        if let What::Manifest { added, .. } = &i.what {
            union(&mut ours, added);
        }
    }
    // Ids another remaining app also wants stay, and become "added" by it.
    let mut to_remove = Vec::new();
    for id in ours {
        let keeper = rest.iter_mut().find(|i| match &i.what {
            What::Manifest { ids, .. } => ids.contains(&id),
            _ => false,
        });
        match keeper {
            Some(k) => {
                if let What::Manifest { added, .. } = &mut k.what {
                    union(added, std::slice::from_ref(&id));
                }
            }
            None => to_remove.push(id),
        }
    }
    let text = read_opt(path).with_context(|| format!("cannot read {}", path.display()))?;
    let write = |m: &Manifest| {
        write_atomic(path, m.to_text().as_bytes(), 0o644)
            .with_context(|| format!("cannot write {}", path.display()))
    };
    if !rest.is_empty() {
        hand_over(owner, rest);
        if let Some(Ok(mut m)) = text.as_deref().map(Manifest::parse) {
            if !to_remove.is_empty() {
                m.remove_ids(family, &to_remove);
                write(&m)?;
                lines.push(format!(
                    "updated {} (removed {}; other apps still use it)",
                    path.display(),
                    to_remove.join(", ")
                ));
            }
        }
        return Ok(());
    }
    let Some(text) = text else {
        lines.push(format!("already gone: {}", path.display()));
        if let Some(o) = owner.filter(|o| o.created) {
            dirs.extend(o.created_dirs);
        }
        return Ok(());
    };
    match owner {
        Some(o) if o.created => match Manifest::parse(&text) {
            Ok(mut m) => {
                m.remove_ids(family, &to_remove);
                if m.ids(Family::Chromium).is_empty() && m.ids(Family::Firefox).is_empty() {
                    remove_file(path)?;
                    dirs.extend(o.created_dirs);
                    lines.push(format!("removed {}", path.display()));
                } else {
                    write(&m)?;
                    lines.push(format!(
                        "updated {} (removed our ids; it lists others added since)",
                        path.display()
                    ));
                }
            }
            Err(_) => {
                remove_file(path)?;
                dirs.extend(o.created_dirs);
                lines.push(format!(
                    "removed {} (it was no longer valid JSON)",
                    path.display()
                ));
            }
        },
        Some(o) => {
            let original = o.original.unwrap_or_default();
            match (Manifest::parse(&text), Manifest::parse(&original)) {
                (Ok(mut m), Ok(om)) if om.name == m.name => {
                    m.remove_ids(family, &to_remove);
                    m.path = om.path.clone();
                    if m == om {
                        write_atomic(path, original.as_bytes(), 0o644)?;
                    } else {
                        write(&m)?;
                    }
                }
                _ => write_atomic(path, original.as_bytes(), 0o644)?,
            }
            lines.push(format!(
                "restored {} as it was before install",
                path.display()
            ));
        }
        None => {
            if let Ok(mut m) = Manifest::parse(&text) {
                m.remove_ids(family, &to_remove);
                write(&m)?;
                lines.push(format!("updated {}", path.display()));
            }
        }
    }
    Ok(())
}

fn remove_file(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

fn undo_file(
    path: &Path,
    rest: &mut [&mut Item],
    owner: Option<Owner>,
    dirs: &mut Vec<PathBuf>,
    lines: &mut Vec<String>,
) -> anyhow::Result<()> {
    if !rest.is_empty() {
        hand_over(owner, rest);
        return Ok(());
    }
    match owner {
        Some(o) if !o.created => {
            write_atomic(path, o.original.unwrap_or_default().as_bytes(), 0o755)?;
            lines.push(format!("restored {}", path.display()));
        }
        Some(o) => {
            remove_file(path)?;
            dirs.extend(o.created_dirs);
            lines.push(format!("removed {}", path.display()));
        }
        None => {}
    }
    Ok(())
}

fn undo_registry(
    key: &str,
    value: &str,
    rest: &mut [&mut Item],
    owner: Option<Owner>,
    lines: &mut Vec<String>,
) -> anyhow::Result<()> {
    if !rest.is_empty() {
        hand_over(owner, rest);
        return Ok(());
    }
    let current = registry::query_default(key)?;
    if current.as_ref().and_then(|c| c.as_deref()) != Some(value) {
        lines.push(format!(
            "left {key}: it no longer points at {value} (changed by someone else)"
        ));
        return Ok(());
    }
    match owner {
        Some(o) if o.created => {
            registry::delete_key(key)?;
            lines.push(format!("deleted {key}"));
        }
        Some(Owner {
            original: Some(prev),
            ..
        }) => {
            registry::set_default(key, &prev)?;
            lines.push(format!("restored {key} = {prev}"));
        }
        _ => {}
    }
    Ok(())
}

fn undo_config(
    path: &Path,
    rm: &[&Item],
    rest: &mut [&mut Item],
    owner: Option<Owner>,
    dirs: &mut Vec<PathBuf>,
    lines: &mut Vec<String>,
) -> anyhow::Result<()> {
    let loaded = Config::load(path)?;
    let mut cfg = loaded.clone();
    for item in rm.iter().rev() {
        let What::Config {
            created_app,
            added_origins,
            added_scopes,
            added_resources,
            previous_allow_cli,
            post_logout_changed,
            previous_post_logout,
            issuer_changed,
            previous_issuer,
            ..
        } = &item.what
        else {
            continue;
        };
        // The same app installed in the other scope keeps the entry.
        if let Some(keeper) = rest.iter_mut().find(|r| {
            r.app_id == item.app_id
                && normalize_endpoint(&r.endpoint) == normalize_endpoint(&item.endpoint)
        }) {
            if let What::Config {
                created_app: c,
                added_origins: o,
                added_scopes: s,
                added_resources: r,
                ..
            } = &mut keeper.what
            {
                *c |= *created_app;
                union(o, added_origins);
                union(s, added_scopes);
                union(r, added_resources);
            }
            continue;
        }
        let Some(idx) = cfg
            .apps
            .iter()
            .position(|a| a.matches(&item.endpoint, &item.app_id))
        else {
            lines.push(format!(
                "app {} was already gone from {}",
                item.app_id,
                path.display()
            ));
            continue;
        };
        if *created_app {
            cfg.apps.remove(idx);
            lines.push(format!(
                "unregistered app {} from {}",
                item.app_id,
                path.display()
            ));
            continue;
        }
        let app = &mut cfg.apps[idx];
        app.allowed_origins.retain(|o| !added_origins.contains(o));
        app.scopes.retain(|o| !added_scopes.contains(o));
        app.resources.retain(|o| !added_resources.contains(o));
        if let Some(v) = previous_allow_cli {
            app.allow_cli = *v;
        }
        if *post_logout_changed {
            app.post_logout_redirect_uri = previous_post_logout.clone();
        }
        if *issuer_changed {
            app.issuer = previous_issuer.clone();
        }
        lines.push(format!(
            "reverted install's changes to app {} in {}",
            item.app_id,
            path.display()
        ));
    }
    if !rest.is_empty() {
        hand_over(owner, rest);
        if cfg != loaded {
            cfg.save(path)?;
        }
        return Ok(());
    }
    match owner {
        Some(o) if o.created && cfg == Config::default() => {
            remove_file(path)?;
            dirs.extend(o.created_dirs);
        }
        Some(Owner {
            created: false,
            original: Some(orig),
            ..
        }) if toml::from_str::<Config>(&orig).ok().as_ref() == Some(&cfg) => {
            // Back to what it was: put back the very text (comments and all).
            write_atomic(path, orig.as_bytes(), 0o644)?;
        }
        _ => {
            if cfg != loaded {
                cfg.save(path)?;
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------ registry

/// Windows registry through `reg.exe` (no extra crate; the same code builds
/// everywhere, and only runs on Windows, where the plan has keys).
pub mod registry {
    use std::io;
    use std::process::Command;

    /// `None` = no such key; `Some(None)` = key without a default value.
    pub fn query_default(key: &str) -> io::Result<Option<Option<String>>> {
        let out = Command::new("reg").args(["query", key, "/ve"]).output()?;
        if !out.status.success() {
            // Exit 1: the key (or its default value) does not exist.
            let exists = Command::new("reg")
                .args(["query", key])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            return Ok(exists.then_some(None));
        }
        Ok(Some(parse_default(&String::from_utf8_lossy(&out.stdout))))
    }

    /// The value of `(Default)    REG_SZ    <value>` in `reg query` output
    /// (the label is localized; the type is not).
    pub fn parse_default(stdout: &str) -> Option<String> {
        stdout.lines().find_map(|l| {
            let (_, rest) = l.split_once("REG_SZ")?;
            Some(rest.trim().to_string()).filter(|v| !v.is_empty())
        })
    }

    pub fn add_args(key: &str, value: &str) -> Vec<String> {
        ["add", key, "/ve", "/t", "REG_SZ", "/d", value, "/f"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    pub fn set_default(key: &str, value: &str) -> io::Result<()> {
        run(&add_args(key, value))
    }

    pub fn delete_key(key: &str) -> io::Result<()> {
        run(&["delete".to_string(), key.to_string(), "/f".to_string()])
    }

    fn run(args: &[String]) -> io::Result<()> {
        let out = Command::new("reg").args(args).output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "reg {} failed: {}",
                args.first().map(String::as_str).unwrap_or(""),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn parses_reg_query_output() {
            let out = "\r\nHKEY_CURRENT_USER\\SOFTWARE\\Google\\Chrome\\NativeMessagingHosts\\logto_companion\r\n    (Default)    REG_SZ    C:\\Users\\u\\AppData\\Local\\logto-companion\\x.json\r\n\r\n";
            assert_eq!(
                super::parse_default(out).as_deref(),
                Some(r"C:\Users\u\AppData\Local\logto-companion\x.json")
            );
            assert_eq!(
                super::parse_default("    (Standard)    REG_SZ    \r\n"),
                None
            );
            assert_eq!(
                super::add_args(r"HKEY_CURRENT_USER\K", r"C:\a b.json"),
                [
                    "add",
                    r"HKEY_CURRENT_USER\K",
                    "/ve",
                    "/t",
                    "REG_SZ",
                    "/d",
                    r"C:\a b.json",
                    "/f"
                ]
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            endpoint: "https://e.example".into(),
            app_id: "app".into(),
            chrome_origins: vec!["chrome-extension://abcdefghijklmnopabcdefghijklmnop/".into()],
            firefox_ids: vec!["a@b".into()],
            scope: Scope::User,
            host: "logto_companion".into(),
            binary: "/bin/lc".into(),
            allow_cli: None,
            scopes: vec!["phone".into()],
            resources: vec![],
            post_logout_redirect_uri: None,
            issuer: None,
        }
    }

    #[test]
    fn config_change_merges_and_reverts() {
        let mut cfg = Config::default();
        cfg.apps.push(AppConfig {
            endpoint: "https://other.example".into(),
            app_id: "other".into(),
            issuer: None,
            allowed_origins: vec!["x@y".into()],
            allow_cli: true,
            scopes: vec![],
            resources: vec![],
            post_logout_redirect_uri: None,
        });
        let before = cfg.clone();
        let p = Path::new("/c.toml");
        let ch = change_config(&mut cfg, &spec(), p).unwrap();
        assert!(matches!(
            ch,
            What::Config {
                created_app: true,
                ..
            }
        ));
        assert_eq!(cfg.apps.len(), 2);
        assert_eq!(cfg.apps[0], before.apps[0]);
        // Same again: nothing to record.
        assert!(change_config(&mut cfg, &spec(), p).is_none());
        // --no-cli on the existing app is a recorded change.
        let mut s = spec();
        s.allow_cli = Some(false);
        s.endpoint = "https://e.example/".into();
        let ch = change_config(&mut cfg, &s, p).unwrap();
        assert!(matches!(
            ch,
            What::Config {
                created_app: false,
                previous_allow_cli: Some(true),
                ..
            }
        ));
        assert!(!cfg.apps[1].allow_cli);
    }
}
