//! A blocking client of the daemon, for the CLI (no async runtime on the
//! `logto-companion token` path: scripts call it per request).

use super::{connect_or_start, IpcError, Stream};
use crate::codec::{read_frame, write_frame, FrameError, MAX_OUTBOUND};
use crate::paths::Paths;
use crate::protocol::{Connect, ConnectInfo, ErrorCode, RpcError};
use serde_json::{json, Value};

pub struct Client {
    stream: Stream,
    next_id: u64,
}

impl Client {
    /// Connects (starting the daemon if needed) and presents `origin`.
    pub fn connect(paths: &Paths, origin: &str, kind: &str) -> Result<Client, IpcError> {
        let stream = connect_or_start(paths)?;
        Self::handshake(stream, origin, kind)
    }

    /// Connects only if a daemon is already running.
    pub fn connect_existing(paths: &Paths, origin: &str, kind: &str) -> Result<Client, IpcError> {
        let stream = super::connect_existing(paths).map_err(IpcError::Connect)?;
        Self::handshake(stream, origin, kind)
    }

    fn handshake(mut stream: Stream, origin: &str, kind: &str) -> Result<Client, IpcError> {
        let hello = Connect {
            connect: ConnectInfo {
                origin: origin.to_string(),
                client: kind.to_string(),
                pid: std::process::id(),
            },
        };
        let frame = serde_json::to_vec(&hello).unwrap_or_default();
        if let Err(e) = write_frame(&mut stream, &frame, MAX_OUTBOUND) {
            // The daemon may have refused us and closed before reading the
            // handshake (another uid): its reason is waiting to be read.
            if let Ok(Some(reply)) = read_frame(&mut stream, MAX_OUTBOUND) {
                if let Ok(mut v) = serde_json::from_slice::<Value>(&reply) {
                    if let Some(err) = v.get_mut("error") {
                        return Err(IpcError::Refused(parse_error(err.take())));
                    }
                }
            }
            return Err(match e {
                FrameError::Io(io) => IpcError::Connect(io),
                other => IpcError::Connect(std::io::Error::other(other.to_string())),
            });
        }
        Ok(Client { stream, next_id: 1 })
    }

    /// Sends a request without waiting; returns its id. Requests on one
    /// connection are handled in order up to `hello`, so `hello` and the
    /// request after it can go out together (one round trip).
    pub fn send(&mut self, method: &str, params: Value) -> Result<u64, RpcError> {
        let id = self.next_id;
        self.next_id += 1;
        let frame = serde_json::to_vec(&json!({"id": id, "method": method, "params": params}))
            .unwrap_or_default();
        write_frame(&mut self.stream, &frame, MAX_OUTBOUND).map_err(unavailable)?;
        Ok(id)
    }

    /// Waits for the reply to `id`; events that arrive in the meantime go
    /// to `on_event`.
    pub fn wait_reply(
        &mut self,
        id: u64,
        mut on_event: impl FnMut(&str, &Value),
    ) -> Result<Value, RpcError> {
        loop {
            let Some(frame) = read_frame(&mut self.stream, MAX_OUTBOUND).map_err(unavailable)?
            else {
                return Err(RpcError::new(
                    ErrorCode::DaemonUnavailable,
                    "the companion daemon closed the connection",
                ));
            };
            let mut msg: Value = serde_json::from_slice(&frame).map_err(|e| {
                RpcError::new(
                    ErrorCode::InternalError,
                    format!("bad frame from daemon: {e}"),
                )
            })?;
            if let Some(name) = msg.get("event").and_then(Value::as_str) {
                on_event(name, msg.get("data").unwrap_or(&Value::Null));
                continue;
            }
            let reply_id = msg.get("id").cloned().unwrap_or(Value::Null);
            if reply_id.is_null() {
                // A connection-level error (e.g. refused peer, oversized frame).
                if let Some(err) = msg.get_mut("error") {
                    return Err(parse_error(err.take()));
                }
            }
            if reply_id != json!(id) {
                continue;
            }
            if let Some(err) = msg.get_mut("error") {
                return Err(parse_error(err.take()));
            }
            return Ok(msg
                .get_mut("result")
                .map(Value::take)
                .unwrap_or(Value::Null));
        }
    }

    /// Sends one request and waits for its reply.
    pub fn call_with_events(
        &mut self,
        method: &str,
        params: Value,
        on_event: impl FnMut(&str, &Value),
    ) -> Result<Value, RpcError> {
        let id = self.send(method, params)?;
        self.wait_reply(id, on_event)
    }

    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.call_with_events(method, params, |_, _| {})
    }
}

fn unavailable(e: FrameError) -> RpcError {
    RpcError::new(
        ErrorCode::DaemonUnavailable,
        format!("lost the connection to the companion daemon: {e}"),
    )
}

/// Turns an `error` member back into an [`RpcError`].
pub fn parse_error(err: Value) -> RpcError {
    let code = err
        .get("code")
        .and_then(Value::as_str)
        .and_then(ErrorCode::from_code)
        .unwrap_or(ErrorCode::InternalError);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("unknown error")
        .to_string();
    let mut e = RpcError::new(code, message);
    e.data = err.get("data").cloned();
    e
}
