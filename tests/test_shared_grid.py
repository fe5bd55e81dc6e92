"""The seat grid rendered once per change and shared (webapp/seatcache.py, webapp/fastpath.py).

Each test proves whose answer it got: where the shortcut must answer, Flask
behind it is replaced by a failure; where Flask must, the shortcut had
nothing current to give.
"""

from __future__ import annotations

import gzip
import threading
import time
from typing import Any

import pytest
from jobsupport import wait_for

import webapp.fastpath
from webapp import gridanswer, localgrids, seatcache


@pytest.fixture
def shortcut(app) -> webapp.fastpath.SeatMapShortcut:
    shortcut = app.wsgi_app.next  # inside webapp/requestlog.py's RequestLog, which wraps everything
    assert isinstance(shortcut, webapp.fastpath.SeatMapShortcut)
    return shortcut


def hold(client, show_id: int, seats: list[str]) -> dict[str, Any]:
    response = client.post("/api/bookings", json={"show_id": show_id, "seats": seats})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_shortcut_serves_the_grid_flask_rendered(app, client, make_show, shortcut, monkeypatch):
    show = make_show(rows=3, seats_per_row=4, prices={"standard": 900}, currency="EUR")
    url = f"/shows/{show['id']}/seatmap"
    drawn_by_flask = client.get(url)  # cold cache: Flask builds, renders and stores
    assert drawn_by_flask.status_code == 200

    flask = shortcut.next
    monkeypatch.setattr(shortcut, "next", lambda environ, start: pytest.fail("Flask answered"))
    shared = client.get(url)
    assert shared.status_code == 200
    assert shared.get_data() == drawn_by_flask.get_data()
    for header in ("ETag", "Cache-Control", "Content-Type", "Content-Security-Policy", "X-Frame-Options"):
        assert shared.headers[header] == drawn_by_flask.headers[header], header
    assert "€9.00" in shared.get_data(as_text=True)  # the show's prices made it into the shared copy

    unchanged = client.get(url, headers={"If-None-Match": shared.headers["ETag"]})
    assert unchanged.status_code == 304
    assert unchanged.headers["ETag"] == shared.headers["ETag"]
    assert client.head(url).status_code == 200
    monkeypatch.setattr(shortcut, "next", flask)


def test_a_change_is_never_answered_from_the_old_grid(client, make_show, shortcut, monkeypatch):
    show = make_show(rows=2, seats_per_row=3)
    url = f"/shows/{show['id']}/seatmap"
    before = client.get(url)
    hold(client, show["id"], ["B2"])

    flask_calls: list[str] = []
    flask = shortcut.next

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        flask_calls.append(environ["PATH_INFO"])
        return flask(environ, start_response)

    monkeypatch.setattr(shortcut, "next", counting)
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert 'data-seat="B2" data-status="HELD"' in after.get_data(as_text=True)
    assert flask_calls == [url]  # the hold outdated the shared grid, so Flask rebuilt it
    again = client.get(url)
    assert again.get_data() == after.get_data()
    assert flask_calls == [url]  # and from then on the shortcut serves the new one


def test_a_visitors_own_map_is_drawn_for_them(client, make_show):
    """``?taken=`` marks seats a refused hold lost: that map is this visitor's, never the shared one."""
    show = make_show(rows=2, seats_per_row=3)
    hold(client, show["id"], ["A1"])
    response = client.get(f"/shows/{show['id']}/seatmap?taken=A1")
    assert response.status_code == 200
    assert "seat--conflict" in response.get_data(as_text=True)
    assert "seat--conflict" not in client.get(f"/shows/{show['id']}/seatmap").get_data(as_text=True)


