//! `sign-in`: the system browser (or a printed URL), or `--device` (RFC 8628).

use super::*;

pub(super) fn has_display() -> bool {
    if cfg!(target_os = "linux") {
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    } else {
        true
    }
}

pub(super) fn sign_in(
    paths: &Paths,
    app_id: Option<&str>,
    phone: Option<String>,
    no_browser: bool,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let app = pick_app(paths, app_id)?;
    let (mut client, _) = bind(paths, &app)?;
    // "system": the daemon opens the default browser; "extension": the
    // caller opens the URL, and here the caller is a person reading it.
    let open_in = if no_browser || !has_display() {
        OpenIn::Extension
    } else {
        OpenIn::System
    };
    let mut params = SignInParams {
        open_in: Some(open_in),
        ..Default::default()
    };
    if let Some(p) = &phone {
        params.login_hint = Some(p.clone());
        params.first_screen = Some("identifier:sign_in".into());
        params.identifiers = Some(vec!["phone".into()]);
    }
    let result: ClaimsResult = client.call_with_events(&Request::SignIn(params), |event| {
        if let Event::SignInStarted { url, .. } = event {
            if as_json {
                println!("{}", json!({"event": "signInStarted", "url": url}));
            } else if open_in == OpenIn::System {
                eprintln!("Opening your browser to sign in. If it does not open, visit:\n  {url}");
            } else {
                eprintln!("Open this URL in a browser to sign in:\n  {url}");
            }
            eprintln!("Waiting for the sign-in to finish…");
        }
    })?;
    Ok(signed_in(&result.claims, as_json))
}

/// `sign-in --device`: shows where to go and the code to enter, and waits.
/// Ctrl-C sends `cancelSignIn` on a second connection so the daemon stops
/// polling the provider at once, then exits 130. Only what the person must
/// see is printed (the URI and the user code); the device code stays in the
/// daemon.
pub(super) fn sign_in_device(
    paths: &Paths,
    app_id: Option<&str>,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let app = pick_app(paths, app_id)?;
    let (mut client, _) = bind(paths, &app)?;
    let interrupted = cancel_on_ctrl_c(paths.clone(), app.clone());
    let request = Request::SignInWithDevice(DeviceSignInParams::default());
    let result = client.call_with_events(&request, |event| {
        if let Event::DeviceCode {
            verification_uri,
            user_code,
            verification_uri_complete,
            expires_in,
            ..
        } = event
        {
            if as_json {
                println!(
                    "{}",
                    json!({"event": "deviceCode", "verificationUri": verification_uri, "userCode": user_code, "verificationUriComplete": verification_uri_complete, "expiresIn": expires_in})
                );
            } else {
                eprintln!("On another device, open\n  {verification_uri}\nand enter the code\n  {user_code}");
                if let Some(complete) = verification_uri_complete {
                    eprintln!("(or open {complete} to skip typing it)");
                    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                        if let Some(qr) = qr_code(complete) {
                            eprintln!("or scan it:\n{qr}");
                        }
                    }
                }
                eprintln!(
                    "The code expires in {} min. Waiting for the sign-in… (Ctrl-C cancels)",
                    expires_in.div_ceil(60)
                );
            }
        }
    });
    // The cancel our Ctrl-C handler sent may answer before it exits.
    let result: ClaimsResult = match result {
        Err(e) if interrupted.load(Ordering::SeqCst) && e.code == ErrorCode::UserCancelled => {
            return Err(CliError {
                code: 130,
                message: "the sign-in was cancelled".into(),
            })
        }
        r => r?,
    };
    Ok(signed_in(&result.claims, as_json))
}

/// On Ctrl-C, ends the app's running sign-in in the daemon (the device
/// flow would otherwise poll until its code expires) and exits 130.
pub(super) fn cancel_on_ctrl_c(paths: Paths, app: AppConfig) -> Arc<AtomicBool> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
        else {
            return;
        };
        if rt.block_on(tokio::signal::ctrl_c()).is_err() {
            return;
        }
        flag.store(true, Ordering::SeqCst);
        eprintln!("\nCancelling the sign-in…");
        if let Ok((mut client, _)) = bind(&paths, &app) {
            let _ = client
                .call::<CancelSignInResult>(&Request::CancelSignIn(CancelSignInParams::default()));
        }
        std::process::exit(130);
    });
    interrupted
}

/// What both sign-ins print at the end.
fn signed_in(claims: &Value, as_json: bool) -> ExitCode {
    if as_json {
        println!("{}", json!({"signedIn": true, "claims": claims}));
    } else {
        println!("Signed in as {}", describe_user(claims));
    }
    ExitCode::SUCCESS
}

/// `url` as a QR code in the terminal (two modules per character cell),
/// with its quiet zone. Light modules are drawn as blocks: on the usual dark
/// terminal that shows dark-on-light, as a camera expects (most readers
/// take the inverse too).
fn qr_code(url: &str) -> Option<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_verification_uri_renders_as_a_block_qr_code() {
        let qr = super::qr_code("http://127.0.0.1:3000/oidc/device?user_code=WDJB-MJHT").unwrap();
        let lines: Vec<&str> = qr.lines().collect();
        assert!(lines.len() > 10, "{qr}");
        let width = lines[0].chars().count();
        assert!(
            lines.iter().all(|l| l.chars().count() == width),
            "square rows"
        );
        assert!(qr.contains('█') || qr.contains('▀') || qr.contains('▄'));
    }
}
