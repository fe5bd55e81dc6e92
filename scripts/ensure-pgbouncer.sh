#!/usr/bin/env bash
# Make sure PgBouncer is installed for tests/test_pgbouncer.py (holds through
# PgBouncer in transaction mode). Installs Debian's `pgbouncer` package with
# apt-get when root (or with password-less sudo). Otherwise it only says so:
# that one test is then skipped, with the reason, and nothing else depends on it.
# The package's own service is not used: the test starts a private pgbouncer.
set -euo pipefail

say() { printf 'ensure-pgbouncer: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

if have pgbouncer || [[ -x /usr/sbin/pgbouncer ]]; then
    exit 0
fi
as_root=()
if [[ $EUID -ne 0 ]]; then
    if have sudo && sudo -n true 2>/dev/null; then as_root=(sudo -n)
    else say "pgbouncer is missing and we are not root: apt-get install pgbouncer (its test is skipped)"; exit 0
    fi
fi
if ! have apt-get; then
    say "pgbouncer is missing and there is no apt-get: install PgBouncer (its test is skipped)"
    exit 0
fi
say "installing Debian's pgbouncer"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y --no-install-recommends pgbouncer >/dev/null 2>&1 \
    || { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y --no-install-recommends pgbouncer >/dev/null; } \
    || say "could not install pgbouncer (its test is skipped)"
