//! One app session: where correctness lives.
//!
//! - [`state`]: the stored record, the in-memory access tokens, the store
//!   and the `sessionChanged` broadcast;
//! - [`refresh`]: access tokens through the single-flight refresh;
//! - [`sign_in`]: the shared authorization-code flow (and its cancel);
//! - [`sign_out`]: revocation, clearing, the end-session URL.
//!
//! The session talks to the provider only through [`Idp`] and reads time
//! only through [`Clock`], so its rules are unit-tested (`tests.rs`) with a
//! fake provider and a manual clock.

pub mod clock;
mod device;
pub mod idp;
mod reauth;
mod refresh;
mod sign_in;
mod sign_out;
mod state;
#[cfg(test)]
mod tests;

pub use clock::{Clock, SystemClock};
pub use idp::Idp;
pub use reauth::ReauthMarks;

use super::activity::Activity;
use super::events::Subscribers;
use crate::config::{normalize_endpoint, AppConfig, Config};
use crate::oidc::{decode_jwt_claims, Oidc, OidcError, Provider};
use crate::paths::Paths;
use crate::protocol::{
    AppParams, AppStatus, ClaimsResult, ErrorCode, IdTokenResult, OidcConfigResult, RpcError,
    TokenStatus, UserInfoResult, UserSummary,
};
use crate::secret::Secret;
use crate::store::TokenStore;
use crate::util::{lock, push_unique};
use refresh::RefreshResult;
use sign_in::RunningFlow;
use state::State;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppKey {
    pub endpoint: String,
    pub app_id: String,
}

impl AppKey {
    pub fn new(endpoint: &str, app_id: &str) -> AppKey {
        AppKey {
            endpoint: normalize_endpoint(endpoint),
            app_id: app_id.to_string(),
        }
    }
}

/// What every session shares: the provider, the store, the clock, the
/// timeouts and the daemon's activity counter.
pub struct SessionDeps {
    pub idp: Arc<dyn Idp>,
    pub store: Arc<dyn TokenStore>,
    pub clock: Arc<dyn Clock>,
    pub sign_in_timeout: Duration,
    /// How long a caller waits for the IdP before `network_error`.
    pub http_timeout: Duration,
    /// A running sign-in flow keeps the daemon from exiting idle.
    pub activity: Activity,
    /// Which apps were signed out (their next sign-in asks for login).
    pub reauth: ReauthMarks,
}

impl SessionDeps {
    pub fn new(config: &Config, paths: &Paths, activity: Activity) -> anyhow::Result<SessionDeps> {
        let http_timeout = Duration::from_secs(config.http_timeout_secs.max(1));
        Ok(SessionDeps {
            idp: Arc::new(Oidc::new(http_timeout)?),
            store: crate::store::keychain::open(config.store)?,
            clock: Arc::new(SystemClock),
            sign_in_timeout: Duration::from_secs(config.sign_in_timeout_secs.max(1)),
            http_timeout,
            activity,
            reauth: ReauthMarks::in_dir(&paths.state_dir.join("signed-out")),
        })
    }
}

/// The app's settings: the config entry plus what clients add on `hello`.
#[derive(Clone, Default)]
struct Settings {
    issuer: String,
    scopes: Vec<String>,
    resources: Vec<String>,
    prompt: Option<String>,
    include_reserved: bool,
    post_logout_redirect_uri: Option<String>,
    /// Post-logout URIs a caller may ask for.
    post_logout_allowed: Vec<String>,
    /// Pinned loopback ports, in order; empty = any.
    redirect_ports: Vec<u16>,
}

pub struct Session {
    pub key: AppKey,
    pub subscribers: Subscribers,
    deps: Arc<SessionDeps>,
    settings: Mutex<Settings>,
    state: tokio::sync::Mutex<State>,
    /// Held for the whole of a refresh, a sign-in's save or a revocation:
    /// two of them never run at once (Logto's reuse detection would revoke
    /// the grant).
    refresh_gate: tokio::sync::Mutex<()>,
    /// Refreshes in flight by token key; later callers join them.
    flights: Mutex<HashMap<String, watch::Receiver<RefreshResult>>>,
    /// The running sign-in flow, shared by every `signIn` of this app.
    sign_in: Mutex<Option<RunningFlow>>,
}

fn not_authenticated() -> RpcError {
    RpcError::new(ErrorCode::NotAuthenticated, "not signed in")
}

impl Session {
    pub fn new(key: AppKey, deps: Arc<SessionDeps>) -> Session {
        Session {
            key,
            subscribers: Subscribers::default(),
            deps,
            settings: Mutex::new(Settings {
                include_reserved: true,
                ..Default::default()
            }),
            state: tokio::sync::Mutex::new(State::default()),
            refresh_gate: tokio::sync::Mutex::new(()),
            flights: Mutex::new(HashMap::new()),
            sign_in: Mutex::new(None),
        }
    }

    fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Takes the config entry's values. Re-applied on every `hello`, so an
    /// issuer, a post-logout URI or an added scope or resource reaches a
    /// live daemon; a scope or resource *removed* from the config stays
    /// until the daemon restarts (lists only grow while it runs).
    pub fn update_app_config(&self, app: &AppConfig) {
        let mut s = lock(&self.settings);
        s.issuer = app.issuer();
        for sc in &app.scopes {
            push_unique(&mut s.scopes, sc.clone());
        }
        for r in &app.resources {
            push_unique(&mut s.resources, r.clone());
        }
        s.post_logout_redirect_uri = app.post_logout_redirect_uri.clone();
        s.post_logout_allowed = app
            .post_logout_redirect_uri
            .iter()
            .chain(&app.post_logout_redirect_uris)
            .cloned()
            .collect();
        s.redirect_ports = app.pinned_ports();
    }

