//! `doctor`: checks the installation and explains every problem, one line
//! each with ✓/✗ and the fix. Exit code 1 when anything is ✗.
//!
//! What the checks look at (config, record, browsers, manifests on disk) is
//! gathered once in `facts.rs`; each check is a small function over those
//! facts that only adds lines to the report. The order of the report is the
//! order of the calls in `checks`.

mod browsers;
mod config;
mod daemon;
mod endpoint;
mod facts;
mod keychain;
mod manifests;
mod registry;

use super::{env_for, DoctorArgs};
use crate::config::AppConfig;
use crate::install::browsers::Family;
use crate::paths::Paths;
use crate::protocol::Origin;
use facts::Facts;
use serde::Serialize;
use serde_json::json;
use std::process::ExitCode;

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Fail,
    Info,
}

/// One line of the report (and one entry of `--json`'s `checks`).
#[derive(Serialize, Clone, Debug)]
pub struct Check {
    pub status: Status,
    pub area: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The stable code of the error behind a failure, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl Check {
    pub fn line(&self) -> String {
        let mark = match self.status {
            Status::Ok => "✓",
            Status::Fail => "✗",
            Status::Info => "·",
        };
        match &self.fix {
            Some(f) => format!("{mark} {} — fix: {f}", self.message),
            None => format!("{mark} {}", self.message),
        }
    }
}

/// The lines so far. A failure always carries its fix.
#[derive(Default)]
pub struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn push(&mut self, status: Status, area: &'static str, message: String, fix: Option<String>) {
        self.checks.push(Check {
            status,
            area,
            message,
            fix,
            code: None,
        });
    }
    pub fn ok(&mut self, area: &'static str, m: String) {
        self.push(Status::Ok, area, m, None);
    }
    pub fn info(&mut self, area: &'static str, m: String) {
        self.push(Status::Info, area, m, None);
    }
    pub fn fail(&mut self, area: &'static str, m: String, fix: impl Into<String>) {
        self.push(Status::Fail, area, m, Some(fix.into()));
    }
    /// A failure with the stable code of the error behind it.
    pub fn fail_code(
        &mut self,
        area: &'static str,
        code: &'static str,
        m: String,
        fix: impl Into<String>,
    ) {
        self.fail(area, m, fix);
        if let Some(c) = self.checks.last_mut() {
            c.code = Some(code);
        }
    }
}

/// `logto-companion doctor`.
pub fn run(paths: &Paths, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let env = env_for(&args.hidden)?;
    let facts = Facts::gather(paths, &env, &args.host_names, &args.user_data_dirs);
    let mut r = Report::default();
    checks(&mut r, &facts, args.offline);
    // Only now: during the checks a daemon closing the socket must stay a
    // reported problem, not a silent death by SIGPIPE.
    logto_companion_client::commands::printing_now();
    let failures = r.checks.iter().filter(|c| c.status == Status::Fail).count();
    if args.json {
        println!(
            "{}",
            json!({"ok": failures == 0, "problems": failures, "checks": r.checks})
        );
    } else {
        for c in &r.checks {
            println!("{}", c.line());
        }
        if failures == 0 {
            println!("No problems found.");
        } else {
            println!("{failures} problem(s) found.");
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Every check, in report order.
fn checks(r: &mut Report, f: &Facts, offline: bool) {
    r.info(
        "binary",
        format!(
            "logto-companion {} at {}, daemon binary {}",
            env!("CARGO_PKG_VERSION"),
            f.thin_exe,
            f.exe
        ),
    );
    r.info(
        "paths",
        format!(
            "config {}; install record {}; logs {}; runtime {}",
            f.config_path.display(),
            f.paths.install_record().display(),
            f.paths.log_dir().display(),
            f.paths.runtime_dir.display()
        ),
    );
    config::check_config(r, f);
    config::check_record_readable(r, f);
    registry::check_registry(r, f);
    manifests::check_manifests(r, f);
    browsers::check_browsers(r, f);
    config::check_recorded_files(r, f);
    daemon::check_daemon(r, f.paths);
    if let Ok(c) = &f.config {
        keychain::check_keychain(r, c.store, &f.config_path);
    }
    if offline {
        r.info("endpoint", "skipped (--offline)".into());
    } else {
        endpoint::check_endpoints(r, f);
    }
}

/// The ids the configured apps expect in a manifest of `family` (the CLI's
/// origin needs none).
fn wanted(apps: &[AppConfig], family: Family) -> Vec<(String, &AppConfig)> {
    let mut out = Vec::new();
    for a in apps {
        for o in &a.allowed_origins {
            let in_family = match o.parse::<Origin>() {
                Ok(Origin::Cli) => false,
                Ok(Origin::Chromium(_)) => family == Family::Chromium,
                // An unparsable entry is reported by the config check; it
                // is looked for where a Firefox id would be.
                Ok(Origin::Firefox(_)) | Err(_) => family == Family::Firefox,
            };
            if in_family {
                out.push((o.clone(), a));
            }
        }
    }
    out
}

/// The `install` command that registers `app` again (ids from the config).
fn install_cmd(app: Option<&AppConfig>, extra: &str) -> String {
    let mut s = "logto-companion install".to_string();
    match app {
        Some(a) => {
            s.push_str(&format!(" --endpoint {} --app-id {}", a.endpoint, a.app_id));
            for o in &a.allowed_origins {
                match o.parse::<Origin>() {
                    Ok(Origin::Cli) => {}
                    Ok(origin) => s.push_str(&format!(" {}", origin.install_flag())),
                    Err(_) => s.push_str(&format!(" --firefox-id {o}")),
                }
            }
        }
        None => s.push_str(" --endpoint <url> --app-id <id> --extension-id <id>"),
    }
    if !extra.is_empty() {
        s.push(' ');
        s.push_str(extra);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(origins: &[&str]) -> AppConfig {
        AppConfig {
            endpoint: "https://t.example".into(),
            app_id: "a".into(),
            issuer: None,
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            allow_cli: true,
            scopes: vec![],
            resources: vec![],
            post_logout_redirect_uri: None,
            ..AppConfig::default()
        }
    }

    const ORIGIN: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop/";

    #[test]
    fn wanted_sorts_origins_by_family_and_skips_the_cli() {
        let apps = [app(&[ORIGIN, "x@y", "cli"])];
        let ids = |f| -> Vec<String> { wanted(&apps, f).into_iter().map(|(o, _)| o).collect() };
        assert_eq!(ids(Family::Chromium), [ORIGIN]);
        assert_eq!(ids(Family::Firefox), ["x@y"]);
    }

    #[test]
    fn install_cmd_rebuilds_the_flags_from_the_config() {
        let a = app(&[ORIGIN, "x@y", "cli"]);
        assert_eq!(
            install_cmd(Some(&a), "--browser chrome"),
            "logto-companion install --endpoint https://t.example --app-id a --extension-id abcdefghijklmnopabcdefghijklmnop --firefox-id x@y --browser chrome"
        );
        assert!(install_cmd(None, "").ends_with("--extension-id <id>"));
    }

    #[test]
    fn a_failure_line_names_its_fix() {
        let mut r = Report::default();
        r.fail("x", "broken".into(), "mend it");
        r.ok("x", "fine".into());
        assert_eq!(r.checks[0].line(), "✗ broken — fix: mend it");
        assert_eq!(r.checks[1].line(), "✓ fine");
    }
}
