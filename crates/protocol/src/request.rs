//! Every method of the contract and its parameters, typed.
//!
//! The table in [`contract!`] is the one list: it yields [`Method`] (with
//! `ALL`, `as_str`, `parse`) and [`Request`] (one variant per method with
//! its typed params). A frame is parsed once, at the edge, into a
//! `Request`; the daemon's router matches it exhaustively, so a method added
//! here without a handler does not compile.

use super::error::{ErrorCode, RpcError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Whether a method needs the connection bound to an app first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Answered by the daemon itself, bound or not.
    Daemon,
    /// Needs `hello` first (`hello_required` otherwise).
    Session,
}

macro_rules! contract {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $scope:ident, $params:ty; )*) => {
        /// The method names of the contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Method {
            $( $(#[$doc])* $variant, )*
        }

        impl Method {
            /// Every method, in the order of the table.
            pub const ALL: &'static [Method] = &[$(Method::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Method::$variant => $name,)*
                }
            }

            pub fn parse(name: &str) -> Option<Method> {
                match name {
                    $($name => Some(Method::$variant),)*
                    _ => None,
                }
            }

            pub fn scope(self) -> Scope {
                match self {
                    $(Method::$variant => Scope::$scope,)*
                }
            }
        }

        /// A request with its typed params.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Request {
            $( $(#[$doc])* $variant($params), )*
        }

        impl Request {
            pub fn method(&self) -> Method {
                match self {
                    $(Request::$variant(_) => Method::$variant,)*
                }
            }

            /// Decodes `params` for `method`; `invalid_params` on a wrong
            /// shape.
            pub fn decode(method: Method, params: &Value) -> Result<Request, RpcError> {
                Ok(match method {
                    $(Method::$variant => Request::$variant(decode_params::<$params>(params)?),)*
                })
            }

            /// The `params` member for the wire (`null` for none).
            pub fn params(&self) -> Value {
                match self {
                    $(Request::$variant(p) => serde_json::to_value(p).unwrap_or(Value::Null),)*
                }
            }
        }
    };
}

contract! {
    /// `{"pong": true, "version"}`.
    Ping = "ping", Daemon, NoParams;
    /// Binds the connection to one app.
    Hello = "hello", Daemon, HelloParams;
    /// Daemon and session overview for the CLI.
    Status = "status", Daemon, NoParams;
    /// Always `forbidden`: refresh tokens never leave the daemon.
    GetRefreshToken = "getRefreshToken", Daemon, NoParams;
    SignIn = "signIn", Session, SignInParams;
    /// Ends the app's running sign-in flow (the browser tab was closed).
    CancelSignIn = "cancelSignIn", Session, CancelSignInParams;
    /// Sign-in by the device authorization grant (RFC 8628): `deviceCode`
    /// event with the code to enter elsewhere, then the claims.
    SignInWithDevice = "signInWithDevice", Session, DeviceSignInParams;
    SignOut = "signOut", Session, SignOutParams;
    IsAuthenticated = "isAuthenticated", Session, NoParams;
    GetIdToken = "getIdToken", Session, NoParams;
    GetIdTokenClaims = "getIdTokenClaims", Session, NoParams;
    GetAccessToken = "getAccessToken", Session, AccessTokenParams;
    GetAccessTokenClaims = "getAccessTokenClaims", Session, AccessTokenParams;
    GetOrganizationToken = "getOrganizationToken", Session, OrganizationParams;
    GetOrganizationTokenClaims = "getOrganizationTokenClaims", Session, OrganizationParams;
    FetchUserInfo = "fetchUserInfo", Session, NoParams;
    ClearAccessToken = "clearAccessToken", Session, NoParams;
    ClearAllTokens = "clearAllTokens", Session, NoParams;
    GetOidcConfig = "getOidcConfig", Session, NoParams;
}

/// Decodes `params` into a method's parameter type. `null`/absent means
/// "no params" and decodes as an empty object.
pub fn decode_params<T: serde::de::DeserializeOwned>(params: &Value) -> Result<T, RpcError> {
    let empty = Value::Object(Default::default());
    let params = if params.is_null() { &empty } else { params };
    T::deserialize(params)
        .map_err(|e| RpcError::new(ErrorCode::InvalidParams, format!("invalid params: {e}")))
}

/// The params of a method that takes none: whatever is sent is ignored
/// (as the SDK's methods ignore extra arguments), and none is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoParams;

impl Serialize for NoParams {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for NoParams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| NoParams)
    }
}

/// The app a connection binds to: the `LogtoClient` constructor fields.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AppParams {
    pub endpoint: String,
    pub app_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<StringOrList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct HelloParams {
    pub app: AppParams,
}

