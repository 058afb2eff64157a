#!/usr/bin/env python3
"""Sign-in and keychain runs of the real Windows exe under Wine, on the real
(Wine) Credential Manager, against the test IdP on the Linux side.

    scripts/wine-flow.py <path/to/logto-companion.exe>

What tests/it/signin.rs and tests/it/keychain.rs check on Linux, for the
Windows build:
- sign-in -> token -> refresh -> sign-out: the phone sign-in is completed
  like a browser by tests/idp/drive-signin.mjs against the daemon's loopback
  redirect; the IdP's userinfo endpoint accepts the token the exe returns (to
  a host and to `logto-companion token`), an expired one is refused and
  replaced through exactly one refresh grant, and sign-out leaves the grant
  dead at the IdP while the exe reports signed out;
- the session through the daemon on Credential Manager: saved at sign-in
  (seen from outside), loaded by a second and a third daemon in a row
  (each predecessor killed with taskkill /F; the third started by the CLI)
  without a new sign-in, the rotated refresh token saved before use,
  deleted at sign-out (`sign-out --no-browser --json`);
- a record over 2,560 bytes (an ID token with a 3,000-character picture
  claim): split into a head and numbered parts, each blob within the limit,
  moved to the other slot on rotation, all gone at sign-out.
Credential Manager is read from the Windows side by scripts/wincred-list.c
(CredEnumerateW; Wine has no cmdkey), built here with mingw. After each
case no entry with `logto-companion` in its target name is left that was
not there before it. Every case also scans the daemon's logs and every
stderr for every token the IdP issued.

Reuses Env/Host of scripts/wine-smoke.py (each case has its own %APPDATA%,
%LOCALAPPDATA% and so its own daemon and pipe). Needs WINEPREFIX
(scripts/cross env), node, `npm ci` done in tests/idp, and
x86_64-w64-mingw32-gcc (scripts/cross setup). Stdlib only. Prints one line
per case; exit 0 = all passed.
"""
import base64
import importlib.util
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
IDP_DIR = os.path.join(HERE, "..", "tests", "idp")

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
_spec = importlib.util.spec_from_file_location("wine_smoke", os.path.join(HERE, "wine-smoke.py"))
smoke = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(smoke)

WINE = smoke.WINE
APP_ID = smoke.APP_ID
EXT_ORIGIN = smoke.EXT_ORIGIN
PHONE = "+15551234567"
PHONE_CLAIM = "15551234567"  # Logto keeps phone numbers as digits
API = "https://api.example.test"
SERVICE = "logto-companion"
ENTRY_LIMIT = 2560  # CRED_MAX_CREDENTIAL_BLOB_SIZE
SIGN_IN_TIMEOUT = 60

# Straight to 127.0.0.1, whatever proxy the environment names.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ------------------------------------------------------------------ the IdP

