#!/usr/bin/env bash
# Make sure a Chromium for the Playwright tests is installed.
#
# The browser tests drive the distribution's Chromium (/usr/bin/chromium, or
# CHROMIUM_PATH), not a browser build downloaded by `playwright install`.
# If it is missing we install Debian's `chromium` package with apt-get, when
# we are root or have password-less sudo; otherwise we say what to install
# and exit 1.
set -euo pipefail

say() { printf 'ensure-chromium: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"

works() { [[ -x "$1" ]] && "$1" --version >/dev/null 2>&1; }

if works "$CHROMIUM"; then
    exit 0
fi
if [[ -n "${CHROMIUM_PATH:-}" ]]; then
    say "CHROMIUM_PATH=$CHROMIUM_PATH is not a working Chromium executable."
    exit 1
fi

# apt-get needs root: be root, or have password-less sudo.
as_root=""
if [[ $EUID -eq 0 ]]; then as_root=direct
elif have sudo && sudo -n true 2>/dev/null; then as_root=sudo
fi
apt_get() {  # env passes DEBIAN_FRONTEND through sudo's environment reset
    if [[ "$as_root" == sudo ]]; then sudo -n env DEBIAN_FRONTEND=noninteractive apt-get "$@"
    else env DEBIAN_FRONTEND=noninteractive apt-get "$@"; fi
}

if have apt-get && [[ -n "$as_root" ]]; then
    say "Chromium is missing; installing Debian's chromium package with apt-get."
    if ! { apt_get update -qq && apt_get install -y -qq chromium >/dev/null; }; then
        say "apt-get could not install chromium (see above)."
    elif works "$CHROMIUM"; then
        say "installed: $("$CHROMIUM" --version 2>/dev/null)"
        exit 0
    else
        # Ubuntu's chromium package is only a shim for the snap, which does
        # not run in containers or CI.
        say "apt-get installed chromium, but $CHROMIUM does not run (an Ubuntu snap shim?)."
    fi
fi

say "no usable Chromium at $CHROMIUM, and I cannot install it here. Install one:"
cat >&2 <<'EOF'
    Debian:        sudo apt-get install chromium
    other systems: install Chromium or Chrome and set CHROMIUM_PATH=/path/to/it
EOF
exit 1
