"""load_config: the one place settings are read from the environment."""

from __future__ import annotations

import pytest

from webapp.config import ConfigError, load_config, normalise_database_url

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
    config = load_config({"APP_ENV": "test"})
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
