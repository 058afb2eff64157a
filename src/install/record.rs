//! The install record (`$XDG_STATE_HOME/logto-companion/installed.json`):
//! every file, registry value and config change `install` made, so
//! `uninstall` undoes exactly those and nothing else.
//!
//! Several apps can share one resource (one host manifest serves every app).
//! Exactly one item per resource carries its `owner`: whether we created it,
//! what was there before, which folders we created. When that item goes
//! while others stay, ownership passes to one of them.

use super::browsers::{Family, Scope};
use super::config_change::ConfigChange;
use super::union;
use crate::fsx;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const RECORD_VERSION: u32 = 1;

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Record {
    #[serde(default)]
    pub version: u32,
    #[serde(default)]
    pub items: Vec<Item>,
    /// Folders created to hold the record file itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_dirs: Vec<PathBuf>,
    /// The program files an installer script copied (`installers/install.sh`
    /// and `install.ps1` run `install --copied-programs`): `uninstall`
    /// deletes them once nothing else is recorded. Empty for a package,
    /// whose manager owns its files (`dpkg -r`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<PathBuf>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Item {
    pub app_id: String,
    pub endpoint: String,
    pub scope: Scope,
    /// Browser ids served (`user-data-dir` for `--user-data-dir` targets);
    /// empty for the config.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub browsers: Vec<String>,
    #[serde(flatten)]
    pub what: What,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// A host manifest.
    Manifest {
        path: PathBuf,
        host_name: String,
        family: Family,
        /// Every id this app wants in the file.
        ids: Vec<String>,
        /// The ids that were not there before (the ones uninstall removes).
        added: Vec<String>,
    },
    /// Another file (the Flatpak wrapper script).
    File { path: PathBuf },
    /// Windows: a registry key whose default value points at a manifest.
    Registry { key: String, value: String },
    /// The app's entry in `config.toml`.
    Config {
        path: PathBuf,
        #[serde(flatten)]
        change: ConfigChange,
    },
}

/// Who owns a shared resource, and how to give it back.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Owner {
    /// We created it (uninstall may delete it).
    pub created: bool,
    /// Its content (or registry value) before we first touched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
    /// Folders we created for it, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_dirs: Vec<PathBuf>,
    /// Windows: registry keys we created above a registry item's key,
    /// outermost first (e.g. `…\Google\Chrome\NativeMessagingHosts` on a
    /// machine without Chrome); uninstall deletes each one still empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_keys: Vec<String>,
}

impl What {
    /// The shared thing this item touches.
    pub fn resource(&self) -> String {
        match self {
            What::Manifest { path, .. } | What::File { path } => {
                format!("file:{}", path.display())
            }
            What::Registry { key, .. } => format!("registry:{}", key.to_ascii_lowercase()),
            What::Config { path, .. } => format!("config:{}", path.display()),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            What::Manifest { path, .. } | What::File { path } | What::Config { path, .. } => {
                Some(path)
            }
            What::Registry { .. } => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            What::Manifest { path, .. } | What::File { path } => path.display().to_string(),
            What::Registry { key, .. } => key.clone(),
            What::Config { path, .. } => format!("app entry in {}", path.display()),
        }
    }
}

impl Item {
    fn same_slot(&self, other: &Item) -> bool {
        self.app_id == other.app_id
            && crate::config::normalize_endpoint(&self.endpoint)
                == crate::config::normalize_endpoint(&other.endpoint)
            && self.scope == other.scope
            && self.what.resource() == other.what.resource()
    }

    /// Folds a later install of the same app into the same resource.
    fn absorb(&mut self, later: Item) {
        union(&mut self.browsers, &later.browsers);
        if self.owner.is_none() {
            self.owner = later.owner;
        }
        match (&mut self.what, later.what) {
            (
                What::Manifest { ids, added, .. },
                What::Manifest {
                    ids: ids2,
                    added: added2,
                    ..
                },
            ) => {
                union(ids, &ids2);
                union(added, &added2);
            }
            (What::Config { change, .. }, What::Config { change: later, .. }) => {
                change.absorb(later);
            }
            (mine, theirs) => *mine = theirs,
        }
    }
}

