//! What the thin binary does with its argv: the few roles it serves itself,
//! parsed by hand (no clap: its parser is start-up time on every
//! `connectNative` and every `token`), and everything else handed to the
//! daemon binary unchanged.
//!
//! The rule that keeps both binaries one program: anything this parser does
//! not understand completely — `--help`, an unknown or repeated flag, a
//! missing value, another subcommand — is a [`Role::Handoff`], and the
//! daemon binary's clap definitions answer it (same output, same exit code).

/// What to run.
#[derive(Debug, PartialEq, Eq)]
pub enum Role {
    /// Native-messaging host for this origin (browser argv or `host --origin`).
    Host(String),
    Ping {
        json: bool,
    },
    Token {
        app_id: Option<String>,
        resource: Option<String>,
        organization_id: Option<String>,
        json: bool,
    },
    Status {
        app_id: Option<String>,
        json: bool,
    },
    Version,
    /// Run the daemon binary with the same arguments.
    Handoff,
}

/// How the browser asked to run us in host mode, if it did.
pub fn browser_origin(args: &[String]) -> Option<String> {
    let first = args.get(1)?;
    // Chromium family: argv[1] is the calling extension's origin. Windows
    // adds `--parent-window=<hwnd>` (0 from a service worker): ignored.
    if first.starts_with("chrome-extension://") {
        return Some(first.clone());
    }
    // Firefox: argv[1] is the manifest path, argv[2] the add-on id.
    if first.ends_with(".json") && args.len() >= 3 && !args[2].starts_with('-') {
        return Some(args[2].clone());
    }
    None
}

/// The flags of one subcommand: which take a value, which are switches.
struct Flags<'a> {
    valued: &'a [&'a str],
    switches: &'a [&'a str],
}

/// Parses `rest` against `flags`; `None` = hand it off (anything unusual).
fn parse_flags(
    rest: &[String],
    flags: &Flags<'_>,
) -> Option<std::collections::HashMap<String, Option<String>>> {
    let mut seen = std::collections::HashMap::new();
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i];
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let value = if flags.valued.contains(&name) {
            match inline {
                Some(v) => Some(v),
                None => {
                    i += 1;
                    let v = rest.get(i)?;
                    // clap refuses a value that looks like a flag; so do we
                    // (by handing off, so the message is clap's).
                    if v.starts_with('-') {
                        return None;
                    }
                    Some(v.clone())
                }
            }
        } else if flags.switches.contains(&name) && inline.is_none() {
            None
        } else {
            return None;
        };
        if seen.insert(name.to_string(), value).is_some() {
            return None; // repeated: clap's error
        }
        i += 1;
    }
    Some(seen)
}

/// Chooses the role for a full argv (`args[0]` is the program).
pub fn role(args: &[String]) -> Role {
    if let Some(origin) = browser_origin(args) {
        return Role::Host(origin);
    }
    let Some(sub) = args.get(1) else {
        return Role::Handoff;
    };
    let rest = &args[2..];
    let value =
        |m: &mut std::collections::HashMap<String, Option<String>>, k: &str| m.remove(k).flatten();
    match sub.as_str() {
        "--version" | "-V" if rest.is_empty() => Role::Version,
        "host" => {
            let flags = Flags {
                valued: &["--origin"],
                switches: &[],
            };
            match parse_flags(rest, &flags) {
                Some(mut m) => match value(&mut m, "--origin") {
                    Some(o) => Role::Host(o),
                    None => Role::Handoff,
                },
                None => Role::Handoff,
            }
        }
        "ping" => match parse_flags(
            rest,
            &Flags {
                valued: &[],
                switches: &["--json"],
            },
        ) {
            Some(m) => Role::Ping {
                json: m.contains_key("--json"),
            },
            None => Role::Handoff,
        },
        "token" => match parse_flags(
            rest,
            &Flags {
                valued: &["--app-id", "--resource", "--org"],
                switches: &["--json"],
            },
        ) {
            Some(mut m) => Role::Token {
                json: m.contains_key("--json"),
                app_id: value(&mut m, "--app-id"),
                resource: value(&mut m, "--resource"),
                organization_id: value(&mut m, "--org"),
            },
            None => Role::Handoff,
        },
        "status" => match parse_flags(
            rest,
            &Flags {
                valued: &["--app-id"],
                switches: &["--json"],
            },
        ) {
            Some(mut m) => Role::Status {
                json: m.contains_key("--json"),
                app_id: value(&mut m, "--app-id"),
            },
            None => Role::Handoff,
        },
        _ => Role::Handoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role_of(a: &[&str]) -> Role {
        let args: Vec<String> = std::iter::once("logto-companion")
            .chain(a.iter().copied())
            .map(String::from)
            .collect();
        role(&args)
    }

    #[test]
    fn chromium_argv_gives_the_extension_origin() {
        assert_eq!(
            role_of(&["chrome-extension://abc/", "--parent-window=0"]),
            Role::Host("chrome-extension://abc/".into())
        );
    }

    #[test]
    fn firefox_argv_gives_the_addon_id() {
        assert_eq!(
            role_of(&[
                "/home/u/.mozilla/native-messaging-hosts/logto_companion.json",
                "ext@example.org"
            ]),
            Role::Host("ext@example.org".into())
        );
    }

    #[test]
    fn host_by_hand_takes_both_flag_forms() {
        assert_eq!(
            role_of(&["host", "--origin", "cli"]),
            Role::Host("cli".into())
        );
        assert_eq!(role_of(&["host", "--origin=cli"]), Role::Host("cli".into()));
        assert_eq!(role_of(&["host"]), Role::Handoff);
    }

    #[test]
    fn token_flags_are_parsed_in_any_order_and_form() {
        assert_eq!(
            role_of(&["token", "--json", "--resource=https://api", "--org", "o1"]),
            Role::Token {
                app_id: None,
                resource: Some("https://api".into()),
                organization_id: Some("o1".into()),
                json: true
            }
        );
        assert_eq!(
            role_of(&["status", "--app-id", "a"]),
            Role::Status {
                app_id: Some("a".into()),
                json: false
            }
        );
        assert_eq!(role_of(&["ping"]), Role::Ping { json: false });
        assert_eq!(role_of(&["--version"]), Role::Version);
    }

    #[test]
    fn anything_unusual_goes_to_the_daemon_binary() {
        for a in [
            &["token", "--help"][..],
            &["token", "--json", "--json"],
            &["token", "--resource"],
            &["token", "--resource", "--json"],
            &["token", "--nope"],
            &["token", "extra"],
            &["ping", "--json=yes"],
            &["status", "-h"],
            &["sign-in"],
            &["install", "--endpoint", "x"],
            &["daemon"],
            &["--help"],
            &["--version", "x"],
            &[],
        ] {
            assert_eq!(role_of(a), Role::Handoff, "{a:?}");
        }
    }
}
