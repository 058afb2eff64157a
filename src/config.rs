//! `config.toml`: the registered apps, who may use them, and daemon settings.
//!
//! The installer writes it; the daemon re-reads it when it changes, so an
//! `install` takes effect without restarting anything.

use crate::protocol::Origin;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Which keychain backend holds the sessions.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// The platform's keychain: Secret Service on Linux, Keychain on macOS,
    /// Credential Manager on Windows.
    #[default]
    Keychain,
    /// Linux kernel keyutils (session keyring): survives daemon restarts,
    /// not reboots. An explicit choice for machines without Secret Service.
    Keyutils,
    /// In-memory, lost when the daemon exits. For tests; never chosen
    /// silently.
    Memory,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Config {
    /// Keychain backend.
    #[serde(default)]
    pub store: StoreKind,
    /// The daemon exits after this many seconds without clients; 0 = never.
    #[serde(default = "default_idle")]
    pub idle_timeout_secs: u64,
    /// A sign-in the user does not finish in this time fails with
    /// `user_cancelled`.
    #[serde(default = "default_sign_in_timeout")]
    pub sign_in_timeout_secs: u64,
    /// Timeout of every request to the IdP.
    #[serde(default = "default_http_timeout")]
    pub http_timeout_secs: u64,
    /// Largest frame accepted from a client, in bytes.
    #[serde(default = "default_max_frame")]
    pub max_frame: usize,
    #[serde(default)]
    pub apps: Vec<AppConfig>,
}

fn default_idle() -> u64 {
    600
}
fn default_sign_in_timeout() -> u64 {
    300
}
fn default_http_timeout() -> u64 {
    10
}
fn default_max_frame() -> usize {
    crate::codec::DEFAULT_MAX_INBOUND
}
fn default_true() -> bool {
    true
}

impl Default for Config {
    fn default() -> Self {
        Config {
            store: StoreKind::default(),
            idle_timeout_secs: default_idle(),
            sign_in_timeout_secs: default_sign_in_timeout(),
            http_timeout_secs: default_http_timeout(),
            max_frame: default_max_frame(),
            apps: Vec::new(),
        }
    }
}

/// One registered app (a Logto "Native app").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppConfig {
    /// The Logto endpoint, e.g. `https://tenant.logto.app` (issuer is
    /// `{endpoint}/oidc`).
    pub endpoint: String,
    pub app_id: String,
    /// The OpenID issuer; default `{endpoint}/oidc` (Logto). Set it for other
    /// OpenID Providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Who may use this app: `chrome-extension://<id>/` origins and Firefox
    /// add-on ids.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Whether the `logto-companion` CLI may use this app's session.
    #[serde(default = "default_true")]
    pub allow_cli: bool,
    /// Scopes requested on top of `openid offline_access profile`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// API resources (RFC 8707) this app may ask tokens for.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Sent with sign-out; must match a registered URI exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uri: Option<String>,
    /// Further post-logout URIs a caller may ask for (`signOut(uri)`); any
    /// other the caller passes is dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// The loopback port for providers that match `redirect_uri` as an
    /// exact string (RFC 8252 §7.3 says they should not; many do). Without
    /// it any free port is used (Logto accepts any loopback port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_port: Option<u16>,
    /// More ports, tried in order after `redirect_port`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_ports: Vec<u16>,
}

/// Endpoints compare without a trailing slash.
pub fn normalize_endpoint(endpoint: &str) -> String {
    endpoint.trim().trim_end_matches('/').to_string()
}

impl Default for AppConfig {
    fn default() -> AppConfig {
        AppConfig {
            endpoint: String::new(),
            app_id: String::new(),
            issuer: None,
            allowed_origins: vec![],
            allow_cli: true,
            scopes: vec![],
            resources: vec![],
            post_logout_redirect_uri: None,
            post_logout_redirect_uris: vec![],
            redirect_port: None,
            redirect_ports: vec![],
        }
    }
}

impl AppConfig {
    /// The OpenID issuer: `issuer` when set (other providers), else Logto's
    /// `{endpoint}/oidc`. The daemon signs in against it and `doctor`
    /// checks discovery against it, so the default is written once.
    pub fn issuer(&self) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("{}/oidc", normalize_endpoint(&self.endpoint)))
    }

    /// The pinned loopback ports in the order they are tried; empty = any.
    pub fn pinned_ports(&self) -> Vec<u16> {
        let mut ports = Vec::new();
        for p in self.redirect_port.iter().chain(&self.redirect_ports) {
            crate::util::push_unique(&mut ports, *p);
        }
        ports
    }

    /// Whether a caller may ask for `uri` after logout: the configured one
    /// or one of the extra list.
    pub fn allows_post_logout(&self, uri: &str) -> bool {
        self.post_logout_redirect_uri.as_deref() == Some(uri)
            || self.post_logout_redirect_uris.iter().any(|u| u == uri)
    }

    pub fn matches(&self, endpoint: &str, app_id: &str) -> bool {
        normalize_endpoint(&self.endpoint) == normalize_endpoint(endpoint) && self.app_id == app_id
    }

    pub fn allows_origin(&self, origin: &Origin) -> bool {
        match origin {
            Origin::Cli => self.allow_cli,
            other => {
                let origin = other.to_string();
                self.allowed_origins.contains(&origin)
            }
        }
    }
}

