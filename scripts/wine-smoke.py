#!/usr/bin/env python3
"""Host/daemon smoke run of the real Windows exe under Wine, driven from Linux.

    scripts/wine-smoke.py <path/to/logto-companion.exe>

Starts the .exe the way Chrome does (argv[1] = the extension origin, native-
messaging frames on stdin/stdout) and checks what tests/host_daemon.rs checks on
Linux: ping, hello, a malformed frame, an unknown method, an oversized length
prefix, hosts racing to start one daemon, and a daemon killed under a connected
host being restarted transparently. Each case gets its own %APPDATA% and
%LOCALAPPDATA% (so its own config and pipe); they are set through `cmd /c set`
because Wine resets both for a process started straight from Linux.

Not checkable under Wine (one user only): a client of another user being
refused; the pipe's DACL is read back by a unit test instead
(ipc::windows::tests). Expects WINEPREFIX set (scripts/cross env). Stdlib only.
Prints one line per case; exit 0 = all passed.
"""
import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

WINE = "/usr/lib/wine/wine64"
EXT_ORIGIN = "chrome-extension://abcdefghijklmnopabcdefghijklmnop/"
ENDPOINT = "http://127.0.0.1:9"
APP_ID = "native-test-app"
REPLY_TIMEOUT = 30  # Wine starts processes slowly


def winpath(p):
    """A Linux path as Wine sees it (Z: is /)."""
    return "Z:" + os.path.abspath(p).replace("/", "\\")


