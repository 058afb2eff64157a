//! The browsers: the types of the table's rows, what a location template
//! means, and looking a browser up. The rows are in `table.rs`; expanding
//! templates against a machine is `env.rs`, telling whether a browser is
//! installed `detect.rs`, and where its manifests go `locate.rs`. No other
//! file knows anything about a particular browser.
//!
//! Location templates:
//! - `~` = `$HOME`; `$XDG_CONFIG_HOME` / `$XDG_DATA_HOME` (default
//!   `~/.config` / `~/.local/share`); `%LOCALAPPDATA%` / `%APPDATA%` (Windows);
//! - an absolute path is system-wide and is prefixed by `--root`;
//! - a leading `?` marks a system location used only where its first two
//!   components exist (`/usr/lib64` on Fedora/openSUSE);
//! - a `*` in a component matches any name starting/ending as written
//!   (Tor Browser's folder carries its locale).

mod check;
mod detect;
mod env;
mod locate;
mod table;

pub use detect::{detect, Detection};
pub use env::{under_root, Env};
pub use locate::{flatpak_wrapper_path, manifest_dirs, registry_keys, windows_manifest_dir};
pub use table::BROWSERS;

use serde::{Deserialize, Serialize};

/// The browser id recorded for `--user-data-dir` targets (a Chromium
/// profile folder, not a row of the table).
pub const USER_DATA_DIR: &str = "user-data-dir";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `allowed_origins: ["chrome-extension://<id>/"]`.
    Chromium,
    /// `allowed_extensions: ["<add-on id>"]`.
    Firefox,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Chromium => "chromium",
            Family::Firefox => "firefox",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Linux,
    Mac,
    Windows,
}

impl Os {
    pub fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::Mac
        } else {
            Os::Linux
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    User,
    System,
}

impl Scope {
    /// From `--system`.
    pub fn from_flag(system: bool) -> Scope {
        if system {
            Scope::System
        } else {
            Scope::User
        }
    }
}

/// Manifest folders and install markers on a Unix-like OS.
pub struct Locations {
    /// Per-user manifest folders (templates).
    pub user: &'static [&'static str],
    /// System-wide manifest folders (absolute; under `--root`).
    pub system: &'static [&'static str],
    /// Any of these existing means the browser is installed.
    pub detect: &'static [&'static str],
    /// Executables looked up on `PATH` (also means installed).
    pub bins: &'static [&'static str],
}

pub const NOWHERE: Locations = Locations {
    user: &[],
    system: &[],
    detect: &[],
    bins: &[],
};

/// Windows: registry keys (under `HKCU` and `HKLM`, without the host name)
/// whose default value is the manifest's path.
pub struct WinLocations {
    pub keys: &'static [&'static str],
    pub detect: &'static [&'static str],
}

pub const NO_KEYS: WinLocations = WinLocations {
    keys: &[],
    detect: &[],
};

/// A Flatpak build: the manifest folder inside `~/.var/app/<app_id>/`.
pub struct Flatpak {
    pub app_id: &'static str,
    pub dir: &'static str,
}

/// A Snap build. `dir` (under `~/snap/<name>/`) is where it reads manifests;
/// `None` = it reaches native hosts through the WebExtensions portal, which
/// reads the ordinary per-user manifest outside the sandbox.
pub struct Snap {
    pub name: &'static str,
    pub dir: Option<&'static str>,
}

/// One row of the table (`table.rs`).
pub struct Browser {
    /// What `--browser` takes.
    pub id: &'static str,
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub family: Family,
    pub linux: Locations,
    pub macos: Locations,
    pub windows: WinLocations,
    pub flatpak: &'static [Flatpak],
    pub snap: &'static [Snap],
    /// What is uncertain or special (shown in docs and by `doctor`).
    pub note: &'static str,
    /// What `install` tells when the per-user location (a glob over folders
    /// the browser makes itself) matches nothing yet; empty = the generic
    /// note.
    pub no_user_dir: &'static str,
}

/// The browser for a `--browser` value (id or alias, any case).
pub fn find(name: &str) -> Option<&'static Browser> {
    let n = name.trim().to_ascii_lowercase();
    BROWSERS
        .iter()
        .find(|b| b.id == n || b.aliases.contains(&n.as_str()))
}

pub fn by_id(id: &str) -> Option<&'static Browser> {
    BROWSERS.iter().find(|b| b.id == id)
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

/// Rows are told apart by id (a test keeps ids unique).
impl PartialEq for Browser {
    fn eq(&self, other: &Browser) -> bool {
        self.id == other.id
    }
}

impl Browser {
    pub fn locations(&self, os: Os) -> Option<&Locations> {
        match os {
            Os::Linux => Some(&self.linux),
            Os::Mac => Some(&self.macos),
            Os::Windows => None,
        }
    }

