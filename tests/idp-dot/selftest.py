#!/usr/bin/env python3
"""Self-test of the DOT test provider against itself: real server process, real HTTP, a loopback listener
playing the native app. Run by `scripts/setup-dot --self-test` (or `python selftest.py -v` in the venv).

Checks: the ready line, discovery (OIDC and RFC 8414), a full code + PKCE sign-in through drive.py with the
callback on the registered port, the RS256 ID token against the JWKS, userinfo, refresh rotation (the old
refresh token refused, reuse revoking the family), revocation, the end-session URL (logout page, redirect
with state, provider session ended), prompt=login, exact redirect matching, PKCE required, and the
options: no end_session_endpoint, confidential-only revocation, DOT's any-port loopback rule, bad options.
"""

import base64
import hashlib
import http.server
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from jwcrypto import jwk, jwt

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import drive  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Provider:
    """server.py as a child process; the ready line parsed."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "server.py"), "--quiet", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server.py exited: {self.proc.stderr.read()}")
        self.ready = json.loads(line)
        self.discovery = get_json(self.ready["discovery"])

    def stop(self):
        self.proc.terminate()
        code = self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


class App:
    """The native app's loopback listener on a registered redirect port: records every request."""

    def __init__(self, port):
        self.hits = []
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                app.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"signed in, you can close this window")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def get_json(url, headers=None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=15) as r:
        return json.load(r)


def post(url, form, headers=None):
    """POST a form; returns (status, JSON body or None, headers)."""
    req = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            status, body, hdrs = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, body, hdrs = e.code, e.read(), e.headers
    try:
        return status, json.loads(body) if body else None, hdrs
    except json.JSONDecodeError:
        return status, None, hdrs


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def auth_url(provider, redirect_uri, **extra):
    verifier, challenge = pkce()
    params = {
        "client_id": provider.ready["clientId"], "redirect_uri": redirect_uri, "response_type": "code",
        "scope": "openid profile email offline_access", "code_challenge": challenge,
        "code_challenge_method": "S256", "state": secrets.token_urlsafe(8), **extra,
    }
    params = {k: v for k, v in params.items() if v is not None}
    return f"{provider.discovery['authorization_endpoint']}?{urllib.parse.urlencode(params)}", verifier, params


def sign_in(provider, redirect_uri, cookie_jar=None, **extra):
    url, verifier, params = auth_url(provider, redirect_uri, **extra)
    result = drive.drive(url, cookie_jar=cookie_jar)
    assert result["ok"], result
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(result["callbackUrl"]).query))
    assert query.get("state") == params["state"], query
    status, tokens, _ = post(provider.discovery["token_endpoint"], {
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": redirect_uri,
        "client_id": provider.ready["clientId"], "code_verifier": verifier,
    })
    assert status == 200, tokens
    return tokens, result


def refresh(provider, refresh_token):
    return post(provider.discovery["token_endpoint"], {
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": provider.ready["clientId"],
    })


def metadata(provider):
    """RFC 8414 metadata at its well-known place for an issuer with a path."""
    issuer = urllib.parse.urlsplit(provider.ready["issuer"])
    return get_json(f"{issuer.scheme}://{issuer.netloc}/.well-known/oauth-authorization-server{issuer.path}")


