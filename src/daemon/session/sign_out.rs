//! Signing out: revoke the refresh token, forget the session everywhere,
//! and hand back the provider's end-session URL.
//!
//! - A refused or failed revocation is reported in the result (`revoked:
//!   false` with the reason), never hidden: the local session is cleared
//!   anyway, and the caller tells the user the token stays valid until it
//!   expires.
//! - The end-session URL comes only from discovery (`null` without an
//!   `end_session_endpoint`). It goes to the caller and, in
//!   `sessionChanged`, to every other connection, so each browser can end
//!   the provider's own session (its cookie) too.
//! - The app is marked signed out: its next sign-in asks the provider to
//!   authenticate again (`prompt=login`), for browsers that were not
//!   connected when it happened.

use super::state::State;
use super::Session;
use crate::oidc::Provider;
use crate::protocol::{ErrorCode, RpcError, SignOutParams, SignOutResult};
use crate::store::StoredSession;
use std::sync::Arc;

/// What revoking the stored refresh token came to.
pub(super) struct Revocation {
    pub revoked: bool,
    pub error: Option<RpcError>,
}

impl Session {
    pub async fn sign_out(&self, params: SignOutParams) -> Result<SignOutResult, RpcError> {
        let settings = self.settings();
        let _gate = self.refresh_gate.lock().await;
        let mut st = self.state.lock().await;
        let (record, provider, revocation) = self.revoke_stored(&mut st).await;
        let end_session_url = self.end_session_url(
            provider.as_ref().ok(),
            record.as_ref(),
            params.post_logout_redirect_uri.as_deref(),
            &settings,
        )?;
        self.deps.reauth.set(&self.key.endpoint, &self.key.app_id);
        let cleared = self.clear_with(&mut st, end_session_url.clone()).await;
        cleared?;
        tracing::info!(app = %self.key.app_id, revoked = revocation.revoked, "signed out");
        Ok(SignOutResult {
            end_session_url,
            revoked: revocation.revoked,
            revocation_error: revocation.error,
        })
    }

    /// Revokes the stored refresh token, if there is one. The caller holds
    /// the gate. An unreadable stored record must not block signing out:
    /// there is nothing to revoke, but the entry is still deleted.
    pub(super) async fn revoke_stored(
        &self,
        st: &mut State,
    ) -> (
        Option<StoredSession>,
        Result<Arc<Provider>, RpcError>,
        Revocation,
    ) {
        let issuer = self.settings().issuer;
        let record = match self.ensure_loaded(st).await {
            Ok(()) => st.record.clone(),
            Err(e) => {
                tracing::warn!(app = %self.key.app_id, "signing out without the stored session: {}", e.message);
                None
            }
        };
        let provider = match self.deps.idp.cached(&issuer) {
            Some(p) => Ok(p),
            None => self.idp(self.deps.idp.provider(&issuer)).await,
        };
        let revocation = match (&record, &provider) {
            (None, _) => Revocation {
                revoked: false,
                error: None,
            },
            (Some(_), Err(e)) => Revocation {
                revoked: false,
                error: Some(e.clone()),
            },
            (Some(record), Ok(provider)) => {
                let revoke =
                    self.deps
                        .idp
                        .revoke(provider, &self.key.app_id, &record.refresh_token);
                match self.idp(revoke).await {
                    Ok(()) => Revocation {
                        revoked: true,
                        error: None,
                    },
                    Err(e) => {
                        tracing::warn!(app = %self.key.app_id, "revocation failed (the session is cleared anyway): {e}");
                        Revocation {
                            revoked: false,
                            error: Some(e),
                        }
                    }
                }
            }
        };
        (record, provider, revocation)
    }

    /// The provider's end-session URL with `id_token_hint` (RP-Initiated
    /// Logout 1.0 §2), `client_id`, and a post-logout URI the app allows:
    /// the caller's when it is one of them (else dropped, logged at debug),
    /// or the configured one.
    fn end_session_url(
        &self,
        provider: Option<&Arc<Provider>>,
        record: Option<&StoredSession>,
        requested: Option<&str>,
        settings: &super::Settings,
    ) -> Result<Option<String>, RpcError> {
        let Some(endpoint) = provider.and_then(|p| p.extra().end_session_endpoint.clone()) else {
            return Ok(None);
        };
        let mut url = url::Url::parse(&endpoint).map_err(|e| {
            RpcError::new(
                ErrorCode::IdpError,
                format!("the provider's end_session_endpoint is not a URL: {e}"),
            )
        })?;
        let post_logout = match requested {
            Some(uri) if settings.post_logout_allowed.iter().any(|u| u == uri) => Some(uri),
            Some(uri) => {
                tracing::debug!(app = %self.key.app_id, "dropping postLogoutRedirectUri {uri:?}: not in post_logout_redirect_uri(s) of config.toml");
                settings.post_logout_redirect_uri.as_deref()
            }
            None => settings.post_logout_redirect_uri.as_deref(),
        };
        {
            let mut q = url.query_pairs_mut();
            if let Some(idt) = record.and_then(|r| r.id_token.as_ref()) {
                q.append_pair("id_token_hint", idt.expose());
            }
            q.append_pair("client_id", &self.key.app_id);
            if let Some(uri) = post_logout {
                q.append_pair("post_logout_redirect_uri", uri);
            }
        }
        Ok(Some(url.to_string()))
    }
}
