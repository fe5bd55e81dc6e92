"""tickets: one per seat of a confirmed booking, with a random code and a check-in stamp

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30 13:10:00.000000

"""
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


def downgrade():
    op.drop_index('ix_tickets_show_id_checked_in', table_name='tickets',
                  postgresql_where=sa.text('checked_in_at IS NOT NULL'))
    op.drop_index('uq_tickets_code', table_name='tickets')
    op.drop_table('tickets')
