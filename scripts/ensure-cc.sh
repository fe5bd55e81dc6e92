#!/usr/bin/env bash
# Make sure a C compiler that builds shared libraries is installed.
#
# The clock-skew faults (tests/faults/test_clock_skew.py) build a tiny
# LD_PRELOAD library (tests/faults/skewclock.c) that moves a process's wall
# clock. If no compiler works we install Debian's gcc and libc6-dev with
# apt-get, when we are root or have password-less sudo; otherwise we say
# what to install and exit 1.
set -euo pipefail

say() { printf 'ensure-cc: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

CC="${CC:-cc}"

works() {
    local dir rc=0
    dir="$(mktemp -d)"
    printf '#include <time.h>\nint probe(void) { return (int)time(0); }\n' >"$dir/probe.c"
    "$CC" -shared -fPIC -o "$dir/probe.so" "$dir/probe.c" >/dev/null 2>&1 || rc=1
    rm -rf "$dir"
    return "$rc"
}

if have "$CC" && works; then
    exit 0
fi

as_root=""
if [[ $EUID -eq 0 ]]; then as_root=direct
elif have sudo && sudo -n true 2>/dev/null; then as_root=sudo
fi
apt_get() {  # env passes DEBIAN_FRONTEND through sudo's environment reset
    if [[ "$as_root" == sudo ]]; then sudo -n env DEBIAN_FRONTEND=noninteractive apt-get "$@"
    else env DEBIAN_FRONTEND=noninteractive apt-get "$@"; fi
}

if have apt-get && [[ -n "$as_root" ]]; then
    say "no working C compiler ($CC); installing Debian's gcc and libc6-dev with apt-get."
    if ! { apt_get update -qq && apt_get install -y -qq gcc libc6-dev >/dev/null; }; then
        say "apt-get could not install gcc (see above)."
    elif have "$CC" && works; then
        say "installed: $("$CC" --version | head -n1)"
        exit 0
    else
        say "apt-get installed gcc, but $CC still cannot build a shared library."
    fi
fi

say "no C compiler that builds shared libraries, and I cannot install one here. Install one:"
cat >&2 <<'TEXT'
    Debian/Ubuntu: sudo apt-get install gcc libc6-dev
    or set CC=/path/to/a/compiler
TEXT
exit 1
