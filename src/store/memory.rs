//! In-memory store: for tests only (`store = "memory"`), never chosen
//! silently. Sessions vanish when the daemon exits.

use super::{StoreError, StoreInfo, StoredSession, TokenStore};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<(String, String), StoredSession>>,
}

impl TokenStore for MemoryStore {
    fn load(&self, endpoint: &str, app_id: &str) -> Result<Option<StoredSession>, StoreError> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        Ok(records
            .get(&(endpoint.to_string(), app_id.to_string()))
            .cloned())
    }

    fn save(&self, endpoint: &str, app_id: &str, record: &StoredSession) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records.insert((endpoint.to_string(), app_id.to_string()), record.clone());
        Ok(())
    }

    fn delete(&self, endpoint: &str, app_id: &str) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records.remove(&(endpoint.to_string(), app_id.to_string()));
        Ok(())
    }

    fn describe(&self) -> StoreInfo {
        StoreInfo {
            kind: "memory",
            description: "in-memory (tests only): sessions are lost when the daemon exits".into(),
            persistent: false,
        }
    }
}
