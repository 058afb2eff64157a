#!/usr/bin/env python3
"""The installer suite of the Windows zip under Wine, driven from Linux.

    scripts/wine-install.py <path/to/release/logto-companion.exe>

Builds the zip (scripts/package-windows) from the exe's folder, unzips it to
a fresh folder and runs that exe's `--version`, `install`, `doctor` and
`uninstall`, per user (HKCU) and with `--system` (HKLM), checking each from
outside: the registry read back with Wine's `reg query` (the test's reader;
the product uses the Win32 API), the manifest JSON on disk with a Windows
`path`, config under %APPDATA%, state under %LOCALAPPDATA%, doctor healthy,
doctor explaining a deleted key and a key pointing at another manifest, and
uninstall leaving the registry subtrees exactly as before and no file.

Each case gets its own %APPDATA%, %LOCALAPPDATA% and %ProgramData% (set
through `cmd /c set`: Wine resets them for a process started from Linux)
and its own host name, so it shares nothing with other runs in the prefix.
Expects WINEPREFIX set (scripts/cross env). Stdlib only. Prints one line
per case; exit 0 = all passed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile

WINE = "/usr/lib/wine/wine64"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT_ID = "abcdefghijklmnopabcdefghijklmnop"
FIREFOX_ID = "wine-install@example.org"
APP_ID = "wine-install-app"
ENDPOINT = "http://127.0.0.1:9"
# Every distinct key of the browsers' documented Windows locations, by the
# browser it is asked for with (Vivaldi, Brave and Opera also get Chrome's;
# Waterfox also Mozilla's), and the manifest family it points at.
KEYS = {
    "chrome": (r"SOFTWARE\Google\Chrome\NativeMessagingHosts", "chromium"),
    "chromium": (r"SOFTWARE\Chromium\NativeMessagingHosts", "chromium"),
    "edge": (r"SOFTWARE\Microsoft\Edge\NativeMessagingHosts", "chromium"),
    "brave": (r"SOFTWARE\BraveSoftware\Brave-Browser\NativeMessagingHosts", "chromium"),
    "vivaldi": (r"SOFTWARE\Vivaldi\NativeMessagingHosts", "chromium"),
    "opera": (r"SOFTWARE\Opera Software\NativeMessagingHosts", "chromium"),
    "firefox": (r"SOFTWARE\Mozilla\NativeMessagingHosts", "firefox"),
    "waterfox": (r"SOFTWARE\Waterfox\NativeMessagingHosts", "firefox"),
}
BROWSERS = ",".join(KEYS)
# Subtrees compared before install and after uninstall: exactly what was
# there must be there again (keys install created above its own included).
SUBTREES = [
    r"SOFTWARE\Google", r"SOFTWARE\Chromium", r"SOFTWARE\Microsoft\Edge",
    r"SOFTWARE\BraveSoftware", r"SOFTWARE\Vivaldi", r"SOFTWARE\Opera Software",
    r"SOFTWARE\Mozilla", r"SOFTWARE\Waterfox",
]
TIMEOUT = 120


def winpath(p):
    """A Linux path as Wine sees it (Z: is /)."""
    return "Z:" + os.path.abspath(p).replace("/", "\\")


def run(argv, timeout=TIMEOUT):
    return subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
    )


def reg_query(key, *extra):
    """`reg query` output, or None when the key does not exist."""
    p = run([WINE, "reg", "query", key, *extra])
    return p.stdout.decode("utf-8", "replace") if p.returncode == 0 else None


def reg_default(key):
    out = reg_query(key, "/ve")
    if out is None:
        return None
    for line in out.splitlines():
        if "REG_SZ" in line:
            return line.split("REG_SZ", 1)[1].strip()
    return ""


def snapshot(hive):
    return {t: reg_query(f"{hive}\\{t}", "/s") for t in SUBTREES}


class Case:
    """One isolated user: its folders, host name and the unzipped exe."""

    def __init__(self, exe, name):
        self.exe = exe
        self.dir = tempfile.mkdtemp(prefix=f"lc-wine-install-{name}-")
        self.roaming = os.path.join(self.dir, "roaming")
        self.local = os.path.join(self.dir, "local")
        self.programdata = os.path.join(self.dir, "programdata")
        for d in (self.roaming, self.local, self.programdata):
            os.makedirs(d)
        self.host = f"lc_wine_{name}_{os.getpid()}"

    def cmd(self, args, exe=None):
        line = (
            f"set APPDATA={winpath(self.roaming)}&& "
            f"set LOCALAPPDATA={winpath(self.local)}&& "
            f"set ProgramData={winpath(self.programdata)}&& "
            f"{winpath(exe or self.exe)} {args}"
        )
        # stdin closed, output to files: a detached child under Wine keeps
        # the parent's Unix pipes open (wine-smoke.py has the same note).
        out_path = os.path.join(self.dir, "out.txt")
        err_path = os.path.join(self.dir, "err.txt")
        with open(out_path, "wb") as o, open(err_path, "wb") as e:
            p = subprocess.run(
                [WINE, "cmd", "/c", line], stdin=subprocess.DEVNULL,
                stdout=o, stderr=e, timeout=TIMEOUT,
            )
        with open(out_path, "rb") as o, open(err_path, "rb") as e:
            return p.returncode, o.read().decode("utf-8", "replace"), e.read().decode("utf-8", "replace")

    def ok(self, args, exe=None):
        rc, out, err = self.cmd(args, exe)
        assert rc == 0, f"`{args}` exited {rc}\nstdout:\n{out}\nstderr:\n{err}"
        return out

    def install_args(self, system):
        return (
            f"install --endpoint {ENDPOINT} --app-id {APP_ID} --extension-id {EXT_ID} "
            f"--firefox-id {FIREFOX_ID} --browser {BROWSERS} --host-name {self.host}"
            + (" --system" if system else "")
        )

    def manifest_dir(self, system, family):
        base = self.programdata if system else self.local
        return os.path.join(base, "logto-companion", "NativeMessagingHosts", family)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def check_version(exe):
    p = run([WINE, exe, "--version"])
    out = p.stdout.decode()
    assert p.returncode == 0 and out.startswith("logto-companion "), (p.returncode, out, p.stderr)


def check_installed(c, system, hive):
    """Registry, manifests, config and record as install left them."""
    for key, family in KEYS.values():
        full = f"{hive}\\{key}\\{c.host}"
        want = winpath(os.path.join(c.manifest_dir(system, family), f"{c.host}.json"))
        got = reg_default(full)
        assert got is not None, f"{full} missing after install"
        assert got.lower() == want.lower(), f"{full} = {got!r}, expected {want!r}"
    for family, ids_field, want_id in [
        ("chromium", "allowed_origins", f"chrome-extension://{EXT_ID}/"),
        ("firefox", "allowed_extensions", FIREFOX_ID),
    ]:
        path = os.path.join(c.manifest_dir(system, family), f"{c.host}.json")
        with open(path) as f:
            m = json.load(f)
        assert m["name"] == c.host and m["type"] == "stdio", m
        assert m["path"].lower() == winpath(c.exe).lower(), (m["path"], winpath(c.exe))
        assert m[ids_field] == [want_id], m
    assert os.path.isfile(os.path.join(c.roaming, "logto-companion", "config", "config.toml")), "config not under %APPDATA%"
    assert os.path.isfile(os.path.join(c.local, "logto-companion", "data", "installed.json")), "record not under %LOCALAPPDATA%"


def check_doctor_healthy(c, hive):
    out = c.ok("doctor --offline")
    assert "No problems found." in out, out
    for key, _ in KEYS.values():
        full = f"{hive}\\{key}\\{c.host}"
        assert any(l.startswith("✓ ") and full.lower() in l.lower() for l in out.splitlines()), f"no ✓ line for {full}:\n{out}"
    # Every path doctor reads or writes, spelled the Windows way.
    paths_line = next((l for l in out.splitlines() if l.startswith("· config ")), "")
    for p in [
        os.path.join(c.roaming, "logto-companion", "config", "config.toml"),
        os.path.join(c.local, "logto-companion", "data", "installed.json"),
        os.path.join(c.local, "logto-companion", "data", "logs"),
        os.path.join(c.local, "logto-companion", "data", "run"),
    ]:
        assert winpath(p).lower() in paths_line.lower(), f"{winpath(p)} not in doctor's paths line:\n{out}"
    for family in ("chromium", "firefox"):
        m = winpath(os.path.join(c.manifest_dir(hive == "HKEY_LOCAL_MACHINE", family), f"{c.host}.json"))
        assert m.lower() in out.lower(), f"doctor does not name {m}:\n{out}"
    return out


def check_doctor_explains_broken_keys(c, hive):
    edge = f"{hive}\\{KEYS['edge'][0]}\\{c.host}"
    chrome = f"{hive}\\{KEYS['chrome'][0]}\\{c.host}"
    assert run([WINE, "reg", "delete", edge, "/f"]).returncode == 0
    elsewhere = r"C:\elsewhere\other.json"
    assert run([WINE, "reg", "add", chrome, "/ve", "/t", "REG_SZ", "/d", elsewhere, "/f"]).returncode == 0
    rc, out, _ = c.cmd("doctor --offline")
    assert rc == 1, f"doctor exited {rc} on broken keys:\n{out}"
    lines = out.splitlines()
    missing = [l for l in lines if l.startswith("✗ ") and edge.lower() in l.lower()]
    assert missing and "is missing" in missing[0] and "fix: logto-companion install" in missing[0], out
    assert "--browser edge" in missing[0], missing[0]
    wrong = [l for l in lines if l.startswith("✗ ") and chrome.lower() in l.lower()]
    assert wrong and elsewhere.lower() in wrong[0].lower() and "(no such file)" in wrong[0], out
    # install again puts both back; doctor is healthy again.
    c.ok(c.install_args(hive == "HKEY_LOCAL_MACHINE"))
    check_doctor_healthy(c, hive)


def check_uninstall(c, system, hive, before):
    """Returns the subtrees install created and uninstall removed again."""
    out = c.ok("uninstall" + (" --system" if system else ""))
    for key, _ in KEYS.values():
        full = f"{hive}\\{key}\\{c.host}"
        assert reg_query(full) is None, f"{full} still there after uninstall:\n{out}"
    after = snapshot(hive)
    for t in SUBTREES:
        assert after[t] == before[t], f"{hive}\\{t} differs after uninstall\nbefore:\n{before[t]}\nafter:\n{after[t]}\nuninstall said:\n{out}"
    for family in ("chromium", "firefox"):
        f = os.path.join(c.manifest_dir(system, family), f"{c.host}.json")
        assert not os.path.exists(f), f"{f} left behind"
    left = [os.path.join(d, n) for d, _, ns in os.walk(c.roaming) for n in ns]
    left += [os.path.join(d, n) for d, _, ns in os.walk(c.programdata) for n in ns]
    assert not left, f"files left after uninstall: {left}"
    created = [t for t in SUBTREES if before[t] is None]
    for t in created:
        assert f"deleted {hive}\\{t}".lower() in out.lower(), f"uninstall did not say it deleted {t}:\n{out}"
    return created


def case_install(exe, name, system, release_exe):
    hive = "HKEY_LOCAL_MACHINE" if system else "HKEY_CURRENT_USER"
    c = Case(exe, name)
    try:
        before = snapshot(hive)
        out = c.ok(c.install_args(system))
        assert out.count("set HKEY_") == len(KEYS), out
        check_installed(c, system, hive)
        check_doctor_healthy(c, hive)
        if not system:
            # Another copy of the exe runs doctor: it says whose exe the
            # browsers start.
            o = c.ok("doctor --offline", exe=release_exe)
            assert f'"path" is {winpath(exe)}, not this program' in o, o
            check_doctor_explains_broken_keys(c, hive)
        created = check_uninstall(c, system, hive, before)
        return f"keys created above and removed again: {', '.join(created) or 'none (all existed)'}"
    finally:
        # Whatever failed, leave nothing of this case in the shared prefix:
        # the product's own uninstall first (it also removes the keys it
        # created above), then the case's keys by force.
        c.cmd("uninstall" + (" --system" if system else ""))
        for key, _ in KEYS.values():
            run([WINE, "reg", "delete", f"{hive}\\{key}\\{c.host}", "/f"])
        c.close()


def package_binaries():
    """scripts/package-windows' BINARIES, the one list of shipped exes."""
    from importlib.machinery import SourceFileLoader
    import importlib.util

    path = os.path.join(ROOT, "scripts", "package-windows")
    spec = importlib.util.spec_from_loader("package_windows", SourceFileLoader("package_windows", path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.BINARIES


def case_two_hosts(exe, apart):
    """Two installs with their own host names share the keys the first one
    created above its key. One uninstall of both (`apart` False) removes
    those keys too; uninstalling the first app alone (`apart` True) keeps
    them for the second, whose uninstall then removes them."""
    hive = "HKEY_CURRENT_USER"
    key = KEYS["chrome"][0]
    c = Case(exe, "apart" if apart else "two")
    hosts = [(c.host, APP_ID), (c.host + "_b", APP_ID + "-b" if apart else APP_ID)]
    try:
        before = snapshot(hive)
        for host, app in hosts:
            c.ok(
                c.install_args(False)
                .replace(f"--browser {BROWSERS}", "--browser chrome")
                .replace(f"--host-name {c.host}", f"--host-name {host}")
                .replace(f"--app-id {APP_ID}", f"--app-id {app}")
            )
            assert reg_default(f"{hive}\\{key}\\{host}") is not None, f"{host}: no key after install"
        out = ""
        if apart:
            out = c.ok(f"uninstall --app-id {APP_ID}")
            assert reg_query(f"{hive}\\{key}\\{hosts[0][0]}") is None, out
            assert reg_default(f"{hive}\\{key}\\{hosts[1][0]}") is not None, f"the other app's key went:\n{out}"
        out += c.ok("uninstall")
        for host, _ in hosts:
            assert reg_query(f"{hive}\\{key}\\{host}") is None, f"{host}: key left:\n{out}"
        after = snapshot(hive)
        for t in SUBTREES:
            assert after[t] == before[t], f"{hive}\\{t} differs after uninstall\nbefore:\n{before[t]}\nafter:\n{after[t]}\nuninstall said:\n{out}"
        if before[r"SOFTWARE\Google"] is None:
            assert f"deleted {hive}\\SOFTWARE\\Google\n".lower() in out.lower(), out
            return r"keys created above and removed again: SOFTWARE\Google"
        return "keys created above: none (all existed)"
    finally:
        c.cmd("uninstall")
        for host, _ in hosts:
            run([WINE, "reg", "delete", f"{hive}\\{key}\\{host}", "/f"])
        c.close()


def case_copied_programs(exe):
    """What install.ps1 does, then `uninstall`: the exes copied to
    %LOCALAPPDATA%\\Programs\\logto-companion and `install --copied-programs`
    run from there; `uninstall` leaves no record and accounts for both
    exes, deleted or named as running (Windows cannot delete a running
    program)."""
    c = Case(exe, "copied")
    hive = "HKEY_CURRENT_USER"
    key = KEYS["chrome"][0]
    try:
        prefix = os.path.join(c.local, "Programs", "logto-companion")
        os.makedirs(prefix)
        for b in package_binaries():
            shutil.copy2(os.path.join(os.path.dirname(exe), b), prefix)
        installed = os.path.join(prefix, "logto-companion.exe")
        c.ok(
            c.install_args(False).replace(f"--browser {BROWSERS}", "--browser chrome")
            + " --copied-programs",
            exe=installed,
        )
        record = os.path.join(c.local, "logto-companion", "data", "installed.json")
        with open(record) as f:
            programs = json.load(f).get("programs", [])
        assert sorted(p.lower().rsplit("\\", 1)[-1] for p in programs) == sorted(
            b.lower() for b in package_binaries()
        ), programs
        out = c.ok("uninstall", exe=installed)
        assert not os.path.exists(record), f"record left:\n{out}"
        assert reg_query(f"{hive}\\{key}\\{c.host}") is None, out
        said = []
        for b in package_binaries():
            path = os.path.join(prefix, b)
            line = next((l for l in out.splitlines() if b.lower() in l.lower()), None)
            assert line, f"{b} not accounted for:\n{out}"
            if line.startswith("deleted "):
                assert not os.path.exists(path), f"{b} said deleted but is there:\n{out}"
                said.append(f"{b} deleted")
            else:
                assert "cannot delete a running program" in line, line
                said.append(f"{b} named as running")
        return ", ".join(said)
    finally:
        c.cmd("uninstall")
        run([WINE, "reg", "delete", f"{hive}\\{key}\\{c.host}", "/f"])
        c.close()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    release_exe = os.path.abspath(sys.argv[1])
    pkg = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "package-windows"),
         "--bin-dir", os.path.dirname(release_exe)],
        capture_output=True, text=True,
    )
    if pkg.returncode != 0:
        sys.exit(f"scripts/package-windows failed:\n{pkg.stderr}")
    zip_path = pkg.stdout.strip()
    unzipped = tempfile.mkdtemp(prefix="lc-wine-zip-")
    failures = 0
    try:
        with zipfile.ZipFile(zip_path) as z:
            names = z.namelist()
            top = names[0].split("/")[0]
            want = {f"{top}/{n}" for n in [*package_binaries(), "install.ps1", "README.md"]}
            assert want <= set(names), f"{zip_path} lacks {want - set(names)}"
            z.extractall(unzipped)
        exe = os.path.join(unzipped, top, "logto-companion.exe")
        print(f"zip: {os.path.basename(zip_path)} ({os.path.getsize(zip_path)} bytes)")
        cases = [
            ("--version", lambda: check_version(exe)),
            ("install / doctor / broken keys / uninstall, per user (HKCU)", lambda: case_install(exe, "user", False, release_exe)),
            ("install / doctor / uninstall --system (HKLM)", lambda: case_install(exe, "system", True, release_exe)),
            ("two host names, one uninstall (HKCU)", lambda: case_two_hosts(exe, False)),
            ("two host names of two apps, uninstalled one by one (HKCU)", lambda: case_two_hosts(exe, True)),
            ("exes copied as install.ps1 does: uninstall accounts for both", lambda: case_copied_programs(exe)),
        ]
        for name, fn in cases:
            t = time.monotonic()
            try:
                note = fn()
                note = f"; {note}" if note else ""
                print(f"ok   {name} ({time.monotonic() - t:.1f}s{note})")
            except Exception:
                failures += 1
                print(f"FAIL {name} ({time.monotonic() - t:.1f}s)")
                traceback.print_exc()
    finally:
        shutil.rmtree(unzipped, ignore_errors=True)
    passed = len(cases) - failures
    print(f"{passed} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
