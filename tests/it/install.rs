//! `install`, `uninstall` and `doctor` with the real binary, an isolated
//! HOME/XDG and a scratch root for system paths (never the real /etc).

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

const EXT_ID: &str = "abcdefghijklmnopabcdefghijklmnop";
const EXT_ID_2: &str = "ponmlkjihgfedcbaponmlkjihgfedcba";
const FF_ID: &str = "example@logto-companion.test";
const ENDPOINT_URL: &str = "https://tenant.example.test";

/// Every Linux location of the table, written down independently:
/// (browser, per-user folder under HOME, system folders under the root).
const LINUX: &[(&str, &str, &[&str])] = &[
    ("chrome", ".config/google-chrome/NativeMessagingHosts", &["etc/opt/chrome/native-messaging-hosts"]),
    ("chrome-beta", ".config/google-chrome-beta/NativeMessagingHosts", &["etc/opt/chrome/native-messaging-hosts"]),
    ("chrome-dev", ".config/google-chrome-unstable/NativeMessagingHosts", &["etc/opt/chrome/native-messaging-hosts"]),
    ("chrome-canary", ".config/google-chrome-canary/NativeMessagingHosts", &["etc/opt/chrome/native-messaging-hosts"]),
    ("chrome-for-testing", ".config/google-chrome-for-testing/NativeMessagingHosts", &["etc/opt/chrome_for_testing/native-messaging-hosts"]),
    ("chromium", ".config/chromium/NativeMessagingHosts", &["etc/chromium/native-messaging-hosts"]),
    ("edge", ".config/microsoft-edge/NativeMessagingHosts", &["etc/opt/edge/native-messaging-hosts"]),
    ("edge-beta", ".config/microsoft-edge-beta/NativeMessagingHosts", &["etc/opt/edge/native-messaging-hosts"]),
    ("edge-dev", ".config/microsoft-edge-dev/NativeMessagingHosts", &["etc/opt/edge/native-messaging-hosts"]),
    ("brave", ".config/BraveSoftware/Brave-Browser/NativeMessagingHosts", &["etc/opt/chrome/native-messaging-hosts"]),
    ("vivaldi", ".config/vivaldi/NativeMessagingHosts", &["etc/opt/chrome/native-messaging-hosts"]),
    ("vivaldi-snapshot", ".config/vivaldi-snapshot/NativeMessagingHosts", &["etc/opt/chrome/native-messaging-hosts"]),
    ("opera", ".config/google-chrome/NativeMessagingHosts", &["etc/opt/chrome/native-messaging-hosts", "etc/opera/native-messaging-hosts"]),
    ("firefox", ".mozilla/native-messaging-hosts", &["usr/lib/mozilla/native-messaging-hosts", "usr/lib64/mozilla/native-messaging-hosts"]),
    ("librewolf", ".librewolf/native-messaging-hosts", &["usr/lib/librewolf/native-messaging-hosts"]),
    ("waterfox", ".waterfox/native-messaging-hosts", &["usr/lib/mozilla/native-messaging-hosts"]),
    ("tor-browser", ".local/share/torbrowser/tbb/x86_64/tor-browser/Browser/TorBrowser/Data/Browser/.mozilla/native-messaging-hosts", &[]),
    ("zen", ".mozilla/native-messaging-hosts", &["usr/lib/mozilla/native-messaging-hosts", "usr/lib64/mozilla/native-messaging-hosts"]),
];

struct Inst {
    env: TestEnv,
    root: PathBuf,
}

impl Inst {
    fn new() -> Inst {
        let env = TestEnv::new();
        let root = env.dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        Inst { env, root }
    }

    fn home(&self) -> PathBuf {
        self.env.path("HOME")
    }

    fn record(&self) -> PathBuf {
        self.env
            .path("XDG_STATE_HOME")
            .join("logto-companion/installed.json")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_program(Path::new(BIN.as_str()), args)
    }

    /// `args` run by `program`, a copy of the binary (e.g. an installed one).
    fn run_program(&self, program: &Path, args: &[&str]) -> Output {
        self.env
            .command_of(program)
            .env("LOGTO_COMPANION_ROOT", &self.root)
            // Detection looks on PATH under the root: only fake installs.
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_program(Path::new(BIN.as_str()), args)
    }

    fn ok_program(&self, program: &Path, args: &[&str]) -> String {
        let out = self.run_program(program, args);
        assert!(
            out.status.success(),
            "{args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Every file and folder under the scratch dir, with file contents.
    fn snapshot(&self) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
        let mut out = BTreeMap::new();
        walk(self.env.dir.path(), self.env.dir.path(), &mut out);
        out
    }
}

fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        let rel = p.strip_prefix(base).unwrap().to_path_buf();
        if p.is_dir() {
            out.insert(rel, None);
            walk(base, &p, out);
        } else {
            out.insert(rel, Some(std::fs::read(&p).unwrap()));
        }
    }
}

