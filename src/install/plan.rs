//! Which manifest files (and registry keys) an install writes: the browser
//! table applied to the selection, the scope and what is on this machine.

use super::browsers::{self, Browser, Env, Family, Os, Scope, BROWSERS, USER_DATA_DIR};
use crate::fsx::absolute;
use crate::util::push_unique;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub enum Selection {
    /// Every browser found on the machine.
    All,
    /// Only register the app (no manifest).
    None,
    /// These, found or not.
    Named(Vec<&'static Browser>),
}

impl Selection {
    /// From `--browser` values (empty = `all`).
    pub fn parse(values: &[String]) -> anyhow::Result<Selection> {
        let values: Vec<&str> = values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() || values.iter().any(|v| v.eq_ignore_ascii_case("all")) {
            return Ok(Selection::All);
        }
        if values.iter().all(|v| v.eq_ignore_ascii_case("none")) {
            return Ok(Selection::None);
        }
        let mut out: Vec<&'static Browser> = Vec::new();
        for v in values {
            let b = browsers::find(v).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown browser {v:?}; known: all, none, {}",
                    BROWSERS.iter().map(|b| b.id).collect::<Vec<_>>().join(", ")
                )
            })?;
            push_unique(&mut out, b);
        }
        Ok(Selection::Named(out))
    }
}

/// One manifest file to write.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// The folder the manifest goes in.
    pub dir: PathBuf,
    pub family: Family,
    /// Browser ids it serves.
    pub browsers: Vec<String>,
    /// A Flatpak app id: the manifest's `path` is a wrapper that leaves the
    /// sandbox.
    pub flatpak: Option<&'static str>,
    /// Windows: registry keys whose default value points at the manifest.
    pub registry: Vec<String>,
}

impl Target {
    pub fn manifest(&self, host: &str) -> PathBuf {
        self.dir.join(format!("{host}.json"))
    }
}

#[derive(Debug, Default)]
pub struct Plan {
    pub targets: Vec<Target>,
    /// Things the user should know (sandboxes, skipped browsers).
    pub notes: Vec<String>,
    /// Browsers found on the machine (id, how).
    pub found: Vec<(&'static str, String)>,
}

impl Plan {
    fn add(
        &mut self,
        dir: PathBuf,
        family: Family,
        browser: &str,
        flatpak: Option<&'static str>,
        registry: Vec<String>,
    ) {
        if let Some(t) = self.targets.iter_mut().find(|t| t.dir == dir) {
            push_unique(&mut t.browsers, browser.to_string());
            for k in registry {
                push_unique(&mut t.registry, k);
            }
            return;
        }
        self.targets.push(Target {
            dir,
            family,
            browsers: vec![browser.to_string()],
            flatpak,
            registry,
        });
    }

    fn note(&mut self, s: String) {
        push_unique(&mut self.notes, s);
    }
}

pub struct Request<'a> {
    pub selection: &'a Selection,
    pub scope: Scope,
    pub user_data_dirs: &'a [PathBuf],
    /// Families for which ids were given.
    pub families: &'a [Family],
    pub host: &'a str,
}

fn family_flag(f: Family) -> &'static str {
    match f {
        Family::Chromium => "--extension-id",
        Family::Firefox => "--firefox-id",
    }
}

