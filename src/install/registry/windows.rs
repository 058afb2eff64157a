//! The registry through the Win32 API (advapi32). Only the default value of
//! a key is ever read or written: that is where Chrome, Edge and Firefox
//! look for the manifest's path.
//!
//! The process is 64-bit, so `HKEY_LOCAL_MACHINE\SOFTWARE` is the 64-bit
//! view, which every current browser reads (Chrome reads both views).

use super::{Hive, Key, Reading, RegistryError};
use std::ptr::{null, null_mut};
use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_MORE_DATA, ERROR_SUCCESS,
    ERROR_UNSUPPORTED_TYPE, WIN32_ERROR,
};
use windows_sys::Win32::System::Registry::{
    RegCloseKey, RegCreateKeyExW, RegDeleteKeyW, RegDeleteValueW, RegGetValueW, RegOpenKeyExW,
    RegQueryInfoKeyW, RegSetValueExW, HKEY, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE,
    KEY_CREATE_SUB_KEY, KEY_QUERY_VALUE, KEY_SET_VALUE, REG_CREATED_NEW_KEY,
    REG_OPTION_NON_VOLATILE, REG_SAM_FLAGS, REG_SZ, RRF_RT_REG_SZ,
};

/// An open key, closed on drop.
struct Handle(HKEY);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: self.0 came from a successful RegOpenKeyExW/RegCreateKeyExW
        // and is closed exactly once, here.
        unsafe { RegCloseKey(self.0) };
    }
}

fn root(hive: Hive) -> HKEY {
    match hive {
        Hive::CurrentUser => HKEY_CURRENT_USER,
        Hive::LocalMachine => HKEY_LOCAL_MACHINE,
    }
}

/// `s` as a NUL-terminated UTF-16 string.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// A Win32 error as the error of this module, naming `key`.
fn error(key: &Key, op: &'static str, code: WIN32_ERROR) -> RegistryError {
    if code == ERROR_ACCESS_DENIED {
        return RegistryError::AccessDenied {
            key: key.to_string(),
            op,
        };
    }
    RegistryError::Os {
        key: key.to_string(),
        op,
        code,
        message: std::io::Error::from_raw_os_error(code as i32).to_string(),
    }
}

/// Opens `key`; `Ok(None)` when it does not exist.
fn open(key: &Key, access: REG_SAM_FLAGS) -> Result<Option<Handle>, WIN32_ERROR> {
    let path = wide(&key.path);
    let mut h: HKEY = null_mut();
    // SAFETY: `path` is NUL-terminated and outlives the call; `h` is a valid
    // out pointer.
    let rc = unsafe { RegOpenKeyExW(root(key.hive), path.as_ptr(), 0, access, &mut h) };
    match rc {
        ERROR_SUCCESS => Ok(Some(Handle(h))),
        ERROR_FILE_NOT_FOUND => Ok(None),
        e => Err(e),
    }
}

pub fn read_default(key: &Key) -> Result<Reading, RegistryError> {
    let Some(h) = open(key, KEY_QUERY_VALUE).map_err(|c| error(key, "read", c))? else {
        return Ok(Reading::NoKey);
    };
    // A manifest path fits in MAX_PATH; a longer value says how long.
    let mut buf: Vec<u16> = vec![0; 261];
    loop {
        let mut bytes = (buf.len() * 2) as u32;
        // SAFETY: `buf` has `bytes` writable bytes; a NULL sub key and value
        // name mean "the default value of this key".
        let rc = unsafe {
            RegGetValueW(
                h.0,
                null(),
                null(),
                RRF_RT_REG_SZ,
                null_mut(),
                buf.as_mut_ptr().cast(),
                &mut bytes,
            )
        };
        match rc {
            ERROR_SUCCESS => {
                let mut s = &buf[..(bytes as usize / 2).min(buf.len())];
                while let [rest @ .., 0] = s {
                    s = rest;
                }
                return Ok(Reading::Value(String::from_utf16_lossy(s)));
            }
            ERROR_MORE_DATA => buf = vec![0; (bytes as usize).div_ceil(2) + 1],
            ERROR_FILE_NOT_FOUND => return Ok(Reading::NoValue),
            ERROR_UNSUPPORTED_TYPE => {
                return Err(RegistryError::NotAString {
                    key: key.to_string(),
                })
            }
            e => return Err(error(key, "read", e)),
        }
    }
}

