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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the tests' support package: starting and stopping gunicorn

from support.database import libpq_dsn  # noqa: E402
from support.processes import start_gunicorn, stop_process  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DURATION = int(os.environ.get("BENCH_SECONDS", "15"))
CONNECTIONS = 32
WRK_THREADS = 2
BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/marquee_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
PREFIX = "marquee-bench:"
TARGETS = {
    "fresh_ratio": 0.2,
    "fresh_p99_ms": 60,
    "hot_p99_ms": 50,
    "seat_map_rps": 2000,
    "seat_map_304_rps": 4000,
    "expiry_seconds": 10,
    "rss_mb": 150,
}


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


def run_wrk(url: str, script: str, *args: str, seconds: int = DURATION) -> dict[str, Any]:
    command = [
        "wrk",
        "-t",
        str(WRK_THREADS),
        "-c",
        str(CONNECTIONS),
        "-d",
        f"{seconds}s",
        "--latency",
        "-s",
        f"bench/wrk/{script}",
        url,
        "--",
        *args,
    ]
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    return json.loads(line.removeprefix("WRK_JSON "))


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
    }

    log("PostgreSQL ceiling: pgbench, hand-written hold transaction")
    results["ceiling"] = pgbench_ceiling(conn)

    fresh_shows = create_shows(conn, 60, 26, 50, "fresh holds")
    hot_show = create_shows(conn, 1, 10, 10, "hot contention")[0]
    map_show = create_shows(conn, 1, 10, 12, "seat map")[0]
    confirm_show_ids = create_shows(conn, 20, 26, 50, "confirms")
    best_shows = create_shows(conn, 60, 26, 50, "best available")
    holds = insert_holds(conn, confirm_show_ids, overdue=False)
    # Production tables grow gradually and autovacuum keeps their statistics;
    # these were bulk-loaded a moment ago, so gather statistics as it would.
    conn.execute("ANALYZE")
    conn.commit()
    holds_file = RESULTS / "confirm-holds.tmp"
    holds_file.write_text("".join(f"{booking_id} {token}\n" for booking_id, token in holds))

    web, url = start_web()
    try:
        log(f"gunicorn at {url}; warming up")
        run_wrk(url, "seat_map.lua", str(map_show), seconds=2)
        log("(a) fresh holds of 2 adjacent seats")
        results["fresh_holds"] = run_wrk(
            url, "fresh_holds.lua", str(fresh_shows[0]), str(len(fresh_shows)), "26", "50", str(WRK_THREADS)
        )
        log("(b) hot contention on 100 seats")
        results["hot_contention"] = run_wrk(url, "hot_holds.lua", str(hot_show), "10", "10")
        log("(c) seat-map reads, plain and conditional")
        results["seat_map"] = run_wrk(url, "seat_map.lua", str(map_show))
        etag = requests.get(f"{url}/api/shows/{map_show}/seats", timeout=5).headers["ETag"]
        results["seat_map_304"] = run_wrk(url, "seat_map.lua", str(map_show), etag)
        log("(d) confirms")
        results["confirms"] = run_wrk(url, "confirms.lua", str(holds_file), str(WRK_THREADS))
        log("(f) best available, 2 seats")
        results["best_available"] = run_wrk(
            url, "best_available.lua", str(best_shows[0]), str(len(best_shows)), str(WRK_THREADS)
        )
        results["web_worker_rss_mb"] = worker_rss_mb(web.pid)
    finally:
        stop(web)
        holds_file.unlink(missing_ok=True)

    log("(e) the expiry job draining 50,000 lapsed holds")
    expiry_shows = create_shows(conn, 39, 26, 50, "expiry")  # 50,700 seats
    lapsed = insert_holds(conn, expiry_shows, overdue=True, limit=50_000)
    conn.execute("ANALYZE")
    conn.commit()
    results["expiry"] = time_expiry(len(lapsed))

    results["double_bookings"] = double_bookings(conn)
    results["ratio_fresh_to_ceiling"] = round(results["fresh_holds"]["rps"] / results["ceiling"]["tps"], 3)
    conn.close()
    write_results(results)


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


