//! `logto-companion`: one binary, three roles chosen from argv.
//!
//! - **host**: the browser starts us with its own arguments
//!   (`chrome-extension://<id>/` for the Chromium family, `<manifest> <add-on id>`
//!   for Firefox) or `host --origin <origin>` by hand;
//! - **daemon**: `daemon` (foreground) or `daemon --detach` (auto-started);
//! - **CLI**: every other subcommand.
//!
//! Host mode is checked first and touches neither clap nor an async
//! runtime: the browser pays its start-up on every `connectNative`.

use logto_companion::cli;
use std::process::ExitCode;

/// How the browser (or a person) asked to run us in host mode.
fn browser_origin(args: &[String]) -> Option<String> {
    let first = args.get(1)?;
    // Chromium family: argv[1] is the calling extension's origin. Windows
    // adds `--parent-window=<hwnd>`, which we ignore.
    if first.starts_with("chrome-extension://") {
        return Some(first.clone());
    }
    // Firefox: argv[1] is the manifest path, argv[2] the add-on id.
    if first.ends_with(".json") && args.len() >= 3 && !args[2].starts_with('-') {
        return Some(args[2].clone());
    }
    None
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(origin) = browser_origin(&args) {
        return cli::run_host(origin);
    }
    cli::run(args)
}

#[cfg(test)]
mod tests {
    use super::browser_origin;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn chromium_argv_gives_the_extension_origin() {
        let o = browser_origin(&argv(&[
            "lc",
            "chrome-extension://abc/",
            "--parent-window=0",
        ]));
        assert_eq!(o.as_deref(), Some("chrome-extension://abc/"));
    }

    #[test]
    fn firefox_argv_gives_the_addon_id() {
        let o = browser_origin(&argv(&[
            "lc",
            "/home/u/.mozilla/native-messaging-hosts/logto_companion.json",
            "ext@example.org",
        ]));
        assert_eq!(o.as_deref(), Some("ext@example.org"));
    }

    #[test]
    fn subcommands_are_not_host_mode() {
        assert_eq!(browser_origin(&argv(&["lc", "status"])), None);
        assert_eq!(browser_origin(&argv(&["lc"])), None);
    }
}
