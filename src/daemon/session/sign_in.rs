//! The sign-in flow: authorization code + PKCE with a loopback redirect,
//! shared by every `signIn` of the app while it runs.
//!
//! The flow runs as its own task, so it completes even if the connection
//! that started it goes away. Every connection taking part (the starter and
//! each one that joins) gets `signInStarted` with the same URL and flow id —
//! a joining shim focuses the flow's tab or opens it again — and
//! `signInFinished` when it ends. `cancelSignIn` ends it at once (the shim
//! sends it when the user closes the tab): every waiter gets
//! `user_cancelled` and the loopback port is closed before the reply.

use super::state::cache_key;
use super::{idp::CodeExchange, Session};
use crate::daemon::events::Outbox;
use crate::oidc::flow::{self, AuthRequest, PendingAuth};
use crate::oidc::loopback::{Callback, Loopback, LoopbackError};
use crate::oidc::tokens::TokenSet;
use crate::oidc::{OidcError, Provider};
use crate::protocol::{
    CancelSignInResult, ClaimsResult, ErrorCode, Event, OpenIn, RpcError, SignInParams,
};
use crate::secret::Secret;
use crate::store::{StoredSession, RECORD_VERSION};
use crate::util::{lock, push_unique};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::{oneshot, watch};

pub(super) type FlowResult = Option<Result<ClaimsResult, RpcError>>;

/// The app's running flow, as every `signIn` and `cancelSignIn` sees it.
pub(super) struct RunningFlow {
    pub(super) flow_id: String,
    /// Set once the authorization URL exists (never, for a device flow:
    /// a browser joining one waits for its end without a tab).
    pub(super) url: Option<String>,
    /// Connections taking part; each gets the flow's events.
    pub(super) participants: Vec<Outbox>,
    pub(super) cancel: Option<oneshot::Sender<()>>,
    pub(super) done: watch::Receiver<FlowResult>,
}

impl RunningFlow {
    pub(super) fn tell(&self, event: &Event) {
        let frame = event.to_frame();
        for outbox in &self.participants {
            let _ = outbox.send(frame.clone());
        }
    }
}

pub(super) async fn wait_done(
    mut rx: watch::Receiver<FlowResult>,
) -> Result<ClaimsResult, RpcError> {
    let done = rx
        .wait_for(|r| r.is_some())
        .await
        .map_err(|_| RpcError::new(ErrorCode::InternalError, "the sign-in flow vanished"))?;
    done.clone()
        .unwrap_or_else(|| Err(RpcError::new(ErrorCode::InternalError, "no result")))
}

impl Session {
    /// Starts or joins the app's sign-in flow and waits for its end.
    pub async fn sign_in(
        self: &Arc<Self>,
        params: SignInParams,
        outbox: Outbox,
    ) -> Result<ClaimsResult, RpcError> {
        let rx = {
            let mut slot = lock(&self.sign_in);
            match slot.as_mut() {
                Some(flow) => {
                    if let Some(url) = &flow.url {
                        let _ = outbox.send(
                            Event::SignInStarted {
                                url: url.clone(),
                                flow_id: flow.flow_id.clone(),
                            }
                            .to_frame(),
                        );
                    }
                    flow.participants.push(outbox);
                    flow.done.clone()
                }
                None => self.start_flow(
                    &mut slot,
                    outbox,
                    "sign-in",
                    move |me, flow_id, cancel| async move {
                        me.run_flow(&params, &flow_id, cancel).await
                    },
                ),
            }
        };
        wait_done(rx).await
    }

