//! Which app a session command is about, and the connection bound to it.

use super::*;

/// The app the command is about: `--app-id`, else the only one the CLI may
/// use, else a clear error listing them.
pub(super) fn pick_app(paths: &Paths, app_id: Option<&str>) -> Result<AppConfig, CliError> {
    let config = Config::load(&paths.config_file()).map_err(|e| CliError::other(e.to_string()))?;
    let usable: Vec<&AppConfig> = config.apps.iter().filter(|a| a.allow_cli).collect();
    if let Some(id) = app_id {
        return usable
            .iter()
            .find(|a| a.app_id == id)
            .map(|a| (*a).clone())
            .ok_or_else(|| {
                let exists = config.apps.iter().any(|a| a.app_id == id);
                CliError::other(if exists {
                    format!(
                        "app {id:?} does not allow the command line (allow_cli = false in {})",
                        paths.config_file().display()
                    )
                } else {
                    format!(
                        "app {id:?} is not registered; registered: {}",
                        list_apps(&config.apps)
                    )
                })
            });
    }
    match usable.as_slice() {
        [only] => Ok((*only).clone()),
        [] if config.apps.is_empty() => Err(CliError::other(format!(
            "no app is registered in {}; run `logto-companion install --endpoint <url> --app-id <id> …`",
            paths.config_file().display()
        ))),
        [] => Err(CliError::other(format!(
            "no registered app allows the command line (allow_cli); registered: {}",
            list_apps(&config.apps)
        ))),
        many => Err(CliError::other(format!(
            "several apps are registered; choose one with --app-id: {}",
            list_apps(&many.iter().map(|a| (*a).clone()).collect::<Vec<_>>())
        ))),
    }
}

pub(super) fn list_apps(apps: &[AppConfig]) -> String {
    apps.iter()
        .map(|a| format!("{} ({})", a.app_id, a.endpoint))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Connects as the CLI (starting the daemon if needed).
pub(super) fn connect(paths: &Paths) -> Result<Client, CliError> {
    Client::connect(paths, &Origin::Cli, "cli").map_err(|e| CliError::other(e.to_string()))
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
