//! `token`: on scripts' hot path: no async runtime, no logging set-up, and
//! `hello` + `getAccessToken` go out together (one round trip).

use super::*;

pub(super) fn token(
    paths: &Paths,
    app_id: Option<&str>,
    resource: Option<String>,
    organization_id: Option<String>,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let app = pick_app(paths, app_id)?;
    let mut client = connect(paths)?;
    let hello = client.send(&hello_request(&app))?;
    let get = client.send(&Request::GetAccessToken(AccessTokenParams {
        resource,
        organization_id,
    }))?;
    client.wait_reply::<HelloResult>(hello, |_| {})?;
    let result: AccessTokenResult = client.wait_reply(get, |_| {})?;
    if as_json {
        println!("{}", serde_json::to_string(&result).unwrap_or_default());
    } else {
        println!("{}", result.access_token);
    }
    Ok(ExitCode::SUCCESS)
}
