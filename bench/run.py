"""``make bench``: the hold path and friends under load, next to a PostgreSQL ceiling.

Starts gunicorn in production mode on a scratch database, drives it with wrk
(Lua scripts in bench/wrk/), measures pgbench running the hold transaction by
hand as the ceiling, times the expiry job on 50,000 lapsed holds, and checks
with SQL afterwards that nothing was double booked. Results go to
bench/results/latest.json and bench/results/latest.md.

Traffic goes to 127.0.0.1 only, and every run is bounded in time.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the tests' support package: starting and stopping gunicorn
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))  # webapp, which the support package imports

from cpu import Group, children, per_request, run_measured  # noqa: E402
from report import SCENARIO_CONNECTIONS, SCENARIOS, write_results  # noqa: E402
from support.database import libpq_dsn  # noqa: E402
from support.processes import start_gunicorn, stop_process  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DURATION = int(os.environ.get("BENCH_SECONDS", "15"))
CONNECTIONS = 32
WRK_THREADS = 2
BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/marquee_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
PREFIX = "marquee-bench:"
#: Each scenario runs this many times; the report gives the median and the spread.
REPEAT = int(os.environ.get("BENCH_REPEAT", "1"))
#: Only these scenarios (comma-separated keys of SCENARIOS), for quick iterations; default all.
ONLY = {name for name in os.environ.get("BENCH_SCENARIOS", "").split(",") if name}


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def reset_database(url: str) -> None:
    name = make_url(url).database
    admin = libpq_dsn(make_url(url).set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def app_env() -> dict[str, str]:
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "bench-secret",
        "ADMIN_TOKEN": "bench-admin",
        "DATABASE_URL": BASE_URL,
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": PREFIX,
        "RQ_QUEUE": PREFIX + "jobs",
        "MAX_HELD_SEATS_PER_VISITOR": "0",
        # The limits stay on, so their cost is measured, with ceilings one
        # client address (wrk's) never reaches.
        "RATE_LIMIT": "on",
        "RATE_LIMIT_HOLDS": "1000000 per minute",
        "RATE_LIMIT_BOOKING_WRITES": "1000000 per minute",
        "HOLD_SECONDS": "300",
    }


def flask(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=app_env(), check=True
    )


def start_web() -> tuple[subprocess.Popen, str]:
    """gunicorn as configured by gunicorn.conf.py (workers and threads from the environment)."""
    server = start_gunicorn(app_env(), workers=None, threads=None, ready_path="/readyz")
    return server.process, server.url


def stop(process: subprocess.Popen) -> None:
    stop_process(process, timeout=30)


def worker_rss_mb(master_pid: int) -> list[float]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        kb = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
        sizes.append(round(kb / 1024, 1))
    return sizes


def cpu_groups(web: subprocess.Popen, conn: psycopg.Connection) -> list[Group]:
    """gunicorn, the bench database's PostgreSQL backends and the Redis server, as process groups."""
    database = make_url(BASE_URL).database
    redis_pid = int(redis.Redis.from_url(REDIS_URL).info("server")["process_id"])

    def backends() -> list[int]:
        # Its own connection: autocommit reads, so that it never sits idle in a transaction.
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database,)
        ).fetchall()
        return [pid for (pid,) in rows]

    return [
        Group("gunicorn", lambda: [web.pid, *children(web.pid)]),
        Group("postgres", backends),
        Group("redis", lambda: [redis_pid] if Path(f"/proc/{redis_pid}").exists() else []),
    ]


def run_wrk(
    url: str,
    script: str,
    *args: str,
    seconds: int = DURATION,
    groups: list[Group] | None = None,
    connections: int = CONNECTIONS,
) -> dict[str, Any]:
    command = [
        "wrk",
        "-t",
        str(WRK_THREADS),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--latency",
        "-s",
        f"bench/wrk/{script}",
        url,
        "--",
        *args,
    ]
    output, cpu = run_measured(command, groups or [], ROOT)
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    if groups:
        result["cpu_ms_per_request"] = per_request(cpu, result["requests"])
    return result


