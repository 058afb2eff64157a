//! Host manifests on disk: each one well-formed and usable, and at least
//! one where some app needs it.

use super::facts::{Facts, Found, Place};
use super::{install_cmd, wanted, Report};
use crate::config::AppConfig;
use crate::install::browsers::{Family, Os};
use crate::install::manifest;
use std::path::{Path, PathBuf};

pub fn check_manifests(r: &mut Report, f: &Facts) {
    // Windows: the manifest names the exe the browser starts; say when that
    // is another copy than the one running doctor (fine for an installed
    // copy, and the reason a fix "did nothing" when it is a stale one).
    // Unix keeps its report as it was.
    let this_exe = (f.env.os == Os::Windows).then_some(f.thin_exe.as_str());
    for found in &f.manifests {
        check_manifest(r, found, &f.places[found.place], &f.apps, this_exe);
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
fn check_manifest(
    r: &mut Report,
    found: &Found,
    place: &Place,
    apps: &[AppConfig],
    this_exe: Option<&str>,
) {
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
    } else if target.file_name() == Some(std::ffi::OsStr::new(crate::paths::THIN_BIN))
        && !target.with_file_name(crate::paths::DAEMON_BIN).is_file()
    {
        // The thin host starts the daemon from its own folder.
        fine = false;
        r.fail(
            "manifest",
            format!(
                "{label}: the host binary {} has no {} beside it, so it cannot start the daemon",
                m.path,
                crate::paths::DAEMON_BIN
            ),
            "reinstall both binaries side by side (installers/install.sh, the .deb or the Windows zip)",
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
    if let Some(exe) = this_exe.filter(|e| !same_file(&target, Path::new(e))) {
        if target.exists() {
            r.info(
                "manifest",
                format!(
                    "{label}: \"path\" is {}, not this program ({}); browsers start {}, so run its doctor to check the copy they use",
                    m.path, exe, m.path
                ),
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

/// The same file, however spelled (case, `\\?\`, `..`).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
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
