//! Sessions in the OS keychain, end to end: the real binary, the test IdP,
//! and a real Secret Service (gnome-keyring) or the kernel keyutils.
//!
//! - Tests on the suite's Secret Service run inside `scripts/with-keyring`
//!   (what `scripts/test` does); under a plain `cargo test` they re-run
//!   themselves through it, and fail with an install hint if they cannot.
//! - Tests of an absent or locked Secret Service start their own private
//!   D-Bus daemon (no service files, so nothing is auto-started) and, when
//!   they need one, their own gnome-keyring on it.
//! - The keyutils test runs its hosts (and so the daemons) in one named
//!   session keyring of their own (`keyctl session <name>`).

use crate::common::idp::PHONE;
use crate::common::keyring;
use crate::common::session::*;
use crate::common::*;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn require_tool(name: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "this test needs `{name}`: apt-get install -y --no-install-recommends {package} (scripts/test installs it)"
    );
}

/// The keychain account of the test app's session (docs/keychain.md).
fn account(endpoint: &str) -> String {
    format!("{APP_ID}@{}", endpoint.trim_end_matches('/'))
}

/// A config for the test app with the given store.
fn config_with_store(endpoint: &str, store: &str) -> String {
    let cfg = app_config(endpoint, "");
    let first = cfg.lines().next().unwrap_or("");
    assert!(first.starts_with("store = "), "{first}");
    cfg.replacen(first, &format!("store = \"{store}\""), 1)
}

/// Stops the daemon with SIGTERM and waits until it is gone.
fn stop_daemon(env: &TestEnv) {
    let pids = env.daemon_processes();
    assert!(!pids.is_empty(), "no daemon to stop");
    env.kill_daemon(libc::SIGTERM);
    assert!(
        wait_until(Duration::from_secs(10), || pids
            .iter()
            .all(|p| TestEnv::is_dead(*p))),
        "daemon did not exit on SIGTERM"
    );
}

/// No token the IdP ever issued appears in any log of `env`.
fn assert_no_tokens_in_logs(env: &TestEnv, issued: &[String]) {
    let logs = env.logs();
    assert!(!logs.is_empty(), "no logs written");
    for token in issued.iter().filter(|t| t.len() >= 16) {
        assert!(
            !logs.contains(token.as_str()),
            "a token issued by the IdP appears in the logs"
        );
    }
}

fn error_message(reply: &Value) -> String {
    reply["error"]["message"].as_str().unwrap_or("").to_string()
}

/// How many Secret Service items hold `username` (our keychain account),
/// asked over D-Bus at `address`.
fn ss_items(address: &str, username: &str) -> usize {
    let out = Command::new("dbus-send")
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.SearchItems",
            &format!("dict:string:string:service,logto-companion,username,{username}"),
        ])
        .output()
        .expect("run dbus-send");
    assert!(
        out.status.success(),
        "dbus-send: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("object path"))
        .count()
}

/// The head and part entries (docs/keychain.md) that exist for `account`.
fn entries_of(address: &str, account: &str) -> Vec<String> {
    let mut names = vec![account.to_string()];
    for slot in ["a", "b"] {
        for i in 1..=6 {
            names.push(format!("{account}#{slot}{i}"));
        }
    }
    names
        .into_iter()
        .filter(|n| ss_items(address, n) > 0)
        .collect()
}

/// A private D-Bus session bus at a fixed path, started on demand, with an
/// optional gnome-keyring on it. Nothing is auto-started on it.
struct PrivateBus {
    dir: tempfile::TempDir,
    address: String,
    children: Vec<Child>,
}

