//! What one `install` changed in an app's `config.toml` entry, recorded so
//! `uninstall` takes back exactly that: merging the request into the entry,
//! reverting it, and folding several installs of the same app into one.

use super::add_missing;
use super::spec::Spec;
use crate::config::{normalize_endpoint, AppConfig, Config};
use crate::util::push_unique;
use serde::{Deserialize, Serialize};

/// The change to one app entry. Lists hold what was not there before (the
/// ones uninstall removes); each replaced value keeps what it replaced.
/// The field names are the install record's format: keep them.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct ConfigChange {
    /// The entry did not exist: uninstall removes it whole.
    pub created_app: bool,
    #[serde(default)]
    pub added_origins: Vec<String>,
    #[serde(default)]
    pub added_scopes: Vec<String>,
    #[serde(default)]
    pub added_resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added_redirect_ports: Vec<u16>,
    /// `allow_cli` before `--no-cli` changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_allow_cli: Option<bool>,
    #[serde(default)]
    pub post_logout_changed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_post_logout: Option<String>,
    #[serde(default)]
    pub issuer_changed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_issuer: Option<String>,
}

/// Sets `slot` to `wanted` when that is given and differs; returns what it
/// replaced.
fn replace<T: PartialEq>(slot: &mut T, wanted: Option<T>) -> Option<T> {
    match wanted {
        Some(v) if *slot != v => Some(std::mem::replace(slot, v)),
        _ => None,
    }
}

impl ConfigChange {
    /// Registers the app in `cfg`, or merges the request into its entry;
    /// `None` when the entry is already as asked (nothing to record).
    pub fn apply(cfg: &mut Config, spec: &Spec) -> Option<ConfigChange> {
        let mut origins = spec.chrome_origins.clone();
        origins.extend(spec.firefox_ids.iter().cloned());
        let Some(app) = cfg
            .apps
            .iter_mut()
            .find(|a| a.matches(&spec.endpoint, &spec.app_id))
        else {
            cfg.apps.push(AppConfig {
                endpoint: normalize_endpoint(&spec.endpoint),
                app_id: spec.app_id.clone(),
                issuer: spec.issuer.clone(),
                allowed_origins: origins.clone(),
                allow_cli: spec.allow_cli.unwrap_or(true),
                scopes: spec.scopes.clone(),
                resources: spec.resources.clone(),
                redirect_ports: spec.redirect_ports.clone(),
                post_logout_redirect_uri: spec.post_logout_redirect_uri.clone(),
                ..AppConfig::default()
            });
            return Some(ConfigChange {
                created_app: true,
                added_origins: origins,
                added_scopes: spec.scopes.clone(),
                added_resources: spec.resources.clone(),
                added_redirect_ports: spec.redirect_ports.clone(),
                ..ConfigChange::default()
            });
        };
        let post_logout = replace(
            &mut app.post_logout_redirect_uri,
            spec.post_logout_redirect_uri.clone().map(Some),
        );
        let issuer = replace(&mut app.issuer, spec.issuer.clone().map(Some));
        let change = ConfigChange {
            created_app: false,
            added_origins: add_missing(&mut app.allowed_origins, &origins),
            added_scopes: add_missing(&mut app.scopes, &spec.scopes),
            added_resources: add_missing(&mut app.resources, &spec.resources),
            added_redirect_ports: add_missing(&mut app.redirect_ports, &spec.redirect_ports),
            previous_allow_cli: replace(&mut app.allow_cli, spec.allow_cli),
            post_logout_changed: post_logout.is_some(),
            previous_post_logout: post_logout.flatten(),
            issuer_changed: issuer.is_some(),
            previous_issuer: issuer.flatten(),
        };
        (change != ConfigChange::default()).then_some(change)
    }

    /// Takes this change back out of `app` (not for a created entry: that
    /// one is removed whole).
    pub fn revert(&self, app: &mut AppConfig) {
        app.allowed_origins
            .retain(|o| !self.added_origins.contains(o));
        app.scopes.retain(|o| !self.added_scopes.contains(o));
        app.resources.retain(|o| !self.added_resources.contains(o));
        app.redirect_ports
            .retain(|p| !self.added_redirect_ports.contains(p));
        if let Some(v) = self.previous_allow_cli {
            app.allow_cli = v;
        }
        if self.post_logout_changed {
            app.post_logout_redirect_uri = self.previous_post_logout.clone();
        }
        if self.issuer_changed {
            app.issuer = self.previous_issuer.clone();
        }
    }

    /// Takes over what `other` added, when it goes and this one stays (the
    /// same app installed in the other scope keeps the entry).
    pub fn adopt(&mut self, other: &ConfigChange) {
        self.created_app |= other.created_app;
        for (mine, theirs) in [
            (&mut self.added_origins, &other.added_origins),
            (&mut self.added_scopes, &other.added_scopes),
            (&mut self.added_resources, &other.added_resources),
        ] {
            for x in theirs {
                push_unique(mine, x.clone());
            }
        }
        for p in &other.added_redirect_ports {
            push_unique(&mut self.added_redirect_ports, *p);
        }
    }

