//! Undoing an install: the record's items a filter selects, each put back
//! as it was before `install` touched it. A resource other apps still use
//! stays (with only our ids taken out) and passes to one of them.

use super::browsers::{display_names, Family, Scope};
use super::manifest::Manifest;
use super::plan::Selection;
use super::record::{Item, Owner, Record, What};
use super::{env_for, registry, union, UninstallArgs};
use crate::config::{normalize_endpoint, Config};
use crate::fsx::{self, absolute, read_opt, write_atomic};
use crate::paths::Paths;
use crate::util::push_unique;
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
            println!(
                "kept {}: it also serves {}",
                i.what.describe(),
                display_names(&others)
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
    let result = undo(&mut record, &filter);
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
    let mut lines = Vec::new();
    let (removed, mut remaining): (Vec<Item>, Vec<Item>) = std::mem::take(&mut record.items)
        .into_iter()
        .partition(|i| filter.matches(i));
    let mut resources: Vec<String> = Vec::new();
    for i in &removed {
        push_unique(&mut resources, i.what.resource());
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
    for d in fsx::remove_empty_dirs(&dirs) {
        // Still holds something of ours: whoever lives there owns it now.
        if let Some(o) = remaining
            .iter_mut()
            .filter(|i| i.what.path().is_some_and(|p| p.starts_with(&d)))
            .find_map(|i| i.owner.as_mut())
        {
            push_unique(&mut o.created_dirs, d);
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
    fsx::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))
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
        let What::Config { change, .. } = &item.what else {
            continue;
        };
        // The same app installed in the other scope keeps the entry.
        if let Some(keeper) = rest.iter_mut().find(|r| {
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
            lines.push(format!(
                "app {} was already gone from {}",
                item.app_id,
                path.display()
            ));
            continue;
        };
        if change.created_app {
            cfg.apps.remove(idx);
            lines.push(format!(
                "unregistered app {} from {}",
                item.app_id,
                path.display()
            ));
            continue;
        }
        change.revert(&mut cfg.apps[idx]);
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