/// Sets the default value of `key` to `value` (`REG_SZ`), creating the key
/// and any missing key above it. Returns the keys it created, outermost
/// first (the install record keeps them, so uninstall removes exactly those).
pub fn set_default(key: &Key, value: &str) -> Result<Vec<Key>, RegistryError> {
    let mut created = Vec::new();
    let h = match open(key, KEY_SET_VALUE).map_err(|c| error(key, "write", c))? {
        Some(h) => h,
        None => create(key, &mut created)?,
    };
    let data = wide(value);
    // SAFETY: `data` is NUL-terminated UTF-16 of the byte length given; a
    // NULL value name is the default value.
    let rc = unsafe {
        RegSetValueExW(
            h.0,
            null(),
            0,
            REG_SZ,
            data.as_ptr().cast(),
            (data.len() * 2) as u32,
        )
    };
    if rc != ERROR_SUCCESS {
        drop(h);
        undo_created(&created);
        return Err(error(key, "write", rc));
    }
    Ok(created)
}

/// Creates `key` level by level, noting each level that is new; on failure
/// removes again what it created.
fn create(key: &Key, created: &mut Vec<Key>) -> Result<Handle, RegistryError> {
    let mut parent: Option<Handle> = None;
    let mut path = String::new();
    for part in key.components() {
        if !path.is_empty() {
            path.push('\\');
        }
        path.push_str(part);
        let name = wide(part);
        let mut h: HKEY = null_mut();
        let mut disposition = 0;
        // SAFETY: the parent handle is open (or a predefined hive), `name`
        // is NUL-terminated, `h` and `disposition` are valid out pointers.
        let rc = unsafe {
            RegCreateKeyExW(
                parent.as_ref().map_or(root(key.hive), |p| p.0),
                name.as_ptr(),
                0,
                null(),
                REG_OPTION_NON_VOLATILE,
                KEY_CREATE_SUB_KEY | KEY_SET_VALUE,
                null(),
                &mut h,
                &mut disposition,
            )
        };
        if rc != ERROR_SUCCESS {
            drop(parent);
            undo_created(created);
            created.clear();
            return Err(error(key, "create", rc));
        }
        if disposition == REG_CREATED_NEW_KEY {
            created.push(Key {
                hive: key.hive,
                path: path.clone(),
            });
        }
        parent = Some(Handle(h));
    }
    parent.ok_or_else(|| RegistryError::BadKey {
        key: key.to_string(),
    })
}

/// Best effort, innermost first: a failed write leaves nothing behind.
fn undo_created(created: &[Key]) {
    for k in created.iter().rev() {
        let _ = delete_if_empty(k);
    }
}

/// Removes the default value of `key`; a missing key or value is fine.
pub fn delete_default(key: &Key) -> Result<(), RegistryError> {
    let Some(h) = open(key, KEY_SET_VALUE).map_err(|c| error(key, "write", c))? else {
        return Ok(());
    };
    // SAFETY: `h` is open with KEY_SET_VALUE; NULL names the default value.
    match unsafe { RegDeleteValueW(h.0, null()) } {
        ERROR_SUCCESS | ERROR_FILE_NOT_FOUND => Ok(()),
        e => Err(error(key, "delete the default value of", e)),
    }
}

