//! The sign-in engine end to end: the real binary driven through host
//! processes as Chrome would, the Logto-like IdP (npm oidc-provider) with its
//! Twilio stand-in, and the phone sign-in completed over HTTP like a browser.

use crate::common::idp::{http_raw, query_param, Idp, PHONE};
use crate::common::session::*;
use crate::common::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn phone_sign_in_returns_claims_and_every_connection_hears_it() {
    // The URL must carry the parameters this test reads: no PAR.
    let s = setup(Some(json!({"par": "disabled"})), "");
    let mut a = s.host();
    let mut b = s.env.host(OTHER_ORIGIN);
    assert_eq!(
        b.hello(&s.idp.endpoint, APP_ID)["result"]["authenticated"],
        false
    );

    a.send(&json!({"id": 1, "method": "signIn", "params": {"firstScreen": "identifier:sign_in", "identifiers": ["phone"], "loginHint": PHONE, "extraParams": {"ui_locales": "en"}}}));
    let started = a
        .wait_event("signInStarted", Duration::from_secs(20))
        .expect("signInStarted");
    let url = started["data"]["url"].as_str().unwrap().to_string();
    // The authorization request is the one Logto expects.
    assert_eq!(
        query_param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(query_param(&url, "prompt").as_deref(), Some("consent"));
    assert_eq!(
        query_param(&url, "first_screen").as_deref(),
        Some("identifier:sign_in")
    );
    assert_eq!(query_param(&url, "identifier").as_deref(), Some("phone"));
    assert_eq!(query_param(&url, "login_hint").as_deref(), Some(PHONE));
    assert_eq!(query_param(&url, "ui_locales").as_deref(), Some("en"));
    assert_eq!(query_param(&url, "resource").as_deref(), Some(API));
    let scope = query_param(&url, "scope").unwrap();
    for sc in [
        "openid",
        "offline_access",
        "profile",
        "phone",
        "urn:logto:scope:organizations",
    ] {
        assert!(
            scope.split(' ').any(|x| x == sc),
            "scope {sc} missing from {scope}"
        );
    }
    let redirect = query_param(&url, "redirect_uri").unwrap();
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"),
        "{redirect}"
    );
    assert!(query_param(&url, "nonce").is_some());

    let drive = s.idp.drive(&url, PHONE);
    assert_eq!(drive["ok"], true, "{drive}");
    let reply = a.recv_reply();
    let claims = &reply["result"]["claims"];
    assert!(
        claims["sub"].as_str().is_some_and(|s| !s.is_empty()),
        "{reply}"
    );
    assert_eq!(claims["phone_number"], PHONE_CLAIM);
    assert_eq!(claims["aud"], APP_ID);
    let sub = claims["sub"].clone();

    let fin = a
        .wait_event("signInFinished", Duration::from_secs(5))
        .expect("signInFinished");
    assert_eq!(fin["data"]["ok"], true);
    // Both connections of the app hear about it, with the user's sub.
    let changed = b
        .wait_event("sessionChanged", Duration::from_secs(5))
        .expect("sessionChanged on the other browser");
    assert_eq!(changed["data"], json!({"authenticated": true, "sub": sub}));
    assert!(a
        .wait_event("sessionChanged", Duration::from_secs(5))
        .is_some());
    // The other browser is signed in without doing anything.
    assert_eq!(
        b.call("isAuthenticated", json!(null))["result"]["authenticated"],
        true
    );
    assert_eq!(
        b.call("getIdTokenClaims", json!(null))["result"]["claims"]["sub"],
        sub
    );
    let idt = b.call("getIdToken", json!(null));
    assert_eq!(
        idt["result"]["idToken"]
            .as_str()
            .unwrap()
            .split('.')
            .count(),
        3
    );
    // The loopback port is closed after the one valid callback.
    let port = loopback_port(&redirect);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "loopback port still open"
    );
}