pub fn plan(env: &Env, req: &Request) -> anyhow::Result<Plan> {
    let mut plan = Plan::default();
    let (candidates, named): (Vec<&'static Browser>, bool) = match req.selection {
        Selection::All => (BROWSERS.iter().collect(), false),
        Selection::None => (Vec::new(), false),
        Selection::Named(v) => (v.clone(), true),
    };
    for b in candidates {
        if !b.supported_on(env.os) {
            if named {
                plan.note(format!(
                    "{} has no known manifest location on this OS; skipped",
                    b.name
                ));
            }
            continue;
        }
        let det = browsers::detect(b, env);
        if det.any() {
            plan.found.push((b.id, det.describe()));
        }
        if !named && !det.any() {
            continue;
        }
        if !req.families.contains(&b.family) {
            if named {
                anyhow::bail!(
                    "--browser {} needs {} (it is a {} browser)",
                    b.id,
                    family_flag(b.family),
                    match b.family {
                        Family::Chromium => "Chromium-family",
                        Family::Firefox => "Firefox-family",
                    }
                );
            }
            plan.note(format!(
                "{} found, but no {} was given: no manifest for it",
                b.name,
                family_flag(b.family)
            ));
            continue;
        }
        if env.os == Os::Windows {
            let dir = browsers::windows_manifest_dir(env, req.scope, b.family);
            let keys = browsers::registry_keys(b, req.scope, req.host);
            plan.add(dir, b.family, b.id, None, keys);
            continue;
        }
        let portal_snap = b
            .snap
            .iter()
            .any(|s| s.dir.is_none() && det.snaps.contains(&s.name));
        if named || det.native.is_some() || (portal_snap && req.scope == Scope::User) {
            let dirs = browsers::manifest_dirs(b, env, req.scope);
            if dirs.is_empty() {
                plan.note(match req.scope {
                    Scope::User if !b.no_user_dir.is_empty() => {
                        format!("{}: {}", b.name, b.no_user_dir)
                    }
                    Scope::System => format!(
                        "{} has no system-wide location on this OS; install per user instead",
                        b.name
                    ),
                    Scope::User => {
                        format!("{} has no known manifest location for this scope", b.name)
                    }
                });
            }
            for d in dirs {
                plan.add(d, b.family, b.id, None, Vec::new());
            }
        }
        if env.os != Os::Linux {
            continue;
        }
        for f in b
            .flatpak
            .iter()
            .filter(|f| det.flatpaks.contains(&f.app_id))
        {
            if req.scope == Scope::System {
                plan.note(format!(
                    "Flatpak {}: sandboxed browsers read manifests only inside their own folder; run `logto-companion install` without --system as each user",
                    f.app_id
                ));
                continue;
            }
            for d in f.manifest_dirs(env) {
                plan.add(d, b.family, b.id, Some(f.app_id), Vec::new());
            }
            plan.note(format!(
                "Flatpak {} ({}): the manifest is inside the sandbox and points at a wrapper that runs logto-companion outside it with flatpak-spawn --host. Allow that once with:\n    flatpak override --user --talk-name=org.freedesktop.Flatpak {}",
                f.app_id, b.name, f.app_id
            ));
        }
        for s in b.snap.iter().filter(|s| det.snaps.contains(&s.name)) {
            match (s.dir, s.manifest_dir(env)) {
                (Some(dir), Some(d)) if req.scope == Scope::User => {
                    plan.add(d, b.family, b.id, None, Vec::new());
                    plan.note(format!(
                        "Snap {}: the manifest is in ~/snap/{}/{}; strict confinement may still refuse to start a program outside the snap. If the extension reports \"Native host has exited\", use a non-Snap {} (deb/rpm/Flatpak).",
                        s.name, s.name, dir, b.name
                    ));
                }
                (Some(_), _) => plan.note(format!(
                    "Snap {}: reads manifests only inside ~/snap/{}; run `logto-companion install` without --system as each user",
                    s.name, s.name
                )),
                (None, _) => plan.note(format!(
                    "Snap {}: it reaches native hosts through the WebExtensions portal (xdg-desktop-portal), which reads the ordinary {} manifest{}; the first connection asks you to allow it.",
                    s.name,
                    b.name,
                    if req.scope == Scope::User { " written here" } else { "" }
                )),
            }
        }
    }
    for d in req.user_data_dirs {
        if !req.families.contains(&Family::Chromium) {
            anyhow::bail!("--user-data-dir is for Chromium profiles and needs --extension-id");
        }
        if env.os == Os::Windows {
            anyhow::bail!(
                "--user-data-dir: Chromium on Windows reads manifests only through the registry"
            );
        }
        plan.add(
            absolute(d).join("NativeMessagingHosts"),
            Family::Chromium,
            USER_DATA_DIR,
            None,
            Vec::new(),
        );
    }
    if matches!(req.selection, Selection::All)
        && plan.targets.is_empty()
        && req.user_data_dirs.is_empty()
    {
        let looked: Vec<&str> = BROWSERS
            .iter()
            .filter(|b| b.supported_on(env.os))
            .map(|b| b.id)
            .collect();
        plan.note(format!(
            "no browser found on this machine (looked for: {}). Name one with --browser <name> (written even if not found), or use --user-data-dir <dir> for a Chromium profile started with that flag.",
            looked.join(", ")
        ));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_writes_only_what_is_found() {
        let t = tempfile::tempdir().unwrap();
        let env = Env::scratch(t.path(), Os::Linux);
        std::fs::create_dir_all(env.xdg_config.join("google-chrome")).unwrap();
        std::fs::write(env.xdg_config.join("google-chrome/Local State"), "{}").unwrap();
        std::fs::create_dir_all(t.path().join("root/usr/bin")).unwrap();
        std::fs::write(t.path().join("root/usr/bin/firefox"), "").unwrap();
        let req = Request {
            selection: &Selection::All,
            scope: Scope::User,
            user_data_dirs: &[],
            families: &[Family::Chromium, Family::Firefox],
            host: "logto_companion",
        };
        let p = plan(&env, &req).unwrap();
        let dirs: Vec<_> = p.targets.iter().map(|t| t.dir.clone()).collect();
        assert_eq!(
            dirs,
            [
                env.xdg_config.join("google-chrome/NativeMessagingHosts"),
                env.home.join(".mozilla/native-messaging-hosts")
            ]
        );
        // Without Firefox ids, Firefox is found but skipped with a note.
        let req = Request {
            families: &[Family::Chromium],
            ..req
        };
        let p = plan(&env, &req).unwrap();
        assert_eq!(p.targets.len(), 1);
        assert!(
            p.notes.iter().any(|n| n.contains("--firefox-id")),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn shared_folders_are_written_once() {
        let t = tempfile::tempdir().unwrap();
        let env = Env::scratch(t.path(), Os::Linux);
        let sel = Selection::parse(&["chrome".into(), "opera".into(), "brave".into()]).unwrap();
        let req = Request {
            selection: &sel,
            scope: Scope::System,
            user_data_dirs: &[],
            families: &[Family::Chromium],
            host: "h",
        };
        let p = plan(&env, &req).unwrap();
        let chrome_sys = p
            .targets
            .iter()
            .find(|t| t.dir.ends_with("etc/opt/chrome/native-messaging-hosts"))
            .unwrap();
        assert_eq!(chrome_sys.browsers, ["chrome", "opera", "brave"]);
    }

    #[test]
    fn windows_targets_are_one_file_per_family_plus_keys() {
        let t = tempfile::tempdir().unwrap();
        let env = Env::scratch(t.path(), Os::Windows);
        let sel = Selection::parse(&["chrome,edge".into(), "firefox".into()]).unwrap();
        let req = Request {
            selection: &sel,
            scope: Scope::User,
            user_data_dirs: &[],
            families: &[Family::Chromium, Family::Firefox],
            host: "logto_companion",
        };
        let p = plan(&env, &req).unwrap();
        assert_eq!(p.targets.len(), 2);
        assert_eq!(p.targets[0].registry.len(), 2);
        assert!(p.targets[0].registry[1].contains(r"Microsoft\Edge"));
        assert_eq!(p.targets[1].family, Family::Firefox);
    }

    #[test]
    fn flatpak_and_snap_are_detected() {
        let t = tempfile::tempdir().unwrap();
        let env = Env::scratch(t.path(), Os::Linux);
        std::fs::create_dir_all(env.home.join(".var/app/com.google.Chrome")).unwrap();
        std::fs::create_dir_all(env.home.join("snap/firefox")).unwrap();
        let req = Request {
            selection: &Selection::All,
            scope: Scope::User,
            user_data_dirs: &[],
            families: &[Family::Chromium, Family::Firefox],
            host: "h",
        };
        let p = plan(&env, &req).unwrap();
        let fp = p.targets.iter().find(|t| t.flatpak.is_some()).unwrap();
        assert_eq!(
            fp.dir,
            env.home
                .join(".var/app/com.google.Chrome/config/google-chrome/NativeMessagingHosts")
        );
        // Snap Firefox: the ordinary per-user folder, read by the portal.
        assert!(p
            .targets
            .iter()
            .any(|t| t.dir == env.home.join(".mozilla/native-messaging-hosts")));
        assert!(p.notes.iter().any(|n| n.contains("flatpak override")));
        assert!(p.notes.iter().any(|n| n.contains("WebExtensions portal")));
    }

    #[test]
    fn selection_parsing() {
        assert!(matches!(Selection::parse(&[]).unwrap(), Selection::All));
        assert!(matches!(
            Selection::parse(&["none".into()]).unwrap(),
            Selection::None
        ));
        let e = Selection::parse(&["netscape".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown browser") && e.contains("chromium"),
            "{e}"
        );
    }
}