/// `signIn` options (the SDK's `SignInOptions`, minus the redirect
/// plumbing). A bare string — the SDK's old positional `redirectUri` — is
/// accepted and ignored: the daemon owns the redirect.
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(rename_all = "camelCase", remote = "Self")]
pub struct SignInParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_screen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifiers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_sign_in: Option<DirectSignIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<StringOrList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_params: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_in: Option<OpenIn>,
    /// Accepted for SDK compatibility and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_mode: Option<String>,
    /// The SDK's `clearTokens` (default true): a sign-in while signed in
    /// first signs the old session out (revoking it); `false` keeps it
    /// until the new one completes and replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_tokens: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct DirectSignIn {
    pub method: String,
    pub target: String,
}

/// Where the authorization page opens: a tab the shim opens
/// (`signInStarted`), or the system browser (the CLI).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum OpenIn {
    #[default]
    Extension,
    System,
}

/// `signOut`; also a bare string (the SDK's positional
/// `postLogoutRedirectUri`).
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(rename_all = "camelCase", remote = "Self")]
pub struct SignOutParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uri: Option<String>,
}

/// `signInWithDevice`: only the SDK's `clearTokens` applies (there is no
/// authorization page to shape).
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSignInParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_tokens: Option<bool>,
}

/// `cancelSignIn`: the flow to end; the app's running flow when absent.
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CancelSignInParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationParams {
    pub organization_id: String,
}

/// Serde for the params that also come as a bare string: the derive (with
/// `remote = "Self"`) handles the object, the string is the positional
/// form.
macro_rules! or_bare_string {
    ($ty:ident, $field:ident) => {
        impl<'de> Deserialize<'de> for $ty {
            #[allow(clippy::needless_update)]
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                match Value::deserialize(d)? {
                    Value::String(s) => Ok($ty {
                        $field: Some(s),
                        ..Default::default()
                    }),
                    other => $ty::deserialize(other).map_err(serde::de::Error::custom),
                }
            }
        }

        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $ty::serialize(self, s)
            }
        }
    };
}

or_bare_string!(SignInParams, redirect_uri);
or_bare_string!(SignOutParams, post_logout_redirect_uri);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn method_names_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &m in Method::ALL {
            assert!(seen.insert(m.as_str()), "duplicate method {}", m.as_str());
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
        assert_eq!(Method::parse("nope"), None);
    }

    #[test]
    fn every_method_is_in_the_methods_table_of_the_doc_and_only_those() {
        let doc = include_str!("../../../docs/protocol.md");
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
                "documented method {name} unknown to protocol"
            );
        }
        for m in Method::ALL {
            assert!(
                documented.contains(&m.as_str()),
                "{} missing from the Methods table of docs/protocol.md",
                m.as_str()
            );
        }
    }

    #[test]
    fn wrong_param_types_are_invalid_params() {
        let err = Request::decode(Method::GetAccessToken, &json!({"resource": 5})).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidParams);
        let ok = Request::decode(Method::GetAccessToken, &Value::Null).unwrap();
        assert_eq!(ok, Request::GetAccessToken(AccessTokenParams::default()));
    }

    #[test]
    fn methods_without_params_ignore_what_is_sent() {
        for params in [json!(42), json!([1]), json!({"x": 1}), Value::Null] {
            assert_eq!(
                Request::decode(Method::Ping, &params).unwrap(),
                Request::Ping(NoParams)
            );
        }
        assert_eq!(Request::Ping(NoParams).params(), Value::Null);
    }

    #[test]
    fn sign_in_and_sign_out_take_the_sdks_bare_string_form() {
        let r = Request::decode(Method::SignIn, &json!("https://x.chromiumapp.org/")).unwrap();
        let Request::SignIn(p) = r else { panic!() };
        assert_eq!(
            p.redirect_uri.as_deref(),
            Some("https://x.chromiumapp.org/")
        );
        let r = Request::decode(Method::SignOut, &json!("https://after")).unwrap();
        assert_eq!(
            r,
            Request::SignOut(SignOutParams {
                post_logout_redirect_uri: Some("https://after".into())
            })
        );
        let err = Request::decode(Method::SignIn, &json!(42)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidParams);
    }

    #[test]
    fn typed_params_serialize_to_the_documented_camel_case() {
        let r = Request::SignIn(SignInParams {
            login_hint: Some("+1".into()),
            open_in: Some(OpenIn::System),
            ..Default::default()
        });
        assert_eq!(r.params(), json!({"loginHint": "+1", "openIn": "system"}));
        let back = Request::decode(r.method(), &r.params()).unwrap();
        assert_eq!(back, r);
    }
}
