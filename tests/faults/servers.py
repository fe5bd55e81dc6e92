"""Servers a fault test owns outright, so it may kill, stop and restart them.

``PrivateRedis`` is a redis-server on a free port; ``PrivatePostgres`` a
whole PostgreSQL cluster (initdb) in a temporary directory, on a free port,
with its socket in that directory. Neither is ever the shared 6379 / 5432.
Plus what it takes to find gunicorn's workers and the socket behind a
PostgreSQL session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import redis
from jobsupport import wait_for
from sqlalchemy.engine import URL
from support.processes import ROOT, free_port


class PrivateRedis:
    """A redis-server without persistence that restarts on the same port."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_dir = log_dir
        self.client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with (self.log_dir / f"redis-{self.starts}.log").open("wb") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--loglevel", "warning"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

        def answers() -> bool:
            try:
                return bool(self.client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, 10, f"redis-server on port {self.port}")

    def kill(self) -> None:
        """Die like a crashed server: SIGKILL, connections cut, every key lost."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def _postgres_bindir() -> Path:
    """The newest installed server's binaries (Debian keeps them off PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) found")
    return Path(initdb).parent


class PrivatePostgres:
    """A throwaway PostgreSQL cluster: initdb, start, stop, restart, destroy.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the
    ``postgres`` user and every server command runs through ``runuser``.
    """

    DATABASE = "marquee_faults"

    def __init__(self) -> None:
        self.bindir = _postgres_bindir()
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="marquee-faults-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgresql.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(self.base, owner.pw_uid, owner.pw_gid)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the app database, over TCP on 127.0.0.1."""
        return URL.create(
            "postgresql+psycopg",
            username="postgres",
            host="127.0.0.1",
            port=self.port,
            database=self.DATABASE,
        ).render_as_string(hide_password=False)

    def dsn(self, database: str | None = None) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database or self.DATABASE}"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bindir / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            failure = f"{tool} failed ({done.returncode}): {done.stderr.strip()}"
            raise RuntimeError(f"{failure}\n{self.server_log()}")

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def create(self) -> None:
        """initdb: an empty cluster, trusting local connections like the shared one."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.base}",  # the socket stays in our directory, not /var/run/postgresql
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c full_page_writes=off",
                "-c max_connections=60",
                "-c shared_buffers=32MB",
            ]
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` rolls back open transactions and cuts every client, as a restart does."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def create_database(self, env: dict[str, str]) -> None:
        """The app database with the migrations applied, as a deployment would run them."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.DATABASE}"')
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env={**os.environ, **env, "DATABASE_URL": self.url},
            capture_output=True,
            check=True,
            timeout=120,
        )

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


# --- processes and sockets ---------------------------------------------------------


def children(pid: int) -> list[int]:
    """Direct children of ``pid``: gunicorn's workers when ``pid`` is its master."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def wait_for_workers(master: int, count: int, timeout: float = 30) -> list[int]:
    return wait_for(
        lambda: pids if len(pids := children(master)) == count else None,
        timeout,
        f"{count} gunicorn workers under master {master}",
    )


def _socket_inodes(local_port: int) -> set[str]:
    """Inodes of the TCP sockets bound locally to ``local_port`` (from /proc/net/tcp*)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                    inodes.add(fields[9])
    return inodes


def process_with_local_port(candidates: list[int], local_port: int) -> int:
    """Which of ``candidates`` owns the client socket with this local port.

    PostgreSQL's ``pg_stat_activity.client_port`` names the client side of a
    session's connection; the owning process holds that socket open.
    """
    wanted = {f"socket:[{inode}]" for inode in _socket_inodes(local_port)}
    for pid in candidates:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in wanted:
                        return pid
    raise AssertionError(f"no process among {candidates} owns a socket on local port {local_port}")


def sigkill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def wait_until_gone(pid: int, timeout: float = 10) -> None:
    def gone() -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        return state == "Z"  # a zombie has let go of everything already

    wait_for(gone, timeout, f"process {pid} to die")