fn new_files(
    before: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    after: &BTreeMap<PathBuf, Option<Vec<u8>>>,
) -> Vec<PathBuf> {
    after
        .iter()
        .filter(|(p, c)| c.is_some() && !before.contains_key(*p))
        .map(|(p, _)| p.clone())
        .collect()
}

/// What a browser that ran once leaves: its profile folder with a file.
fn fake_profile(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("Local State"), "{}").unwrap();
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

fn base_args<'a>() -> Vec<&'a str> {
    vec![
        "install",
        "--endpoint",
        ENDPOINT_URL,
        "--app-id",
        APP_ID,
        "--extension-id",
        EXT_ID,
        "--firefox-id",
        FF_ID,
    ]
}

fn with<'a>(mut base: Vec<&'a str>, more: &[&'a str]) -> Vec<&'a str> {
    base.extend_from_slice(more);
    base
}

#[test]
fn every_linux_location_per_user_and_system() {
    let t = Inst::new();
    // Tor Browser's folder exists once torbrowser-launcher unpacked it;
    // /usr/lib64 decides the second Mozilla system folder.
    std::fs::create_dir_all(
        t.home()
            .join(".local/share/torbrowser/tbb/x86_64/tor-browser/Browser"),
    )
    .unwrap();
    std::fs::create_dir_all(t.root.join("usr/lib64")).unwrap();
    let scratch = t.env.dir.path().to_path_buf();
    let home_rel = t.home().strip_prefix(&scratch).unwrap().to_path_buf();
    let root_rel = t.root.strip_prefix(&scratch).unwrap().to_path_buf();
    let config_rel = t
        .env
        .config_path()
        .strip_prefix(&scratch)
        .unwrap()
        .to_path_buf();
    let record_rel = t.record().strip_prefix(&scratch).unwrap().to_path_buf();
    for (browser, user, system) in LINUX {
        for sys in [false, true] {
            let before = t.snapshot();
            let mut args = with(base_args(), &["--browser", browser]);
            if sys {
                args.push("--system");
            }
            let out = t.ok(&args);
            let mut expected: Vec<PathBuf> = if sys {
                system
                    .iter()
                    .map(|s| root_rel.join(s).join("logto_companion.json"))
                    .collect()
            } else {
                vec![home_rel.join(user).join("logto_companion.json")]
            };
            expected.push(config_rel.clone());
            expected.push(record_rel.clone());
            expected.sort();
            expected.dedup();
            let mut got = new_files(&before, &t.snapshot());
            got.sort();
            assert_eq!(got, expected, "{browser} (system: {sys}); output:\n{out}");
            if sys && system.is_empty() {
                assert!(out.contains("no system-wide location"), "{out}");
            }
            // The manifest has the family's shape and points at the binary.
            for f in expected
                .iter()
                .filter(|p| p.ends_with("logto_companion.json"))
            {
                let m = read_json(&scratch.join(f));
                assert_eq!(m["name"], "logto_companion");
                assert_eq!(m["type"], "stdio");
                assert!(Path::new(m["path"].as_str().unwrap()).is_absolute());
                let firefox = matches!(
                    *browser,
                    "firefox" | "librewolf" | "waterfox" | "tor-browser" | "zen"
                );
                if firefox {
                    assert_eq!(m["allowed_extensions"], serde_json::json!([FF_ID]), "{f:?}");
                    assert!(m.get("allowed_origins").is_none());
                } else {
                    assert_eq!(
                        m["allowed_origins"],
                        serde_json::json!([format!("chrome-extension://{EXT_ID}/")]),
                        "{f:?}"
                    );
                    assert!(m.get("allowed_extensions").is_none());
                }
            }
            let mut un = vec!["uninstall"];
            if sys {
                un.push("--system");
            }
            t.ok(&un);
            assert_eq!(
                t.snapshot(),
                before,
                "{browser} (system: {sys}): uninstall left a trace"
            );
        }
    }
    // Not on Linux: said plainly, nothing written.
    let before = t.snapshot();
    let out = t.ok(&with(
        base_args(),
        &["--browser", "arc,edge-canary", "--dry-run"],
    ));
    assert!(
        out.contains("Arc has no known manifest location on this OS"),
        "{out}"
    );
    assert_eq!(t.snapshot(), before);
}

#[test]
fn chromium_and_firefox_manifest_shapes() {
    let t = Inst::new();
    t.ok(&with(base_args(), &["--browser", "chromium,firefox"]));
    let c = std::fs::read_to_string(
        t.home()
            .join(".config/chromium/NativeMessagingHosts/logto_companion.json"),
    )
    .unwrap();
    let cj: Value = serde_json::from_str(&c).unwrap();
    let keys: Vec<&String> = cj.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5);
    for k in ["name", "description", "path", "type", "allowed_origins"] {
        assert!(cj.get(k).is_some(), "{k} missing in {c}");
    }
    let f = read_json(
        &t.home()
            .join(".mozilla/native-messaging-hosts/logto_companion.json"),
    );
    assert_eq!(f["allowed_extensions"], serde_json::json!([FF_ID]));
    assert_eq!(f["path"], cj["path"]);
    // The path is this very binary, canonical.
    let bin = std::fs::canonicalize(&*BIN).unwrap();
    assert_eq!(cj["path"], bin.to_str().unwrap());
}

