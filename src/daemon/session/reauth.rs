//! "Signed out here": after a sign-out, the next sign-in of the app asks
//! the provider to authenticate the user again (`prompt=login`), so a
//! browser whose provider cookie outlived the sign-out is not signed back
//! in without credentials.
//!
//! The mark is a file under the state folder (the daemon exits when idle
//! and a browser may come back days later); it holds no secret, only that
//! the app was signed out. A sign-in that completes removes it.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where the marks live; `None` keeps them in memory only (tests).
pub struct ReauthMarks {
    dir: Option<PathBuf>,
    memory: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

impl ReauthMarks {
    pub fn in_dir(dir: &Path) -> ReauthMarks {
        ReauthMarks {
            dir: Some(dir.to_path_buf()),
            memory: Default::default(),
        }
    }

    pub fn in_memory() -> ReauthMarks {
        ReauthMarks {
            dir: None,
            memory: Default::default(),
        }
    }

    fn file(&self, endpoint: &str, app_id: &str) -> PathBuf {
        let digest = Sha256::digest(format!("{endpoint}\n{app_id}").as_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.dir
            .as_deref()
            .unwrap_or(Path::new(""))
            .join(format!("{name}.signed-out"))
    }

    pub fn set(&self, endpoint: &str, app_id: &str) {
        let file = self.file(endpoint, app_id);
        if self.dir.is_none() {
            crate::util::lock(&self.memory).insert(file);
            return;
        }
        let written = file
            .parent()
            .map(std::fs::create_dir_all)
            .unwrap_or(Ok(()))
            .and_then(|()| std::fs::write(&file, b"signed out\n"));
        if let Err(e) = written {
            tracing::warn!("cannot keep the signed-out mark {}: {e}", file.display());
        }
    }

    pub fn is_set(&self, endpoint: &str, app_id: &str) -> bool {
        let file = self.file(endpoint, app_id);
        match self.dir {
            None => crate::util::lock(&self.memory).contains(&file),
            Some(_) => file.exists(),
        }
    }

    pub fn clear(&self, endpoint: &str, app_id: &str) {
        let file = self.file(endpoint, app_id);
        if self.dir.is_none() {
            crate::util::lock(&self.memory).remove(&file);
        } else if let Err(e) = std::fs::remove_file(&file) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("cannot remove the signed-out mark {}: {e}", file.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_survives_a_new_instance_and_is_per_app() {
        let dir = tempfile::tempdir().unwrap();
        ReauthMarks::in_dir(dir.path()).set("https://e", "a");
        let marks = ReauthMarks::in_dir(dir.path());
        assert!(marks.is_set("https://e", "a"));
        assert!(!marks.is_set("https://e", "b"));
        marks.clear("https://e", "a");
        assert!(!marks.is_set("https://e", "a"));
        marks.clear("https://e", "a");
    }
}
