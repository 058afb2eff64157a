//! Host manifests on disk: each one well-formed and usable, and at least
//! one where some app needs it.

use super::facts::{Facts, Found, Place};
use super::{install_cmd, wanted, Report};
use crate::config::AppConfig;
use crate::install::browsers::Family;
use crate::install::manifest;
use std::path::{Path, PathBuf};

pub fn check_manifests(r: &mut Report, f: &Facts) {
    for found in &f.manifests {
        check_manifest(r, found, &f.places[found.place], &f.apps);
    }
    if !f.manifests.is_empty() {
        return;
    }
    if !f.wants(Family::Chromium) && !f.wants(Family::Firefox) && f.config.is_ok() {
        r.info(
            "manifest",
            "no host manifest, and no app lists an extension (command line only)".into(),
        );
    } else {
        r.fail(
            "manifest",
            format!(
                "no host manifest ({}) in any known location",
                f.hosts
                    .iter()
                    .map(|h| format!("{h}.json"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            install_cmd(f.apps.first(), ""),
        );
    }
}

/// One manifest file: well-formed, pointing at an executable binary, and
/// listing every extension the config allows.
fn check_manifest(r: &mut Report, found: &Found, place: &Place, apps: &[AppConfig]) {
    let who = place.readers.join(", ");
    let label = format!("{} ({who})", found.file.display());
    let m = match manifest::problems(&found.text, &found.host, place.family) {
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

/// An executable file (on Unix: any execute bit; elsewhere: a file).
pub fn is_executable(p: &Path) -> bool {
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
