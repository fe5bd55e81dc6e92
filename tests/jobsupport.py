"""Helpers for the background-job tests: real worker and scheduler processes,
a private redis-server that can be restarted, and a tiny SMTP server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

import redis
from support.processes import ROOT, free_port, stop_process

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, message: str, interval: float = 0.05) -> T:
    """Poll until ``predicate`` returns something truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {message}")
        time.sleep(interval)


@dataclass
class JobProcess:
    kind: str
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class JobProcesses:
    """Starts ``flask --app wsgi worker|scheduler`` processes and stops them all at the end."""

    env: dict[str, str]
    log_dir: Path
    started: list[JobProcess] = field(default_factory=list)

    def start(self, kind: str, *args: str, **env: str) -> JobProcess:
        log_path = self.log_dir / f"{kind}-{len(self.started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", kind, *args],
                cwd=ROOT,
                env={**os.environ, **self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        job_process = JobProcess(kind, process, log_path)
        self.started.append(job_process)
        return job_process

    def worker(self, **env: str) -> JobProcess:
        return self.start("worker", **env)

    def scheduler(self, **env: str) -> JobProcess:
        return self.start("scheduler", **env)

    def stop_all(self) -> None:
        """SIGTERM (a worker finishes its job first), then SIGKILL whatever is left."""
        for job_process in self.started:
            horses = descendants(job_process.pid)
            stop_process(job_process.process)
            for pid in horses:  # a work horse runs in its own process group
                _kill(pid)

    def logs(self) -> str:
        return "\n".join(f"===== {p.kind} {p.pid} =====\n{p.log()[-6000:]}" for p in self.started)


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (RQ's work horses)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def sigkill_tree(job_process: JobProcess) -> None:
    """SIGKILL a worker and its work horse at once, as an OOM killer or a lost host would."""
    horses = descendants(job_process.pid)
    _kill(job_process.pid)
    for pid in horses:
        _kill(pid)
    job_process.process.wait(timeout=10)


class RedisServer:
    """A redis-server of the test's own, without persistence, that a test may restart."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def start(self) -> None:
        self.starts += 1
        log = (self.log_dir / f"redis-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        client = self.client()

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


class FakeSMTPServer:
    """Just enough SMTP for smtplib; refuses the first ``refuse_first`` connections with 421."""

    def __init__(self, refuse_first: int = 0) -> None:
        self.refuse_first = refuse_first
        self.connections = 0
        self.messages: list[Message] = []
        #: Every command line received, as sent (AUTH lines included: tests check none arrives).
        self.commands: list[bytes] = []
        self._lock = threading.Lock()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._socket.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            refuse = self.connections <= self.refuse_first
        with conn, conn.makefile("rb") as reader:
            if refuse:
                conn.sendall(b"421 fake.smtp busy, try again later\r\n")
                return
            conn.sendall(b"220 fake.smtp ready\r\n")
            while line := reader.readline():
                with self._lock:
                    self.commands.append(line.rstrip(b"\r\n"))
                verb = line[:4].upper()
                if verb == b"EHLO":
                    conn.sendall(b"250-fake.smtp\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 end with <CRLF>.<CRLF>\r\n")
                    data = []
                    while (body_line := reader.readline()) not in (b".\r\n", b""):
                        data.append(body_line[1:] if body_line.startswith(b"..") else body_line)
                    with self._lock:
                        self.messages.append(message_from_bytes(b"".join(data)))
                    conn.sendall(b"250 queued\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:  # HELO, MAIL, RCPT, RSET, NOOP
                    conn.sendall(b"250 ok\r\n")


def delete_rq_keys(client: redis.Redis, *fragments: str) -> None:
    """Remove RQ's keys (queues, registries, their jobs) that name ``fragments``.

    They live outside the test's key prefix, so the per-test clean-up misses them.
    """
    for fragment in fragments:
        keys = list(client.scan_iter(match=f"rq:*{fragment}*", count=1000))
        job_ids: set[str] = set()
        for key in keys:
            kind = client.type(key)
            members = client.lrange(key, 0, -1) if kind == b"list" else []
            members += client.zrange(key, 0, -1) if kind == b"zset" else []
            # Registry members may be "<job id>:<execution id>".
            job_ids.update(member.decode().split(":")[0] for member in members)
        for job_id in job_ids:
            keys += [f"rq:job:{job_id}", f"rq:results:{job_id}", f"rq:executions:{job_id}"]
        if keys:
            client.delete(*keys)
        for member in client.smembers("rq:queues"):
            if fragment in member.decode():
                client.srem("rq:queues", member)


def read_eml(path: Path) -> Message:
    return message_from_bytes(path.read_bytes())


def parse_json(raw: bytes | None) -> Any:
    import json

    return json.loads(raw) if raw else None
