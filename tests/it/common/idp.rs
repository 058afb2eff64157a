//! The Logto-like test IdP (`tests/idp`, npm oidc-provider) as a child
//! process, with its in-process Twilio stand-in, its test API, and the HTTP
//! driver that completes a phone sign-in like a browser.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const PHONE: &str = "+15551234567";

pub fn idp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/idp")
}

pub struct Idp {
    child: Child,
    pub endpoint: String,
    pub issuer: String,
    pub port: u16,
    pub twilio: String,
    /// Kept alive while the IdP runs: it reads its config from there.
    _config_file: Option<tempfile::NamedTempFile>,
    /// Everything the IdP printed on stderr (collected for leak scans).
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Idp {
    /// Starts the IdP with an optional config (merged over the default one)
    /// and the Twilio stand-in. `port` 0 = ephemeral.
    pub fn start(config: Option<Value>) -> Idp {
        Self::start_on(config, 0)
    }

    pub fn start_on(config: Option<Value>, port: u16) -> Idp {
        let config_path = config.map(|c| {
            let mut f = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
            f.write_all(serde_json::to_string(&c).unwrap().as_bytes())
                .unwrap();
            f
        });
        let mut cmd = Command::new("node");
        cmd.arg(idp_dir().join("server.mjs"))
            .env("PORT", port.to_string())
            .env("IDP_TWILIO", "stand-in")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(p) = &config_path {
            cmd.env("IDP_CONFIG", p.path());
        }
        let mut child = cmd.spawn().expect(
            "start node tests/idp/server.mjs (is node installed and `npm ci` done in tests/idp?)",
        );
        let stderr_buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        {
            let mut err = child.stderr.take().unwrap();
            let buf = stderr_buf.clone();
            std::thread::spawn(move || {
                let mut s = String::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n) = err.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    s.push_str(&String::from_utf8_lossy(&chunk[..n]));
                    *buf.lock().unwrap() = s.clone();
                }
            });
        }
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("IdP ready line");
        let ready: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| {
            panic!(
                "IdP did not print a ready line ({e}): {line:?}; stderr: {}",
                stderr_buf.lock().unwrap()
            )
        });
        // Drain stdout so the IdP never blocks on it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        Idp {
            child,
            endpoint: ready["endpoint"].as_str().unwrap().to_string(),
            issuer: ready["issuer"].as_str().unwrap().to_string(),
            port: ready["port"].as_u64().unwrap() as u16,
            twilio: ready["twilio"].as_str().unwrap_or("").to_string(),
            _config_file: config_path,
            stderr: stderr_buf,
        }
    }

    pub fn stop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }

    /// Freezes the IdP (SIGSTOP): connections are accepted by the kernel
    /// but never answered — an IdP that hangs.
    pub fn freeze(&self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGSTOP);
        }
    }

    pub fn thaw(&self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGCONT);
        }
    }

    pub fn get(&self, path: &str) -> Value {
        http_json("GET", self.port, path)
    }

    pub fn post(&self, path: &str) -> Value {
        http_json("POST", self.port, path)
    }

    /// Number of token-endpoint requests of `grant_type` so far.
    pub fn token_requests(&self, grant_type: &str) -> u64 {
        self.get("/__test/counters")["token"][grant_type]
            .as_u64()
            .unwrap_or(0)
    }

    /// Usable refresh tokens of an account at the IdP.
    pub fn active_refresh_tokens(&self, account: &str) -> u64 {
        let grants = self.get("/__test/grants");
        grants
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|g| g["accountId"] == account)
                    .map(|g| g["active"].as_u64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Every token string the IdP ever issued.
    pub fn issued(&self) -> Vec<String> {
        let v = self.get("/__test/issued");
        let list = v
            .as_array()
            .cloned()
            .or_else(|| v["issued"].as_array().cloned())
            .unwrap_or_default();
        list.iter()
            .filter_map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .or_else(|| x["value"].as_str().map(str::to_string))
            })
            .collect()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Completes a phone sign-in for `url` like a browser: phone form, SMS
    /// code read from the Twilio stand-in, code form, then the GET on the
    /// companion's loopback callback. Returns the driver's JSON line.
    pub fn drive(&self, url: &str, phone: &str) -> Value {
        self.drive_in(url, phone, None)
    }

    /// `drive` with the IdP's cookies kept in `cookie_jar` between runs,
    /// like one browser profile: a run whose IdP session is still alive
    /// answers `smsSent: false` (signed in by the cookie).
    pub fn drive_in(&self, url: &str, phone: &str, cookie_jar: Option<&Path>) -> Value {
        let mut cmd = Command::new("node");
        cmd.arg(idp_dir().join("drive-signin.mjs")).args([
            "--url",
            url,
            "--phone",
            phone,
            "--twilio",
            &self.twilio,
        ]);
        if let Some(jar) = cookie_jar {
            cmd.arg("--cookie-jar").arg(jar);
        }
        let out = cmd.output().expect("run drive-signin.mjs");
        super::driver_result(&out)
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.thaw();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking HTTP/1.1 client for 127.0.0.1 (test API only).
pub fn http_raw(method: &str, port: u16, path: &str, host: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let host = host
        .map(str::to_string)
        .unwrap_or_else(|| format!("127.0.0.1:{port}"));
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    };
    (status, body)
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn http_json(method: &str, port: u16, path: &str) -> Value {
    let (status, body) = http_raw(method, port, path, None);
    assert!(
        (200..300).contains(&status),
        "{method} {path} -> {status}: {body}"
    );
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// The value of a query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let v = u
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned());
    v
}
