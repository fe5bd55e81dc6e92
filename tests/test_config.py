"""Settings from the environment (webapp/config.py), above all the SECRET_KEY a newcomer never sets."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from webapp.config import DEFAULT_SECRET_KEY_FILE, PROJECT_ROOT, ConfigError, load_config


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
