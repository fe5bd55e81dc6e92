#!/usr/bin/env bash
# Dependency audit: pip-audit over requirements.txt and requirements-dev.txt,
# failing on any known vulnerability. Run by .ci/run; by hand: bash scripts/audit.sh
#
# pip-audit lives in a throwaway virtualenv of its own (var/audit-venv), not in
# .venv: its dependencies (pip-api, CacheControl, cyclonedx...) would otherwise
# mix with the project's pins, and what is audited is the requirements files
# (resolved by pip-audit in a temporary environment, transitive dependencies
# included), not whatever happens to be installed.
#
# The vulnerability data comes from PyPI's JSON API, one request per pinned
# version (https://pypi.org/pypi/<name>/<version>/json). pip-audit treats a
# package it cannot look up as "skipped" and would still say "No known
# vulnerabilities found", so it runs with --strict, and the service is probed
# first to tell "no vulnerabilities" from "could not ask".
#
# Exit status: 0 audited and clean; 1 vulnerabilities found (or pip-audit
# failed); 2 the vulnerability service is unreachable, so nothing was
# audited. AUDIT_WHEN_OFFLINE=skip turns that last case into a loud warning
# and status 0, for sandboxes without that API. AUDIT_OSV_URL=<an OSV
# /v1/query endpoint> asks an OSV service (a mirror, say) instead of PyPI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PIP_AUDIT_VERSION=2.10.1
PYTHON="${PYTHON:-python3}"
VENV=var/audit-venv
PROBE_URL="https://pypi.org/pypi/pip-audit/${PIP_AUDIT_VERSION}/json"

say() { printf 'audit: %s\n' "$*" >&2; }

if ! "$VENV/bin/pip-audit" --version 2>/dev/null | grep -qx "pip-audit ${PIP_AUDIT_VERSION}"; then
    say "installing pip-audit ${PIP_AUDIT_VERSION} into $VENV"
    "$PYTHON" -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "pip-audit==${PIP_AUDIT_VERSION}"
fi

# The HTTP status of a request for a version that certainly exists on PyPI:
# anything but 200 means the API is not there for us.
probe_pypi() {
    "$VENV/bin/python" -c '
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=20) as response:
        print(response.status)
except urllib.error.HTTPError as exc:
    print(exc.code)
except OSError as exc:
    print(f"unreachable ({exc.__class__.__name__})")
' "$PROBE_URL"
}

if [[ -n "${AUDIT_OSV_URL:-}" ]]; then
    service=(--vulnerability-service osv --osv-url "$AUDIT_OSV_URL")
    source_name="the OSV service at $AUDIT_OSV_URL"
else
    status=$(probe_pypi)
    if [[ "$status" != 200 ]]; then
        say "the PyPI vulnerability API is not reachable from here: GET $PROBE_URL -> $status"
        if [[ "${AUDIT_WHEN_OFFLINE:-fail}" == skip ]]; then
            say "SKIPPED: no dependency was audited (AUDIT_WHEN_OFFLINE=skip)"
            exit 0
        fi
        say "nothing was audited; set AUDIT_WHEN_OFFLINE=skip to carry on without the audit"
        exit 2
    fi
    service=(--vulnerability-service pypi)
    source_name="PyPI's vulnerability data"
fi

say "auditing requirements.txt and requirements-dev.txt against $source_name"
exec "$VENV/bin/pip-audit" \
    --strict \
    "${service[@]}" \
    --requirement requirements.txt \
    --requirement requirements-dev.txt \
    --cache-dir var/audit-cache \
    --progress-spinner off \
    --desc on
