//! The session's state: the stored record (loaded lazily from the store),
//! the access tokens (memory only), and every change told to every
//! connection bound to the app.

use super::Session;
use crate::oidc::decode_jwt_claims;
use crate::protocol::{Event, RpcError};
use crate::secret::Secret;
use crate::store::{StoreError, StoredSession, TokenStore};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// An access token this close to expiry is refreshed rather than served.
pub(super) const EXPIRY_MARGIN_SECS: u64 = 60;

pub(super) struct CachedToken {
    pub token: Secret,
    pub expires_at: u64,
    pub obtained_at: u64,
}

impl CachedToken {
    /// Served while more than the margin is left: 60 s, or a quarter of the
    /// lifetime for short-lived tokens.
    pub fn fresh(&self, now: u64) -> bool {
        let lifetime = self.expires_at.saturating_sub(self.obtained_at);
        let margin = EXPIRY_MARGIN_SECS.min(lifetime / 4);
        self.expires_at > now + margin
    }
}

#[derive(Default)]
pub(super) struct State {
    pub loaded: bool,
    pub record: Option<StoredSession>,
    pub id_claims: Option<Value>,
    /// Access tokens by [`cache_key`].
    pub access: HashMap<String, CachedToken>,
    /// The record in memory is newer than the stored one (a save failed);
    /// the next request tries again.
    pub unsaved: bool,
}

/// `{resource}#{organization}`; `status` splits it back.
pub(super) fn cache_key(resource: Option<&str>, org: Option<&str>) -> String {
    format!("{}#{}", resource.unwrap_or(""), org.unwrap_or(""))
}

impl Session {
    pub(super) fn cached_token(&self, token: Secret, expires_at: u64) -> CachedToken {
        CachedToken {
            token,
            expires_at,
            obtained_at: self.deps.clock.now(),
        }
    }

    /// Runs a store call off the async thread (D-Bus and the OS keychain
    /// APIs block).
    pub(super) async fn store_op<T: Send + 'static>(
        &self,
        op: impl FnOnce(&dyn TokenStore, &str, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.deps.store);
        let (endpoint, app_id) = (self.key.endpoint.clone(), self.key.app_id.clone());
        tokio::task::spawn_blocking(move || op(store.as_ref(), &endpoint, &app_id))
            .await
            .unwrap_or_else(|e| {
                Err(StoreError::Unavailable(format!(
                    "keychain task failed: {e}"
                )))
            })
    }

    /// Loads the stored session on first use; retries a failed save.
    pub(super) async fn ensure_loaded(&self, st: &mut State) -> Result<(), RpcError> {
        if st.loaded {
            if st.unsaved {
                // Tokens in memory stay usable while the keychain is
                // locked; the failure was reported when it happened.
                if let Some(record) = st.record.clone() {
                    let _ = self.persist(st, record).await;
                }
            }
            return Ok(());
        }
        let record = self.store_op(|s, e, a| s.load(e, a)).await?;
        st.id_claims = record
            .as_ref()
            .and_then(|r| r.id_token.as_ref())
            .and_then(|t| decode_jwt_claims(t.expose()));
        st.record = record;
        st.loaded = true;
        if st.record.is_some() {
            tracing::info!(app = %self.key.app_id, "session loaded from the store");
        }
        Ok(())
    }

    pub(super) fn broadcast_changed(&self, st: &State) {
        self.broadcast_with(st, None);
    }

    fn broadcast_with(&self, st: &State, end_session_url: Option<String>) {
        let sub = st
            .id_claims
            .as_ref()
            .and_then(|c| c["sub"].as_str())
            .map(str::to_string);
        self.subscribers.broadcast(&Event::SessionChanged {
            authenticated: st.record.is_some(),
            sub: if st.record.is_some() { sub } else { None },
            end_session_url,
        });
    }

    /// Forgets the session everywhere (memory, store) and tells everyone.
    pub(super) async fn clear(&self, st: &mut State) -> Result<(), RpcError> {
        self.clear_with(st, None).await
    }

    /// [`Session::clear`], telling every connection where the provider's
    /// own session ends (a sign-out).
    pub(super) async fn clear_with(
        &self,
        st: &mut State,
        end_session_url: Option<String>,
    ) -> Result<(), RpcError> {
        let had = st.record.is_some();
        st.record = None;
        st.id_claims = None;
        st.access.clear();
        st.unsaved = false;
        st.loaded = true;
        let deleted = self.store_op(|s, e, a| s.delete(e, a)).await;
        if had {
            self.broadcast_with(st, end_session_url);
        }
        deleted.map_err(RpcError::from)
    }

    /// Saves `record` before anything uses its refresh token. On failure the
    /// record stays in memory (the old refresh token is already spent at
    /// the IdP), is saved again on the next request, and the caller gets
    /// `keychain_unavailable`.
    pub(super) async fn persist(
        &self,
        st: &mut State,
        record: StoredSession,
    ) -> Result<(), RpcError> {
        let to_save = record.clone();
        let saved = self.store_op(move |s, e, a| s.save(e, a, &to_save)).await;
        st.record = Some(record);
        st.unsaved = saved.is_err();
        saved.map_err(|e| {
            tracing::error!(app = %self.key.app_id, "could not save the session: {e}");
            RpcError::from(e)
        })
    }
}
