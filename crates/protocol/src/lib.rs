//! The whole wire contract: the framing, requests, replies, events, error
//! codes and the connection handshake, typed in both directions.
//!
//! Its own crate, depending on serde and serde_json only, because both
//! binaries speak it: the thin `logto-companion` (host relay, `token`,
//! `status`) must not pull in the daemon's runtime, TLS or keychain to do so.
//! Types and framing only — no sockets, no logic beyond parsing. `docs/protocol.md` is the
//! human-readable twin of this module and `extension-shim/` its JS client;
//! the three change together (the doc is checked against [`Method::ALL`]
//! and [`ErrorCode::ALL`] by unit tests).
//!
//! - [`request`]: the method table, [`Request`] with typed params;
//! - [`reply`]: the typed results;
//! - [`event`]: what the daemon pushes;
//! - [`error`]: [`ErrorCode`] and [`RpcError`];
//! - [`origin`]: who is calling ([`Origin`]);
//! - [`codec`]: the `u32` length + JSON framing of every hop (blocking).

pub mod codec;
pub mod error;
pub mod event;
pub mod origin;
pub mod reply;
pub mod request;

pub use error::{ErrorCode, RpcError};
pub use event::Event;
pub use origin::Origin;
pub use reply::*;
pub use request::*;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bumped only for incompatible changes; `hello` reports it.
pub const PROTOCOL_VERSION: u32 = 1;

/// The crate version, reported by `ping` and `hello`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A request frame before its params are decoded: the router answers
/// `method_not_found` and `hello_required` before it looks at params.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub id: Value,
    pub method: String,
    pub params: Value,
}

/// Parses a request frame. On failure returns the id (when readable) and
/// the `invalid_request` error to answer with; the connection stays open.
pub fn parse_envelope(frame: &[u8]) -> Result<Envelope, (Value, RpcError)> {
    let invalid = |id: Value, msg: String| (id, RpcError::new(ErrorCode::InvalidRequest, msg));
    let value: Value = serde_json::from_slice(frame)
        .map_err(|e| invalid(Value::Null, format!("frame is not valid JSON: {e}")))?;
    let Value::Object(mut obj) = value else {
        return Err(invalid(
            Value::Null,
            "a request must be a JSON object".into(),
        ));
    };
    let id = match obj.remove("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id,
        Some(Value::Null) | None => {
            return Err(invalid(
                Value::Null,
                "a request needs an \"id\" (string or number)".into(),
            ))
        }
        Some(_) => {
            return Err(invalid(
                Value::Null,
                "\"id\" must be a string or a number".into(),
            ))
        }
    };
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        Some(_) => return Err(invalid(id, "\"method\" must be a string".into())),
        None => return Err(invalid(id, "a request needs a \"method\"".into())),
    };
    let params = obj.remove("params").unwrap_or(Value::Null);
    Ok(Envelope { id, method, params })
}

/// Serializes a request frame.
pub fn request_frame(id: &Value, request: &Request) -> Vec<u8> {
    #[derive(Serialize)]
    struct Out<'a> {
        id: &'a Value,
        method: &'static str,
        params: Value,
    }
    serde_json::to_vec(&Out {
        id,
        method: request.method().as_str(),
        params: request.params(),
    })
    .unwrap_or_default()
}

/// Serializes a success reply.
pub fn reply_ok<T: Serialize>(id: &Value, result: &T) -> Vec<u8> {
    #[derive(Serialize)]
    struct Ok<'a, T> {
        id: &'a Value,
        result: &'a T,
    }
    serde_json::to_vec(&Ok { id, result }).unwrap_or_default()
}

/// Serializes an error reply.
pub fn reply_err(id: &Value, error: &RpcError) -> Vec<u8> {
    #[derive(Serialize)]
    struct Err<'a> {
        id: &'a Value,
        error: &'a RpcError,
    }
    serde_json::to_vec(&Err { id, error }).unwrap_or_default()
}

/// Any frame a client reads from the daemon: a reply (`id` + `result` or
/// `error`) or an event. `id` is `null` on a connection-level error.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Incoming {
    Event(Event),
    Reply {
        #[serde(default)]
        id: Value,
        #[serde(default)]
        result: Option<Value>,
        #[serde(default)]
        error: Option<RpcError>,
    },
}

/// The transport handshake: the first frame on a daemon socket connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Connect {
    pub connect: ConnectInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectInfo {
    /// `chrome-extension://<id>/`, a Firefox add-on id, or `cli`.
    pub origin: String,
    /// `host` or `cli`; informational.
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub pid: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_json_is_invalid_request_with_null_id() {
        let (id, err) = parse_envelope(b"not json").unwrap_err();
        assert_eq!(id, Value::Null);
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn missing_method_keeps_the_readable_id() {
        let (id, err) = parse_envelope(br#"{"id":7}"#).unwrap_err();
        assert_eq!(id, json!(7));
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn non_object_frames_are_invalid() {
        for frame in [&b"[]"[..], b"1", b"\"x\"", b"null"] {
            assert_eq!(
                parse_envelope(frame).unwrap_err().1.code,
                ErrorCode::InvalidRequest
            );
        }
    }

    #[test]
    fn string_and_number_ids_are_echoed() {
        let r = parse_envelope(br#"{"id":"a-1","method":"ping"}"#).unwrap();
        assert_eq!(r.id, json!("a-1"));
        let r = parse_envelope(br#"{"id":1.5,"method":"ping","params":{}}"#).unwrap();
        assert_eq!(r.id, json!(1.5));
    }

    #[test]
    fn replies_and_requests_have_the_documented_envelope() {
        let ok: Value = serde_json::from_slice(&reply_ok(
            &json!(1),
            &AccessTokenResult {
                access_token: "t".into(),
                expires_at: 5,
            },
        ))
        .unwrap();
        assert_eq!(
            ok,
            json!({"id": 1, "result": {"accessToken": "t", "expiresAt": 5}})
        );
        let err: Value = serde_json::from_slice(&reply_err(
            &json!("x"),
            &RpcError::new(ErrorCode::NotAuthenticated, "not signed in"),
        ))
        .unwrap();
        assert_eq!(
            err,
            json!({"id": "x", "error": {"code": "not_authenticated", "message": "not signed in"}})
        );
        let req: Value = serde_json::from_slice(&request_frame(
            &json!(3),
            &Request::GetAccessToken(AccessTokenParams {
                resource: Some("https://api".into()),
                organization_id: None,
            }),
        ))
        .unwrap();
        assert_eq!(
            req,
            json!({"id": 3, "method": "getAccessToken", "params": {"resource": "https://api"}})
        );
    }

    #[test]
    fn incoming_frames_tell_events_from_replies() {
        let ev: Incoming = serde_json::from_value(
            json!({"event": "signInFinished", "data": {"flowId": "f", "ok": true}}),
        )
        .unwrap();
        assert!(matches!(
            ev,
            Incoming::Event(Event::SignInFinished { ok: true, .. })
        ));
        let rep: Incoming = serde_json::from_value(
            json!({"id": 2, "error": {"code": "forbidden", "message": "no"}}),
        )
        .unwrap();
        let Incoming::Reply { id, error, result } = rep else {
            panic!()
        };
        assert_eq!(id, json!(2));
        assert_eq!(error.unwrap().code, ErrorCode::Forbidden);
        assert!(result.is_none());
    }
}
