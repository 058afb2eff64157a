//! The second test OpenID Provider (`tests/idp-dot`, django-oauth-toolkit)
//! as a child process, and its driver that signs in or out like a browser.
//! Unlike the Logto-like IdP it matches the redirect URI as an exact string,
//! port included, and publishes its revocation endpoint only in the RFC 8414
//! metadata (see tests/idp-dot/README.md for what its discovery holds).
//!
//! Needs the venv `scripts/setup-dot` builds (`target/idp-dot-venv`, or
//! `DOT_VENV`).

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::idp::http_raw;

pub fn dot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/idp-dot")
}

/// The venv's python: `DOT_VENV` if set (as for scripts/setup-dot), else
/// `target/idp-dot-venv` in the checkout.
pub fn python() -> PathBuf {
    let venv = std::env::var_os("DOT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/idp-dot-venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-dot first (it builds the django-oauth-toolkit venv)",
        python.display()
    );
    python
}

/// How the provider is started; `Default` is what most tests want.
#[derive(Clone, Debug)]
pub struct DotOptions {
    /// Listen port; 0 = ephemeral.
    pub port: u16,
    /// Each registers `http://127.0.0.1:N/callback`. Empty = the server's
    /// default (47615).
    pub redirect_ports: Vec<u16>,
    /// DOT's own RFC 8252 rule (any loopback port) instead of exact matching.
    pub loopback_any_port: bool,
    /// Registered post-logout URIs. Empty = `/logout-callback` on each
    /// redirect port.
    pub post_logout_redirect_uris: Vec<String>,
    /// `false`: discovery without `end_session_endpoint`.
    pub end_session: bool,
    /// `true`: no logout confirmation page when `id_token_hint` names the
    /// signed-in user (DOT's default is a page that waits for a click).
    pub logout_without_prompt_for_hint: bool,
    /// `true`: revocation demands client authentication; the public client
    /// gets 401 `invalid_client` and its token stays valid.
    pub confidential_revocation: bool,
    pub access_token_ttl: Option<u64>,
    /// Merged over DOT's `OAUTH2_PROVIDER` settings.
    pub oauth2_settings: Option<Value>,
}

impl Default for DotOptions {
    fn default() -> Self {
        DotOptions {
            port: 0,
            redirect_ports: Vec::new(),
            loopback_any_port: false,
            post_logout_redirect_uris: Vec::new(),
            end_session: true,
            logout_without_prompt_for_hint: false,
            confidential_revocation: false,
            access_token_ttl: None,
            oauth2_settings: None,
        }
    }
}

/// What a driver run does besides signing in with the test user.
#[derive(Clone, Debug, Default)]
pub struct DriveOptions<'a> {
    /// Press Cancel on the consent page: the app gets `error=access_denied`.
    pub deny: bool,
    /// Do not call the app's loopback callback (or post-logout URI).
    pub stop_before_callback: bool,
    /// Share the provider's cookies with other runs, like one browser
    /// profile.
    pub cookie_jar: Option<&'a Path>,
    /// Another password (a wrong one, say).
    pub password: Option<&'a str>,
}

pub struct Dot {
    child: Child,
    pub issuer: String,
    pub endpoint: String,
    pub port: u16,
    pub client_id: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Everything the provider printed on stderr (collected for leak scans).
    stderr: Arc<Mutex<String>>,
    /// The server's TMPDIR: its SQLite database is the one
    /// `dot-idp-*/db.sqlite3` in here, which `tokens()` reads.
    tmp: tempfile::TempDir,
}

/// What the provider's database holds right now (DOT has no test API;
/// the test reads its tables the way an administrator could).
#[derive(Clone, Debug, Default)]
pub struct DotTokens {
    /// Refresh tokens still usable (not revoked).
    pub active_refresh: Vec<String>,
    /// Refresh tokens revoked (rotated away or revoked by a client).
    pub revoked_refresh: Vec<String>,
    pub access: Vec<String>,
    /// Authorization codes not yet exchanged.
    pub codes: Vec<String>,
}

