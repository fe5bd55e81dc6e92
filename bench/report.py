"""The scenarios of ``make bench``, their targets, and the tables written to bench/results/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: key -> (title, wrk script); run.py gives each its arguments. A script of
#: None would be a scenario still to come (its row says "not measured").
SCENARIOS: dict[str, tuple[str, str | None]] = {
    "fresh_holds": ("(a) fresh holds, 2 seats", "fresh_holds.lua"),
    "hot_contention": ("(b) hot contention, 100 seats", "hot_holds.lua"),
    "seat_map": ("(c) seat map, 120 seats", "seat_map.lua"),
    "seat_map_304": ("(c) seat map, If-None-Match", "seat_map.lua"),
    "confirms": ("(d) confirms", "confirms.lua"),
    "best_available": ("(f) best available, 2 seats", "best_available.lua"),
    "page_map_304": ("(g) seat-map page poll, unchanged (304), 12 x 20", "page_map.lua"),
    "page_map_200": ("(g) seat-map page poll, changed (200), 12 x 20", "page_map.lua"),
    "page_map_rush": ("(h) page polls while 20 holds and cancels a second change the map", "page_map.lua"),
}

#: Connections per scenario where not CONNECTIONS: the page polls stand for many open maps.
SCENARIO_CONNECTIONS = {"page_map_304": 64, "page_map_200": 64, "page_map_rush": 64}

#: Server CPU per request (ms), judged on the machine-wide figure (/proc/stat minus wrk).
CPU_TARGETS_MS = {
    "fresh_holds": 1.6,
    "hot_contention": 1.0,
    "seat_map": 0.6,
    "seat_map_304": 0.25,
    "page_map_304": 0.25,
    "page_map_200": 0.4,
}
TARGETS = {
    "fresh_ratio": 0.2,
    "fresh_p99_ms": 60,
    "hot_p99_ms": 50,
    "seat_map_rps": 2000,
    "seat_map_304_rps": 4000,
    "expiry_seconds": 10,
    "rss_mb": 150,
    # Best available may cost at most this many times a hold by label (server CPU per request).
    "best_available_vs_hold": 1.5,
    # The seat-map page's polls at 64 connections.
    "page_map_p99_ms": 50,
    # Open maps one core serves at one poll a second (1000 ms / server CPU per poll), changing or not.
    "maps_per_core": 4000,
}

Check = tuple[str, str, str, bool | None]


def _cpu(r: dict[str, Any], key: str) -> float:
    return r[key]["cpu_ms_per_request"]["server"]


def maps_per_core(r: dict[str, Any], key: str) -> int:
    """One core's second divided by the server CPU of one poll (holds and cancels included in the rush)."""
    return int(1000 / max(_cpu(r, key), 0.001))


def _spread(r: dict[str, Any], key: str) -> str:
    values = sorted(run["cpu_ms_per_request"]["server"] for run in r[key].get("runs", []))
    return f" ({values[0]}-{values[-1]} over {len(values)} runs)" if len(values) > 1 else ""


