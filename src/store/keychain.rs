//! OS keychain stores (filled in by the keychain work).

use super::TokenStore;
use crate::config::StoreKind;
use std::sync::Arc;

/// Opens the configured store.
pub fn open(kind: StoreKind) -> Result<Arc<dyn TokenStore>, super::StoreError> {
    match kind {
        StoreKind::Memory => Ok(Arc::new(super::memory::MemoryStore::default())),
        other => Err(super::StoreError::Unavailable(format!(
            "store {other:?} is not built yet"
        ))),
    }
}

/// Opens the store and checks it answers (for `doctor` and `status`): the
/// real error text when it does not.
#[allow(dead_code)] // used by doctor (being built)
pub fn probe(kind: StoreKind) -> Result<super::StoreInfo, super::StoreError> {
    let store = open(kind)?;
    store.load("logto-companion-probe", "probe")?;
    Ok(store.describe())
}