#[test]
fn default_all_writes_for_found_browsers_only() {
    let t = Inst::new();
    // Fake installs: Chrome's profile folder, a firefox executable on PATH.
    fake_profile(&t.home().join(".config/google-chrome"));
    std::fs::create_dir_all(t.root.join("usr/bin")).unwrap();
    std::fs::write(t.root.join("usr/bin/firefox"), "#!/bin/sh\n").unwrap();
    let out = t.ok(&base_args());
    assert!(out.contains("browsers found: chrome"), "{out}");
    assert!(t
        .home()
        .join(".config/google-chrome/NativeMessagingHosts/logto_companion.json")
        .is_file());
    assert!(t
        .home()
        .join(".mozilla/native-messaging-hosts/logto_companion.json")
        .is_file());
    assert!(!t.home().join(".config/chromium").exists());
    assert!(
        !t.root.join("etc").exists(),
        "per-user install touched system paths"
    );
    t.ok(&["uninstall"]);
    assert!(!t.home().join(".mozilla/native-messaging-hosts").exists());
    assert!(
        t.home().join(".config/google-chrome").is_dir(),
        "removed the browser's own folder"
    );
}

#[test]
fn nothing_found_says_so_and_suggests_flags() {
    let t = Inst::new();
    let out = t.ok(&base_args());
    assert!(out.contains("no browser found"), "{out}");
    assert!(
        out.contains("--browser <name>") && out.contains("--user-data-dir"),
        "{out}"
    );
    // The app is registered all the same.
    let cfg = std::fs::read_to_string(t.env.config_path()).unwrap();
    assert!(cfg.contains(APP_ID), "{cfg}");
}

#[test]
fn user_data_dir_writes_only_there() {
    let t = Inst::new();
    fake_profile(&t.home().join(".config/chromium"));
    let profile = t.env.dir.path().join("profile-a");
    let out = t.ok(&[
        "install",
        "--endpoint",
        "http://127.0.0.1:3001",
        "--app-id",
        APP_ID,
        "--extension-id",
        EXT_ID,
        "--user-data-dir",
        profile.to_str().unwrap(),
    ]);
    let m = read_json(&profile.join("NativeMessagingHosts/logto_companion.json"));
    assert_eq!(
        m["allowed_origins"][0],
        format!("chrome-extension://{EXT_ID}/")
    );
    assert!(
        !t.home()
            .join(".config/chromium/NativeMessagingHosts")
            .exists(),
        "--user-data-dir alone must not write the default profile: {out}"
    );
    t.ok(&["uninstall", "--user-data-dir", profile.to_str().unwrap()]);
    assert!(
        !profile.exists(),
        "the profile folder was created by install and must go"
    );
    // The config entry stays (only the manifest was asked to go).
    assert!(std::fs::read_to_string(t.env.config_path())
        .unwrap()
        .contains(APP_ID));
    t.ok(&["uninstall"]);
    assert!(!t.env.config_path().exists());
}