#[test]
fn resource_organization_and_userinfo_tokens() {
    let idp_cfg = json!({
        "organizations": [
            {"id": ORG, "name": "Acme", "members": [PHONE], "scopes": []},
            {"id": "org-globex", "name": "Globex", "members": ["+15550001111"], "scopes": []}
        ]
    });
    let s = setup(Some(idp_cfg), "");
    let mut a = s.host();
    s.sign_in(&mut a);

    // Resource token: a JWT for that audience.
    let r = a.call("getAccessToken", json!({"resource": API}));
    let token = r["result"]["accessToken"]
        .as_str()
        .expect("resource token")
        .to_string();
    assert!(r["result"]["expiresAt"].as_u64().unwrap() > 0);
    let claims = a.call("getAccessTokenClaims", json!({"resource": API}));
    assert_eq!(claims["result"]["claims"]["aud"], API, "{claims}");
    // Served from cache: same token, no new grant.
    let before = s.idp.token_requests("refresh_token");
    assert_eq!(
        a.call("getAccessToken", json!({"resource": API}))["result"]["accessToken"],
        token.as_str()
    );
    assert_eq!(s.idp.token_requests("refresh_token"), before);

    // A resource the app does not have is refused locally, before any
    // request (Logto would consume the refresh token).
    let r = a.call(
        "getAccessToken",
        json!({"resource": "https://not-configured.example"}),
    );
    assert_eq!(error_code(&r), "invalid_target");
    assert_eq!(s.idp.token_requests("refresh_token"), before);

    // Organization token for a member.
    let r = a.call("getOrganizationTokenClaims", json!({"organizationId": ORG}));
    assert_eq!(
        r["result"]["claims"]["aud"],
        format!("urn:logto:organization:{ORG}"),
        "{r}"
    );
    assert!(
        a.call("getOrganizationToken", json!({"organizationId": ORG}))["result"]["accessToken"]
            .is_string()
    );
    // Not a member: the IdP's access_denied.
    let r = a.call(
        "getOrganizationToken",
        json!({"organizationId": "org-globex"}),
    );
    assert_eq!(error_code(&r), "idp_error", "{r}");
    assert_eq!(r["error"]["data"]["error"], "access_denied");
    // The session survived the refusal.
    assert!(
        a.call("getAccessToken", json!({"resource": API}))["result"]["accessToken"].is_string()
    );

    // Userinfo with the opaque access token.
    let r = a.call("fetchUserInfo", json!(null));
    assert_eq!(r["result"]["userInfo"]["phone_number"], PHONE_CLAIM, "{r}");

    let cfg = a.call("getOidcConfig", json!(null));
    assert_eq!(cfg["result"]["issuer"], s.idp.issuer.as_str());
    assert!(cfg["result"]["endSessionEndpoint"]
        .as_str()
        .unwrap()
        .ends_with("/session/end"));

    // Bad params are invalid_params and the connection goes on.
    assert_eq!(
        error_code(&a.call("getAccessToken", json!({"resource": 42}))),
        "invalid_params"
    );
    assert_eq!(
        error_code(&a.call("getOrganizationToken", json!({}))),
        "invalid_params"
    );
}

#[test]
fn organization_token_without_the_scope_is_refused_locally() {
    let idp = Idp::start(None);
    let env = test_env();
    env.write_config(&format!(
        "store = \"{}\"\n[[apps]]\nendpoint = \"{}\"\napp_id = \"{APP_ID}\"\nallowed_origins = [\"{EXT_ORIGIN}\"]\nscopes = [\"phone\"]\n",
        crate::common::keyring::store(),
        idp.endpoint
    ));
    let s = Setup { env, idp };
    let mut a = s.host();
    s.sign_in(&mut a);
    let before = s.idp.token_requests("refresh_token");
    let r = a.call("getOrganizationToken", json!({"organizationId": ORG}));
    assert_eq!(error_code(&r), "missing_scope_organizations");
    assert_eq!(s.idp.token_requests("refresh_token"), before);
}

#[test]
fn expired_access_tokens_are_refreshed_and_the_refresh_token_rotates() {
    let idp_cfg = json!({
        "ttl": {"accessToken": 2},
        "resources": [{"indicator": API, "scopes": ["read:items", "write:items"], "accessTokenTtl": 2}]
    });
    let s = setup(Some(idp_cfg), "");
    let mut a = s.host();
    s.sign_in(&mut a);
    let first = a.call("getAccessToken", json!({"resource": API}))["result"]["accessToken"].clone();
    let mut tokens = vec![first];
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(2100));
        let r = a.call("getAccessToken", json!({"resource": API}));
        // Each refresh used the newest refresh token; reusing an old one
        // would have revoked the grant (Logto's reuse detection).
        assert!(r["result"]["accessToken"].is_string(), "{r}");
        tokens.push(r["result"]["accessToken"].clone());
    }
    let distinct: std::collections::HashSet<String> =
        tokens.iter().map(|t| t.to_string()).collect();
    assert_eq!(distinct.len(), 4, "expired tokens must be replaced");
    assert_eq!(s.idp.token_requests("refresh_token"), 4);
    // And the grant is still alive at the IdP.
    let sub = a.call("getIdTokenClaims", json!(null))["result"]["claims"]["sub"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.idp.active_refresh_tokens(&sub) >= 1);
}

