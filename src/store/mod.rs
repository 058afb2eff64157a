//! Where sessions persist: the `TokenStore` trait and the versioned record.
//!
//! Only what is needed to come back after a restart is stored: the refresh
//! token, the ID token, and what was granted. Access tokens live in daemon
//! memory only.

pub mod keychain;
pub mod memory;

use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// The record kept per app session.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StoredSession {
    /// Format version; bumped on incompatible changes.
    pub v: u32,
    pub refresh_token: Secret,
    /// Dropped when the record would not fit a small-limit store; it is
    /// re-minted with a refresh on load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Secret>,
    /// Scopes asked for at sign-in.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Resources asked for at sign-in (the only ones a refresh may target).
    #[serde(default)]
    pub resources: Vec<String>,
    /// Unix seconds.
    pub saved_at: u64,
}

pub const RECORD_VERSION: u32 = 1;

/// Keychain failures, with the store's real message kept for the user.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Unavailable(String),
    #[allow(dead_code)] // produced by the keychain store (next commit)
    #[error("the stored session is unreadable ({0}); sign in again")]
    Corrupt(String),
}

impl StoreError {
    pub fn code(&self) -> crate::protocol::ErrorCode {
        crate::protocol::ErrorCode::KeychainUnavailable
    }
}

impl From<StoreError> for crate::protocol::RpcError {
    fn from(e: StoreError) -> Self {
        crate::protocol::RpcError::new(e.code(), e.to_string())
    }
}

/// A store of session records keyed by `(endpoint, app_id)`. Calls block
/// (D-Bus, Keychain APIs); the daemon runs them off the async threads.
pub trait TokenStore: Send + Sync {
    fn load(&self, endpoint: &str, app_id: &str) -> Result<Option<StoredSession>, StoreError>;
    fn save(&self, endpoint: &str, app_id: &str, record: &StoredSession) -> Result<(), StoreError>;
    fn delete(&self, endpoint: &str, app_id: &str) -> Result<(), StoreError>;
    /// For `status` and `doctor`: backend name and what survives what.
    fn describe(&self) -> StoreInfo;
}

#[derive(Clone, Debug, Serialize)]
pub struct StoreInfo {
    pub kind: &'static str,
    pub description: String,
    /// False for stores that lose sessions at reboot (keyutils) or at exit
    /// (memory).
    pub persistent: bool,
}
