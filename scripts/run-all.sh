#!/usr/bin/env bash
# Run the processes of the Procfile (web, worker, scheduler) in the foreground,
# each line of output prefixed with the process name, until Ctrl-C.
#
#   scripts/run-all.sh               every process of the Procfile
#   scripts/run-all.sh web worker    only these
#
# Ctrl-C or SIGTERM stops them all gracefully (a second Ctrl-C, or
# RUN_ALL_GRACE_SECONDS without an exit, kills them). If any process exits
# on its own, the others are stopped too and this script exits non-zero: a
# half-running set of processes would only hide the failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

PROCFILE="${PROCFILE:-$ROOT/Procfile}"
GRACE_SECONDS="${RUN_ALL_GRACE_SECONDS:-30}"

# The Procfile names bare commands (gunicorn, flask): take them from the venv.
[[ -d "$ROOT/.venv/bin" ]] && export PATH="$ROOT/.venv/bin:$PATH"
export PYTHONUNBUFFERED=1  # print() and logging reach the terminal at once
# gunicorn reads WEB_CONCURRENCY with int() while it starts, before our
# config file runs: an empty value would crash it, so drop empty ones.
for var in WEB_CONCURRENCY WEB_THREADS PORT; do
    [[ -n "${!var:-}" ]] || unset "$var"
done

say() { printf 'run-all: %s\n' "$*" >&2; }

# --- Read the Procfile ------------------------------------------------------------
names=()
commands=()
while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^([A-Za-z0-9_-]+):[[:space:]]*(.+)$ ]] || continue
    name="${BASH_REMATCH[1]}"
    if [[ $# -gt 0 && " $* " != *" $name "* ]]; then continue; fi
    names+=("$name")
    commands+=("${BASH_REMATCH[2]}")
done <"$PROCFILE"
if [[ ${#names[@]} -eq 0 ]]; then
    say "nothing to run (no matching process in $PROCFILE)"
    exit 1
fi

width=0
for name in "${names[@]}"; do ((${#name} > width)) && width=${#name}; done
colors=(36 33 35 32 34 31)

# --- Start ------------------------------------------------------------------------
# Job control gives every process (with its children and its prefixing sed)
# a process group of its own: Ctrl-C then reaches only this script, which
# stops each group in order, and nothing is left behind.
set -m
pids=()
for i in "${!names[@]}"; do
    prefix="$(printf "%-${width}s | " "${names[$i]}")"
    if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
        prefix=$'\e['"${colors[i % ${#colors[@]}]}m${prefix}"$'\e[0m'
    fi
    say "starting ${names[$i]}: ${commands[$i]}"
    # sed ignores INT/TERM so that it keeps printing the shutdown messages;
    # it ends when the process closes its output.
    {
        bash -c "exec ${commands[$i]}" </dev/null 2>&1 |
            (trap '' INT TERM; exec sed -u "s/^/${prefix//\//\\/}/")
    } &
    pids+=($!)
done
set +m  # the process groups stay; this only silences bash's job notices

stopping=""
status=0

stop_all() {  # $1: signal for the processes (TERM: graceful, KILL: now)
    for pid in "${pids[@]}"; do
        kill -"$1" -- "-$pid" 2>/dev/null
    done
}

any_alive() {
    for pid in "${pids[@]}"; do
        kill -0 -- "-$pid" 2>/dev/null && return 0
    done
    return 1
}

# shellcheck disable=SC2329  # invoked by the traps below
on_signal() {  # $1: signal name, $2: exit status to report
    if [[ -n "$stopping" ]]; then
        say "second $1: killing everything now"
        stop_all KILL
        return
    fi
    stopping=1
    status=$2
    say "got $1: stopping ${names[*]} (Ctrl-C again to kill)"
    stop_all TERM
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# --- Watch: poll, so that it also works on bash 3 (macOS), which lacks wait -n --
while [[ -z "$stopping" ]]; do
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            wait "${pids[$i]}"
            code=$?
            say "${names[$i]} exited with status $code; stopping the others"
            ((code != 0)) && status=$code || status=1
            stopping=1
            stop_all TERM
            break
        fi
    done
    [[ -n "$stopping" ]] && break
    sleep 1 &
    wait $! 2>/dev/null
done

# --- Wait for a clean exit, then make sure --------------------------------------
deadline=$((SECONDS + GRACE_SECONDS))
while any_alive; do
    if ((SECONDS >= deadline)); then
        say "still running after ${GRACE_SECONDS}s: killing"
        stop_all KILL
        break
    fi
    sleep 0.2 &
    wait $! 2>/dev/null
done
wait 2>/dev/null
say "all stopped"
exit "$status"
