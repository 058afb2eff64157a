//! The host and the daemon, driven exactly as Chrome drives them: the real
//! binary, argv = the extension origin, frames on stdin/stdout, an isolated
//! HOME.

use crate::common::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn ping_is_answered_without_hello() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    let r = host.call("ping", json!(null));
    assert_eq!(r["result"]["pong"], true);
    assert_eq!(r["result"]["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn hello_binds_a_registered_app_and_refuses_others() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    let r = host.hello(ENDPOINT, APP_ID);
    assert_eq!(r["result"]["protocol"], 1);
    assert_eq!(r["result"]["authenticated"], false);

    // Trailing slash on the endpoint is the same app.
    let r = host.hello(&format!("{ENDPOINT}/"), APP_ID);
    assert!(r.get("result").is_some(), "{r}");

    let r = host.hello(ENDPOINT, "some-other-app");
    assert_eq!(error_code(&r), "app_not_registered");
    assert!(r["error"]["message"]
        .as_str()
        .unwrap()
        .contains("logto-companion install"));

    // The same app from an extension that is not in allowed_origins.
    let mut other = env.host(OTHER_ORIGIN);
    let r = other.hello(ENDPOINT, APP_ID);
    assert_eq!(error_code(&r), "app_not_registered");
    assert!(r["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--extension-id ponmlkjihgfedcbaponmlkjihgfedcba"));
}

#[test]
fn session_methods_need_hello_and_refresh_tokens_never_leave() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    assert_eq!(
        error_code(&host.call("getAccessToken", json!({}))),
        "hello_required"
    );
    host.hello(ENDPOINT, APP_ID);
    assert_eq!(
        error_code(&host.call("getRefreshToken", json!(null))),
        "forbidden"
    );
    assert_eq!(
        error_code(&host.call("getAccessToken", json!({}))),
        "not_authenticated"
    );
}

#[test]
fn malformed_json_is_answered_and_the_connection_stays_open() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    host.send_frame(b"{not json");
    let r = host.recv_reply();
    assert_eq!(error_code(&r), "invalid_request");
    assert!(r["id"].is_null());
    // No method, readable id: the id is echoed.
    host.send(&json!({"id": "x1", "params": {}}));
    let r = host.recv_reply();
    assert_eq!(error_code(&r), "invalid_request");
    assert_eq!(r["id"], "x1");
    // Bad params for hello.
    let r = host.call("hello", json!({"app": {"endpoint": 5}}));
    assert_eq!(error_code(&r), "invalid_params");
    // And the next valid request is answered.
    assert_eq!(host.call("ping", json!(null))["result"]["pong"], true);
}

#[test]
fn unknown_method_is_method_not_found() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    let r = host.call("launchMissiles", json!({}));
    assert_eq!(error_code(&r), "method_not_found");
    assert_eq!(host.call("ping", json!(null))["result"]["pong"], true);
}

#[test]
fn oversized_length_prefix_is_refused_without_reading_it() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    assert_eq!(host.call("ping", json!(null))["result"]["pong"], true);
    // 0xFFFFFFFF announced, 4 bytes sent: the host must not wait for (or
    // allocate) 4 GiB; it answers and closes.
    host.send_raw(&[0xFF, 0xFF, 0xFF, 0xFF, b'{', b'}']);
    let r = host.recv_reply();
    assert_eq!(error_code(&r), "message_too_large");
    assert!(r["id"].is_null());
    let status = host
        .wait_exit(Duration::from_secs(5))
        .expect("host must exit after an oversized frame");
    assert!(status.success());
}

#[test]
fn eof_in_the_middle_of_a_frame_ends_the_host_but_not_the_daemon() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    assert_eq!(host.call("ping", json!(null))["result"]["pong"], true);
    let daemon = env.daemon_pid().expect("daemon pid file");
    host.send_raw(&[100, 0, 0, 0, b'{', b'"']);
    host.close_stdin();
    assert!(
        host.wait_exit(Duration::from_secs(5)).is_some(),
        "host must exit on EOF mid-frame"
    );
    // The daemon is untouched and serves the next browser.
    let mut next = env.host(EXT_ORIGIN);
    assert_eq!(next.call("ping", json!(null))["result"]["pong"], true);
    assert_eq!(env.daemon_pid(), Some(daemon));
}

#[test]
fn host_exits_promptly_when_the_browser_closes_the_port() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    assert_eq!(host.call("ping", json!(null))["result"]["pong"], true);
    host.close_stdin();
    let status = host
        .wait_exit(Duration::from_secs(3))
        .expect("host still running after EOF");
    assert!(status.success());
}

