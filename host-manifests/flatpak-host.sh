#!/bin/sh
# Written by `logto-companion install` for the Flatpak browser @APP_ID@.
# The browser starts this inside its sandbox; it runs the real host outside,
# where the daemon, its socket and the keychain are. This needs the browser
# to be allowed to talk to Flatpak:
#   flatpak override --user --talk-name=org.freedesktop.Flatpak @APP_ID@
exec flatpak-spawn --host --watch-bus @BINARY@ "$@"
