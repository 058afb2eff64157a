//! The browsers found on this machine: each one that an app needs has a
//! host manifest where it reads, sandboxed builds included.

use super::facts::{Facts, Seen};
use super::manifests::is_executable;
use super::{install_cmd, wanted, Report};
use crate::install::browsers::{
    flatpak_wrapper_path, manifest_dirs, under_root, Env, Family, Scope,
};
use std::path::{Path, PathBuf};

pub fn check_browsers(r: &mut Report, f: &Facts) {
    // Manifests a browser found on this machine reads (so another browser
    // sharing the folder, e.g. Opera and Chrome, is not worth a line).
    let used_by_found: Vec<PathBuf> = f
        .browsers
        .iter()
        .filter(|s| s.detection.native.is_some())
        .flat_map(|s| &s.dirs)
        .flat_map(|d| f.hosts.iter().map(move |h| d.join(format!("{h}.json"))))
        .collect();
    for seen in &f.browsers {
        check_native(r, f, seen, &used_by_found);
        check_flatpaks(r, f, seen);
        check_snaps(r, f, seen);
    }
}

/// The `install … --browser <id>` that writes what is missing for `seen`.
fn fix_for(f: &Facts, seen: &Seen) -> String {
    install_cmd(f.apps.first(), &format!("--browser {}", seen.browser.id))
}

fn check_native(r: &mut Report, f: &Facts, seen: &Seen, used_by_found: &[PathBuf]) {
    let b = seen.browser;
    let manifest = f.manifest_in(&seen.dirs);
    let Some(how) = &seen.detection.native else {
        if let Some(m) = manifest {
            if !seen.detection.any() && !used_by_found.contains(m) {
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
        return;
    };
    let how = if b.note.is_empty() {
        how.clone()
    } else {
        format!("{how}; note: {}", b.note)
    };
    match (manifest, f.wants(b.family)) {
        (Some(m), _) => r.ok(
            "browser",
            format!(
                "{}: installed ({how}); host manifest {}",
                b.name,
                m.display()
            ),
        ),
        (None, true) => r.fail(
            "browser",
            format!("{}: installed ({how}) but has no host manifest", b.name),
            install_cmd(
                f.apps
                    .iter()
                    .find(|a| !wanted(std::slice::from_ref(*a), b.family).is_empty()),
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
}

fn check_flatpaks(r: &mut Report, f: &Facts, seen: &Seen) {
    let b = seen.browser;
    for fp in b
        .flatpak
        .iter()
        .filter(|fp| seen.detection.flatpaks.contains(&fp.app_id))
    {
        let Some(m) = f.manifest_in(&fp.manifest_dirs(f.env)) else {
            if f.wants(b.family) {
                r.fail(
                    "sandbox",
                    format!(
                        "Flatpak {} ({}): no host manifest inside its sandbox",
                        fp.app_id, b.name
                    ),
                    fix_for(f, seen),
                );
            } else {
                r.info(
                    "sandbox",
                    format!(
                        "Flatpak {} ({}): found; no manifest needed",
                        fp.app_id, b.name
                    ),
                );
            }
            continue;
        };
        let wrapper = flatpak_wrapper_path(f.env, fp.app_id);
        if !is_executable(&wrapper) {
            r.fail(
                "sandbox",
                format!(
                    "Flatpak {}: {} points outside the sandbox but {} is missing",
                    fp.app_id,
                    m.display(),
                    wrapper.display()
                ),
                fix_for(f, seen),
            );
        } else if !flatpak_may_spawn(f.env, fp.app_id) {
            r.fail(
                "sandbox",
                format!("Flatpak {}: manifest in place, but the sandbox may not run programs outside it (flatpak-spawn --host)", fp.app_id),
                format!("flatpak override --user --talk-name=org.freedesktop.Flatpak {}", fp.app_id),
            );
        } else {
            r.ok(
                "sandbox",
                format!(
                    "Flatpak {}: manifest {} and host-spawn permission in place",
                    fp.app_id,
                    m.display()
                ),
            );
        }
    }
}

fn check_snaps(r: &mut Report, f: &Facts, seen: &Seen) {
    let b = seen.browser;
    for s in b
        .snap
        .iter()
        .filter(|s| seen.detection.snaps.contains(&s.name))
    {
        // A snap with its own folder reads only that; one that goes through
        // the WebExtensions portal reads the ordinary per-user manifest.
        let own = s.manifest_dir(f.env);
        let dirs = match &own {
            Some(d) => vec![d.clone()],
            None => manifest_dirs(b, f.env, Scope::User),
        };
        match (f.manifest_in(&dirs), &own) {
            (Some(m), Some(_)) => r.ok(
                "sandbox",
                format!("Snap {}: manifest {} (strict confinement may still refuse to start the host; if the extension reports \"Native host has exited\", use a non-Snap {})", s.name, m.display(), b.name),
            ),
            (Some(m), None) => r.ok(
                "sandbox",
                format!("Snap {}: goes through the WebExtensions portal, which reads {} (the first connection asks you to allow it)", s.name, m.display()),
            ),
            (None, _) if !f.wants(b.family) => r.info(
                "sandbox",
                format!("Snap {}: found; no manifest needed", s.name),
            ),
            (None, Some(d)) => r.fail(
                "sandbox",
                format!("Snap {}: no host manifest in {}", s.name, d.display()),
                fix_for(f, seen),
            ),
            (None, None) => r.fail(
                "sandbox",
                format!("Snap {}: goes through the WebExtensions portal, which reads the per-user manifest; there is none", s.name),
                fix_for(f, seen),
            ),
        }
    }
}

/// Whether a Flatpak app may call `flatpak-spawn --host` (talk to
/// org.freedesktop.Flatpak), per the user and system overrides.
fn flatpak_may_spawn(env: &Env, app_id: &str) -> bool {
    let files = [
        env.xdg_data.join("flatpak/overrides").join(app_id),
        env.xdg_data.join("flatpak/overrides/global"),
        under_root(&env.root, Path::new("/var/lib/flatpak/overrides")).join(app_id),
        under_root(&env.root, Path::new("/var/lib/flatpak/overrides/global")),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatpak_spawn_permission_is_read_from_the_overrides() {
        let t = tempfile::tempdir().unwrap();
        let env = Env::scratch(t.path(), crate::install::browsers::Os::Linux);
        assert!(!flatpak_may_spawn(&env, "org.mozilla.firefox"));
        let dir = env.xdg_data.join("flatpak/overrides");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("org.mozilla.firefox"),
            "[Session Bus Policy]\norg.freedesktop.Flatpak = talk\n",
        )
        .unwrap();
        assert!(flatpak_may_spawn(&env, "org.mozilla.firefox"));
        assert!(!flatpak_may_spawn(&env, "com.google.Chrome"));
    }
}
