"""Request ids, one log line per request, and the log format (JSON or plain).

``RequestLog`` wraps the whole WSGI app (also the seat-listing fast path that
answers before Flask), so every response carries ``X-Request-ID`` and every
request gets exactly one line: method, path (never the query string, which
may carry cursors), status, duration_ms and request_id. A client's own
``X-Request-ID`` is kept if it is short and plain (else replaced), so one id
follows a request through a proxy, the app and the jobs it enqueues: the
enqueuer puts it in the job's meta (``job_meta``) and the job sets it again
(``bind_request_id``), so the job's log lines carry it too. The same walk
feeds the latency histogram of webapp/metrics.py, by Flask endpoint.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from flask import Flask, request

from .metrics import observe_request

log = logging.getLogger("marquee.request")

#: Letters, digits and ``-_.:`` only, at most 128: safe in a header, a log line and a job's meta.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: The environ key under which the request's id travels to Flask and the views.
ENVIRON_KEY = "marquee.request_id"
#: The Flask endpoint, written by the app's before_request hook for the histogram.
ENDPOINT_KEY = "marquee.endpoint"

_current: ContextVar[str | None] = ContextVar("marquee_request_id", default=None)


def accept_request_id(raw: str | None) -> str:
    """The client's id if it is acceptable, else a new random one."""
    if raw is not None and _ACCEPTABLE_ID.fullmatch(raw.strip()):
        return raw.strip()
    return secrets.token_hex(16)


def current_request_id() -> str | None:
    """The id of the request (or job) this thread is working for, if any."""
    return _current.get()


def bind_request_id(request_id: str | None) -> None:
    """Log the lines that follow (in this thread or job) under ``request_id``."""
    _current.set(request_id)


def job_meta() -> dict[str, str]:
    """What an enqueued job should carry along: the id of the request that enqueued it."""
    request_id = current_request_id()
    return {"request_id": request_id} if request_id else {}


class RequestLog:
    """WSGI middleware: the request id, the response header, the log line and the latency."""

    def __init__(self, app: Any) -> None:
        self.next = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = accept_request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENVIRON_KEY] = request_id
        token = _current.set(request_id)
        done: list[bool] = []

        def finish(status: str) -> None:
            if not done:  # once, even if start_response is called again with exc_info
                done.append(True)
                self._finish(environ, request_id, status, started)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append(("X-Request-ID", request_id))
            written = start_response(status, headers, exc_info)
            # The answer is whole by now (no view streams its body): log and time it here.
            finish(status)
            return written

        try:
            return self.next(environ, start)
        except BaseException:
            finish("500 INTERNAL SERVER ERROR")
            raise
        finally:
            _current.reset(token)

    @staticmethod
    def _finish(environ: dict[str, Any], request_id: str, status: str, started: float) -> None:
        seconds = time.perf_counter() - started
        method = environ.get("REQUEST_METHOD", "")
        endpoint = environ.get(ENDPOINT_KEY) or "unmatched"
        observe_request(endpoint, method, seconds)
        code = int(status.split(" ", 1)[0]) if status[:3].isdigit() else 500
        log.info(
            "%s %s %s %.1fms",
            method,
            environ.get("PATH_INFO", ""),
            code,
            seconds * 1000,
            extra={
                "method": method,
                "path": environ.get("PATH_INFO", ""),
                "status": code,
                "duration_ms": round(seconds * 1000, 1),
                "request_id": request_id,
            },
        )


def install(app: Flask) -> None:
    """Name the endpoint for the histogram (the route, not the raw path)."""

    @app.before_request
    def note_endpoint() -> None:
        request.environ[ENDPOINT_KEY] = request.endpoint or "unmatched"


# --- log format ------------------------------------------------------------------------

_FIELDS = ("method", "path", "status", "duration_ms")


class RequestIdFilter(logging.Filter):
    """Gives every record the request id of its thread (a request, or a job enqueued by one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and the request fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if getattr(record, "request_id", None):
            line["request_id"] = record.request_id
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} request_id={request_id}" if request_id else line


def configure_logging(log_format: str) -> None:
    """Root logging for this process, in LOG_FORMAT (json or plain); once, like basicConfig."""
    root = logging.getLogger()
    if any(getattr(handler, "marquee", False) for handler in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.marquee = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format == "json" else PlainFormatter())
    handler.addFilter(RequestIdFilter())
    if root.level == logging.WARNING:  # the default: our INFO lines (requests, jobs) must show
        root.setLevel(logging.INFO)
    root.addHandler(handler)
