//! Windows registry keys whose default value names a host manifest
//! (`HKEY_CURRENT_USER\…\NativeMessagingHosts\<host>` and, with `--system`,
//! `HKEY_LOCAL_MACHINE\…`), read and written through the Win32 registry
//! API: no `reg.exe`, no parsing of its localized output.
//!
//! Each platform supplies the same items, named once in the `pub use` list
//! below, so an item missing on one platform is a compile error there:
//!
//! | item                 | Windows (`windows.rs`)                          | elsewhere (`other.rs`)      |
//! |----------------------|-------------------------------------------------|-----------------------------|
//! | [`read_default`]     | `RegOpenKeyExW` + `RegGetValueW(RRF_RT_REG_SZ)` | `Unsupported`               |
//! | [`set_default`]      | `RegCreateKeyExW` per missing level + `RegSetValueExW` | `Unsupported`        |
//! | [`delete_default`]   | `RegDeleteValueW` on the default value          | `Unsupported`               |
//! | [`delete_if_empty`]  | `RegQueryInfoKeyW` (no subkeys, no values) + `RegDeleteKeyW` | `Unsupported`  |
//!
//! Off Windows no plan has registry keys, so the stubs are only reached by a
//! hand-edited install record; they say so instead of pretending.

use std::fmt;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

#[cfg(not(windows))]
mod other;
#[cfg(not(windows))]
use other as os;

/// What every platform supplies; see the table above.
pub use os::{delete_default, delete_if_empty, read_default, set_default};

/// The two hives an install writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hive {
    /// `HKEY_CURRENT_USER`: a per-user install.
    CurrentUser,
    /// `HKEY_LOCAL_MACHINE`: `--system`, needs an administrator.
    LocalMachine,
}

impl Hive {
    pub fn name(self) -> &'static str {
        match self {
            Hive::CurrentUser => "HKEY_CURRENT_USER",
            Hive::LocalMachine => "HKEY_LOCAL_MACHINE",
        }
    }
}

/// A key below a hive, as the install record and the browser table spell
/// it: `HKEY_CURRENT_USER\SOFTWARE\…` (also `HKCU\…`, `HKLM\…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub hive: Hive,
    /// The path below the hive, `\`-separated, no leading or trailing `\`.
    pub path: String,
}

impl Key {
    pub fn parse(s: &str) -> Result<Key, RegistryError> {
        let bad = || RegistryError::BadKey { key: s.to_string() };
        let (hive, path) = s.split_once('\\').ok_or_else(bad)?;
        let hive = match hive.to_ascii_uppercase().as_str() {
            "HKEY_CURRENT_USER" | "HKCU" => Hive::CurrentUser,
            "HKEY_LOCAL_MACHINE" | "HKLM" => Hive::LocalMachine,
            _ => return Err(bad()),
        };
        let parts: Vec<&str> = path.split('\\').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        Ok(Key {
            hive,
            path: parts.join("\\"),
        })
    }

    /// The path's components, outermost first.
    #[cfg_attr(not(windows), allow(dead_code))] // windows.rs creates level by level
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.path.split('\\')
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\\{}", self.hive.name(), self.path)
    }
}

/// What a key's default value is.
#[cfg_attr(not(windows), allow(dead_code))] // read only on Windows
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// No such key.
    NoKey,
    /// The key exists without a default value.
    NoValue,
    /// The default value, a string (`REG_SZ`).
    Value(String),
}

impl Reading {
    pub fn value(&self) -> Option<&str> {
        match self {
            Reading::Value(v) => Some(v),
            Reading::NoKey | Reading::NoValue => None,
        }
    }
}