def test_simultaneous_polls_after_a_change_render_the_grid_once(app, make_show, monkeypatch):
    """Single flight: one request rebuilds, the others wait for its result."""
    show = make_show(rows=10, seats_per_row=12)
    url = f"/shows/{show['id']}/seatmap"
    renders: list[int] = []
    render = app.extensions[seatcache.GRID_RENDERER]
    started = threading.Event()

    def counting_render(session: Any, show_id: int, seats: list[dict[str, Any]]) -> bytes:
        renders.append(show_id)
        started.set()
        return render(session, show_id, seats)

    monkeypatch.setitem(app.extensions, seatcache.GRID_RENDERER, counting_render)
    # Waiters give up after this long; generous, so a slow machine still shows single flight.
    monkeypatch.setattr(seatcache, "_BUILD_WAIT_S", 10.0)
    pollers = 12
    barrier = threading.Barrier(pollers)
    bodies: list[bytes] = []

    def poll() -> None:
        client = app.test_client()
        barrier.wait(timeout=30)
        response = client.get(url)
        assert response.status_code == 200
        bodies.append(response.get_data())

    threads = [threading.Thread(target=poll) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert started.is_set()
    assert len(bodies) == pollers
    assert len(set(bodies)) == 1
    assert len(renders) == 1, f"the grid was rendered {len(renders)} times for one change"


def test_without_redis_the_grid_is_drawn_from_postgresql(app, client, make_show, monkeypatch):
    show = make_show(rows=2, seats_per_row=2)
    monkeypatch.setattr(seatcache, "_skip_until", float("inf"))  # as after a Redis failure
    response = client.get(f"/shows/{show['id']}/seatmap")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("data-seat=") == 4


def test_browsers_get_the_grid_gzipped_with_its_own_validator(client, make_show, shortcut, monkeypatch):
    show = make_show(rows=4, seats_per_row=10)
    url = f"/shows/{show['id']}/seatmap"
    plain = client.get(url)  # Flask, cold cache
    flask = shortcut.next
    monkeypatch.setattr(shortcut, "next", lambda environ, start: pytest.fail("Flask answered"))
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert len(packed.get_data()) * 5 < len(plain.get_data())
    # Another encoding, another representation: the strong validator differs...
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'
    # ...and either one still says "unchanged".
    for etag in (packed.headers["ETag"], plain.headers["ETag"]):
        unchanged = client.get(url, headers={"If-None-Match": etag, "Accept-Encoding": "gzip"})
        assert unchanged.status_code == 304
        assert unchanged.headers["ETag"] == packed.headers["ETag"]
    refused = client.get(url, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers
    assert refused.get_data() == plain.get_data()
    monkeypatch.setattr(shortcut, "next", flask)


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("deflate, GZIP;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0, identity", False),
        ("*", True),
        ("br, identity", False),
    ],
)
def test_accepts_gzip_reads_accept_encoding(header: str | None, accepted: bool) -> None:
    assert gridanswer.accepts_gzip(header) is accepted


# --- each process's memo (webapp/localgrids.py) ---------------------------------------


def another_process_changed(app, redis_conn, show_id: int) -> None:
    """What a hold in another web process or a job does to Redis: a new version, announced."""
    prefix = app.config["REDIS_KEY_PREFIX"]
    redis_conn.set(seatcache.snapshot_keys(show_id, prefix).version, "elsewhere")
    redis_conn.publish(localgrids.channel(prefix), str(show_id))


def test_the_memo_serves_polls_without_redis_and_hears_changes(app, client, make_show, shortcut, redis_conn):
    show = make_show(rows=2, seats_per_row=4)
    url = f"/shows/{show['id']}/seatmap"
    client.get(url)  # Flask builds and stores the grid
    wait_for(lambda: shortcut.local.listening, 10, "the listener to subscribe")
    served = client.get(url)
    assert shortcut.local.get(show["id"]) is not None
    assert shortcut.local.get(show["id"]).etag == served.headers["ETag"].strip('"')

    remembered = shortcut.local.get(show["id"])
    another_process_changed(app, redis_conn, show["id"])
    wait_for(lambda: shortcut.local.get(show["id"]) is None, 10, "the change to reach the memo")
    # The seats are the same, so the rebuilt grid is too (its tag is a hash of
    # it): still 304s, but from a new snapshot (Flask rebuilt it), read from
    # Redis by the next poll and remembered afresh.
    for _ in range(2):
        assert client.get(url, headers={"If-None-Match": served.headers["ETag"]}).status_code == 304
    assert shortcut.local.get(show["id"]) not in (None, remembered)


def test_a_lost_message_leaves_a_map_stale_for_less_than_the_memos_life(
    app, client, make_show, shortcut, monkeypatch
):
    """The memo's clock is moved by hand: no waiting, and no race with a slow machine."""
    show = make_show(rows=2, seats_per_row=4)
    url = f"/shows/{show['id']}/seatmap"
    client.get(url)
    wait_for(lambda: shortcut.local.listening, 10, "the listener to subscribe")
    now = [1000.0]
    monkeypatch.setattr(shortcut.local, "clock", lambda: now[0])
    served = client.get(url)
    remembered = shortcut.local.get(show["id"])
    assert remembered is not None
    assert remembered.expires_at - now[0] <= localgrids.TTL_S

    # Every message about the change is lost, here and from the listener.
    monkeypatch.setattr(shortcut.local, "invalidate", lambda show_id: None)
    hold(client, show["id"], ["A1"])
    assert client.get(url, headers={"If-None-Match": served.headers["ETag"]}).status_code == 304  # stale
    now[0] += localgrids.TTL_S  # the memo's life, less than the 1 s poll interval
    changed = client.get(url, headers={"If-None-Match": served.headers["ETag"]})
    assert changed.status_code == 200
    assert 'data-seat="A1" data-status="HELD"' in changed.get_data(as_text=True)


def test_a_read_that_overlapped_a_change_is_not_remembered(app, make_show, shortcut):
    local = shortcut.local
    show = make_show(rows=1, seats_per_row=2)
    local.get(show["id"])  # starts the listener in this process
    wait_for(lambda: local.listening, 10, "the listener to subscribe")
    before = local.generation(show["id"])
    local.invalidate(show["id"])  # a message arrives while the read is in flight
    entry = localgrids.GridEntry("old", "old", b"", time.monotonic() + 10)
    local.put(show["id"], before, entry)
    assert local.get(show["id"]) is None
    local.put(show["id"], local.generation(show["id"]), entry)
    assert local.get(show["id"]) is entry
