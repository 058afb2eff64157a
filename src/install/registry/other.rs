//! No registry off Windows: every item refuses with `Unsupported`, naming
//! the key, so a Windows install record read elsewhere fails plainly.

use super::{Key, Reading, RegistryError};

fn unsupported(key: &Key) -> RegistryError {
    RegistryError::Unsupported {
        key: key.to_string(),
    }
}

pub fn read_default(key: &Key) -> Result<Reading, RegistryError> {
    Err(unsupported(key))
}

pub fn set_default(key: &Key, _value: &str) -> Result<Vec<Key>, RegistryError> {
    Err(unsupported(key))
}

pub fn delete_default(key: &Key) -> Result<(), RegistryError> {
    Err(unsupported(key))
}

pub fn delete_if_empty(key: &Key) -> Result<bool, RegistryError> {
    Err(unsupported(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_says_the_registry_is_windows_only() {
        let k = Key::parse(r"HKCU\SOFTWARE\x").unwrap();
        let errs = [
            read_default(&k).unwrap_err(),
            set_default(&k, "v").unwrap_err(),
            delete_default(&k).unwrap_err(),
            delete_if_empty(&k).unwrap_err(),
        ];
        for e in errs {
            assert_eq!(e.code(), "registry_unsupported");
            assert!(
                e.to_string().contains(r"HKEY_CURRENT_USER\SOFTWARE\x"),
                "{e}"
            );
        }
    }
}
