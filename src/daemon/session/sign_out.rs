//! Signing out: revoke the refresh token, forget the session everywhere,
//! and hand back the provider's end-session URL.
//!
//! A refused or failed revocation is reported in the result (`revoked:
//! false` with the reason), never hidden: the local session is cleared
//! anyway, and the caller tells the user the token stays valid until it
//! expires.

use super::Session;
use crate::protocol::{ErrorCode, RpcError, SignOutResult};

impl Session {
    pub async fn sign_out(&self) -> Result<SignOutResult, RpcError> {
        let settings = self.settings();
        let _gate = self.refresh_gate.lock().await;
        let mut st = self.state.lock().await;
        // An unreadable stored record must not block signing out: there is
        // nothing to revoke, but the entry is still deleted below.
        let record = match self.ensure_loaded(&mut st).await {
            Ok(()) => st.record.clone(),
            Err(e) => {
                tracing::warn!(app = %self.key.app_id, "signing out without the stored session: {}", e.message);
                None
            }
        };
        let provider = match self.deps.idp.cached(&settings.issuer) {
            Some(p) => Ok(p),
            None => self.idp(self.deps.idp.provider(&settings.issuer)).await,
        };
        let (revoked, revocation_error) = match (&record, &provider) {
            (None, _) => (false, None),
            (Some(_), Err(e)) => (false, Some(e.clone())),
            (Some(record), Ok(provider)) => {
                match self
                    .idp(
                        self.deps
                            .idp
                            .revoke(provider, &self.key.app_id, &record.refresh_token),
                    )
                    .await
                {
                    Ok(()) => (true, None),
                    Err(e) => {
                        tracing::warn!(app = %self.key.app_id, "revocation failed (the session is cleared anyway): {e}");
                        (false, Some(e))
                    }
                }
            }
        };
        let cleared = self.clear(&mut st).await;
        // Only what discovery advertises: no invented Logto path.
        let end_session = provider.as_ref().ok().and_then(|p| {
            p.metadata
                .additional_metadata()
                .end_session_endpoint
                .clone()
        });
        let end_session_url = match end_session {
            None => None,
            Some(endpoint) => {
                let mut url = url::Url::parse(&endpoint).map_err(|e| {
                    RpcError::new(
                        ErrorCode::IdpError,
                        format!("the provider's end_session_endpoint is not a URL: {e}"),
                    )
                })?;
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(idt) = record.as_ref().and_then(|r| r.id_token.as_ref()) {
                        q.append_pair("id_token_hint", idt.expose());
                    }
                    q.append_pair("client_id", &self.key.app_id);
                    if let Some(uri) = &settings.post_logout_redirect_uri {
                        q.append_pair("post_logout_redirect_uri", uri);
                    }
                }
                Some(url.to_string())
            }
        };
        cleared?;
        tracing::info!(app = %self.key.app_id, revoked, "signed out");
        Ok(SignOutResult {
            end_session_url,
            revoked,
            revocation_error,
        })
    }
}