#[test]
fn fifty_concurrent_requests_over_five_connections_cost_one_refresh() {
    let idp_cfg = json!({
        "resources": [{"indicator": API, "scopes": ["read:items"], "accessTokenTtl": 2}]
    });
    let s = setup(Some(idp_cfg), "");
    let mut a = s.host();
    s.sign_in(&mut a);
    assert!(
        a.call("getAccessToken", json!({"resource": API}))["result"]["accessToken"].is_string()
    );
    let mut hosts: Vec<Host> = (0..5).map(|_| s.host()).collect();
    std::thread::sleep(Duration::from_millis(2200)); // the cached token is now expired
    let before = s.idp.token_requests("refresh_token");
    for h in hosts.iter_mut() {
        for i in 0..10 {
            h.send(&json!({"id": i, "method": "getAccessToken", "params": {"resource": API}}));
        }
    }
    let mut answers = std::collections::HashSet::new();
    for h in hosts.iter_mut() {
        for _ in 0..10 {
            let r = h.recv_reply();
            let t = r["result"]["accessToken"]
                .as_str()
                .unwrap_or_else(|| panic!("{r}"));
            answers.insert(t.to_string());
        }
    }
    assert_eq!(
        s.idp.token_requests("refresh_token") - before,
        1,
        "exactly one refresh grant must reach the IdP"
    );
    assert_eq!(answers.len(), 1, "all 50 requests share the one new token");
}

#[test]
fn concurrent_sign_ins_share_one_flow() {
    let s = setup(None, "");
    let mut a = s.host();
    let mut b = s.host();
    a.send(&json!({"id": "a", "method": "signIn", "params": {}}));
    let started = a
        .wait_event("signInStarted", Duration::from_secs(20))
        .unwrap();
    b.send(&json!({"id": "b", "method": "signIn", "params": {}}));
    // The second caller joins the same flow: same flow id and URL, so its
    // shim focuses (or reopens) the one tab instead of opening a second.
    let joined = b
        .wait_event("signInStarted", Duration::from_secs(5))
        .expect("the joiner hears of the running flow");
    assert_eq!(joined["data"], started["data"]);
    let drive = s.idp.drive(started["data"]["url"].as_str().unwrap(), PHONE);
    assert_eq!(drive["ok"], true, "{drive}");
    let ra = a.recv_reply();
    let rb = b.recv_reply();
    assert_eq!(ra["result"]["claims"]["sub"], rb["result"]["claims"]["sub"]);
    assert!(ra["result"]["claims"]["sub"].is_string(), "{ra}");
    assert_eq!(s.idp.token_requests("authorization_code"), 1);
}

#[test]
fn forged_callbacks_are_ignored_and_an_idp_error_ends_the_flow() {
    // The URL must carry the parameters this test reads: no PAR.
    let s = setup(Some(json!({"par": "disabled"})), "");
    let mut a = s.host();
    let Started { state, port, .. } = start_sign_in(&mut a, json!({}));

    // Forged state, wrong path, foreign Host header, wrong issuer: refused,
    // and the flow goes on.
    assert_eq!(
        http_raw("GET", port, "/callback?code=x&state=forged", None).0,
        400
    );
    assert_eq!(
        http_raw(
            "GET",
            port,
            &format!("/elsewhere?code=x&state={state}"),
            None
        )
        .0,
        404
    );
    assert_eq!(
        http_raw(
            "GET",
            port,
            &format!("/callback?code=x&state={state}"),
            Some("evil.example:80")
        )
        .0,
        400
    );
    assert_eq!(
        http_raw(
            "GET",
            port,
            &format!("/callback?code=x&state={state}&iss=http%3A%2F%2Fevil"),
            None
        )
        .0,
        400
    );
    assert!(
        a.recv_timeout(Duration::from_millis(300)).is_none(),
        "the flow must not end on a forged callback"
    );

    // The IdP's own error, with the right state, ends it.
    let (status, body) = http_raw(
        "GET",
        port,
        &format!("/callback?error=access_denied&error_description=nope&state={state}"),
        None,
    );
    assert_eq!(status, 200);
    assert!(body.contains("access_denied"));
    let r = a.recv_reply();
    assert_eq!(
        error_code(&r),
        "callback_uri_verification.error_found",
        "{r}"
    );
    assert_eq!(r["error"]["data"]["error"], "access_denied");
    assert_eq!(
        a.wait_event("signInFinished", Duration::from_secs(5))
            .unwrap()["data"]["ok"],
        false
    );
    assert_eq!(
        a.call("isAuthenticated", json!(null))["result"]["authenticated"],
        false
    );
    // Port released.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn a_sign_in_nobody_finishes_times_out_as_user_cancelled() {
    // The URL must carry the parameters this test reads: no PAR.
    let s = setup(Some(json!({"par": "disabled"})), "sign_in_timeout_secs = 1");
    let mut a = s.host();
    a.send(&json!({"id": 1, "method": "signIn", "params": "https://ext.chromiumapp.org/callback"}));
    let started = a
        .wait_event("signInStarted", Duration::from_secs(20))
        .unwrap();
    let redirect = query_param(started["data"]["url"].as_str().unwrap(), "redirect_uri").unwrap();
    let port = loopback_port(&redirect);
    let r = a.recv_reply();
    assert_eq!(error_code(&r), "user_cancelled", "{r}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port must be released"
    );
}