/// Deletes `key` if it holds no subkey and no value (what someone else put
/// there stays, and so does the key). `Ok(true)`: the key is gone now.
pub fn delete_if_empty(key: &Key) -> Result<bool, RegistryError> {
    let Some(h) = open(key, KEY_QUERY_VALUE).map_err(|c| error(key, "read", c))? else {
        return Ok(true);
    };
    let (mut subkeys, mut values) = (0u32, 0u32);
    // SAFETY: `h` is open with KEY_QUERY_VALUE; every other out pointer may
    // be NULL.
    let rc = unsafe {
        RegQueryInfoKeyW(
            h.0,
            null_mut(),
            null_mut(),
            null(),
            &mut subkeys,
            null_mut(),
            null_mut(),
            &mut values,
            null_mut(),
            null_mut(),
            null_mut(),
            null_mut(),
        )
    };
    drop(h);
    if rc != ERROR_SUCCESS {
        return Err(error(key, "read", rc));
    }
    if subkeys > 0 || values > 0 {
        return Ok(false);
    }
    let path = wide(&key.path);
    // SAFETY: `path` is NUL-terminated and outlives the call.
    match unsafe { RegDeleteKeyW(root(key.hive), path.as_ptr()) } {
        ERROR_SUCCESS | ERROR_FILE_NOT_FOUND => Ok(true),
        e => Err(error(key, "delete", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_sys::Win32::System::Registry::REG_DWORD;

    /// A key of its own under HKCU for each test (Wine's prefix is shared).
    fn scratch(name: &str) -> Key {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Key::parse(&format!(
            r"HKEY_CURRENT_USER\SOFTWARE\logto-companion-test-{}-{nanos}-{name}",
            std::process::id()
        ))
        .unwrap()
    }

    fn child(k: &Key, name: &str) -> Key {
        Key {
            hive: k.hive,
            path: format!(r"{}\{name}", k.path),
        }
    }

    #[test]
    fn set_creates_every_missing_level_and_uninstall_steps_remove_exactly_those() {
        let top = scratch("levels");
        let mid = child(&top, "NativeMessagingHosts");
        let leaf = child(&mid, "logto_companion");
        assert_eq!(read_default(&leaf).unwrap(), Reading::NoKey);

        let created = set_default(&leaf, r"C:\Users\u\AppData\Local\x.json").unwrap();
        assert_eq!(created, [top.clone(), mid.clone(), leaf.clone()]);
        assert_eq!(
            read_default(&leaf).unwrap(),
            Reading::Value(r"C:\Users\u\AppData\Local\x.json".into())
        );
        assert_eq!(read_default(&mid).unwrap(), Reading::NoValue);

        // Existing key: nothing created, the value replaced.
        let long = format!(r"C:\{}\ü.json", "d".repeat(400));
        assert!(set_default(&leaf, &long).unwrap().is_empty());
        assert_eq!(read_default(&leaf).unwrap(), Reading::Value(long));

        // A key with a subkey or a value stays.
        assert!(!delete_if_empty(&mid).unwrap());
        assert!(!delete_if_empty(&leaf).unwrap());
        delete_default(&leaf).unwrap();
        assert_eq!(read_default(&leaf).unwrap(), Reading::NoValue);
        delete_default(&leaf).unwrap(); // already gone: fine
        assert!(delete_if_empty(&leaf).unwrap());
        assert_eq!(read_default(&leaf).unwrap(), Reading::NoKey);
        assert!(delete_if_empty(&mid).unwrap());
        assert!(delete_if_empty(&top).unwrap());
        assert_eq!(read_default(&top).unwrap(), Reading::NoKey);
        assert!(delete_if_empty(&top).unwrap()); // absent: gone
    }

    #[test]
    fn a_default_value_that_is_not_a_string_is_reported_not_misread() {
        let k = scratch("dword");
        assert_eq!(set_default(&k, "x").unwrap(), [k.clone()]);
        let h = open(&k, KEY_SET_VALUE).unwrap().unwrap();
        let n: u32 = 7;
        // SAFETY: `n` is 4 readable bytes, as REG_DWORD wants.
        let rc = unsafe { RegSetValueExW(h.0, null(), 0, REG_DWORD, (&n as *const u32).cast(), 4) };
        assert_eq!(rc, ERROR_SUCCESS);
        drop(h);
        let e = read_default(&k).unwrap_err();
        assert_eq!(e.code(), "registry_not_a_string");
        assert!(e.to_string().contains(&k.to_string()), "{e}");
        delete_default(&k).unwrap();
        assert!(delete_if_empty(&k).unwrap());
    }

    #[test]
    fn win32_errors_become_codes_that_name_the_key() {
        let k = Key::parse(r"HKLM\SOFTWARE\Google\Chrome\NativeMessagingHosts\x").unwrap();
        let denied = error(&k, "create", ERROR_ACCESS_DENIED);
        assert_eq!(denied.code(), "registry_access_denied");
        assert!(
            denied.to_string().contains("Run as administrator"),
            "{denied}"
        );
        let other = error(&k, "write", 1009); // ERROR_BADDB
        assert_eq!(other.code(), "registry_failed");
        assert!(other.to_string().contains(&k.to_string()), "{other}");
    }
}
