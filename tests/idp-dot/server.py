#!/usr/bin/env python3
"""The second test OpenID Provider: django-oauth-toolkit (DOT) with OIDC, on 127.0.0.1 only, for tests.

    python server.py [--port 0] [--redirect-port 47615 ...] [--redirect-match exact|loopback-any-port]
                     [--post-logout-redirect-uri URI ...] [--no-end-session] [--logout-prompt always|unless-hint]
                     [--revocation public|confidential]
                     [--access-token-ttl 3600] [--oauth2-settings JSON] [--quiet]

Every option also reads an environment variable (DOT_PORT, DOT_REDIRECT_PORTS=comma list, DOT_REDIRECT_MATCH,
DOT_POST_LOGOUT_REDIRECT_URIS=comma list, DOT_END_SESSION=0, DOT_LOGOUT_PROMPT, DOT_REVOCATION, DOT_ACCESS_TOKEN_TTL,
DOT_OAUTH2_SETTINGS, DOT_QUIET=1); an argument wins. The first stdout line is one JSON ready object, printed
once the server listens; stdout carries nothing else. Logs go to stderr, with paths but never query strings
or bodies (they hold codes and tokens). SIGTERM or SIGINT stops it (exit 0); a bad option exits 2 with
"[dot] cannot start: ..." on stderr and no ready line. Everything lives in a temporary SQLite file, removed
on exit. See README.md.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
CLIENT_ID = "native-test-app"
USER = {
    "username": "alice",
    "password": "alice-test-password",
    "email": "alice@example.test",
    "first_name": "Alice",
    "last_name": "Example",
}
DEFAULT_REDIRECT_PORT = 47615


class StartError(Exception):
    """A bad option: reported on stderr, exit 2."""


def env_list(name):
    value = os.environ.get(name, "")
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_args(argv):
    env = os.environ
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=int(env.get("DOT_PORT", "0")))
    p.add_argument("--redirect-port", type=int, action="append", dest="redirect_ports")
    p.add_argument("--redirect-match", choices=["exact", "loopback-any-port"],
                   default=env.get("DOT_REDIRECT_MATCH", "exact"))
    p.add_argument("--post-logout-redirect-uri", action="append", dest="post_logout_redirect_uris")
    p.add_argument("--no-end-session", action="store_true", default=env.get("DOT_END_SESSION") == "0")
    p.add_argument("--logout-prompt", choices=["always", "unless-hint"], default=env.get("DOT_LOGOUT_PROMPT", "always"),
                   help="always: DOT's default confirmation page; unless-hint: none when id_token_hint names the user")
    p.add_argument("--revocation", choices=["public", "confidential"], default=env.get("DOT_REVOCATION", "public"))
    p.add_argument("--access-token-ttl", type=int, default=int(env.get("DOT_ACCESS_TOKEN_TTL", "3600")))
    p.add_argument("--oauth2-settings", default=env.get("DOT_OAUTH2_SETTINGS", ""),
                   help="JSON object merged over the OAUTH2_PROVIDER settings")
    p.add_argument("--quiet", action="store_true", default=env.get("DOT_QUIET") == "1")
    args = p.parse_args(argv)
    if args.redirect_ports is None:
        args.redirect_ports = [int(v) for v in env_list("DOT_REDIRECT_PORTS")] or [DEFAULT_REDIRECT_PORT]
    if args.post_logout_redirect_uris is None:
        args.post_logout_redirect_uris = env_list("DOT_POST_LOGOUT_REDIRECT_URIS") or [
            f"http://{HOST}:{port}/logout-callback" for port in args.redirect_ports
        ]
    for port in args.redirect_ports:
        if not 0 < port < 65536:
            raise StartError(f"redirect port {port} is not a TCP port (1-65535)")
    if args.access_token_ttl <= 0:
        raise StartError("--access-token-ttl must be a positive number of seconds")
    try:
        args.oauth2_overrides = json.loads(args.oauth2_settings) if args.oauth2_settings else {}
    except json.JSONDecodeError as e:
        raise StartError(f"--oauth2-settings / DOT_OAUTH2_SETTINGS is not JSON: {e}") from e
    if not isinstance(args.oauth2_overrides, dict):
        raise StartError("--oauth2-settings / DOT_OAUTH2_SETTINGS must be a JSON object")
    return args


def rsa_private_key_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def configure_django(args, endpoint, db_path):
    from django.conf import settings

    issuer = f"{endpoint}/o"
    oauth2 = {
        "OIDC_ENABLED": True,
        "OIDC_RSA_PRIVATE_KEY": rsa_private_key_pem(),  # RS256 ID tokens; a fresh key per start
        "OIDC_ISS_ENDPOINT": issuer,
        "PKCE_REQUIRED": True,
        "ROTATE_REFRESH_TOKEN": True,
        "REFRESH_TOKEN_REUSE_PROTECTION": True,  # a spent refresh token, presented again, revokes its family
        "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,  # the old refresh token is refused at once
        "OIDC_RP_INITIATED_LOGOUT_ENABLED": not args.no_end_session,
        "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": args.logout_prompt == "always",
        "ACCESS_TOKEN_EXPIRE_SECONDS": args.access_token_ttl,
        "SCOPES": {
            "openid": "OpenID Connect",
            "profile": "Your name and username",
            "email": "Your email address",
            "offline_access": "Stay signed in",
        },
        "DEFAULT_SCOPES": ["openid"],
        "OAUTH2_VALIDATOR_CLASS": "dot_idp.validators.Validator",
    }
    oauth2.update(args.oauth2_overrides)
    settings.configure(
        DEBUG=False,
        SECRET_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS=[HOST, "localhost"],
        ROOT_URLCONF="dot_idp.urls",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "oauth2_provider",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [str(HERE / "dot_idp" / "templates")],
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]},
        }],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db_path),
                               "OPTIONS": {"timeout": 20}}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
        STATIC_URL="/static/",
        LOGIN_URL="/accounts/login/",
        # A test provider with a published test password: a fast hash keeps each sign-in quick.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        LOGGING={"version": 1, "disable_existing_loggers": False,
                 "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
                 "loggers": {"oauth2_provider": {"handlers": [] if args.quiet else ["stderr"],
                                                 "level": "WARNING", "propagate": False}}},
        # Tables straight from the models (syncdb) instead of replaying every migration: ~10x faster start,
        # and this database lives for one run only.
        MIGRATION_MODULES={app: None for app in ["contenttypes", "auth", "sessions", "oauth2_provider"]},
        OAUTH2_PROVIDER=oauth2,
        DOT_TEST={"redirect_match": args.redirect_match, "revocation": args.revocation},
    )
    return issuer


def seed(args):
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    user = get_user_model().objects.create_user(**USER)
    redirect_uris = [f"http://{HOST}:{port}/callback" for port in args.redirect_ports]
    get_application_model().objects.create(
        client_id=CLIENT_ID,
        name="Native test app",
        user=user,
        client_type="public",
        authorization_grant_type="authorization-code",
        redirect_uris=" ".join(redirect_uris),
        post_logout_redirect_uris=" ".join(args.post_logout_redirect_uris),
        algorithm="RS256",
        skip_authorization=False,
    )
    return redirect_uris


def make_server(sock, quiet):
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        # Django logs the request line, query string included; here only method, path and status.
        def log_request(self, code="-", size="-"):
            if not quiet:
                path = self.path.split("?", 1)[0]
                sys.stderr.write(f"[dot] {self.command} {path} {code}\n")

        def log_message(self, format, *args):  # noqa: A002 - the name http.server uses
            if not quiet and not format.startswith('"%s"'):
                sys.stderr.write("[dot] " + (format % args) + "\n")

    server = ThreadedWSGIServer(sock.getsockname(), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.server_address = sock.getsockname()
    server.server_name, server.server_port = HOST, sock.getsockname()[1]
    server.setup_environ()  # what server_bind() would have done
    server.daemon_threads = True
    server.set_app(WSGIHandler())
    return server


def main(argv):
    args = parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, args.port))
    except OSError as e:
        raise StartError(f"cannot listen on {HOST}:{args.port}: {e.strerror}") from e
    sock.listen(64)
    port = sock.getsockname()[1]
    endpoint = f"http://{HOST}:{port}"

    workdir = Path(tempfile.mkdtemp(prefix="dot-idp-"))
    try:
        sys.path.insert(0, str(HERE))
        issuer = configure_django(args, endpoint, workdir / "db.sqlite3")
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
        redirect_uris = seed(args)
        server = make_server(sock, args.quiet)

        stopping = threading.Event()

        def stop(_signum, _frame):
            if not stopping.is_set():
                stopping.set()
                threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        ready = {
            "ready": True,
            "issuer": issuer,
            "endpoint": endpoint,
            "port": port,
            "discovery": f"{issuer}/.well-known/openid-configuration",
            "clientId": CLIENT_ID,
            "redirectUris": redirect_uris,
            "postLogoutRedirectUris": args.post_logout_redirect_uris,
            "user": {"username": USER["username"], "password": USER["password"], "email": USER["email"]},
            "redirectMatch": args.redirect_match,
            "endSession": not args.no_end_session,
            "logoutPrompt": args.logout_prompt,
            "revocation": args.revocation,
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        server.serve_forever(poll_interval=0.2)
        server.server_close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except StartError as e:
        sys.stderr.write(f"[dot] cannot start: {e}\n")
        sys.exit(2)
