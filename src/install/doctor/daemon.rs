//! The daemon: answering on its socket, or (when not running, which is
//! normal) able to start: its runtime folder private to this user.

use super::Report;
use crate::fsx::{private_dir_problem, NotPrivate};
use crate::ipc::client::Client;
use crate::ipc::IpcError;
use crate::paths::Paths;
use crate::protocol::{NoParams, Origin, PingResult, Request, RpcError};
use std::path::Path;

pub fn check_daemon(r: &mut Report, paths: &Paths) {
    let socket = paths.socket();
    match ping(paths) {
        Ok(Ok(version)) => r.ok(
            "daemon",
            format!("daemon answers on {} (version {version})", socket.display()),
        ),
        Ok(Err(e)) => r.fail(
            "daemon",
            format!(
                "the daemon on {} answered ping with an error: {}",
                socket.display(),
                e.message
            ),
            "restart it: stop the `logto-companion daemon` process; it starts again on demand"
                .to_string(),
        ),
        Err(IpcError::Connect(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            // Not running is normal: browsers and the CLI start it. What
            // must hold is that it could start: a private runtime folder.
            match runtime_dir_problem(&paths.runtime_dir) {
                None => r.ok(
                    "daemon",
                    format!(
                        "daemon not running (browsers and the CLI start it on demand); {} is usable",
                        paths.runtime_dir.display()
                    ),
                ),
                Some(p) => r.fail(
                    "daemon",
                    p,
                    format!(
                        "fix the ownership/permissions of {} (0700, yours)",
                        paths.runtime_dir.display()
                    ),
                ),
            }
        }
        Err(e) => r.fail(
            "daemon",
            format!("cannot reach the daemon socket {}: {e}", socket.display()),
            format!(
                "check {} (it must be yours, mode 0700); `logto-companion ping` starts the daemon",
                paths.runtime_dir.display()
            ),
        ),
    }
}

/// The one round trip `doctor` makes: `ping` to a running daemon (never
/// starting one), as the CLI. Outer error: no connection; inner: the
/// daemon's error reply. Returns the daemon's version.
fn ping(paths: &Paths) -> Result<Result<String, RpcError>, IpcError> {
    let mut c = Client::connect_existing(paths, &Origin::Cli, "cli")?;
    Ok(c.call::<PingResult>(&Request::Ping(NoParams))
        .map(|v| v.version))
}

/// Why the daemon would refuse its runtime folder; `None` when it is fine
/// or absent (the daemon creates it).
fn runtime_dir_problem(dir: &Path) -> Option<String> {
    match private_dir_problem(dir).ok()?? {
        NotPrivate::Foreign { owner, me } => Some(format!(
            "{} belongs to uid {owner}, not to you ({me}): the daemon refuses it",
            dir.display()
        )),
        NotPrivate::Open { mode } => Some(format!(
            "{} is readable by others (mode {mode:o}); the daemon makes it 0700 when it starts",
            dir.display()
        )),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_open_runtime_folder_is_named_and_an_absent_one_is_fine() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("run");
        assert_eq!(runtime_dir_problem(&d), None);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o750)).unwrap();
        let p = runtime_dir_problem(&d).unwrap();
        assert!(p.contains("readable by others (mode 750)"), "{p}");
    }
}
