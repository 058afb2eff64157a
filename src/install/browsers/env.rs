//! The machine a location template is expanded against, and the expansion
//! itself (`~`, `$XDG_*`, `%APPDATA%`, `--root`, `?` and the one-`*` glob).
//! Pure given an `Env`, so every OS's mapping is testable on any OS.

use super::Os;
use std::path::{Path, PathBuf};

/// Everything the mapping depends on, so it is a pure function (and
/// testable for every OS on any OS).
#[derive(Clone, Debug)]
pub struct Env {
    pub os: Os,
    pub home: PathBuf,
    pub xdg_config: PathBuf,
    pub xdg_data: PathBuf,
    /// Prefix of every system path (`/` normally; a scratch dir in tests).
    pub root: PathBuf,
    pub local_app_data: PathBuf,
    pub app_data: PathBuf,
    /// `PATH`, already under `root`.
    pub path: Vec<PathBuf>,
}

impl Env {
    /// From the process environment.
    pub fn from_process(root: Option<PathBuf>) -> anyhow::Result<Env> {
        let os = Os::current();
        let home = directories::BaseDirs::new()
            .map(|b| b.home_dir().to_path_buf())
            .ok_or_else(|| anyhow::anyhow!("cannot find the home directory (is HOME set?)"))?;
        let xdg = |var: &str, default: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| home.join(default))
        };
        let root = root.unwrap_or_else(|| PathBuf::from("/"));
        let path = std::env::var_os("PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .filter(|d| d.is_absolute())
                    .map(|d| under_root(&root, &d))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Env {
            os,
            xdg_config: xdg("XDG_CONFIG_HOME", ".config"),
            xdg_data: xdg("XDG_DATA_HOME", ".local/share"),
            local_app_data: xdg("LOCALAPPDATA", "AppData/Local"),
            app_data: xdg("APPDATA", "AppData/Roaming"),
            home,
            root,
            path,
        })
    }

    /// Expands a location template (no globbing; see `resolve`).
    pub fn expand(&self, template: &str) -> PathBuf {
        let t = template.strip_prefix('?').unwrap_or(template);
        let (base, rest): (&Path, &str) = if let Some(r) = t.strip_prefix("~/") {
            (&self.home, r)
        } else if let Some(r) = t.strip_prefix("$XDG_CONFIG_HOME/") {
            (&self.xdg_config, r)
        } else if let Some(r) = t.strip_prefix("$XDG_DATA_HOME/") {
            (&self.xdg_data, r)
        } else if let Some(r) = t.strip_prefix(r"%LOCALAPPDATA%\") {
            (&self.local_app_data, r)
        } else if let Some(r) = t.strip_prefix(r"%APPDATA%\") {
            (&self.app_data, r)
        } else if t.starts_with('/') {
            return under_root(&self.root, Path::new(t));
        } else {
            return PathBuf::from(t);
        };
        let mut p = base.to_path_buf();
        for part in rest.split(['/', '\\']).filter(|s| !s.is_empty()) {
            p.push(part);
        }
        p
    }

    /// Expands and resolves `*` components against the file system; a
    /// conditional (`?`) system path is dropped when its base is absent.
    pub fn resolve(&self, template: &str) -> Vec<PathBuf> {
        if let Some(t) = template.strip_prefix('?') {
            let base: PathBuf = Path::new(t).components().take(3).collect();
            if !under_root(&self.root, &base).is_dir() {
                return Vec::new();
            }
        }
        let expanded = self.expand(template);
        if !expanded.to_string_lossy().contains('*') {
            return vec![expanded];
        }
        glob(&expanded)
    }

    /// A machine inside the scratch folder `dir`, for tests: HOME is
    /// `dir/home` (XDG folders under it), system paths under `dir/root`,
    /// PATH `dir/root/usr/bin`.
    #[cfg(test)]
    pub fn scratch(dir: &Path, os: Os) -> Env {
        Env {
            os,
            home: dir.join("home"),
            xdg_config: dir.join("home/.config"),
            xdg_data: dir.join("home/.local/share"),
            root: dir.join("root"),
            local_app_data: dir.join("lad"),
            app_data: dir.join("ad"),
            path: vec![dir.join("root/usr/bin")],
        }
    }

    pub fn on_path(&self, bin: &str) -> Option<PathBuf> {
        self.path.iter().map(|d| d.join(bin)).find(|p| p.is_file())
    }
}

/// `root` + an absolute path.
pub fn under_root(root: &Path, p: &Path) -> PathBuf {
    if root == Path::new("/") || root.as_os_str().is_empty() {
        return p.to_path_buf();
    }
    let rel: PathBuf = p
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    root.join(rel)
}

/// The tiny glob the table needs: `*` inside one component, matched
/// against existing directories.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for comp in pattern.components() {
        let part = comp.as_os_str().to_string_lossy();
        if !part.contains('*') {
            for f in &mut found {
                f.push(comp.as_os_str());
            }
            continue;
        }
        let (pre, post) = part.split_once('*').unwrap_or((&part, ""));
        let mut next = Vec::new();
        for f in &found {
            let Ok(rd) = std::fs::read_dir(f) else {
                continue;
            };
            let mut names: Vec<String> = rd
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n.starts_with(pre) && n.ends_with(post) && n.len() >= pre.len() + post.len()
                })
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| f.join(n)));
        }
        found = next;
    }
    found
}
