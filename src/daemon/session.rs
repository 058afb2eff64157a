//! One app session: where correctness lives.
//!
//! - Tokens: the stored record (refresh token, ID token, grants) is loaded
//!   lazily from the store on first use; access tokens live in memory only.
//! - Refresh is single-flight: one gate per session, and every waiter
//!   re-checks the cache after passing it, so N concurrent requests cost one
//!   grant. Two refreshes of one session never run at once (Logto's reuse
//!   detection would revoke the grant).
//! - A rotated refresh token is saved to the store before anything else
//!   uses it.
//! - Sign-in is shared: a second `signIn` while one runs waits for the same
//!   flow. The flow runs as its own task, so it completes even if the
//!   connection that started it goes away.
//! - Every change is broadcast as `sessionChanged` to every connection
//!   bound to the app.

use super::events::{Outbox, Subscribers};
use super::Daemon;
use crate::config::{normalize_endpoint, AppConfig, Config};
use crate::oidc::flow::{self, AuthRequest, ORGANIZATIONS_SCOPE};
use crate::oidc::loopback::{Callback, Loopback};
use crate::oidc::tokens::{self, now_secs, TokenSet};
use crate::oidc::{decode_jwt_claims, Oidc, OidcError, Provider};
use crate::paths::Paths;
use crate::protocol::{
    decode_params, decode_params_or_string, AccessTokenParams, AppParams, ErrorCode, Event, Method,
    OpenIn, OrganizationParams, RpcError, SignInParams, SignOutParams,
};
use crate::secret::Secret;
use crate::store::{StoreError, StoredSession, TokenStore, RECORD_VERSION};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// An access token this close to expiry is refreshed rather than served.
const EXPIRY_MARGIN_SECS: u64 = 60;

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

/// What every session shares: the OIDC client and the store.
pub struct SessionDeps {
    pub oidc: Oidc,
    pub store: Arc<dyn TokenStore>,
    pub sign_in_timeout: Duration,
    /// How long a caller waits for the IdP before `network_error`.
    pub http_timeout: Duration,
}

impl SessionDeps {
    pub fn new(config: &Config, _paths: &Paths) -> anyhow::Result<SessionDeps> {
        Ok(SessionDeps {
            oidc: Oidc::new(Duration::from_secs(config.http_timeout_secs.max(1)))?,
            http_timeout: Duration::from_secs(config.http_timeout_secs.max(1)),
            store: crate::store::keychain::open(config.store)?,
            sign_in_timeout: Duration::from_secs(config.sign_in_timeout_secs.max(1)),
        })
    }

    pub fn store_description(&self) -> Value {
        serde_json::to_value(self.store.describe()).unwrap_or(Value::Null)
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
}

struct CachedToken {
    token: Secret,
    expires_at: u64,
    obtained_at: u64,
}

impl CachedToken {
    fn new(token: Secret, expires_at: u64) -> CachedToken {
        CachedToken {
            token,
            expires_at,
            obtained_at: now_secs(),
        }
    }

