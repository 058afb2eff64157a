//! Each app's provider: its discovery document answers and names the issuer
//! the daemon will expect (`AppConfig::issuer`, the same default the
//! session uses).

use super::facts::Facts;
use super::Report;
use crate::config::AppConfig;
use crate::oidc::discovery::{chain, Oidc};
use serde_json::Value;
use std::time::Duration;

pub fn check_endpoints(r: &mut Report, f: &Facts) {
    if f.apps.is_empty() {
        return;
    }
    // doctor should answer quickly: at most 5 s a request.
    let timeout = Duration::from_secs(
        f.config
            .as_ref()
            .map(|c| c.http_timeout_secs.clamp(1, 5))
            .unwrap_or(5),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    // The daemon's own HTTP client: the same TLS roots, user agent and
    // no-redirect policy as a real sign-in.
    let client = Oidc::new(timeout).map_err(|e| e.to_string());
    for app in &f.apps {
        let url = discovery_url(&app.issuer());
        let doc = match (&rt, &client) {
            (Ok(rt), Ok(oidc)) => rt.block_on(fetch(oidc, &url, timeout)),
            (Err(e), _) => Err(e.to_string()),
            (_, Err(e)) => Err(e.clone()),
        };
        report(r, app, &url, doc);
    }
}

/// OpenID Connect Discovery 1.0 §4: the issuer plus the well-known path.
fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

async fn fetch(oidc: &Oidc, url: &str, timeout: Duration) -> Result<Value, String> {
    let resp = oidc
        .http
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| chain(&e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    resp.json::<Value>()
        .await
        .map_err(|e| format!("not JSON: {}", chain(&e)))
}

fn report(r: &mut Report, app: &AppConfig, url: &str, doc: Result<Value, String>) {
    let issuer = app.issuer();
    match doc {
        Err(e) => r.fail(
            "endpoint",
            format!("app {}: discovery {url} failed: {e}", app.app_id),
            "check the network and the app's endpoint (and issuer, for non-Logto providers) in config.toml".to_string(),
        ),
        Ok(doc) => match doc["issuer"].as_str() {
            Some(i) if i == issuer => r.ok(
                "endpoint",
                format!("app {}: {url} answers; issuer {i} matches", app.app_id),
            ),
            Some(i) => r.fail(
                "endpoint",
                format!("app {}: discovery says issuer {i:?}, expected {issuer:?}", app.app_id),
                format!("set issuer = {i:?} for this app in config.toml, or correct its endpoint"),
            ),
            None => r.fail(
                "endpoint",
                format!("app {}: {url} is not an OpenID discovery document (no issuer)", app.app_id),
                "check the app's endpoint in config.toml".to_string(),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_is_the_issuer_plus_the_well_known_path() {
        assert_eq!(
            discovery_url("https://t.example/oidc/"),
            "https://t.example/oidc/.well-known/openid-configuration"
        );
    }

    #[test]
    fn a_document_naming_another_issuer_is_a_failure_with_the_fix() {
        let app: AppConfig = toml::from_str(
            r#"
            endpoint = "https://t.example"
            app_id = "a"
            "#,
        )
        .unwrap();
        let mut r = Report::default();
        let url = discovery_url(&app.issuer());
        report(
            &mut r,
            &app,
            &url,
            Ok(serde_json::json!({"issuer": "https://t.example/oidc"})),
        );
        report(
            &mut r,
            &app,
            &url,
            Ok(serde_json::json!({"issuer": "https://x.example"})),
        );
        report(&mut r, &app, &url, Ok(serde_json::json!({})));
        let lines: Vec<String> = r.checks.iter().map(|c| c.line()).collect();
        assert!(
            lines[0].starts_with("✓") && lines[0].contains("matches"),
            "{lines:?}"
        );
        assert!(
            lines[1].contains("discovery says issuer \"https://x.example\"")
                && lines[1].contains("fix: set issuer"),
            "{lines:?}"
        );
        assert!(lines[2].contains("no issuer"), "{lines:?}");
    }
}
