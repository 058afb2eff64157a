//! The session's view of the identity provider: the calls it makes, behind
//! one small trait so the session's rules run against a fake provider in
//! unit tests. [`Oidc`] (real HTTP, real validation) implements it.

use crate::oidc::device::{self, DeviceAuthorization, Poll};
use crate::oidc::tokens::{self, TokenSet};
use crate::oidc::{Oidc, OidcError, Provider};
use crate::secret::Secret;
use futures_util::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;

pub type IdpResult<'a, T> = BoxFuture<'a, Result<T, OidcError>>;

/// What the session needs for one code exchange.
pub struct CodeExchange<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code: &'a Secret,
    pub pkce_verifier: &'a Secret,
    pub nonce: &'a Secret,
}

pub trait Idp: Send + Sync {
    /// The provider's metadata (cached by the implementation).
    fn provider<'a>(&'a self, issuer: &'a str) -> IdpResult<'a, Arc<Provider>>;
    /// Metadata already at hand, without a network call.
    fn cached(&self, issuer: &str) -> Option<Arc<Provider>>;
    /// Pushes the authorization request (RFC 9126) to `endpoint`; returns
    /// the URL the browser opens.
    fn push_authorization<'a>(
        &'a self,
        provider: &'a Provider,
        endpoint: &'a str,
        client_id: &'a str,
        auth_url: &'a str,
    ) -> IdpResult<'a, String>;
    /// Authorization code → tokens, the ID token validated (nonce included).
    fn exchange_code<'a>(
        &'a self,
        provider: Arc<Provider>,
        req: CodeExchange<'a>,
    ) -> IdpResult<'a, TokenSet>;
    /// One refresh-token grant, for a resource and/or organization.
    fn refresh<'a>(
        &'a self,
        provider: Arc<Provider>,
        client_id: &'a str,
        refresh_token: &'a Secret,
        resource: Option<&'a str>,
        organization_id: Option<&'a str>,
    ) -> IdpResult<'a, TokenSet>;
    /// Revokes a refresh token (RFC 7009).
    fn revoke<'a>(
        &'a self,
        provider: &'a Provider,
        client_id: &'a str,
        refresh_token: &'a Secret,
    ) -> IdpResult<'a, ()>;
    fn userinfo<'a>(
        &'a self,
        provider: &'a Provider,
        access_token: &'a Secret,
    ) -> IdpResult<'a, Value>;
    /// The device authorization request (RFC 8628 §3.1) to `endpoint`.
    fn device_authorize<'a>(
        &'a self,
        endpoint: &'a str,
        client_id: &'a str,
        scopes: &'a [String],
        resources: &'a [String],
    ) -> IdpResult<'a, DeviceAuthorization>;
    /// One device access token request (RFC 8628 §3.4); the ID token of a
    /// success validated.
    fn device_poll<'a>(
        &'a self,
        provider: Arc<Provider>,
        client_id: &'a str,
        device_code: &'a Secret,
    ) -> IdpResult<'a, Poll>;
}

impl Idp for Oidc {
    fn provider<'a>(&'a self, issuer: &'a str) -> IdpResult<'a, Arc<Provider>> {
        Box::pin(Oidc::provider(self, issuer))
    }

    fn cached(&self, issuer: &str) -> Option<Arc<Provider>> {
        Oidc::cached(self, issuer)
    }

    fn push_authorization<'a>(
        &'a self,
        provider: &'a Provider,
        endpoint: &'a str,
        client_id: &'a str,
        auth_url: &'a str,
    ) -> IdpResult<'a, String> {
        Box::pin(crate::oidc::par::push(
            self, provider, endpoint, client_id, auth_url,
        ))
    }

    fn exchange_code<'a>(
        &'a self,
        provider: Arc<Provider>,
        req: CodeExchange<'a>,
    ) -> IdpResult<'a, TokenSet> {
        Box::pin(tokens::exchange_code(
            self,
            provider,
            req.client_id,
            req.redirect_uri,
            req.code,
            req.pkce_verifier,
            req.nonce,
        ))
    }

    fn refresh<'a>(
        &'a self,
        provider: Arc<Provider>,
        client_id: &'a str,
        refresh_token: &'a Secret,
        resource: Option<&'a str>,
        organization_id: Option<&'a str>,
    ) -> IdpResult<'a, TokenSet> {
        Box::pin(tokens::refresh(
            self,
            provider,
            client_id,
            refresh_token,
            resource,
            organization_id,
        ))
    }

    fn revoke<'a>(
        &'a self,
        provider: &'a Provider,
        client_id: &'a str,
        refresh_token: &'a Secret,
    ) -> IdpResult<'a, ()> {
        Box::pin(tokens::revoke(
            self,
            provider,
            client_id,
            refresh_token,
            "refresh_token",
        ))
    }

    fn userinfo<'a>(
        &'a self,
        provider: &'a Provider,
        access_token: &'a Secret,
    ) -> IdpResult<'a, Value> {
        Box::pin(tokens::userinfo(self, provider, access_token))
    }

    fn device_authorize<'a>(
        &'a self,
        endpoint: &'a str,
        client_id: &'a str,
        scopes: &'a [String],
        resources: &'a [String],
    ) -> IdpResult<'a, DeviceAuthorization> {
        Box::pin(device::authorize(
            self, endpoint, client_id, scopes, resources,
        ))
    }

    fn device_poll<'a>(
        &'a self,
        provider: Arc<Provider>,
        client_id: &'a str,
        device_code: &'a Secret,
    ) -> IdpResult<'a, Poll> {
        Box::pin(device::poll(self, provider, client_id, device_code))
    }
}
