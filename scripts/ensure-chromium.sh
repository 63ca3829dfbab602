#!/usr/bin/env bash
# Makes sure a headless-capable Chromium (or Chrome) is on PATH for the web
# UI's browser test (test/e2e/webui_test.go): one that is there is left
# alone; a missing one is installed with apt-get (Debian's `chromium`, as
# root or with password-less sudo). It says what it did, or why it cannot,
# and exits non-zero then.
set -uo pipefail

say() { echo "ensure-chromium: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

for name in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$name" >/dev/null; then
    say "$name is at $(command -v "$name")"
    exit 0
  fi
done

if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
  say "cannot install chromium (not root and no password-less sudo); install it and run again"
  exit 1
fi
say "installing chromium with apt-get"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || exit 1
if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; then
  say "apt-get install chromium failed"
  exit 1
fi
if ! command -v chromium >/dev/null; then
  say "chromium was installed but is not on PATH"
  exit 1
fi
say "chromium installed at $(command -v chromium)"