class DefaultProvider(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.provider = Provider("--redirect-port", str(cls.port))
        cls.redirect_uri = f"http://127.0.0.1:{cls.port}/callback"
        cls.app = App(cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.app.close()
        cls.exit_code = cls.provider.stop()

    def test_ready_line_names_issuer_client_redirect_uris_and_user(self):
        r = self.provider.ready
        self.assertEqual(r["issuer"], f"{r['endpoint']}/o")
        self.assertEqual(r["endpoint"], f"http://127.0.0.1:{r['port']}")
        self.assertEqual(r["clientId"], "native-test-app")
        self.assertEqual(r["redirectUris"], [self.redirect_uri])
        self.assertEqual(r["postLogoutRedirectUris"], [f"http://127.0.0.1:{self.port}/logout-callback"])
        self.assertEqual(r["user"]["username"], "alice")
        self.assertEqual((r["redirectMatch"], r["endSession"], r["logoutPrompt"], r["revocation"]),
                         ("exact", True, "always", "public"))

    def test_discovery_what_dot_advertises(self):
        d, iss = self.provider.discovery, self.provider.ready["issuer"]
        self.assertEqual(d["issuer"], iss)
        self.assertEqual(d["authorization_endpoint"], f"{iss}/authorize/")
        self.assertEqual(d["token_endpoint"], f"{iss}/token/")
        self.assertEqual(d["userinfo_endpoint"], f"{iss}/userinfo/")
        self.assertEqual(d["jwks_uri"], f"{iss}/.well-known/jwks.json")
        self.assertEqual(d["end_session_endpoint"], f"{iss}/logout/")
        self.assertEqual(d["id_token_signing_alg_values_supported"], ["RS256", "HS256"])
        self.assertIn("S256", d["code_challenge_methods_supported"])
        self.assertEqual(sorted(d["scopes_supported"]), ["email", "offline_access", "openid", "profile"])
        self.assertIn("email", d["claims_supported"])
        for absent in ("revocation_endpoint", "introspection_endpoint", "pushed_authorization_request_endpoint",
                       "device_authorization_endpoint", "authorization_response_iss_parameter_supported"):
            self.assertNotIn(absent, d, f"DOT's OIDC discovery has no {absent}")
        m = metadata(self.provider)
        self.assertEqual(m["issuer"], iss)
        self.assertEqual(m["revocation_endpoint"], f"{iss}/revoke_token/")
        self.assertEqual(m["revocation_endpoint_auth_methods_supported"], ["client_secret_post", "client_secret_basic"])
        self.assertEqual(get_json(f"{iss}/.well-known/oauth-authorization-server"), m, "DOT's prefixed form too")
        keys = get_json(d["jwks_uri"])["keys"]
        self.assertEqual([(k["kty"], k["alg"]) for k in keys], [("RSA", "RS256")])
        self.assertTrue(all("d" not in k for k in keys), "public keys only")

    def test_code_pkce_sign_in_id_token_userinfo(self):
        url, verifier, params = auth_url(self.provider, self.redirect_uri)
        before = len(self.app.hits)
        result = drive.drive(url)
        self.assertTrue(result["ok"], result)
        self.assertEqual(result["callbackStatus"], 200)
        self.assertTrue(result["loggedIn"])
        self.assertEqual(len(self.app.hits), before + 1, "the driver called the loopback callback")
        hit = urllib.parse.urlsplit(self.app.hits[-1])
        self.assertEqual(hit.path, "/callback")
        query = dict(urllib.parse.parse_qsl(hit.query))
        self.assertEqual(query["state"], params["state"])
        self.assertNotIn("iss", query, "DOT sends iss (RFC 9207) only with COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS")

        wrong = post(self.provider.discovery["token_endpoint"], {
            "grant_type": "authorization_code", "code": query["code"], "redirect_uri": self.redirect_uri,
            "client_id": "native-test-app", "code_verifier": secrets.token_urlsafe(48)})
        self.assertEqual((wrong[0], wrong[1]["error"]), (400, "invalid_grant"), "a wrong PKCE verifier is refused")
        url, verifier, params = auth_url(self.provider, self.redirect_uri)
        result = drive.drive(url)
        code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(result["callbackUrl"]).query))["code"]
        status, tokens, _ = post(self.provider.discovery["token_endpoint"], {
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
            "client_id": "native-test-app", "code_verifier": verifier})
        self.assertEqual(status, 200, tokens)
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertTrue(tokens["refresh_token"] and tokens["access_token"] and tokens["id_token"])

        keys = jwk.JWKSet.from_json(json.dumps(get_json(self.provider.discovery["jwks_uri"])))
        token = jwt.JWT(jwt=tokens["id_token"], key=keys, algs=["RS256"],
                        check_claims={"iss": self.provider.ready["issuer"], "aud": "native-test-app", "exp": None})
        claims = json.loads(token.claims)
        self.assertEqual(json.loads(token.header)["alg"], "RS256")
        self.assertEqual((claims["name"], claims["email"], claims["preferred_username"]),
                         ("Alice Example", "alice@example.test", "alice"))
        me = get_json(self.provider.discovery["userinfo_endpoint"], {"Authorization": f"Bearer {tokens['access_token']}"})
        self.assertEqual(me["sub"], claims["sub"])
        self.assertEqual(me["email"], "alice@example.test")

    def test_refresh_rotates_and_the_old_token_is_refused_and_reuse_revokes_the_family(self):
        tokens, _ = sign_in(self.provider, self.redirect_uri)
        status, r1, _ = refresh(self.provider, tokens["refresh_token"])
        self.assertEqual(status, 200, r1)
        self.assertNotEqual(r1["refresh_token"], tokens["refresh_token"])
        self.assertIn("id_token", r1)
        status, again, _ = refresh(self.provider, tokens["refresh_token"])
        self.assertEqual((status, again["error"]), (400, "invalid_grant"))
        status, newest, _ = refresh(self.provider, r1["refresh_token"])
        self.assertEqual((status, newest["error"]), (400, "invalid_grant"),
                         "REFRESH_TOKEN_REUSE_PROTECTION: the reuse revoked the newer token too")

    def test_revocation_with_the_client_id_revokes_the_refresh_token(self):
        tokens, _ = sign_in(self.provider, self.redirect_uri)
        status, _, _ = post(metadata(self.provider)["revocation_endpoint"], {
            "token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": "native-test-app"})
        self.assertEqual(status, 200)
        status, body, _ = refresh(self.provider, tokens["refresh_token"])
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))

    def test_end_session_url_logs_out_redirects_with_state_and_ends_the_provider_session(self):
        with tempfile.TemporaryDirectory() as tmp:
            jar = os.path.join(tmp, "jar.txt")
            tokens, first = sign_in(self.provider, self.redirect_uri, cookie_jar=jar)
            self.assertTrue(first["loggedIn"])
            _, sso = sign_in(self.provider, self.redirect_uri, cookie_jar=jar)
            self.assertFalse(sso["loggedIn"], "the provider's session cookie signs in without the password")
            _, again = sign_in(self.provider, self.redirect_uri, cookie_jar=jar, prompt="login")
            self.assertTrue(again["loggedIn"], "prompt=login asks for the password again")

            post_logout = self.provider.ready["postLogoutRedirectUris"][0]
            end = f"{self.provider.discovery['end_session_endpoint']}?" + urllib.parse.urlencode({
                "id_token_hint": tokens["id_token"], "client_id": "native-test-app",
                "post_logout_redirect_uri": post_logout, "state": "bye1"})
            out = drive.drive(end, logout=True, cookie_jar=jar)
            self.assertTrue(out["ok"], out)
            self.assertEqual(out["redirectUrl"], f"{post_logout}?state=bye1")
            self.assertEqual(out["redirectStatus"], 200)
            _, after = sign_in(self.provider, self.redirect_uri, cookie_jar=jar)
            self.assertTrue(after["loggedIn"], "signed out at the provider: the password is asked again")
            status, body, _ = refresh(self.provider, tokens["refresh_token"])
            self.assertEqual(status, 400, "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS: logout revoked the user's tokens")

            bad = drive.drive(f"{self.provider.discovery['end_session_endpoint']}?" + urllib.parse.urlencode({
                "client_id": "native-test-app", "post_logout_redirect_uri": "http://127.0.0.1:1/elsewhere"}),
                logout=True, cookie_jar=jar)
            self.assertFalse(bad["ok"])
            self.assertIn("redirect uri", bad["error"].lower())

    def test_redirect_uri_matches_exactly_port_included(self):
        other = f"http://127.0.0.1:{free_port()}/callback"
        url, _, _ = auth_url(self.provider, other)
        result = drive.drive(url)
        self.assertEqual((result["ok"], result.get("status")), (False, 400))
        self.assertIn("Mismatching redirect URI", result["error"])
        url, _, _ = auth_url(self.provider, f"http://localhost:{self.port}/callback")
        self.assertFalse(drive.drive(url)["ok"], "localhost is not 127.0.0.1")

    def test_pkce_is_required(self):
        url, _, _ = auth_url(self.provider, self.redirect_uri, code_challenge=None, code_challenge_method=None)
        result = drive.drive(url, stop_before_callback=True)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(result.get("callbackUrl", "")).query))
        self.assertEqual(query.get("error"), "invalid_request", result)
        self.assertIn("Code challenge required", query.get("error_description", ""))

    def test_an_unknown_scope_is_invalid_scope(self):
        url, _, _ = auth_url(self.provider, self.redirect_uri, scope="openid no-such-scope")
        result = drive.drive(url, stop_before_callback=True)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(result["callbackUrl"]).query))
        self.assertEqual(query.get("error"), "invalid_scope", result)

    def test_deny_on_the_consent_page_gives_access_denied(self):
        url, _, params = auth_url(self.provider, self.redirect_uri)
        result = drive.drive(url, deny=True, stop_before_callback=True)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(result["callbackUrl"]).query))
        self.assertEqual((query["error"], query["state"]), ("access_denied", params["state"]))

    def test_a_wrong_password_is_an_error(self):
        url, _, _ = auth_url(self.provider, self.redirect_uri)
        result = drive.drive(url, password="wrong")
        self.assertFalse(result["ok"])
        self.assertIn("did not match", result["error"])


