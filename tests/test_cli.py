"""The operators' commands: ``flask --app wsgi create-show | seed-demo | worker | jobs-status``."""

from __future__ import annotations

from flask import Flask
from support.database import run_sql


def invoke(app: Flask, *args: str):
    """Run a command as ``flask --app wsgi`` would: inside an app context."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def test_create_show_makes_the_show_and_its_seats(app: Flask) -> None:
    result = invoke(
        app, "create-show", "--title", " Metropolis ", "--starts-at", "2099-05-01T19:30:00+02:00",
        "--rows", "2", "--seats-per-row", "3", "--auditorium", "Screen 2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Metropolis at 2099-05-01T17:30:00+00:00 (6 seats)" in result.output
    rows = run_sql(app, "SELECT title, auditorium, (SELECT count(*) FROM seats) AS seats FROM shows")
    assert [tuple(row) for row in rows] == [("Metropolis", "Screen 2", 6)]


def test_create_show_refuses_what_the_api_refuses(app: Flask) -> None:
    result = invoke(app, "create-show", "--title", "X", "--starts-at", "tomorrow", "--rows", "27")
    assert result.exit_code == 2
    assert "starts_at: must be an ISO 8601 date-time" in result.output
    assert "rows: must be between 1 and 26" in result.output
    assert run_sql(app, "SELECT count(*) FROM shows")[0][0] == 0


def test_seed_demo_adds_one_show_only_to_an_empty_database(app: Flask) -> None:
    first = invoke(app, "seed-demo")
    assert first.exit_code == 0, first.output
    assert "Created demo show" in first.output
    second = invoke(app, "seed-demo")
    assert "Shows exist already" in second.output
    assert run_sql(app, "SELECT count(*) FROM shows")[0][0] == 1


def test_worker_in_burst_mode_stops_when_the_queue_is_empty(app: Flask) -> None:
    result = invoke(app, "worker", "--burst")
    assert result.exit_code == 0, result.output


def test_jobs_status_reports_the_queue_and_the_messages(app: Flask) -> None:
    result = invoke(app, "jobs-status")
    assert result.exit_code == 0, result.output
    assert f"Queue {app.config['RQ_QUEUE']}:" in result.output
    assert "Confirmation messages: 0 pending, 0 sent, 0 dead" in result.output


def test_every_command_is_registered(app: Flask) -> None:
    result = invoke(app, "--help")
    for command in ("create-show", "seed-demo", "worker", "scheduler", "jobs-status"):
        assert command in result.output
