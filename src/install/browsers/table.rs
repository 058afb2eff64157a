//! The browser table: where every supported browser reads native-messaging
//! host manifests, on every OS, per user and system-wide, and how to tell it
//! is installed. Rows only: the types and what the location templates mean
//! are in `browsers/mod.rs`; expanding them is `env.rs`, finding browsers
//! `detect.rs`. Adding a browser is adding a row here (and running
//! `UPDATE_DOCS=1 cargo test docs_table` for `docs/install.md`).
//!
//! Sources: the browsers' own documentation and the installers of KeePassXC,
//! Bitwarden and linux-entra-sso, with their issue trackers (the notes name
//! the trackers where a location is disputed).

use super::{Browser, Family, Flatpak, Locations, Snap, WinLocations, NOWHERE, NO_KEYS};

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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "",
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
        no_user_dir: "no torbrowser-launcher bundle under $XDG_DATA_HOME/torbrowser; start it once, or copy the manifest into <bundle>/Browser/TorBrowser/Data/Browser/.mozilla/native-messaging-hosts",
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
        no_user_dir: "",
    },
];
