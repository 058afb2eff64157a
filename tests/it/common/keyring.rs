//! The one keyring policy of the suites. `scripts/test` runs them inside
//! `scripts/with-keyring` (a private D-Bus session with an unlocked
//! gnome-keyring), which sets `KEYRING_HOME`:
//!
//! - tests that merely *can* use the keychain take [`store`]: the real
//!   Secret Service inside, the memory store under a plain `cargo test`;
//! - tests that *need* it call [`require`]: inside they run; outside they
//!   re-run themselves through `scripts/with-keyring` and pass only if
//!   they pass there (never silently skipped).

use std::process::Command;

/// Inside `scripts/with-keyring`.
pub fn available() -> bool {
    std::env::var_os("KEYRING_HOME").is_some()
}

/// The `store =` value for a test's config.
pub fn store() -> &'static str {
    if available() {
        "keychain"
    } else {
        "memory"
    }
}

/// True: run the test body here. False: it ran (and passed) through
/// `scripts/with-keyring`; return at once. `test` is
/// `concat!(module_path!(), "::", <fn name>)`.
pub fn require(test: &str) -> bool {
    if available() {
        return true;
    }
    let name = test.strip_prefix("it::").unwrap_or(test);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/with-keyring");
    let out = Command::new(&script)
        .arg(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture"])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name} needs the real Secret Service and failed under scripts/with-keyring (it needs dbus-run-session and gnome-keyring: apt-get install -y --no-install-recommends dbus-daemon gnome-keyring):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    false
}
