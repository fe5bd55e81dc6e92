"""``flask --app wsgi`` commands for operators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from flask import Flask
from sqlalchemy import text

from . import bookings
from .errors import ValidationFailed
from .extensions import db
from .validation import validate_new_show


def register_cli(app: Flask) -> None:
    app.cli.add_command(create_show_command)
    app.cli.add_command(seed_demo_command)


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
        fields = validate_new_show(
            {
                "title": title,
                "starts_at": starts_at,
                "rows": rows,
                "seats_per_row": seats_per_row,
                "auditorium": auditorium,
            }
        )
    except ValidationFailed as exc:
        raise click.UsageError(exc.detail) from None
    show = bookings.create_show(db.session, **fields)
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
    show = bookings.create_show(
        db.session,
        title="The Grand Premiere",
        starts_at=starts_at,
        rows=10,
        seats_per_row=12,
        auditorium="Screen 1",
    )
    db.session.commit()
    click.echo(f"Created demo show {show['id']}: {show['title']} ({show['stats']['total']} seats)")
