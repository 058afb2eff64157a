//! Doing an install: the config entry, the wrappers, manifests and
//! (Windows) registry values of a plan, each recorded so `uninstall`
//! reverses exactly what was done. `--dry-run` prints the same plan.

use super::browsers::{display_names, flatpak_wrapper_path, Env, Family, Scope};
use super::config_change::ConfigChange;
use super::manifest;
use super::plan::{self, Selection, Target};
use super::record::{Item, Owner, Record, What};
use super::registry::{self, RegistryError};
use super::spec::Spec;
use super::{env_for, union, InstallArgs};
use crate::config::Config;
use crate::fsx::{create_dirs, read_opt, write_atomic};
use crate::paths::Paths;
use crate::util::say;
use anyhow::Context;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `logto-companion install`.
pub fn run(paths: &Paths, args: InstallArgs) -> anyhow::Result<ExitCode> {
    let mut notes = Vec::new();
    let spec = Spec::from_args(&args, &mut notes)?;
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
    let change = ConfigChange::apply(&mut cfg, &spec);

    if args.dry_run {
        print_dry_run(
            &spec,
            &env,
            &cfg,
            change.is_some(),
            &config_path,
            &plan,
            &notes,
        );
        return Ok(ExitCode::SUCCESS);
    }
    let record_path = paths.install_record();
    let mut record = Record::load(&record_path)?;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    if args.copied_programs {
        for p in copied_programs()? {
            crate::util::push_unique(&mut record.programs, p);
        }
    }
    if let Some(ch) = change {
        let verb = if ch.created_app {
            "registered"
        } else {
            "updated"
        };
        match write_config(&config_path, &cfg, ch, &spec, &mut record) {
            Ok(()) => done.push(format!(
                "{verb} app {} ({}) in {}",
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
            let w = wrapper_for(&env, t);
            match write_target(t, &spec, w.as_deref(), &mut record) {
                Ok(lines) => {
                    for l in lines {
                        done.push(format!("{l}  [{}]", display_names(&t.browsers)));
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
        say!("{l}");
    }
    if !plan.found.is_empty() {
        say!(
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
    say!(
        "recorded in {} (`logto-companion uninstall` removes exactly this); check with `logto-companion doctor`",
        record_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// What `--dry-run` prints: the config entry, every file with its content,
/// every registry value, and the notes.
fn print_dry_run(
    spec: &Spec,
    env: &Env,
    cfg: &Config,
    changed: bool,
    config_path: &Path,
    plan: &plan::Plan,
    notes: &[String],
) {
    say!("dry run: nothing is written.");
    match cfg
        .find_app(&spec.endpoint, &spec.app_id)
        .filter(|_| changed)
    {
        Some(app) => {
            let snippet = toml::to_string_pretty(&Config {
                apps: vec![app.clone()],
                ..Default::default()
            })
            .unwrap_or_default();
            let snippet = snippet
                .split_once("[[apps]]")
                .map(|(_, s)| format!("[[apps]]{s}"))
                .unwrap_or(snippet);
            say!(
                "would register app {} in {}:",
                spec.app_id,
                config_path.display()
            );
            for l in snippet.lines() {
                say!("    {l}");
            }
        }
        None => say!(
            "app {} is already registered in {} as asked",
            spec.app_id,
            config_path.display()
        ),
    }
    for t in &plan.targets {
        let exec = match wrapper_for(env, t) {
            Some(w) => {
                say!(
                    "would write {} (runs the host outside the Flatpak sandbox)",
                    w.display()
                );
                w.to_string_lossy().into_owned()
            }
            None => spec.binary.to_string_lossy().into_owned(),
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
        say!(
            "would write {} (for {}):",
            path.display(),
            display_names(&t.browsers)
        );
        for l in m.to_text().lines() {
            say!("    {l}");
        }
        for k in &t.registry {
            say!("would set {k} = {}", path.display());
        }
    }
    for n in notes {
        say!("note: {n}");
    }
}

/// The Flatpak wrapper a target's manifest points at, if it is a sandbox's.
fn wrapper_for(env: &Env, t: &Target) -> Option<PathBuf> {
    t.flatpak.map(|id| flatpak_wrapper_path(env, id))
}

/// A record item for this request.
fn item(spec: &Spec, browsers: &[String], what: What, owner: Option<Owner>) -> Item {
    Item {
        app_id: spec.app_id.clone(),
        endpoint: spec.endpoint.clone(),
        scope: spec.scope,
        browsers: browsers.to_vec(),
        what,
        owner,
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
            created_keys: Vec::new(),
        });
    }
    if let Some(o) = record.owner_of(resource) {
        if existing.is_none() {
            o.created = true;
            o.original = None;
        }
        union(&mut o.created_dirs, &created_dirs);
    }
    None
}

/// Saves the config with the app's entry and records the change.
fn write_config(
    path: &Path,
    cfg: &Config,
    change: ConfigChange,
    spec: &Spec,
    record: &mut Record,
) -> anyhow::Result<()> {
    let existing = read_opt(path).with_context(|| format!("cannot read {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let dirs = create_dirs(dir).map_err(|e| io_context(e, "create", dir, Scope::User))?;
    cfg.save(path)?;
    let what = What::Config {
        path: path.to_path_buf(),
        change,
    };
    let owner = ownership(record, &what.resource(), existing, dirs);
    record.add(item(spec, &[], what, owner));
    Ok(())
}

/// Writes one target (wrapper, manifest, registry values) and records it.
/// Returns what it did, one line each.
fn write_target(
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
            record.add(item(spec, &t.browsers, what, owner));
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
    record.add(item(spec, &t.browsers, what, owner));
    lines.push(format!("wrote {}", path.display()));
    let value = path.to_string_lossy().into_owned();
    for key in &t.registry {
        let k = registry::Key::parse(key).map_err(RegistryError::coded)?;
        let previous = registry::read_default(&k).map_err(RegistryError::coded)?;
        let mut created = registry::set_default(&k, &value).map_err(RegistryError::coded)?;
        // The key itself is `created`; the levels above it, `created_keys`.
        let leaf_created = created.last() == Some(&k);
        if leaf_created {
            created.pop();
        }
        let what = What::Registry {
            key: key.clone(),
            value: value.clone(),
        };
        let owner = if record.has_resource(&what.resource()) {
            None
        } else {
            // `created: false` with no `original`: the key was there without
            // a default value, so uninstall removes only the value.
            Some(Owner {
                created: leaf_created,
                original: previous.value().map(str::to_string),
                created_dirs: Vec::new(),
                created_keys: created.iter().map(|k| k.to_string()).collect(),
            })
        };
        record.add(item(spec, &t.browsers, what, owner));
        lines.push(format!("set {key} = {value}"));
    }
    Ok(lines)
}

/// The two program files of this install (the thin binary and this, the
/// daemon binary), as the installer script that copied them left them.
fn copied_programs() -> anyhow::Result<Vec<PathBuf>> {
    let daemon = std::env::current_exe().context("cannot find the path of this program")?;
    Ok(vec![
        super::spec::thin_binary()?,
        super::spec::resolved(&daemon)?,
    ])
}
