//! Whether a browser is installed here: natively (a profile or install
//! folder, an executable on `PATH`), as a Flatpak or as a Snap.

use super::{under_root, Browser, Env, Os};
use serde::Serialize;
use std::path::Path;

/// How a browser was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Detection {
    /// Installed natively (its folder or executable exists).
    pub native: Option<String>,
    pub flatpaks: Vec<&'static str>,
    pub snaps: Vec<&'static str>,
}

impl Detection {
    pub fn any(&self) -> bool {
        self.native.is_some() || !self.flatpaks.is_empty() || !self.snaps.is_empty()
    }

    /// Every way it was found, for "browsers found: …".
    pub fn describe(&self) -> String {
        self.native
            .clone()
            .into_iter()
            .chain(self.flatpaks.iter().map(|f| format!("Flatpak {f}")))
            .chain(self.snaps.iter().map(|s| format!("Snap {s}")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub fn detect(b: &Browser, env: &Env) -> Detection {
    let mut native = None;
    match env.os {
        Os::Windows => {
            native = b
                .windows
                .detect
                .iter()
                .map(|t| env.expand(t))
                .find(|p| p.exists())
                .map(|p| p.display().to_string());
        }
        os => {
            if let Some(l) = b.locations(os) {
                native = l
                    .detect
                    .iter()
                    .flat_map(|t| env.resolve(t))
                    .find(|p| is_install_mark(p))
                    .map(|p| p.display().to_string())
                    .or_else(|| {
                        l.bins
                            .iter()
                            .find_map(|bin| env.on_path(bin))
                            .map(|p| p.display().to_string())
                    });
            }
        }
    }
    let mut flatpaks = Vec::new();
    let mut snaps = Vec::new();
    if env.os == Os::Linux {
        for f in b.flatpak {
            let marks = [
                env.home.join(".var/app").join(f.app_id),
                env.xdg_data.join("flatpak/app").join(f.app_id),
                under_root(&env.root, &Path::new("/var/lib/flatpak/app").join(f.app_id)),
            ];
            if marks.iter().any(|m| m.exists()) {
                flatpaks.push(f.app_id);
            }
        }
        for s in b.snap {
            let marks = [
                env.home.join("snap").join(s.name),
                under_root(&env.root, &Path::new("/snap/bin").join(s.name)),
            ];
            if marks.iter().any(|m| m.exists()) {
                snaps.push(s.name);
            }
        }
        // A snap's `/snap/bin/<name>` is on PATH too: do not count it as a
        // native install.
        if let Some(n) = &native {
            if n.contains("/snap/bin/") {
                native = None;
            }
        }
    }
    Detection {
        native,
        flatpaks,
        snaps,
    }
}

/// A browser's folder counts when it exists with more in it than the
/// manifest folder an earlier `install` may have created itself.
fn is_install_mark(p: &Path) -> bool {
    match std::fs::read_dir(p) {
        Ok(rd) => rd.flatten().any(|e| {
            let n = e.file_name();
            n != "NativeMessagingHosts" && n != "native-messaging-hosts"
        }),
        Err(_) => p.exists(),
    }
}
