//! `sign-out`: revoke, clear everywhere, end the provider's session in the
//! system browser.

use super::*;

pub(super) fn sign_out(
    paths: &Paths,
    app_id: Option<&str>,
    no_browser: bool,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let app = pick_app(paths, app_id)?;
    let (mut client, was_signed_in) = bind(paths, &app)?;
    let result: SignOutResult = client.call(&Request::SignOut(SignOutParams::default()))?;
    // The full URL (with id_token_hint, RP-Initiated Logout §2) goes only to
    // the browser; the terminal gets it without the ID token.
    let opened = match (&result.end_session_url, no_browser || !has_display()) {
        (Some(url), false) => match webbrowser::open(url) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("Could not open the browser ({e}).");
                false
            }
        },
        _ => false,
    };
    let printable = result
        .end_session_url
        .as_deref()
        .map(printable_end_session_url);
    if as_json {
        println!(
            "{}",
            json!({"signedOut": true, "wasSignedIn": was_signed_in, "endSessionUrl": printable,
                   "openedInBrowser": opened, "revoked": result.revoked,
                   "revocationError": result.revocation_error})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}",
        if was_signed_in {
            "Signed out."
        } else {
            "Was not signed in."
        }
    );
    if let Some(err) = &result.revocation_error {
        eprintln!(
            "Signed out here, but the identity provider did not revoke the refresh token ({}): it stays valid until it expires.",
            err.message
        );
    }
    match (&printable, opened) {
        (Some(_), true) => {
            eprintln!("Opened the identity provider's sign-out page in your browser.")
        }
        (Some(url), false) => eprintln!(
            "To end the identity provider's own browser session too, open (it may ask you to confirm):\n  {url}"
        ),
        (None, _) => eprintln!(
            "The identity provider offers no end-session endpoint: its own browser session, if any, stays until you sign out there."
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The end-session URL without `id_token_hint`: a terminal (and its
/// scrollback) is no place for an ID token, and the IdP ends its session
/// from `client_id` alone after a confirmation.
pub(super) fn printable_end_session_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return String::new();
    };
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != "id_token_hint")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(kept);
    parsed.into()
}
