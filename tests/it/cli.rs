//! The command line shares the browsers' session: the real binary's
//! `status`, `sign-in`, `token`, `sign-out` against the test IdP.

use crate::common::idp::PHONE;
use crate::common::session::*;
use crate::common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::Duration;

fn cli(env: &TestEnv, args: &[&str]) -> Output {
    env.command()
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap()
}

fn stdout_json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text:?}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn jwt_payload(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

/// `sign-in --no-browser --json`, completed by the HTTP driver from the URL
/// the CLI printed.
fn cli_sign_in(s: &Setup) -> Value {
    let mut child = s
        .env
        .command()
        .args(["sign-in", "--no-browser", "--json", "--phone", PHONE])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["event"], "signInStarted");
    let url = first["url"].as_str().unwrap();
    assert!(url.contains("login_hint=%2B15551234567"), "{url}");
    let drive = s.idp.drive(url, PHONE);
    assert_eq!(drive["ok"], true, "{drive}");
    let last: Value = serde_json::from_str(&lines.next().expect("final line").unwrap()).unwrap();
    assert!(child.wait().unwrap().success());
    last
}

#[test]
fn status_sign_in_token_and_sign_out_from_the_terminal() {
    // The URL must carry the parameters this test reads: no PAR.
    let s = setup(Some(json!({"par": "disabled"})), "");
    let out = cli(&s.env, &["status", "--json"]);
    assert!(out.status.success());
    let st = stdout_json(&out);
    assert_eq!(st["daemon"]["wasRunning"], false);
    assert_eq!(st["apps"][0]["appId"], APP_ID);
    assert_eq!(st["apps"][0]["authenticated"], false);

    // An extension connection hears what the terminal does.
    let mut ext = s.host();
    let signed = cli_sign_in(&s);
    assert_eq!(signed["signedIn"], true);
    assert_eq!(signed["claims"]["phone_number"], PHONE_CLAIM);
    let changed = ext
        .wait_event("sessionChanged", Duration::from_secs(5))
        .expect("sessionChanged to the extension");
    assert_eq!(changed["data"]["authenticated"], true);

    let st = stdout_json(&cli(&s.env, &["status", "--json"]));
    assert_eq!(st["daemon"]["wasRunning"], true);
    assert_eq!(st["apps"][0]["authenticated"], true);
    assert_eq!(st["apps"][0]["claims"]["sub"], signed["claims"]["sub"]);
    assert!(st["store"]["kind"].is_string());
    // Human-readable status names the user.
    let human = String::from_utf8_lossy(&cli(&s.env, &["status"]).stdout).into_owned();
    assert!(human.contains("signed in as Alice Example"), "{human}");

    // token --resource: a JWT for that audience, plain on stdout.
    let out = cli(&s.env, &["token", "--resource", API]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let token = token.trim_end();
    assert_eq!(token.lines().count(), 1);
    assert_eq!(jwt_payload(token)["aud"], API);
    let j = stdout_json(&cli(&s.env, &["token", "--resource", API, "--json"]));
    assert_eq!(j["accessToken"], token, "the cached token is served");
    assert!(j["expiresAt"].as_u64().unwrap() > 0);

    let out = cli(&s.env, &["sign-out", "--json"]);
    assert!(out.status.success());
    let signed_out = stdout_json(&out);
    assert_eq!(signed_out["wasSignedIn"], true);
    // The terminal never shows the ID token (id_token_hint is dropped).
    let url = signed_out["endSessionUrl"].as_str().unwrap();
    assert!(
        url.contains("client_id=") && !url.contains("id_token_hint"),
        "{url}"
    );
    ext.events.clear();
    let changed = ext
        .wait_session(false, Duration::from_secs(5))
        .expect("sign-out reaches the extension");
    assert_eq!(changed["data"]["authenticated"], false);
    let out = cli(&s.env, &["token"]);
    assert_eq!(out.status.code(), Some(2), "not signed in = exit 2");
    assert!(String::from_utf8_lossy(&out.stderr).contains("sign-in"));
}

#[test]
fn a_session_signed_in_from_the_extension_serves_the_terminal() {
    let s = setup(None, "");
    let mut ext = s.host();
    let claims = s.sign_in(&mut ext)["result"]["claims"].clone();
    let before = s.idp.token_requests("authorization_code");
    let out = cli(&s.env, &["token", "--resource", API]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(jwt_payload(token.trim())["sub"], claims["sub"]);
    assert_eq!(
        s.idp.token_requests("authorization_code"),
        before,
        "no new sign-in"
    );
}

#[test]
fn exit_codes_for_not_signed_in_and_idp_down() {
    let idp_cfg =
        json!({"resources": [{"indicator": API, "scopes": ["read:items"], "accessTokenTtl": 2}]});
    let mut s = setup(Some(idp_cfg), "http_timeout_secs = 2");
    let out = cli(&s.env, &["token"]);
    assert_eq!(out.status.code(), Some(2));
    let mut ext = s.host();
    s.sign_in(&mut ext);
    assert!(cli(&s.env, &["token", "--resource", API]).status.success());
    s.idp.stop();
    std::thread::sleep(Duration::from_millis(2200));
    let out = cli(&s.env, &["token", "--resource", API]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "IdP unreachable = exit 3; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Other failures are 1: a resource the app does not have.
    let out = cli(&s.env, &["token", "--resource", "https://nope.example"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_target"));
}

#[test]
fn app_choice_is_explicit_when_several_are_registered() {
    let env = TestEnv::new();
    env.write_config(&format!(
        "store = \"memory\"\n[[apps]]\nendpoint = \"{ENDPOINT}\"\napp_id = \"one\"\n[[apps]]\nendpoint = \"{ENDPOINT}\"\napp_id = \"two\"\n[[apps]]\nendpoint = \"{ENDPOINT}\"\napp_id = \"closed\"\nallow_cli = false\n"
    ));
    let out = cli(&env, &["token"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--app-id") && err.contains("one") && err.contains("two"),
        "{err}"
    );
    let out = cli(&env, &["token", "--app-id", "closed"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("allow_cli"));
    let out = cli(&env, &["token", "--app-id", "one"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_subcommand_has_help() {
    let env = TestEnv::new();
    for sub in [
        "token",
        "sign-in",
        "sign-out",
        "status",
        "install",
        "uninstall",
        "doctor",
        "ping",
        "daemon",
        "host",
    ] {
        let out = cli(&env, &[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{sub}"
        );
    }
}