def verdicts(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    only_201_409 = set(r["hot_contention"]["statuses"]) <= {"201", "409"}
    no_5xx = all(
        not status.startswith("5")
        for key in ("fresh_holds", "hot_contention", "seat_map", "seat_map_304", "confirms")
        for status in r[key]["statuses"]
    )
    rss = max(r["web_worker_rss_mb"])
    return [
        (
            "fresh holds / ceiling",
            f"{r['ratio_fresh_to_ceiling']}",
            f">= {TARGETS['fresh_ratio']}",
            r["ratio_fresh_to_ceiling"] >= TARGETS["fresh_ratio"],
        ),
        (
            "fresh holds p99",
            f"{r['fresh_holds']['p99_ms']} ms",
            f"<= {TARGETS['fresh_p99_ms']} ms",
            r["fresh_holds"]["p99_ms"] <= TARGETS["fresh_p99_ms"],
        ),
        (
            "hot contention p99",
            f"{r['hot_contention']['p99_ms']} ms",
            f"<= {TARGETS['hot_p99_ms']} ms",
            r["hot_contention"]["p99_ms"] <= TARGETS["hot_p99_ms"],
        ),
        (
            "hot contention answers",
            ", ".join(sorted(r["hot_contention"]["statuses"])),
            "201 and 409 only",
            only_201_409,
        ),
        (
            "seat-map reads",
            f"{r['seat_map']['rps']:.0f}/s",
            f">= {TARGETS['seat_map_rps']}/s",
            r["seat_map"]["rps"] >= TARGETS["seat_map_rps"],
        ),
        (
            "seat-map reads, 304",
            f"{r['seat_map_304']['rps']:.0f}/s",
            f">= {TARGETS['seat_map_304_rps']}/s",
            r["seat_map_304"]["rps"] >= TARGETS["seat_map_304_rps"],
        ),
        (
            "expiry of 50,000 holds",
            f"{r['expiry']['seconds']} s",
            f"<= {TARGETS['expiry_seconds']} s",
            r["expiry"]["seconds"] <= TARGETS["expiry_seconds"]
            and r["expiry"]["expired"] == r["expiry"]["lapsed_holds"],
        ),
        ("no 5xx", "none" if no_5xx else "some", "none", no_5xx),
        ("web worker RSS", f"{rss} MB", f"<= {TARGETS['rss_mb']} MB", rss <= TARGETS["rss_mb"]),
        ("double bookings", str(r["double_bookings"]), "0", r["double_bookings"] == 0),
    ]


def write_results(r: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    checks = verdicts(r)
    r["targets_met"] = all(ok for *_, ok in checks)
    (RESULTS / "latest.json").write_text(json.dumps(r, indent=2) + "\n")
    lines = [
        f"Run {r['ran_at']} on {r['machine']}; {r['connections']} connections, "
        f"{r['duration_s']} s per scenario.",
        "",
        "| scenario | requests/s | p50 ms | p99 ms | answers |",
        "|---|---|---|---|---|",
    ]
    for key, name in (
        ("fresh_holds", "(a) fresh holds, 2 seats"),
        ("hot_contention", "(b) hot contention, 100 seats"),
        ("seat_map", "(c) seat map, 120 seats"),
        ("seat_map_304", "(c) seat map, If-None-Match"),
        ("confirms", "(d) confirms"),
        ("best_available", "(f) best available, 2 seats"),
    ):
        s = r[key]
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(s["statuses"].items()))
        if s["socket_errors"]:
            answers += f", socket errors: {s['socket_errors']}"
        lines.append(f"| {name} | {s['rps']:.0f} | {s['p50_ms']} | {s['p99_ms']} | {answers} |")
    c = r["ceiling"]
    lines += [
        f"| PostgreSQL ceiling (pgbench, hold by hand) | {c['tps']:.0f} | | avg {c['latency_avg_ms']} | "
        f"failed: {c['failed']} |",
        f"| (e) expiry job, {r['expiry']['lapsed_holds']} lapsed holds | | | | "
        f"{r['expiry']['expired']} expired in {r['expiry']['seconds']} s |",
        "",
        "| target | measured | goal | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {value} | {goal} | {'yes' if ok else '**no**'} |" for name, value, goal, ok in checks
    ]
    table = "\n".join(lines) + "\n"
    (RESULTS / "latest.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
