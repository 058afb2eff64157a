//! Undoing an install: the record's items a filter selects, each put back
//! as it was before `install` touched it. A resource other apps still use
//! stays (with only our ids taken out) and passes to one of them.

use super::browsers::{display_names, Family, Scope};
use super::manifest::Manifest;
use super::plan::Selection;
use super::record::{Item, Owner, Record, What};
use super::registry::{self, RegistryError};
use super::{env_for, union, UninstallArgs};
use crate::config::{normalize_endpoint, Config};
use crate::fsx::{self, absolute, read_opt, write_atomic};
use crate::paths::Paths;
use crate::util::{push_unique, say};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `logto-companion uninstall`.
pub fn run(paths: &Paths, args: UninstallArgs) -> anyhow::Result<ExitCode> {
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
    let filter = Filter {
        scope: Scope::from_flag(args.system),
        app_ids: args.app_ids.clone(),
        browsers,
        user_data_dirs: args.user_data_dirs.iter().map(|d| absolute(d)).collect(),
    };
    let _ = env_for(&args.hidden)?; // validates --root; recorded paths are absolute
    let selected: Vec<&Item> = record.items.iter().filter(|i| filter.matches(i)).collect();
    for i in record.items.iter() {
        if let Some(others) = filter.partly(i) {
            say!(
                "kept {}: it also serves {}",
                i.what.describe(),
                display_names(&others)
            );
        }
    }
    if selected.is_empty() {
        if record.items.is_empty() && !record.programs.is_empty() && !args.dry_run {
            // Recorded by an install that registered nothing new. Saved
            // before anything is printed, as below.
            let lines = remove_programs(paths, &mut record);
            record.save(&record_path)?;
            for l in lines {
                say!("{l}");
            }
        } else if record.items.is_empty() {
            say!(
                "nothing to uninstall: no install is recorded in {}",
                record_path.display()
            );
        } else {
            say!("nothing recorded matches; recorded:");
            for i in &record.items {
                say!(
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
        say!("dry run: nothing is changed.");
        let all = selected.len() == record.items.len();
        for i in selected {
            say!("would undo {} (app {})", i.what.describe(), i.app_id);
        }
        if all {
            for p in &record.programs {
                say!("would delete {}", p.display());
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let had_programs = !record.programs.is_empty();
    let result = undo(&mut record, &filter);
    let mut programs = Vec::new();
    if result.is_ok() && record.items.is_empty() {
        programs = remove_programs(paths, &mut record);
    }
    record.save(&record_path)?;
    match result {
        Ok(lines) => {
            for l in lines.into_iter().chain(programs) {
                say!("{l}");
            }
            if record.items.is_empty() && !had_programs {
                programs_note();
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e.context(
            "uninstall did not finish; what is left stays recorded, run it again after fixing this",
        )),
    }
}

/// Deletes the program files an installer script copied, once nothing
/// else is recorded; one line per file. One that cannot go is named with
/// the way to remove it, and not kept: on Windows it is this very program
/// (or the thin one waiting for it), which no later run could delete either.
fn remove_programs(paths: &Paths, record: &mut Record) -> Vec<String> {
    let mut lines = Vec::new();
    let mut deleted = Vec::new();
    for p in std::mem::take(&mut record.programs) {
        match fsx::remove_file(&p) {
            Ok(()) => {
                lines.push(format!("deleted {}", p.display()));
                deleted.push(p);
            }
            Err(e) => lines.push(format!(
                "could not delete {}: {e}; {}",
                p.display(),
                if cfg!(windows) {
                    "Windows cannot delete a running program: delete it (and its folder) once this command has ended"
                } else {
                    "delete it by hand"
                }
            )),
        }
    }
    lines.extend(stop_daemon_of(paths, &deleted));
    lines
}

/// This user's daemon, when it runs from a program file just deleted: asked
/// to stop (SIGTERM: it lets refreshes in flight finish; sessions stay in
/// the keychain), so nothing of the program stays running. Linux names a
/// deleted program `<path> (deleted)` in `/proc/<pid>/exe`; elsewhere the
/// daemon ends by itself once idle.
#[cfg(target_os = "linux")]
fn stop_daemon_of(paths: &Paths, deleted: &[PathBuf]) -> Option<String> {
    let pid: i32 = std::fs::read_to_string(paths.pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let exe = exe.to_string_lossy();
    let exe = Path::new(exe.strip_suffix(" (deleted)").unwrap_or(&exe));
    if !deleted.iter().any(|d| d == exe) {
        return None;
    }
    // SAFETY: a signal to a process of this user, named by its pid file.
    Some(if unsafe { libc::kill(pid, libc::SIGTERM) } == 0 {
        format!(
            "stopped the daemon (pid {pid}) that ran from {}",
            exe.display()
        )
    } else {
        format!(
            "could not stop the daemon (pid {pid}) that ran from {}: {}; it ends by itself once idle",
            exe.display(),
            std::io::Error::last_os_error()
        )
    })
}

#[cfg(not(target_os = "linux"))]
fn stop_daemon_of(_paths: &Paths, _deleted: &[PathBuf]) -> Option<String> {
    None
}

/// Once nothing is registered any more, for binaries no installer script
/// recorded (a package, a manual copy): where the two program files are
/// and how they go — `uninstall` removes only what `install` wrote.
fn programs_note() {
    let thin = crate::paths::beside_this_program(crate::paths::THIN_BIN);
    let daemon = std::env::current_exe();
    if let (Ok(thin), Ok(daemon)) = (thin, daemon) {
        let how = if thin.starts_with("/usr/bin") {
            "`sudo dpkg -r logto-companion` removes them"
        } else {
            "delete both files to remove the program"
        };
        say!(
            "nothing is registered any more; the program files stay: {} and {} ({how})",
            thin.display(),
            daemon.display()
        );
    }
}

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

    /// The item is of the scope and (if any are named) an app asked for.
    fn covers_app(&self, item: &Item) -> bool {
        item.scope == self.scope && (self.app_ids.is_empty() || self.app_ids.contains(&item.app_id))
    }

    pub fn matches(&self, item: &Item) -> bool {
        if !self.covers_app(item) {
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
        if !self.covers_app(item) || self.matches(item) {
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

/// Undoes the items `filter` selects; the rest stay in `record`. Returns
/// one line per action.
pub fn undo(record: &mut Record, filter: &Filter) -> anyhow::Result<Vec<String>> {
    let (removed, mut remaining): (Vec<Item>, Vec<Item>) = std::mem::take(&mut record.items)
        .into_iter()
        .partition(|i| filter.matches(i));
    let mut resources: Vec<String> = Vec::new();
    for i in &removed {
        push_unique(&mut resources, i.what.resource());
    }
    let mut done = Done::default();
    let mut result = Ok(());
    for res in &resources {
        let rm: Vec<&Item> = removed
            .iter()
            .filter(|i| &i.what.resource() == res)
            .collect();
        let mut shared = Shared {
            owner: rm.iter().find_map(|i| i.owner.clone()),
            rm,
            rest: remaining
                .iter_mut()
                .filter(|i| &i.what.resource() == res)
                .collect(),
        };
        let r = match &shared.rm[0].what {
            What::Manifest { path, family, .. } => {
                undo_manifest(path, *family, &mut shared, &mut done)
            }
            What::File { path } => undo_file(path, &mut shared, &mut done),
            What::Registry { key, value } => undo_registry(key, value, &mut shared, &mut done),
            What::Config { path, .. } => undo_config(path, &mut shared, &mut done),
        };
        let rm = shared.rm;
        if let Err(e) = r {
            // Keep what could not be undone in the record, to retry.
            remaining.extend(rm.into_iter().cloned());
            done.lines.push(format!("failed: {e:#}"));
            result = Err(e);
        }
    }
    for d in fsx::remove_empty_dirs(&done.dirs) {
        // Still holds something of ours: whoever lives there owns it now.
        if let Some(o) = remaining
            .iter_mut()
            .filter(|i| i.what.path().is_some_and(|p| p.starts_with(&d)))
            .find_map(|i| i.owner.as_mut())
        {
            push_unique(&mut o.created_dirs, d);
        }
    }
    // Keys made above a removed key that still held another key: that one
    // may have gone in this same run, so try again, innermost first; one
    // still in use passes to the install whose key is inside it.
    let mut keys = std::mem::take(&mut done.keys);
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    keys.dedup();
    for k in keys {
        let gone = registry::Key::parse(&k).and_then(|key| registry::delete_if_empty(&key));
        if gone == Ok(true) {
            done.say(format!("deleted {k}"));
            continue;
        }
        let inside = format!("{}\\", k.to_ascii_lowercase());
        if let Some(o) = remaining
            .iter_mut()
            .filter(|i| match &i.what {
                What::Registry { key, .. } => key.to_ascii_lowercase().starts_with(&inside),
                _ => false,
            })
            .find_map(|i| i.owner.as_mut())
        {
            push_unique(&mut o.created_keys, k);
            // Outermost first: every one is a prefix of the same key.
            o.created_keys.sort_by_key(String::len);
        }
    }
    record.items = remaining;
    result.map(|()| done.lines)
}

/// One resource (file, registry key, config entry) being undone.
struct Shared<'a, 'b> {
    /// The items that go.
    rm: Vec<&'a Item>,
    /// Other installs' items on the same resource, which stay.
    rest: Vec<&'b mut Item>,
    /// The ownership the going items held, if any.
    owner: Option<Owner>,
}

impl Shared<'_, '_> {
    /// Whether other installs still use the resource; if so, one of them
    /// takes over the ownership (unless one already has it).
    fn kept_by_others(&mut self) -> bool {
        if self.rest.is_empty() {
            return false;
        }
        if let Some(o) = self.owner.take() {
            if !self.rest.iter().any(|i| i.owner.is_some()) {
                self.rest[0].owner = Some(o);
            }
        }
        true
    }
}

/// What undoing did: a line per action, and the folders made for what was
/// removed (removed too when empty, at the end).
#[derive(Default)]
struct Done {
    lines: Vec<String>,
    dirs: Vec<PathBuf>,
    /// Registry keys made for what was removed that still hold another
    /// install's key (handed to it at the end).
    keys: Vec<String>,
}

impl Done {
    fn say(&mut self, line: String) {
        self.lines.push(line);
    }

    /// Removes a file we created; the folders made for it may go too.
    fn remove(&mut self, path: &Path, owner: Owner) -> anyhow::Result<()> {
        fsx::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
        self.dirs.extend(owner.created_dirs);
        Ok(())
    }
}

fn undo_manifest(
    path: &Path,
    family: Family,
    s: &mut Shared,
    done: &mut Done,
) -> anyhow::Result<()> {
    let mut ours: Vec<String> = Vec::new();
    for i in &s.rm {
        if let What::Manifest { added, .. } = &i.what {
            union(&mut ours, added);
        }
    }
    // Ids another remaining app also wants stay, and become "added" by it.
    let mut to_remove = Vec::new();
    for id in ours {
        let keeper = s.rest.iter_mut().find(|i| match &i.what {
            What::Manifest { ids, .. } => ids.contains(&id),
            _ => false,
        });
        match keeper {
            Some(k) => {
                if let What::Manifest { added, .. } = &mut k.what {
                    push_unique(added, id);
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
    if s.kept_by_others() {
        if let Some(Ok(mut m)) = text.as_deref().map(Manifest::parse) {
            if !to_remove.is_empty() {
                m.remove_ids(family, &to_remove);
                write(&m)?;
                done.say(format!(
                    "updated {} (removed {}; other apps still use it)",
                    path.display(),
                    to_remove.join(", ")
                ));
            }
        }
        return Ok(());
    }
    let Some(text) = text else {
        done.say(format!("already gone: {}", path.display()));
        if let Some(o) = s.owner.take().filter(|o| o.created) {
            done.dirs.extend(o.created_dirs);
        }
        return Ok(());
    };
    match s.owner.take() {
        Some(o) if o.created => match Manifest::parse(&text) {
            Ok(mut m) => {
                m.remove_ids(family, &to_remove);
                if m.ids(Family::Chromium).is_empty() && m.ids(Family::Firefox).is_empty() {
                    done.remove(path, o)?;
                    done.say(format!("removed {}", path.display()));
                } else {
                    write(&m)?;
                    done.say(format!(
                        "updated {} (removed our ids; it lists others added since)",
                        path.display()
                    ));
                }
            }
            Err(_) => {
                done.remove(path, o)?;
                done.say(format!(
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
            done.say(format!(
                "restored {} as it was before install",
                path.display()
            ));
        }
        None => {
            if let Ok(mut m) = Manifest::parse(&text) {
                m.remove_ids(family, &to_remove);
                write(&m)?;
                done.say(format!("updated {}", path.display()));
            }
        }
    }
    Ok(())
}

fn undo_file(path: &Path, s: &mut Shared, done: &mut Done) -> anyhow::Result<()> {
    if s.kept_by_others() {
        return Ok(());
    }
    match s.owner.take() {
        Some(o) if !o.created => {
            write_atomic(path, o.original.unwrap_or_default().as_bytes(), 0o755)?;
            done.say(format!("restored {}", path.display()));
        }
        Some(o) => {
            done.remove(path, o)?;
            done.say(format!("removed {}", path.display()));
        }
        None => {}
    }
    Ok(())
}

fn undo_registry(key: &str, value: &str, s: &mut Shared, done: &mut Done) -> anyhow::Result<()> {
    if s.kept_by_others() {
        return Ok(());
    }
    let k = registry::Key::parse(key).map_err(RegistryError::coded)?;
    let current = registry::read_default(&k).map_err(RegistryError::coded)?;
    if current.value() != Some(value) {
        done.say(format!(
            "left {key}: it no longer points at {value} (changed by someone else)"
        ));
        return Ok(());
    }
    let Some(o) = s.owner.take() else {
        return Ok(());
    };
    match &o.original {
        Some(prev) => {
            registry::set_default(&k, prev).map_err(RegistryError::coded)?;
            done.say(format!("restored {key} = {prev}"));
            return Ok(());
        }
        None => {
            registry::delete_default(&k).map_err(RegistryError::coded)?;
        }
    }
    if !o.created {
        // The key was there before, without a default value: only ours goes.
        done.say(format!("removed the default value of {key}"));
        return Ok(());
    }
    if registry::delete_if_empty(&k).map_err(RegistryError::coded)? {
        done.say(format!("deleted {key}"));
    } else {
        done.say(format!(
            "removed the default value of {key}; kept the key: something else was added to it"
        ));
        return Ok(());
    }
    // The levels install created for it, innermost first, while empty; one
    // that still holds another install's key passes to that install.
    let mut above = o.created_keys;
    while let Some(k) = above.last() {
        if !registry::Key::parse(k)
            .and_then(|k| registry::delete_if_empty(&k))
            .map_err(RegistryError::coded)?
        {
            break;
        }
        done.say(format!("deleted {k}"));
        above.pop();
    }
    done.keys.extend(above);
    Ok(())
}

fn undo_config(path: &Path, s: &mut Shared, done: &mut Done) -> anyhow::Result<()> {
    let loaded = Config::load(path)?;
    let mut cfg = loaded.clone();
    for item in s.rm.iter().rev() {
        let What::Config { change, .. } = &item.what else {
            continue;
        };
        // The same app installed in the other scope keeps the entry.
        if let Some(keeper) = s.rest.iter_mut().find(|r| {
            r.app_id == item.app_id
                && normalize_endpoint(&r.endpoint) == normalize_endpoint(&item.endpoint)
        }) {
            if let What::Config { change: kept, .. } = &mut keeper.what {
                kept.adopt(change);
            }
            continue;
        }
        let Some(idx) = cfg
            .apps
            .iter()
            .position(|a| a.matches(&item.endpoint, &item.app_id))
        else {
            done.say(format!(
                "app {} was already gone from {}",
                item.app_id,
                path.display()
            ));
            continue;
        };
        if change.created_app {
            cfg.apps.remove(idx);
            done.say(format!(
                "unregistered app {} from {}",
                item.app_id,
                path.display()
            ));
            continue;
        }
        change.revert(&mut cfg.apps[idx]);
        done.say(format!(
            "reverted install's changes to app {} in {}",
            item.app_id,
            path.display()
        ));
    }
    if s.kept_by_others() {
        if cfg != loaded {
            cfg.save(path)?;
        }
        return Ok(());
    }
    match s.owner.take() {
        Some(o) if o.created && cfg == Config::default() => done.remove(path, o)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_item(app: &str, browsers: &[&str], path: &Path, ids: &[&str]) -> Item {
        Item {
            app_id: app.into(),
            endpoint: "https://e.example".into(),
            scope: Scope::User,
            browsers: browsers.iter().map(|b| b.to_string()).collect(),
            what: What::Manifest {
                path: path.to_path_buf(),
                host_name: "logto_companion".into(),
                family: Family::Firefox,
                ids: ids.iter().map(|s| s.to_string()).collect(),
                added: ids.iter().map(|s| s.to_string()).collect(),
            },
            owner: None,
        }
    }

    #[test]
    fn a_browser_filter_takes_only_items_all_of_whose_browsers_it_names() {
        let p = Path::new("/m/logto_companion.json");
        let both = manifest_item("a", &["firefox", "zen"], p, &["x@y"]);
        let only = manifest_item("a", &["librewolf"], p, &["x@y"]);
        let f = Filter {
            scope: Scope::User,
            app_ids: vec![],
            browsers: Some(vec!["firefox".into(), "librewolf".into()]),
            user_data_dirs: vec![],
        };
        assert!(!f.matches(&both));
        assert_eq!(f.partly(&both), Some(vec!["zen".to_string()]));
        assert!(f.matches(&only));
        assert_eq!(f.partly(&only), None);
        let other_app = Filter {
            app_ids: vec!["b".into()],
            ..f
        };
        assert!(!other_app.matches(&only) && other_app.partly(&both).is_none());
    }

    #[test]
    fn undoing_one_app_keeps_the_ids_and_the_file_of_another() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("hosts/logto_companion.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let (m, _) = super::super::manifest::merged(
            None,
            Family::Firefox,
            "logto_companion",
            "/bin/lc",
            &["a@x".into(), "b@x".into()],
        );
        std::fs::write(&path, m.to_text()).unwrap();
        let mut a = manifest_item("a", &["firefox"], &path, &["a@x"]);
        a.owner = Some(Owner {
            created: true,
            original: None,
            created_dirs: vec![path.parent().unwrap().to_path_buf()],
            created_keys: Vec::new(),
        });
        let b = manifest_item("b", &["firefox"], &path, &["b@x"]);
        let mut record = Record {
            items: vec![a, b],
            ..Default::default()
        };
        let only_a = Filter {
            scope: Scope::User,
            app_ids: vec!["a".into()],
            browsers: None,
            user_data_dirs: vec![],
        };
        let lines = undo(&mut record, &only_a).unwrap();
        assert!(lines[0].contains("removed a@x"), "{lines:?}");
        let left = Manifest::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(left.ids(Family::Firefox), ["b@x"]);
        // App b inherited the ownership: undoing it removes file and folder.
        assert_eq!(record.items.len(), 1);
        assert!(record.items[0].owner.as_ref().is_some_and(|o| o.created));
        let all = Filter {
            app_ids: vec![],
            ..only_a
        };
        undo(&mut record, &all).unwrap();
        assert!(!path.exists() && !path.parent().unwrap().exists());
        assert!(record.items.is_empty());
    }
}
