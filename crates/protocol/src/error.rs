//! Error codes and the `error` member of a reply.
//!
//! The code strings are the contract: never rename one. They are defined
//! once, in the table below, which yields `ALL`, `as_str` and `parse`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, )*) => {
        /// Stable error codes (see `docs/protocol.md`, "Error codes").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the order of the table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            pub fn parse(s: &str) -> Option<ErrorCode> {
                match s {
                    $($code => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// Not JSON, not an object, no `method`, or a handshake problem.
    InvalidRequest = "invalid_request",
    MethodNotFound = "method_not_found",
    InvalidParams = "invalid_params",
    /// A frame above the limit; the connection closes after it.
    MessageTooLarge = "message_too_large",
    HelloRequired = "hello_required",
    AppNotRegistered = "app_not_registered",
    Forbidden = "forbidden",
    /// The daemon died with the request in flight (the host says so).
    DaemonUnavailable = "daemon_unavailable",
    InternalError = "internal_error",
    NotAuthenticated = "not_authenticated",
    UserCancelled = "user_cancelled",
    SignInSessionInvalid = "sign_in_session.invalid",
    StateMismatched = "callback_uri_verification.state_mismatched",
    CallbackErrorFound = "callback_uri_verification.error_found",
    IdTokenInvalid = "id_token.invalid_token",
    MissingScopeOrganizations = "missing_scope_organizations",
    InvalidTarget = "invalid_target",
    NetworkError = "network_error",
    IdpError = "idp_error",
    KeychainUnavailable = "keychain_unavailable",
    /// Every pinned loopback port (`redirect_port(s)`) is in use.
    RedirectPortInUse = "redirect_port_in_use",
    /// `signInWithDevice` with a provider whose discovery has no
    /// `device_authorization_endpoint` (RFC 8628 §4).
    DeviceFlowUnsupported = "device_flow_unsupported",
    /// A second sign-in of another kind while one runs for the app.
    SignInInProgress = "sign_in_in_progress",
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An unknown code from a newer daemon reads as `internal_error` rather
/// than failing the whole reply.
impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ErrorCode::parse(&s).unwrap_or(ErrorCode::InternalError))
    }
}

/// The `error` member of an error reply.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RpcError {
    pub code: ErrorCode,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn every_error_code_is_documented() {
        let doc = include_str!("../../../docs/protocol.md");
        for c in ErrorCode::ALL {
            assert!(
                doc.contains(&format!("`{}`", c.as_str())),
                "{} missing from docs/protocol.md",
                c.as_str()
            );
        }
    }

    #[test]
    fn long_messages_are_capped_on_a_char_boundary() {
        let e = RpcError::new(ErrorCode::InvalidParams, "é".repeat(400));
        assert!(e.message.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert!(e.message.ends_with('…'));
    }

    #[test]
    fn an_error_reads_back_from_its_json() {
        let e =
            RpcError::new(ErrorCode::IdpError, "no").with_data(serde_json::json!({"error": "x"}));
        let back: RpcError = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        let unknown: RpcError =
            serde_json::from_value(serde_json::json!({"code": "from_the_future", "message": "m"}))
                .unwrap();
        assert_eq!(unknown.code, ErrorCode::InternalError);
    }
}
