//! The thin binary on its own (the suites in `tests/it` run it with the
//! daemon binary beside it). Also makes `cargo test` build the binary, which
//! those suites start.

use std::path::Path;
use std::process::Command;

const THIN: &str = env!("CARGO_BIN_EXE_logto-companion");

/// An isolated user, and a copy of the thin binary alone in a folder.
///
/// One copy for the whole run, made before any test here starts a process
/// (each test calls this first): a copy written while another test thread
/// forks leaves its write handle open in that child until it execs, and
/// running the copy then fails with ETXTBSY ("Text file busy"). It lives
/// under cargo's target/tmp, put in place by a rename (a run that still
/// executes the previous copy keeps it).
fn alone() -> (tempfile::TempDir, std::path::PathBuf) {
    static COPY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let bin = COPY.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("thin-alone");
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join(Path::new(THIN).file_name().unwrap());
        let part = dir.join(format!("copy.{}", std::process::id()));
        std::fs::copy(THIN, &part).unwrap();
        std::fs::rename(&part, &bin).unwrap();
        bin
    });
    (tempfile::tempdir().unwrap(), bin.clone())
}

/// `bin` as the isolated user of `dir`.
fn command(dir: &Path, bin: &Path) -> Command {
    let home = dir.join("home");
    let run = dir.join("run");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&run).unwrap();
    let mut c = Command::new(bin);
    c.env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_RUNTIME_DIR", &run)
        .env("APPDATA", home.join("roaming"))
        .env("LOCALAPPDATA", home.join("local"));
    c
}

fn run(dir: &Path, bin: &Path, args: &[&str]) -> std::process::Output {
    command(dir, bin).args(args).output().unwrap()
}

#[test]
fn version_is_answered_without_the_daemon_binary() {
    let (dir, bin) = alone();
    let out = run(dir.path(), &bin, &["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("logto-companion {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_missing_daemon_binary_is_named_with_the_fix() {
    let (dir, bin) = alone();
    // A handed-off command, and one that must start the daemon.
    for args in [&["sign-in"][..], &["ping"]] {
        let out = run(dir.path(), &bin, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("logto-companion-daemon") && err.contains("reinstall"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// A reader that went away ends a command quietly (SIGPIPE, as for any Unix
/// tool), not with Rust's broken-pipe panic (exit 101).
#[cfg(unix)]
#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let (dir, bin) = alone();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = command(dir.path(), &bin)
        .arg("--version")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?} {err}",
        out.status
    );
}

/// The host, unlike a command, survives a browser that stopped reading:
/// its answer fails with EPIPE (SIGPIPE is ignored in host mode), and it
/// ends with code 0 once stdin closes, not killed by a signal.
#[cfg(unix)]
#[test]
fn the_host_outlives_a_closed_stdout() {
    use std::io::Write;
    let (dir, bin) = alone();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = command(dir.path(), &bin)
        .arg("chrome-extension://abcdefghijklmnopabcdefghijklmnop/")
        .stdin(std::process::Stdio::piped())
        .stdout(writer)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // No daemon binary beside it: the host answers daemon_unavailable,
    // into the closed pipe.
    let ping = br#"{"id":1,"method":"ping"}"#;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&(ping.len() as u32).to_le_bytes()).unwrap();
    stdin.write_all(ping).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
}
