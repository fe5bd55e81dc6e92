"""Server CPU per request for ``make bench``: where the cycles of one scenario went.

Requests per second hide cost: on a saturated 2-core machine a cheaper
request shows as higher throughput only after the load generator, PostgreSQL
and gunicorn have fought over the cores. CPU per request is what a change to
the hold path actually moves, and it is steadier from run to run.

Two views of the same interval, both in milliseconds of CPU per request:

* ``server``: busy time of the whole machine from ``/proc/stat`` minus the
  load generator's own (wrk's rusage). This is the figure the targets use.
  On a machine others use too it includes their work, so it can only be
  too high, never too low.
* per process group, from ``/proc/<pid>/stat`` (utime + stime): gunicorn
  (master and workers), PostgreSQL (the backends connected to the bench
  database), Redis (the server answering the bench's URL). ``other`` is
  ``server`` minus these three: PostgreSQL's shared background processes
  (WAL writer, checkpointer, autovacuum), the kernel's softirq work, and
  anything else running on the machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy since boot (every state but idle and iowait)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) * TICK_S


def process_cpu_s(pid: int) -> float | None:
    """utime + stime of one process (all its threads), or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    after = stat.rsplit(")", 1)[1].split()
    return (int(after[11]) + int(after[12])) * TICK_S


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


@dataclass
class Group:
    """A named set of processes whose pids are found afresh at each reading."""

    name: str
    pids: Callable[[], Iterable[int]]
    start: dict[int, float] = field(default_factory=dict)

    def begin(self) -> None:
        self.start = {pid: cpu for pid in self.pids() if (cpu := process_cpu_s(pid)) is not None}

    def spent_s(self) -> float:
        """CPU since ``begin`` of the processes alive now (one that appeared since counts whole)."""
        total = 0.0
        for pid in self.pids():
            cpu = process_cpu_s(pid)
            if cpu is not None:
                total += cpu - self.start.get(pid, 0.0)
        return total


def run_measured(command: list[str], groups: list[Group], cwd: Path) -> tuple[str, dict[str, Any]]:
    """Run the load generator; return its stdout and the CPU each party spent meanwhile."""
    for group in groups:
        group.begin()
    busy_before = machine_busy_s()
    # This process is load too while it waits (and drives extra traffic from
    # threads in some scenarios): its own CPU is not the server's either.
    own_before = _own_cpu_s()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    # wait4, not wait: its rusage is the load generator's own CPU, which is not the server's.
    _, status, usage = os.wait4(process.pid, 0)
    busy = machine_busy_s() - busy_before
    own = _own_cpu_s() - own_before
    spent = {group.name: group.spent_s() for group in groups}
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command, output)
    load = usage.ru_utime + usage.ru_stime + own
    return output, {"machine_busy_s": busy, "load_generator_s": load, "groups_s": spent}


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def per_request(cpu: dict[str, Any], requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request: the server as a whole, and each group."""
    n = max(requests, 1)
    server = cpu["machine_busy_s"] - cpu["load_generator_s"]
    out = {"server": server, **cpu["groups_s"]}
    out["other"] = server - sum(cpu["groups_s"].values())
    return {name: round(seconds * 1000 / n, 3) for name, seconds in out.items()}