    /// Served while more than the margin is left; the margin is 60 s, or a
    /// quarter of the lifetime for short-lived tokens.
    fn fresh(&self, now: u64) -> bool {
        let lifetime = self.expires_at.saturating_sub(self.obtained_at);
        let margin = EXPIRY_MARGIN_SECS.min(lifetime / 4);
        self.expires_at > now + margin
    }
}

#[derive(Default)]
struct State {
    loaded: bool,
    record: Option<StoredSession>,
    id_claims: Option<Value>,
    /// Access tokens by `{resource}#{organization}`.
    access: HashMap<String, CachedToken>,
    /// The record in memory is newer than the stored one (a save failed).
    unsaved: bool,
}

type FlowResult = Option<Result<Value, RpcError>>;
type RefreshResult = Option<Result<(Secret, u64), RpcError>>;

/// A refresh started is never abandoned: the IdP may already have rotated
/// the refresh token, and dropping its answer would leave us with a spent
/// token (Logto revokes the grant on reuse). Callers stop waiting after the
/// HTTP timeout; the refresh itself goes on for up to this long.
const REFRESH_LIMIT: Duration = Duration::from_secs(120);

pub struct Session {
    pub key: AppKey,
    pub subscribers: Subscribers,
    deps: Arc<SessionDeps>,
    settings: Mutex<Settings>,
    state: tokio::sync::Mutex<State>,
    /// Held for the whole of a refresh or revocation.
    refresh_gate: tokio::sync::Mutex<()>,
    /// Refreshes in flight by token key; later callers join them.
    flights: Mutex<HashMap<String, watch::Receiver<RefreshResult>>>,
    /// The running sign-in flow, shared by every `signIn` of this app.
    sign_in: Mutex<Option<watch::Receiver<FlowResult>>>,
}

fn cache_key(resource: Option<&str>, org: Option<&str>) -> String {
    format!("{}#{}", resource.unwrap_or(""), org.unwrap_or(""))
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
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Takes the config entry's values (re-applied on every `hello`, so a
    /// config change reaches a live daemon).
    pub fn update_app_config(&self, app: &AppConfig) {
        let mut s = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        s.issuer = app
            .issuer
            .clone()
            .unwrap_or_else(|| format!("{}/oidc", normalize_endpoint(&app.endpoint)));
        for sc in &app.scopes {
            if !s.scopes.contains(sc) {
                s.scopes.push(sc.clone());
            }
        }
        for r in &app.resources {
            if !s.resources.contains(r) {
                s.resources.push(r.clone());
            }
        }
        s.post_logout_redirect_uri = app.post_logout_redirect_uri.clone();
    }

    /// Adds what a `LogtoClient` constructor asked for.
    pub fn apply_client_params(&self, app: &AppParams) {
        let mut s = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        for sc in app.scopes.iter().flatten() {
            if !s.scopes.contains(sc) {
                s.scopes.push(sc.clone());
            }
        }
        for r in app.resources.iter().flatten() {
            if !s.resources.contains(r) {
                s.resources.push(r.clone());
            }
        }
        if let Some(p) = &app.prompt {
            s.prompt = Some(p.joined());
        }
        if let Some(i) = app.include_reserved_scopes {
            s.include_reserved = i;
        }
    }

    async fn store_op<T: Send + 'static>(
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

    /// Loads the stored session on first use.
    async fn ensure_loaded(&self, st: &mut State) -> Result<(), RpcError> {
        if st.loaded {
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

    pub async fn is_authenticated(&self) -> Result<bool, RpcError> {
        let mut st = self.state.lock().await;
        self.ensure_loaded(&mut st).await?;
        Ok(st.record.is_some())
    }

    async fn provider(&self) -> Result<Arc<Provider>, RpcError> {
        let issuer = self.settings().issuer;
        self.idp(self.deps.oidc.provider(&issuer)).await
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

    fn broadcast_changed(&self, st: &State) {
        let sub = st
            .id_claims
            .as_ref()
            .and_then(|c| c["sub"].as_str())
            .map(str::to_string);
        self.subscribers.broadcast(&Event::SessionChanged {
            authenticated: st.record.is_some(),
            sub: if st.record.is_some() { sub } else { None },
        });
    }

    /// Forgets the session everywhere (memory, store) and tells everyone.
    async fn clear(&self, st: &mut State) -> Result<(), RpcError> {
        let had = st.record.is_some();
        st.record = None;
        st.id_claims = None;
        st.access.clear();
        st.unsaved = false;
        st.loaded = true;
        let deleted = self.store_op(|s, e, a| s.delete(e, a)).await;
        if had {
            self.broadcast_changed(st);
        }
        deleted.map_err(RpcError::from)
    }

    /// Saves `record` before anything uses its refresh token. On failure the
    /// record stays in memory (the old refresh token is already spent at
    /// the IdP) and the caller gets `keychain_unavailable`.
    async fn persist(&self, st: &mut State, record: StoredSession) -> Result<(), RpcError> {
        let to_save = record.clone();
        let saved = self.store_op(move |s, e, a| s.save(e, a, &to_save)).await;
        st.record = Some(record);
        st.unsaved = saved.is_err();
        saved.map_err(|e| {
            tracing::error!(app = %self.key.app_id, "could not save the session: {e}");
            RpcError::from(e)
        })
    }

    /// A valid access token for `resource` / `organization`, refreshing
    /// through the single flight when needed.
    async fn access_token(
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
                if t.fresh(now_secs()) {
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
    async fn refresh(
        self: &Arc<Self>,
        resource: Option<&str>,
        org: Option<&str>,
        force: bool,
    ) -> Result<(Secret, u64), RpcError> {
        let key = cache_key(resource, org);
        let mut rx = {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
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
                        me.flights
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&key);
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
                if t.fresh(now_secs()) {
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
        let result = tokens::refresh(
            &self.deps.oidc,
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
                ))
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
        st.access
            .insert(key, CachedToken::new(set.access_token, set.expires_at));
        if changed || st.unsaved {
            record.saved_at = now_secs();
            self.persist(st, record).await?;
        }
        Ok(cached)
    }

    /// Makes sure an ID token is at hand: a record saved without one (an IdP
    /// that sent none at sign-in) gets it re-minted with a refresh.
    async fn ensure_id_token(self: &Arc<Self>) -> Result<(), RpcError> {
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

    /// Waits for a refresh or sign-in save in flight and then holds the
    /// gate, so a shutdown never lands between the IdP rotating the refresh
    /// token and the keychain write.
    pub async fn quiesce(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.refresh_gate.lock().await
    }

    pub async fn status(&self) -> Value {
        let mut st = self.state.lock().await;
        let loaded = self.ensure_loaded(&mut st).await;
        let claims = st.id_claims.as_ref().map(|c| {
            json!({
                "sub": c["sub"],
                "name": c["name"],
                "phone_number": c["phone_number"],
                "email": c["email"],
            })
        });
        let now = now_secs();
        let tokens: Vec<Value> = st
            .access
            .iter()
            .map(|(k, t)| {
                let (resource, org) = k.split_once('#').unwrap_or((k.as_str(), ""));
                json!({"resource": resource, "organizationId": org, "expiresAt": t.expires_at, "valid": t.expires_at > now})
            })
            .collect();
        json!({
            "endpoint": self.key.endpoint,
            "appId": self.key.app_id,
            "authenticated": st.record.is_some(),
            "claims": claims,
            "accessTokens": tokens,
            "connections": self.subscribers.count(),
            "error": loaded.err().map(|e| e.message),
        })
    }

    pub async fn handle(
        self: &Arc<Self>,
        daemon: &Arc<Daemon>,
        method: Method,
        params: &Value,
        _conn_id: u64,
        outbox: &Outbox,
    ) -> Result<Value, RpcError> {
        match method {
            Method::SignIn => {
                let p: SignInParams = decode_params_or_string(params, |s| SignInParams {
                    redirect_uri: Some(s),
                    ..Default::default()
                })?;
                self.sign_in(daemon, p, outbox.clone()).await
            }
            Method::SignOut => {
                let _: SignOutParams = decode_params_or_string(params, |s| SignOutParams {
                    post_logout_redirect_uri: Some(s),
                })?;
                self.sign_out().await
            }
            Method::IsAuthenticated => Ok(json!({"authenticated": self.is_authenticated().await?})),
            Method::GetIdToken => {
                self.ensure_id_token().await?;
                let st = self.state.lock().await;
                let token = st
                    .record
                    .as_ref()
                    .and_then(|r| r.id_token.as_ref())
                    .map(|t| t.expose().to_string());
                Ok(json!({"idToken": token}))
            }
            Method::GetIdTokenClaims => {
                self.ensure_id_token().await?;
                let st = self.state.lock().await;
                let claims = st.id_claims.clone().ok_or_else(not_authenticated)?;
                Ok(json!({"claims": claims}))
            }
            Method::GetAccessToken => {
                let p: AccessTokenParams = decode_params(params)?;
                let (token, exp) = self
                    .access_token(non_empty(&p.resource), non_empty(&p.organization_id))
                    .await?;
                Ok(json!({"accessToken": token.expose(), "expiresAt": exp}))
            }
            Method::GetAccessTokenClaims => {
                let p: AccessTokenParams = decode_params(params)?;
                let (token, _) = self
                    .access_token(non_empty(&p.resource), non_empty(&p.organization_id))
                    .await?;
                Ok(json!({"claims": jwt_claims(&token)?}))
            }
            Method::GetOrganizationToken => {
                let p: OrganizationParams = decode_params(params)?;
                let (token, exp) = self.access_token(None, Some(require_org(&p)?)).await?;
                Ok(json!({"accessToken": token.expose(), "expiresAt": exp}))
            }
            Method::GetOrganizationTokenClaims => {
                let p: OrganizationParams = decode_params(params)?;
                let (token, _) = self.access_token(None, Some(require_org(&p)?)).await?;
                Ok(json!({"claims": jwt_claims(&token)?}))
            }
            Method::FetchUserInfo => {
                let (token, _) = self.access_token(None, None).await?;
                let provider = self.provider().await?;
                let info = self
                    .idp(tokens::userinfo(&self.deps.oidc, &provider, &token))
                    .await?;
                Ok(json!({"userInfo": info}))
            }
            Method::ClearAccessToken => {
                self.state.lock().await.access.clear();
                Ok(json!({}))
            }
            Method::ClearAllTokens => {
                let _gate = self.refresh_gate.lock().await;
                let mut st = self.state.lock().await;
                self.clear(&mut st).await?;
                Ok(json!({}))
            }
            Method::GetOidcConfig => {
                let p = self.provider().await?;
                let m = &p.metadata;
                Ok(json!({
                    "issuer": m.issuer().as_str(),
                    "authorizationEndpoint": m.authorization_endpoint().as_str(),
                    "tokenEndpoint": m.token_endpoint().map(|u| u.as_str()),
                    "userinfoEndpoint": m.userinfo_endpoint().map(|u| u.as_str()),
                    "endSessionEndpoint": m.additional_metadata().end_session_endpoint,
                    "revocationEndpoint": m.additional_metadata().revocation_endpoint,
                    "jwksUri": m.jwks_uri().as_str(),
                }))
            }
            Method::Ping | Method::Hello | Method::Status | Method::GetRefreshToken => Err(
                RpcError::new(ErrorCode::InternalError, "routed to the session by mistake"),
            ),
        }
    }

    /// Starts or joins the app's sign-in flow and waits for its end.
    async fn sign_in(
        self: &Arc<Self>,
        daemon: &Arc<Daemon>,
        params: SignInParams,
        outbox: Outbox,
    ) -> Result<Value, RpcError> {
        let mut rx = {
            let mut slot = self.sign_in.lock().unwrap_or_else(|p| p.into_inner());
            match slot.as_ref() {
                Some(rx) => rx.clone(),
                None => {
                    let (tx, rx) = watch::channel::<FlowResult>(None);
                    *slot = Some(rx.clone());
                    let me = Arc::clone(self);
                    let guard = daemon.activity();
                    tokio::spawn(async move {
                        let result = me.run_flow(params, outbox).await;
                        *me.sign_in.lock().unwrap_or_else(|p| p.into_inner()) = None;
                        let _ = tx.send(Some(result));
                        drop(guard);
                    });
                    rx
                }
            }
        };
        let done = rx
            .wait_for(|r| r.is_some())
            .await
            .map_err(|_| RpcError::new(ErrorCode::InternalError, "the sign-in flow vanished"))?;
        done.clone()
            .unwrap_or_else(|| Err(RpcError::new(ErrorCode::InternalError, "no result")))
    }

    async fn run_flow(&self, params: SignInParams, outbox: Outbox) -> Result<Value, RpcError> {
        let flow_id = flow::random_token().expose()[..16].to_string();
        let result = self.flow_inner(&params, &outbox, &flow_id).await;
        let _ = outbox.send(
            Event::SignInFinished {
                flow_id,
                ok: result.is_ok(),
            }
            .to_frame(),
        );
        if let Err(e) = &result {
            tracing::info!(app = %self.key.app_id, "sign-in ended: {}", e.code.as_str());
        }
        result
    }

    async fn flow_inner(
        &self,
        params: &SignInParams,
        outbox: &Outbox,
        flow_id: &str,
    ) -> Result<Value, RpcError> {
        let settings = self.settings();
        let provider = self.provider().await?;
        let state = flow::random_token();
        let loopback = Loopback::start(state.clone(), provider.issuer().to_string())
            .await
            .map_err(|e| {
                RpcError::new(
                    ErrorCode::InternalError,
                    format!("cannot open the loopback redirect server: {e}"),
                )
            })?;
        let scopes = flow::effective_scopes(settings.include_reserved, &settings.scopes);
        let resources = flow::effective_resources(&scopes, &settings.resources);
        let request = AuthRequest {
            client_id: self.key.app_id.clone(),
            redirect_uri: loopback.redirect_uri.clone(),
            scopes: scopes.clone(),
            resources: resources.clone(),
            prompt: params
                .prompt
                .as_ref()
                .map(|p| p.joined())
                .or(settings.prompt.clone())
                .unwrap_or_else(|| "consent".into()),
            extra: logto_params(params),
        };
        let pending = flow::build(&provider, &request, &state)?;
        let _ = outbox.send(
            Event::SignInStarted {
                url: pending.url.clone(),
                flow_id: flow_id.to_string(),
            }
            .to_frame(),
        );
        if params.open_in.unwrap_or_default() == OpenIn::System {
            let url = pending.url.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(e) = webbrowser::open(&url) {
                    tracing::warn!("could not open the system browser: {e}");
                }
            });
        }
        tracing::info!(app = %self.key.app_id, port = loopback.port, "sign-in started");
        let deadline = tokio::time::Instant::now() + self.deps.sign_in_timeout;
        let mut loopback = loopback;
        // The loopback server delivers only a callback that passed its
        // checks (path, Host, state, iss); forged ones never reach here.
        let callback = tokio::select! {
            cb = loopback.callbacks.recv() => cb,
            _ = tokio::time::sleep_until(deadline) => None,
        };
        let outcome = match callback {
            None => Err(OidcError::Cancelled.into()),
            Some(Callback::Error { error, description }) => {
                Err(OidcError::CallbackError { error, description }.into())
            }
            Some(Callback::Code { code, respond }) => {
                let result = self
                    .complete(
                        &provider,
                        &loopback.redirect_uri,
                        &code,
                        &pending,
                        scopes,
                        resources,
                    )
                    .await;
                let _ = respond.send(
                    result
                        .as_ref()
                        .map(|_| ())
                        .map_err(|e| format!("{} ({})", e.message, e.code.as_str())),
                );
                result
            }
        };
        loopback.close().await;
        outcome
    }

    /// Code exchange, save, then tell everyone.
    async fn complete(
        &self,
        provider: &Arc<Provider>,
        redirect_uri: &str,
        code: &Secret,
        pending: &flow::PendingAuth,
        scopes: Vec<String>,
        resources: Vec<String>,
    ) -> Result<Value, RpcError> {
        let set = self
            .idp(tokens::exchange_code(
                &self.deps.oidc,
                Arc::clone(provider),
                &self.key.app_id,
                redirect_uri,
                code,
                &pending.pkce_verifier,
                &pending.nonce,
            ))
            .await?;
        let refresh_token = set.refresh_token.clone().ok_or_else(|| {
            RpcError::new(
                ErrorCode::IdpError,
                "the identity provider issued no refresh token (Logto needs the offline_access scope and prompt=consent)",
            )
        })?;
        let claims = set.id_claims.clone().unwrap_or(Value::Null);
        let record = StoredSession {
            v: RECORD_VERSION,
            refresh_token,
            id_token: set.id_token.clone(),
            scopes,
            resources,
            saved_at: now_secs(),
        };
        let _gate = self.refresh_gate.lock().await;
        let mut st = self.state.lock().await;
        let to_save = record.clone();
        // A sign-in whose session cannot be kept is a failed sign-in.
        self.store_op(move |s, e, a| s.save(e, a, &to_save)).await?;
        st.record = Some(record);
        st.loaded = true;
        st.unsaved = false;
        st.id_claims = set.id_claims;
        st.access.clear();
        st.access.insert(
            cache_key(None, None),
            CachedToken::new(set.access_token, set.expires_at),
        );
        self.broadcast_changed(&st);
        tracing::info!(app = %self.key.app_id, "signed in");
        Ok(json!({"claims": claims}))
    }

    /// Revokes the grant, forgets the session, and returns the end-session
    /// URL for the browser to end the IdP's own session.
    async fn sign_out(&self) -> Result<Value, RpcError> {
        let settings = self.settings();
        let _gate = self.refresh_gate.lock().await;
        let mut st = self.state.lock().await;
        // An unreadable stored record must not block signing out: there is
        // nothing to revoke, but the entry is still deleted below.
        let record = match self.ensure_loaded(&mut st).await {
            Ok(()) => st.record.clone(),
            Err(e) => {
                tracing::warn!(app = %self.key.app_id, "signing out without the stored session: {}", e.message);
                None
            }
        };
        let provider = match self.deps.oidc.cached(&settings.issuer) {
            Some(p) => Some(p),
            None => self
                .idp(self.deps.oidc.provider(&settings.issuer))
                .await
                .ok(),
        };
        if let (Some(record), Some(provider)) = (&record, &provider) {
            if let Err(e) = self
                .idp(tokens::revoke(
                    &self.deps.oidc,
                    provider,
                    &self.key.app_id,
                    &record.refresh_token,
                    "refresh_token",
                ))
                .await
            {
                tracing::warn!(app = %self.key.app_id, "revocation failed (the session is cleared anyway): {e}");
            }
        }
        let cleared = self.clear(&mut st).await;
        let end_session = provider
            .as_ref()
            .and_then(|p| {
                p.metadata
                    .additional_metadata()
                    .end_session_endpoint
                    .clone()
            })
            .unwrap_or_else(|| format!("{}/session/end", settings.issuer));
        let mut url = url::Url::parse(&end_session).map_err(|e| {
            RpcError::new(
                ErrorCode::IdpError,
                format!("bad end_session_endpoint: {e}"),
            )
        })?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(idt) = record.as_ref().and_then(|r| r.id_token.as_ref()) {
                q.append_pair("id_token_hint", idt.expose());
            }
            q.append_pair("client_id", &self.key.app_id);
            if let Some(uri) = &settings.post_logout_redirect_uri {
                q.append_pair("post_logout_redirect_uri", uri);
            }
        }
        cleared?;
        tracing::info!(app = %self.key.app_id, "signed out");
        Ok(json!({"endSessionUrl": url.as_str()}))
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn require_org(p: &OrganizationParams) -> Result<&str, RpcError> {
    if p.organization_id.is_empty() {
        return Err(RpcError::new(
            ErrorCode::InvalidParams,
            "organizationId must not be empty",
        ));
    }
    Ok(&p.organization_id)
}

fn jwt_claims(token: &Secret) -> Result<Value, RpcError> {
    decode_jwt_claims(token.expose()).ok_or_else(|| {
        RpcError::new(
            ErrorCode::InvalidParams,
            "this access token is opaque (not a JWT); ask for a resource to get a JWT access token",
        )
    })
}

/// Logto's extra authorization parameters, then the caller's `extraParams`.
fn logto_params(p: &SignInParams) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(v) = &p.first_screen {
        out.push(("first_screen".into(), v.clone()));
    }
    if let Some(ids) = &p.identifiers {
        if !ids.is_empty() {
            out.push(("identifier".into(), ids.join(" ")));
        }
    }
    if let Some(v) = &p.login_hint {
        out.push(("login_hint".into(), v.clone()));
    }
    if let Some(d) = &p.direct_sign_in {
        out.push((
            "direct_sign_in".into(),
            format!("{}:{}", d.method, d.target),
        ));
    }
    if let Some(v) = &p.interaction_mode {
        out.push(("interaction_mode".into(), v.clone()));
    }
    for (k, v) in p.extra_params.iter().flatten() {
        out.push((k.clone(), v.clone()));
    }
    out
}
