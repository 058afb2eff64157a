//! Where sessions persist: the `TokenStore` trait and the versioned record.
//!
//! Only what is needed to come back after a restart is stored: the refresh
//! token, the ID token, and what was granted. Access tokens live in daemon
//! memory only.
//!
//! The OS keychains (`keychain`) keep one record per app session in one
//! entry, split over numbered entries when it is larger than an entry may
//! be (`entries`); see docs/keychain.md.

mod entries;
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
    /// The ID token from the last grant that returned one. Kept whole: a
    /// record too large for one keychain entry is split over several. When
    /// absent the daemon re-mints it with a refresh.
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
/// Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or refused the operation: the message
    /// names the cause and the fix, then the store's own words.
    #[error("{0}")]
    Unavailable(String),
    /// A record is there but cannot be read back.
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
    /// Removes the session (every entry it spans); nothing there is fine.
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
