//! A signed-in-able setup: an isolated user with the test app registered
//! against a fresh test IdP, and the phone sign-in driven over HTTP.

use super::idp::{Idp, PHONE};
use super::*;
use serde_json::{json, Value};
use std::time::Duration;

pub const API: &str = "https://api.example.test";
pub const ORG: &str = "org-acme";
/// Logto keeps phone numbers as digits, without the `+`.
pub const PHONE_CLAIM: &str = "15551234567";

pub struct Setup {
    pub env: TestEnv,
    pub idp: Idp,
}

/// An isolated user with the app registered against a fresh IdP.
pub fn setup(idp_config: Option<Value>, daemon_settings: &str) -> Setup {
    let idp = Idp::start(idp_config);
    let env = test_env();
    env.write_config(&app_config(&idp.endpoint, daemon_settings));
    Setup { env, idp }
}

/// An isolated user whose daemon may reach the suite's Secret Service when
/// `super::keyring::store()` is `keychain` (TestEnv keeps session buses out).
pub fn test_env() -> TestEnv {
    let mut env = TestEnv::new();
    if super::keyring::store() == "keychain" {
        if let Ok(address) = std::env::var("DBUS_SESSION_BUS_ADDRESS") {
            env.vars.insert("DBUS_SESSION_BUS_ADDRESS".into(), address);
        }
    }
    env
}

pub fn app_config(endpoint: &str, daemon_settings: &str) -> String {
    format!(
        r#"store = "{store}"
idle_timeout_secs = 120
{daemon_settings}
[[apps]]
endpoint = "{endpoint}"
app_id = "{APP_ID}"
allowed_origins = ["{EXT_ORIGIN}", "{OTHER_ORIGIN}"]
scopes = ["phone", "urn:logto:scope:organizations"]
resources = ["{API}"]
post_logout_redirect_uri = "http://127.0.0.1/logout-callback"
"#,
        store = super::keyring::store()
    )
}

/// When a test with an IdP ends (and passed so far), every log the daemon
/// and hosts wrote and everything the IdP printed on stderr is scanned for
/// every token the IdP issued: nothing secret may reach a log.
impl Drop for Setup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let Ok(issued) =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.idp.issued()))
        else {
            return; // the IdP was stopped by the test
        };
        let text = format!("{}\n{}", self.env.logs(), self.idp.stderr());
        let leaked: Vec<&String> = issued
            .iter()
            .filter(|t| t.len() >= 16 && text.contains(t.as_str()))
            .collect();
        assert!(
            leaked.is_empty(),
            "{} issued token(s) found in logs or stderr",
            leaked.len()
        );
        let name = format!("secret-scan-{}", self.idp.port);
        super::report_counts(
            &name,
            &[
                ("secret_scans", 1),
                ("tokens_checked", issued.len() as u64),
                ("log_bytes_scanned", text.len() as u64),
                ("tokens_leaked", 0),
            ],
        );
    }
}

impl Setup {
    pub fn host(&self) -> Host {
        let mut h = self.env.host(EXT_ORIGIN);
        let r = h.hello(&self.idp.endpoint, APP_ID);
        assert!(r.get("result").is_some(), "hello failed: {r}");
        h
    }

    /// signIn through `host`, completing the IdP's phone flow over HTTP.
    pub fn sign_in(&self, host: &mut Host) -> Value {
        host.send(&json!({"id": "si", "method": "signIn", "params": {"firstScreen": "identifier:sign_in", "identifiers": ["phone"], "loginHint": PHONE}}));
        let started = host
            .wait_event("signInStarted", Duration::from_secs(20))
            .expect("signInStarted event");
        let url = started["data"]["url"].as_str().unwrap().to_string();
        let drive = self.idp.drive(&url, PHONE);
        assert_eq!(drive["ok"], true, "driver failed: {drive}");
        assert_eq!(drive["callbackStatus"], 200, "{drive}");
        assert!(
            drive["callbackBody"]
                .as_str()
                .unwrap_or("")
                .contains("Signed in"),
            "{drive}"
        );
        let reply = host.recv_reply();
        assert_eq!(reply["id"], "si");
        reply
    }
}

/// A sign-in started and left waiting for its callback.
pub struct Started {
    pub url: String,
    pub state: String,
    /// The daemon's loopback callback port.
    pub port: u16,
}

/// Sends `signIn` with `params` and waits for `signInStarted`.
pub fn start_sign_in(host: &mut Host, params: Value) -> Started {
    host.send(&json!({"id": 1, "method": "signIn", "params": params}));
    let started = host
        .wait_event("signInStarted", Duration::from_secs(20))
        .expect("signInStarted event");
    let url = started["data"]["url"].as_str().unwrap().to_string();
    let state = super::idp::query_param(&url, "state").expect("state in the URL");
    let redirect = super::idp::query_param(&url, "redirect_uri").expect("redirect_uri in the URL");
    Started {
        port: loopback_port(&redirect),
        url,
        state,
    }
}

/// The port of a `http://127.0.0.1:<port>/callback` redirect URI.
pub fn loopback_port(redirect_uri: &str) -> u16 {
    redirect_uri
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not a loopback redirect: {redirect_uri}"))
}
