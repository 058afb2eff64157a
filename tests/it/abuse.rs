//! Protocol abuse through the real host: every method with wrong types,
//! missing fields, huge strings, deep nesting and unicode edge cases gets a
//! clean error, and the connection keeps working after each one.

use crate::common::*;
use logto_companion::protocol::Method;
use serde_json::{json, Value};

/// Codes a malformed request may legitimately get; never internal_error,
/// never silence. (Unknown fields are ignored, so e.g. `signIn {"app": 5}`
/// is a real sign-in against the unreachable test endpoint: network_error.)
const CLEAN: [&str; 8] = [
    "network_error",
    "invalid_params",
    "invalid_request",
    "hello_required",
    "not_authenticated",
    "forbidden",
    "app_not_registered",
    "method_not_found",
];

fn bad_params() -> Vec<Value> {
    let huge = "x".repeat(200_000);
    let mut nested = json!("deep");
    for _ in 0..100 {
        nested = json!([nested]);
    }
    vec![
        json!(42),
        json!(true),
        json!([1, 2, 3]),
        json!({"app": 5}),
        json!({"app": {"endpoint": [], "appId": {}}}),
        json!({"app": {"endpoint": huge.clone(), "appId": huge.clone()}}),
        json!({"resource": 7, "organizationId": false}),
        json!({"resource": huge.clone()}),
        json!({"organizationId": null}),
        json!({"resource": nested.clone()}),
        json!({"firstScreen": 1, "identifiers": "phone", "directSignIn": "x", "extraParams": [1]}),
        json!({"prompt": {"a": 1}, "openIn": "somewhere"}),
        json!({"resource": "\u{0000}\u{FFFF}\u{1F600}\u{202E}"}),
        json!({"app": {"endpoint": "http://\u{202E}evil", "appId": "\u{0000}"}}),
        json!({"\u{1F600}": "\u{1F600}"}),
    ]
}

#[test]
fn every_method_with_bad_params_gets_a_clean_error_and_the_connection_survives() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    let mut cases = 0;
    for bound in [false, true] {
        if bound {
            assert!(host.hello(ENDPOINT, APP_ID).get("result").is_some());
        }
        for method in Method::ALL.iter().map(|m| m.as_str()) {
            for params in bad_params() {
                let r = host.call(method, params.clone());
                cases += 1;
                if let Some(code) = r["error"]["code"].as_str() {
                    assert!(CLEAN.contains(&code), "{method} {params:.80} -> {r}");
                    assert!(!r["error"]["message"].as_str().unwrap_or("").is_empty());
                    // Error messages never echo 200 KB of input back.
                    assert!(
                        r.to_string().len() < 10_000,
                        "{method}: oversized error reply"
                    );
                } else {
                    // Only methods that ignore params may succeed.
                    assert!(
                        [
                            "ping",
                            "status",
                            "isAuthenticated",
                            "clearAccessToken",
                            "clearAllTokens",
                            "signOut",
                            // Unknown fields are ignored: `{"app": 5}`
                            // asks to cancel no flow, and none runs.
                            "cancelSignIn"
                        ]
                        .contains(&method),
                        "{method} {params:.80} unexpectedly succeeded: {r:.200}"
                    );
                }
                assert_eq!(
                    host.call("ping", json!(null))["result"]["pong"],
                    true,
                    "connection broken after {method}"
                );
            }
        }
    }
    println!("protocol abuse: {cases} malformed requests, connection intact after each");
}

#[test]
fn nesting_beyond_the_json_limit_and_broken_unicode_are_invalid_requests() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    let deep = format!(
        "{{\"id\":1,\"method\":\"ping\",\"params\":{}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    host.send_frame(deep.as_bytes());
    assert_eq!(error_code(&host.recv_reply()), "invalid_request");
    host.send_frame(b"{\"id\":2,\"method\":\"ping\",\"x\":\"\xff\xfe\"}");
    assert_eq!(error_code(&host.recv_reply()), "invalid_request");
    host.send_frame(b"");
    assert_eq!(error_code(&host.recv_reply()), "invalid_request");
    host.send(&json!({"id": {"nested": 1}, "method": "ping"}));
    assert_eq!(error_code(&host.recv_reply()), "invalid_request");
    host.send(&json!({"id": 3, "method": 12}));
    assert_eq!(error_code(&host.recv_reply()), "invalid_request");
    host.send(&json!({"id": 4, "method": "ping\u{0000}"}));
    assert_eq!(error_code(&host.recv_reply()), "method_not_found");
    assert_eq!(host.call("ping", json!(null))["result"]["pong"], true);
}

#[test]
fn a_frame_just_under_the_cap_is_read_and_one_over_is_refused() {
    let env = TestEnv::new();
    env.write_config(&format!(
        "store = \"memory\"\nmax_frame = 4096\n[[apps]]\nendpoint = \"{ENDPOINT}\"\napp_id = \"{APP_ID}\"\nallowed_origins = [\"{EXT_ORIGIN}\"]\n"
    ));
    let mut host = env.host(EXT_ORIGIN);
    let pad = |n: usize| {
        let base = json!({"id": 1, "method": "ping", "params": {"pad": ""}}).to_string();
        json!({"id": 1, "method": "ping", "params": {"pad": "p".repeat(n - base.len())}})
            .to_string()
    };
    host.send_frame(pad(4096).as_bytes());
    assert_eq!(host.recv_reply()["result"]["pong"], true);
    host.send_frame(pad(4097).as_bytes());
    assert_eq!(error_code(&host.recv_reply()), "message_too_large");
    assert!(host.wait_exit(std::time::Duration::from_secs(5)).is_some());
}

#[test]
fn a_client_that_never_sends_the_handshake_is_dropped_and_others_are_served() {
    use std::io::Read;
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    assert_eq!(host.call("ping", json!(null))["result"]["pong"], true);
    let sock = env.runtime_dir().join("daemon.sock");
    let mut silent = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    silent
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    // A bogus handshake is refused with invalid_request.
    let mut bogus = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    use std::io::Write;
    let body = br#"{"hello":"there"}"#;
    bogus.write_all(&(body.len() as u32).to_ne_bytes()).unwrap();
    bogus.write_all(body).unwrap();
    let mut len = [0u8; 4];
    bogus.read_exact(&mut len).unwrap();
    let mut reply = vec![0u8; u32::from_ne_bytes(len) as usize];
    bogus.read_exact(&mut reply).unwrap();
    assert!(String::from_utf8_lossy(&reply).contains("invalid_request"));
    // Meanwhile the browser's host is served.
    assert_eq!(host.call("ping", json!(null))["result"]["pong"], true);
    // The silent one is closed after the handshake timeout.
    let mut buf = [0u8; 1];
    assert_eq!(silent.read(&mut buf).unwrap_or(0), 0);
}
