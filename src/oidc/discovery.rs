//! Provider metadata and JWKS, fetched once and cached; the daemon's one
//! HTTP client.

use super::OidcError;
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, IssuerUrl, ProviderMetadata};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a discovery document may have beyond OpenID Connect Discovery's
/// core fields: RFC 8414 (revocation and its client authentication), RFC
/// 9126 (PAR), RFC 8628 (device authorization) and RP-Initiated Logout.
#[derive(Clone, Debug, Deserialize, Serialize, Default)]
pub struct ExtraMetadata {
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<String>,
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

pub type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// One discovered provider (metadata with its JWKS).
pub struct Provider {
    pub metadata: Metadata,
    /// The extra fields, completed from the RFC 8414 document where the
    /// OpenID one lacks them.
    extra: ExtraMetadata,
    fetched: Instant,
}

impl Provider {
    pub fn new(metadata: Metadata) -> Provider {
        let extra = metadata.additional_metadata().clone();
        Provider {
            metadata,
            extra,
            fetched: Instant::now(),
        }
    }

    pub fn issuer(&self) -> &str {
        self.metadata.issuer().as_str()
    }

    /// Revocation, end-session, PAR and device endpoints.
    pub fn extra(&self) -> &ExtraMetadata {
        &self.extra
    }
}

/// RFC 8414 §3: `/.well-known/oauth-authorization-server` inserted between
/// the issuer's host and path.
fn rfc8414_url(issuer: &str) -> Option<String> {
    let u = url::Url::parse(issuer).ok()?;
    let path = u.path().trim_end_matches('/');
    let mut out = u.clone();
    out.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    out.set_query(None);
    Some(out.to_string())
}

/// Metadata is re-fetched after this long, and at once when an ID token
/// names a key we do not know (key rotation).
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The longest any one request to the IdP may take.
const REQUEST_LIMIT: Duration = Duration::from_secs(120);

/// The daemon's OIDC context: one HTTP client, one metadata cache.
pub struct Oidc {
    pub http: reqwest::Client,
    cache: Mutex<HashMap<String, Arc<Provider>>>,
}

impl Oidc {
    /// `connect_timeout` bounds reaching the IdP. Requests themselves get a
    /// generous overall limit: callers that must answer sooner wait less and
    /// leave the request running (a refresh the IdP already processed must
    /// not be dropped).
    pub fn new(connect_timeout: Duration) -> Result<Oidc, OidcError> {
        let http = reqwest::Client::builder()
            // OIDC endpoints must not redirect; following one could leak a
            // code or token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_LIMIT)
            .connect_timeout(connect_timeout)
            .user_agent(concat!("logto-companion/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OidcError::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Oidc {
            http,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The provider for `issuer`, from cache while fresh.
    pub async fn provider(&self, issuer: &str) -> Result<Arc<Provider>, OidcError> {
        if let Some(p) = self.cached(issuer) {
            if p.fetched.elapsed() < METADATA_TTL {
                return Ok(p);
            }
        }
        self.refetch(issuer).await
    }

    pub fn cached(&self, issuer: &str) -> Option<Arc<Provider>> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(issuer)
            .cloned()
    }

    /// Fetches metadata and JWKS anew (also after a signature failure).
    pub async fn refetch(&self, issuer: &str) -> Result<Arc<Provider>, OidcError> {
        let issuer_url = IssuerUrl::new(issuer.to_string())
            .map_err(|e| OidcError::Discovery(format!("bad issuer URL {issuer:?}: {e}")))?;
        let metadata = Metadata::discover_async(issuer_url, &self.http)
            .await
            .map_err(|e| discovery_error(issuer, e))?;
        let mut provider = Provider::new(metadata);
        if provider.extra.revocation_endpoint.is_none() {
            self.complete_from_rfc8414(issuer, &mut provider.extra)
                .await;
        }
        let provider = Arc::new(provider);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(issuer.to_string(), Arc::clone(&provider));
        Ok(provider)
    }
}

impl Oidc {
    /// Some providers (django-oauth-toolkit) list revocation only in their
    /// OAuth 2.0 Authorization Server Metadata (RFC 8414), not in the OpenID
    /// document. Best effort: the document may not exist.
    async fn complete_from_rfc8414(&self, issuer: &str, extra: &mut ExtraMetadata) {
        let Some(url) = rfc8414_url(issuer) else {
            return;
        };
        let Ok(resp) = self.http.get(&url).send().await else {
            return;
        };
        if !resp.status().is_success() {
            return;
        }
        let Ok(doc) = resp.json::<serde_json::Value>().await else {
            return;
        };
        // RFC 8414 §3.3: the document must name the same issuer.
        if doc["issuer"].as_str() != Some(issuer) {
            tracing::debug!("ignoring {url}: its issuer is not {issuer}");
            return;
        }
        if let Ok(other) = serde_json::from_value::<ExtraMetadata>(doc) {
            extra.revocation_endpoint = other.revocation_endpoint;
            extra.revocation_endpoint_auth_methods_supported =
                other.revocation_endpoint_auth_methods_supported;
            if extra.pushed_authorization_request_endpoint.is_none() {
                extra.pushed_authorization_request_endpoint =
                    other.pushed_authorization_request_endpoint;
            }
            if extra.device_authorization_endpoint.is_none() {
                extra.device_authorization_endpoint = other.device_authorization_endpoint;
            }
        }
    }
}

fn discovery_error<E: std::error::Error>(
    issuer: &str,
    e: openidconnect::DiscoveryError<E>,
) -> OidcError {
    use openidconnect::DiscoveryError;
    match e {
        DiscoveryError::Request(inner) => {
            OidcError::Network(format!("{issuer}: {}", chain(&inner)))
        }
        other => OidcError::Discovery(format!("{issuer}: {}", chain(&other))),
    }
}

/// An error and its causes on one line (reqwest hides the useful part in
/// `source()`).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let c_s = c.to_string();
        if !s.contains(&c_s) {
            s.push_str(": ");
            s.push_str(&c_s);
        }
        cur = c.source();
    }
    s
}
