//! Test harness: an isolated user (HOME, XDG_*), the real binary started the
//! way a browser starts it, and frame helpers with timeouts so no test hangs.

pub mod dot;
pub mod idp;
pub mod keyring;
pub mod session;

use logto_companion::codec::{read_frame, write_frame};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The thin `logto-companion` (what manifests point at and users type),
/// built beside the daemon binary by `cargo test` (the client crate's own
/// integration test makes cargo build it).
pub static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let daemon = PathBuf::from(DAEMON_BIN);
    let thin = daemon.with_file_name(format!("logto-companion{}", std::env::consts::EXE_SUFFIX));
    assert!(
        thin.is_file(),
        "{} is missing: run `cargo build --workspace` (or `cargo test --workspace`)",
        thin.display()
    );
    thin.to_string_lossy().into_owned()
});

/// The daemon binary (every subcommand; the thin binary starts it).
pub const DAEMON_BIN: &str = env!("CARGO_BIN_EXE_logto-companion-daemon");
pub const EXT_ORIGIN: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop/";
pub const OTHER_ORIGIN: &str = "chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba/";
pub const ENDPOINT: &str = "http://127.0.0.1:9";
pub const APP_ID: &str = "native-test-app";

/// Default wait for one reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub vars: HashMap<String, String>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::Builder::new()
            .prefix("lc-test-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        let mut vars = HashMap::new();
        for (k, sub) in [
            ("HOME", "home"),
            ("XDG_CONFIG_HOME", "home/.config"),
            ("XDG_STATE_HOME", "home/.local/state"),
            ("XDG_DATA_HOME", "home/.local/share"),
            ("XDG_CACHE_HOME", "home/.cache"),
            ("XDG_RUNTIME_DIR", "run"),
        ] {
            let p = root.join(sub);
            std::fs::create_dir_all(&p).unwrap();
            vars.insert(k.to_string(), p.to_string_lossy().into_owned());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(root.join("run"), std::fs::Permissions::from_mode(0o700))
                .unwrap();
        }
        vars.insert("LOGTO_COMPANION_LOG".into(), "debug".into());
        TestEnv { dir, vars }
    }

    pub fn path(&self, var: &str) -> PathBuf {
        PathBuf::from(&self.vars[var])
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("XDG_CONFIG_HOME")
            .join("logto-companion/config.toml")
    }

    pub fn runtime_dir(&self) -> PathBuf {
        self.path("XDG_RUNTIME_DIR").join("logto-companion")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.path("XDG_STATE_HOME").join("logto-companion/logs")
    }

    /// Writes `config.toml` (raw TOML).
    pub fn write_config(&self, toml: &str) {
        let p = self.config_path();
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, toml).unwrap();
    }

    /// A config with the test app registered for `EXT_ORIGIN` and the
    /// in-memory store (these tests are about transport, not keychains).
    pub fn write_default_config(&self) {
        self.write_config(&format!(
            r#"store = "memory"
idle_timeout_secs = 60
[[apps]]
endpoint = "{ENDPOINT}"
app_id = "{APP_ID}"
allowed_origins = ["{EXT_ORIGIN}"]
"#
        ));
    }

    pub fn command(&self) -> Command {
        self.command_of(&*BIN)
    }

    /// `program` (another copy of the binary) in this environment.
    pub fn command_of(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        for k in [
            "XDG_CONFIG_DIRS",
            "XDG_DATA_DIRS",
            "DBUS_SESSION_BUS_ADDRESS",
        ] {
            c.env_remove(k);
        }
        c.envs(&self.vars);
        c
    }

    /// Starts the binary exactly as Chromium does: argv[1] = origin, frames
    /// on stdin/stdout.
    pub fn host(&self, origin: &str) -> Host {
        let mut cmd = self.command();
        cmd.arg(origin);
        Host::spawn(cmd)
    }

    pub fn daemon_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.runtime_dir().join("daemon.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// Every live daemon process of this environment (found through
    /// /proc, by its XDG_RUNTIME_DIR).
    pub fn daemon_processes(&self) -> Vec<i32> {
        let needle = format!("XDG_RUNTIME_DIR={}", self.vars["XDG_RUNTIME_DIR"]);
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            if !args.iter().any(|a| *a == b"daemon") {
                continue;
            }
            // Auto-started: the daemon binary's path; handed off by the thin
            // binary: `exec` keeps the `logto-companion` argv[0].
            let arg0 = String::from_utf8_lossy(args.first().copied().unwrap_or_default());
            if !arg0.ends_with("logto-companion-daemon") && !arg0.ends_with("logto-companion") {
                continue;
            }
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            if environ.split(|b| *b == 0).any(|e| e == needle.as_bytes()) {
                // Zombies have an empty cmdline, so reaching here means alive.
                out.push(pid);
            }
        }
        out
    }

    /// True once `pid` has fully exited and been reaped, so its sockets are
    /// closed. Neither an empty cmdline nor a zombie leader is enough: the
    /// kernel drops the memory map first, and the fd table goes only with
    /// the last thread.
    pub fn is_dead(pid: i32) -> bool {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    }

    pub fn kill_daemon(&self, signal: i32) {
        for pid in self.daemon_processes() {
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    /// Concatenation of every log file written so far.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        if let Ok(rd) = std::fs::read_dir(self.log_dir()) {
            for e in rd.flatten() {
                all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        all
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.kill_daemon(libc::SIGKILL);
    }
}

/// A host process with frame helpers.
pub struct Host {
    pub child: Child,
    stdin: Option<ChildStdin>,
    frames: mpsc::Receiver<Value>,
    next_id: u64,
    /// Events seen while waiting for replies.
    pub events: Vec<Value>,
}

impl Host {
    pub fn spawn(mut cmd: Command) -> Host {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn host");
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || loop {
            let Ok(Some(body)) = read_frame(&mut stdout, usize::MAX) else {
                return;
            };
            let v: Value =
                serde_json::from_slice(&body).expect("host wrote a non-JSON frame to stdout");
            if tx.send(v).is_err() {
                return;
            }
        });
        let stdin = child.stdin.take();
        Host {
            child,
            stdin,
            frames: rx,
            next_id: 1,
            events: Vec::new(),
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    pub fn send_frame(&mut self, body: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        write_frame(stdin, body, usize::MAX).unwrap();
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, v: &Value) {
        self.send_frame(&serde_json::to_vec(v).unwrap());
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Next frame of any kind.
    pub fn recv_timeout(&mut self, t: Duration) -> Option<Value> {
        self.frames.recv_timeout(t).ok()
    }

    /// Next frame that is a reply (events are collected in `events`).
    pub fn recv_reply(&mut self) -> Value {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.recv_timeout(left).expect("no reply from host in time");
            if v.get("event").is_some() {
                self.events.push(v);
            } else {
                return v;
            }
        }
    }

    /// Waits for an event by name (looking at already collected ones first).
    pub fn wait_event(&mut self, name: &str, t: Duration) -> Option<Value> {
        if let Some(i) = self.events.iter().position(|e| e["event"] == name) {
            return Some(self.events.remove(i));
        }
        let deadline = Instant::now() + t;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.recv_timeout(left)?;
            if v["event"] == name {
                return Some(v);
            }
            if v.get("event").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Waits for a `sessionChanged` event with this `authenticated` state
    /// (skipping older ones still in flight).
    pub fn wait_session(&mut self, authenticated: bool, t: Duration) -> Option<Value> {
        let deadline = Instant::now() + t;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = self.wait_event("sessionChanged", left)?;
            if e["data"]["authenticated"] == authenticated {
                return Some(e);
            }
        }
    }

    /// Sends a request and waits for the reply with its id.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"id": id, "method": method, "params": params}));
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .recv_timeout(left)
                .unwrap_or_else(|| panic!("no reply to {method} in time"));
            if v.get("event").is_some() {
                self.events.push(v);
                continue;
            }
            if v["id"] == json!(id) {
                return v;
            }
        }
    }

    pub fn hello(&mut self, endpoint: &str, app_id: &str) -> Value {
        self.call(
            "hello",
            json!({"app": {"endpoint": endpoint, "appId": app_id}}),
        )
    }

    /// Waits for the process to exit; None if it is still running.
    pub fn wait_exit(&mut self, t: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + t;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn error_code(reply: &Value) -> &str {
    reply["error"]["code"].as_str().unwrap_or("<no error>")
}

pub fn wait_until(t: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + t;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Adds counts to the suite's fault report (`target/fault-report/*.json`),
/// which `scripts/test` totals at the end of the run.
pub fn report_counts(name: &str, counts: &[(&str, u64)]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fault-report");
    let _ = std::fs::create_dir_all(&dir);
    let obj: serde_json::Map<String, Value> = counts
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let _ = std::fs::write(
        dir.join(format!("{name}.json")),
        Value::Object(obj).to_string(),
    );
}

/// The JSON line a test driver (tests/idp/drive-signin.mjs,
/// tests/idp-dot/drive.py) prints last.
pub fn driver_result(out: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "driver output not JSON: {stdout:?} stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