class SeatChanges:
    """Changes a show's seats ``per_second`` times a second (a hold, then its cancel) from a thread.

    Each change outdates every open map of the show (scenario h); the thread
    keeps its pace by the clock, and its own CPU is the bench's, not the
    server's (bench/cpu.py subtracts it).
    """

    def __init__(self, url: str, show_id: int, per_second: int) -> None:
        self.url, self.show_id, self.interval = url, show_id, 1 / per_second
        self.made = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="seat-changes", daemon=True)

    def __enter__(self) -> SeatChanges:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        session = requests.Session()
        held: tuple[str, str] | None = None
        next_at = time.monotonic()
        while not self._stop.is_set():
            if held is None:
                answer = session.post(
                    f"{self.url}/api/bookings", json={"show_id": self.show_id, "seats": ["F10"]}, timeout=10
                )
                if answer.status_code == 201:
                    held = (answer.json()["booking"]["id"], answer.json()["token"])
                    self.made += 1
            else:
                booking_id, token = held
                answer = session.post(
                    f"{self.url}/api/bookings/{booking_id}/cancel",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
                held = None
                self.made += answer.status_code == 200
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))


def create_shows(conn: psycopg.Connection, count: int, rows: int, per_row: int, title: str) -> list[int]:
    """Shows made in SQL: the set-up is not what is measured."""
    ids = []
    for _ in range(count):
        show_id = conn.execute(
            "INSERT INTO shows (title, starts_at, rows, seats_per_row, layout) "
            "VALUES (%s, now() + interval '30 days', %s, %s, "
            "to_jsonb(array_fill(repeat('s', %s), ARRAY[%s]))) RETURNING id",
            (title, rows, per_row, per_row, rows),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO seats (show_id, row, number, col) SELECT %s, chr(64 + r), n, n "
            "FROM generate_series(1, %s) r, generate_series(1, %s) n ORDER BY r, n",
            (show_id, rows, per_row),
        )
        ids.append(show_id)
    conn.commit()
    return ids


def insert_holds(
    conn: psycopg.Connection, show_ids: list[int], *, overdue: bool, limit: int | None = None
) -> list[tuple[str, str]]:
    """One PENDING booking per seat of the given shows, written in SQL; returns (id, token)."""
    interval = "-1 minute" if overdue else "300 seconds"
    rows = conn.execute(
        f"""
        WITH picked AS (
            SELECT id AS seat_id, show_id, label, gen_random_uuid() AS booking_id,
                   'bench-' || id AS token
            FROM seats WHERE show_id = ANY(%s) AND status = 'AVAILABLE'
            ORDER BY id LIMIT %s
        ), b AS (
            INSERT INTO bookings (id, show_id, status, token_hash, hold_expires_at, created_at)
            SELECT booking_id, show_id, 'PENDING', sha256(convert_to(token, 'UTF8')),
                   now() + interval '{interval}', now() - interval '2 minutes'
            FROM picked
        ), s AS (
            UPDATE seats SET status = 'HELD', booking_id = p.booking_id,
                   hold_expires_at = now() + interval '{interval}'
            FROM picked p WHERE seats.id = p.seat_id
        ), bs AS (
            INSERT INTO booking_seats (booking_id, seat_id, label, booking_status)
            SELECT booking_id, seat_id, label, 'PENDING' FROM picked
        )
        SELECT booking_id::text, token FROM picked
        """,
        (show_ids, limit),
    ).fetchall()
    conn.commit()
    return rows


