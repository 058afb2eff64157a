//! The loopback redirect server (RFC 8252 §7.3): `127.0.0.1:<ephemeral>`,
//! or a pinned port for providers that match the redirect URI exactly; one
//! route, one valid request.
//!
//! - wrong path → 404; wrong `Host` header → 400 (DNS rebinding);
//! - wrong `state` or `iss` → 400, and the flow keeps waiting for the real
//!   callback (a stray or forged request must not end a sign-in);
//! - `error=` with the right state ends the flow with that error;
//! - `code` with the right state hands the code to the flow, waits for the
//!   outcome of the code exchange and shows it. After that one request the
//!   server shuts down and the port is closed.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

use crate::secret::Secret;

/// What the callback delivered.
pub enum Callback {
    Code {
        code: Secret,
        /// The flow answers with the page to show (success or the error).
        respond: oneshot::Sender<Result<(), String>>,
    },
    Error {
        error: String,
        description: Option<String>,
    },
}

struct Shared {
    expected_state: Secret,
    issuer: String,
    host: String,
    /// Taken by the first valid request; later ones find it empty.
    deliver: Mutex<Option<mpsc::Sender<Callback>>>,
}

pub struct Loopback {
    pub port: u16,
    pub redirect_uri: String,
    pub callbacks: mpsc::Receiver<Callback>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

/// Why no loopback server could be opened.
#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    /// Every pinned port is taken by another program.
    #[error("the sign-in redirect port{} {} {} in use by another program; stop that program (see `ss -ltnp` or `lsof -i :{}`), or register another port at the provider as http://127.0.0.1:<port>/callback and add it to redirect_ports in config.toml", if .0.len() > 1 { "s" } else { "" }, list(.0), if .0.len() > 1 { "are" } else { "is" }, .0[0])]
    PortsInUse(Vec<u16>),
    #[error("cannot open the loopback redirect server: {0}")]
    Io(#[from] std::io::Error),
}

fn list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Binds the first free port of `ports` (in order), or an ephemeral one
/// when none is pinned.
async fn bind(ports: &[u16]) -> Result<tokio::net::TcpListener, LoopbackError> {
    if ports.is_empty() {
        return Ok(tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?);
    }
    for &port in ports {
        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(LoopbackError::PortsInUse(ports.to_vec()))
}

impl Loopback {
    /// Binds `127.0.0.1` on the first free pinned port (any port when
    /// `ports` is empty) and starts serving.
    pub async fn start(
        expected_state: Secret,
        issuer: String,
        ports: &[u16],
    ) -> Result<Loopback, LoopbackError> {
        let listener = bind(ports).await?;
        let port = listener.local_addr()?.port();
        let (tx, rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            expected_state,
            issuer,
            host: format!("127.0.0.1:{port}"),
            deliver: Mutex::new(Some(tx)),
        });
        let app = Router::new()
            .route("/callback", get(callback))
            .fallback(|| async {
                (
                    StatusCode::NOT_FOUND,
                    page(
                        "Not found",
                        "This address only answers the sign-in callback.",
                    ),
                )
            })
            .with_state(shared);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            });
            if let Err(e) = server.await {
                tracing::warn!("loopback server failed: {e}");
            }
        });
        Ok(Loopback {
            port,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
            callbacks: rx,
            shutdown: Some(stop_tx),
            task,
        })
    }

    /// Stops serving and releases the port; waits until it is released.
    pub async fn close(mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        let abort = self.task.abort_handle();
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        self.task.abort();
    }
}

async fn callback(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if host != shared.host {
        tracing::warn!("loopback callback refused: foreign Host header");
        return (
            StatusCode::BAD_REQUEST,
            page(
                "Refused",
                "This request was not addressed to the sign-in callback.",
            ),
        )
            .into_response();
    }
    let state_ok = q
        .get("state")
        .is_some_and(|s| constant_time_eq(s.as_bytes(), shared.expected_state.expose().as_bytes()));
    if !state_ok {
        tracing::warn!("loopback callback refused: state mismatch");
        return (
            StatusCode::BAD_REQUEST,
            page("Sign-in not recognised", "This sign-in response does not belong to the sign-in in progress (callback_uri_verification.state_mismatched)."),
        )
            .into_response();
    }
    // RFC 9207: when the IdP names itself, it must be the one we asked.
    if let Some(iss) = q.get("iss") {
        if iss != &shared.issuer {
            tracing::warn!("loopback callback refused: issuer mismatch");
            return (
                StatusCode::BAD_REQUEST,
                page(
                    "Sign-in not recognised",
                    "The response came from another identity provider.",
                ),
            )
                .into_response();
        }
    }
    let Some(deliver) = shared
        .deliver
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    else {
        return (
            StatusCode::GONE,
            page(
                "Already handled",
                "This sign-in has already been completed.",
            ),
        )
            .into_response();
    };
    if let Some(error) = q.get("error") {
        let description = q.get("error_description").cloned();
        let _ = deliver
            .send(Callback::Error {
                error: error.clone(),
                description: description.clone(),
            })
            .await;
        let text = format!(
            "The identity provider reported: {}{}",
            error,
            description.map(|d| format!(" — {d}")).unwrap_or_default()
        );
        return (StatusCode::OK, page("Sign-in failed", &text)).into_response();
    }
    let Some(code) = q.get("code") else {
        return (
            StatusCode::BAD_REQUEST,
            page(
                "Sign-in failed",
                "The response has no authorization code (callback_uri_verification.missing_code).",
            ),
        )
            .into_response();
    };
    let (respond, outcome) = oneshot::channel();
    if deliver
        .send(Callback::Code {
            code: Secret::new(code.clone()),
            respond,
        })
        .await
        .is_err()
    {
        return (
            StatusCode::GONE,
            page("Sign-in ended", "This sign-in is no longer in progress."),
        )
            .into_response();
    }
    match outcome.await {
        Ok(Ok(())) => (
            StatusCode::OK,
            page("Signed in", "Signed in — you can close this tab."),
        )
            .into_response(),
        Ok(Err(msg)) => (StatusCode::OK, page("Sign-in failed", &msg)).into_response(),
        Err(_) => (
            StatusCode::OK,
            page("Sign-in ended", "The sign-in ended before it completed."),
        )
            .into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn page(title: &str, text: &str) -> Html<String> {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:4em auto;max-width:32em;color:#222}}</style></head>\
         <body><h1>{t}</h1><p id=\"message\">{m}</p><p><small>logto-companion</small></p></body></html>",
        t = esc(title),
        m = esc(text)
    ))
}