#[test]
fn merges_into_existing_config_and_manifests() {
    let t = Inst::new();
    let original = format!(
        r#"# my settings
store = "memory"
idle_timeout_secs = 60

[[apps]]
endpoint = "https://other.example.test"
app_id = "other-app"
allowed_origins = ["chrome-extension://{EXT_ID_2}/"]
allow_cli = false
"#
    );
    t.env.write_config(&original);
    t.ok(&with(
        base_args(),
        &[
            "--browser",
            "chrome",
            "--scope",
            "phone",
            "--resource",
            "https://api.example.test",
        ],
    ));
    let cfg = std::fs::read_to_string(t.env.config_path()).unwrap();
    let v: toml::Value = toml::from_str(&cfg).unwrap();
    assert_eq!(v["store"].as_str(), Some("memory"));
    assert_eq!(v["idle_timeout_secs"].as_integer(), Some(60));
    let apps = v["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 2, "{cfg}");
    assert_eq!(apps[0]["app_id"].as_str(), Some("other-app"));
    assert_eq!(apps[0]["allow_cli"].as_bool(), Some(false));
    assert_eq!(apps[1]["app_id"].as_str(), Some(APP_ID));
    assert_eq!(apps[1]["scopes"][0].as_str(), Some("phone"));
    assert_eq!(
        apps[1]["resources"][0].as_str(),
        Some("https://api.example.test")
    );

    // A second app for another extension: its origin joins the manifest.
    t.ok(&[
        "install",
        "--endpoint",
        "https://other.example.test",
        "--app-id",
        "other-app",
        "--extension-id",
        EXT_ID_2,
        "--browser",
        "chrome",
        "--no-cli",
    ]);
    let manifest = t
        .home()
        .join(".config/google-chrome/NativeMessagingHosts/logto_companion.json");
    assert_eq!(
        read_json(&manifest)["allowed_origins"],
        serde_json::json!([
            format!("chrome-extension://{EXT_ID}/"),
            format!("chrome-extension://{EXT_ID_2}/")
        ])
    );
    // Removing the first app keeps the second's origin and the file.
    t.ok(&["uninstall", "--app-id", APP_ID]);
    assert_eq!(
        read_json(&manifest)["allowed_origins"],
        serde_json::json!([format!("chrome-extension://{EXT_ID_2}/")])
    );
    let v: toml::Value =
        toml::from_str(&std::fs::read_to_string(t.env.config_path()).unwrap()).unwrap();
    assert_eq!(v["apps"].as_array().unwrap().len(), 1);
    // Then the rest: the config is back to the very text it had.
    t.ok(&["uninstall"]);
    assert!(!manifest.exists());
    assert_eq!(
        std::fs::read_to_string(t.env.config_path()).unwrap(),
        original
    );
    assert!(!t.record().exists());
}

#[test]
fn uninstall_leaves_no_trace_and_touches_no_foreign_file() {
    let t = Inst::new();
    let chrome_dir = t.home().join(".config/google-chrome/NativeMessagingHosts");
    let moz_dir = t.home().join(".mozilla/native-messaging-hosts");
    std::fs::create_dir_all(&chrome_dir).unwrap();
    std::fs::create_dir_all(&moz_dir).unwrap();
    std::fs::create_dir_all(t.root.join("etc/chromium/native-messaging-hosts")).unwrap();
    // Foreign files: another host, and a pre-existing manifest with our name
    // that lists someone else's add-on (odd formatting on purpose).
    std::fs::write(
        chrome_dir.join("com.other.host.json"),
        "{\"name\":\"com.other.host\"}",
    )
    .unwrap();
    std::fs::write(
        t.root
            .join("etc/chromium/native-messaging-hosts/com.other.host.json"),
        "{}",
    )
    .unwrap();
    let foreign = "{ \"name\": \"logto_companion\", \"description\": \"theirs\", \"path\": \"/opt/theirs\",\n  \"type\": \"stdio\", \"allowed_extensions\": [\"someone@else.test\"] }\n";
    std::fs::write(moz_dir.join("logto_companion.json"), foreign).unwrap();
    t.env.write_config("store = \"memory\"\n");
    let profile = t.env.dir.path().join("profile");
    let before = t.snapshot();

    t.ok(&with(
        base_args(),
        &["--browser", "chrome,chromium,firefox,librewolf"],
    ));
    t.ok(&with(
        base_args(),
        &["--browser", "chromium,firefox", "--system"],
    ));
    t.ok(&with(
        base_args(),
        &[
            "--user-data-dir",
            profile.to_str().unwrap(),
            "--browser",
            "chrome",
        ],
    ));
    // Our add-on id joined theirs.
    assert_eq!(
        read_json(&moz_dir.join("logto_companion.json"))["allowed_extensions"],
        serde_json::json!(["someone@else.test", FF_ID])
    );
    assert!(t
        .root
        .join("etc/chromium/native-messaging-hosts/logto_companion.json")
        .is_file());
    assert_ne!(t.snapshot(), before);

    t.ok(&["uninstall", "--system"]);
    assert!(!t
        .root
        .join("etc/chromium/native-messaging-hosts/logto_companion.json")
        .exists());
    assert!(t
        .root
        .join("etc/chromium/native-messaging-hosts/com.other.host.json")
        .exists());
    assert!(
        chrome_dir.join("logto_companion.json").exists(),
        "--system removed a per-user file"
    );
    t.ok(&["uninstall"]);
    assert_eq!(
        t.snapshot(),
        before,
        "uninstall left a trace or touched a foreign file"
    );
    // Nothing left to do.
    assert!(t.ok(&["uninstall"]).contains("nothing to uninstall"));
}

#[test]
fn reinstall_is_idempotent_and_partial_uninstall_by_browser() {
    let t = Inst::new();
    let before = t.snapshot();
    t.ok(&with(base_args(), &["--browser", "chrome,firefox"]));
    let once = t.snapshot();
    t.ok(&with(base_args(), &["--browser", "chrome,firefox"]));
    assert_eq!(
        t.snapshot(),
        once,
        "a second identical install changed something"
    );
    let rec = read_json(&t.record());
    assert_eq!(rec["items"].as_array().unwrap().len(), 3, "{rec}");

    let out = t.ok(&["uninstall", "--browser", "firefox"]);
    assert!(out.contains("removed"), "{out}");
    assert!(!t.home().join(".mozilla").exists());
    assert!(t
        .home()
        .join(".config/google-chrome/NativeMessagingHosts/logto_companion.json")
        .exists());
    assert!(t.env.config_path().exists());
    t.ok(&["uninstall"]);
    assert_eq!(t.snapshot(), before);
}

#[test]
fn dry_run_writes_nothing() {
    let t = Inst::new();
    fake_profile(&t.home().join(".config/chromium"));
    let before = t.snapshot();
    let out = t.ok(&with(base_args(), &["--dry-run"]));
    assert!(out.contains("dry run"), "{out}");
    assert!(
        out.contains(".config/chromium/NativeMessagingHosts/logto_companion.json"),
        "{out}"
    );
    assert!(out.contains("\"allowed_origins\""), "{out}");
    assert!(out.contains("would register app"), "{out}");
    let out = t.ok(&with(
        base_args(),
        &["--dry-run", "--system", "--browser", "all"],
    ));
    assert!(out.contains("etc/chromium/native-messaging-hosts"), "{out}");
    assert_eq!(t.snapshot(), before, "--dry-run wrote something");
    // Uninstall's dry run too.
    t.ok(&with(base_args(), &["--browser", "chromium"]));
    let installed = t.snapshot();
    let out = t.ok(&["uninstall", "--dry-run"]);
    assert!(out.contains("would undo"), "{out}");
    assert_eq!(t.snapshot(), installed);
}

#[test]
fn bad_arguments_get_clear_errors() {
    let t = Inst::new();
    let e = t.fails(&[
        "install",
        "--endpoint",
        ENDPOINT_URL,
        "--app-id",
        APP_ID,
        "--extension-id",
        "ABC",
    ]);
    assert!(e.contains("32 letters a-p"), "{e}");
    let e = t.fails(&[
        "install",
        "--endpoint",
        "ftp://x",
        "--app-id",
        APP_ID,
        "--extension-id",
        EXT_ID,
    ]);
    assert!(e.contains("http(s)"), "{e}");
    let e = t.fails(&[
        "install",
        "--endpoint",
        "tenant.logto.app",
        "--app-id",
        APP_ID,
        "--extension-id",
        EXT_ID,
    ]);
    assert!(e.contains("is not a URL"), "{e}");
    let e = t.fails(&["install", "--endpoint", ENDPOINT_URL, "--app-id", APP_ID]);
    assert!(
        e.contains("--extension-id") && e.contains("--firefox-id"),
        "{e}"
    );
    let e = t.fails(&with(base_args(), &["--browser", "netscape"]));
    assert!(e.contains("unknown browser \"netscape\""), "{e}");
    let e = t.fails(&with(base_args(), &["--host-name", "Bad Name"]));
    assert!(e.contains("--host-name"), "{e}");
    let e = t.fails(&[
        "install",
        "--endpoint",
        ENDPOINT_URL,
        "--app-id",
        APP_ID,
        "--firefox-id",
        "not an id",
    ]);
    assert!(e.contains("Firefox add-on id"), "{e}");
    let e = t.fails(&[
        "install",
        "--endpoint",
        ENDPOINT_URL,
        "--app-id",
        APP_ID,
        "--firefox-id",
        FF_ID,
        "--browser",
        "chrome",
    ]);
    assert!(e.contains("needs --extension-id"), "{e}");
    assert!(
        !t.env.config_path().exists(),
        "a failed install wrote the config"
    );
    // A Firefox id given as --extension-id is taken as one, with a note.
    let out = t.ok(&[
        "install",
        "--endpoint",
        ENDPOINT_URL,
        "--app-id",
        APP_ID,
        "--extension-id",
        FF_ID,
        "--browser",
        "firefox",
    ]);
    assert!(out.contains("taking it as --firefox-id"), "{out}");
}

#[test]
fn system_without_permission_says_to_use_sudo() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let t = Inst::new();
    let etc = t.root.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut cmd = t.env.command();
    cmd.env("LOGTO_COMPANION_ROOT", &t.root)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .args(with(base_args(), &["--browser", "chromium", "--system"]));
    if is_root() {
        // Root may write anywhere: run as `nobody`, who owns the scratch
        // user's files but not the system folder (as a real user would).
        fn chown_tree(p: &std::path::Path) {
            std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
            if p.is_dir() {
                for e in std::fs::read_dir(p).unwrap().flatten() {
                    chown_tree(&e.path());
                }
            }
        }
        chown_tree(t.env.dir.path());
        std::os::unix::fs::chown(&etc, Some(0), Some(0)).unwrap();
        std::fs::set_permissions(t.env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    let e = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "--system without permission must fail: {e}"
    );
    assert!(e.contains("sudo"), "{e}");
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn flatpak_and_snap_browsers() {
    let t = Inst::new();
    std::fs::create_dir_all(t.home().join(".var/app/com.google.Chrome")).unwrap();
    std::fs::create_dir_all(t.home().join("snap/firefox")).unwrap();
    let out = t.ok(&base_args());
    assert!(
        out.contains(
            "flatpak override --user --talk-name=org.freedesktop.Flatpak com.google.Chrome"
        ),
        "{out}"
    );
    assert!(out.contains("WebExtensions portal"), "{out}");
    let app = t.home().join(".var/app/com.google.Chrome");
    let m = read_json(&app.join("config/google-chrome/NativeMessagingHosts/logto_companion.json"));
    let wrapper = PathBuf::from(m["path"].as_str().unwrap());
    assert!(
        wrapper.starts_with(&app),
        "the manifest must point inside the sandbox: {m}"
    );
    let script = std::fs::read_to_string(&wrapper).unwrap();
    assert!(script.contains("flatpak-spawn --host"), "{script}");
    use std::os::unix::fs::PermissionsExt;
    assert!(std::fs::metadata(&wrapper).unwrap().permissions().mode() & 0o111 != 0);
    // Snap Firefox: the ordinary per-user manifest, for the portal.
    assert!(t
        .home()
        .join(".mozilla/native-messaging-hosts/logto_companion.json")
        .is_file());

    // doctor: the sandbox may not spawn on the host yet.
    t.env.write_config(&format!(
        "store = \"memory\"\n[[apps]]\nendpoint = \"{ENDPOINT_URL}\"\napp_id = \"{APP_ID}\"\nallowed_origins = [\"chrome-extension://{EXT_ID}/\", \"{FF_ID}\"]\n"
    ));
    let out = t.run(&["doctor", "--offline"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("✗ Flatpak com.google.Chrome") && text.contains("fix: flatpak override"),
        "{text}"
    );
    assert!(
        text.contains("✓ Snap firefox: goes through the WebExtensions portal"),
        "{text}"
    );
    let overrides = t.env.path("XDG_DATA_HOME").join("flatpak/overrides");
    std::fs::create_dir_all(&overrides).unwrap();
    std::fs::write(
        overrides.join("com.google.Chrome"),
        "[Session Bus Policy]\norg.freedesktop.Flatpak=talk\n",
    )
    .unwrap();
    let text = String::from_utf8_lossy(&t.run(&["doctor", "--offline"]).stdout).into_owned();
    assert!(text.contains("✓ Flatpak com.google.Chrome"), "{text}");
    std::fs::remove_dir_all(t.env.path("XDG_DATA_HOME").join("flatpak")).unwrap();
    // The config was rewritten by hand, so uninstall keeps it; the rest goes.
    t.ok(&["uninstall"]);
    assert!(!app.join("config").exists() && !app.join("data").exists());
    assert!(!t.home().join(".mozilla").exists());
}

/// A small HTTP server answering every request with the JSON `body(base)`.
fn serve_json(body: impl FnOnce(&str) -> String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let body = body(&base);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                body.len(),
                body
            );
        }
    });
    base
}

