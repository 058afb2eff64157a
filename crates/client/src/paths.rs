//! Every file and socket location, in one place.
//!
//! | what            | Linux / macOS (`directories`)               | Windows                                          |
//! |-----------------|---------------------------------------------|--------------------------------------------------|
//! | `config_dir`    | `$XDG_CONFIG_HOME/logto-companion`          | `%APPDATA%\logto-companion\config`             |
//! | `state_dir`     | `$XDG_STATE_HOME/logto-companion`           | `%LOCALAPPDATA%\logto-companion\data`          |
//! | `runtime_dir`   | `$XDG_RUNTIME_DIR/logto-companion`          | `%LOCALAPPDATA%\logto-companion\data\run`     |
//! | daemon endpoint | `runtime_dir/daemon.sock`                   | `\\.\pipe\logto-companion-<hash of SID, runtime_dir>` |
//!
//! On Unix they follow `HOME` and the `XDG_*` variables (through
//! `directories`); on Windows `%APPDATA%` and `%LOCALAPPDATA%` when set
//! (Windows always sets them; `directories` asks the shell's known folders,
//! which ignore the environment), so a test isolates everything by setting
//! those, on either system.

use directories::ProjectDirs;
use std::io;
use std::path::{Path, PathBuf};

/// The thin binary: what manifests point at and users type.
pub const THIN_BIN: &str = if cfg!(windows) {
    "logto-companion.exe"
} else {
    "logto-companion"
};

/// The daemon binary, always installed beside [`THIN_BIN`].
pub const DAEMON_BIN: &str = if cfg!(windows) {
    "logto-companion-daemon.exe"
} else {
    "logto-companion-daemon"
};

/// `name` in the running executable's folder (`/proc/self/exe` and its
/// kin resolve symlinks, so a symlinked `logto-companion` finds the real
/// folder). The error names the missing file and the fix.
pub fn beside_this_program(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the path of this program: {e}"))?;
    let path = exe.with_file_name(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing (it ships beside {}); reinstall logto-companion",
            path.display(),
            exe.display()
        ))
    }
}

#[derive(Debug, Clone)]
pub struct Paths {
    /// `config.toml` lives here (`$XDG_CONFIG_HOME/logto-companion`).
    pub config_dir: PathBuf,
    /// Logs and install records (`$XDG_STATE_HOME/logto-companion`).
    pub state_dir: PathBuf,
    /// The daemon socket and its lock (`$XDG_RUNTIME_DIR/logto-companion`,
    /// else a private folder under the state dir).
    pub runtime_dir: PathBuf,
}

impl Paths {
    pub fn discover() -> io::Result<Paths> {
        #[cfg(windows)]
        if let (Some(roaming), Some(local)) = (env_dir("APPDATA"), env_dir("LOCALAPPDATA")) {
            // The same layout `directories` gives, under the folders the
            // environment names.
            let state_dir = local.join("logto-companion").join("data");
            return Ok(Paths {
                config_dir: roaming.join("logto-companion").join("config"),
                runtime_dir: state_dir.join("run"),
                state_dir,
            });
        }
        let dirs = ProjectDirs::from("", "", "logto-companion").ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "cannot find the home directory (is HOME set?)",
            )
        })?;
        let config_dir = dirs.config_dir().to_path_buf();
        let state_dir = dirs
            .state_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dirs.data_local_dir().to_path_buf());
        let runtime_dir = dirs
            .runtime_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| state_dir.join("run"));
        Ok(Paths {
            config_dir,
            state_dir,
            runtime_dir,
        })
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn socket(&self) -> PathBuf {
        #[cfg(unix)]
        {
            self.runtime_dir.join("daemon.sock")
        }
        #[cfg(windows)]
        {
            // Named pipes live in their own namespace, not in runtime_dir.
            crate::ipc::pipe_path(&self.runtime_dir)
        }
    }

    /// Held by the running daemon for its whole life: one daemon per user.
    pub fn daemon_lock(&self) -> PathBuf {
        self.runtime_dir.join("daemon.lock")
    }

    /// Held by whoever is starting the daemon, so two hosts starting at the
    /// same moment start one daemon.
    pub fn start_lock(&self) -> PathBuf {
        self.runtime_dir.join("start.lock")
    }

    /// The running daemon's pid, for `status`, `doctor` and tests.
    pub fn pid_file(&self) -> PathBuf {
        self.runtime_dir.join("daemon.pid")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.state_dir.join("logs")
    }

    /// What `install` wrote, so `uninstall` removes exactly that.
    pub fn install_record(&self) -> PathBuf {
        self.state_dir.join("installed.json")
    }
}

/// Creates `dir` (and parents) and makes it private to the user (0700).
/// Refuses a directory owned by someone else: a socket inside it could be
/// swapped under us. On Windows the folders live under the user's own
/// profile (private by its inherited ACL) and the endpoint is a pipe with
/// its own DACL, so creating the folder is all there is to do.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(dir)?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is owned by uid {}, not by this user ({me}); refusing to use it",
                    dir.display(),
                    meta.uid()
                ),
            ));
        }
        if meta.mode() & 0o777 != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// An absolute folder named by an environment variable, if set.
#[cfg(windows)]
fn env_dir(var: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os(var)?);
    dir.is_absolute().then_some(dir)
}
