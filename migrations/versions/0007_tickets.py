"""tickets: one per seat of a confirmed booking, with a random code and a check-in stamp

Bookings confirmed before this revision get their tickets here (one per
seat, a fresh random code each), so every CONFIRMED booking has tickets and
its holders can be admitted at the door; their confirmation e-mails went out
without codes, but the tickets page and GET /api/bookings/<id> show them.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30 13:10:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tickets',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('booking_id', sa.UUID(), nullable=False),
    sa.Column('seat_id', sa.BigInteger(), nullable=False),
    sa.Column('show_id', sa.BigInteger(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("code ~ '^[A-Za-z0-9_-]{22,64}$'", name=op.f('ck_tickets_code_format')),
    sa.CheckConstraint('checked_in_at IS NULL OR voided_at IS NULL', name=op.f('ck_tickets_void_or_checked_in')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_tickets_booking_id_bookings'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['seat_id'], ['seats.id'], name=op.f('fk_tickets_seat_id_seats'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['show_id'], ['shows.id'], name=op.f('fk_tickets_show_id_shows'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('booking_id', 'seat_id', name='uq_tickets_booking_id_seat_id'),
    )
    op.create_index('uq_tickets_code', 'tickets', ['code'], unique=True)
    op.create_index('ix_tickets_show_id_checked_in', 'tickets', ['show_id'], unique=False,
                    postgresql_where=sa.text('checked_in_at IS NOT NULL'))
    _issue_missing_tickets()


def _issue_missing_tickets():
    """A ticket for every seat of every booking already CONFIRMED.

    The codes are made here, as webapp/booking/tickets.py makes them
    (secrets.token_urlsafe(24): 192 random bits), not with SQL's random(),
    which is no source of secrets; the migration does not import the app.
    """
    bind = op.get_bind()
    seats = bind.execute(sa.text(
        """
        SELECT bs.booking_id, bs.seat_id, bs.label, b.show_id
        FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id
        WHERE b.status = 'CONFIRMED'
        ORDER BY bs.booking_id, bs.seat_id
        """
    )).all()
    if seats:
        bind.execute(
            sa.text(
                "INSERT INTO tickets (booking_id, seat_id, show_id, label, code) "
                "VALUES (:booking_id, :seat_id, :show_id, :label, :code)"
            ),
            [{**seat._asdict(), "code": secrets.token_urlsafe(24)} for seat in seats],
        )


def downgrade():
    op.drop_index('ix_tickets_show_id_checked_in', table_name='tickets',
                  postgresql_where=sa.text('checked_in_at IS NOT NULL'))
    op.drop_index('uq_tickets_code', table_name='tickets')
    op.drop_table('tickets')
