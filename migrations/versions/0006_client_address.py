"""bookings remember the client address of the hold, for the per-address hold limit

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-30 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('bookings', sa.Column('client_address', sa.Text(), nullable=True))
    # API holds were counted per address already ("ip:<address>"): carry that over.
    op.execute("UPDATE bookings SET client_address = substr(visitor, 4) WHERE visitor LIKE 'ip:%'")
    op.create_index(
        'ix_bookings_pending_client_address', 'bookings', ['client_address'], unique=False,
        postgresql_where=sa.text("status = 'PENDING' AND client_address IS NOT NULL"),
    )


def downgrade():
    op.drop_index('ix_bookings_pending_client_address', table_name='bookings',
                  postgresql_where=sa.text("status = 'PENDING' AND client_address IS NOT NULL"))
    op.drop_column('bookings', 'client_address')