class Options(unittest.TestCase):
    def test_logout_prompt_unless_hint_logs_out_at_once_with_a_valid_id_token_hint(self):
        port = free_port()
        p = Provider("--redirect-port", str(port), "--logout-prompt", "unless-hint")
        app = App(port)
        try:
            self.assertEqual(p.ready["logoutPrompt"], "unless-hint")
            with tempfile.TemporaryDirectory() as tmp:
                jar = os.path.join(tmp, "jar.txt")
                tokens, _ = sign_in(p, f"http://127.0.0.1:{port}/callback", cookie_jar=jar)
                post_logout = p.ready["postLogoutRedirectUris"][0]
                end = f"{p.discovery['end_session_endpoint']}?" + urllib.parse.urlencode({
                    "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": post_logout, "state": "s2"})
                browser = drive.Browser(jar)
                status, headers, _ = browser.request("GET", end)
                self.assertEqual(status, 302, "no confirmation page")
                self.assertEqual(headers["Location"], f"{post_logout}?state=s2")
                browser.save()
                _, after = sign_in(p, f"http://127.0.0.1:{port}/callback", cookie_jar=jar)
                self.assertTrue(after["loggedIn"], "the provider's session ended")
        finally:
            app.close()
            p.stop()

    def test_no_end_session_publishes_discovery_without_end_session_endpoint(self):
        p = Provider("--no-end-session")
        try:
            self.assertNotIn("end_session_endpoint", p.discovery)
            self.assertFalse(p.ready["endSession"])
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(f"{p.ready['issuer']}/logout/", timeout=15)
            self.assertEqual(e.exception.code, 404)
        finally:
            self.assertEqual(p.stop(), 0)

    def test_confidential_revocation_refuses_the_public_client_and_the_token_stays_valid(self):
        port = free_port()
        p = Provider("--redirect-port", str(port), "--revocation", "confidential")
        app = App(port)
        try:
            tokens, _ = sign_in(p, f"http://127.0.0.1:{port}/callback")
            status, body, headers = post(metadata(p)["revocation_endpoint"], {
                "token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": "native-test-app"})
            self.assertEqual((status, body["error"]), (401, "invalid_client"))
            self.assertEqual(headers.get("WWW-Authenticate"), 'Bearer error="invalid_client"')
            self.assertNotIn("none", metadata(p)["revocation_endpoint_auth_methods_supported"])
            status, r, _ = refresh(p, tokens["refresh_token"])
            self.assertEqual(status, 200, "the refresh token was not revoked")
        finally:
            app.close()
            p.stop()

    def test_loopback_any_port_is_dots_own_rfc8252_rule(self):
        p = Provider("--redirect-port", "47615", "--redirect-match", "loopback-any-port")
        port = free_port()
        app = App(port)
        try:
            tokens, _ = sign_in(p, f"http://127.0.0.1:{port}/callback")
            self.assertIn("access_token", tokens)
        finally:
            app.close()
            p.stop()

    def test_several_redirect_ports_and_env_options(self):
        a, b = free_port(), free_port()
        env = {**os.environ, "DOT_REDIRECT_PORTS": f"{a},{b}", "DOT_END_SESSION": "0"}
        proc = subprocess.Popen([sys.executable, str(HERE / "server.py"), "--quiet"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            ready = json.loads(proc.stdout.readline())
            self.assertEqual(ready["redirectUris"], [f"http://127.0.0.1:{a}/callback", f"http://127.0.0.1:{b}/callback"])
            self.assertFalse(ready["endSession"])
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(timeout=10), 0, "SIGTERM stops it cleanly")
            proc.stdout.close()
            proc.stderr.close()

    def test_a_bad_option_exits_2_with_a_message_and_no_ready_line(self):
        out = subprocess.run([sys.executable, str(HERE / "server.py"), "--redirect-port", "70000"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertEqual(out.stdout, "")
        self.assertIn("[dot] cannot start: redirect port 70000", out.stderr)


if __name__ == "__main__":
    unittest.main()