impl DotTokens {
    /// Every secret string in the snapshot.
    pub fn all(&self) -> Vec<String> {
        [
            &self.active_refresh,
            &self.revoked_refresh,
            &self.access,
            &self.codes,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }
}

/// Reads the token tables of the SQLite database under `tmp` with the
/// venv's python (its stdlib `sqlite3`; no Rust SQLite crate needed).
const READ_TOKENS: &str = r#"
import glob, json, sqlite3, sys
db = glob.glob(sys.argv[1] + "/dot-idp-*/db.sqlite3")[0]
c = sqlite3.connect(db)
rows = lambda q: [list(r) for r in c.execute(q)]
print(json.dumps({
    "refresh": rows("select token, revoked is not null from oauth2_provider_refreshtoken"),
    "access": rows("select token from oauth2_provider_accesstoken"),
    "codes": rows("select code from oauth2_provider_grant"),
}))
"#;

impl Dot {
    /// Starts `server.py` and waits for its ready line (~2 s).
    pub fn start(opts: DotOptions) -> Dot {
        let tmp = tempfile::Builder::new()
            .prefix("lc-dot-")
            .tempdir()
            .unwrap();
        let mut cmd = Command::new(python());
        cmd.env("TMPDIR", tmp.path())
            .arg(dot_dir().join("server.py"))
            .args(["--port", &opts.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for p in &opts.redirect_ports {
            cmd.args(["--redirect-port", &p.to_string()]);
        }
        for u in &opts.post_logout_redirect_uris {
            cmd.args(["--post-logout-redirect-uri", u]);
        }
        if opts.loopback_any_port {
            cmd.args(["--redirect-match", "loopback-any-port"]);
        }
        if !opts.end_session {
            cmd.arg("--no-end-session");
        }
        if opts.logout_without_prompt_for_hint {
            cmd.args(["--logout-prompt", "unless-hint"]);
        }
        if opts.confidential_revocation {
            cmd.args(["--revocation", "confidential"]);
        }
        if let Some(ttl) = opts.access_token_ttl {
            cmd.args(["--access-token-ttl", &ttl.to_string()]);
        }
        if let Some(s) = &opts.oauth2_settings {
            cmd.args(["--oauth2-settings", &s.to_string()]);
        }
        let mut child = cmd.spawn().expect("start tests/idp-dot/server.py");
        let stderr = Arc::new(Mutex::new(String::new()));
        let reader = {
            let mut err = child.stderr.take().unwrap();
            let buf = stderr.clone();
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = err.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    buf.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            })
        };
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).expect("DOT ready line");
        let ready: Value = match serde_json::from_str(line.trim()) {
            Ok(v) => v,
            Err(e) => {
                // The server exited: let the stderr thread finish so the panic
                // names the reason.
                let _ = child.wait();
                let _ = reader.join();
                panic!(
                    "DOT did not print a ready line ({e}): {line:?}; stderr: {}",
                    stderr.lock().unwrap()
                );
            }
        };
        // Drain stdout so the provider never blocks on it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        let strings = |key: &str| -> Vec<String> {
            ready[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        Dot {
            issuer: ready["issuer"].as_str().unwrap().to_string(),
            endpoint: ready["endpoint"].as_str().unwrap().to_string(),
            port: ready["port"].as_u64().unwrap() as u16,
            client_id: ready["clientId"].as_str().unwrap().to_string(),
            redirect_uris: strings("redirectUris"),
            post_logout_redirect_uris: strings("postLogoutRedirectUris"),
            child,
            stderr,
            tmp,
        }
    }