impl PrivateBus {
    /// Nothing listens at `address` yet.
    fn new() -> PrivateBus {
        require_tool("dbus-daemon", "dbus-daemon");
        require_tool("gnome-keyring-daemon", "gnome-keyring");
        require_tool("dbus-send", "dbus-bin");
        let dir = tempfile::Builder::new()
            .prefix("lc-bus-")
            .tempdir()
            .unwrap();
        let address = format!("unix:path={}", dir.path().join("bus").display());
        PrivateBus {
            dir,
            address,
            children: Vec::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn start_bus(&mut self) {
        std::fs::create_dir_all(self.path("services")).unwrap();
        let config = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={bus}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{services}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
            bus = self.path("bus").display(),
            services = self.path("services").display()
        );
        std::fs::write(self.path("bus.conf"), config).unwrap();
        let child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", self.path("bus.conf").display()))
            .arg("--nofork")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        self.children.push(child);
        let bus = self.path("bus");
        assert!(
            wait_until(Duration::from_secs(10), || bus.exists()),
            "dbus-daemon did not listen"
        );
    }

    fn name_has_owner(&self, name: &str) -> bool {
        Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
            .unwrap_or(false)
    }

    /// gnome-keyring's Secret Service on the bus, with a fresh unlocked
    /// login keyring.
    fn start_keyring(&mut self) {
        let home = self.path("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut child = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("HOME", &home)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"test-keyring-password").unwrap();
        drop(stdin);
        self.children.push(child);
        assert!(
            wait_until(Duration::from_secs(10), || self
                .name_has_owner("org.freedesktop.secrets")),
            "gnome-keyring did not take org.freedesktop.secrets"
        );
    }

    /// Locks the login collection (as a screen lock or a timeout would).
    fn lock(&self) {
        let out = Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "lock: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A named session keyring that lives as long as this value, as a login
/// session's keyring lives as long as the session: `keyctl session <name>`
/// joins it. (Made searchable by its owner, else a second `keyctl session
/// <name>` would create a new one.)
struct SessionKeyring(Child);

impl SessionKeyring {
    fn hold(name: &str) -> SessionKeyring {
        let mut child = Command::new("keyctl")
            .args([
                "session",
                name,
                "sh",
                "-c",
                "keyctl setperm @s 0x3f3f0000 >/dev/null && echo ready && exec sleep 600",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("keyctl session");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready", "could not set up a session keyring");
        SessionKeyring(child)
    }
}

impl Drop for SessionKeyring {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Restarting the daemon keeps the session: the next daemon finds it in
/// the Secret Service, with its ID token, and refreshes from it.
#[test]
fn restart_keeps_the_session() {
    if !keyring::require(concat!(module_path!(), "::restart_keeps_the_session")) {
        return;
    }
    let s = setup(None, "");
    assert!(std::fs::read_to_string(s.env.config_path())
        .unwrap()
        .starts_with("store = \"keychain\""));
    let mut a = s.host();
    let signed_in = s.sign_in(&mut a);
    let sub = signed_in["result"]["claims"]["sub"].clone();
    assert!(sub.is_string(), "{signed_in}");
    assert!(a.call("getAccessToken", json!(null))["result"]["accessToken"].is_string());
    let status = a.call("status", json!(null));
    assert_eq!(
        status["result"]["store"]["kind"], "secret-service",
        "{status}"
    );
    drop(a);
    stop_daemon(&s.env);

    // A new daemon, as after a reboot or a crash: no sign-in needed.
    let refreshes = s.idp.token_requests("refresh_token");
    let mut b = s.host();
    let hello = b.hello(&s.idp.endpoint, APP_ID);
    assert_eq!(hello["result"]["authenticated"], true, "{hello}");
    let claims = b.call("getIdTokenClaims", json!(null));
    assert_eq!(claims["result"]["claims"]["sub"], sub, "{claims}");
    assert_eq!(claims["result"]["claims"]["phone_number"], PHONE_CLAIM);
    // The ID token came from the keychain, not from a refresh.
    assert_eq!(s.idp.token_requests("refresh_token"), refreshes);
    let at = b.call("getAccessToken", json!({"resource": API}));
    assert!(at["result"]["accessToken"].is_string(), "{at}");

    // Another browser on the restarted daemon is signed in as well.
    let mut c = s.env.host(OTHER_ORIGIN);
    assert_eq!(
        c.hello(&s.idp.endpoint, APP_ID)["result"]["authenticated"],
        true
    );

    // Twice in a row: the rotated refresh token was saved before use.
    drop((b, c));
    stop_daemon(&s.env);
    let mut d = s.host();
    assert!(d.call("getAccessToken", json!(null))["result"]["accessToken"].is_string());
    let out = d.call("signOut", json!(null));
    assert!(out["result"]["endSessionUrl"].is_string(), "{out}");
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap();
    assert!(entries_of(&address, &account(&s.idp.endpoint)).is_empty());
    drop(d);
    stop_daemon(&s.env);
    let mut e = s.host();
    assert_eq!(
        e.call("isAuthenticated", json!(null))["result"]["authenticated"],
        false
    );
    assert_no_tokens_in_logs(&s.env, &s.idp.issued());
}

/// An ID token that makes the record larger than 2,560 bytes: the record
/// spans numbered entries, survives a restart and a rotation, and every
/// entry goes on signOut and on clearAllTokens.
#[test]
fn record_over_2560_bytes_spans_entries_and_all_go_on_sign_out() {
    if !keyring::require(concat!(
        module_path!(),
        "::record_over_2560_bytes_spans_entries_and_all_go_on_sign_out"
    )) {
        return;
    }
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap();
    let picture = format!("https://pictures.example.test/{}", "p".repeat(3000));
    let idp_cfg = json!({"users": [{
        "id": "user-alice", "phone": PHONE, "name": "Alice Example",
        "username": "alice", "picture": picture,
    }]});
    let s = setup(Some(idp_cfg), "");
    let acct = account(&s.idp.endpoint);
    let mut a = s.host();
    s.sign_in(&mut a);
    let idt = a.call("getIdToken", json!(null));
    let idt = idt["result"]["idToken"].as_str().unwrap().to_string();
    assert!(idt.len() > 2560, "ID token is only {} bytes", idt.len());
    let names = entries_of(&address, &acct);
    assert_eq!(names[0], acct, "{names:?}");
    assert!(names.len() >= 3, "head and at least two parts: {names:?}");
    assert!(
        names[1..].iter().all(|n| n.contains("#a")),
        "parts in slot a: {names:?}"
    );
    drop(a);
    stop_daemon(&s.env);

    let refreshes = s.idp.token_requests("refresh_token");
    let mut b = s.host();
    let claims = b.call("getIdTokenClaims", json!(null));
    assert_eq!(claims["result"]["claims"]["picture"], picture.as_str());
    assert_eq!(
        b.call("getIdToken", json!(null))["result"]["idToken"],
        idt.as_str()
    );
    assert_eq!(s.idp.token_requests("refresh_token"), refreshes);

    // A refresh rotates the refresh token: the record moves to the other
    // slot and the old parts go.
    assert!(b.call("getAccessToken", json!(null))["result"]["accessToken"].is_string());
    assert_eq!(s.idp.token_requests("refresh_token"), refreshes + 1);
    let names = entries_of(&address, &acct);
    assert_eq!(names[0], acct);
    assert!(
        names[1..].iter().all(|n| n.contains("#b")),
        "old parts left: {names:?}"
    );
    drop(b);
    stop_daemon(&s.env);
    let mut c = s.host();
    assert_eq!(
        c.call("getIdTokenClaims", json!(null))["result"]["claims"]["picture"],
        picture.as_str()
    );

    // signOut: nothing left.
    let out = c.call("signOut", json!(null));
    assert!(out["result"]["endSessionUrl"].is_string(), "{out}");
    assert_eq!(entries_of(&address, &acct), Vec::<String>::new());

    // clearAllTokens: nothing left either.
    s.sign_in(&mut c);
    assert!(entries_of(&address, &acct).len() >= 3);
    let cleared = c.call("clearAllTokens", json!(null));
    assert!(cleared.get("result").is_some(), "{cleared}");
    assert_eq!(entries_of(&address, &acct), Vec::<String>::new());
    assert_no_tokens_in_logs(&s.env, &s.idp.issued());
}

/// No session bus, then a bus without a Secret Service provider, then the
/// provider: the daemon starts anyway, each state gets its clear message
/// (cause and fix, not a zbus dump), and the same daemon recovers.
#[test]
fn absent_secret_service_is_a_clear_error_and_the_daemon_recovers() {
    let mut bus = PrivateBus::new();
    let mut env = TestEnv::new();
    env.write_config(&config_with_store(ENDPOINT, "keychain"));
    env.vars
        .insert("DBUS_SESSION_BUS_ADDRESS".into(), bus.address.clone());
    let mut h = env.host(EXT_ORIGIN);

    let r = h.hello(ENDPOINT, APP_ID);
    assert_eq!(error_code(&r), "keychain_unavailable", "{r}");
    let m = error_message(&r);
    assert!(
        m.starts_with("cannot reach the Secret Service: there is no D-Bus session bus"),
        "{m}"
    );
    assert!(m.contains("store = \"keyutils\""), "{m}");
    assert!(
        !m.contains("Os {") && !m.contains("Address {"),
        "a dump: {m}"
    );
    let status = h.call("status", json!(null));
    let description = status["result"]["store"]["description"]
        .as_str()
        .unwrap_or("");
    assert!(description.contains("no D-Bus session bus"), "{status}");
    let daemon = env
        .daemon_pid()
        .expect("the daemon runs without a keychain");

    bus.start_bus();
    let r = h.call("isAuthenticated", json!(null));
    assert_eq!(error_code(&r), "keychain_unavailable", "{r}");
    let m = error_message(&r);
    assert!(
        m.starts_with("no Secret Service provider is running"),
        "{m}"
    );
    assert!(
        m.contains("gnome-keyring") && m.contains("KeePassXC"),
        "{m}"
    );
    assert!(
        !m.contains("MethodError(") && !m.contains("Msg {"),
        "a dump: {m}"
    );

    bus.start_keyring();
    let r = h.call("isAuthenticated", json!(null));
    assert_eq!(r["result"]["authenticated"], false, "{r}");
    assert_eq!(
        env.daemon_pid(),
        Some(daemon),
        "recovered without a restart"
    );
    let status = h.call("status", json!(null));
    let description = status["result"]["store"]["description"]
        .as_str()
        .unwrap_or("");
    assert!(!description.contains("failed"), "{status}");
}

/// A locked collection: a refresh whose rotated token cannot be saved is an
/// error to the caller, and a restarted daemon says the keyring is locked.
#[test]
fn locked_secret_service_is_a_clear_error() {
    let mut bus = PrivateBus::new();
    bus.start_bus();
    bus.start_keyring();
    let mut s = setup(None, "");
    s.env
        .write_config(&config_with_store(&s.idp.endpoint, "keychain"));
    s.env
        .vars
        .insert("DBUS_SESSION_BUS_ADDRESS".into(), bus.address.clone());
    let mut a = s.host();
    s.sign_in(&mut a);
    assert_eq!(ss_items(&bus.address, &account(&s.idp.endpoint)), 1);

    bus.lock();
    // The next refresh rotates the refresh token; saving it fails.
    a.call("clearAccessToken", json!(null));
    let r = a.call("getAccessToken", json!(null));
    assert_eq!(error_code(&r), "keychain_unavailable", "{r}");
    let m = error_message(&r);
    assert!(m.starts_with("the Secret Service keyring is locked"), "{m}");
    assert!(
        m.contains("gnome-keyring-daemon --unlock") && m.contains("keyutils"),
        "{m}"
    );
    drop(a);
    stop_daemon(&s.env);

    let mut b = s.env.host(EXT_ORIGIN);
    let r = b.hello(&s.idp.endpoint, APP_ID);
    assert_eq!(error_code(&r), "keychain_unavailable", "{r}");
    assert!(
        error_message(&r).starts_with("the Secret Service keyring is locked"),
        "{r}"
    );
    assert_no_tokens_in_logs(&s.env, &s.idp.issued());
}

/// `store = "keyutils"`: the explicit fallback. Sessions survive a daemon
/// restart (same session keyring); `status` says they are lost at reboot;
/// signOut removes the key.
#[test]
fn keyutils_fallback_survives_a_restart() {
    require_tool("keyctl", "keyutils");
    let s = setup(None, "");
    s.env
        .write_config(&config_with_store(&s.idp.endpoint, "keyutils"));
    let ring = format!(
        "lc-test-{}-{}",
        std::process::id(),
        s.env.dir.path().file_name().unwrap().to_string_lossy()
    );
    let _session = SessionKeyring::hold(&ring);
    let host = |origin: &str| {
        let mut cmd = Command::new("keyctl");
        cmd.args(["session", &ring, BIN.as_str(), origin]);
        for k in [
            "XDG_CONFIG_DIRS",
            "XDG_DATA_DIRS",
            "DBUS_SESSION_BUS_ADDRESS",
        ] {
            cmd.env_remove(k);
        }
        cmd.envs(&s.env.vars);
        let mut h = Host::spawn(cmd);
        let r = h.hello(&s.idp.endpoint, APP_ID);
        assert!(r.get("result").is_some(), "hello: {r}");
        h
    };
    let key = format!("keyring:{}@logto-companion", account(&s.idp.endpoint));
    let key_exists = || {
        Command::new("keyctl")
            .args(["session", &ring, "keyctl", "search", "@s", "user", &key])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|st| st.success())
            .unwrap_or(false)
    };

    let mut a = host(EXT_ORIGIN);
    let status = a.call("status", json!(null));
    assert_eq!(status["result"]["store"]["kind"], "keyutils", "{status}");
    assert_eq!(status["result"]["store"]["persistent"], false);
    assert!(
        status["result"]["store"]["description"]
            .as_str()
            .unwrap_or("")
            .contains("LOST AT REBOOT"),
        "{status}"
    );
    s.sign_in(&mut a);
    assert!(key_exists(), "no key {key}");
    drop(a);
    stop_daemon(&s.env);

    let mut b = host(EXT_ORIGIN);
    assert_eq!(
        b.call("isAuthenticated", json!(null))["result"]["authenticated"],
        true
    );
    assert!(b.call("getAccessToken", json!(null))["result"]["accessToken"].is_string());
    let out = b.call("signOut", json!(null));
    assert!(out["result"]["endSessionUrl"].is_string(), "{out}");
    assert!(!key_exists(), "key {key} left after signOut");
    assert_no_tokens_in_logs(&s.env, &s.idp.issued());
}