impl Record {
    pub fn load(path: &Path) -> anyhow::Result<Record> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!(
                    "the install record {} is not readable; fix or delete it (deleting it makes `uninstall` forget what `install` wrote)",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record {
                version: RECORD_VERSION,
                ..Default::default()
            }),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the record, or deletes it (and the folders made for it) when
    /// it is empty.
    pub fn save(&mut self, path: &Path) -> anyhow::Result<()> {
        if self.items.is_empty() && self.programs.is_empty() {
            fsx::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
            fsx::remove_empty_dirs(&self.created_dirs);
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            let made = fsx::create_dirs(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            union(&mut self.created_dirs, &made);
        }
        self.version = RECORD_VERSION;
        let text = serde_json::to_string_pretty(self)? + "\n";
        fsx::write_atomic(path, text.as_bytes(), 0o600)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn has_resource(&self, resource: &str) -> bool {
        self.items.iter().any(|i| i.what.resource() == resource)
    }

    /// The item that owns `resource`, if any.
    pub fn owner_of(&mut self, resource: &str) -> Option<&mut Owner> {
        self.items
            .iter_mut()
            .filter(|i| i.what.resource() == resource)
            .find_map(|i| i.owner.as_mut())
    }

    /// Adds an item, folding it into an earlier install of the same app and
    /// resource.
    pub fn add(&mut self, mut item: Item) {
        if self.has_resource(&item.what.resource()) {
            // Someone already owns it; a second owner would double-undo.
            let owner = item.owner.take();
            if let Some(o) = owner {
                if let Some(existing) = self.owner_of(&item.what.resource()) {
                    union(&mut existing.created_dirs, &o.created_dirs);
                    union(&mut existing.created_keys, &o.created_keys);
                }
            }
        }
        if let Some(i) = self.items.iter_mut().find(|i| i.same_slot(&item)) {
            i.absorb(item);
        } else {
            self.items.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_item(app: &str, ids: &[&str], added: &[&str], owner: Option<Owner>) -> Item {
        Item {
            app_id: app.into(),
            endpoint: "https://e.example".into(),
            scope: Scope::User,
            browsers: vec!["chrome".into()],
            what: What::Manifest {
                path: "/x/logto_companion.json".into(),
                host_name: "logto_companion".into(),
                family: Family::Chromium,
                ids: ids.iter().map(|s| s.to_string()).collect(),
                added: added.iter().map(|s| s.to_string()).collect(),
            },
            owner,
        }
    }

    #[test]
    fn same_app_folds_and_ownership_stays_single() {
        let mut r = Record::default();
        r.add(manifest_item(
            "a",
            &["o1"],
            &["o1"],
            Some(Owner {
                created: true,
                ..Default::default()
            }),
        ));
        r.add(manifest_item("a", &["o2"], &["o2"], None));
        assert_eq!(r.items.len(), 1);
        match &r.items[0].what {
            What::Manifest { ids, added, .. } => {
                assert_eq!(ids, &["o1", "o2"]);
                assert_eq!(added, &["o1", "o2"]);
            }
            _ => unreachable!(),
        }
        // Another app: its own item, no second owner.
        r.add(manifest_item(
            "b",
            &["o3"],
            &["o3"],
            Some(Owner {
                created: false,
                ..Default::default()
            }),
        ));
        assert_eq!(r.items.len(), 2);
        assert!(r.items[1].owner.is_none());
        assert!(r.owner_of("file:/x/logto_companion.json").unwrap().created);
    }

    #[test]
    fn round_trips_as_json() {
        let mut r = Record::default();
        r.add(manifest_item("a", &["o1"], &["o1"], Some(Owner::default())));
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains(r#""kind":"manifest""#), "{text}");
        let back: Record = serde_json::from_str(&text).unwrap();
        assert_eq!(back.items, r.items);
    }

    #[test]
    fn reads_config_items_written_before_config_change_existed() {
        // The record format of earlier releases: the change's fields sit
        // flat beside `kind` and `path`.
        let text = r#"{"version":1,"items":[{"app_id":"a","endpoint":"https://e.example","scope":"user",
            "kind":"config","path":"/c/config.toml","created_app":false,
            "added_origins":["x@y"],"added_scopes":[],"added_resources":[],
            "previous_allow_cli":true,"post_logout_changed":true,
            "previous_post_logout":"https://e.example/bye","issuer_changed":false}]}"#;
        let r: Record = serde_json::from_str(text).unwrap();
        let What::Config { path, change } = &r.items[0].what else {
            panic!("{:?}", r.items[0].what)
        };
        assert_eq!(path, Path::new("/c/config.toml"));
        assert_eq!(change.added_origins, ["x@y"]);
        assert_eq!(change.previous_allow_cli, Some(true));
        assert!(change.post_logout_changed);
        assert_eq!(
            change.previous_post_logout.as_deref(),
            Some("https://e.example/bye")
        );
        // Written back, it has the same flat shape.
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        let item = &v["items"][0];
        assert_eq!(item["kind"], "config");
        assert_eq!(item["previous_allow_cli"], true);
        assert_eq!(item["added_origins"][0], "x@y");
        assert!(item.get("change").is_none(), "{item}");
    }
}
