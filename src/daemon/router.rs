//! Request → handler: the one exhaustive dispatch.
//!
//! Every [`Request`] variant has its arm in [`dispatch`]; there is no
//! fall-through, so a method added to the contract without a handler does
//! not compile. Per-connection state is the bound app session.

use super::events::Outbox;
use super::session::{jwt_claims, AppKey, Session};
use super::Daemon;
use crate::codec::MAX_OUTBOUND;
use crate::protocol::{
    parse_envelope, reply_err, reply_ok, AuthenticatedResult, Empty, ErrorCode, HelloParams,
    HelloResult, Method, Origin, PingResult, Request, RpcError, Scope, StatusResult,
    PROTOCOL_VERSION, VERSION,
};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

pub struct Conn {
    pub id: u64,
    pub origin: Origin,
    pub session: Option<Arc<Session>>,
    pub outbox: Outbox,
}

/// Sends a reply, replacing one above the browser's limit by an error.
pub fn send_reply<T: Serialize>(outbox: &Outbox, id: &Value, result: Result<T, RpcError>) {
    let frame = match &result {
        Ok(v) => reply_ok(id, v),
        Err(e) => reply_err(id, e),
    };
    let frame = if frame.len() > MAX_OUTBOUND {
        reply_err(
            id,
            &RpcError::new(
                ErrorCode::MessageTooLarge,
                format!(
                    "the reply would be {} bytes; the limit is {MAX_OUTBOUND}",
                    frame.len()
                ),
            ),
        )
    } else {
        frame
    };
    let _ = outbox.send(frame);
}

/// Handles one request frame: envelope, method, `hello` check, params, then
/// [`dispatch`].
pub async fn handle_frame(daemon: &Arc<Daemon>, conn: &mut Conn, frame: &[u8]) {
    let env = match parse_envelope(frame) {
        Ok(e) => e,
        Err((id, err)) => return send_reply::<()>(&conn.outbox, &id, Err(err)),
    };
    let Some(method) = Method::parse(&env.method) else {
        let err = RpcError::new(
            ErrorCode::MethodNotFound,
            format!("unknown method {:?}", truncate(&env.method, 64)),
        );
        return send_reply::<()>(&conn.outbox, &env.id, Err(err));
    };
    // Unbound session methods are refused before their params are read.
    let session = match (method.scope(), &conn.session) {
        (Scope::Session, None) => {
            let err = RpcError::new(
                ErrorCode::HelloRequired,
                format!("call \"hello\" with the app before {:?}", method.as_str()),
            );
            return send_reply::<()>(&conn.outbox, &env.id, Err(err));
        }
        (_, s) => s.clone(),
    };
    match Request::decode(method, &env.params) {
        Ok(request) => dispatch(daemon, conn, session, env.id, request).await,
        Err(err) => send_reply::<()>(&conn.outbox, &env.id, Err(err)),
    }
}

/// Runs `handler` as its own task and replies when it ends, so a `signIn`
/// waiting for the user does not block the connection.
fn spawn_reply<T, F>(outbox: &Outbox, id: Value, handler: F)
where
    T: Serialize + Send + 'static,
    F: std::future::Future<Output = Result<T, RpcError>> + Send + 'static,
{
    let outbox = outbox.clone();
    tokio::spawn(async move {
        let result = handler.await;
        send_reply(&outbox, &id, result);
    });
}