impl Config {
    /// Loads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        toml::from_str(&text).map_err(|e| {
            // One line (it travels in error replies and readiness lines),
            // with the position.
            let at = e
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            ConfigError::Parse {
                path: path.to_path_buf(),
                message: format!("{}{at}", e.message().trim()),
            }
        })
    }

    /// Writes atomically (`fsx::write_atomic`: temp file + rename) so a
    /// crash never leaves half a config behind and the daemon, which polls
    /// the file, never reads one.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let write_err = |source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        };
        let text = toml::to_string_pretty(self).map_err(|e| {
            write_err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e.to_string(),
            ))
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        // Nothing in it is secret; 0644 is what the plain write gave before.
        crate::fsx::write_atomic(path, text.as_bytes(), 0o644).map_err(write_err)
    }

    pub fn find_app(&self, endpoint: &str, app_id: &str) -> Option<&AppConfig> {
        self.apps.iter().find(|a| a.matches(endpoint, app_id))
    }

    /// The app a command-line command is about: `app_id` when given, else
    /// the only app that allows the command line. The daemon applies this
    /// rule to a CLI `hello` without an endpoint (the thin `token` reads no
    /// config), and the daemon binary's own commands apply it too, so every
    /// command picks the same app. `config_file` only names the file in
    /// messages.
    pub fn pick_cli_app(
        &self,
        app_id: Option<&str>,
        config_file: &Path,
    ) -> Result<&AppConfig, CliAppError> {
        let usable: Vec<&AppConfig> = self.apps.iter().filter(|a| a.allow_cli).collect();
        if let Some(id) = app_id.filter(|id| !id.is_empty()) {
            return usable
                .iter()
                .find(|a| a.app_id == id)
                .copied()
                .ok_or_else(|| {
                    if self.apps.iter().any(|a| a.app_id == id) {
                        CliAppError::NotAllowed {
                            app_id: id.to_string(),
                            config_file: config_file.to_path_buf(),
                        }
                    } else {
                        CliAppError::NotRegistered {
                            app_id: id.to_string(),
                            registered: list_apps(self.apps.iter()),
                        }
                    }
                });
        }
        match usable.as_slice() {
            [only] => Ok(only),
            [] if self.apps.is_empty() => Err(CliAppError::NoneRegistered {
                config_file: config_file.to_path_buf(),
            }),
            [] => Err(CliAppError::NoneAllowed {
                registered: list_apps(self.apps.iter()),
            }),
            many => Err(CliAppError::Several {
                usable: list_apps(many.iter().copied()),
            }),
        }
    }
}

fn list_apps<'a>(apps: impl Iterator<Item = &'a AppConfig>) -> String {
    apps.map(|a| format!("{} ({})", a.app_id, a.endpoint))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why no app could be chosen for a command-line command; each message
/// names the fix.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CliAppError {
    #[error("app {app_id:?} does not allow the command line (allow_cli = false in {})", config_file.display())]
    NotAllowed {
        app_id: String,
        config_file: PathBuf,
    },
    #[error("app {app_id:?} is not registered; registered: {registered}")]
    NotRegistered { app_id: String, registered: String },
    #[error("no app is registered in {}; run `logto-companion install --endpoint <url> --app-id <id> …`", config_file.display())]
    NoneRegistered { config_file: PathBuf },
    #[error("no registered app allows the command line (allow_cli); registered: {registered}")]
    NoneAllowed { registered: String },
    #[error("several apps are registered; choose one with --app-id: {usable}")]
    Several { usable: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_apps_with_defaults() {
        let cfg: Config = toml::from_str(
            r#"
            [[apps]]
            endpoint = "http://127.0.0.1:3001/"
            app_id = "native-test-app"
            allowed_origins = ["chrome-extension://abcdefghijklmnopabcdefghijklmnop/"]
            "#,
        )
        .unwrap();
        assert_eq!(cfg.idle_timeout_secs, 600);
        assert_eq!(cfg.store, StoreKind::Keychain);
        let app = cfg
            .find_app("http://127.0.0.1:3001", "native-test-app")
            .unwrap();
        assert!(app.allow_cli);
        let origin = |s: &str| s.parse::<Origin>().unwrap();
        assert!(app.allows_origin(&origin(
            "chrome-extension://abcdefghijklmnopabcdefghijklmnop/"
        )));
        assert!(!app.allows_origin(&origin(
            "chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba/"
        )));
        assert!(app.allows_origin(&Origin::Cli));
    }

    #[test]
    fn missing_file_is_empty_and_bad_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert!(Config::load(&path).unwrap().apps.is_empty());
        std::fs::write(&path, "apps = 3").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("config.toml is not valid"), "{err}");
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        let mut cfg = Config {
            store: StoreKind::Keyutils,
            ..Default::default()
        };
        cfg.apps.push(AppConfig {
            endpoint: "https://a.example".into(),
            app_id: "x".into(),
            issuer: None,
            allowed_origins: vec!["ext@id".into()],
            allow_cli: false,
            scopes: vec!["phone".into()],
            resources: vec![],
            post_logout_redirect_uri: None,
            post_logout_redirect_uris: vec![],
            redirect_port: None,
            redirect_ports: vec![],
        });
        cfg.save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), cfg);
        // Saved again over the old one, through a rename: no temporary left.
        cfg.save(&path).unwrap();
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn issuer_defaults_to_the_logto_path_unless_set() {
        let mut app: AppConfig = toml::from_str(
            r#"
            endpoint = "https://t.example/"
            app_id = "a"
            "#,
        )
        .unwrap();
        assert_eq!(app.issuer(), "https://t.example/oidc");
        app.issuer = Some("https://idp.example/realms/x".into());
        assert_eq!(app.issuer(), "https://idp.example/realms/x");
    }
}
