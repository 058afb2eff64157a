//! Windows: every registry key `install` wrote, read back. A browser on
//! Windows finds a host only through its key, so a key that is missing,
//! empty, or points at another manifest breaks the browser however good the
//! manifest file is.

use super::facts::Facts;
use super::{install_cmd, Report};
use crate::install::browsers::{display_names, Scope};
use crate::install::record::What;
use crate::install::registry::Reading;
use crate::util::push_unique;
use std::path::Path;

pub fn check_registry(r: &mut Report, f: &Facts) {
    let mut recorded: Vec<String> = Vec::new();
    if let Ok(record) = &f.record {
        for i in &record.items {
            let What::Registry { key, value } = &i.what else {
                continue;
            };
            let lower = key.to_ascii_lowercase();
            if recorded.contains(&lower) {
                continue; // the same key for another app: one line is enough
            }
            push_unique(&mut recorded, lower);
            let Some(k) = f.registry.iter().find(|k| k.key.eq_ignore_ascii_case(key)) else {
                continue;
            };
            // The recorded browsers that read this key (one manifest serves
            // Chrome and Edge, but each reads its own key).
            let mut ids: Vec<String> = k
                .readers
                .iter()
                .map(|b| b.id.to_string())
                .filter(|id| i.browsers.contains(id))
                .collect();
            if ids.is_empty() {
                ids = i.browsers.clone();
            }
            let readers = display_names(&ids);
            let system = if i.scope == Scope::System {
                " --system"
            } else {
                ""
            };
            let fix = install_cmd(
                f.apps.iter().find(|a| a.app_id == i.app_id),
                &format!("--browser {}{system}", ids.join(",")),
            );
            match &k.reading {
                Err(e) => r.fail_code("registry", e.code(), e.to_string(), fix),
                Ok(Reading::NoKey) => r.fail(
                    "registry",
                    format!("{key} is missing, so {readers} cannot find the host manifest (install wrote the key for app {})", i.app_id),
                    fix,
                ),
                Ok(Reading::NoValue) => r.fail(
                    "registry",
                    format!("{key} has no default value, so {readers} find no host manifest there (install set it to {value})"),
                    fix,
                ),
                Ok(Reading::Value(v)) if !v.eq_ignore_ascii_case(value) => r.fail(
                    "registry",
                    format!(
                        "{key} points at {v}{}, not at {value}, the manifest install wrote for app {}",
                        if Path::new(v).is_file() { "" } else { " (no such file)" },
                        i.app_id
                    ),
                    fix,
                ),
                Ok(Reading::Value(v)) if !Path::new(v).is_file() => r.fail(
                    "registry",
                    format!("{key} points at {v}, which does not exist"),
                    fix,
                ),
                Ok(Reading::Value(v)) => r.ok("registry", format!("{key} → {v} ({readers})")),
            }
        }
    }
    // Keys install did not write (another copy, an older install): worth a
    // line, and their manifests are checked like every other.
    for k in &f.registry {
        if recorded.contains(&k.key.to_ascii_lowercase()) {
            continue;
        }
        match &k.reading {
            Ok(Reading::Value(v)) => r.info(
                "registry",
                format!("{} → {v} (not in the install record)", k.key),
            ),
            Err(e) => r.info("registry", e.to_string()),
            Ok(Reading::NoKey | Reading::NoValue) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AppConfig, Config};
    use crate::install::browsers::{by_id, Env, Os};
    use crate::install::doctor::facts::KeyReading;
    use crate::install::doctor::Status;
    use crate::install::record::{Item, Record};
    use crate::install::registry::RegistryError;
    use crate::paths::Paths;

    const CHROME: &str = r"HKEY_CURRENT_USER\SOFTWARE\Google\Chrome\NativeMessagingHosts\h";

    /// The report for one recorded key that reads as `reading`.
    fn report(recorded_value: &str, reading: Result<Reading, RegistryError>) -> Vec<String> {
        let t = tempfile::tempdir().unwrap();
        let paths = Paths {
            config_dir: t.path().join("config"),
            state_dir: t.path().join("state"),
            runtime_dir: t.path().join("run"),
        };
        let env = Env::scratch(t.path(), Os::Windows);
        let mut record = Record::default();
        record.add(Item {
            app_id: "a".into(),
            endpoint: "https://e.example".into(),
            scope: Scope::User,
            browsers: vec!["chrome".into(), "edge".into()],
            what: What::Registry {
                key: CHROME.into(),
                value: recorded_value.into(),
            },
            owner: None,
        });
        let app = AppConfig {
            endpoint: "https://e.example".into(),
            app_id: "a".into(),
            ..AppConfig::default()
        };
        let f = Facts {
            paths: &paths,
            env: &env,
            exe: "x".into(),
            thin_exe: "x".into(),
            config_path: paths.config_file(),
            config: Ok(Config::default()),
            apps: vec![app],
            record: Ok(record),
            hosts: vec!["h".into()],
            browsers: vec![],
            places: vec![],
            manifests: vec![],
            registry: vec![
                KeyReading {
                    key: CHROME.to_ascii_lowercase(), // the table and the record may differ in case
                    readers: vec![by_id("chrome").unwrap()],
                    reading,
                },
                KeyReading {
                    key: r"HKEY_LOCAL_MACHINE\SOFTWARE\Mozilla\NativeMessagingHosts\h".into(),
                    readers: vec![by_id("firefox").unwrap()],
                    reading: Ok(Reading::Value(r"C:\other\h.json".into())),
                },
            ],
        };
        let mut r = Report::default();
        check_registry(&mut r, &f);
        r.checks.iter().map(|c| c.line()).collect()
    }

    #[test]
    fn a_recorded_key_that_is_fine_is_a_tick_and_a_foreign_key_is_listed() {
        let t = tempfile::tempdir().unwrap();
        let manifest = t.path().join("h.json");
        std::fs::write(&manifest, "{}").unwrap();
        let m = manifest.display().to_string();
        let lines = report(&m, Ok(Reading::Value(m.clone())));
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with(&format!("✓ {CHROME} → ")), "{lines:?}");
        assert_eq!(
            lines[1],
            r"· HKEY_LOCAL_MACHINE\SOFTWARE\Mozilla\NativeMessagingHosts\h → C:\other\h.json (not in the install record)"
        );
    }

    #[test]
    fn a_missing_empty_or_redirected_key_is_explained_with_the_install_that_fixes_it() {
        let fix =
            "fix: logto-companion install --endpoint https://e.example --app-id a --browser chrome";
        let missing = report(r"C:\m\h.json", Ok(Reading::NoKey));
        assert_eq!(
            missing[0],
            format!("✗ {CHROME} is missing, so Google Chrome cannot find the host manifest (install wrote the key for app a) — {fix}")
        );
        let empty = report(r"C:\m\h.json", Ok(Reading::NoValue));
        assert!(
            empty[0].contains("has no default value") && empty[0].ends_with(fix),
            "{empty:?}"
        );
        let other = report(r"C:\m\h.json", Ok(Reading::Value(r"C:\x\y.json".into())));
        assert!(
            other[0].contains(r"points at C:\x\y.json (no such file), not at C:\m\h.json"),
            "{other:?}"
        );
        let gone = report(r"C:\m\h.json", Ok(Reading::Value(r"C:\m\h.json".into())));
        assert!(
            gone[0].contains(r"points at C:\m\h.json, which does not exist"),
            "{gone:?}"
        );
        let denied = report(
            r"C:\m\h.json",
            Err(RegistryError::AccessDenied {
                key: CHROME.into(),
                op: "read",
            }),
        );
        assert!(denied[0].starts_with("✗ access denied to"), "{denied:?}");
    }

    #[test]
    fn a_registry_failure_carries_its_code_in_json() {
        let mut r = Report::default();
        let e = RegistryError::NotAString { key: CHROME.into() };
        r.fail_code("registry", e.code(), e.to_string(), "x");
        assert_eq!(r.checks[0].status, Status::Fail);
        let v = serde_json::to_value(&r.checks[0]).unwrap();
        assert_eq!(v["code"], "registry_not_a_string");
    }
}