class Idp:
    """tests/idp/server.mjs with its Twilio stand-in, on an ephemeral port."""

    def __init__(self, workdir, config=None):
        env = dict(os.environ, PORT="0", IDP_TWILIO="stand-in")
        if config is not None:
            path = os.path.join(workdir, "idp-config.json")
            with open(path, "w") as f:
                json.dump(config, f)
            env["IDP_CONFIG"] = path
        self.stderr_path = os.path.join(workdir, "idp-stderr.txt")
        self._stderr = open(self.stderr_path, "wb")
        self.p = subprocess.Popen(
            ["node", os.path.join(IDP_DIR, "server.mjs")], env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
        )
        line = self.p.stdout.readline()
        try:
            ready = json.loads(line)
        except ValueError:
            self.close()
            raise AssertionError(
                f"IdP did not start (node installed? `npm ci` done in tests/idp?): "
                f"{line!r}; stderr: {self.stderr()[-500:]}")
        # Drain stdout so the IdP never blocks on it.
        threading.Thread(target=lambda: self.p.stdout.read(), daemon=True).start()
        self.endpoint = ready["endpoint"]
        self.issuer = ready["issuer"]
        self.twilio = ready["twilio"]

    def http(self, method, url, headers=None):
        """(status, parsed JSON body or None)."""
        req = urllib.request.Request(url, method=method, headers=headers or {})
        try:
            with HTTP.open(req, timeout=20) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        try:
            return status, json.loads(body)
        except ValueError:
            return status, None

    def test_api(self, path):
        status, body = self.http("GET", self.endpoint + path)
        assert status == 200, (path, status, body)
        return body

    def refresh_grants(self):
        return self.test_api("/__test/counters")["token"].get("refresh_token", 0)

    def active_refresh_tokens(self, sub):
        return sum(g["active"] for g in self.test_api("/__test/grants") if g["accountId"] == sub)

    def issued(self):
        return self.test_api("/__test/issued")

    def userinfo(self, access_token):
        """What the IdP's userinfo endpoint says of a bearer token."""
        return self.http("GET", self.issuer + "/me", {"Authorization": f"Bearer {access_token}"})

    def drive(self, url):
        """Completes the phone sign-in at `url` like a browser, callback included."""
        out = subprocess.run(
            ["node", os.path.join(IDP_DIR, "drive-signin.mjs"), "--url", url,
             "--phone", PHONE, "--twilio", self.twilio],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=SIGN_IN_TIMEOUT,
        )
        lines = out.stdout.decode(errors="replace").strip().splitlines()
        try:
            return json.loads(lines[-1])
        except (IndexError, ValueError):
            raise AssertionError(f"driver output not JSON: {out.stdout!r} {out.stderr!r}")

    def stderr(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
        self._stderr.close()


# ------------------------------------------------------------------ Credential Manager

class CredList:
    """scripts/wincred-list.c, built once with mingw, run under Wine."""

    def __init__(self, workdir):
        self.exe = os.path.join(workdir, "wincred-list.exe")
        subprocess.run(
            ["x86_64-w64-mingw32-gcc", "-O2", "-municode", "-o", self.exe,
             os.path.join(HERE, "wincred-list.c"), "-ladvapi32"],
            check=True,
        )

    def entries(self, needle=SERVICE):
        """{target name: blob bytes} of the entries whose target holds `needle`."""
        out = subprocess.run(
            [WINE, self.exe, needle], stdin=subprocess.DEVNULL,
            capture_output=True, timeout=60,
        )
        assert out.returncode == 0, f"wincred-list exit {out.returncode}: {out.stderr!r}"
        found = {}
        for line in out.stdout.decode().splitlines():
            _type, size, target = line.split("\t", 2)
            found[target] = int(size)
        return found


# ------------------------------------------------------------------ the exe

class FlowHost(smoke.Host):
    """A host that keeps what it reads past: events for wait_event, and
    replies that came while waiting for an event for recv."""

    def __init__(self, *args):
        super().__init__(*args)
        self.events = []
        self.replies = []

    def _next(self, deadline, what):
        left = deadline - time.monotonic()
        try:
            v = self.frames.get(timeout=max(left, 0.001))
        except queue.Empty:
            raise AssertionError(f"no {what} in time") from None
        if v is None:
            raise AssertionError(f"host closed stdout (exit {self.p.poll()})")
        return v

    def recv(self, timeout=smoke.REPLY_TIMEOUT):
        if self.replies:
            return self.replies.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            v = self._next(deadline, "reply")
            if "event" not in v:
                return v
            self.events.append(v)

    def wait_event(self, name, timeout=smoke.REPLY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name:
                    return self.events.pop(i)
            v = self._next(deadline, f"{name} event (replies meanwhile: {self.replies})")
            (self.events if "event" in v else self.replies).append(v)


class FlowEnv(smoke.Env):
    """One user of the exe with the test app registered against `idp`, its
    sessions in Credential Manager (store = "keychain")."""

    def __init__(self, exe, name, idp, creds):
        super().__init__(exe, name)
        self.idp = idp
        self.creds = creds
        self.cli_runs = 0
        # What CLI commands other than `token` printed: scanned for tokens.
        self.cli_stdout = []
        cfg = os.path.join(self.roaming, "logto-companion", "config", "config.toml")
        with open(cfg, "w") as f:
            f.write(
                'store = "keychain"\nidle_timeout_secs = 120\n[[apps]]\n'
                f'endpoint = "{idp.endpoint}"\napp_id = "{APP_ID}"\n'
                f'allowed_origins = ["{EXT_ORIGIN}"]\n'
                f'scopes = ["phone"]\nresources = ["{API}"]\n'
                'post_logout_redirect_uri = "http://127.0.0.1/logout-callback"\n'
            )
        # Entries some earlier run left are not this case's to judge.
        self.creds_before = set(creds.entries())

    @property
    def account(self):
        """The session's keychain account (docs/keychain.md)."""
        return f"{APP_ID}@{self.idp.endpoint.rstrip('/')}"

    def entries(self):
        """This session's Credential Manager entries: {target: blob bytes}."""
        return self.creds.entries(self.account)

    def host(self, origin=EXT_ORIGIN):
        """A host bound to the test app (hello, as the shim does first);
        `h.authenticated` is what hello said."""
        h = FlowHost(self.command(origin), self.stderr)
        self.hosts.append(h)
        r = h.call("hello", {"app": {"endpoint": self.idp.endpoint, "appId": APP_ID}})
        assert "result" in r, r
        h.authenticated = r["result"]["authenticated"]
        return h

    def sign_in(self, h):
        """signIn through host `h`, the IdP's phone flow driven over HTTP."""
        h.send({"id": "si", "method": "signIn", "params": {
            "firstScreen": "identifier:sign_in", "identifiers": ["phone"], "loginHint": PHONE}})
        url = h.wait_event("signInStarted")["data"]["url"]
        drive = self.idp.drive(url)
        assert drive.get("ok") is True and drive.get("callbackStatus") == 200, drive
        assert "Signed in" in drive.get("callbackBody", ""), drive
        reply = h.recv(SIGN_IN_TIMEOUT)
        assert reply.get("id") == "si" and "result" in reply, reply
        return reply["result"]["claims"]

    def cli(self, args):
        """(exit code, stdout) of `logto-companion <args>`. Both streams go
        to files: a daemon the command starts inherits them under Wine, so a
        pipe would not see EOF while it runs. Only `token` may print a
        token; every other command's stdout joins the leak scan."""
        self.cli_runs += 1
        base = os.path.join(self.dir, f"cli-{self.cli_runs}")
        with open(base + ".out", "wb") as out, open(base + ".err", "wb") as err:
            p = subprocess.run(self.command(args), stdin=subprocess.DEVNULL,
                               stdout=out, stderr=err, timeout=120)
        with open(base + ".out", errors="replace") as f:
            out = f.read()
        if not args.startswith("token"):
            self.cli_stdout.append(out)
        return p.returncode, out

    def cli_stderr(self):
        text = []
        for n in sorted(os.listdir(self.dir)):
            if n.startswith("cli-") and n.endswith(".err"):
                with open(os.path.join(self.dir, n), errors="replace") as f:
                    text.append(f.read())
        return "".join(text)

    def restart_daemon(self):
        """Closes the hosts and kills the daemon (taskkill /F: nothing can be
        flushed at exit); the next host starts a new one (see daemon_starts)."""
        for h in self.hosts:
            h.close()
        self.hosts = []
        pid = self.daemon_pid()
        assert pid, "no daemon pid file"
        self.kill(pid)
        time.sleep(1)  # taskkill returns once TerminateProcess is issued

    def check_clean(self):
        """Nothing of this session in Credential Manager, and no entry with
        `logto-companion` in its target that was not there before the case."""
        assert self.entries() == {}, f"left after sign-out: {sorted(self.entries())}"
        # The Wine prefix is shared: another run's tests (the library's
        # keychain tests, doctor's probe) may hold an entry for a moment, so
        # a new one must still be there a few seconds later to count.
        for _ in range(3):
            new = set(self.creds.entries()) - self.creds_before
            if not new:
                return
            time.sleep(2)
        raise AssertionError(f"new logto-companion entries left: {sorted(new)}")

    def check_no_leaks(self):
        """No token the IdP issued in the daemon's logs or any stderr."""
        self.stderr.flush()
        with open(self.stderr.name, errors="replace") as f:
            host_stderr = f.read()
        logs = self.logs()
        assert logs, "the daemon wrote no log"
        text = "\n".join([logs, host_stderr, self.cli_stderr(), self.idp.stderr(), *self.cli_stdout])
        issued = [t for t in self.idp.issued() if len(t) >= 16]
        assert issued, "the IdP issued nothing?"
        leaked = sum(1 for t in issued if t in text)
        assert leaked == 0, f"{leaked} issued token(s) found in logs or stderr"
        return len(issued)


def code(reply):
    return (reply.get("error") or {}).get("code")


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def token_of(reply):
    t = (reply.get("result") or {}).get("accessToken")
    assert isinstance(t, str) and t, reply
    return t


# ------------------------------------------------------------------ cases
# Each returns a short note for its line.

SHORT_TTL = {"ttl": {"accessToken": 2},
             "resources": [{"indicator": API, "scopes": ["read:items"], "accessTokenTtl": 2}]}


def sign_in_token_refresh_sign_out(env):
    idp = env.idp
    h = env.host()
    assert h.authenticated is False
    claims = env.sign_in(h)
    sub = claims["sub"]
    assert claims["phone_number"] == PHONE_CLAIM and claims["aud"] == APP_ID, claims
    assert h.wait_event("signInFinished")["data"]["ok"] is True
    assert f"{env.account}.{SERVICE}" in env.entries(), "no session in Credential Manager"

    # The token the exe hands out is one the IdP accepts, for this user.
    at = token_of(h.call("getAccessToken"))
    status, info = idp.userinfo(at)
    assert status == 200 and info["sub"] == sub and info["phone_number"] == PHONE_CLAIM, (status, info)
    # The CLI is another process of the exe on the same daemon: same session.
    rc, out = env.cli("token")
    assert rc == 0 and out.strip() == at, (rc, out[:80])
    jwt = token_of(h.call("getAccessToken", {"resource": API}))
    jc = jwt_claims(jwt)
    assert jc["aud"] == API and jc["sub"] == sub, jc

    # Expired: the IdP refuses the old token; one refresh grant replaces it.
    time.sleep(2.2)
    assert idp.userinfo(at)[0] == 401, "the IdP still takes the expired token"
    before = idp.refresh_grants()
    at2 = token_of(h.call("getAccessToken"))
    assert at2 != at
    assert idp.refresh_grants() == before + 1, (before, idp.refresh_grants())
    status, info = idp.userinfo(at2)
    assert status == 200 and info["sub"] == sub, (status, info)
    time.sleep(2.2)
    rc, out = env.cli(f"token --resource {API}")
    jwt2 = out.strip()
    assert rc == 0 and jwt2 != jwt and jwt_claims(jwt2)["aud"] == API, (rc, out[:80])
    assert idp.refresh_grants() == before + 2, (before, idp.refresh_grants())
    assert idp.active_refresh_tokens(sub) >= 1

    # Sign-out: the grant is dead at the IdP and the exe says signed out.
    r = h.call("signOut")
    url = (r.get("result") or {}).get("endSessionUrl", "")
    assert url.startswith(idp.issuer + "/session/end"), r
    assert idp.test_api("/__test/counters")["revocation"] >= 1
    assert idp.active_refresh_tokens(sub) == 0, "the grant is still alive at the IdP"
    assert h.call("isAuthenticated")["result"]["authenticated"] is False
    assert code(h.call("getAccessToken")) == "not_authenticated"
    rc, out = env.cli("status --json")
    apps = json.loads(out)["apps"]
    assert rc == 0 and [a["authenticated"] for a in apps] == [False], (rc, out)
    rc, out = env.cli("token")
    assert rc == 2 and out == "", f"token after sign-out: exit {rc}"
    env.check_clean()
    return f"{idp.refresh_grants()} refresh grants, {env.check_no_leaks()} tokens scanned"


def two_daemons_in_a_row_keep_the_session(env):
    idp = env.idp
    h = env.host()
    assert h.authenticated is False
    sub = env.sign_in(h)["sub"]
    st = h.call("status")["result"]
    assert st["store"]["kind"] == "windows-credential-manager", st["store"]
    # Saved: one entry, seen from outside the exe, within the blob limit.
    saved = env.entries()
    head = f"{env.account}.{SERVICE}"
    assert list(saved) == [head], saved
    assert 0 < saved[head] <= ENTRY_LIMIT, saved

    # Loaded: a new daemon serves the session without a sign-in. A new
    # daemon is told by its start in the log, not by its pid: Windows (and
    # Wine) hand a dead process's pid to the next one, and under load the
    # third daemon here was seen getting the first one's.
    starts = env.daemon_starts()
    env.restart_daemon()
    before = idp.refresh_grants()
    h = env.host()
    assert h.authenticated is True
    assert h.call("status")["result"]["pid"] == env.daemon_pid()
    assert env.daemon_starts() == starts + 1, "no new daemon started for the host"
    c = h.call("getIdTokenClaims")["result"]["claims"]
    assert c["sub"] == sub and c["phone_number"] == PHONE_CLAIM, c
    assert idp.refresh_grants() == before, "the ID token came from a refresh, not the store"
    # Its first access token costs one refresh, which rotates the refresh token.
    at = token_of(h.call("getAccessToken"))
    assert idp.userinfo(at)[0] == 200
    assert idp.refresh_grants() == before + 1

    # A third daemon, started by the CLI: the rotated refresh token was saved
    # before use (reusing the old one would have killed the grant).
    env.restart_daemon()
    rc, out = env.cli("token")
    assert rc == 0, f"token exit {rc}"
    status, info = idp.userinfo(out.strip())
    assert status == 200 and info["sub"] == sub, (status, info)
    assert idp.refresh_grants() == before + 2, (idp.refresh_grants(), before)
    assert env.daemon_starts() == starts + 2, "no new daemon started for the CLI"
    assert idp.active_refresh_tokens(sub) >= 1

    # Deleted at sign-out (by the CLI this time), and the next daemon finds
    # nothing. The terminal gets the end-session URL without the ID token.
    rc, out = env.cli("sign-out --no-browser --json")
    r = json.loads(out) if rc == 0 else {}
    assert r.get("signedOut") is True and r.get("wasSignedIn") is True and r.get("revoked") is True, (rc, out)
    assert r["endSessionUrl"].startswith(idp.issuer + "/session/end"), r
    assert "id_token_hint" not in r["endSessionUrl"], r
    assert idp.active_refresh_tokens(sub) == 0, "the grant is still alive at the IdP"
    env.check_clean()
    env.restart_daemon()
    h = env.host()
    assert h.authenticated is False
    return f"3 daemons, {env.check_no_leaks()} tokens scanned"


BIG_PICTURE = "https://pictures.example.test/" + "p" * 3000
BIG_RECORD = {"users": [{"id": "user-alice", "phone": PHONE, "name": "Alice Example",
                         "username": "alice", "picture": BIG_PICTURE}]}


def record_over_2560_bytes_is_split_and_all_parts_go(env):
    idp = env.idp
    h = env.host()
    assert h.authenticated is False
    env.sign_in(h)
    idt = h.call("getIdToken")["result"]["idToken"]
    assert len(idt) > ENTRY_LIMIT, f"ID token is only {len(idt)} bytes"
    head = f"{env.account}.{SERVICE}"
    saved = env.entries()
    parts = sorted(t for t in saved if t != head)
    assert head in saved and len(parts) >= 2, saved
    assert all("#a" in t for t in parts), parts
    assert all(0 < n <= ENTRY_LIMIT for n in saved.values()), saved
    total = sum(saved.values())
    assert total > ENTRY_LIMIT, saved

    # A new daemon puts the parts back together.
    env.restart_daemon()
    before = idp.refresh_grants()
    h = env.host()
    assert h.call("getIdToken")["result"]["idToken"] == idt
    assert h.call("getIdTokenClaims")["result"]["claims"]["picture"] == BIG_PICTURE
    assert idp.refresh_grants() == before

    # A refresh rotates the refresh token: the record moves to slot b and
    # the parts of slot a go.
    assert idp.userinfo(token_of(h.call("getAccessToken")))[0] == 200
    assert idp.refresh_grants() == before + 1
    saved = env.entries()
    parts = sorted(t for t in saved if t != head)
    assert head in saved and len(parts) >= 2 and all("#b" in t for t in parts), saved
    assert all(n <= ENTRY_LIMIT for n in saved.values()), saved

    assert "endSessionUrl" in h.call("signOut").get("result", {})
    env.check_clean()
    return f"{len(parts)} parts, {total} bytes, {env.check_no_leaks()} tokens scanned"


CASES = [
    (sign_in_token_refresh_sign_out, SHORT_TTL),
    (two_daemons_in_a_row_keep_the_session, None),
    (record_over_2560_bytes_is_split_and_all_parts_go, BIG_RECORD),
]


def main():
    if len(sys.argv) != 2 or not os.path.isfile(sys.argv[1]):
        sys.exit("usage: wine-flow.py <logto-companion.exe>")
    exe = sys.argv[1]
    work = tempfile.mkdtemp(prefix="lc-wine-flow-")
    failed = 0
    try:
        creds = CredList(work)
        for case, idp_config in CASES:
            started = time.monotonic()
            idp = env = None
            try:
                idp = Idp(work, idp_config)
                env = FlowEnv(exe, case.__name__[:20], idp, creds)
                note = case(env)
                print(f"ok   {case.__name__} ({time.monotonic() - started:.1f}s; {note})", flush=True)
            except Exception as e:  # noqa: BLE001 - report every failure, go on
                failed += 1
                print(f"FAIL {case.__name__}: {type(e).__name__}: {e}", flush=True)
                logs = env.logs() if env else ""
                if logs:
                    print("  daemon log:\n    " + logs[-3000:].replace("\n", "\n    "))
                if idp:
                    print("  IdP stderr:\n    " + idp.stderr()[-1500:].replace("\n", "\n    "))
            finally:
                if env:
                    env.close()
                if idp:
                    idp.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wine flow: {len(CASES) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
