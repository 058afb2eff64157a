//! The whole wire contract: requests, replies, events and error codes.
//!
//! Types only — no I/O, no logic beyond parsing. `docs/protocol.md` is the
//! human-readable twin of this file and `extension-shim/` its JS client; the
//! three change together.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Bumped only for incompatible changes; `hello` reports it.
pub const PROTOCOL_VERSION: u32 = 1;

/// The crate version, reported by `ping` and `hello`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Origin the CLI presents on the daemon socket.
pub const CLI_ORIGIN: &str = "cli";

/// Stable error codes. The strings are the contract; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    MethodNotFound,
    InvalidParams,
    MessageTooLarge,
    HelloRequired,
    AppNotRegistered,
    Forbidden,
    DaemonUnavailable,
    InternalError,
    NotAuthenticated,
    UserCancelled,
    SignInSessionInvalid,
    StateMismatched,
    CallbackErrorFound,
    IdTokenInvalid,
    MissingScopeOrganizations,
    InvalidTarget,
    NetworkError,
    IdpError,
    KeychainUnavailable,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 20] = [
        ErrorCode::InvalidRequest,
        ErrorCode::MethodNotFound,
        ErrorCode::InvalidParams,
        ErrorCode::MessageTooLarge,
        ErrorCode::HelloRequired,
        ErrorCode::AppNotRegistered,
        ErrorCode::Forbidden,
        ErrorCode::DaemonUnavailable,
        ErrorCode::InternalError,
        ErrorCode::NotAuthenticated,
        ErrorCode::UserCancelled,
        ErrorCode::SignInSessionInvalid,
        ErrorCode::StateMismatched,
        ErrorCode::CallbackErrorFound,
        ErrorCode::IdTokenInvalid,
        ErrorCode::MissingScopeOrganizations,
        ErrorCode::InvalidTarget,
        ErrorCode::NetworkError,
        ErrorCode::IdpError,
        ErrorCode::KeychainUnavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::MethodNotFound => "method_not_found",
            ErrorCode::InvalidParams => "invalid_params",
            ErrorCode::MessageTooLarge => "message_too_large",
            ErrorCode::HelloRequired => "hello_required",
            ErrorCode::AppNotRegistered => "app_not_registered",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::DaemonUnavailable => "daemon_unavailable",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::UserCancelled => "user_cancelled",
            ErrorCode::SignInSessionInvalid => "sign_in_session.invalid",
            ErrorCode::StateMismatched => "callback_uri_verification.state_mismatched",
            ErrorCode::CallbackErrorFound => "callback_uri_verification.error_found",
            ErrorCode::IdTokenInvalid => "id_token.invalid_token",
            ErrorCode::MissingScopeOrganizations => "missing_scope_organizations",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::NetworkError => "network_error",
            ErrorCode::IdpError => "idp_error",
            ErrorCode::KeychainUnavailable => "keychain_unavailable",
        }
    }

    pub fn from_code(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The `error` member of an error reply.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RpcError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: cap_message(message.into()),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// Longest error message sent; messages quote their input (an unknown app
/// id, serde's "invalid type: string …"), and a hostile 1 MiB value must not
/// come back in full.
pub const MAX_MESSAGE: usize = 512;

fn cap_message(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for RpcError {}

/// Every method of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Ping,
    Hello,
    Status,
    SignIn,
    SignOut,
    IsAuthenticated,
    GetIdToken,
    GetIdTokenClaims,
    GetAccessToken,
    GetAccessTokenClaims,
    GetOrganizationToken,
    GetOrganizationTokenClaims,
    FetchUserInfo,
    ClearAccessToken,
    ClearAllTokens,
    GetOidcConfig,
    GetRefreshToken,
}

impl Method {
    pub fn parse(name: &str) -> Option<Method> {
        Some(match name {
            "ping" => Method::Ping,
            "hello" => Method::Hello,
            "status" => Method::Status,
            "signIn" => Method::SignIn,
            "signOut" => Method::SignOut,
            "isAuthenticated" => Method::IsAuthenticated,
            "getIdToken" => Method::GetIdToken,
            "getIdTokenClaims" => Method::GetIdTokenClaims,
            "getAccessToken" => Method::GetAccessToken,
            "getAccessTokenClaims" => Method::GetAccessTokenClaims,
            "getOrganizationToken" => Method::GetOrganizationToken,
            "getOrganizationTokenClaims" => Method::GetOrganizationTokenClaims,
            "fetchUserInfo" => Method::FetchUserInfo,
            "clearAccessToken" => Method::ClearAccessToken,
            "clearAllTokens" => Method::ClearAllTokens,
            "getOidcConfig" => Method::GetOidcConfig,
            "getRefreshToken" => Method::GetRefreshToken,
            _ => return None,
        })
    }
}

/// A parsed request. `params` is kept as JSON until the handler knows which
/// shape it expects.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: Value,
    pub method: String,
    pub params: Value,
}

