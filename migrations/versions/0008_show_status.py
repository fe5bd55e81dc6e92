"""shows can be cancelled (status, cancelled_at); the outbox owes "show cancelled" messages

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 13:15:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('shows', sa.Column('status', sa.Text(), server_default='SCHEDULED', nullable=False))
    op.add_column('shows', sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f('ck_shows_status_valid'), 'shows', "status IN ('SCHEDULED', 'CANCELLED')")
    op.create_check_constraint(
        op.f('ck_shows_cancelled_at_set'), 'shows', "(status = 'CANCELLED') = (cancelled_at IS NOT NULL)"
    )
    op.drop_constraint(op.f('ck_outbox_kind_valid'), 'outbox', type_='check')
    op.create_check_constraint(
        op.f('ck_outbox_kind_valid'), 'outbox', "kind IN ('booking_confirmed', 'show_cancelled')"
    )


def downgrade():
    op.execute("DELETE FROM outbox WHERE kind = 'show_cancelled'")
    op.drop_constraint(op.f('ck_outbox_kind_valid'), 'outbox', type_='check')
    op.create_check_constraint(op.f('ck_outbox_kind_valid'), 'outbox', "kind IN ('booking_confirmed')")
    op.drop_constraint(op.f('ck_shows_cancelled_at_set'), 'shows', type_='check')
    op.drop_constraint(op.f('ck_shows_status_valid'), 'shows', type_='check')
    op.drop_column('shows', 'cancelled_at')
    op.drop_column('shows', 'status')
