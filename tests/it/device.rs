//! `sign-in --device` (RFC 8628) end to end: the real binary against the
//! Logto-like IdP's device flow, the code approved or denied by the driver
//! on the IdP's own pages, as a person on a phone would.

use crate::common::idp::{idp_dir, PHONE};
use crate::common::session::*;
use crate::common::wait_until;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The device pages driven from `verification_uri_complete`.
fn drive_device(s: &Setup, url: &str, deny: bool) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg(idp_dir().join("drive-signin.mjs")).args([
        "--url",
        url,
        "--phone",
        PHONE,
        "--twilio",
        &s.idp.twilio,
    ]);
    if deny {
        cmd.arg("--deny");
    }
    let out = cmd.output().expect("run drive-signin.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|_| {
        panic!(
            "driver output not JSON: {stdout:?} stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Runs `sign-in --device --json`, hands the printed code to the driver,
/// and returns (the CLI's exit code, its last stdout line, its stderr).
fn device_sign_in(s: &Setup, deny: bool) -> (Option<i32>, Value, String) {
    let mut child = s
        .env
        .command()
        .args(["sign-in", "--device", "--json"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["event"], "deviceCode", "{first}");
    assert!(first["userCode"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(first["verificationUri"]
        .as_str()
        .unwrap()
        .ends_with("/oidc/device"));
    assert!(first["expiresIn"].as_u64().unwrap() > 0);
    assert!(
        first.get("deviceCode").is_none(),
        "the device code is never printed"
    );
    let url = first["verificationUriComplete"].as_str().unwrap();
    let drive = drive_device(s, url, deny);
    assert_eq!(drive["ok"], true, "{drive}");
    let last = lines
        .next()
        .and_then(|l| l.ok())
        .and_then(|l| serde_json::from_str(&l).ok())
        .unwrap_or(Value::Null);
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), last, stderr)
}

#[test]
fn a_device_sign_in_approved_elsewhere_is_the_session_every_browser_sees() {
    let s = setup(Some(json!({"deviceInterval": 1})), "");
    let mut ext = s.host();
    let (code, last, stderr) = device_sign_in(&s, false);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(last["signedIn"], true);
    assert_eq!(last["claims"]["phone_number"], PHONE_CLAIM);
    assert!(
        s.idp
            .token_requests("urn:ietf:params:oauth:grant-type:device_code")
            >= 1
    );
    let changed = ext
        .wait_session(true, Duration::from_secs(5))
        .expect("sessionChanged to the extension");
    assert_eq!(changed["data"]["authenticated"], true);
    let r = ext.call("isAuthenticated", Value::Null);
    assert_eq!(r["result"]["authenticated"], true, "{r}");
    let out = s.env.command().args(["token", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing the provider issued reaches the logs.
    let logs = s.env.logs();
    for secret in s.idp.issued() {
        assert!(!logs.contains(&secret), "a token in the logs");
    }
}

#[test]
fn a_device_sign_in_denied_elsewhere_exits_non_zero_with_access_denied() {
    let s = setup(Some(json!({"deviceInterval": 1})), "");
    let (code, _, stderr) = device_sign_in(&s, true);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("access_denied"), "{stderr}");
    let out = s.env.command().args(["token"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "still not signed in");
}

#[test]
fn a_provider_without_the_device_flow_gets_a_clear_message() {
    let s = setup(Some(json!({"deviceFlow": false})), "");
    let out = s
        .env
        .command()
        .args(["sign-in", "--device"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("device_flow_unsupported"), "{stderr}");
    assert!(stderr.contains("device_authorization_endpoint"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn ctrl_c_cancels_a_device_sign_in_and_the_daemon_stops_polling() {
    let s = setup(Some(json!({"deviceInterval": 1})), "");
    let mut child = s
        .env
        .command()
        .args(["sign-in", "--device", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["event"], "deviceCode", "{first}");
    let grant = "urn:ietf:params:oauth:grant-type:device_code";
    assert!(
        wait_until(Duration::from_secs(10), || s.idp.token_requests(grant) >= 1),
        "the daemon polls"
    );
    // SAFETY: a plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let polls = s.idp.token_requests(grant);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        s.idp.token_requests(grant),
        polls,
        "no poll after Ctrl-C (interval 1 s)"
    );
    let mut ext = s.host();
    let r = ext.call("isAuthenticated", Value::Null);
    assert_eq!(r["result"]["authenticated"], false, "{r}");
}