    /// Adds what a `LogtoClient` constructor asked for.
    pub fn apply_client_params(&self, app: &AppParams) {
        let mut s = lock(&self.settings);
        for sc in app.scopes.iter().flatten() {
            push_unique(&mut s.scopes, sc.clone());
        }
        for r in app.resources.iter().flatten() {
            push_unique(&mut s.resources, r.clone());
        }
        if let Some(p) = &app.prompt {
            s.prompt = Some(p.joined());
        }
        if let Some(i) = app.include_reserved_scopes {
            s.include_reserved = i;
        }
    }

    async fn provider(&self) -> Result<Arc<Provider>, RpcError> {
        let issuer = self.settings().issuer;
        self.idp(self.deps.idp.provider(&issuer)).await
    }

    /// Waits at most the HTTP timeout for an IdP operation that may be
    /// cancelled (discovery, userinfo, revocation: all repeatable).
    async fn idp<T>(
        &self,
        op: impl std::future::Future<Output = Result<T, OidcError>>,
    ) -> Result<T, RpcError> {
        match tokio::time::timeout(self.deps.http_timeout, op).await {
            Ok(r) => r.map_err(RpcError::from),
            Err(_) => Err(self.timeout_error()),
        }
    }

    fn timeout_error(&self) -> RpcError {
        RpcError::new(
            ErrorCode::NetworkError,
            format!(
                "the identity provider did not answer within {}s",
                self.deps.http_timeout.as_secs()
            ),
        )
    }

    pub async fn is_authenticated(&self) -> Result<bool, RpcError> {
        let mut st = self.state.lock().await;
        self.ensure_loaded(&mut st).await?;
        Ok(st.record.is_some())
    }

    pub async fn id_token(self: &Arc<Self>) -> Result<IdTokenResult, RpcError> {
        self.ensure_id_token().await?;
        let st = self.state.lock().await;
        let id_token = st
            .record
            .as_ref()
            .and_then(|r| r.id_token.as_ref())
            .map(|t| t.expose().to_string());
        Ok(IdTokenResult { id_token })
    }

    pub async fn id_token_claims(self: &Arc<Self>) -> Result<ClaimsResult, RpcError> {
        self.ensure_id_token().await?;
        let st = self.state.lock().await;
        let claims = st.id_claims.clone().ok_or_else(not_authenticated)?;
        Ok(ClaimsResult { claims })
    }

    pub async fn user_info(self: &Arc<Self>) -> Result<UserInfoResult, RpcError> {
        let (token, _) = self.access_token(None, None).await?;
        let provider = self.provider().await?;
        let user_info = self.idp(self.deps.idp.userinfo(&provider, &token)).await?;
        Ok(UserInfoResult { user_info })
    }

    /// Forgets the cached access tokens (the next request refreshes).
    pub async fn clear_access_tokens(&self) {
        self.state.lock().await.access.clear();
    }

    /// Forgets the session here, for every browser and the CLI, without
    /// revoking it (the SDK's `clearAllTokens`).
    pub async fn clear_all(&self) -> Result<(), RpcError> {
        let _gate = self.refresh_gate.lock().await;
        let mut st = self.state.lock().await;
        self.clear(&mut st).await
    }

    pub async fn oidc_config(&self) -> Result<OidcConfigResult, RpcError> {
        let p = self.provider().await?;
        let m = &p.metadata;
        Ok(OidcConfigResult {
            issuer: m.issuer().to_string(),
            authorization_endpoint: m.authorization_endpoint().to_string(),
            token_endpoint: m.token_endpoint().map(|u| u.to_string()),
            userinfo_endpoint: m.userinfo_endpoint().map(|u| u.to_string()),
            end_session_endpoint: p.extra().end_session_endpoint.clone(),
            revocation_endpoint: p.extra().revocation_endpoint.clone(),
            jwks_uri: m.jwks_uri().to_string(),
        })
    }

    /// Waits for a refresh or sign-in save in flight and then holds the
    /// gate, so a shutdown never lands between the IdP rotating the refresh
    /// token and the keychain write.
    pub async fn quiesce(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.refresh_gate.lock().await
    }

    pub async fn status(&self) -> AppStatus {
        let mut st = self.state.lock().await;
        let loaded = self.ensure_loaded(&mut st).await;
        let claims = st.id_claims.as_ref().map(|c| UserSummary {
            sub: c["sub"].clone(),
            name: c["name"].clone(),
            phone_number: c["phone_number"].clone(),
            email: c["email"].clone(),
        });
        let now = self.deps.clock.now();
        let access_tokens = st
            .access
            .iter()
            .map(|(k, t)| {
                let (resource, org) = k.split_once('#').unwrap_or((k.as_str(), ""));
                TokenStatus {
                    resource: resource.to_string(),
                    organization_id: org.to_string(),
                    expires_at: t.expires_at,
                    valid: t.expires_at > now,
                }
            })
            .collect();
        AppStatus {
            endpoint: self.key.endpoint.clone(),
            app_id: self.key.app_id.clone(),
            authenticated: st.record.is_some(),
            claims,
            access_tokens,
            connections: self.subscribers.count(),
            error: loaded.err().map(|e| e.message),
        }
    }
}

/// The claims of a JWT access token (the SDK's `get*Claims`).
pub fn jwt_claims(token: &Secret) -> Result<ClaimsResult, RpcError> {
    decode_jwt_claims(token.expose())
        .map(|claims| ClaimsResult { claims })
        .ok_or_else(|| {
            RpcError::new(
                ErrorCode::InvalidParams,
                "this access token is opaque (not a JWT); ask for a resource to get a JWT access token",
            )
        })
}
