//! One app session (placeholder until the sign-in engine lands).

use super::events::{Outbox, Subscribers};
use super::Daemon;
use crate::config::{normalize_endpoint, AppConfig, Config};
use crate::paths::Paths;
use crate::protocol::{AppParams, ErrorCode, Method, RpcError};
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppKey {
    pub endpoint: String,
    pub app_id: String,
}

impl AppKey {
    pub fn new(endpoint: &str, app_id: &str) -> AppKey {
        AppKey {
            endpoint: normalize_endpoint(endpoint),
            app_id: app_id.to_string(),
        }
    }
}

pub struct SessionDeps {}

impl SessionDeps {
    pub fn new(_config: &Config, _paths: &Paths) -> anyhow::Result<SessionDeps> {
        Ok(SessionDeps {})
    }
    pub fn store_description(&self) -> Value {
        json!({"kind": "memory"})
    }
}

pub struct Session {
    pub key: AppKey,
    pub subscribers: Subscribers,
    _deps: Arc<SessionDeps>,
}

impl Session {
    pub fn new(key: AppKey, deps: Arc<SessionDeps>) -> Session {
        Session { key, subscribers: Subscribers::default(), _deps: deps }
    }
    pub fn update_app_config(&self, _app: &AppConfig) {}
    pub fn apply_client_params(&self, _app: &AppParams) {}
    pub async fn is_authenticated(&self) -> Result<bool, RpcError> {
        Ok(false)
    }
    pub async fn status(&self) -> Value {
        json!({"endpoint": self.key.endpoint, "appId": self.key.app_id, "authenticated": false})
    }
    pub async fn handle(
        &self,
        _daemon: &Arc<Daemon>,
        method: Method,
        _params: &Value,
        _conn_id: u64,
        _outbox: &Outbox,
    ) -> Result<Value, RpcError> {
        if method == Method::IsAuthenticated {
            return Ok(json!({"authenticated": false}));
        }
        Err(RpcError::new(ErrorCode::NotAuthenticated, "not signed in"))
    }
}