/// Parses a request frame. On failure returns the id (when readable) and
/// the `invalid_request` error to answer with; the connection stays open.
pub fn parse_request(frame: &[u8]) -> Result<Request, (Value, RpcError)> {
    let value: Value = serde_json::from_slice(frame).map_err(|e| {
        (
            Value::Null,
            RpcError::new(
                ErrorCode::InvalidRequest,
                format!("frame is not valid JSON: {e}"),
            ),
        )
    })?;
    let Value::Object(mut obj) = value else {
        return Err((
            Value::Null,
            RpcError::new(ErrorCode::InvalidRequest, "a request must be a JSON object"),
        ));
    };
    let id = match obj.remove("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id,
        Some(Value::Null) | None => {
            return Err((
                Value::Null,
                RpcError::new(
                    ErrorCode::InvalidRequest,
                    "a request needs an \"id\" (string or number)",
                ),
            ))
        }
        Some(_) => {
            return Err((
                Value::Null,
                RpcError::new(
                    ErrorCode::InvalidRequest,
                    "\"id\" must be a string or a number",
                ),
            ))
        }
    };
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        Some(_) => {
            return Err((
                id,
                RpcError::new(ErrorCode::InvalidRequest, "\"method\" must be a string"),
            ))
        }
        None => {
            return Err((
                id,
                RpcError::new(ErrorCode::InvalidRequest, "a request needs a \"method\""),
            ))
        }
    };
    let params = obj.remove("params").unwrap_or(Value::Null);
    Ok(Request { id, method, params })
}

/// Decodes `params` into the method's parameter type. `null`/absent means
/// "no params" and decodes as an empty object.
pub fn decode_params<T: serde::de::DeserializeOwned>(params: &Value) -> Result<T, RpcError> {
    let params = if params.is_null() {
        &Value::Object(Default::default())
    } else {
        params
    };
    T::deserialize(params)
        .map_err(|e| RpcError::new(ErrorCode::InvalidParams, format!("invalid params: {e}")))
}

/// Serializes a success reply.
pub fn reply_ok(id: &Value, result: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({ "id": id, "result": result })).unwrap_or_default()
}

/// Serializes an error reply.
pub fn reply_err(id: &Value, error: &RpcError) -> Vec<u8> {
    serde_json::to_vec(&json!({ "id": id, "error": error })).unwrap_or_default()
}

/// Events pushed by the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    SignInStarted {
        url: String,
        flow_id: String,
    },
    SignInFinished {
        flow_id: String,
        ok: bool,
    },
    SessionChanged {
        authenticated: bool,
        sub: Option<String>,
    },
}

impl Event {
    pub fn to_frame(&self) -> Vec<u8> {
        let v = match self {
            Event::SignInStarted { url, flow_id } => {
                json!({"event": "signInStarted", "data": {"url": url, "flowId": flow_id}})
            }
            Event::SignInFinished { flow_id, ok } => {
                json!({"event": "signInFinished", "data": {"flowId": flow_id, "ok": ok}})
            }
            Event::SessionChanged { authenticated, sub } => {
                let mut data = json!({ "authenticated": authenticated });
                if let Some(sub) = sub {
                    data["sub"] = json!(sub);
                }
                json!({"event": "sessionChanged", "data": data})
            }
        };
        serde_json::to_vec(&v).unwrap_or_default()
    }
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

/// The app a connection binds to: the `LogtoClient` constructor fields.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AppParams {
    pub endpoint: String,
    pub app_id: String,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub resources: Option<Vec<String>>,
    #[serde(default)]
    pub prompt: Option<StringOrList>,
    #[serde(default)]
    pub include_reserved_scopes: Option<bool>,
}

/// The SDK accepts `prompt` as a string or a list of strings.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

