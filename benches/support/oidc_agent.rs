//! oidc-agent (Debian's `oidc-agent-cli`), the comparable C tool for
//! `logto-companion token`: an agent holding the session and `oidc-token`
//! printing a cached access token. Set up here without a person: an agent
//! on its own socket in a scratch HOME, an account made by `oidc-gen` with
//! the device flow (RFC 8628) against the bench's IdP, its page approved by
//! `tests/idp/drive-signin.mjs` — the same driver the device suite uses.
//!
//! `oidc-gen` prompts on a terminal, so it runs under `script` (a pty);
//! every answer it would ask for is given by a flag. oidc-agent accepts
//! only confidential clients and `http://localhost:<port>` redirect URIs,
//! hence [`client`] in the IdP's config (the device flow never uses the
//! redirect URI).

use crate::common::idp::{idp_dir, Idp, PHONE};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "oidc-agent-bench";
const CLIENT_SECRET: &str = "oidc-agent-bench-secret";
const ACCOUNT: &str = "bench";

/// The IdP client oidc-agent signs in with.
pub fn client() -> Value {
    json!({
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "client_name": "oidc-agent (bench)",
        "application_type": "native",
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        "redirect_uris": ["http://localhost:4242"],
        "response_types": []
    })
}

pub struct OidcAgent {
    agent: Child,
    home: tempfile::TempDir,
    socket: std::path::PathBuf,
    pub version: String,
}

impl OidcAgent {
    /// A running agent with a signed-in account, or why there is none.
    pub fn setup(idp: &Idp) -> Result<OidcAgent, String> {
        for tool in ["oidc-agent", "oidc-gen", "oidc-token", "script"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !found {
                return Err(format!(
                    "{tool} is not installed (apt-get install oidc-agent-cli bsdutils)"
                ));
            }
        }
        let version = Command::new("oidc-token")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let home = tempfile::tempdir().map_err(|e| e.to_string())?;
        let socket = home.path().join("agent.sock");
        let agent = Command::new("oidc-agent")
            .args(["--console", "--quiet", "--no-autoload"])
            .arg(format!("--socket-path={}", socket.display()))
            .env("HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start oidc-agent: {e}"))?;
        let mut me = OidcAgent {
            agent,
            home,
            socket,
            version,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !me.socket.exists() {
            if Instant::now() > deadline {
                return Err("oidc-agent did not open its socket".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        me.generate(idp)?;
        // One token fetched before timing, so every timed call is cached.
        let out = me.token_command().output().map_err(|e| e.to_string())?;
        if !out.status.success() || out.stdout.is_empty() {
            return Err(format!(
                "oidc-token gave no token: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(me)
    }

    /// `oidc-gen` with the device flow, its code approved by the driver.
    fn generate(&mut self, idp: &Idp) -> Result<(), String> {
        let gen = format!(
            "oidc-gen {ACCOUNT} --iss={iss} --client-id={CLIENT_ID} --client-secret={CLIENT_SECRET} \
             --scope='openid offline_access' --flow=device --redirect-uri=http://localhost:4242 \
             --pw-cmd='echo bench' --confirm-default --no-url-call",
            iss = idp.issuer
        );
        let mut child = self
            .command("script")
            .args(["-qfec", &gen, "/dev/null"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run oidc-gen: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = String::new();
        let code = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                return Err(format!("oidc-gen ended without a device code: {seen:.400}"));
            };
            if let Some(rest) = line.split("enter the code: ").nth(1) {
                break rest.trim().to_string();
            }
            seen.push_str(&line);
        };
        let driver = Command::new("node")
            .arg(idp_dir().join("drive-signin.mjs"))
            .args(["--url", &format!("{}/device", idp.issuer)])
            .args([
                "--user-code",
                &code,
                "--phone",
                PHONE,
                "--twilio",
                &idp.twilio,
            ])
            .output()
            .map_err(|e| format!("cannot run the driver: {e}"))?;
        if !driver.status.success() {
            let _ = child.kill();
            return Err(format!(
                "the device page was not approved: {}",
                String::from_utf8_lossy(&driver.stdout).trim()
            ));
        }
        let rest: String = lines.map_while(Result::ok).collect::<Vec<_>>().join(" ");
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() || !rest.contains("Everything setup correctly") {
            return Err(format!("oidc-gen did not finish ({status}): {rest:.400}"));
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("HOME", self.home.path())
            .env("OIDC_SOCK", &self.socket)
            .env_remove("OIDCD_PID");
        c
    }

    /// `oidc-token bench`: the cached access token on stdout.
    pub fn token_command(&self) -> Command {
        let mut c = self.command("oidc-token");
        c.arg(ACCOUNT);
        c
    }
}

impl Drop for OidcAgent {
    fn drop(&mut self) {
        let _ = self.agent.kill();
        let _ = self.agent.wait();
    }
}
