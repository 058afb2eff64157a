//! A validated `install` request: the arguments checked and normalized
//! once, so planning and applying never see a malformed id or URL.

use super::browsers::{Family, Scope};
use super::manifest;
use super::InstallArgs;
use crate::config::normalize_endpoint;
use crate::fsx;
use crate::protocol::Origin;
use crate::util::push_unique;
use anyhow::Context;
use std::path::{Path, PathBuf};

/// A validated `install` request.
#[derive(Clone, Debug)]
pub struct Spec {
    pub endpoint: String,
    pub app_id: String,
    /// `chrome-extension://<id>/` origins.
    pub chrome_origins: Vec<String>,
    pub firefox_ids: Vec<String>,
    pub scope: Scope,
    pub host: String,
    pub binary: PathBuf,
    /// `Some(false)` with `--no-cli`.
    pub allow_cli: Option<bool>,
    pub scopes: Vec<String>,
    pub resources: Vec<String>,
    pub redirect_ports: Vec<u16>,
    pub post_logout_redirect_uri: Option<String>,
    pub issuer: Option<String>,
}

impl Spec {
    pub fn ids(&self, family: Family) -> &[String] {
        match family {
            Family::Chromium => &self.chrome_origins,
            Family::Firefox => &self.firefox_ids,
        }
    }

    /// Validates and normalizes the arguments; every error says what is
    /// wrong and what a valid value looks like. `notes` gets what was
    /// taken differently from how it was given.
    pub fn from_args(args: &InstallArgs, notes: &mut Vec<String>) -> anyhow::Result<Spec> {
        let endpoint = normalize_endpoint(&args.endpoint);
        check_url("--endpoint", &endpoint)?;
        if args.app_id.trim().is_empty() || args.app_id.chars().any(char::is_whitespace) {
            anyhow::bail!("--app-id {:?} is empty or contains spaces", args.app_id);
        }
        let mut chrome = Vec::new();
        let mut firefox = Vec::new();
        for raw in &args.extension_ids {
            let id = raw
                .trim()
                .trim_start_matches("chrome-extension://")
                .trim_end_matches('/');
            if Origin::is_chrome_id(id) {
                push_unique(&mut chrome, Origin::Chromium(id.to_string()).to_string());
            } else if Origin::is_firefox_id(id) {
                notes.push(format!(
                    "{id:?} is a Firefox add-on id; taking it as --firefox-id {id}"
                ));
                push_unique(&mut firefox, id.to_string());
            } else {
                anyhow::bail!(
                    "--extension-id {raw:?} is not a Chromium extension id: it must be 32 letters a-p (as shown on chrome://extensions)"
                );
            }
        }
        for raw in &args.firefox_ids {
            let id = raw.trim();
            if !Origin::is_firefox_id(id) {
                anyhow::bail!(
                    "--firefox-id {raw:?} is not a Firefox add-on id: it must look like name@example.org or {{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}} (browser_specific_settings.gecko.id)"
                );
            }
            push_unique(&mut firefox, id.to_string());
        }
        if !manifest::valid_host_name(&args.host_name) {
            anyhow::bail!(
                "--host-name {:?} is not valid: use lowercase letters, digits, '_' and '.' (not at either end, no '..')",
                args.host_name
            );
        }
        for r in &args.resources {
            check_url("--resource", r)?;
        }
        if let Some(u) = &args.post_logout_redirect_uri {
            url::Url::parse(u)
                .with_context(|| format!("--post-logout-redirect-uri {u:?} is not a URL"))?;
        }
        if let Some(i) = &args.issuer {
            check_url("--issuer", i)?;
        }
        for s in &args.scopes {
            if s.is_empty() || s.chars().any(char::is_whitespace) {
                anyhow::bail!("--scope {s:?}: one scope per --scope, without spaces");
            }
        }
        let binary = match &args.hidden.binary {
            Some(b) => fsx::absolute(b),
            None => thin_binary()?,
        };
        if !binary.is_file() {
            anyhow::bail!("the host binary {} does not exist", binary.display());
        }
        Ok(Spec {
            endpoint,
            app_id: args.app_id.trim().to_string(),
            chrome_origins: chrome,
            firefox_ids: firefox,
            scope: Scope::from_flag(args.system),
            host: args.host_name.clone(),
            binary,
            allow_cli: args.no_cli.then_some(false),
            scopes: args.scopes.clone(),
            resources: args.resources.clone(),
            redirect_ports: args.redirect_ports.clone(),
            post_logout_redirect_uri: args.post_logout_redirect_uri.clone(),
            issuer: args
                .issuer
                .as_deref()
                .map(|i| i.trim_end_matches('/').to_string()),
        })
    }
}

/// The thin binary beside us (this is the daemon binary, which browsers
/// never start), resolved as the manifests name it.
pub(in crate::install) fn thin_binary() -> anyhow::Result<PathBuf> {
    let thin =
        crate::paths::beside_this_program(crate::paths::THIN_BIN).map_err(anyhow::Error::msg)?;
    resolved(&thin)
}

/// `p` with links resolved, in the plain form a manifest or record holds.
pub(in crate::install) fn resolved(p: &Path) -> anyhow::Result<PathBuf> {
    p.canonicalize()
        .map(plain_path)
        .with_context(|| format!("cannot resolve {}", p.display()))
}

/// Windows' `canonicalize` gives `\\?\C:\...`; browsers want `C:\...`.
pub(in crate::install) fn plain_path(p: PathBuf) -> PathBuf {
    let s = p.to_string_lossy();
    match s.strip_prefix(r"\\?\") {
        Some(rest) if !rest.starts_with("UNC\\") => PathBuf::from(rest),
        _ => p,
    }
}

fn check_url(flag: &str, s: &str) -> anyhow::Result<()> {
    let u = url::Url::parse(s).map_err(|e| {
        anyhow::anyhow!(
            "{flag} {s:?} is not a URL ({e}); expected e.g. https://your-tenant.logto.app"
        )
    })?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        anyhow::bail!("{flag} {s:?} must be an http(s) URL with a host");
    }
    if u.query().is_some() || u.fragment().is_some() {
        anyhow::bail!("{flag} {s:?} must not have a query or fragment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn verbatim_windows_paths_are_made_plain() {
        use std::path::PathBuf;
        assert_eq!(
            super::plain_path(PathBuf::from(r"\\?\C:\Users\u\lc.exe")),
            PathBuf::from(r"C:\Users\u\lc.exe")
        );
        let unc = PathBuf::from(r"\\?\UNC\server\share\lc.exe");
        assert_eq!(super::plain_path(unc.clone()), unc);
        assert_eq!(
            super::plain_path(PathBuf::from("/usr/bin/lc")),
            PathBuf::from("/usr/bin/lc")
        );
    }
}
