#!/bin/sh
# Installs logto-companion from this checkout (Linux, macOS): builds the
# release binaries, copies both — the thin `logto-companion` (what browsers
# start and users type) and `logto-companion-daemon` beside it — to
# $PREFIX/bin (default ~/.local/bin) and runs `logto-companion install` with
# the arguments given (recording the two files, so `logto-companion
# uninstall` deletes them with everything else).
#
#   installers/install.sh --endpoint https://tenant.logto.app --app-id <id> --extension-id <id>
#   PREFIX=/opt/lc installers/install.sh …        another prefix
#   installers/install.sh --binary path/to/logto-companion …   no build: copy that binary
#                                  (and the logto-companion-daemon beside it)
#   installers/install.sh --help
#
# Without arguments it only builds and copies, and prints the next step.
set -eu

usage() {
  cat <<'USAGE'
usage: installers/install.sh [--prefix DIR] [--binary FILE] [--] [logto-companion install arguments…]

Builds logto-companion (cargo build --release), copies its two binaries
(logto-companion and logto-companion-daemon) to DIR/bin
(DIR: --prefix, else $PREFIX, else ~/.local) and runs
  DIR/bin/logto-companion install <arguments…>
which registers the app and writes the browsers' native-messaging manifests.

options:
  --prefix DIR    install to DIR/bin (default: $PREFIX or ~/.local)
  --binary FILE   use this prebuilt logto-companion (and the
                  logto-companion-daemon beside it) instead of building
  -h, --help      this text; `logto-companion install --help` lists the install arguments

environment: PREFIX, CARGO (the cargo to run, default cargo), CARGO_TARGET_DIR.
USAGE
}

prefix=${PREFIX:-}
binary=
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --binary) [ $# -ge 2 ] || { echo "install.sh: --binary needs a file" >&2; exit 2; }; binary=$2; shift 2 ;;
    --binary=*) binary=${1#--binary=}; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done

if [ -z "$prefix" ]; then
  [ -n "${HOME:-}" ] || { echo "install.sh: HOME is not set; give --prefix" >&2; exit 1; }
  prefix=$HOME/.local
fi
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "$binary" ]; then
  cargo=${CARGO:-cargo}
  if ! command -v "$cargo" >/dev/null 2>&1; then
    cat >&2 <<MSG
install.sh: cargo was not found ($cargo), so logto-companion cannot be built.
  Install Rust with https://rustup.rs (then open a new shell, or run: . "\$HOME/.cargo/env"),
  or give a prebuilt binary: installers/install.sh --binary path/to/logto-companion …
MSG
    exit 1
  fi
  # rustup finds its toolchains through RUSTUP_HOME/CARGO_HOME, which
  # default to ~/.rustup and ~/.cargo: with another HOME (tests, CI, sudo),
  # take them from where this cargo lives (~/.cargo/bin/cargo).
  cargo_path=$(command -v "$cargo")
  cargo_home=$(cd "$(dirname "$cargo_path")/.." 2>/dev/null && pwd) || cargo_home=
  if [ -n "$cargo_home" ] && [ "$(basename "$cargo_home")" = .cargo ]; then
    if [ -z "${CARGO_HOME:-}" ] && [ ! -d "$HOME/.cargo" ]; then
      export CARGO_HOME="$cargo_home"
    fi
    if [ -z "${RUSTUP_HOME:-}" ] && [ ! -d "$HOME/.rustup" ] && [ -d "$(dirname "$cargo_home")/.rustup" ]; then
      export RUSTUP_HOME="$(dirname "$cargo_home")/.rustup"
    fi
  fi
  [ -f "$repo/Cargo.toml" ] || { echo "install.sh: $repo is not the logto-companion checkout" >&2; exit 1; }
  echo "==> building the release binaries (scripts/build-release)" >&2
  (cd "$repo" && CARGO="$cargo" scripts/build-release) || {
    echo "install.sh: cargo build failed (see above)" >&2
    exit 1
  }
  binary=${CARGO_TARGET_DIR:-$repo/target}/release/logto-companion
fi
[ -f "$binary" ] || { echo "install.sh: $binary does not exist" >&2; exit 1; }
daemon_binary=$(dirname "$binary")/logto-companion-daemon
[ -f "$daemon_binary" ] || {
  echo "install.sh: $daemon_binary does not exist (it must be beside $binary; cargo build --release --bins builds both)" >&2
  exit 1
}

dest_dir=$prefix/bin
dest=$dest_dir/logto-companion
mkdir -p "$dest_dir"
# Copy beside it, then rename: replaces a running binary safely. The daemon
# binary first, so the thin one never runs without it.
for pair in "$daemon_binary:$dest_dir/logto-companion-daemon" "$binary:$dest"; do
  from=${pair%%:*}; to=${pair#*:}
  cp "$from" "$to.new.$$"
  chmod 0755 "$to.new.$$"
  mv -f "$to.new.$$" "$to"
  echo "==> installed $to" >&2
done

case ":${PATH:-}:" in
  *":$dest_dir:"*) ;;
  *) echo "note: $dest_dir is not on your PATH; add it to use \`logto-companion\` by name (the browsers do not need it)." >&2 ;;
esac

if [ $# -eq 0 ]; then
  cat >&2 <<NEXT
next: register your app and the browsers' manifests:
  $dest install --endpoint https://<tenant>.logto.app --app-id <app id> --extension-id <extension id>
NEXT
  exit 0
fi
echo "==> $dest install $*" >&2
# --copied-programs: the record names the two files copied above, so
# `logto-companion uninstall` deletes them with the rest.
exec "$dest" install --copied-programs "$@"