/// Registry failures. Each message names the key, the cause and the fix.
#[cfg_attr(not(windows), allow(dead_code))] // most arise in windows.rs only
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RegistryError {
    #[error("{key} is not a key this program writes (expected HKEY_CURRENT_USER\\… or HKEY_LOCAL_MACHINE\\…); remove that entry from the install record (installed.json)")]
    BadKey { key: String },
    #[error("access denied to {key} ({op}): {}", access_hint(.key))]
    AccessDenied { key: String, op: &'static str },
    #[error("{key} has a default value that is not a string (REG_SZ), so no browser can use it; delete the key with regedit, then run install again")]
    NotAString { key: String },
    #[error("cannot {op} {key}: {message} (Windows error {code})")]
    Os {
        key: String,
        op: &'static str,
        code: u32,
        message: String,
    },
    #[cfg_attr(windows, allow(dead_code))] // other.rs only
    #[error("{key}: the Windows registry exists only on Windows, so it was not touched; this install record comes from a Windows machine — uninstall there")]
    Unsupported { key: String },
}

fn access_hint(key: &str) -> &'static str {
    if key.starts_with(Hive::LocalMachine.name()) {
        "system-wide keys need an administrator: run it from an elevated prompt (Run as administrator), or drop --system for a per-user install"
    } else {
        "a policy or another program locks this per-user key; check its permissions in regedit (Permissions…) or ask your administrator"
    }
}

impl RegistryError {
    /// A stable code for scripts, tests and `doctor --json`.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::BadKey { .. } => "registry_bad_key",
            RegistryError::AccessDenied { .. } => "registry_access_denied",
            RegistryError::NotAString { .. } => "registry_not_a_string",
            RegistryError::Os { .. } => "registry_failed",
            RegistryError::Unsupported { .. } => "registry_unsupported",
        }
    }

    /// For `install` and `uninstall`'s output: the message, then the code.
    pub fn coded(self) -> anyhow::Error {
        anyhow::anyhow!("{self} [{}]", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_both_spellings_of_both_hives() {
        let k =
            Key::parse(r"HKEY_CURRENT_USER\SOFTWARE\Google\Chrome\NativeMessagingHosts\x").unwrap();
        assert_eq!(k.hive, Hive::CurrentUser);
        assert_eq!(k.path, r"SOFTWARE\Google\Chrome\NativeMessagingHosts\x");
        assert_eq!(
            k.to_string(),
            r"HKEY_CURRENT_USER\SOFTWARE\Google\Chrome\NativeMessagingHosts\x"
        );
        assert_eq!(
            Key::parse(r"hklm\SOFTWARE\x").unwrap(),
            Key {
                hive: Hive::LocalMachine,
                path: r"SOFTWARE\x".into()
            }
        );
        assert_eq!(
            Key::parse(r"HKLM\SOFTWARE\a")
                .unwrap()
                .components()
                .collect::<Vec<_>>(),
            ["SOFTWARE", "a"]
        );
    }

    #[test]
    fn keys_outside_the_two_hives_or_with_empty_parts_are_refused() {
        for bad in [
            r"HKEY_CLASSES_ROOT\x",
            r"HKEY_CURRENT_USER",
            r"HKEY_CURRENT_USER\",
            r"HKEY_CURRENT_USER\a\\b",
            r"SOFTWARE\x",
            "",
        ] {
            let e = Key::parse(bad).unwrap_err();
            assert_eq!(e.code(), "registry_bad_key", "{bad:?}");
            assert!(e.to_string().contains("installed.json"), "{e}");
        }
    }

    #[test]
    fn access_denied_names_the_key_and_the_fix_for_its_hive() {
        let system = RegistryError::AccessDenied {
            key: r"HKEY_LOCAL_MACHINE\SOFTWARE\x".into(),
            op: "write",
        };
        assert_eq!(system.code(), "registry_access_denied");
        let m = system.to_string();
        assert!(m.contains(r"HKEY_LOCAL_MACHINE\SOFTWARE\x"), "{m}");
        assert!(
            m.contains("Run as administrator") && m.contains("drop --system"),
            "{m}"
        );
        let user = RegistryError::AccessDenied {
            key: r"HKEY_CURRENT_USER\SOFTWARE\x".into(),
            op: "write",
        };
        assert!(!user.to_string().contains("--system"), "{user}");
        assert!(user.to_string().contains("regedit"), "{user}");
    }
}