class Env:
    def __init__(self, exe, name):
        self.exe = exe
        self.dir = tempfile.mkdtemp(prefix=f"lc-wine-{name}-")
        self.roaming = os.path.join(self.dir, "roaming")
        self.local = os.path.join(self.dir, "local")
        self.stderr = open(os.path.join(self.dir, "stderr.txt"), "wb")
        os.makedirs(self.roaming)
        os.makedirs(self.local)
        cfg = os.path.join(self.roaming, "logto-companion", "config", "config.toml")
        os.makedirs(os.path.dirname(cfg))
        with open(cfg, "w") as f:
            f.write(
                'store = "memory"\nidle_timeout_secs = 60\n[[apps]]\n'
                f'endpoint = "{ENDPOINT}"\napp_id = "{APP_ID}"\n'
                f'allowed_origins = ["{EXT_ORIGIN}"]\n'
            )
        self.hosts = []

    def command(self, args):
        line = (
            f"set APPDATA={winpath(self.roaming)}&& "
            f"set LOCALAPPDATA={winpath(self.local)}&& "
            f"{winpath(self.exe)} {args}"
        )
        return [WINE, "cmd", "/c", line]

    def host(self, origin=EXT_ORIGIN):
        h = Host(self.command(origin), self.stderr)
        self.hosts.append(h)
        return h

    @property
    def pid_file(self):
        return os.path.join(self.local, "logto-companion", "data", "run", "daemon.pid")

    def daemon_pid(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def kill(self, pid):
        subprocess.run(
            [WINE, "taskkill", "/F", "/PID", str(pid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, timeout=60,
        )

    def logs(self):
        out = []
        d = os.path.join(self.local, "logto-companion", "data", "logs")
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, n), errors="replace") as f:
                out.append(f.read())
        return "".join(out)

    def daemon_starts(self):
        """How many daemons have started so far: each logs one line as it
        starts listening, before it answers anyone. A new daemon is told by
        this, not by its pid: Windows (and Wine) give a dead process's pid
        to the next process, and a restarted daemon was seen with the pid
        of one killed before it."""
        return self.logs().count("daemon listening")

    def close(self):
        for h in self.hosts:
            h.close()
        pid = self.daemon_pid()
        if pid:
            self.kill(pid)
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Host:
    def __init__(self, cmd, stderr):
        # stderr goes to a file: under Wine a detached child inherits the
        # parent's Unix stderr, so a pipe here would never see EOF.
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        self.frames = queue.Queue()
        self.next_id = 1
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        out = self.p.stdout
        while True:
            head = out.read(4)
            if len(head) < 4:
                self.frames.put(None)
                return
            (n,) = struct.unpack("<I", head)
            body = out.read(n)
            self.frames.put(json.loads(body))

    def send_raw(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def send_frame(self, body):
        self.send_raw(struct.pack("<I", len(body)) + body)

    def send(self, obj):
        self.send_frame(json.dumps(obj).encode())

    def recv(self, timeout=REPLY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no reply in time")
            v = self.frames.get(timeout=left)
            if v is None:
                raise AssertionError(f"host closed stdout (exit {self.p.poll()})")
            if "event" in v:
                continue
            return v

    def call(self, method, params=None):
        i = self.next_id
        self.next_id += 1
        self.send({"id": i, "method": method, "params": params})
        while True:
            v = self.recv()
            if v.get("id") == i:
                return v

    def hello(self):
        return self.call("hello", {"app": {"endpoint": ENDPOINT, "appId": APP_ID}})

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()


def code(reply):
    return (reply.get("error") or {}).get("code")


# ------------------------------------------------------------------ cases

def ping_is_answered(env):
    r = env.host().call("ping")
    assert r["result"]["pong"] is True, r
    assert r["result"]["version"], r


def hello_binds_the_registered_app(env):
    h = env.host()
    r = h.hello()
    assert r["result"]["protocol"] == 1, r
    assert r["result"]["authenticated"] is False, r
    r = h.call("hello", {"app": {"endpoint": ENDPOINT, "appId": "some-other-app"}})
    assert code(r) == "app_not_registered", r
    assert "logto-companion install" in r["error"]["message"], r


def malformed_frame_is_answered_and_the_connection_stays(env):
    h = env.host()
    h.send_frame(b"{not json")
    r = h.recv()
    assert code(r) == "invalid_request" and r.get("id") is None, r
    r = h.call("hello", {"app": {"endpoint": 5}})
    assert code(r) == "invalid_params", r
    assert h.call("ping")["result"]["pong"] is True


def unknown_method_is_method_not_found(env):
    h = env.host()
    assert code(h.call("launchMissiles", {})) == "method_not_found"
    assert h.call("ping")["result"]["pong"] is True


def oversized_prefix_is_refused_and_the_host_exits(env):
    h = env.host()
    assert h.call("ping")["result"]["pong"] is True
    h.send_raw(b"\xff\xff\xff\xff{}")
    r = h.recv()
    assert code(r) == "message_too_large" and r.get("id") is None, r
    rc = h.p.wait(timeout=20)
    assert rc == 0, f"host exit code {rc}"


def hosts_racing_share_one_daemon(env):
    hosts = [env.host() for _ in range(4)]
    for i, h in enumerate(hosts):
        h.send({"id": i, "method": "status"})
    pids = {h.recv()["result"]["pid"] for h in hosts}
    assert len(pids) == 1, f"hosts talked to different daemons: {pids}"
    assert env.daemon_pid() in pids, (env.daemon_pid(), pids)


def killed_daemon_is_restarted_transparently(env):
    h = env.host()
    assert "result" in h.hello()
    first = h.call("status")["result"]["pid"]
    starts = env.daemon_starts()
    env.kill(first)
    time.sleep(1)  # taskkill returns once TerminateProcess is issued
    r = h.call("isAuthenticated")
    assert r.get("result", {}).get("authenticated") is False, r
    second = h.call("status")["result"]["pid"]
    assert second == env.daemon_pid(), (second, env.daemon_pid())
    assert env.daemon_starts() == starts + 1, f"no new daemon after the kill (pids {first}, {second})"


CASES = [
    ping_is_answered,
    hello_binds_the_registered_app,
    malformed_frame_is_answered_and_the_connection_stays,
    unknown_method_is_method_not_found,
    oversized_prefix_is_refused_and_the_host_exits,
    hosts_racing_share_one_daemon,
    killed_daemon_is_restarted_transparently,
]


def main():
    if len(sys.argv) != 2 or not os.path.isfile(sys.argv[1]):
        sys.exit("usage: wine-smoke.py <logto-companion.exe>")
    exe = sys.argv[1]
    failed = 0
    for case in CASES:
        env = Env(exe, case.__name__[:20])
        started = time.monotonic()
        try:
            case(env)
            print(f"ok   {case.__name__} ({time.monotonic() - started:.1f}s)", flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure, go on
            failed += 1
            print(f"FAIL {case.__name__}: {type(e).__name__}: {e}", flush=True)
            logs = env.logs()
            if logs:
                print("  daemon log:\n    " + logs[-3000:].replace("\n", "\n    "))
        finally:
            env.close()
    print(f"wine smoke: {len(CASES) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
