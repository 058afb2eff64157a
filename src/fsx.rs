//! File helpers the installer, its record and `Config::save` share: writes
//! that a reader never sees half done, removal that is exact about what it
//! created, and a read-only look at a private folder.
//!
//! They live apart from `install/` so that the config, the install record
//! and the code that applies an install all depend on this one module and
//! not on each other.

use std::io;
use std::path::{Path, PathBuf};

/// Creates `dir` and its missing parents; returns the ones it created,
/// outermost first, so an uninstall can remove exactly those.
pub fn create_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    std::fs::create_dir_all(dir)?;
    missing.reverse();
    Ok(missing)
}

/// Writes through a temporary file in the same folder and a rename, so a
/// reader (a browser, the daemon polling `config.toml`) never sees half a
/// file. `mode` is set before the rename (Unix), so the file is never
/// readable by more people than it should be.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The file's text, or `None` when it does not exist (any other error is
/// one: a file we cannot read must not be taken for an absent one).
pub fn read_opt(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes a file; one that is already gone is fine (undo is idempotent).
pub fn remove_file(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes the folders that are empty, innermost first; keeps the rest.
/// Returns the ones still there (they hold something that is not ours).
pub fn remove_empty_dirs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut sorted: Vec<&PathBuf> = dirs.iter().collect();
    sorted.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    sorted.dedup();
    let mut kept = Vec::new();
    for d in sorted {
        if std::fs::remove_dir(d).is_err() && d.exists() {
            kept.push(d.clone());
        }
    }
    kept
}

/// `p` made absolute against the current directory (not resolved, so a
/// profile folder that does not exist yet is fine, and the record holds
/// paths that mean the same from anywhere).
pub fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// What keeps a folder from being private to this user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotPrivate {
    /// Someone else owns it: a socket inside could be swapped under us.
    Foreign { owner: u32, me: u32 },
    /// Others may read or enter it (`mode` is the permission bits).
    Open { mode: u32 },
}

/// Looks, without changing anything, at whether `dir` is ours and closed to
/// others. `Ok(None)`: it is (always, where there are no Unix owners).
/// `doctor` asks this; `paths::ensure_private_dir` enforces the same rule.
pub fn private_dir_problem(dir: &Path) -> io::Result<Option<NotPrivate>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(dir)?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Ok(Some(NotPrivate::Foreign {
                owner: meta.uid(),
                me,
            }));
        }
        if meta.mode() & 0o077 != 0 {
            return Ok(Some(NotPrivate::Open {
                mode: meta.mode() & 0o777,
            }));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_dirs_returns_only_the_folders_it_made_outermost_first() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("a")).unwrap();
        let made = create_dirs(&t.path().join("a/b/c")).unwrap();
        assert_eq!(made, [t.path().join("a/b"), t.path().join("a/b/c")]);
        assert!(create_dirs(&t.path().join("a/b/c")).unwrap().is_empty());
    }

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temporary() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f.json");
        write_atomic(&p, b"one", 0o600).unwrap();
        write_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn read_opt_and_remove_file_treat_absence_as_normal() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x");
        assert_eq!(read_opt(&p).unwrap(), None);
        remove_file(&p).unwrap();
        std::fs::write(&p, "x").unwrap();
        assert_eq!(read_opt(&p).unwrap().as_deref(), Some("x"));
        remove_file(&p).unwrap();
        assert!(!p.exists());
        // A folder is not a file: that is an error, not "already gone".
        assert!(read_opt(t.path()).is_err());
    }

    #[test]
    fn remove_empty_dirs_keeps_folders_that_hold_something() {
        let t = tempfile::tempdir().unwrap();
        let (a, b, c) = (t.path().join("a"), t.path().join("a/b"), t.path().join("c"));
        std::fs::create_dir_all(&b).unwrap();
        std::fs::create_dir_all(&c).unwrap();
        std::fs::write(c.join("keep"), "").unwrap();
        let kept = remove_empty_dirs(&[a.clone(), b.clone(), c.clone()]);
        assert_eq!(kept, std::slice::from_ref(&c));
        assert!(!a.exists() && c.exists());
    }

    #[cfg(unix)]
    #[test]
    fn private_dir_problem_names_a_folder_open_to_others() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("run");
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(private_dir_problem(&d).unwrap(), None);
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            private_dir_problem(&d).unwrap(),
            Some(NotPrivate::Open { mode: 0o755 })
        );
        assert!(private_dir_problem(&t.path().join("absent")).is_err());
    }
}
