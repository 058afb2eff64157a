//! Method → handler. Per-connection state is the bound app session.

use super::session::{AppKey, Session};
use super::Daemon;
use crate::codec::MAX_OUTBOUND;
use crate::daemon::events::Outbox;
use crate::protocol::{
    self, decode_params, parse_request, reply_err, reply_ok, ErrorCode, HelloParams, Method,
    RpcError, PROTOCOL_VERSION, VERSION,
};
use serde_json::{json, Value};
use std::sync::Arc;

pub struct Conn {
    pub id: u64,
    pub origin: String,
    pub session: Option<Arc<Session>>,
    pub outbox: Outbox,
}

/// Sends a reply, replacing one above the browser's limit by an error.
pub fn send_reply(outbox: &Outbox, id: &Value, result: Result<Value, RpcError>) {
    let frame = match result {
        Ok(v) => reply_ok(id, v),
        Err(e) => reply_err(id, &e),
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

/// Handles one request frame. `hello` runs inline so that requests after it
/// on the same connection see the binding (the host relies on this when it
/// replays `hello` after a reconnect); everything else runs as its own task
/// so a `signIn` waiting for the user does not block the connection.
pub async fn handle_frame(daemon: &Arc<Daemon>, conn: &mut Conn, frame: &[u8]) {
    let req = match parse_request(frame) {
        Ok(r) => r,
        Err((id, err)) => return send_reply(&conn.outbox, &id, Err(err)),
    };
    let Some(method) = Method::parse(&req.method) else {
        let err = RpcError::new(
            ErrorCode::MethodNotFound,
            format!("unknown method {:?}", truncate(&req.method, 64)),
        );
        return send_reply(&conn.outbox, &req.id, Err(err));
    };
    match method {
        Method::Ping => send_reply(
            &conn.outbox,
            &req.id,
            Ok(json!({"pong": true, "version": VERSION})),
        ),
        Method::Hello => {
            let result = hello(daemon, conn, &req.params).await;
            send_reply(&conn.outbox, &req.id, result);
        }
        Method::Status => {
            let daemon = Arc::clone(daemon);
            let outbox = conn.outbox.clone();
            let origin = conn.origin.clone();
            tokio::spawn(async move {
                let result = status(&daemon, &origin).await;
                send_reply(&outbox, &req.id, result);
            });
        }
        Method::GetRefreshToken => send_reply(
            &conn.outbox,
            &req.id,
            Err(RpcError::new(
                ErrorCode::Forbidden,
                "refresh tokens never leave the companion daemon",
            )),
        ),
        _ => {
            let Some(session) = conn.session.clone() else {
                let err = RpcError::new(
                    ErrorCode::HelloRequired,
                    format!("call \"hello\" with the app before {:?}", req.method),
                );
                return send_reply(&conn.outbox, &req.id, Err(err));
            };
            let outbox = conn.outbox.clone();
            let conn_id = conn.id;
            let daemon = Arc::clone(daemon);
            tokio::spawn(async move {
                let result = session
                    .handle(&daemon, method, &req.params, conn_id, &outbox)
                    .await;
                send_reply(&outbox, &req.id, result);
            });
        }
    }
}

async fn hello(daemon: &Arc<Daemon>, conn: &mut Conn, params: &Value) -> Result<Value, RpcError> {
    let params: HelloParams = decode_params(params)?;
    let app = params.app;
    if app.endpoint.trim().is_empty() || app.app_id.trim().is_empty() {
        return Err(RpcError::new(
            ErrorCode::InvalidParams,
            "app.endpoint and app.appId must not be empty",
        ));
    }
    let config = daemon
        .config()
        .map_err(|e| RpcError::new(ErrorCode::InternalError, e.to_string()))?;
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
                describe_origin(&conn.origin),
                app.endpoint,
                app.app_id,
                install_flag(&conn.origin),
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
    let authenticated = session.is_authenticated().await?;
    Ok(json!({
        "protocol": PROTOCOL_VERSION,
        "version": VERSION,
        "authenticated": authenticated,
    }))
}

async fn status(daemon: &Arc<Daemon>, origin: &str) -> Result<Value, RpcError> {
    let config = daemon
        .config()
        .map_err(|e| RpcError::new(ErrorCode::InternalError, e.to_string()))?;
    let mut apps = Vec::new();
    for app in config.apps.iter().filter(|a| a.allows_origin(origin)) {
        let session = daemon.session(AppKey::new(&app.endpoint, &app.app_id), app);
        apps.push(session.status().await);
    }
    Ok(json!({
        "version": VERSION,
        "pid": std::process::id(),
        "store": daemon.deps().store_description(),
        "apps": apps,
    }))
}

fn describe_origin(origin: &str) -> String {
    if origin == protocol::CLI_ORIGIN {
        "the command line (allow_cli is false)".into()
    } else {
        format!("origin {origin}")
    }
}

fn install_flag(origin: &str) -> String {
    if let Some(id) = origin
        .strip_prefix("chrome-extension://")
        .map(|s| s.trim_end_matches('/'))
    {
        format!("--extension-id {id}")
    } else if origin == protocol::CLI_ORIGIN {
        "(without --no-cli)".into()
    } else {
        format!("--firefox-id {origin}")
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
