//! Who is calling: the one place that parses and formats origins.
//!
//! The browser tells the host who started it (`chrome-extension://<id>/`
//! for the Chromium family, the add-on id for Firefox); the CLI presents
//! `cli`. The daemon believes the origin because only same-user peers reach
//! its socket; `config.toml` lists the origins each app allows.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A Chromium-family extension, by its 32-letter id (a–p).
    Chromium(String),
    /// A Firefox add-on, by its id (`name@domain` or `{GUID}`).
    Firefox(String),
    /// The command line.
    Cli,
}

const CHROME_PREFIX: &str = "chrome-extension://";
const CLI: &str = "cli";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadOrigin(pub String);

impl fmt::Display for BadOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an origin: expected chrome-extension://<32-letter id>/, a Firefox add-on id (name@domain or {{GUID}}), or \"cli\"",
            self.0
        )
    }
}

impl std::error::Error for BadOrigin {}

impl Origin {
    /// A Chromium extension id: 32 letters a–p.
    pub fn is_chrome_id(id: &str) -> bool {
        id.len() == 32 && id.bytes().all(|b| (b'a'..=b'p').contains(&b))
    }

    /// A Firefox add-on id: an email-like string or a `{GUID}`.
    pub fn is_firefox_id(id: &str) -> bool {
        if id.is_empty() || id.len() > 255 || id.chars().any(|c| c.is_whitespace() || c == '/') {
            return false;
        }
        if let Some(inner) = id.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            let parts: Vec<&str> = inner.split('-').collect();
            return parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
                && inner.chars().all(|c| c == '-' || c.is_ascii_hexdigit());
        }
        // `name@domain`; the local part may be empty (`@addon-name`).
        id.split_once('@')
            .is_some_and(|(_, domain)| !domain.is_empty() && !domain.contains('@'))
    }

    /// The installer flag that registers this origin for an app.
    pub fn install_flag(&self) -> String {
        match self {
            Origin::Chromium(id) => format!("--extension-id {id}"),
            Origin::Firefox(id) => format!("--firefox-id {id}"),
            Origin::Cli => "(without --no-cli)".into(),
        }
    }

    /// How an error message names the caller.
    pub fn describe(&self) -> String {
        match self {
            Origin::Cli => "the command line (allow_cli is false)".into(),
            other => format!("origin {other}"),
        }
    }
}

impl FromStr for Origin {
    type Err = BadOrigin;

    fn from_str(s: &str) -> Result<Origin, BadOrigin> {
        if s == CLI {
            return Ok(Origin::Cli);
        }
        if let Some(rest) = s.strip_prefix(CHROME_PREFIX) {
            let id = rest.strip_suffix('/').unwrap_or(rest);
            return if Origin::is_chrome_id(id) {
                Ok(Origin::Chromium(id.to_string()))
            } else {
                Err(BadOrigin(s.to_string()))
            };
        }
        if Origin::is_firefox_id(s) {
            return Ok(Origin::Firefox(s.to_string()));
        }
        Err(BadOrigin(s.to_string()))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Chromium(id) => write!(f, "{CHROME_PREFIX}{id}/"),
            Origin::Firefox(id) => f.write_str(id),
            Origin::Cli => f.write_str(CLI),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "abcdefghijklmnopabcdefghijklmnop";

    #[test]
    fn origins_parse_and_print_back() {
        for s in [
            format!("chrome-extension://{ID}/"),
            "companion@example.org".to_string(),
            "{01234567-89ab-cdef-0123-456789abcdef}".to_string(),
            "cli".to_string(),
        ] {
            assert_eq!(s.parse::<Origin>().unwrap().to_string(), s);
        }
        // Chrome passes the trailing slash; a hand-typed one may not.
        assert_eq!(
            format!("chrome-extension://{ID}")
                .parse::<Origin>()
                .unwrap(),
            Origin::Chromium(ID.into())
        );
    }

    #[test]
    fn junk_is_not_an_origin() {
        for s in [
            "",
            "chrome-extension://short/",
            "chrome-extension://ABCDEFGHIJKLMNOPABCDEFGHIJKLMNOP/",
            "https://evil.example/",
            "no at sign",
            "{not-a-guid}",
        ] {
            assert!(s.parse::<Origin>().is_err(), "{s:?} parsed");
        }
    }

    #[test]
    fn install_flags_name_the_origin() {
        assert_eq!(
            Origin::Chromium(ID.into()).install_flag(),
            format!("--extension-id {ID}")
        );
        assert_eq!(
            Origin::Firefox("a@b".into()).install_flag(),
            "--firefox-id a@b"
        );
        assert!(Origin::Cli.describe().contains("allow_cli"));
    }
}