    /// The tokens and codes in the provider's database now.
    pub fn tokens(&self) -> DotTokens {
        let out = Command::new(python())
            .args(["-c", READ_TOKENS])
            .arg(self.tmp.path())
            .output()
            .expect("run python to read the DOT database");
        assert!(
            out.status.success(),
            "reading the DOT database failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("token tables as JSON");
        let column = |key: &str| -> Vec<Vec<Value>> {
            v[key]
                .as_array()
                .map(|rows| rows.iter().filter_map(|r| r.as_array().cloned()).collect())
                .unwrap_or_default()
        };
        let first = |r: &Vec<Value>| r[0].as_str().unwrap_or("").to_string();
        let mut t = DotTokens::default();
        for r in column("refresh") {
            if r[1].as_i64() == Some(1) || r[1] == Value::Bool(true) {
                t.revoked_refresh.push(first(&r));
            } else {
                t.active_refresh.push(first(&r));
            }
        }
        t.access = column("access").iter().map(first).collect();
        t.codes = column("codes").iter().map(first).collect();
        t
    }

    /// GET a path of the provider, as JSON (asserts a 2xx answer).
    pub fn get(&self, path: &str) -> Value {
        let (status, body) = http_raw("GET", self.port, path, None);
        assert!(
            (200..300).contains(&status),
            "GET {path} -> {status}: {body}"
        );
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    /// The OpenID Connect discovery document.
    pub fn discovery(&self) -> Value {
        self.get("/o/.well-known/openid-configuration")
    }

    /// The RFC 8414 metadata (the only document with `revocation_endpoint`).
    pub fn metadata(&self) -> Value {
        self.get("/.well-known/oauth-authorization-server/o")
    }

    /// POSTs a form to a path of the provider (e.g. `/o/token/`): status and
    /// JSON body. For checking from a test whether a refresh token still
    /// works after the companion revoked it.
    pub fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to DOT");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .unwrap();
        let mut resp = Vec::new();
        let _ = s.read_to_end(&mut resp);
        let text = String::from_utf8_lossy(&resp);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let json = text
            .split_once("\r\n\r\n")
            .and_then(|(_, b)| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        (status, json)
    }

    /// A `refresh_token` grant as the public client: 200 if the token is
    /// still valid, 400 `invalid_grant` once revoked or rotated away.
    pub fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        self.post_form(
            "/o/token/",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", &self.client_id),
            ],
        )
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Completes a sign-in for `url` like a browser: login form with the
    /// test user, Authorize on the consent page, then the GET on the
    /// companion's loopback callback. Returns the driver's JSON line
    /// (`ok`, `callbackUrl`, `callbackStatus`, `loggedIn`, or `error` and
    /// `status` when the provider showed an error page).
    pub fn drive(&self, url: &str) -> Value {
        self.drive_with(url, DriveOptions::default())
    }

    pub fn drive_with(&self, url: &str, opts: DriveOptions) -> Value {
        let mut args = vec!["--url".to_string(), url.to_string()];
        if opts.deny {
            args.push("--deny".into());
        }
        if let Some(p) = opts.password {
            args.extend(["--password".into(), p.into()]);
        }
        run_driver(args, &opts)
    }

    /// Opens an end-session URL like a browser: confirms the logout page,
    /// follows to the post-logout URI (called unless `stop_before_callback`).
    /// Returns `{"ok":true,"loggedOut":true,"redirectUrl":…}` or an error.
    pub fn drive_logout(&self, url: &str, opts: DriveOptions) -> Value {
        run_driver(vec!["--logout".into(), "--url".into(), url.into()], &opts)
    }
}

fn run_driver(mut args: Vec<String>, opts: &DriveOptions) -> Value {
    if opts.stop_before_callback {
        args.push("--stop-before-callback".into());
    }
    if let Some(jar) = opts.cookie_jar {
        args.extend(["--cookie-jar".into(), jar.display().to_string()]);
    }
    let out = Command::new(python())
        .arg(dot_dir().join("drive.py"))
        .args(&args)
        .output()
        .expect("run tests/idp-dot/drive.py");
    super::driver_result(&out)
}

impl Drop for Dot {
    /// SIGTERM first, so the server removes its temporary database; SIGKILL
    /// if it has not gone within 5 s.
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
