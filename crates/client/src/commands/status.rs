//! `ping` and `status`.

use super::{connect, describe_user, now_secs, CliError};
use crate::paths::Paths;
use logto_companion_protocol::{NoParams, PingResult, Request, StatusResult};
use serde_json::json;
use std::process::ExitCode;

pub fn ping(paths: &Paths, as_json: bool) -> Result<ExitCode, CliError> {
    let start = std::time::Instant::now();
    let mut client = connect(paths)?;
    let result: PingResult = client.call(&Request::Ping(NoParams))?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    super::printing_now();
    if as_json {
        println!("{}", json!({"result": result, "ms": ms}));
    } else {
        println!("daemon answers (version {}), {ms:.2} ms", result.version);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(paths: &Paths, app_id: Option<&str>, as_json: bool) -> Result<ExitCode, CliError> {
    // Sessions live in the keychain and only the daemon reads them, so a
    // status starts the daemon if needed (and says it was not running).
    let was_running = crate::ipc::connect_existing(paths).is_ok();
    let mut client = connect(paths)?;
    let mut st: StatusResult = client.call(&Request::Status(NoParams))?;
    if let Some(id) = app_id {
        st.apps.retain(|a| a.app_id == id);
    }
    super::printing_now();
    if as_json {
        println!(
            "{}",
            json!({
                "daemon": {"running": true, "wasRunning": was_running, "pid": st.pid, "version": st.version},
                "store": st.store,
                "apps": st.apps,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "daemon: running (pid {}, version {}){}",
        st.pid,
        st.version,
        if was_running { "" } else { " — started now" }
    );
    println!("keychain: {}", st.store.description);
    if st.apps.is_empty() {
        println!("apps: none usable from the command line (run `logto-companion install …`)");
    }
    let now = now_secs();
    for app in st.apps {
        println!("app {} at {}", app.app_id, app.endpoint);
        if let Some(err) = &app.error {
            println!("  error: {err}");
        }
        if app.authenticated {
            let claims = serde_json::to_value(app.claims.unwrap_or_default()).unwrap_or_default();
            println!("  signed in as {}", describe_user(&claims));
            for t in &app.access_tokens {
                let what = match (t.resource.as_str(), t.organization_id.as_str()) {
                    (r, _) if !r.is_empty() => r.to_string(),
                    (_, o) if !o.is_empty() => format!("organization {o}"),
                    _ => "userinfo (no resource)".to_string(),
                };
                if t.expires_at > now {
                    println!(
                        "  access token for {what}: expires in {}s",
                        t.expires_at - now
                    );
                } else {
                    println!("  access token for {what}: expired (refreshed on next use)");
                }
            }
        } else {
            println!("  signed out");
        }
        println!("  connections: {}", app.connections);
    }
    Ok(ExitCode::SUCCESS)
}
