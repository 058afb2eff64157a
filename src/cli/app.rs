//! Which app a session command is about, and the connection bound to it.

use super::*;

/// The app the command is about, by the daemon's rule
/// ([`Config::pick_cli_app`]): `--app-id`, else the only one the CLI may
/// use, else a clear error listing them.
pub(super) fn pick_app(paths: &Paths, app_id: Option<&str>) -> Result<AppConfig, CliError> {
    let file = paths.config_file();
    let config = Config::load(&file).map_err(|e| CliError::other(e.to_string()))?;
    config
        .pick_cli_app(app_id, &file)
        .cloned()
        .map_err(|e| CliError::other(e.to_string()))
}

/// Connects as the CLI and binds to `app`; returns the client and whether
/// the app is signed in.
pub(super) fn bind(paths: &Paths, app: &AppConfig) -> Result<(Client, bool), CliError> {
    let mut client = connect(paths)?;
    let hello: HelloResult = client.call(&hello_request(app))?;
    Ok((client, hello.authenticated))
}

pub(super) fn hello_request(app: &AppConfig) -> Request {
    Request::Hello(HelloParams {
        app: AppParams {
            endpoint: app.endpoint.clone(),
            app_id: app.app_id.clone(),
            ..Default::default()
        },
    })
}
