"""choosing seats: the single-seat-gap rule on shows, hold extensions on bookings

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 13:15:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Both columns have constant defaults: PostgreSQL adds them without rewriting the tables.
    op.add_column('shows', sa.Column('no_single_seat_gaps', sa.Boolean(), nullable=False,
                                     server_default=sa.text('false')))
    # Set by each hold to MAX_HOLD_EXTENSIONS as it was then, counted down by
    # each extension; holds made before this revision get the default, 1.
    op.add_column('bookings', sa.Column('extensions_left', sa.SmallInteger(), nullable=False,
                                        server_default=sa.text('1')))
    op.create_check_constraint(op.f('ck_bookings_extensions_left_not_negative'), 'bookings',
                                'extensions_left >= 0')


def downgrade():
    op.drop_constraint(op.f('ck_bookings_extensions_left_not_negative'), 'bookings', type_='check')
    op.drop_column('bookings', 'extensions_left')
    op.drop_column('shows', 'no_single_seat_gaps')
