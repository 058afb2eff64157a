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

/// What Logto's discovery document has beyond the core fields.
#[derive(Clone, Debug, Deserialize, Serialize, Default)]
pub struct ExtraMetadata {
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
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
    fetched: Instant,
}

impl Provider {
    pub fn new(metadata: Metadata) -> Provider {
        Provider {
            metadata,
            fetched: Instant::now(),
        }
    }

    pub fn issuer(&self) -> &str {
        self.metadata.issuer().as_str()
    }
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
        let provider = Arc::new(Provider::new(metadata));
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(issuer.to_string(), Arc::clone(&provider));
        Ok(provider)
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