#[test]
fn hosts_started_at_the_same_moment_share_one_daemon() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut hosts: Vec<Host> = (0..6).map(|_| env.host(EXT_ORIGIN)).collect();
    // All hosts race to start the daemon with their first request.
    for (i, h) in hosts.iter_mut().enumerate() {
        h.send(&json!({"id": i, "method": "status"}));
    }
    let mut pids = std::collections::HashSet::new();
    for h in hosts.iter_mut() {
        let r = h.recv_reply();
        pids.insert(r["result"]["pid"].as_i64().expect("status pid"));
    }
    assert_eq!(pids.len(), 1, "hosts talked to different daemons: {pids:?}");
    assert_eq!(
        env.daemon_processes().len(),
        1,
        "exactly one daemon process must run"
    );
}

#[test]
fn daemon_killed_under_a_connected_host_is_restarted_transparently() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    assert!(host.hello(ENDPOINT, APP_ID).get("result").is_some());
    let first = env.daemon_pid().unwrap();
    env.kill_daemon(libc::SIGKILL);
    assert!(wait_until(Duration::from_secs(5), || TestEnv::is_dead(
        first
    )));
    // The next session request works: the host restarted the daemon and
    // replayed hello (no hello_required, no daemon_unavailable).
    let r = host.call("isAuthenticated", json!(null));
    assert_eq!(r["result"]["authenticated"], false, "{r}");
    let second = env.daemon_pid().unwrap();
    assert_ne!(first, second);
    assert_eq!(env.daemon_processes(), vec![second]);
}

#[test]
fn socket_is_private_and_other_users_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    assert_eq!(host.call("ping", json!(null))["result"]["pong"], true);
    let dir = env.runtime_dir();
    let sock = dir.join("daemon.sock");
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );

    assert!(
        is_root(),
        "this test runs the client as `nobody`, which needs root (CI runs as root)"
    );
    // Open the filesystem gate so the daemon's own uid check is what
    // refuses the peer.
    let run = env.path("XDG_RUNTIME_DIR");
    for p in [env.dir.path().to_path_buf(), run.clone(), dir.clone()] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = env
        .command()
        .arg("ping")
        .env("HOME", "/nonexistent")
        .env("XDG_STATE_HOME", "/tmp/lc-nobody-state")
        .env("XDG_CONFIG_HOME", "/tmp/lc-nobody-config")
        .env_remove("LOGTO_COMPANION_LOG")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "another uid must be refused; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("forbidden") || stderr.contains("own user"),
        "{stderr}"
    );
    assert!(env
        .logs()
        .contains("refused a connection from another user"));
}

use std::os::unix::process::CommandExt;

#[test]
fn a_daemon_that_cannot_start_says_why() {
    let env = TestEnv::new();
    env.write_config("store = \"keychian\"\n");
    let mut host = env.host(EXT_ORIGIN);
    let r = host.call("ping", json!(null));
    assert_eq!(error_code(&r), "daemon_unavailable");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("config.toml") && msg.contains("keychian"),
        "{msg}"
    );
    // Fixing the config is enough: the next request starts the daemon.
    env.write_default_config();
    assert_eq!(host.call("ping", json!(null))["result"]["pong"], true);
}

#[test]
fn a_daemon_restarted_right_after_sigterm_answers_without_a_stall() {
    let env = TestEnv::new();
    env.write_default_config();
    let mut host = env.host(EXT_ORIGIN);
    assert!(host.hello(ENDPOINT, APP_ID).get("result").is_some());
    for _ in 0..5 {
        let old = env.daemon_pid().unwrap();
        unsafe {
            libc::kill(old, libc::SIGTERM);
        }
        // No waiting: the next request races the old daemon's exit. It
        // gets at most one daemon_unavailable, then a new daemon answers.
        let r = host.call("isAuthenticated", json!(null));
        if r.get("result").is_none() {
            assert_eq!(error_code(&r), "daemon_unavailable", "{r}");
            assert_eq!(
                host.call("isAuthenticated", json!(null))["result"]["authenticated"],
                false
            );
        }
        assert!(wait_until(Duration::from_secs(5), || TestEnv::is_dead(old)));
        // The host reconnects on its own (starting a new daemon) as soon as
        // it sees the old one go.
        assert!(wait_until(Duration::from_secs(5), || env
            .daemon_processes()
            .len()
            == 1));
        assert_eq!(host.call("ping", json!(null))["result"]["pong"], true);
    }
}
