//! Sign-in by the device authorization grant (RFC 8628), for a terminal
//! with no browser on its machine.
//!
//! The flow takes the app's one sign-in slot, like a code flow: a second
//! `signInWithDevice` or `signIn` while it runs waits for it or is refused,
//! and `cancelSignIn` ends it (the CLI sends that on Ctrl-C), so the daemon
//! stops polling at once. The caller gets a `deviceCode` event with what to
//! show; the tokens are adopted exactly as a code sign-in's are (saved
//! before use, then `sessionChanged` to every connection of the app).

use super::sign_in::wait_done;
use super::Session;
use crate::daemon::events::Outbox;
use crate::oidc::device::{Poll, SLOW_DOWN_STEP_SECS};
use crate::oidc::{flow, OidcError};
use crate::protocol::{ClaimsResult, DeviceSignInParams, ErrorCode, Event, RpcError};
use crate::util::lock;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

impl Session {
    /// Runs a device flow for the app and waits for its end.
    pub async fn sign_in_with_device(
        self: &Arc<Self>,
        params: DeviceSignInParams,
        outbox: Outbox,
    ) -> Result<ClaimsResult, RpcError> {
        let rx = {
            let mut slot = lock(&self.sign_in);
            if slot.is_some() {
                return Err(RpcError::new(
                    ErrorCode::SignInInProgress,
                    "a sign-in is already running for this app: finish it, or end it with cancelSignIn, then try again",
                ));
            }
            let events = outbox.clone();
            self.start_flow(
                &mut slot,
                outbox,
                "device sign-in",
                move |me, flow_id, cancel| async move {
                    me.run_device_flow(&params, &flow_id, &events, cancel).await
                },
            )
        };
        wait_done(rx).await
    }

    async fn run_device_flow(
        &self,
        params: &DeviceSignInParams,
        flow_id: &str,
        outbox: &Outbox,
        mut cancel: oneshot::Receiver<()>,
    ) -> Result<ClaimsResult, RpcError> {
        let settings = self.settings();
        let provider = self.provider().await?;
        let Some(endpoint) = provider.extra().device_authorization_endpoint.clone() else {
            return Err(RpcError::new(
                ErrorCode::DeviceFlowUnsupported,
                format!(
                    "the identity provider {} offers no device sign-in (its discovery has no device_authorization_endpoint): sign in with a browser (`logto-companion sign-in`), or enable the device flow for this app at the provider (Logto: a Native app with the device flow)",
                    provider.issuer()
                ),
            ));
        };
        if params.clear_tokens != Some(false) {
            self.sign_out_before_sign_in().await?;
        }
        let scopes = flow::effective_scopes(settings.include_reserved, &settings.scopes);
        let resources = flow::effective_resources(&scopes, &settings.resources);
        let auth = self
            .idp(
                self.deps
                    .idp
                    .device_authorize(&endpoint, &self.key.app_id, &scopes, &resources),
            )
            .await?;
        let _ = outbox.send(
            Event::DeviceCode {
                flow_id: flow_id.to_string(),
                verification_uri: auth.verification_uri.clone(),
                user_code: auth.user_code.clone(),
                verification_uri_complete: auth.verification_uri_complete.clone(),
                expires_in: auth.expires_in,
            }
            .to_frame(),
        );
        tracing::info!(app = %self.key.app_id, "device sign-in started");
        let deadline = Instant::now() + Duration::from_secs(auth.expires_in);
        let mut interval = Duration::from_secs(auth.interval);
        loop {
            // §3.5: wait the interval *before* each request, the first too.
            // Biased: at the deadline no last poll goes out.
            tokio::select! {
                biased;
                _ = &mut cancel => return Err(cancelled()),
                _ = tokio::time::sleep_until(deadline) => return Err(expired()),
                _ = tokio::time::sleep(interval) => {}
            }
            let poll = self.deps.idp.device_poll(
                Arc::clone(&provider),
                &self.key.app_id,
                &auth.device_code,
            );
            let answer = tokio::select! {
                r = tokio::time::timeout(self.deps.http_timeout, poll) => r,
                _ = &mut cancel => return Err(cancelled()),
            };
            match answer {
                Ok(Ok(Poll::Pending)) => {}
                Ok(Ok(Poll::SlowDown)) => interval += Duration::from_secs(SLOW_DOWN_STEP_SECS),
                Ok(Ok(Poll::Tokens(set))) => return self.adopt(set, scopes, resources).await,
                Ok(Err(e)) => return Err(final_error(e)),
                // §3.5: on a timeout, back off as for slow_down and retry;
                // the deadline still bounds the whole.
                Err(_) => interval += Duration::from_secs(SLOW_DOWN_STEP_SECS),
            }
        }
    }
}

fn cancelled() -> RpcError {
    RpcError::new(
        ErrorCode::UserCancelled,
        "the device sign-in was cancelled (Ctrl-C, or cancelSignIn was called)",
    )
}

fn expired() -> RpcError {
    OidcError::Idp {
        error: "expired_token".into(),
        description: Some(
            "the device code expired before it was approved: start the sign-in again".into(),
        ),
    }
    .into()
}

/// `access_denied` and `expired_token` get a message that says what
/// happened in the person's terms; the provider's code stays in `data`.
fn final_error(e: OidcError) -> RpcError {
    match e {
        OidcError::Idp { error, description } if error == "access_denied" => OidcError::Idp {
            error,
            description: Some(
                description.unwrap_or_else(|| "the sign-in was denied on the other device".into()),
            ),
        }
        .into(),
        OidcError::Idp { error, .. } if error == "expired_token" => expired(),
        e => e.into(),
    }
}
