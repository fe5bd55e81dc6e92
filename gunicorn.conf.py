"""gunicorn settings for Marquee: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Everything a deployment may want to change comes from the environment (see
README.md, Configuration); the rest is fixed here, each with the reason for it.
"""

from __future__ import annotations

import os


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"gunicorn.conf.py: {name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"gunicorn.conf.py: {name} must be at least {minimum}, got {value}")
    return value


def _cpu_count() -> int:
    # CPUs this process may run on (honours taskset/cpusets, e.g. in containers),
    # not every CPU of the host.
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS has no sched_getaffinity
        return os.cpu_count() or 1


# --- Socket ---------------------------------------------------------------------
# All interfaces, so that it is reachable from outside a container; PORT as on
# Heroku-style platforms and in `make run`.
bind = [f"0.0.0.0:{_env_int('PORT', 8000, minimum=1)}"]

# --- Workers ----------------------------------------------------------------------
# Threads, not async: the app is plain blocking Flask + psycopg + redis-py, and
# a request spends most of its time waiting on PostgreSQL or Redis, which
# threads overlap well. Processes give the CPU parallelism threads cannot.
worker_class = "gthread"
# Two processes per CPU is the usual starting point for I/O-bound apps. It is
# capped at 8 because every process opens its own PostgreSQL pool
# (WEB_THREADS + 1 connections, plus overflow): 2 x 64 CPUs would exhaust
# PostgreSQL's default max_connections of 100. Set WEB_CONCURRENCY to override.
workers = _env_int("WEB_CONCURRENCY", min(2 * _cpu_count(), 8), minimum=1)
# Must match the app's pool size, which reads the same variable (webapp/config.py).
threads = _env_int("WEB_THREADS", 4, minimum=1)
# Load the app in each worker after the fork: PostgreSQL and Redis connection
# pools must never be shared across processes.
preload_app = False

# --- Timeouts ---------------------------------------------------------------------
# Kill a worker whose main loop has been stuck this long. With gthread this is a
# heartbeat, not a per-request limit; requests here take milliseconds (seat
# locks wait 200 ms at most), so 30 s only ever catches a wedged process.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (deploys, Ctrl-C in `make run`), let requests in flight finish for
# up to this long. Below Docker's and Heroku's kill deadlines (see
# stop_grace_period in docker-compose.yml).
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 20)
# Keep idle connections this long: browsers polling the seat map and a load
# balancer in front reuse them instead of reconnecting. Idle keep-alive
# connections wait in the worker's poller and do not hold a thread.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)

# --- Recycling ----------------------------------------------------------------------
# Restarting workers every N requests is a remedy for memory leaks we do not
# know of, so it is off by default (0). If you turn it on with
# GUNICORN_MAX_REQUESTS, add GUNICORN_MAX_REQUESTS_JITTER (e.g. a tenth of it)
# so that the workers do not all restart at the same moment.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 0)

# --- Logging -----------------------------------------------------------------------
# No access log here: the app writes one line per request itself (webapp/
# requestlog.py: JSON in production, with the request id), and a second line
# from gunicorn would double the log volume and its cost. Errors go to stderr:
# the process manager, Docker or the platform collects them (twelve-factor).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "marquee-web"

# --- Process mechanics ------------------------------------------------------------------
# The worker heartbeat is a file touched every second; on a disk-backed /tmp
# (common in containers) that can stall a worker, so use memory when we can.
_SHM = "/dev/shm"  # noqa: S108 - only gunicorn's own heartbeat files go here
if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK):
    worker_tmp_dir = _SHM
# gunicorn's control socket defaults to one path per user
# (~/.gunicorn/gunicorn.ctl), which two servers on one machine (make run next
# to the tests) would fight over. Off unless a path is given.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
# Client addresses and https detection behind a proxy are handled by the app
# (TRUSTED_PROXIES, ProxyFix), so gunicorn keeps its default of trusting
# forwarded headers from localhost only.

# --- Metrics ---------------------------------------------------------------------------
# /metrics must add up every worker's counters, whichever worker answers the
# scrape: prometheus_client's multiprocess mode keeps each worker's values in
# files under PROMETHEUS_MULTIPROC_DIR. The workers import the app after the
# fork (preload_app is off) and inherit the variable set here, before any of
# them imports prometheus_client. A directory of our own is made per server
# start (and removed on exit); a given directory is emptied first, since
# files left by an earlier run would be counted again.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
_own_metrics_dir = not _metrics_dir
if _own_metrics_dir:
    import tempfile

    _metrics_dir = tempfile.mkdtemp(prefix="marquee-metrics-")
else:
    os.makedirs(_metrics_dir, exist_ok=True)
    for _stale in os.listdir(_metrics_dir):
        if _stale.endswith(".db"):
            os.unlink(os.path.join(_metrics_dir, _stale))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def child_exit(server, worker):
    """A worker is gone: its live gauges must no longer count (counters keep their totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)


def on_exit(server):
    if _own_metrics_dir:
        import shutil

        shutil.rmtree(_metrics_dir, ignore_errors=True)
