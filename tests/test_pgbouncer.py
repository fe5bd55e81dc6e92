"""Holds through PgBouncer in transaction mode, as docs/SCALING.md recommends running it.

In transaction mode consecutive transactions of one client connection run on
whichever server connection is free, so nothing may outlive a transaction on
the server: no session SET, no session advisory lock, and no prepared
statement unless PgBouncer tracks them (1.21+, ``max_prepared_statements``).
The hold path uses a prepared statement on a generic plan (SET LOCAL, scoped
to the transaction) when DB_PREPARED_STATEMENTS is on; with it off, as an
older PgBouncer needs, it must still be correct.

The test starts a private pgbouncer (Debian's ``pgbouncer`` package; scripts
install it) in front of the test database, with fewer server connections
than gunicorn has threads so that transactions change server connections
all the time, and runs racing and repeated holds through it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from invariants import assert_seat_invariants, seat_holders
from racing import Api, fire_together
from sqlalchemy.engine import make_url
from support.processes import Server, free_port, start_gunicorn, stop_process

PGBOUNCER = shutil.which("pgbouncer") or next(
    (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(path)), None
)

pytestmark = pytest.mark.skipif(
    PGBOUNCER is None, reason="pgbouncer is not installed (Debian: apt-get install pgbouncer)"
)


def _version() -> tuple[int, ...]:
    out = subprocess.run([PGBOUNCER, "--version"], capture_output=True, text=True, check=True).stdout
    number = out.split()[1] if out.startswith("PgBouncer") else out.split()[-1]
    return tuple(int(part) for part in number.split(".")[:2])


@pytest.fixture(scope="module")
def pgbouncer(database_url: str) -> Iterator[str]:
    """A private pgbouncer in transaction mode; yields the app's DATABASE_URL through it."""
    url = make_url(database_url)
    # Not under pytest's tmp_path: as root pgbouncer runs as postgres, which may not enter it.
    directory = Path(tempfile.mkdtemp(prefix="marquee-pgbouncer-"))
    port = free_port()
    config = directory / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"{url.database} = host={url.host or '127.0.0.1'} port={url.port or 5432} "
        f"dbname={url.database} user={url.username or 'postgres'}"
        + (f" password={url.password}" if url.password else "")
        + "\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\n"
        # Two server connections for eight client threads: every transaction may land on another.
        "default_pool_size = 2\nmax_client_conn = 100\n"
        # Before 1.20 PgBouncer refuses the `options` startup parameter the app sends.
        "ignore_startup_parameters = options,extra_float_digits\n"
        f"logfile = {directory / 'pgbouncer.log'}\npidfile = {directory / 'pgbouncer.pid'}\n"
    )
    command = [PGBOUNCER, str(config)]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        shutil.chown(directory, "postgres")
        for path in directory.iterdir():
            shutil.chown(path, "postgres")
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, start_new_session=True)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = (
                    (directory / "pgbouncer.log").read_text()
                    if (directory / "pgbouncer.log").exists()
                    else ""
                )
                stop_process(process)
                raise RuntimeError(f"pgbouncer did not start: {log[-2000:]}") from None
            time.sleep(0.05)
    try:
        yield url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        stop_process(process)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def bounced(pgbouncer: str, test_env: dict[str, str]) -> Iterator[Api]:
    """gunicorn whose database connections all go through pgbouncer."""
    # A limit that is checked (transaction-scoped advisory locks) but never reached here.
    env = {**test_env, "DATABASE_URL": pgbouncer, "MAX_HELD_SEATS_PER_VISITOR": "100"}
    if _version() < (1, 21):
        env["DB_PREPARED_STATEMENTS"] = "off"  # as docs/SCALING.md says for these versions
    server: Server = start_gunicorn(env, workers=2, threads=4)
    try:
        yield Api(server.url)
    finally:
        stop_process(server.process)


def test_holds_race_and_repeat_correctly_through_pgbouncer(app: Flask, bounced: Api) -> None:
    show_id = bounced.create_show(rows=4, seats_per_row=10)

    # Races: 24 requests for the same two seats, then for overlapping pairs.
    same = fire_together([lambda: bounced.hold(show_id, ["A1", "A2"])] * 24)
    assert Counter(r.status_code for r in same) == {201: 1, 409: 23}, [r.text for r in same][:3]
    overlapping = fire_together(
        [lambda n=n: bounced.hold(show_id, [f"B{n}", f"B{n + 1}"]) for n in range(1, 10)] * 2
    )
    assert {r.status_code for r in overlapping} <= {201, 409}, [r.text for r in overlapping]
    held = [seat for r in overlapping if r.status_code == 201 for seat in r.json()["booking"]["seats"]]
    assert len(held) == len(set(held))  # no seat twice

    # Repeats: well past psycopg's prepare threshold on every client connection.
    fresh = [f"{row}{n}" for row in "CD" for n in range(1, 11)]
    answers = fire_together([lambda label=label: bounced.hold(show_id, [label]) for label in fresh])
    assert [r.status_code for r in answers] == [201] * len(fresh), [
        r.text for r in answers if r.status_code != 201
    ]
    for answer in answers:
        booking = answer.json()
        assert bounced.act("cancel", booking["booking"]["id"], booking["token"]).status_code == 200
    again = fire_together([lambda label=label: bounced.hold(show_id, [label]) for label in fresh])
    assert [r.status_code for r in again] == [201] * len(fresh), [
        r.text for r in again if r.status_code != 201
    ]

    holders = seat_holders(app, show_id)
    assert (
        holders["A1"]
        == holders["A2"]
        == next(r.json()["booking"]["id"] for r in same if r.status_code == 201)
    )
    assert all(holders[label] == r.json()["booking"]["id"] for label, r in zip(fresh, again, strict=True))
    assert_seat_invariants(app)
