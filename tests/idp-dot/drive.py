#!/usr/bin/env python3
"""Completes a sign-in (or a sign-out) at the DOT test provider the way a browser does, over plain HTTP.

    python drive.py --url '<authorization URL>' [--username alice --password …] [--deny]
                    [--stop-before-callback] [--cookie-jar jar.txt]
    python drive.py --logout --url '<end-session URL>' [--cookie-jar jar.txt] [--stop-before-callback]

Sign-in: follows redirects with a cookie jar, fills Django's login form (CSRF token included), presses
"Authorize" on DOT's consent page ("Cancel" with --deny, so the app gets error=access_denied), and finally
GETs the app's loopback redirect URI like a browser, then prints one JSON line:
    {"ok":true,"callbackUrl":"…","callbackStatus":200,"callbackBody":"<first 500 chars>","loggedIn":true}
``loggedIn`` says whether the password was typed (false when the provider's session cookie signed the
user in). With --stop-before-callback the callback is not called. When the provider answers an error
page instead of redirecting (an unregistered redirect URI, say), or anything else goes wrong:
    {"ok":false,"error":"…","status":400}   (exit 1)
Logout: GETs the end-session URL, presses "Logout" on the confirmation page, follows to the
post_logout_redirect_uri (called unless --stop-before-callback, like the callback), and prints
    {"ok":true,"loggedOut":true,"redirectUrl":"…","redirectStatus":200}
--username/--password default to the test user (env DOT_USERNAME / DOT_PASSWORD). With --cookie-jar the
provider's cookies are loaded from and saved to that file, so a later run shares the browser session.
"""

import argparse
import http.cookiejar
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

DEFAULT_USERNAME = "alice"
DEFAULT_PASSWORD = "alice-test-password"
TIMEOUT = 15


class DriveError(Exception):
    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class Page(HTMLParser):
    """The forms (fields, submit buttons) and the error text of one page."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.errors = []
        self._form = None
        self._capture = None
        self._text = []
        self._after_error = False  # DOT's error page: <h2>Error: …</h2><p>description</p>
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"id": a.get("id"), "action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                          "fields": {}, "submits": []}
            self.forms.append(self._form)
        elif tag in ("input", "button") and self._form is not None:
            kind = (a.get("type") or ("submit" if tag == "button" else "text")).lower()
            name = a.get("name")
            if kind == "submit":
                self._form["submits"].append({"name": name, "value": a.get("value", "")})
            elif name and kind not in ("checkbox", "radio") or (name and "checked" in a):
                self._form["fields"][name] = a.get("value", "")
        elif (tag == "h2") or (tag == "p" and ("error" in (a.get("class") or "").split() or self._after_error)) or \
                (tag == "ul" and "errorlist" in (a.get("class") or "").split()):
            self._capture = tag
            self._text = []
            self._after_error = False

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        if self._capture == tag:
            text = " ".join("".join(self._text).split())
            if tag != "h2" or text.startswith("Error"):
                self.errors.append(text)
                self._after_error = tag == "h2"
            self._capture = None

    def handle_data(self, data):
        if self._capture:
            self._text.append(data)

    def form(self, pred):
        return next((f for f in self.forms if pred(f)), None)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, jar_file=None):
        self.jar_file = jar_file
        self.jar = http.cookiejar.LWPCookieJar(jar_file) if jar_file else http.cookiejar.CookieJar()
        if jar_file and os.path.exists(jar_file):
            self.jar.load(ignore_discard=True, ignore_expires=False)
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def save(self):
        if self.jar_file:
            self.jar.save(ignore_discard=True)
            os.chmod(self.jar_file, 0o600)

    def request(self, method, url, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            res = self.opener.open(req, timeout=TIMEOUT)
        except urllib.error.HTTPError as e:
            res = e
        except urllib.error.URLError as e:
            raise DriveError(f"{method} {strip_query(url)} failed: {e.reason}") from e
        body = res.read().decode("utf-8", "replace")
        return res.status if hasattr(res, "status") else res.code, res.headers, body


def strip_query(url):
    return url.split("?", 1)[0]


def origin(url):
    u = urllib.parse.urlsplit(url)
    return (u.scheme, u.netloc)


def drive(url, username=DEFAULT_USERNAME, password=DEFAULT_PASSWORD, deny=False, logout=False,
          stop_before_callback=False, cookie_jar=None):
    browser = Browser(cookie_jar)
    try:
        return _drive(browser, url, username, password, deny, logout, stop_before_callback)
    except DriveError as e:
        out = {"ok": False, "error": str(e)}
        if e.status is not None:
            out["status"] = e.status
        return out
    finally:
        browser.save()


def _drive(browser, url, username, password, deny, logout, stop_before_callback):
    if not url:
        raise DriveError("missing --url")
    provider = origin(url)
    method, at, form = "GET", url, None
    logged_in = False
    for _ in range(30):
        status, headers, body = browser.request(method, at, form)
        if 300 <= status < 400 and headers.get("Location"):
            location = urllib.parse.urljoin(at, headers["Location"])
            if origin(location) != provider:
                return leave(browser, location, logout, logged_in, stop_before_callback)
            if logout and urllib.parse.urlsplit(location).path == "/":
                return {"ok": True, "loggedOut": True, "redirectUrl": location}
            method, at, form = "GET", location, None
            continue
        page = Page(body)
        login = page.form(lambda f: "username" in f["fields"] and "password" in f["fields"])
        if login and not page.errors:
            if logged_in:
                raise DriveError("the provider asked for the password twice")
            fields = {**login["fields"], "username": username, "password": password}
            method, at, form = "POST", urllib.parse.urljoin(at, login["action"]) if login["action"] else at, fields
            logged_in = True
            continue
        confirm = page.form(lambda f: f["id"] == "authorizationForm" and f["method"] == "post")
        if confirm and not page.errors:
            fields = dict(confirm["fields"])
            allow = next((s for s in confirm["submits"] if s["name"] == "allow"), None)
            if allow is None:
                raise DriveError("the confirmation page has no allow button")
            if not deny:
                fields["allow"] = allow["value"]
            method, at, form = "POST", urllib.parse.urljoin(at, confirm["action"]) if confirm["action"] else at, fields
            continue
        if page.errors:
            raise DriveError("; ".join(page.errors), status)
        raise DriveError(f"unexpected answer {status} at {strip_query(at)}: {' '.join(body.split())[:300]}", status)
    raise DriveError("too many redirects")


def leave(browser, location, logout, logged_in, stop_before_callback):
    """The provider sent the browser to the app (the loopback callback or the post-logout URI)."""
    key = "redirect" if logout else "callback"
    out = {"ok": True}
    if logout:
        out["loggedOut"] = True
    out[f"{key}Url"] = location
    if not logout:
        out["loggedIn"] = logged_in
    if stop_before_callback:
        return out
    try:
        status, _headers, body = browser.request("GET", location)
    except DriveError as e:
        raise DriveError(f"{key} {strip_query(location)} failed: {e}") from e
    out[f"{key}Status"] = status
    out[f"{key}Body"] = body[:500]
    return out


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--username", default=os.environ.get("DOT_USERNAME", DEFAULT_USERNAME))
    p.add_argument("--password", default=os.environ.get("DOT_PASSWORD", DEFAULT_PASSWORD))
    p.add_argument("--deny", action="store_true")
    p.add_argument("--logout", action="store_true")
    p.add_argument("--stop-before-callback", action="store_true")
    p.add_argument("--cookie-jar")
    a = p.parse_args(argv)
    result = drive(a.url, a.username, a.password, a.deny, a.logout, a.stop_before_callback, a.cookie_jar)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