#[test]
fn idp_down_serves_cached_tokens_then_reports_network_error() {
    let idp_cfg =
        json!({"resources": [{"indicator": API, "scopes": ["read:items"], "accessTokenTtl": 3}]});
    let mut s = setup(Some(idp_cfg), "http_timeout_secs = 2");
    let mut a = s.host();
    s.sign_in(&mut a);
    let opaque = a.call("getAccessToken", json!(null))["result"]["accessToken"].clone();
    let jwt = a.call("getAccessToken", json!({"resource": API}))["result"]["accessToken"].clone();
    s.idp.stop();
    // Still valid: served from memory without the IdP.
    assert_eq!(
        a.call("getAccessToken", json!(null))["result"]["accessToken"],
        opaque
    );
    assert_eq!(
        a.call("getIdTokenClaims", json!(null))["result"]["claims"]["phone_number"],
        PHONE_CLAIM
    );
    assert_eq!(
        a.call("getAccessToken", json!({"resource": API}))["result"]["accessToken"],
        jwt
    );
    std::thread::sleep(Duration::from_millis(3100));
    let r = a.call("getAccessToken", json!({"resource": API}));
    assert_eq!(error_code(&r), "network_error", "{r}");
    // The session is kept for when the IdP comes back.
    assert_eq!(
        a.call("isAuthenticated", json!(null))["result"]["authenticated"],
        true
    );
}

#[test]
fn sign_out_revokes_the_grant_and_tells_every_connection() {
    let s = setup(None, "");
    let mut a = s.host();
    let mut b = s.host();
    let reply = s.sign_in(&mut a);
    let sub = reply["result"]["claims"]["sub"]
        .as_str()
        .unwrap()
        .to_string();
    b.wait_event("sessionChanged", Duration::from_secs(5))
        .unwrap();
    assert!(s.idp.active_refresh_tokens(&sub) >= 1);
    a.events.clear();

    let r = b.call("signOut", json!(null));
    let url = r["result"]["endSessionUrl"]
        .as_str()
        .expect("endSessionUrl")
        .to_string();
    assert!(
        url.starts_with(&format!("{}/session/end", s.idp.issuer)),
        "{url}"
    );
    assert_eq!(query_param(&url, "client_id").as_deref(), Some(APP_ID));
    assert!(query_param(&url, "id_token_hint").is_some());
    assert_eq!(
        query_param(&url, "post_logout_redirect_uri").as_deref(),
        Some("http://127.0.0.1/logout-callback")
    );

    let changed = a
        .wait_session(false, Duration::from_secs(5))
        .expect("sessionChanged on A");
    assert_eq!(changed["data"]["authenticated"], false);
    assert_eq!(
        s.idp.active_refresh_tokens(&sub),
        0,
        "the refresh token must be dead at the IdP"
    );
    assert_eq!(
        a.call("isAuthenticated", json!(null))["result"]["authenticated"],
        false
    );
    assert_eq!(
        error_code(&a.call("getAccessToken", json!(null))),
        "not_authenticated"
    );
}
