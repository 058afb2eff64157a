//! The browser table: where every supported browser reads native-messaging
//! host manifests, on every OS, per user and system-wide. This is the one
//! place that knows; `install`, `uninstall`, `doctor` and `docs/install.md`
//! (checked by a test) all read it.
//!
//! Location templates:
//! - `~` = `$HOME`; `$XDG_CONFIG_HOME` / `$XDG_DATA_HOME` (default
//!   `~/.config` / `~/.local/share`); `%LOCALAPPDATA%` / `%APPDATA%` (Windows);
//! - an absolute path is system-wide and is prefixed by `--root`;
//! - a leading `?` marks a system location used only where its first two
//!   components exist (`/usr/lib64` on Fedora/openSUSE);
//! - a `*` in a component matches any name starting/ending as written
//!   (Tor Browser's folder carries its locale).
//!
//! Sources: `/work/shared/notes-native-messaging-locations.md` (browser docs,
//! KeePassXC, Bitwarden, linux-entra-sso installers and their trackers).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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
}

// Shared locations, named once.
const CHROME_SYS: &str = "/etc/opt/chrome/native-messaging-hosts";
const CHROME_MAC_SYS: &str = "/Library/Google/Chrome/NativeMessagingHosts";
const CHROME_KEY: &str = r"SOFTWARE\Google\Chrome\NativeMessagingHosts";
const EDGE_SYS: &str = "/etc/opt/edge/native-messaging-hosts";
const EDGE_MAC_SYS: &str = "/Library/Microsoft/Edge/NativeMessagingHosts";
const EDGE_KEY: &str = r"SOFTWARE\Microsoft\Edge\NativeMessagingHosts";
const MOZ_USER: &str = "~/.mozilla/native-messaging-hosts";
const MOZ_SYS: &str = "/usr/lib/mozilla/native-messaging-hosts";
const MOZ_SYS64: &str = "?/usr/lib64/mozilla/native-messaging-hosts";
const MOZ_MAC_USER: &str = "~/Library/Application Support/Mozilla/NativeMessagingHosts";
const MOZ_MAC_SYS: &str = "/Library/Application Support/Mozilla/NativeMessagingHosts";
const MOZ_KEY: &str = r"SOFTWARE\Mozilla\NativeMessagingHosts";