    /// Fills the app's empty sign-in `slot` with a new flow and runs it as
    /// its own task (so it completes even if the caller goes away): at its
    /// end every participant gets `signInFinished`, the slot is emptied and
    /// the waiters get the result. A running flow keeps the daemon awake.
    pub(super) fn start_flow<F, Fut>(
        self: &Arc<Self>,
        slot: &mut Option<RunningFlow>,
        outbox: Outbox,
        what: &'static str,
        run: F,
    ) -> watch::Receiver<FlowResult>
    where
        F: FnOnce(Arc<Session>, String, oneshot::Receiver<()>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<ClaimsResult, RpcError>> + Send + 'static,
    {
        let (tx, rx) = watch::channel::<FlowResult>(None);
        let (cancel_tx, cancel_rx) = oneshot::channel();
        let flow_id = flow::random_token().expose()[..16].to_string();
        *slot = Some(RunningFlow {
            flow_id: flow_id.clone(),
            url: None,
            participants: vec![outbox],
            cancel: Some(cancel_tx),
            done: rx.clone(),
        });
        let me = Arc::clone(self);
        let guard = self.deps.activity.guard();
        tokio::spawn(async move {
            let result = run(Arc::clone(&me), flow_id.clone(), cancel_rx).await;
            if let Err(e) = &result {
                tracing::info!(app = %me.key.app_id, "{what} ended: {}", e.code.as_str());
            }
            if let Some(flow) = lock(&me.sign_in).take() {
                flow.tell(&Event::SignInFinished {
                    flow_id,
                    ok: result.is_ok(),
                });
            }
            let _ = tx.send(Some(result));
            drop(guard);
        });
        rx
    }

    /// Ends the running flow (`flow_id`, or whichever runs) and waits until
    /// it has closed its loopback port.
    pub async fn cancel_sign_in(&self, flow_id: Option<&str>) -> CancelSignInResult {
        let rx = {
            let mut slot = lock(&self.sign_in);
            match slot.as_mut() {
                Some(flow) if flow_id.is_none_or(|id| id == flow.flow_id) => {
                    if let Some(cancel) = flow.cancel.take() {
                        let _ = cancel.send(());
                    }
                    Some(flow.done.clone())
                }
                _ => None,
            }
        };
        let Some(rx) = rx else {
            return CancelSignInResult { cancelled: false };
        };
        let _ = wait_done(rx).await;
        tracing::info!(app = %self.key.app_id, "sign-in cancelled");
        CancelSignInResult { cancelled: true }
    }

    async fn run_flow(
        &self,
        params: &SignInParams,
        flow_id: &str,
        cancel: oneshot::Receiver<()>,
    ) -> Result<ClaimsResult, RpcError> {
        let settings = self.settings();
        let provider = self.provider().await?;
        if params.clear_tokens != Some(false) {
            self.sign_out_before_sign_in().await?;
        }
        let state = flow::random_token();
        let loopback = Loopback::start(
            state.clone(),
            provider.issuer().to_string(),
            &settings.redirect_ports,
        )
        .await
        .map_err(|e| match e {
            LoopbackError::PortsInUse(_) => {
                RpcError::new(ErrorCode::RedirectPortInUse, e.to_string())
            }
            LoopbackError::Io(_) => RpcError::new(ErrorCode::InternalError, e.to_string()),
        })?;
        let scopes = flow::effective_scopes(settings.include_reserved, &settings.scopes);
        let resources = flow::effective_resources(&scopes, &settings.resources);
        let request = AuthRequest {
            client_id: self.key.app_id.clone(),
            redirect_uri: loopback.redirect_uri.clone(),
            scopes: scopes.clone(),
            resources: resources.clone(),
            prompt: self.prompt(params, &settings),
            extra: logto_params(params),
        };
        let mut pending = flow::build(&provider, &request, &state)?;
        // RFC 9126: a provider that takes pushed requests checks them now,
        // so a bad redirect URI, scope or resource fails here, before a
        // tab opens.
        let par = provider
            .extra()
            .pushed_authorization_request_endpoint
            .clone();
        if let Some(endpoint) = par {
            pending.url = self
                .idp(self.deps.idp.push_authorization(
                    &provider,
                    &endpoint,
                    &self.key.app_id,
                    &pending.url,
                ))
                .await?;
        }
        if let Some(flow) = lock(&self.sign_in).as_mut() {
            flow.url = Some(pending.url.clone());
            flow.tell(&Event::SignInStarted {
                url: pending.url.clone(),
                flow_id: flow_id.to_string(),
            });
        }
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
            cb = loopback.callbacks.recv() => cb.ok_or(OidcError::Cancelled.into()),
            _ = tokio::time::sleep_until(deadline) => Err(OidcError::Cancelled.into()),
            _ = cancel => Err(RpcError::new(
                ErrorCode::UserCancelled,
                "the sign-in was cancelled (its tab was closed, or cancelSignIn was called)",
            )),
        };
        let outcome = match callback {
            Err(e) => Err(e),
            Ok(Callback::Error { error, description }) => {
                Err(OidcError::CallbackError { error, description }.into())
            }
            Ok(Callback::Code { code, respond }) => {
                let redirect_uri = loopback.redirect_uri.clone();
                let result = self
                    .complete(&provider, &redirect_uri, &code, &pending, scopes, resources)
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

    /// The SDK's `prompt` (the call's, the constructor's, else `consent`:
    /// Logto issues a refresh token only with it), plus `login` on the first
    /// sign-in after a sign-out, so the provider's cookie does not sign the
    /// user back in without credentials.
    fn prompt(&self, params: &SignInParams, settings: &super::Settings) -> String {
        let mut prompt: Vec<String> = params
            .prompt
            .as_ref()
            .map(|p| p.joined())
            .or(settings.prompt.clone())
            .unwrap_or_else(|| "consent".into())
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if self
            .deps
            .reauth
            .is_set(&self.key.endpoint, &self.key.app_id)
        {
            prompt.retain(|p| p != "none");
            push_unique(&mut prompt, "login".to_string());
        }
        prompt.join(" ")
    }

    /// `clearTokens`: a sign-in while signed in replaces the session, so
    /// the old refresh token is revoked first (its grant must not outlive
    /// the session it belonged to). Done before the tab opens: a provider
    /// that reuses the grant for the same browser would otherwise revoke
    /// the new tokens with the old.
    pub(super) async fn sign_out_before_sign_in(&self) -> Result<(), RpcError> {
        let _gate = self.refresh_gate.lock().await;
        let mut st = self.state.lock().await;
        let (record, _, revocation) = self.revoke_stored(&mut st).await;
        if record.is_none() {
            return Ok(());
        }
        if let Some(e) = &revocation.error {
            tracing::warn!(app = %self.key.app_id, "the replaced session's refresh token was not revoked: {}", e.message);
        }
        self.clear(&mut st).await
    }

    /// Code exchange, save, then tell everyone.
    async fn complete(
        &self,
        provider: &Arc<Provider>,
        redirect_uri: &str,
        code: &Secret,
        pending: &PendingAuth,
        scopes: Vec<String>,
        resources: Vec<String>,
    ) -> Result<ClaimsResult, RpcError> {
        let set = self
            .idp(self.deps.idp.exchange_code(
                Arc::clone(provider),
                CodeExchange {
                    client_id: &self.key.app_id,
                    redirect_uri,
                    code,
                    pkce_verifier: &pending.pkce_verifier,
                    nonce: &pending.nonce,
                },
            ))
            .await?;
        self.adopt(set, scopes, resources).await
    }

    /// Adopts the tokens of a finished sign-in (code or device grant) as
    /// the app's session: saved first (a sign-in whose session cannot be
    /// kept is a failed sign-in), then cached, then announced to every
    /// connection bound to the app.
    pub(super) async fn adopt(
        &self,
        set: TokenSet,
        scopes: Vec<String>,
        resources: Vec<String>,
    ) -> Result<ClaimsResult, RpcError> {
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
            saved_at: self.deps.clock.now(),
        };
        let _gate = self.refresh_gate.lock().await;
        let mut st = self.state.lock().await;
        let to_save = record.clone();
        self.store_op(move |s, e, a| s.save(e, a, &to_save)).await?;
        st.record = Some(record);
        st.loaded = true;
        st.unsaved = false;
        st.id_claims = set.id_claims;
        st.access.clear();
        let token = self.cached_token(set.access_token, set.expires_at);
        st.access.insert(cache_key(None, None), token);
        self.deps.reauth.clear(&self.key.endpoint, &self.key.app_id);
        self.broadcast_changed(&st);
        tracing::info!(app = %self.key.app_id, "signed in");
        Ok(ClaimsResult { claims })
    }
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
