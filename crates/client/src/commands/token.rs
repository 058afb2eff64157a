//! `token`: on scripts' hot path. No async runtime, no logging set-up, no
//! config file read: `hello` names the app by `--app-id` only (the daemon
//! picks the app the command line may use, by the rule in
//! `Config::pick_cli_app`), and `hello` + `getAccessToken` go out together
//! (one round trip).

use super::{connect, CliError};
use crate::paths::Paths;
use logto_companion_protocol::{
    AccessTokenParams, AccessTokenResult, AppParams, HelloParams, HelloResult, Request,
};
use std::process::ExitCode;

/// `hello` for the CLI: an empty endpoint lets the daemon pick the app.
pub fn cli_hello(app_id: Option<&str>) -> Request {
    Request::Hello(HelloParams {
        app: AppParams {
            endpoint: String::new(),
            app_id: app_id.unwrap_or_default().to_string(),
            ..Default::default()
        },
    })
}

pub fn token(
    paths: &Paths,
    app_id: Option<&str>,
    resource: Option<String>,
    organization_id: Option<String>,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let mut client = connect(paths)?;
    let hello = client.send(&cli_hello(app_id))?;
    let get = client.send(&Request::GetAccessToken(AccessTokenParams {
        resource,
        organization_id,
    }))?;
    client.wait_reply::<HelloResult>(hello, |_| {})?;
    let result: AccessTokenResult = client.wait_reply(get, |_| {})?;
    super::printing_now();
    if as_json {
        println!("{}", serde_json::to_string(&result).unwrap_or_default());
    } else {
        println!("{}", result.access_token);
    }
    Ok(ExitCode::SUCCESS)
}
