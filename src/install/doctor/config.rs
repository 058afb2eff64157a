//! `config.toml` and the install record: readable, every allowed origin
//! well-formed, and every file the record says was written still there.

use super::facts::Facts;
use super::{install_cmd, Report};
use crate::install::record::What;
use crate::protocol::Origin;

pub fn check_config(r: &mut Report, f: &Facts) {
    let path = f.config_path.display();
    let c = match &f.config {
        Ok(c) => c,
        Err(e) => {
            r.fail("config", e.to_string(), format!("correct or remove {path}"));
            return;
        }
    };
    if c.apps.is_empty() {
        r.fail(
            "config",
            format!("no app is registered in {path}"),
            install_cmd(None, ""),
        );
    } else {
        r.ok(
            "config",
            format!(
                "{path}: {}",
                c.apps
                    .iter()
                    .map(|a| format!("{} at {}", a.app_id, a.endpoint))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    for a in &c.apps {
        for o in &a.allowed_origins {
            // Written as the browser presents it (with the trailing slash
            // for Chromium), or the daemon's comparison never matches.
            let fine = o.parse::<Origin>().is_ok_and(|p| p.to_string() == *o);
            if !fine {
                r.fail(
                    "config",
                    format!("app {}: allowed origin {o:?} is neither chrome-extension://<32 letters a-p>/ nor a Firefox add-on id", a.app_id),
                    format!("correct it in {path}"),
                );
            }
        }
    }
}

pub fn check_record_readable(r: &mut Report, f: &Facts) {
    if let Err(e) = &f.record {
        r.fail(
            "record",
            format!("{e:#}"),
            format!("delete {}", f.paths.install_record().display()),
        );
    }
}

pub fn check_recorded_files(r: &mut Report, f: &Facts) {
    let Ok(record) = &f.record else { return };
    for i in &record.items {
        if let What::Manifest { path, .. } | What::File { path } = &i.what {
            if !path.exists() {
                r.fail(
                    "record",
                    format!(
                        "{} was written by install for app {} and is gone",
                        path.display(),
                        i.app_id
                    ),
                    "run the same `logto-companion install …` again".to_string(),
                );
            }
        }
    }
}