impl StringOrList {
    pub fn joined(&self) -> String {
        match self {
            StringOrList::One(s) => s.clone(),
            StringOrList::Many(v) => v.join(" "),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct HelloParams {
    pub app: AppParams,
}

/// `signIn` options (the SDK's `SignInOptions`, minus the redirect plumbing).
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignInParams {
    pub first_screen: Option<String>,
    pub identifiers: Option<Vec<String>>,
    pub login_hint: Option<String>,
    pub direct_sign_in: Option<DirectSignIn>,
    pub prompt: Option<StringOrList>,
    pub extra_params: Option<std::collections::BTreeMap<String, String>>,
    pub open_in: Option<OpenIn>,
    /// Accepted for SDK compatibility and ignored: the daemon owns the redirect.
    pub redirect_uri: Option<String>,
    pub interaction_mode: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct DirectSignIn {
    pub method: String,
    pub target: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum OpenIn {
    #[default]
    Extension,
    System,
}

/// Params that may also arrive as a bare string (the SDK's old positional
/// `redirectUri` / `postLogoutRedirectUri` forms).
pub fn decode_params_or_string<T: serde::de::DeserializeOwned + Default>(
    params: &Value,
    from_string: impl FnOnce(String) -> T,
) -> Result<T, RpcError> {
    match params {
        Value::String(s) => Ok(from_string(s.clone())),
        _ => decode_params(params),
    }
}

#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignOutParams {
    pub post_logout_redirect_uri: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenParams {
    pub resource: Option<String>,
    pub organization_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationParams {
    pub organization_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_json_is_invalid_request_with_null_id() {
        let (id, err) = parse_request(b"not json").unwrap_err();
        assert_eq!(id, Value::Null);
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn missing_method_keeps_the_readable_id() {
        let (id, err) = parse_request(br#"{"id":7}"#).unwrap_err();
        assert_eq!(id, json!(7));
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn non_object_frames_are_invalid() {
        for frame in [&b"[]"[..], b"1", b"\"x\"", b"null"] {
            assert_eq!(
                parse_request(frame).unwrap_err().1.code,
                ErrorCode::InvalidRequest
            );
        }
    }

    #[test]
    fn string_and_number_ids_are_echoed() {
        let r = parse_request(br#"{"id":"a-1","method":"ping"}"#).unwrap();
        assert_eq!(r.id, json!("a-1"));
        let r = parse_request(br#"{"id":1.5,"method":"ping","params":{}}"#).unwrap();
        assert_eq!(r.id, json!(1.5));
    }

    #[test]
    fn error_codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert_eq!(ErrorCode::from_code(c.as_str()), Some(c));
        }
    }

    #[test]
    fn every_error_code_is_documented() {
        let doc = include_str!("../docs/protocol.md");
        for c in ErrorCode::ALL {
            assert!(
                doc.contains(&format!("`{}`", c.as_str())),
                "{} missing from docs/protocol.md",
                c.as_str()
            );
        }
    }

    #[test]
    fn methods_table_in_the_doc_matches_protocol_rs() {
        let doc = include_str!("../docs/protocol.md");
        let section = doc
            .split("## Methods")
            .nth(1)
            .and_then(|s| s.split("## Events").next())
            .expect("docs/protocol.md has a Methods section");
        let documented: Vec<&str> = section
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .collect();
        for name in &documented {
            assert!(
                Method::parse(name).is_some(),
                "documented method {name} unknown to protocol.rs"
            );
        }
        for name in [
            "ping",
            "hello",
            "status",
            "signIn",
            "signOut",
            "isAuthenticated",
            "getIdToken",
            "getIdTokenClaims",
            "getAccessToken",
            "getAccessTokenClaims",
            "getOrganizationToken",
            "getOrganizationTokenClaims",
            "fetchUserInfo",
            "clearAccessToken",
            "clearAllTokens",
            "getOidcConfig",
            "getRefreshToken",
        ] {
            assert!(Method::parse(name).is_some());
            assert!(
                documented.contains(&name),
                "{name} missing from the Methods table of docs/protocol.md"
            );
        }
    }

    #[test]
    fn wrong_param_types_are_invalid_params() {
        let err = decode_params::<AccessTokenParams>(&json!({"resource": 5})).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidParams);
        let ok: AccessTokenParams = decode_params(&Value::Null).unwrap();
        assert_eq!(ok, AccessTokenParams::default());
    }

    #[test]
    fn events_serialize_to_the_documented_shape() {
        let v: Value = serde_json::from_slice(
            &Event::SessionChanged {
                authenticated: true,
                sub: Some("u1".into()),
            }
            .to_frame(),
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"event":"sessionChanged","data":{"authenticated":true,"sub":"u1"}})
        );
    }
}
