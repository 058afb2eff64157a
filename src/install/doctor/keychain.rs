//! The keychain backend the config names: usable now, and whether it keeps
//! sessions across reboots.

use super::Report;
use crate::config::StoreKind;
use crate::install::browsers::Os;
use std::path::Path;

pub fn check_keychain(r: &mut Report, store: StoreKind, config_path: &Path) {
    match crate::store::keychain::probe(store) {
        Ok(info) => {
            r.ok("keychain", format!("{} ({})", info.description, info.kind));
            if !info.persistent {
                r.info(
                    "keychain",
                    format!(
                        "store {:?} does not keep sessions across reboots or daemon exits",
                        info.kind
                    ),
                );
            }
        }
        Err(e) => {
            let fix = match (store, Os::current()) {
                (StoreKind::Keychain, Os::Linux) => format!(
                    "start a Secret Service provider in your session (gnome-keyring, KWallet, KeePassXC), or set store = \"keyutils\" in {} (sessions then last until reboot)",
                    config_path.display()
                ),
                (StoreKind::Keyutils, _) => "install keyutils support in the kernel, or use store = \"keychain\"".to_string(),
                _ => format!("check the OS keychain, or choose another store in {}", config_path.display()),
            };
            r.fail(
                "keychain",
                format!("keychain store {store:?} is not usable: {e}"),
                fix,
            );
        }
    }
}