def pgbench_ceiling(conn: psycopg.Connection) -> dict[str, Any]:
    """The hold transaction by hand, 32 clients, on seats of its own."""
    pairs = 150_000  # more than 32 clients can use up in the run
    show_ids = create_shows(conn, (2 * pairs) // 1300 + 1, 26, 50, "pgbench ceiling")
    first_seat = conn.execute("SELECT min(id) FROM seats WHERE show_id = %s", (show_ids[0],)).fetchone()[0]
    conn.execute("DROP SEQUENCE IF EXISTS bench_pair; CREATE SEQUENCE bench_pair MINVALUE 0 START 0")
    conn.commit()
    url = make_url(BASE_URL)
    command = [
        "pgbench",
        "-n",
        "-c",
        str(CONNECTIONS),
        "-j",
        "2",
        "-T",
        str(DURATION),
        "-r",
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
        "-f",
        "bench/pgbench_hold.sql",
        "-D",
        f"show_id={show_ids[0]}",
        "-D",
        f"first_seat={first_seat}",
        url.database,
    ]
    output = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PGPASSWORD": url.password or ""},
    ).stdout
    tps = float(re.search(r"tps = ([\d.]+)", output).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", output).group(1))
    failed = int(re.search(r"number of failed transactions: (\d+)", output).group(1))
    return {"tps": round(tps, 1), "latency_avg_ms": latency, "failed": failed}


def double_bookings(conn: psycopg.Connection) -> int:
    return conn.execute(
        """
        SELECT count(*) FROM (
            SELECT bs.seat_id FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id
            WHERE b.status = 'CONFIRMED' OR (b.status = 'PENDING' AND b.hold_expires_at > now())
            GROUP BY bs.seat_id HAVING count(*) > 1
        ) x
        """
    ).fetchone()[0]


def main() -> None:
    for tool in ("wrk", "pgbench"):
        if shutil.which(tool) is None:
            raise SystemExit(
                f"{tool} is missing: apt-get install -y {'wrk' if tool == 'wrk' else 'postgresql-client'}"
            )
    log(f"scratch database {make_url(BASE_URL).database}, Redis {REDIS_URL} prefix {PREFIX}")
    reset_database(BASE_URL)
    flask("db", "upgrade")
    cache = redis.Redis.from_url(REDIS_URL)
    for key in cache.scan_iter(match=PREFIX + "*", count=1000):
        cache.delete(key)
    conn = psycopg.connect(libpq_dsn(BASE_URL))
    results: dict[str, Any] = {
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "duration_s": DURATION,
        "connections": CONNECTIONS,
        "repeat": REPEAT,
    }

    if wanted("ceiling"):
        log("PostgreSQL ceiling: pgbench, hand-written hold transaction")
        results["ceiling"] = pgbench_ceiling(conn)

    # Enough fresh pairs for every repetition: a pair asked for twice would be a 409.
    fresh_shows = create_shows(conn, 60 * REPEAT, 26, 50, "fresh holds")
    hot_show = create_shows(conn, 1, 10, 10, "hot contention")[0]
    map_show = create_shows(conn, 1, 10, 12, "seat map")[0]
    page_show = create_shows(conn, 1, 12, 20, "seat-map page")[0]
    confirm_show_ids = create_shows(conn, 20 * REPEAT, 26, 50, "confirms") if wanted("confirms") else []
    best_shows = create_shows(conn, 60, 26, 50, "best available") if wanted("best_available") else []
    holds = insert_holds(conn, confirm_show_ids, overdue=False) if confirm_show_ids else []
    # Production tables grow gradually and autovacuum keeps their statistics;
    # these were bulk-loaded a moment ago, so gather statistics as it would.
    conn.execute("ANALYZE")
    conn.commit()
    holds_file = RESULTS / "confirm-holds.tmp"
    holds_file.write_text("".join(f"{booking_id} {token}\n" for booking_id, token in holds))

    web, url = start_web()
    watcher = psycopg.connect(libpq_dsn(BASE_URL), autocommit=True)
    groups = cpu_groups(web, watcher)
    try:
        log(f"gunicorn at {url}; warming up")
        run_wrk(url, "seat_map.lua", str(map_show), seconds=2)
        used = {"fresh_holds": 0, "confirms": 0}

        def args_for(key: str) -> list[str]:
            if key == "fresh_holds":
                return [
                    str(fresh_shows[0]),
                    str(len(fresh_shows)),
                    "26",
                    "50",
                    str(WRK_THREADS),
                    str(used[key]),
                ]
            if key == "hot_contention":
                return [str(hot_show), "10", "10"]
            if key == "seat_map":
                return [str(map_show)]
            if key == "seat_map_304":
                etag = requests.get(f"{url}/api/shows/{map_show}/seats", timeout=5).headers["ETag"]
                return [str(map_show), etag]
            if key == "confirms":
                return [str(holds_file), str(WRK_THREADS), str(used[key])]
            if key == "best_available":
                return [str(best_shows[0]), str(len(best_shows)), str(WRK_THREADS)]
            if key == "page_map_304":
                etag = requests.get(f"{url}/shows/{page_show}/seatmap", timeout=5).headers["ETag"]
                return [str(page_show), etag]
            if key in ("page_map_200", "page_map_rush"):
                # Every poll brings an outdated copy: what each open map sends at one poll a
                # second while seats change several times a second.
                return [str(page_show), '"outdated"']
            raise KeyError(key)

        for key, (title, script) in SCENARIOS.items():
            if not wanted(key) or script is None:
                continue
            runs = []
            for i in range(REPEAT):
                log(f"{title} (run {i + 1} of {REPEAT})")
                connections = SCENARIO_CONNECTIONS.get(key, CONNECTIONS)
                if key == "page_map_rush":
                    with SeatChanges(url, page_show, per_second=20) as changes:
                        run = run_wrk(url, script, *args_for(key), groups=groups, connections=connections)
                    run["seat_changes"] = changes.made
                else:
                    run = run_wrk(url, script, *args_for(key), groups=groups, connections=connections)
                if key in used:
                    used[key] += run["requests"] + CONNECTIONS  # wrk may send a few it does not count
                runs.append(run)
            results[key] = summarise(runs)
        results["web_worker_rss_mb"] = worker_rss_mb(web.pid)
    finally:
        watcher.close()
        stop(web)
        holds_file.unlink(missing_ok=True)

    if wanted("expiry"):
        log("(e) the expiry job draining 50,000 lapsed holds")
        expiry_shows = create_shows(conn, 39, 26, 50, "expiry")  # 50,700 seats
        lapsed = insert_holds(conn, expiry_shows, overdue=True, limit=50_000)
        conn.execute("ANALYZE")
        conn.commit()
        results["expiry"] = time_expiry(len(lapsed))

    results["double_bookings"] = double_bookings(conn)
    if "ceiling" in results and "fresh_holds" in results:
        results["ratio_fresh_to_ceiling"] = round(
            results["fresh_holds"]["rps"] / results["ceiling"]["tps"], 3
        )
    conn.close()
    write_results(results, RESULTS)


def wanted(key: str) -> bool:
    return not ONLY or key in ONLY


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run (by server CPU per request), with every run's CPU and p99 as the spread."""
    ordered = sorted(runs, key=lambda run: run["cpu_ms_per_request"]["server"])
    median = dict(ordered[len(ordered) // 2])
    median["runs"] = [
        {"rps": run["rps"], "p99_ms": run["p99_ms"], "cpu_ms_per_request": run["cpu_ms_per_request"]}
        for run in runs
    ]
    return median


def time_expiry(count: int) -> dict[str, Any]:
    """Run expire_holds once in a real worker process and time it end to end."""
    script = (
        "import time, json; from webapp import jobs; t = time.monotonic(); out = jobs.expire_holds(); "
        "print('EXPIRY_JSON', json.dumps({'seconds': round(time.monotonic() - t, 2), **out}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=app_env(), capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("EXPIRY_JSON "))
    return {"lapsed_holds": count, **json.loads(line.removeprefix("EXPIRY_JSON "))}


if __name__ == "__main__":
    main()
