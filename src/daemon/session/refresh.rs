//! Access tokens through the single-flight refresh.
//!
//! One gate per session, and every waiter re-checks the cache after
//! passing it, so N concurrent requests cost one grant. A rotated refresh
//! token is saved to the store before anything else uses it. A refresh
//! started is never abandoned: the IdP may already have rotated the refresh
//! token, and dropping its answer would leave a spent token (Logto revokes
//! the grant on reuse).

use super::state::{cache_key, State};
use super::{not_authenticated, Session};
use crate::oidc::flow::ORGANIZATIONS_SCOPE;
use crate::oidc::tokens::TokenSet;
use crate::oidc::OidcError;
use crate::protocol::{AccessTokenResult, ErrorCode, RpcError};
use crate::secret::Secret;
use crate::store::StoredSession;
use crate::util::lock;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub(super) type RefreshResult = Option<Result<(Secret, u64), RpcError>>;

/// Callers stop waiting after the HTTP timeout; the refresh itself goes on
/// for up to this long.
const REFRESH_LIMIT: Duration = Duration::from_secs(120);

impl Session {
    /// `getAccessToken` / `getOrganizationToken`.
    pub async fn access_token_result(
        self: &Arc<Self>,
        resource: Option<&str>,
        org: Option<&str>,
    ) -> Result<AccessTokenResult, RpcError> {
        let (token, expires_at) = self.access_token(resource, org).await?;
        Ok(AccessTokenResult {
            access_token: token.expose().to_string(),
            expires_at,
        })
    }

    /// A valid access token for `resource` / `organization`, refreshing
    /// through the single flight when needed.
    pub async fn access_token(
        self: &Arc<Self>,
        resource: Option<&str>,
        org: Option<&str>,
    ) -> Result<(Secret, u64), RpcError> {
        let key = cache_key(resource, org);
        {
            let mut st = self.state.lock().await;
            self.ensure_loaded(&mut st).await?;
            let record = st.record.as_ref().ok_or_else(not_authenticated)?;
            if let Some(r) = resource {
                if !record.resources.iter().any(|x| x == r) {
                    return Err(RpcError::new(
                        ErrorCode::InvalidTarget,
                        format!("resource {r:?} is not configured for this app (configured: {:?}); add it to the app's resources and sign in again", record.resources),
                    ));
                }
            }
            if org.is_some() && !record.scopes.iter().any(|s| s == ORGANIZATIONS_SCOPE) {
                return Err(RpcError::new(
                    ErrorCode::MissingScopeOrganizations,
                    format!("organization tokens need the {ORGANIZATIONS_SCOPE} scope; add it to the app's scopes and sign in again"),
                ));
            }
            if let Some(t) = st.access.get(&key) {
                if t.fresh(self.deps.clock.now()) {
                    return Ok((t.token.clone(), t.expires_at));
                }
            }
        }
        self.refresh(resource, org, false).await
    }

    /// The single flight: joins the refresh of this token already running,
    /// or starts one as its own task. The caller waits at most the HTTP
    /// timeout; the refresh runs to its end (see [`REFRESH_LIMIT`]) and its
    /// result is saved and cached for whoever asks next.
    pub(super) async fn refresh(
        self: &Arc<Self>,
        resource: Option<&str>,
        org: Option<&str>,
        force: bool,
    ) -> Result<(Secret, u64), RpcError> {
        let key = cache_key(resource, org);
        let mut rx = {
            let mut flights = lock(&self.flights);
            match flights.get(&key) {
                Some(rx) => rx.clone(),
                None => {
                    let (tx, rx) = watch::channel::<RefreshResult>(None);
                    flights.insert(key.clone(), rx.clone());
                    let me = Arc::clone(self);
                    let (resource, org) = (resource.map(str::to_string), org.map(str::to_string));
                    tokio::spawn(async move {
                        let run = me.refresh_now(resource.as_deref(), org.as_deref(), force);
                        let result = match tokio::time::timeout(REFRESH_LIMIT, run).await {
                            Ok(r) => r,
                            Err(_) => Err(RpcError::new(
                                ErrorCode::NetworkError,
                                format!(
                                    "the identity provider did not answer a refresh within {}s",
                                    REFRESH_LIMIT.as_secs()
                                ),
                            )),
                        };
                        lock(&me.flights).remove(&key);
                        let _ = tx.send(Some(result));
                    });
                    rx
                }
            }
        };
        let waited = tokio::time::timeout(self.deps.http_timeout, async {
            match rx.wait_for(|r| r.is_some()).await {
                Ok(done) => done.clone().unwrap_or_else(|| {
                    Err(RpcError::new(ErrorCode::InternalError, "no refresh result"))
                }),
                Err(_) => Err(RpcError::new(
                    ErrorCode::InternalError,
                    "the refresh task vanished",
                )),
            }
        })
        .await;
        match waited {
            Ok(result) => result,
            Err(_) => {
                let mut e = self.timeout_error();
                e.message.push_str(
                    "; the refresh goes on in the background and its result will be used",
                );
                Err(e)
            }
        }
    }

