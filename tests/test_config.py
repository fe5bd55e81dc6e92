"""load_config, the one place settings are read from the environment; above all the SECRET_KEY
a newcomer never sets."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from webapp.config import (
    DEFAULT_SECRET_KEY_FILE,
    PROJECT_ROOT,
    ConfigError,
    load_config,
    normalise_database_url,
)

PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "s3cret"}


def test_defaults_are_the_documented_ones() -> None:
    config = load_config(PRODUCTION)
    assert config["APP_ENV"] == "production"
    assert config["TESTING"] is False
    assert config["HOLD_SECONDS"] == 300
    assert config["MAX_SEATS_PER_BOOKING"] == 10
    assert config["MAX_HELD_SEATS_PER_VISITOR"] == 10
    assert config["EXPIRY_INTERVAL_SECONDS"] == 30
    assert config["IDEMPOTENCY_TTL_SECONDS"] == 24 * 3600
    assert config["REDIS_KEY_PREFIX"] == "marquee:"
    assert config["ADMIN_TOKEN"] is None
    assert config["SMTP_URL"] is None
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["TRUSTED_PROXIES"] == 0


def test_every_setting_the_app_reads_is_set_here() -> None:
    config = load_config(PRODUCTION)
    for name in ("MIGRATIONS_DIR", "REDIS_SOCKET_TIMEOUT", "SEAT_LOCK_TTL_MS", "SEAT_LOCK_WAIT_MS"):
        assert name in config


def test_test_environment_shortens_the_timers() -> None:
    config = load_config({"APP_ENV": "test", "SECRET_KEY": "s3cret"})
    assert config["TESTING"] is True
    assert config["HOLD_SECONDS"] == 10
    assert config["EXPIRY_INTERVAL_SECONDS"] == 2
    assert config["SESSION_COOKIE_SECURE"] is False


def test_values_come_from_the_environment() -> None:
    config = load_config(
        {
            **PRODUCTION,
            "HOLD_SECONDS": " 42 ",
            "ADMIN_TOKEN": "admin",
            "DELIVERY_BACKOFF_SECONDS": "1.5",
            "WEB_THREADS": "8",
            "REDIS_KEY_PREFIX": "other:",
        }
    )
    assert config["HOLD_SECONDS"] == 42
    assert config["ADMIN_TOKEN"] == "admin"
    assert config["DELIVERY_BACKOFF_SECONDS"] == 1.5
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 9  # one per thread, plus one
    assert config["REDIS_KEY_PREFIX"] == "other:"


def test_empty_values_mean_the_default() -> None:
    config = load_config({**PRODUCTION, "HOLD_SECONDS": "", "ADMIN_TOKEN": "", "SMTP_URL": ""})
    assert config["HOLD_SECONDS"] == 300
    assert config["ADMIN_TOKEN"] is None
    assert config["SMTP_URL"] is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"APP_ENV": "production"}, "SECRET_KEY is required"),
        ({"APP_ENV": "staging"}, "APP_ENV must be"),
        ({**PRODUCTION, "HOLD_SECONDS": "soon"}, "HOLD_SECONDS must be a whole number"),
        ({**PRODUCTION, "HOLD_SECONDS": "0"}, "HOLD_SECONDS must be at least 1"),
        ({**PRODUCTION, "DELIVERY_BACKOFF_SECONDS": "nan"}, "DELIVERY_BACKOFF_SECONDS must be at least"),
        ({**PRODUCTION, "DELIVERY_BACKOFF_SECONDS": "x"}, "DELIVERY_BACKOFF_SECONDS must be a number"),
        ({**PRODUCTION, "MAX_CONTENT_LENGTH": "10"}, "MAX_CONTENT_LENGTH must be at least 1024"),
    ],
)
def test_bad_settings_stop_the_start(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u@h:5433/db", "postgresql+psycopg://u@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_urls_of_hosting_platforms_use_psycopg(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected
    assert load_config({**PRODUCTION, "DATABASE_URL": url})["SQLALCHEMY_DATABASE_URI"] == expected


def test_without_a_secret_key_development_generates_one_and_keeps_it(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "secret_key"
    env = {"APP_ENV": "development", "SECRET_KEY_FILE": str(key_file)}

    first = load_config(env)["SECRET_KEY"]
    again = load_config(env)["SECRET_KEY"]  # another worker, or the next start

    assert first == again
    assert len(first) >= 64
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # readable by its owner only
    assert [p.name for p in key_file.parent.iterdir()] == ["secret_key"]  # no temporary left behind


def test_workers_starting_together_all_get_the_same_key(tmp_path: Path) -> None:
    env = {"APP_ENV": "development", "SECRET_KEY_FILE": str(tmp_path / "secret_key")}
    start = threading.Barrier(8)
    keys: list[str] = []

    def worker() -> None:
        start.wait()
        keys.append(load_config(env)["SECRET_KEY"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert len(set(keys)) == 1


def test_a_given_secret_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    config = load_config({"APP_ENV": "development", "SECRET_KEY": "given", "SECRET_KEY_FILE": str(key_file)})
    assert config["SECRET_KEY"] == "given"
    assert not key_file.exists()


def test_production_insists_on_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        load_config({"APP_ENV": "production", "SECRET_KEY_FILE": str(tmp_path / "secret_key")})
    assert not (tmp_path / "secret_key").exists()


def test_the_default_key_file_is_under_the_project_not_the_working_directory() -> None:
    assert DEFAULT_SECRET_KEY_FILE == PROJECT_ROOT / "var" / "secret_key"
    assert (PROJECT_ROOT / "wsgi.py").exists()
    # var/ is never committed.
    assert "/var/" in (PROJECT_ROOT / ".gitignore").read_text().split()


def test_an_empty_key_file_is_refused_not_used(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    key_file.write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        load_config({"APP_ENV": "development", "SECRET_KEY_FILE": str(key_file)})


def test_worker_log_level_is_quiet_by_default_and_checked() -> None:
    env = {"APP_ENV": "test", "SECRET_KEY": "k"}
    assert load_config(env)["WORKER_LOG_LEVEL"] == "WARNING"
    assert load_config({**env, "WORKER_LOG_LEVEL": "info"})["WORKER_LOG_LEVEL"] == "INFO"
    with pytest.raises(ConfigError, match="WORKER_LOG_LEVEL"):
        load_config({**env, "WORKER_LOG_LEVEL": "LOUD"})