    /// Whether this browser exists at all on `os`.
    pub fn supported_on(&self, os: Os) -> bool {
        match os {
            Os::Windows => !self.windows.keys.is_empty(),
            _ => self
                .locations(os)
                .is_some_and(|l| !l.user.is_empty() || !l.system.is_empty()),
        }
    }
}

/// The name to show for a browser id as recorded (`--user-data-dir` for a
/// profile folder; an id from a newer table as it is).
pub fn display_name(id: &str) -> String {
    match by_id(id) {
        Some(b) => b.name.to_string(),
        None if id == USER_DATA_DIR => "--user-data-dir".to_string(),
        None => id.to_string(),
    }
}

/// Several recorded ids by name, for "… [Google Chrome, Opera]".
pub fn display_names(ids: &[String]) -> String {
    ids.iter()
        .map(|id| display_name(id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every `--browser` id, wrapped to lines of at most `width` characters
/// (for `--help`), each line indented by two spaces.
pub fn ids_wrapped(width: usize) -> String {
    let mut lines: Vec<String> = vec![String::new()];
    for b in BROWSERS {
        let last = lines.last_mut().expect("never empty");
        if !last.is_empty() && 2 + last.len() + 1 + b.id.len() > width {
            lines.push(String::new());
        }
        let last = lines.last_mut().expect("never empty");
        if !last.is_empty() {
            last.push(' ');
        }
        last.push_str(b.id);
    }
    lines
        .iter()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The Markdown table of every location, with the notes (mirrored in
/// `docs/install.md`; a test keeps the two equal).
#[cfg(test)]
pub fn markdown_table() -> String {
    let mut s = String::new();
    s.push_str("| browser (`--browser`) | Linux, per user | Linux, `--system` | macOS, per user | macOS, `--system` | Windows key (HKCU / HKLM) | Flatpak / Snap |\n");
    s.push_str("|---|---|---|---|---|---|---|\n");
    let cell = |v: &[&str]| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.iter()
                .map(|x| format!("`{}`", x.trim_start_matches('?')))
                .collect::<Vec<_>>()
                .join("<br>")
        }
    };
    for b in BROWSERS {
        let mut sandboxes: Vec<String> = b
            .flatpak
            .iter()
            .map(|f| {
                format!(
                    "Flatpak `{}`: `~/.var/app/{}/{}`",
                    f.app_id, f.app_id, f.dir
                )
            })
            .collect();
        for sn in b.snap {
            sandboxes.push(match sn.dir {
                Some(d) => format!("Snap `{}`: `~/snap/{}/{}`", sn.name, sn.name, d),
                None => format!("Snap `{}`: WebExtensions portal", sn.name),
            });
        }
        let keys: Vec<String> = b
            .windows
            .keys
            .iter()
            .map(|k| format!(r"{k}\<name>"))
            .collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        s.push_str(&format!(
            "| {} (`{}`) | {} | {} | {} | {} | {} | {} |\n",
            b.name,
            b.id,
            cell(b.linux.user),
            cell(b.linux.system),
            cell(b.macos.user),
            cell(b.macos.system),
            cell(&keys),
            if sandboxes.is_empty() {
                "—".to_string()
            } else {
                sandboxes.join("<br>")
            },
        ));
    }
    s.push('\n');
    for b in BROWSERS.iter().filter(|b| !b.note.is_empty()) {
        s.push_str(&format!("- **{}**: {}\n", b.name, b.note));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uniqueness and case of the names are checked at compile time
    /// (`check.rs`); this is the lookup over them.
    #[test]
    fn find_takes_an_id_or_alias_in_any_case() {
        assert_eq!(find("Google-Chrome").unwrap().id, "chrome");
        assert_eq!(find("chrome-unstable").unwrap().id, "chrome-dev");
        assert_eq!(find(" tor ").unwrap().id, "tor-browser");
        assert!(find("netscape").is_none());
    }

    #[test]
    fn covers_the_required_browsers() {
        for id in [
            "chrome",
            "chrome-beta",
            "chrome-dev",
            "chrome-canary",
            "chromium",
            "edge",
            "edge-beta",
            "edge-dev",
            "edge-canary",
            "brave",
            "vivaldi",
            "opera",
            "arc",
            "firefox",
            "librewolf",
            "waterfox",
            "tor-browser",
            "zen",
        ] {
            assert!(by_id(id).is_some(), "{id} missing");
        }
    }

    #[test]
    fn help_lists_every_id_within_the_width() {
        let help = ids_wrapped(88);
        for b in BROWSERS {
            assert!(
                help.split_whitespace().any(|w| w == b.id),
                "{} missing",
                b.id
            );
        }
        assert!(
            help.lines().all(|l| l.len() <= 88 && l.starts_with("  ")),
            "{help}"
        );
    }

    #[test]
    fn recorded_ids_get_display_names() {
        assert_eq!(display_name("chrome"), "Google Chrome");
        assert_eq!(display_name(USER_DATA_DIR), "--user-data-dir");
        assert_eq!(display_name("future-browser"), "future-browser");
    }
}