pub static BROWSERS: &[Browser] = &[
    Browser {
        id: "chrome",
        name: "Google Chrome",
        aliases: &["google-chrome", "chrome-stable"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/google-chrome/NativeMessagingHosts"],
            system: &[CHROME_SYS],
            detect: &["$XDG_CONFIG_HOME/google-chrome", "/opt/google/chrome"],
            bins: &["google-chrome", "google-chrome-stable"],
        },
        macos: Locations {
            user: &["~/Library/Application Support/Google/Chrome/NativeMessagingHosts"],
            system: &[CHROME_MAC_SYS],
            detect: &[
                "/Applications/Google Chrome.app",
                "~/Library/Application Support/Google/Chrome",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[CHROME_KEY],
            detect: &[r"%LOCALAPPDATA%\Google\Chrome\User Data"],
        },
        flatpak: &[Flatpak {
            app_id: "com.google.Chrome",
            dir: "config/google-chrome/NativeMessagingHosts",
        }],
        snap: &[],
        note: "",
    },
    Browser {
        id: "chrome-beta",
        name: "Google Chrome Beta",
        aliases: &["google-chrome-beta"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/google-chrome-beta/NativeMessagingHosts"],
            system: &[CHROME_SYS],
            detect: &["$XDG_CONFIG_HOME/google-chrome-beta", "/opt/google/chrome-beta"],
            bins: &["google-chrome-beta"],
        },
        macos: Locations {
            user: &["~/Library/Application Support/Google/Chrome Beta/NativeMessagingHosts"],
            system: &[CHROME_MAC_SYS],
            detect: &[
                "/Applications/Google Chrome Beta.app",
                "~/Library/Application Support/Google/Chrome Beta",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[CHROME_KEY],
            detect: &[r"%LOCALAPPDATA%\Google\Chrome Beta\User Data"],
        },
        flatpak: &[],
        snap: &[],
        note: "",
    },
    Browser {
        id: "chrome-dev",
        name: "Google Chrome Dev",
        aliases: &["chrome-unstable", "google-chrome-unstable"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/google-chrome-unstable/NativeMessagingHosts"],
            system: &[CHROME_SYS],
            detect: &[
                "$XDG_CONFIG_HOME/google-chrome-unstable",
                "/opt/google/chrome-unstable",
            ],
            bins: &["google-chrome-unstable"],
        },
        macos: Locations {
            user: &["~/Library/Application Support/Google/Chrome Dev/NativeMessagingHosts"],
            system: &[CHROME_MAC_SYS],
            detect: &[
                "/Applications/Google Chrome Dev.app",
                "~/Library/Application Support/Google/Chrome Dev",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[CHROME_KEY],
            detect: &[r"%LOCALAPPDATA%\Google\Chrome Dev\User Data"],
        },
        flatpak: &[Flatpak {
            app_id: "com.google.ChromeDev",
            dir: "config/google-chrome-unstable/NativeMessagingHosts",
        }],
        snap: &[],
        note: "",
    },
    Browser {
        id: "chrome-canary",
        name: "Google Chrome Canary",
        aliases: &["google-chrome-canary"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/google-chrome-canary/NativeMessagingHosts"],
            system: &[CHROME_SYS],
            detect: &[
                "$XDG_CONFIG_HOME/google-chrome-canary",
                "/opt/google/chrome-canary",
            ],
            bins: &["google-chrome-canary"],
        },
        macos: Locations {
            user: &["~/Library/Application Support/Google/Chrome Canary/NativeMessagingHosts"],
            system: &[CHROME_MAC_SYS],
            detect: &[
                "/Applications/Google Chrome Canary.app",
                "~/Library/Application Support/Google/Chrome Canary",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[CHROME_KEY],
            detect: &[r"%LOCALAPPDATA%\Google\Chrome SxS\User Data"],
        },
        flatpak: &[],
        snap: &[],
        note: "Linux Canary is recent; its folder follows the other channels' pattern",
    },
    Browser {
        id: "chrome-for-testing",
        name: "Google Chrome for Testing",
        aliases: &["cft"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/google-chrome-for-testing/NativeMessagingHosts"],
            system: &["/etc/opt/chrome_for_testing/native-messaging-hosts"],
            detect: &["$XDG_CONFIG_HOME/google-chrome-for-testing"],
            bins: &[],
        },
        macos: Locations {
            user: &["~/Library/Application Support/Google/Chrome for Testing/NativeMessagingHosts"],
            system: &[],
            detect: &["~/Library/Application Support/Google/Chrome for Testing"],
            bins: &[],
        },
        windows: NO_KEYS,
        flatpak: &[],
        snap: &[],
        note: "",
    },
    Browser {
        id: "chromium",
        name: "Chromium",
        aliases: &["chromium-browser"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/chromium/NativeMessagingHosts"],
            system: &["/etc/chromium/native-messaging-hosts"],
            detect: &["$XDG_CONFIG_HOME/chromium"],
            bins: &["chromium", "chromium-browser"],
        },
        macos: Locations {
            user: &["~/Library/Application Support/Chromium/NativeMessagingHosts"],
            system: &["/Library/Application Support/Chromium/NativeMessagingHosts"],
            detect: &[
                "/Applications/Chromium.app",
                "~/Library/Application Support/Chromium",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[r"SOFTWARE\Chromium\NativeMessagingHosts"],
            detect: &[r"%LOCALAPPDATA%\Chromium\User Data"],
        },
        flatpak: &[
            Flatpak {
                app_id: "org.chromium.Chromium",
                dir: "config/chromium/NativeMessagingHosts",
            },
            Flatpak {
                app_id: "io.github.ungoogled_software.ungoogled_chromium",
                dir: "config/chromium/NativeMessagingHosts",
            },
        ],
        snap: &[Snap {
            name: "chromium",
            dir: Some("common/chromium/NativeMessagingHosts"),
        }],
        note: "",
    },
    Browser {
        id: "edge",
        name: "Microsoft Edge",
        aliases: &["microsoft-edge", "msedge", "edge-stable"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/microsoft-edge/NativeMessagingHosts"],
            system: &[EDGE_SYS],
            detect: &["$XDG_CONFIG_HOME/microsoft-edge", "/opt/microsoft/msedge"],
            bins: &["microsoft-edge", "microsoft-edge-stable"],
        },
        macos: Locations {
            user: &["~/Library/Application Support/Microsoft Edge/NativeMessagingHosts"],
            system: &[EDGE_MAC_SYS],
            detect: &[
                "/Applications/Microsoft Edge.app",
                "~/Library/Application Support/Microsoft Edge",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[EDGE_KEY],
            detect: &[r"%LOCALAPPDATA%\Microsoft\Edge\User Data"],
        },
        flatpak: &[Flatpak {
            app_id: "com.microsoft.Edge",
            dir: "config/microsoft-edge/NativeMessagingHosts",
        }],
        snap: &[],
        note: "",
    },
    Browser {
        id: "edge-beta",
        name: "Microsoft Edge Beta",
        aliases: &["microsoft-edge-beta"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/microsoft-edge-beta/NativeMessagingHosts"],
            system: &[EDGE_SYS],
            detect: &[
                "$XDG_CONFIG_HOME/microsoft-edge-beta",
                "/opt/microsoft/msedge-beta",
            ],
            bins: &["microsoft-edge-beta"],
        },
        macos: Locations {
            user: &["~/Library/Application Support/Microsoft Edge Beta/NativeMessagingHosts"],
            system: &[EDGE_MAC_SYS],
            detect: &[
                "/Applications/Microsoft Edge Beta.app",
                "~/Library/Application Support/Microsoft Edge Beta",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[EDGE_KEY],
            detect: &[r"%LOCALAPPDATA%\Microsoft\Edge Beta\User Data"],
        },
        flatpak: &[],
        snap: &[],
        note: "",
    },
    Browser {
        id: "edge-dev",
        name: "Microsoft Edge Dev",
        aliases: &["microsoft-edge-dev"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/microsoft-edge-dev/NativeMessagingHosts"],
            system: &[EDGE_SYS],
            detect: &[
                "$XDG_CONFIG_HOME/microsoft-edge-dev",
                "/opt/microsoft/msedge-dev",
            ],
            bins: &["microsoft-edge-dev"],
        },
        macos: Locations {
            user: &["~/Library/Application Support/Microsoft Edge Dev/NativeMessagingHosts"],
            system: &[EDGE_MAC_SYS],
            detect: &[
                "/Applications/Microsoft Edge Dev.app",
                "~/Library/Application Support/Microsoft Edge Dev",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[EDGE_KEY],
            detect: &[r"%LOCALAPPDATA%\Microsoft\Edge Dev\User Data"],
        },
        flatpak: &[Flatpak {
            app_id: "com.microsoft.EdgeDev",
            dir: "config/microsoft-edge-dev/NativeMessagingHosts",
        }],
        snap: &[],
        note: "",
    },
    Browser {
        id: "edge-canary",
        name: "Microsoft Edge Canary",
        aliases: &["microsoft-edge-canary"],
        family: Family::Chromium,
        linux: NOWHERE,
        macos: Locations {
            user: &["~/Library/Application Support/Microsoft Edge Canary/NativeMessagingHosts"],
            system: &[EDGE_MAC_SYS],
            detect: &[
                "/Applications/Microsoft Edge Canary.app",
                "~/Library/Application Support/Microsoft Edge Canary",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[EDGE_KEY],
            detect: &[r"%LOCALAPPDATA%\Microsoft\Edge SxS\User Data"],
        },
        flatpak: &[],
        snap: &[],
        note: "no Linux build",
    },
    Browser {
        id: "brave",
        name: "Brave",
        aliases: &["brave-browser"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/BraveSoftware/Brave-Browser/NativeMessagingHosts"],
            system: &[CHROME_SYS],
            detect: &[
                "$XDG_CONFIG_HOME/BraveSoftware/Brave-Browser",
                "/opt/brave.com/brave",
            ],
            bins: &["brave-browser", "brave"],
        },
        macos: Locations {
            user: &[
                "~/Library/Application Support/BraveSoftware/Brave-Browser/NativeMessagingHosts",
            ],
            system: &[CHROME_MAC_SYS],
            detect: &[
                "/Applications/Brave Browser.app",
                "~/Library/Application Support/BraveSoftware/Brave-Browser",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[
                r"SOFTWARE\BraveSoftware\Brave-Browser\NativeMessagingHosts",
                CHROME_KEY,
            ],
            detect: &[r"%LOCALAPPDATA%\BraveSoftware\Brave-Browser\User Data"],
        },
        flatpak: &[Flatpak {
            app_id: "com.brave.Browser",
            dir: "config/BraveSoftware/Brave-Browser/NativeMessagingHosts",
        }],
        snap: &[],
        note: "system-wide it reads Chrome's folder; on Windows both its own key and Chrome's are written (installers disagree); ignores --user-data-dir for manifests",
    },
    Browser {
        id: "vivaldi",
        name: "Vivaldi",
        aliases: &["vivaldi-stable"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/vivaldi/NativeMessagingHosts"],
            system: &[CHROME_SYS],
            detect: &["$XDG_CONFIG_HOME/vivaldi", "/opt/vivaldi"],
            bins: &["vivaldi", "vivaldi-stable"],
        },
        macos: Locations {
            user: &["~/Library/Application Support/Vivaldi/NativeMessagingHosts"],
            system: &[CHROME_MAC_SYS],
            detect: &[
                "/Applications/Vivaldi.app",
                "~/Library/Application Support/Vivaldi",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[r"SOFTWARE\Vivaldi\NativeMessagingHosts", CHROME_KEY],
            detect: &[r"%LOCALAPPDATA%\Vivaldi\User Data"],
        },
        flatpak: &[Flatpak {
            app_id: "com.vivaldi.Vivaldi",
            dir: "config/vivaldi/NativeMessagingHosts",
        }],
        snap: &[],
        note: "system-wide it reads Chrome's folder; on Windows both its own key and Chrome's are written",
    },
    Browser {
        id: "vivaldi-snapshot",
        name: "Vivaldi Snapshot",
        aliases: &[],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/vivaldi-snapshot/NativeMessagingHosts"],
            system: &[CHROME_SYS],
            detect: &["$XDG_CONFIG_HOME/vivaldi-snapshot", "/opt/vivaldi-snapshot"],
            bins: &["vivaldi-snapshot"],
        },
        macos: NOWHERE,
        windows: NO_KEYS,
        flatpak: &[],
        snap: &[],
        note: "",
    },
    Browser {
        id: "opera",
        name: "Opera",
        aliases: &["opera-stable"],
        family: Family::Chromium,
        linux: Locations {
            user: &["$XDG_CONFIG_HOME/google-chrome/NativeMessagingHosts"],
            system: &[CHROME_SYS, "/etc/opera/native-messaging-hosts"],
            detect: &["$XDG_CONFIG_HOME/opera"],
            bins: &["opera"],
        },
        macos: Locations {
            user: &["~/Library/Application Support/Google/Chrome/NativeMessagingHosts"],
            system: &[CHROME_MAC_SYS],
            detect: &[
                "/Applications/Opera.app",
                "~/Library/Application Support/com.operasoftware.Opera",
            ],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[CHROME_KEY, r"SOFTWARE\Opera Software\NativeMessagingHosts"],
            detect: &[r"%APPDATA%\Opera Software\Opera Stable"],
        },
        flatpak: &[],
        snap: &[],
        note: "reads Google Chrome's locations (some builds /etc/opera); ignores --user-data-dir for manifests",
    },
    Browser {
        id: "arc",
        name: "Arc",
        aliases: &[],
        family: Family::Chromium,
        linux: NOWHERE,
        macos: Locations {
            user: &["~/Library/Application Support/Arc/User Data/NativeMessagingHosts"],
            system: &[],
            detect: &["/Applications/Arc.app", "~/Library/Application Support/Arc"],
            bins: &[],
        },
        windows: NO_KEYS,
        flatpak: &[],
        snap: &[],
        note: "macOS only (no documented Windows location)",
    },
    Browser {
        id: "firefox",
        name: "Firefox",
        aliases: &["firefox-esr", "mozilla-firefox"],
        family: Family::Firefox,
        linux: Locations {
            user: &[MOZ_USER],
            system: &[MOZ_SYS, MOZ_SYS64],
            detect: &[
                "~/.mozilla/firefox",
                "$XDG_CONFIG_HOME/mozilla/firefox",
                "/usr/lib/firefox",
                "/usr/lib/firefox-esr",
            ],
            bins: &["firefox", "firefox-esr"],
        },
        macos: Locations {
            user: &[MOZ_MAC_USER],
            system: &[MOZ_MAC_SYS],
            detect: &["/Applications/Firefox.app", "~/Library/Application Support/Firefox"],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[MOZ_KEY],
            detect: &[r"%APPDATA%\Mozilla\Firefox"],
        },
        flatpak: &[Flatpak {
            app_id: "org.mozilla.firefox",
            dir: ".mozilla/native-messaging-hosts",
        }],
        snap: &[Snap {
            name: "firefox",
            dir: None,
        }],
        note: "still reads ~/.mozilla/native-messaging-hosts after the move of profiles to $XDG_CONFIG_HOME (Firefox 147)",
    },
    Browser {
        id: "librewolf",
        name: "LibreWolf",
        aliases: &[],
        family: Family::Firefox,
        linux: Locations {
            user: &["~/.librewolf/native-messaging-hosts"],
            system: &["/usr/lib/librewolf/native-messaging-hosts"],
            detect: &["~/.librewolf", "/usr/lib/librewolf", "/usr/share/librewolf"],
            bins: &["librewolf"],
        },
        macos: Locations {
            user: &[
                "~/Library/Application Support/LibreWolf/NativeMessagingHosts",
                MOZ_MAC_USER,
            ],
            system: &[MOZ_MAC_SYS],
            detect: &["/Applications/LibreWolf.app", "~/Library/Application Support/librewolf"],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[MOZ_KEY],
            detect: &[r"%APPDATA%\librewolf"],
        },
        flatpak: &[Flatpak {
            app_id: "io.gitlab.librewolf-community",
            dir: ".librewolf/native-messaging-hosts",
        }],
        snap: &[],
        note: "has its own folders, not Firefox's",
    },
    Browser {
        id: "waterfox",
        name: "Waterfox",
        aliases: &[],
        family: Family::Firefox,
        linux: Locations {
            user: &["~/.waterfox/native-messaging-hosts"],
            system: &[MOZ_SYS],
            detect: &["~/.waterfox"],
            bins: &["waterfox"],
        },
        macos: Locations {
            user: &[
                "~/Library/Application Support/Waterfox/NativeMessagingHosts",
                MOZ_MAC_USER,
            ],
            system: &[MOZ_MAC_SYS],
            detect: &["/Applications/Waterfox.app", "~/Library/Application Support/Waterfox"],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[r"SOFTWARE\Waterfox\NativeMessagingHosts", MOZ_KEY],
            detect: &[r"%APPDATA%\Waterfox"],
        },
        flatpak: &[Flatpak {
            app_id: "net.waterfox.waterfox",
            dir: ".waterfox/native-messaging-hosts",
        }],
        snap: &[],
        note: "per user ~/.waterfox (BrowserWorks/waterfox#3241); its own Windows key is a guess, Mozilla's is written too",
    },
    Browser {
        id: "tor-browser",
        name: "Tor Browser",
        aliases: &["torbrowser", "tor"],
        family: Family::Firefox,
        linux: Locations {
            user: &["$XDG_DATA_HOME/torbrowser/tbb/*/tor-browser*/Browser/TorBrowser/Data/Browser/.mozilla/native-messaging-hosts"],
            system: &[],
            detect: &["$XDG_DATA_HOME/torbrowser/tbb"],
            bins: &["torbrowser-launcher"],
        },
        macos: Locations {
            user: &[MOZ_MAC_USER],
            system: &[MOZ_MAC_SYS],
            detect: &["/Applications/Tor Browser.app"],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[MOZ_KEY],
            detect: &[],
        },
        flatpak: &[Flatpak {
            app_id: "org.torproject.torbrowser-launcher",
            dir: "data/torbrowser/tbb/*/tor-browser*/Browser/TorBrowser/Data/Browser/.mozilla/native-messaging-hosts",
        }],
        snap: &[],
        note: "Linux: only the torbrowser-launcher install is found (a bundle unpacked elsewhere reads BUNDLE/Browser/TorBrowser/Data/Browser/.mozilla/native-messaging-hosts); native messaging defeats some of its isolation",
    },
    Browser {
        id: "zen",
        name: "Zen",
        aliases: &["zen-browser"],
        family: Family::Firefox,
        linux: Locations {
            user: &[MOZ_USER],
            system: &[MOZ_SYS, MOZ_SYS64],
            detect: &["~/.zen", "/opt/zen-browser-bin", "/opt/zen-browser"],
            bins: &["zen", "zen-browser"],
        },
        macos: Locations {
            user: &[
                MOZ_MAC_USER,
                "~/Library/Application Support/Zen/NativeMessagingHosts",
            ],
            system: &[MOZ_MAC_SYS],
            detect: &["/Applications/Zen.app", "/Applications/Zen Browser.app"],
            bins: &[],
        },
        windows: WinLocations {
            keys: &[MOZ_KEY],
            detect: &[r"%APPDATA%\zen"],
        },
        flatpak: &[
            Flatpak {
                app_id: "app.zen_browser.zen",
                dir: ".mozilla/native-messaging-hosts",
            },
            Flatpak {
                app_id: "io.github.zen_browser.zen",
                dir: ".mozilla/native-messaging-hosts",
            },
        ],
        snap: &[],
        note: "reads Firefox's folders, not ~/.zen (zen-browser/desktop#10622)",
    },
];

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

/// Everything the mapping depends on, so it is a pure function (and
/// testable for every OS on any OS).
#[derive(Clone, Debug)]
pub struct Env {
    pub os: Os,
    pub home: PathBuf,
    pub xdg_config: PathBuf,
    pub xdg_data: PathBuf,
    /// Prefix of every system path (`/` normally; a scratch dir in tests).
    pub root: PathBuf,
    pub local_app_data: PathBuf,
    pub app_data: PathBuf,
    /// `PATH`, already under `root`.
    pub path: Vec<PathBuf>,
}

impl Env {
    /// From the process environment.
    pub fn from_process(root: Option<PathBuf>) -> anyhow::Result<Env> {
        let os = Os::current();
        let home = directories::BaseDirs::new()
            .map(|b| b.home_dir().to_path_buf())
            .ok_or_else(|| anyhow::anyhow!("cannot find the home directory (is HOME set?)"))?;
        let xdg = |var: &str, default: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| home.join(default))
        };
        let root = root.unwrap_or_else(|| PathBuf::from("/"));
        let path = std::env::var_os("PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .filter(|d| d.is_absolute())
                    .map(|d| under_root(&root, &d))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Env {
            os,
            xdg_config: xdg("XDG_CONFIG_HOME", ".config"),
            xdg_data: xdg("XDG_DATA_HOME", ".local/share"),
            local_app_data: xdg("LOCALAPPDATA", "AppData/Local"),
            app_data: xdg("APPDATA", "AppData/Roaming"),
            home,
            root,
            path,
        })
    }

    /// Expands a location template (no globbing; see `resolve`).
    pub fn expand(&self, template: &str) -> PathBuf {
        let t = template.strip_prefix('?').unwrap_or(template);
        let (base, rest): (&Path, &str) = if let Some(r) = t.strip_prefix("~/") {
            (&self.home, r)
        } else if let Some(r) = t.strip_prefix("$XDG_CONFIG_HOME/") {
            (&self.xdg_config, r)
        } else if let Some(r) = t.strip_prefix("$XDG_DATA_HOME/") {
            (&self.xdg_data, r)
        } else if let Some(r) = t.strip_prefix(r"%LOCALAPPDATA%\") {
            (&self.local_app_data, r)
        } else if let Some(r) = t.strip_prefix(r"%APPDATA%\") {
            (&self.app_data, r)
        } else if t.starts_with('/') {
            return under_root(&self.root, Path::new(t));
        } else {
            return PathBuf::from(t);
        };
        let mut p = base.to_path_buf();
        for part in rest.split(['/', '\\']).filter(|s| !s.is_empty()) {
            p.push(part);
        }
        p
    }

    /// Expands and resolves `*` components against the file system; a
    /// conditional (`?`) system path is dropped when its base is absent.
    pub fn resolve(&self, template: &str) -> Vec<PathBuf> {
        if let Some(t) = template.strip_prefix('?') {
            let base: PathBuf = Path::new(t).components().take(3).collect();
            if !under_root(&self.root, &base).is_dir() {
                return Vec::new();
            }
        }
        let expanded = self.expand(template);
        if !expanded.to_string_lossy().contains('*') {
            return vec![expanded];
        }
        glob(&expanded)
    }

    pub fn on_path(&self, bin: &str) -> Option<PathBuf> {
        self.path.iter().map(|d| d.join(bin)).find(|p| p.is_file())
    }
}

/// `root` + an absolute path.
pub fn under_root(root: &Path, p: &Path) -> PathBuf {
    if root == Path::new("/") || root.as_os_str().is_empty() {
        return p.to_path_buf();
    }
    let rel: PathBuf = p
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    root.join(rel)
}

/// The tiny glob the table needs: `*` inside one component, matched
/// against existing directories.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for comp in pattern.components() {
        let part = comp.as_os_str().to_string_lossy();
        if !part.contains('*') {
            for f in &mut found {
                f.push(comp.as_os_str());
            }
            continue;
        }
        let (pre, post) = part.split_once('*').unwrap_or((&part, ""));
        let mut next = Vec::new();
        for f in &found {
            let Ok(rd) = std::fs::read_dir(f) else {
                continue;
            };
            let mut names: Vec<String> = rd
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n.starts_with(pre) && n.ends_with(post) && n.len() >= pre.len() + post.len()
                })
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| f.join(n)));
        }
        found = next;
    }
    found
}

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

/// The manifest folders of `b` on `env.os` for `scope` (Unix-like OSes),
/// after expansion and globbing.
pub fn manifest_dirs(b: &Browser, env: &Env, scope: Scope) -> Vec<PathBuf> {
    let Some(l) = b.locations(env.os) else {
        return Vec::new();
    };
    let templates = match scope {
        Scope::User => l.user,
        Scope::System => l.system,
    };
    templates.iter().flat_map(|t| env.resolve(t)).collect()
}

/// Windows: the full registry keys for `b` (`HKEY_CURRENT_USER\…\<host>` or
/// `HKEY_LOCAL_MACHINE\…\<host>`).
pub fn registry_keys(b: &Browser, scope: Scope, host: &str) -> Vec<String> {
    let hive = match scope {
        Scope::User => "HKEY_CURRENT_USER",
        Scope::System => "HKEY_LOCAL_MACHINE",
    };
    b.windows
        .keys
        .iter()
        .map(|k| format!(r"{hive}\{k}\{host}"))
        .collect()
}

/// Windows: the folder the manifest file lives in (the registry points at
/// it). One file per family, shared by every browser of the family.
pub fn windows_manifest_dir(env: &Env, scope: Scope, family: Family) -> PathBuf {
    let base = match scope {
        Scope::User => env.local_app_data.clone(),
        Scope::System => std::env::var_os("ProgramData")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData")),
    };
    base.join("logto-companion")
        .join("NativeMessagingHosts")
        .join(family.as_str())
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

    fn env(os: Os) -> Env {
        Env {
            os,
            home: PathBuf::from("/home/u"),
            xdg_config: PathBuf::from("/home/u/.config"),
            xdg_data: PathBuf::from("/home/u/.local/share"),
            root: PathBuf::from("/"),
            local_app_data: PathBuf::from(r"C:\Users\u\AppData\Local"),
            app_data: PathBuf::from(r"C:\Users\u\AppData\Roaming"),
            path: vec![],
        }
    }

    fn dirs(id: &str, os: Os, scope: Scope) -> Vec<String> {
        manifest_dirs(by_id(id).unwrap(), &env(os), scope)
            .into_iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    #[test]
    fn ids_and_aliases_are_unique_and_lowercase() {
        let mut seen = std::collections::HashSet::new();
        for b in BROWSERS {
            for n in std::iter::once(&b.id).chain(b.aliases.iter()) {
                assert_eq!(*n, n.to_ascii_lowercase());
                assert!(seen.insert(*n), "{n} twice");
                assert_ne!(*n, "all");
                assert_ne!(*n, "none");
            }
        }
        assert_eq!(find("Google-Chrome").unwrap().id, "chrome");
        assert_eq!(find("chrome-unstable").unwrap().id, "chrome-dev");
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
    fn every_template_is_well_formed() {
        for b in BROWSERS {
            for l in [&b.linux, &b.macos] {
                for t in l.user {
                    assert!(
                        t.starts_with("~/") || t.starts_with("$XDG_"),
                        "{}: user location {t} must be under the home",
                        b.id
                    );
                }
                for t in l.system {
                    assert!(t.trim_start_matches('?').starts_with('/'), "{}: {t}", b.id);
                }
            }
            for k in b.windows.keys {
                assert!(k.starts_with(r"SOFTWARE\") && k.ends_with(r"\NativeMessagingHosts"));
            }
            let nm = |d: &str| {
                d.ends_with("NativeMessagingHosts") || d.ends_with("native-messaging-hosts")
            };
            for f in b.flatpak {
                assert!(nm(f.dir), "{}", f.dir);
            }
            for t in b
                .linux
                .user
                .iter()
                .chain(b.linux.system)
                .chain(b.macos.user)
                .chain(b.macos.system)
            {
                assert!(nm(t), "{t}");
            }
            assert!(
                b.supported_on(Os::Linux) || b.supported_on(Os::Mac) || b.supported_on(Os::Windows)
            );
        }
    }

    #[test]
    fn linux_user_and_system_locations() {
        assert_eq!(
            dirs("chrome", Os::Linux, Scope::User),
            ["/home/u/.config/google-chrome/NativeMessagingHosts"]
        );
        assert_eq!(
            dirs("chrome", Os::Linux, Scope::System),
            ["/etc/opt/chrome/native-messaging-hosts"]
        );
        assert_eq!(
            dirs("chromium", Os::Linux, Scope::System),
            ["/etc/chromium/native-messaging-hosts"]
        );
        assert_eq!(
            dirs("edge", Os::Linux, Scope::System),
            ["/etc/opt/edge/native-messaging-hosts"]
        );
        assert_eq!(
            dirs("brave", Os::Linux, Scope::User),
            ["/home/u/.config/BraveSoftware/Brave-Browser/NativeMessagingHosts"]
        );
        assert_eq!(
            dirs("firefox", Os::Linux, Scope::User),
            ["/home/u/.mozilla/native-messaging-hosts"]
        );
        assert_eq!(
            dirs("firefox", Os::Linux, Scope::System)[0],
            "/usr/lib/mozilla/native-messaging-hosts"
        );
        assert_eq!(
            dirs("librewolf", Os::Linux, Scope::User),
            ["/home/u/.librewolf/native-messaging-hosts"]
        );
        assert!(dirs("arc", Os::Linux, Scope::User).is_empty());
    }

    #[test]
    fn macos_locations() {
        assert_eq!(
            dirs("chrome", Os::Mac, Scope::User),
            ["/home/u/Library/Application Support/Google/Chrome/NativeMessagingHosts"]
        );
        assert_eq!(
            dirs("chrome", Os::Mac, Scope::System),
            ["/Library/Google/Chrome/NativeMessagingHosts"]
        );
        assert_eq!(
            dirs("edge-canary", Os::Mac, Scope::User),
            ["/home/u/Library/Application Support/Microsoft Edge Canary/NativeMessagingHosts"]
        );
        assert_eq!(
            dirs("edge", Os::Mac, Scope::System),
            ["/Library/Microsoft/Edge/NativeMessagingHosts"]
        );
        assert_eq!(
            dirs("chromium", Os::Mac, Scope::System),
            ["/Library/Application Support/Chromium/NativeMessagingHosts"]
        );
        assert_eq!(
            dirs("arc", Os::Mac, Scope::User),
            ["/home/u/Library/Application Support/Arc/User Data/NativeMessagingHosts"]
        );
        assert_eq!(
            dirs("firefox", Os::Mac, Scope::User),
            ["/home/u/Library/Application Support/Mozilla/NativeMessagingHosts"]
        );
        assert_eq!(
            dirs("firefox", Os::Mac, Scope::System),
            ["/Library/Application Support/Mozilla/NativeMessagingHosts"]
        );
        assert!(dirs("zen", Os::Mac, Scope::User)
            .contains(&"/home/u/Library/Application Support/Zen/NativeMessagingHosts".to_string()));
    }

    #[test]
    fn windows_registry_keys() {
        let keys = |id: &str, s: Scope| registry_keys(by_id(id).unwrap(), s, "logto_companion");
        assert_eq!(
            keys("chrome", Scope::User),
            [r"HKEY_CURRENT_USER\SOFTWARE\Google\Chrome\NativeMessagingHosts\logto_companion"]
        );
        assert_eq!(
            keys("chrome", Scope::System),
            [r"HKEY_LOCAL_MACHINE\SOFTWARE\Google\Chrome\NativeMessagingHosts\logto_companion"]
        );
        assert_eq!(
            keys("edge-dev", Scope::User),
            [r"HKEY_CURRENT_USER\SOFTWARE\Microsoft\Edge\NativeMessagingHosts\logto_companion"]
        );
        assert_eq!(
            keys("chromium", Scope::User),
            [r"HKEY_CURRENT_USER\SOFTWARE\Chromium\NativeMessagingHosts\logto_companion"]
        );
        assert_eq!(
            keys("firefox", Scope::System),
            [r"HKEY_LOCAL_MACHINE\SOFTWARE\Mozilla\NativeMessagingHosts\logto_companion"]
        );
        assert_eq!(keys("librewolf", Scope::User), keys("firefox", Scope::User));
        assert_eq!(
            keys("tor-browser", Scope::User),
            keys("firefox", Scope::User)
        );
        assert!(keys("brave", Scope::User).contains(
            &r"HKEY_CURRENT_USER\SOFTWARE\BraveSoftware\Brave-Browser\NativeMessagingHosts\logto_companion"
                .to_string()
        ));
        assert!(keys("opera", Scope::User).contains(
            &r"HKEY_CURRENT_USER\SOFTWARE\Opera Software\NativeMessagingHosts\logto_companion"
                .to_string()
        ));
        assert!(keys("arc", Scope::User).is_empty());
        let e = env(Os::Windows);
        assert_eq!(
            windows_manifest_dir(&e, Scope::User, Family::Firefox),
            PathBuf::from(r"C:\Users\u\AppData\Local")
                .join("logto-companion")
                .join("NativeMessagingHosts")
                .join("firefox")
        );
        assert_eq!(
            e.expand(r"%LOCALAPPDATA%\Google\Chrome\User Data"),
            PathBuf::from(r"C:\Users\u\AppData\Local")
                .join("Google")
                .join("Chrome")
                .join("User Data")
        );
    }

    #[test]
    fn root_prefixes_system_paths_only() {
        let mut e = env(Os::Linux);
        e.root = PathBuf::from("/tmp/r");
        assert_eq!(
            manifest_dirs(by_id("chrome").unwrap(), &e, Scope::System),
            [PathBuf::from(
                "/tmp/r/etc/opt/chrome/native-messaging-hosts"
            )]
        );
        assert_eq!(
            manifest_dirs(by_id("chrome").unwrap(), &e, Scope::User),
            [PathBuf::from(
                "/home/u/.config/google-chrome/NativeMessagingHosts"
            )]
        );
    }

    #[test]
    fn glob_and_conditional_locations() {
        let t = tempfile::tempdir().unwrap();
        let mut e = env(Os::Linux);
        e.root = t.path().to_path_buf();
        e.xdg_data = t.path().join("data");
        // /usr/lib64 absent: the lib64 location is skipped.
        assert_eq!(
            manifest_dirs(by_id("firefox").unwrap(), &e, Scope::System).len(),
            1
        );
        std::fs::create_dir_all(t.path().join("usr/lib64")).unwrap();
        assert_eq!(
            manifest_dirs(by_id("firefox").unwrap(), &e, Scope::System).len(),
            2
        );
        // Tor Browser: nothing until torbrowser-launcher unpacked a bundle.
        assert!(manifest_dirs(by_id("tor-browser").unwrap(), &e, Scope::User).is_empty());
        let bundle = t
            .path()
            .join("data/torbrowser/tbb/x86_64/tor-browser_en-US");
        std::fs::create_dir_all(&bundle).unwrap();
        assert_eq!(
            manifest_dirs(by_id("tor-browser").unwrap(), &e, Scope::User),
            [bundle.join("Browser/TorBrowser/Data/Browser/.mozilla/native-messaging-hosts")]
        );
    }
}