    /// One refresh grant, under the gate, result saved before use.
    async fn refresh_now(
        &self,
        resource: Option<&str>,
        org: Option<&str>,
        force: bool,
    ) -> Result<(Secret, u64), RpcError> {
        let key = cache_key(resource, org);
        let _gate = self.refresh_gate.lock().await;
        let mut st = self.state.lock().await;
        self.ensure_loaded(&mut st).await?;
        if !force {
            // Whoever held the gate before us may have just refreshed this
            // very token: use it.
            if let Some(t) = st.access.get(&key) {
                if t.fresh(self.deps.clock.now()) {
                    return Ok((t.token.clone(), t.expires_at));
                }
            }
        }
        let record = st.record.clone().ok_or_else(not_authenticated)?;
        // The state lock is not held across the network call: readers of
        // other cached tokens go on meanwhile. The gate keeps refreshes
        // (and revocations) one at a time.
        drop(st);
        let provider = self.provider().await?;
        tracing::debug!(app = %self.key.app_id, resource = resource.unwrap_or(""), org = org.unwrap_or(""), "refreshing");
        let result = self
            .deps
            .idp
            .refresh(
                provider,
                &self.key.app_id,
                &record.refresh_token,
                resource,
                org,
            )
            .await;
        let mut st = self.state.lock().await;
        match result {
            Ok(set) => self.apply_refresh(&mut st, record, set, key).await,
            Err(OidcError::InvalidGrant(reason)) => {
                tracing::warn!(app = %self.key.app_id, "refresh token rejected ({reason}); session cleared");
                let _ = self.clear(&mut st).await;
                Err(RpcError::new(
                    ErrorCode::NotAuthenticated,
                    "the session ended at the identity provider (expired or revoked); sign in again",
                )
                .with_data(serde_json::json!({"error": "invalid_grant", "error_description": reason})))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn apply_refresh(
        &self,
        st: &mut State,
        mut record: StoredSession,
        set: TokenSet,
        key: String,
    ) -> Result<(Secret, u64), RpcError> {
        let mut changed = false;
        if let Some(rt) = set.refresh_token {
            record.refresh_token = rt;
            changed = true;
        }
        if let Some(idt) = set.id_token {
            record.id_token = Some(idt);
            st.id_claims = set.id_claims;
            changed = true;
        }
        let cached = (set.access_token.clone(), set.expires_at);
        let token = self.cached_token(set.access_token, set.expires_at);
        st.access.insert(key, token);
        if changed || st.unsaved {
            record.saved_at = self.deps.clock.now();
            self.persist(st, record).await?;
        }
        Ok(cached)
    }

    /// Makes sure an ID token is at hand: a record saved without one (an IdP
    /// that sent none at sign-in) gets it re-minted with a refresh.
    pub(super) async fn ensure_id_token(self: &Arc<Self>) -> Result<(), RpcError> {
        {
            let mut st = self.state.lock().await;
            self.ensure_loaded(&mut st).await?;
            let record = st.record.as_ref().ok_or_else(not_authenticated)?;
            if record.id_token.is_some() {
                return Ok(());
            }
        }
        self.refresh(None, None, true).await.map(|_| ())
    }
}
