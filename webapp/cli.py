"""``flask --app wsgi`` commands for operators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from flask import Flask, current_app
from sqlalchemy import text

from .api.schemas import NewShow, parse_body
from .booking.errors import ValidationFailed
from .booking.shows import create_show
from .extensions import db


def register_cli(app: Flask) -> None:
    app.cli.add_command(create_show_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(jobs_status_command)


@click.command("create-show")
@click.option("--title", required=True)
@click.option("--starts-at", required=True, help="ISO 8601 with offset, e.g. 2030-05-01T19:30:00+02:00")
@click.option("--rows", type=int, default=10, show_default=True)
@click.option("--seats-per-row", type=int, default=12, show_default=True)
@click.option("--auditorium", default=None)
def create_show_command(
    title: str, starts_at: str, rows: int, seats_per_row: int, auditorium: str | None
) -> None:
    """Create a show and its seats."""
    try:
        fields = parse_body(
            NewShow,
            {
                "title": title,
                "starts_at": starts_at,
                "rows": rows,
                "seats_per_row": seats_per_row,
                "auditorium": auditorium,
            },
        ).model_dump()
    except ValidationFailed as exc:
        raise click.UsageError(exc.detail) from None
    show = create_show(db.session, **fields)
    db.session.commit()
    click.echo(
        f"Created show {show['id']}: {show['title']} at {show['starts_at'].isoformat()} "
        f"({show['stats']['total']} seats)"
    )


@click.command("seed-demo")
def seed_demo_command() -> None:
    """Create one demo show, unless there are shows already."""
    if db.session.execute(text("SELECT EXISTS (SELECT 1 FROM shows)")).scalar_one():
        click.echo("Shows exist already; no demo show added.")
        return
    starts_at = (datetime.now(UTC) + timedelta(days=1)).replace(hour=19, minute=30, second=0, microsecond=0)
    show = create_show(
        db.session,
        title="The Grand Premiere",
        starts_at=starts_at,
        rows=10,
        seats_per_row=12,
        auditorium="Screen 1",
    )
    db.session.commit()
    click.echo(f"Created demo show {show['id']}: {show['title']} ({show['stats']['total']} seats)")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Quit once the queue is empty (tests, one-off runs).")
def worker_command(burst: bool) -> None:
    """Run an RQ worker on RQ_QUEUE; survives Redis restarts."""
    from .runners import run_worker

    run_worker(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]


@click.command("scheduler")
def scheduler_command() -> None:
    """Run rq-scheduler: registers the periodic jobs and feeds them to RQ_QUEUE."""
    from .runners import run_scheduler

    run_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]


@click.command("jobs-status")
def jobs_status_command() -> None:
    """Show queued and failed jobs, the periodic jobs' last runs, and undelivered messages."""
    from .jobstatus import status_report

    report = status_report(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"Queue {report['queue']}:")
    if "jobs" in report:
        jobs = report["jobs"]
        click.echo(f"  queued {jobs['queued']}, running {jobs['started']}, failed {jobs['failed']}")
    for job in report.get("periodic", []):
        state = (
            f"next run {job['next_run']}" if job["registered"] else "NOT REGISTERED (is a scheduler running?)"
        )
        click.echo(f"  {job['name']} every {job['every_seconds']} s, {job['runs']} run(s), {state}")
        click.echo(f"    last run: {job['last_run'] or 'never'}")
    if "redis_error" in report:
        click.echo(f"  Redis unreachable: {report['redis_error']}")
    counts = report["outbox"]
    click.echo(
        f"Confirmation messages: {counts['PENDING']} pending, {counts['SENT']} sent, {counts['DEAD']} dead"
        f" (delivery: {report['delivery']})"
    )
    for message in report["dead_messages"]:
        click.echo(
            f"  DEAD #{message['id']} booking {message['booking_id']} to {message['email']}"
            f" after {message['attempts']} attempt(s): {message['last_error']}"
        )