    /// Folds a later install of the same app into this one: the earliest
    /// value before any install is what uninstall puts back.
    pub fn absorb(&mut self, later: ConfigChange) {
        self.adopt(&later);
        if self.created_app {
            return;
        }
        if self.previous_allow_cli.is_none() {
            self.previous_allow_cli = later.previous_allow_cli;
        }
        if !self.post_logout_changed && later.post_logout_changed {
            self.post_logout_changed = true;
            self.previous_post_logout = later.previous_post_logout;
        }
        if !self.issuer_changed && later.issuer_changed {
            self.issuer_changed = true;
            self.previous_issuer = later.previous_issuer;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::browsers::Scope;

    fn spec() -> Spec {
        Spec {
            endpoint: "https://e.example".into(),
            app_id: "app".into(),
            chrome_origins: vec!["chrome-extension://abcdefghijklmnopabcdefghijklmnop/".into()],
            firefox_ids: vec!["a@b".into()],
            scope: Scope::User,
            host: "logto_companion".into(),
            binary: "/bin/lc".into(),
            allow_cli: None,
            scopes: vec!["phone".into()],
            resources: vec![],
            redirect_ports: vec![],
            post_logout_redirect_uri: None,
            issuer: None,
        }
    }

    #[test]
    fn pinned_ports_are_added_and_taken_back() {
        let mut cfg = Config::default();
        let mut app = other_app();
        app.endpoint = "https://e.example".into();
        app.app_id = "app".into();
        app.redirect_ports = vec![8700];
        cfg.apps.push(app.clone());
        let mut s = spec();
        s.redirect_ports = vec![8700, 8701];
        let ch = ConfigChange::apply(&mut cfg, &s).unwrap();
        assert_eq!(ch.added_redirect_ports, [8701]);
        assert_eq!(cfg.apps[0].pinned_ports(), [8700, 8701]);
        ch.revert(&mut cfg.apps[0]);
        assert_eq!(
            cfg.apps[0].redirect_ports,
            [8700],
            "only what install added goes"
        );
    }

    fn other_app() -> AppConfig {
        AppConfig {
            endpoint: "https://other.example".into(),
            app_id: "other".into(),
            issuer: None,
            allowed_origins: vec!["x@y".into()],
            allow_cli: true,
            scopes: vec![],
            resources: vec![],
            post_logout_redirect_uri: None,
            ..AppConfig::default()
        }
    }

    #[test]
    fn config_change_merges_and_reverts() {
        let mut cfg = Config::default();
        cfg.apps.push(other_app());
        let before = cfg.clone();
        let ch = ConfigChange::apply(&mut cfg, &spec()).unwrap();
        assert!(ch.created_app);
        assert_eq!(cfg.apps.len(), 2);
        assert_eq!(cfg.apps[0], before.apps[0]);
        // Same again: nothing to record.
        assert!(ConfigChange::apply(&mut cfg, &spec()).is_none());
        // --no-cli on the existing app is a recorded change.
        let mut s = spec();
        s.allow_cli = Some(false);
        s.endpoint = "https://e.example/".into();
        let ch = ConfigChange::apply(&mut cfg, &s).unwrap();
        assert!(!ch.created_app);
        assert_eq!(ch.previous_allow_cli, Some(true));
        assert!(!cfg.apps[1].allow_cli);
        ch.revert(&mut cfg.apps[1]);
        assert!(cfg.apps[1].allow_cli);
    }

    #[test]
    fn revert_puts_back_exactly_what_was_replaced() {
        let mut cfg = Config::default();
        let mut app = other_app();
        app.endpoint = "https://e.example".into();
        app.app_id = "app".into();
        app.post_logout_redirect_uri = Some("https://old.example/bye".into());
        cfg.apps.push(app.clone());
        let mut s = spec();
        s.post_logout_redirect_uri = Some("https://new.example/bye".into());
        s.issuer = Some("https://idp.example".into());
        s.resources = vec!["https://api.example".into()];
        let ch = ConfigChange::apply(&mut cfg, &s).unwrap();
        assert!(ch.post_logout_changed && ch.issuer_changed);
        assert_eq!(
            ch.previous_post_logout.as_deref(),
            Some("https://old.example/bye")
        );
        assert_eq!(ch.previous_issuer, None);
        assert_eq!(ch.added_origins.len(), 2);
        ch.revert(&mut cfg.apps[0]);
        assert_eq!(cfg.apps[0], app);
    }

    #[test]
    fn absorb_keeps_the_earliest_previous_values() {
        let first = ConfigChange {
            previous_allow_cli: Some(true),
            added_scopes: vec!["a".into()],
            ..Default::default()
        };
        let later = ConfigChange {
            previous_allow_cli: Some(false),
            added_scopes: vec!["a".into(), "b".into()],
            issuer_changed: true,
            previous_issuer: Some("https://first.example".into()),
            ..Default::default()
        };
        let mut folded = first.clone();
        folded.absorb(later.clone());
        assert_eq!(folded.previous_allow_cli, Some(true));
        assert_eq!(folded.added_scopes, ["a", "b"]);
        assert!(folded.issuer_changed);
        assert_eq!(
            folded.previous_issuer.as_deref(),
            Some("https://first.example")
        );
        // A created entry is removed whole: no previous values to keep.
        let mut created = ConfigChange {
            created_app: true,
            ..Default::default()
        };
        created.absorb(later);
        assert!(!created.issuer_changed && created.previous_allow_cli.is_none());
    }
}