/// The one match over every request. `hello` runs inline so that requests
/// after it on the same connection see the binding (the host relies on
/// this when it replays `hello` after a reconnect); everything else that
/// waits runs as its own task.
async fn dispatch(
    daemon: &Arc<Daemon>,
    conn: &mut Conn,
    session: Option<Arc<Session>>,
    id: Value,
    request: Request,
) {
    let out = conn.outbox.clone();
    // Only `Scope::Session` methods reach the arms that use `s`, and the
    // router refused those above when unbound.
    let bound = move || {
        session.ok_or_else(|| RpcError::new(ErrorCode::HelloRequired, "call \"hello\" first"))
    };
    macro_rules! on_session {
        (|$s:ident| $body:expr) => {{
            match bound() {
                Ok($s) => spawn_reply(&out, id, async move { $body }),
                Err(e) => send_reply::<()>(&out, &id, Err(e)),
            }
        }};
    }
    match request {
        Request::Ping(_) => send_reply(
            &out,
            &id,
            Ok(PingResult {
                pong: true,
                version: VERSION.into(),
            }),
        ),
        Request::Hello(p) => {
            let result = hello(daemon, conn, p).await;
            send_reply(&out, &id, result);
        }
        Request::Status(_) => {
            let (daemon, origin) = (Arc::clone(daemon), conn.origin.clone());
            spawn_reply(&out, id, async move { status(&daemon, &origin).await });
        }
        Request::GetRefreshToken(_) => send_reply::<()>(
            &out,
            &id,
            Err(RpcError::new(
                ErrorCode::Forbidden,
                "refresh tokens never leave the companion daemon",
            )),
        ),
        Request::SignIn(p) => {
            let outbox = out.clone();
            on_session!(|s| s.sign_in(p, outbox).await)
        }
        Request::SignInWithDevice(p) => {
            let outbox = out.clone();
            on_session!(|s| s.sign_in_with_device(p, outbox).await)
        }
        Request::CancelSignIn(p) => {
            on_session!(|s| Ok(s.cancel_sign_in(non_empty(&p.flow_id)).await))
        }
        Request::SignOut(p) => on_session!(|s| s.sign_out(p).await),
        Request::IsAuthenticated(_) => on_session!(|s| Ok(AuthenticatedResult {
            authenticated: s.is_authenticated().await?
        })),
        Request::GetIdToken(_) => on_session!(|s| s.id_token().await),
        Request::GetIdTokenClaims(_) => on_session!(|s| s.id_token_claims().await),
        Request::GetAccessToken(p) => on_session!(|s| {
            s.access_token_result(non_empty(&p.resource), non_empty(&p.organization_id))
                .await
        }),
        Request::GetAccessTokenClaims(p) => on_session!(|s| {
            let (token, _) = s
                .access_token(non_empty(&p.resource), non_empty(&p.organization_id))
                .await?;
            jwt_claims(&token)
        }),
        Request::GetOrganizationToken(p) => on_session!(|s| {
            let org = require_org(&p.organization_id)?;
            s.access_token_result(None, Some(org)).await
        }),
        Request::GetOrganizationTokenClaims(p) => on_session!(|s| {
            let org = require_org(&p.organization_id)?;
            let (token, _) = s.access_token(None, Some(org)).await?;
            jwt_claims(&token)
        }),
        Request::FetchUserInfo(_) => on_session!(|s| s.user_info().await),
        Request::ClearAccessToken(_) => on_session!(|s| {
            s.clear_access_tokens().await;
            Ok(Empty {})
        }),
        Request::ClearAllTokens(_) => on_session!(|s| s.clear_all().await.map(|()| Empty {})),
        Request::GetOidcConfig(_) => on_session!(|s| s.oidc_config().await),
    }
}

async fn hello(
    daemon: &Arc<Daemon>,
    conn: &mut Conn,
    params: HelloParams,
) -> Result<HelloResult, RpcError> {
    let mut app = params.app;
    let config = daemon
        .config()
        .map_err(|e| RpcError::new(ErrorCode::InternalError, e.to_string()))?;
    if conn.origin == Origin::Cli && app.endpoint.trim().is_empty() {
        // The command line may leave the choice to us (the thin `token`
        // reads no config): the same rule as the daemon binary's commands.
        let picked = config
            .pick_cli_app(Some(app.app_id.as_str()), &daemon.paths.config_file())
            .map_err(|e| {
                let code = match e {
                    crate::config::CliAppError::Several { .. } => ErrorCode::InvalidParams,
                    _ => ErrorCode::AppNotRegistered,
                };
                RpcError::new(code, e.to_string())
            })?;
        app.endpoint = picked.endpoint.clone();
        app.app_id = picked.app_id.clone();
    }
    if app.endpoint.trim().is_empty() || app.app_id.trim().is_empty() {
        return Err(RpcError::new(
            ErrorCode::InvalidParams,
            "app.endpoint and app.appId must not be empty",
        ));
    }
    let registered = config
        .find_app(&app.endpoint, &app.app_id)
        .filter(|a| a.allows_origin(&conn.origin));
    let Some(app_cfg) = registered else {
        return Err(RpcError::new(
            ErrorCode::AppNotRegistered,
            format!(
                "app {:?} at {} is not registered for {}; run `logto-companion install --endpoint {} --app-id {} {}`",
                app.app_id,
                app.endpoint,
                conn.origin.describe(),
                app.endpoint,
                app.app_id,
                conn.origin.install_flag(),
            ),
        ));
    };
    let key = AppKey::new(&app_cfg.endpoint, &app_cfg.app_id);
    let session = daemon.session(key, app_cfg);
    session.apply_client_params(&app);
    if let Some(old) = conn.session.replace(Arc::clone(&session)) {
        old.subscribers.remove(conn.id);
    }
    session.subscribers.add(conn.id, conn.outbox.clone());
    Ok(HelloResult {
        protocol: PROTOCOL_VERSION,
        version: VERSION.into(),
        authenticated: session.is_authenticated().await?,
    })
}

async fn status(daemon: &Arc<Daemon>, origin: &Origin) -> Result<StatusResult, RpcError> {
    let config = daemon
        .config()
        .map_err(|e| RpcError::new(ErrorCode::InternalError, e.to_string()))?;
    let mut apps = Vec::new();
    for app in config.apps.iter().filter(|a| a.allows_origin(origin)) {
        let session = daemon.session(AppKey::new(&app.endpoint, &app.app_id), app);
        apps.push(session.status().await);
    }
    Ok(StatusResult {
        version: VERSION.into(),
        pid: std::process::id(),
        store: daemon.store_status(),
        apps,
    })
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn require_org(org: &str) -> Result<&str, RpcError> {
    if org.is_empty() {
        return Err(RpcError::new(
            ErrorCode::InvalidParams,
            "organizationId must not be empty",
        ));
    }
    Ok(org)
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
