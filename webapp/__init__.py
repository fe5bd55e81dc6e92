"""Marquee: a movie-ticket booking service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import load_config
from .dbpool import ping_idle_connections
from .events import install_session_hooks, message_owed
from .extensions import csrf, db, migrate, redis_client
from .fastpath import SeatMapShortcut
from .jsonutil import OrjsonProvider
from .locks import SeatLocker
from .requestlog import RequestLog, configure_logging
from .requestlog import install as install_request_log
from .seatcache import new_version


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with ``config`` overriding it (tests)."""
    app = Flask(__name__, static_folder="../static", template_folder="../templates")
    app.json = OrjsonProvider(app)
    app.config.from_mapping(load_config())
    if config:
        app.config.from_mapping(config)
    configure_logging(app.config["LOG_FORMAT"])

    db.init_app(app)
    with app.app_context():
        ping_idle_connections(db.engine, app.config["DB_PING_AFTER_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=app.config["MIGRATIONS_DIR"])
    csrf.init_app(app)
    redis_client.init_app(app)
    app.extensions["seat_locker"] = SeatLocker(
        app.extensions["redis"],
        prefix=app.config["REDIS_KEY_PREFIX"],
        ttl_ms=app.config["SEAT_LOCK_TTL_MS"],
        wait_ms=app.config["SEAT_LOCK_WAIT_MS"],
        taken_ms=app.config["SEAT_TAKEN_TTL_MS"],
        version=new_version(app.config["REDIS_KEY_PREFIX"]),
    )
    install_session_hooks()

    from . import models  # noqa: F401  - registers the tables with the metadata
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .cli import register_cli
    from .health import bp as health_bp
    from .jobs import announce_delivery
    from .limits import init_limits
    from .metrics import bp as metrics_bp
    from .problems import register_error_handlers
    from .security import init_security
    from .web import bp as web_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(api_bp, url_prefix="/api")
    app.register_blueprint(web_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    csrf.exempt(api_bp)  # token-authenticated JSON, no cookies involved
    csrf.exempt(health_bp)
    csrf.exempt(metrics_bp)
    install_request_log(app)
    init_limits(app)
    register_error_handlers(app)
    init_security(app)
    register_cli(app)
    message_owed.connect(announce_delivery)  # confirmations are delivered by the job queue

    app.wsgi_app = SeatMapShortcut(app)  # type: ignore[method-assign]
    # Around the fast path too: every response gets X-Request-ID and one log line.
    app.wsgi_app = RequestLog(app.wsgi_app)  # type: ignore[method-assign]
    if app.config["TRUSTED_PROXIES"]:  # outermost, so everything inside sees the client's address
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app