#[test]
fn doctor_passes_on_a_good_setup() {
    let t = Inst::new();
    // Discovery with the issuer the app expects ({endpoint}/oidc).
    let base = serve_json(|base| format!(r#"{{"issuer":"{base}/oidc"}}"#));
    t.env.write_config("store = \"memory\"\n");
    let profile = t.env.dir.path().join("profile");
    t.ok(&[
        "install",
        "--endpoint",
        &base,
        "--app-id",
        APP_ID,
        "--extension-id",
        EXT_ID,
        "--user-data-dir",
        profile.to_str().unwrap(),
    ]);
    let out = t.run(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "doctor failed on a good setup:\n{text}"
    );
    assert!(
        text.contains("issuer") && text.contains("matches"),
        "{text}"
    );
    assert!(text.contains("No problems found."), "{text}");
    let manifest = profile.join("NativeMessagingHosts/logto_companion.json");
    assert!(
        text.contains(&format!("✓ {}", manifest.display())),
        "{text}"
    );
}

#[test]
fn doctor_names_each_problem_of_a_broken_setup() {
    let t = Inst::new();
    // A binary that will vanish, an extension id the manifest does not list,
    // a keychain with no Secret Service, an endpoint nobody answers, and a
    // discovery document with the wrong issuer.
    let gone = t.env.dir.path().join("bin/logto-companion");
    std::fs::create_dir_all(gone.parent().unwrap()).unwrap();
    std::fs::copy(&*BIN, &gone).unwrap();
    let wrong_issuer = serve_json(|_| r#"{"issuer":"https://somewhere.else/oidc"}"#.to_string());
    t.ok(&[
        "install",
        "--endpoint",
        ENDPOINT,
        "--app-id",
        APP_ID,
        "--extension-id",
        EXT_ID,
        "--browser",
        "chromium",
        "--binary",
        gone.to_str().unwrap(),
    ]);
    std::fs::remove_file(&gone).unwrap();
    t.ok(&[
        "install",
        "--endpoint",
        ENDPOINT,
        "--app-id",
        APP_ID,
        "--extension-id",
        EXT_ID_2,
        "--browser",
        "none",
    ]);
    t.ok(&[
        "install",
        "--endpoint",
        &wrong_issuer,
        "--app-id",
        "second",
        "--browser",
        "none",
    ]);
    // The Secret Service is unreachable: TestEnv drops DBUS_SESSION_BUS_ADDRESS.
    let out = t.run(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let fails: Vec<&str> = text.lines().filter(|l| l.starts_with('✗')).collect();
    let has = |needle: &str| fails.iter().any(|l| l.contains(needle));
    assert!(
        has(&format!(
            "the host binary {} does not exist",
            gone.display()
        )),
        "{text}"
    );
    assert!(
        has(&format!(
            "chrome-extension://{EXT_ID_2}/ (app {APP_ID}) is not in allowed_origins"
        )),
        "{text}"
    );
    assert!(has("keychain store Keychain is not usable"), "{text}");
    assert!(
        has(&format!(
            "app {APP_ID}: discovery {ENDPOINT}/oidc/.well-known/openid-configuration failed"
        )),
        "{text}"
    );
    assert!(
        has("discovery says issuer \"https://somewhere.else/oidc\""),
        "{text}"
    );
    assert!(
        fails.iter().all(|l| l.contains(" — fix: ")),
        "every ✗ names its fix:\n{text}"
    );
    assert!(text.contains("problem(s) found"), "{text}");

    // --json for machines.
    let out = t.run(&["doctor", "--json", "--offline"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let areas: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["area"].as_str().unwrap())
        .collect();
    assert!(
        areas.contains(&"manifest") && areas.contains(&"keychain"),
        "{v}"
    );
    assert!(
        !areas.contains(&"endpoint"),
        "--offline still checked endpoints: {v}"
    );
}

#[test]
fn doctor_reports_invalid_manifest_json_and_wrong_name() {
    let t = Inst::new();
    t.env.write_default_config();
    let dir = t.home().join(".config/chromium/NativeMessagingHosts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("logto_companion.json"), "{ not json").unwrap();
    let text = String::from_utf8_lossy(&t.run(&["doctor", "--offline"]).stdout).into_owned();
    assert!(text.contains("not valid JSON"), "{text}");
    std::fs::write(
        dir.join("logto_companion.json"),
        format!(
            r#"{{"name":"other","path":"{}","type":"stdio","allowed_origins":["{EXT_ORIGIN}"]}}"#,
            *BIN
        ),
    )
    .unwrap();
    let text = String::from_utf8_lossy(&t.run(&["doctor", "--offline"]).stdout).into_owned();
    assert!(text.contains("\"name\" is \"other\""), "{text}");
}

fn install_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("installers/install.sh")
}

#[test]
fn install_sh_copies_both_binaries_and_runs_install() {
    let t = Inst::new();
    let prefix = t.env.dir.path().join("prefix");
    let profile = t.env.dir.path().join("profile");
    let out = std::process::Command::new("sh")
        .arg(install_sh())
        .args(["--binary", BIN.as_str()])
        .args([
            "--endpoint",
            ENDPOINT_URL,
            "--app-id",
            APP_ID,
            "--extension-id",
            EXT_ID,
        ])
        .args(["--user-data-dir", profile.to_str().unwrap()])
        .envs(&t.env.vars)
        .env("PREFIX", &prefix)
        .env("LOGTO_COMPANION_ROOT", &t.root)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    let installed = prefix.join("bin/logto-companion");
    use std::os::unix::fs::PermissionsExt;
    assert!(std::fs::metadata(&installed).unwrap().permissions().mode() & 0o111 != 0);
    // Both binaries, side by side: the thin one starts the daemon from there.
    let daemon = prefix.join("bin/logto-companion-daemon");
    assert!(std::fs::metadata(&daemon).unwrap().permissions().mode() & 0o111 != 0);
    // The manifest points at the installed copy, not the build folder.
    let m = read_json(&profile.join("NativeMessagingHosts/logto_companion.json"));
    assert_eq!(
        m["path"],
        installed.canonicalize().unwrap().to_str().unwrap(),
        "{text}"
    );
    assert!(text.contains("is not on your PATH"), "{text}");

    // A second app, registered with the installed binary itself.
    let run = |args: &[&str]| t.ok_program(&installed, args);
    run(&[
        "install",
        "--endpoint",
        ENDPOINT_URL,
        "--app-id",
        "second-app",
        "--browser",
        "none",
    ]);
    // One app goes: the programs stay, the other app needs them.
    let text = run(&["uninstall", "--app-id", APP_ID]);
    assert!(!text.contains("deleted"), "{text}");
    assert!(installed.is_file() && daemon.is_file(), "{text}");
    assert!(!profile
        .join("NativeMessagingHosts/logto_companion.json")
        .exists());
    // A daemon running from the installed files (memory store: this test
    // has no keychain).
    let config = t.env.config_path();
    let cfg = std::fs::read_to_string(&config).unwrap();
    let others: Vec<&str> = cfg.lines().filter(|l| !l.starts_with("store ")).collect();
    t.env
        .write_config(&format!("store = \"memory\"\n{}\n", others.join("\n")));
    run(&["ping"]);
    let pid = t.env.daemon_pid().expect("the daemon's pid file");
    assert!(
        t.env.daemon_processes().contains(&pid),
        "daemon {pid} not found"
    );
    // The last one goes: so do both program files install.sh copied, the
    // record, and the daemon that ran from them.
    let text = run(&["uninstall"]);
    for p in [&installed, &daemon] {
        let p = p.canonicalize().unwrap_or(p.to_path_buf());
        assert!(text.contains(&format!("deleted {}", p.display())), "{text}");
    }
    assert!(!installed.exists() && !daemon.exists(), "{text}");
    assert!(!t.record().exists(), "{text}");
    assert!(
        text.contains(&format!("stopped the daemon (pid {pid})")),
        "{text}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while t.env.daemon_processes().contains(&pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "daemon {pid} still runs:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn uninstall_of_binaries_no_script_copied_names_them_and_keeps_them() {
    let t = Inst::new();
    t.ok(&with(base_args(), &["--browser", "none"]));
    let text = t.ok(&["uninstall"]);
    assert!(text.contains("the program files stay"), "{text}");
    assert!(Path::new(BIN.as_str()).is_file() && Path::new(DAEMON_BIN).is_file());
    assert!(!t.record().exists());
}

#[test]
fn install_sh_help_and_missing_cargo() {
    let out = std::process::Command::new("sh")
        .arg(install_sh())
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("usage: installers/install.sh"));
    let t = Inst::new();
    let out = std::process::Command::new("sh")
        .arg(install_sh())
        .args(["--endpoint", ENDPOINT_URL])
        .envs(&t.env.vars)
        .env("CARGO", "/nonexistent/cargo")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cargo was not found") && err.contains("rustup.rs"),
        "{err}"
    );
    assert!(!t.home().join(".local/bin").exists());
}

/// `args` with stdout a pipe whose reader has already left.
#[cfg(unix)]
fn into_a_closed_pipe(t: &Inst, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = t
        .env
        .command()
        .env("LOGTO_COMPANION_ROOT", &t.root)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    out
}

/// `doctor | head -1`: the reader leaves after one line and doctor ends
/// quietly (SIGPIPE, as any Unix tool), not with Rust's broken-pipe panic.
#[cfg(unix)]
#[test]
fn doctor_into_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let out = into_a_closed_pipe(&Inst::new(), &["doctor", "--offline"]);
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
}

/// `install | head -1` and `uninstall | head -1`: the lines the reader did
/// not take are lost, the work is not: both finish it and say so by their
/// exit code.
#[cfg(unix)]
#[test]
fn install_and_uninstall_into_a_closed_pipe_do_all_their_work() {
    let t = Inst::new();
    let out = into_a_closed_pipe(&t, &with(base_args(), &["--browser", "chromium,firefox"]));
    assert!(out.status.success(), "{:?}", out.status);
    let chromium = t
        .home()
        .join(".config/chromium/NativeMessagingHosts/logto_companion.json");
    let firefox = t
        .home()
        .join(".mozilla/native-messaging-hosts/logto_companion.json");
    assert!(chromium.is_file() && firefox.is_file());
    assert!(t.record().is_file());
    let out = into_a_closed_pipe(&t, &["uninstall"]);
    assert!(out.status.success(), "{:?}", out.status);
    assert!(!chromium.exists() && !firefox.exists() && !t.record().exists());
}
