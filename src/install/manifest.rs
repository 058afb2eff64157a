//! Host manifests: built from the templates in `host-manifests/`, merged
//! into what is already on disk (one host serves every app), and checked.

use super::browsers::Family;
use crate::protocol::Origin;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

const CHROMIUM_TEMPLATE: &str = include_str!("../../host-manifests/chromium.json");
const FIREFOX_TEMPLATE: &str = include_str!("../../host-manifests/firefox.json");
const FLATPAK_WRAPPER: &str = include_str!("../../host-manifests/flatpak-host.sh");

/// The shim's default `hostName`.
pub const DEFAULT_HOST_NAME: &str = "logto_companion";

/// A host manifest. Unknown fields are kept as they are.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Manifest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_extensions: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Manifest {
    /// A fresh manifest from the family's template.
    pub fn from_template(family: Family, name: &str, path: &str) -> Manifest {
        let text = match family {
            Family::Chromium => CHROMIUM_TEMPLATE,
            Family::Firefox => FIREFOX_TEMPLATE,
        };
        let mut m: Manifest =
            serde_json::from_str(text).expect("host-manifests/ templates are valid JSON");
        m.name = name.to_string();
        m.path = path.to_string();
        m
    }

    pub fn parse(text: &str) -> Result<Manifest, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The list of allowed callers for `family` (created if absent).
    pub fn ids_mut(&mut self, family: Family) -> &mut Vec<String> {
        let slot = match family {
            Family::Chromium => &mut self.allowed_origins,
            Family::Firefox => &mut self.allowed_extensions,
        };
        slot.get_or_insert_with(Vec::new)
    }

    pub fn ids(&self, family: Family) -> &[String] {
        match family {
            Family::Chromium => self.allowed_origins.as_deref().unwrap_or(&[]),
            Family::Firefox => self.allowed_extensions.as_deref().unwrap_or(&[]),
        }
    }

    /// Adds `ids` (keeping what is there); returns the ones it added.
    pub fn add_ids(&mut self, family: Family, ids: &[String]) -> Vec<String> {
        super::add_missing(self.ids_mut(family), ids)
    }

    pub fn remove_ids(&mut self, family: Family, ids: &[String]) {
        self.ids_mut(family).retain(|i| !ids.contains(i));
    }
}

/// The manifest to write: the existing one (if readable) with `ids` merged
/// in and `path` pointing at us, else a fresh one. Returns it with the ids it
/// added.
pub fn merged(
    existing: Option<&str>,
    family: Family,
    name: &str,
    path: &str,
    ids: &[String],
) -> (Manifest, Vec<String>) {
    let mut m = existing
        .and_then(|t| Manifest::parse(t).ok())
        .filter(|m| m.name == name)
        .unwrap_or_else(|| Manifest::from_template(family, name, path));
    m.path = path.to_string();
    m.kind = "stdio".into();
    let added = m.add_ids(family, ids);
    (m, added)
}

/// The script a Flatpak browser starts (see `host-manifests/flatpak-host.sh`).
pub fn flatpak_wrapper(app_id: &str, binary: &str) -> String {
    FLATPAK_WRAPPER
        .replace("@APP_ID@", app_id)
        .replace("@BINARY@", &shell_quote(binary))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Chrome's rule for host names: lowercase alphanumerics, `_` and `.`, not
/// starting or ending with a dot, no two dots in a row.
pub fn valid_host_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
}

