#!/bin/sh
# Run by `npm test` (pretest): the tests start a real Redis (scale-out), a real PostgreSQL cluster
# (shared trace store) and drive a real headless Chromium (dashboard), from Debian's packages
# `redis-server`, `postgresql` and `chromium`. Installs them when
# missing and this user can (root, or sudo without a password); otherwise says what to install.
set -e
missing=""
[ -x /usr/bin/redis-server ] || missing="$missing redis-server"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
if [ "$SUDO" = none ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "tandem tests need Debian packages:$missing — install them (apt-get install -y$missing), then run npm test again." >&2
  exit 1
fi
echo "tandem: installing test dependencies from Debian:$missing" >&2
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
