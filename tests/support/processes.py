"""Real processes for the tests: gunicorn on a free port, stopped with its whole process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    """A TCP port nothing listens on right now (another process could take it before us)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(self.url + path, timeout=10, **kwargs)


def start_gunicorn(
    env: dict[str, str],
    workers: int | None = 4,
    threads: int | None = 4,
    *,
    ready_path: str = "/healthz",
    # A deadline, not a wait: a healthy server answers in a second or two, but four workers
    # importing the app on a loaded 2-core machine have taken over 30 s.
    timeout: float = 90,
) -> Server:
    """gunicorn serving the app with ``env`` added to this process's environment, once it answers.

    ``workers`` / ``threads`` None leave gunicorn.conf.py's choice (from WEB_WORKERS / WEB_THREADS).
    It runs in a session of its own, so ``stop_process`` stops its workers too.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
    command += ["--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null"]
    sizing: dict[str, str] = {}
    if workers is not None:
        command += ["--workers", str(workers)]
    if threads is not None:
        command += ["--threads", str(threads)]
        sizing["WEB_THREADS"] = str(threads)  # sizes the app's connection pool to the thread count
    process = subprocess.Popen(
        [*command, "wsgi:app"], cwd=ROOT, env={**os.environ, **sizing, **env}, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            if requests.get(url + ready_path, timeout=1).status_code == 200:
                return Server(url, process)
        except (requests.ConnectionError, requests.Timeout):  # a loaded machine may be slow to answer
            pass
        time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"gunicorn did not answer {ready_path} within {timeout:.0f} s")


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM the process's group (it was started with start_new_session), SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