def verdicts(r: dict[str, Any]) -> list[Check]:
    """(target, measured, goal, met); met is None when the scenario did not run."""
    checks: list[Check] = []

    def add(name: str, needs: tuple[str, ...], measure: Callable[[], tuple[str, bool]], goal: str) -> None:
        if all(key in r for key in needs):
            value, ok = measure()
            checks.append((name, value, goal, ok))
        else:
            checks.append((name, "not measured", goal, None))

    for key, limit in CPU_TARGETS_MS.items():
        add(
            f"server CPU per request, {SCENARIOS[key][0]}",
            (key,),
            lambda key=key, limit=limit: (f"{_cpu(r, key)} ms{_spread(r, key)}", _cpu(r, key) <= limit),
            f"<= {limit} ms",
        )
    ratio = TARGETS["best_available_vs_hold"]
    add(
        "best available vs hold by label (CPU)",
        ("best_available", "fresh_holds"),
        lambda: (
            f"{_cpu(r, 'best_available') / _cpu(r, 'fresh_holds'):.2f}x",
            _cpu(r, "best_available") <= ratio * _cpu(r, "fresh_holds"),
        ),
        f"<= {ratio}x",
    )
    add(
        "fresh holds p99",
        ("fresh_holds",),
        lambda: (f"{r['fresh_holds']['p99_ms']} ms", r["fresh_holds"]["p99_ms"] <= TARGETS["fresh_p99_ms"]),
        f"<= {TARGETS['fresh_p99_ms']} ms",
    )
    add(
        "hot contention p99",
        ("hot_contention",),
        lambda: (
            f"{r['hot_contention']['p99_ms']} ms",
            r["hot_contention"]["p99_ms"] <= TARGETS["hot_p99_ms"],
        ),
        f"<= {TARGETS['hot_p99_ms']} ms",
    )
    add(
        "hot contention answers",
        ("hot_contention",),
        lambda: (
            ", ".join(sorted(r["hot_contention"]["statuses"])),
            set(r["hot_contention"]["statuses"]) <= {"201", "409"},
        ),
        "201 and 409 only",
    )
    add(
        "fresh holds / ceiling",
        ("ratio_fresh_to_ceiling",),
        lambda: (str(r["ratio_fresh_to_ceiling"]), r["ratio_fresh_to_ceiling"] >= TARGETS["fresh_ratio"]),
        f">= {TARGETS['fresh_ratio']}",
    )
    add(
        "seat-map reads",
        ("seat_map",),
        lambda: (f"{r['seat_map']['rps']:.0f}/s", r["seat_map"]["rps"] >= TARGETS["seat_map_rps"]),
        f">= {TARGETS['seat_map_rps']}/s",
    )
    add(
        "seat-map reads, 304",
        ("seat_map_304",),
        lambda: (
            f"{r['seat_map_304']['rps']:.0f}/s",
            r["seat_map_304"]["rps"] >= TARGETS["seat_map_304_rps"],
        ),
        f">= {TARGETS['seat_map_304_rps']}/s",
    )
    add(
        "expiry of 50,000 holds",
        ("expiry",),
        lambda: (
            f"{r['expiry']['seconds']} s",
            r["expiry"]["seconds"] <= TARGETS["expiry_seconds"]
            and r["expiry"]["expired"] == r["expiry"]["lapsed_holds"],
        ),
        f"<= {TARGETS['expiry_seconds']} s",
    )
    for key in ("page_map_304", "page_map_200", "page_map_rush"):
        add(
            f"p99, {SCENARIOS[key][0]}",
            (key,),
            lambda key=key: (f"{r[key]['p99_ms']} ms", r[key]["p99_ms"] <= TARGETS["page_map_p99_ms"]),
            f"<= {TARGETS['page_map_p99_ms']} ms",
        )
    changing = (("page_map_304", "nothing changes"), ("page_map_rush", "seats change 20 times a second"))
    for key, when in changing:
        add(
            f"open maps one core serves at 1 poll/s, {when}",
            (key,),
            lambda key=key: (f"{maps_per_core(r, key):,}", maps_per_core(r, key) >= TARGETS["maps_per_core"]),
            f">= {TARGETS['maps_per_core']:,}",
        )
    ran = [key for key in SCENARIOS if key in r]
    no_5xx = all(not status.startswith("5") for key in ran for status in r[key]["statuses"])
    checks.append(("no 5xx", "none" if no_5xx else "some", "none", no_5xx))
    add(
        "web worker RSS",
        ("web_worker_rss_mb",),
        lambda: (f"{max(r['web_worker_rss_mb'])} MB", max(r["web_worker_rss_mb"]) <= TARGETS["rss_mb"]),
        f"<= {TARGETS['rss_mb']} MB",
    )
    checks.append(("double bookings", str(r["double_bookings"]), "0", r["double_bookings"] == 0))
    return checks


def write_results(r: dict[str, Any], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    checks = verdicts(r)
    r["targets_met"] = all(ok for *_, ok in checks)
    (directory / "latest.json").write_text(json.dumps(r, indent=2) + "\n")
    lines = [
        f"Run {r['ran_at']} on {r['machine']}; {r['connections']} connections, "
        f"{r['duration_s']} s per scenario, {r['repeat']} run(s) each (the median by server CPU shown).",
        "",
        "Server CPU per request: /proc/stat busy time minus wrk's own, then per process group",
        "(`other` is the rest: PostgreSQL's shared background processes, kernel, anything else running).",
        "",
        "| scenario | requests/s | p50 ms | p99 ms | server CPU ms/req | gunicorn | postgres | redis | other "
        "| answers |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, (name, _) in SCENARIOS.items():
        if key not in r:
            lines.append(f"| {name} | not measured | | | | | | | | |")
            continue
        s = r[key]
        cpu = s["cpu_ms_per_request"]
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(s["statuses"].items()))
        if s["socket_errors"]:
            answers += f", socket errors: {s['socket_errors']}"
        lines.append(
            f"| {name} | {s['rps']:.0f} | {s['p50_ms']} | {s['p99_ms']} | {cpu['server']} "
            f"| {cpu['gunicorn']} | {cpu['postgres']} | {cpu['redis']} | {cpu['other']} | {answers} |"
        )
    if "ceiling" in r:
        c = r["ceiling"]
        lines.append(
            f"| PostgreSQL ceiling (pgbench, hold by hand) | {c['tps']:.0f} | | avg {c['latency_avg_ms']} "
            f"| | | | | | failed: {c['failed']} |"
        )
    if "expiry" in r:
        e = r["expiry"]
        lines.append(
            f"| (e) expiry job, {e['lapsed_holds']} lapsed holds | | | | | | | | "
            f"| {e['expired']} expired in {e['seconds']} s |"
        )
    lines += ["", "| target | measured | goal | met |", "|---|---|---|---|"]
    lines += [
        f"| {name} | {value} | {goal} | {'not run' if ok is None else 'yes' if ok else '**no**'} |"
        for name, value, goal, ok in checks
    ]
    table = "\n".join(lines) + "\n"
    (directory / "latest.md").write_text(table)
    print(table)
