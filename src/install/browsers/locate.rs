//! Where a browser's host manifests go on this machine: its folders for a
//! scope, its sandboxes' folders, and (Windows) its registry keys.

use super::{Browser, Env, Family, Flatpak, Scope, Snap};
use std::path::PathBuf;

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

impl Flatpak {
    /// The manifest folders inside this Flatpak's sandbox (globbed).
    pub fn manifest_dirs(&self, env: &Env) -> Vec<PathBuf> {
        env.resolve(&format!("~/.var/app/{}/{}", self.app_id, self.dir))
    }
}

impl Snap {
    /// The folder this Snap reads manifests from; `None` for one that goes
    /// through the WebExtensions portal (it reads the ordinary one).
    pub fn manifest_dir(&self, env: &Env) -> Option<PathBuf> {
        self.dir
            .map(|dir| env.home.join("snap").join(self.name).join(dir))
    }
}

/// The Flatpak wrapper's location for `app_id`: inside the sandbox's data
/// folder, the one place its browser may execute from.
pub fn flatpak_wrapper_path(env: &Env, app_id: &str) -> PathBuf {
    env.home
        .join(".var/app")
        .join(app_id)
        .join("data/logto-companion/logto-companion-host")
}

#[cfg(test)]
mod tests {
    use super::super::{by_id, Os};
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

    #[cfg(unix)] // its two users spell Unix folders
    fn dirs(id: &str, os: Os, scope: Scope) -> Vec<String> {
        manifest_dirs(by_id(id).unwrap(), &env(os), scope)
            .into_iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    // The expected folders are spelled with `/`: Unix hosts only (the
    // Windows locations have their own test).
    #[cfg(unix)]
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

    #[cfg(unix)]
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