/// Everything wrong with a manifest file's content, for `doctor`.
pub fn problems(text: &str, expected_name: &str, family: Family) -> Result<Manifest, Vec<String>> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(vec![format!("not valid JSON: {e}")]),
    };
    let m: Manifest = match serde_json::from_value(value) {
        Ok(m) => m,
        Err(e) => return Err(vec![format!("not a host manifest: {e}")]),
    };
    let mut p = Vec::new();
    if m.name != expected_name {
        p.push(format!(
            "\"name\" is {:?} but the file is {expected_name}.json (browsers look the name up by file name)",
            m.name
        ));
    }
    if m.kind != "stdio" {
        p.push(format!("\"type\" is {:?}, must be \"stdio\"", m.kind));
    }
    match family {
        Family::Chromium => match &m.allowed_origins {
            None => p.push("no \"allowed_origins\" (Chromium browsers need it)".into()),
            Some(list) => {
                for o in list {
                    if !matches!(o.parse::<Origin>(), Ok(Origin::Chromium(_))) || !o.ends_with('/')
                    {
                        p.push(format!(
                            "\"allowed_origins\" entry {o:?} is not chrome-extension://<32 letters a-p>/ (Chrome rejects the whole file)"
                        ));
                    }
                }
            }
        },
        Family::Firefox => {
            if m.allowed_extensions.is_none() {
                p.push("no \"allowed_extensions\" (Firefox needs it)".into());
            }
        }
    }
    if p.is_empty() {
        Ok(m)
    } else {
        Err(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID_A: &str = "abcdefghijklmnopabcdefghijklmnop";
    const ID_B: &str = "ponmlkjihgfedcbaponmlkjihgfedcba";

    #[test]
    fn templates_give_the_two_shapes() {
        let c = Manifest::from_template(Family::Chromium, "logto_companion", "/bin/x");
        let v: Value = serde_json::from_str(&c.to_text()).unwrap();
        assert_eq!(v["name"], "logto_companion");
        assert_eq!(v["path"], "/bin/x");
        assert_eq!(v["type"], "stdio");
        assert!(v["allowed_origins"].is_array());
        assert!(v.get("allowed_extensions").is_none());
        let f = Manifest::from_template(Family::Firefox, "logto_companion", "/bin/x");
        let v: Value = serde_json::from_str(&f.to_text()).unwrap();
        assert!(v["allowed_extensions"].is_array());
        assert!(v.get("allowed_origins").is_none());
        // Field order as in the docs: name first.
        assert!(c.to_text().trim_start().starts_with("{\n  \"name\""));
    }

    #[test]
    fn merge_keeps_other_ids_and_fields() {
        let existing = format!(
            r#"{{"name":"logto_companion","description":"d","path":"/old","type":"stdio","allowed_origins":["{}"],"x-custom":1}}"#,
            chrome(ID_B)
        );
        let (m, added) = merged(
            Some(&existing),
            Family::Chromium,
            "logto_companion",
            "/new",
            &[chrome(ID_A), chrome(ID_B)],
        );
        assert_eq!(added, [chrome(ID_A)]);
        assert_eq!(m.ids(Family::Chromium), [chrome(ID_B), chrome(ID_A)]);
        assert_eq!(m.path, "/new");
        assert_eq!(m.extra["x-custom"], 1);
        // Unreadable: replaced by a fresh one.
        let (m, added) = merged(Some("{oops"), Family::Firefox, "h", "/p", &["a@b".into()]);
        assert_eq!(added, ["a@b"]);
        assert_eq!(m.ids(Family::Firefox), ["a@b"]);
    }

    fn chrome(id: &str) -> String {
        Origin::Chromium(id.into()).to_string()
    }

    #[test]
    fn id_validation() {
        assert!(Origin::is_chrome_id(ID_A));
        assert!(!Origin::is_chrome_id("abcdefghijklmnopabcdefghijklmnoq"));
        assert!(!Origin::is_chrome_id("abc"));
        assert!(!Origin::is_chrome_id(&ID_A.to_uppercase()));
        assert!(Origin::is_firefox_id("example@logto-companion.test"));
        assert!(Origin::is_firefox_id(
            "{ec8030f7-c20a-464f-9b0e-13a3a9e97384}"
        ));
        assert!(!Origin::is_firefox_id("{not-a-guid}"));
        assert!(!Origin::is_firefox_id("no at sign"));
        assert!(!Origin::is_firefox_id(ID_A));
        assert!(valid_host_name("logto_companion"));
        assert!(valid_host_name("com.example.host"));
        assert!(!valid_host_name("Logto"));
        assert!(!valid_host_name("a..b"));
        assert!(!valid_host_name(".a"));
        assert!(!valid_host_name(""));
    }

    #[test]
    fn problems_name_each_defect() {
        let bad = format!(
            r#"{{"name":"other","path":"/x","type":"stdio","allowed_origins":["chrome-extension://nope/","{}"]}}"#,
            chrome(ID_A)
        );
        let p = problems(&bad, "logto_companion", Family::Chromium).unwrap_err();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("\"name\""));
        assert!(p[1].contains("nope"));
        assert!(problems("{", "x", Family::Firefox).unwrap_err()[0].contains("not valid JSON"));
        assert!(
            problems(r#"{"name":"x"}"#, "x", Family::Firefox).unwrap_err()[0]
                .contains("not a host manifest")
        );
    }

    #[test]
    fn wrapper_quotes_the_binary() {
        let w = flatpak_wrapper("org.mozilla.firefox", "/home/o'brien/bin/logto-companion");
        assert!(w.starts_with("#!/bin/sh\n"));
        assert!(w.contains(
            r"exec flatpak-spawn --host --watch-bus '/home/o'\''brien/bin/logto-companion' "
        ));
        assert!(w.contains("--talk-name=org.freedesktop.Flatpak org.mozilla.firefox"));
    }
}
