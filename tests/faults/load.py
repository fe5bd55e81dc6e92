"""A bounded background load of holds, cancels, confirms and reads over real HTTP.

Threads hold one or two adjacent seats of a show at random, then mostly
cancel them again (so the show does not fill up), sometimes confirm, and
sometimes leave the hold to lapse; every few rounds they read the show.
Every answer is recorded with when its request started and ended, so a
test can look at what clients saw before, during and after a fault.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

#: Generous: a request must never hang for long, but a loaded 2-core machine is slow.
REQUEST_TIMEOUT_S = 20


@dataclass(frozen=True)
class Answer:
    action: str  # hold, cancel, confirm, read
    started: float  # time.monotonic() when the request was sent
    ended: float
    status: int | None  # None: no HTTP answer at all (connection refused, reset, timeout)
    content_type: str = ""
    code: str | None = None  # the problem's code, for error answers
    booking_id: str | None = None
    seats: tuple[str, ...] = ()
    error: str | None = None


def between(answers: Iterable[Answer], start: float, end: float) -> list[Answer]:
    """Answers to requests sent in [start, end)."""
    return [a for a in answers if start <= a.started < end]


def statuses(answers: Iterable[Answer]) -> Counter[int | None]:
    return Counter(a.status for a in answers)


@dataclass
class HoldLoad:
    base_url: str
    show_id: int
    rows: int
    seats_per_row: int
    threads: int = 6
    #: A hard cap: the threads stop by themselves after this long, whatever the test does.
    max_seconds: float = 90.0
    cancel_share: float = 0.75
    confirm_share: float = 0.05
    read_every: int = 3
    answers: list[Answer] = field(default_factory=list)
    #: Booking id -> token, for the cancels and confirms that follow a hold.
    _tokens: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> HoldLoad:
        deadline = time.monotonic() + self.max_seconds
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, args=(n, deadline), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> list[Answer]:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=REQUEST_TIMEOUT_S * 2 + 5)
            assert not worker.is_alive(), "a load thread did not stop"
        with self._lock:
            return sorted(self.answers, key=lambda a: a.started)

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    def _record(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)

    def _call(self, session: requests.Session, action: str, method: str, path: str, **kwargs: Any) -> Answer:
        started = time.monotonic()
        try:
            response = session.request(method, self.base_url + path, timeout=REQUEST_TIMEOUT_S, **kwargs)
        except requests.RequestException as exc:
            answer = Answer(action, started, time.monotonic(), None, error=exc.__class__.__name__)
            self._record(answer)
            return answer
        ended = time.monotonic()
        content_type = response.headers.get("Content-Type", "")
        code = booking_id = None
        seats: tuple[str, ...] = ()
        if "json" in content_type:
            body = response.json()
            if response.status_code >= 400:
                code = body.get("code")
            elif action == "hold":
                booking_id = body["booking"]["id"]
                seats = tuple(body["booking"]["seats"])
                with self._lock:
                    self._tokens[booking_id] = body["token"]
        answer = Answer(action, started, ended, response.status_code, content_type, code, booking_id, seats)
        self._record(answer)
        return answer

    def _run(self, n: int, deadline: float) -> None:
        rng = random.Random(n)  # reproducible choices per thread
        with requests.Session() as session:
            rounds = 0
            while not self._stop.is_set() and time.monotonic() < deadline:
                rounds += 1
                if self.read_every and rounds % self.read_every == 0:
                    self._call(session, "read", "GET", f"/api/shows/{self.show_id}/seats/stats")
                row = chr(65 + rng.randrange(self.rows))
                first = 1 + rng.randrange(self.seats_per_row - 1)
                labels = [f"{row}{first}", f"{row}{first + 1}"][: rng.choice((1, 2))]
                held = self._call(
                    session, "hold", "POST", "/api/bookings", json={"show_id": self.show_id, "seats": labels}
                )
                if held.status != 201 or held.booking_id is None:
                    continue
                with self._lock:
                    token = self._tokens[held.booking_id]
                auth = {"Authorization": f"Bearer {token}"}
                path = f"/api/bookings/{held.booking_id}"
                pick = rng.random()
                if pick < self.cancel_share:
                    self._call(session, "cancel", "POST", f"{path}/cancel", headers=auth)
                elif pick < self.cancel_share + self.confirm_share:
                    self._call(session, "confirm", "POST", f"{path}/confirm", headers=auth)
