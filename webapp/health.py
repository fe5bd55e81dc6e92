"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging

from flask import Blueprint, Response
from sqlalchemy import text

from .extensions import db, redis_client
from .jsonutil import dumps

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up; says nothing of its dependencies (do not restart on those)."""
    return Response(dumps({"status": "ok"}), mimetype="application/json")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready to serve: PostgreSQL answers, and Redis answers.

    Holds still work without Redis, but an instance that cannot reach it
    should be taken out of rotation while its peers can.
    """
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["postgresql"] = "ok"
    except Exception as exc:
        checks["postgresql"] = f"down: {exc.__class__.__name__}"
    finally:
        db.session.rollback()
    try:
        redis_client.client.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"down: {exc.__class__.__name__}"
    ready = all(value == "ok" for value in checks.values())
    if not ready:
        log.warning("not ready: %s", checks)
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return Response(dumps(body), status=200 if ready else 503, mimetype="application/json")
