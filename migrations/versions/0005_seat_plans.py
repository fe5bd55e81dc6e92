"""seat plans: auditoriums, layouts, seat kinds and columns, prices and totals

Existing shows are rectangles: each gets the layout of its rows x
seats_per_row standard seats, its seats their column (= number) and kind
standard, and no prices. No seat or booking row is deleted or re-created, so
every booking, hold and seat id survives; bookings made before prices existed
keep a NULL total.

Revision ID: 0005
Revises: 0006 (0006_client_address landed on main first; the chain stays linear)
Create Date: 2026-11-30 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0006'
branch_labels = None
depends_on = None

SEAT_KINDS = "kind IN ('standard', 'premium', 'wheelchair', 'companion')"


def upgrade():
    op.create_table('auditoriums',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('layout', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('char_length(btrim(name)) BETWEEN 1 AND 100', name=op.f('ck_auditoriums_name_length')),
    sa.CheckConstraint("jsonb_typeof(layout) = 'array'", name=op.f('ck_auditoriums_layout_is_array')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auditoriums'))
    )
    op.create_index('uq_auditoriums_name', 'auditoriums', [sa.text('lower(name)')], unique=True)

    # Shows: the plan, copied onto the show; prices per kind and their currency.
    op.add_column('shows', sa.Column('layout', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('shows', sa.Column('prices', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('shows', sa.Column('currency', sa.String(length=3), nullable=True))
    op.add_column('shows', sa.Column('auditorium_id', sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f('fk_shows_auditorium_id_auditoriums'), 'shows', 'auditoriums',
                          ['auditorium_id'], ['id'], ondelete='SET NULL')
    op.execute(
        """
        UPDATE shows
        SET layout = to_jsonb(array_fill(repeat('s', seats_per_row::int), ARRAY[rows::int]))
        """
    )
    op.alter_column('shows', 'layout', nullable=False)
    op.create_check_constraint(op.f('ck_shows_layout_is_array'), 'shows', "jsonb_typeof(layout) = 'array'")
    op.create_check_constraint(op.f('ck_shows_prices_is_object'), 'shows',
                               "prices IS NULL OR jsonb_typeof(prices) = 'object'")
    op.create_check_constraint(op.f('ck_shows_currency_code'), 'shows', "currency ~ '^[A-Z]{3}$'")
    op.create_check_constraint(op.f('ck_shows_prices_have_currency'), 'shows',
                               'prices IS NULL OR currency IS NOT NULL')

    # Seats: position in the row (gaps included), kind, and a copy of its price.
    op.add_column('seats', sa.Column('col', sa.SmallInteger(), nullable=True))
    op.add_column('seats', sa.Column('kind', sa.Text(), server_default='standard', nullable=False))
    op.add_column('seats', sa.Column('price', sa.Integer(), nullable=True))
    op.execute('UPDATE seats SET col = number')
    op.alter_column('seats', 'col', nullable=False)
    op.create_check_constraint(op.f('ck_seats_col_range'), 'seats', 'col BETWEEN 1 AND 50')
    op.create_check_constraint(op.f('ck_seats_col_not_before_number'), 'seats', 'col >= number')
    op.create_check_constraint(op.f('ck_seats_kind_valid'), 'seats', SEAT_KINDS)
    op.create_check_constraint(op.f('ck_seats_price_not_negative'), 'seats', 'price >= 0')
    op.create_unique_constraint('uq_seats_show_id_row_col', 'seats', ['show_id', 'row', 'col'])

    # Bookings: the total agreed at hold time.
    op.add_column('bookings', sa.Column('total', sa.Integer(), nullable=True))
    op.add_column('bookings', sa.Column('currency', sa.String(length=3), nullable=True))
    op.create_check_constraint(op.f('ck_bookings_total_not_negative'), 'bookings', 'total >= 0')
    op.create_check_constraint(op.f('ck_bookings_total_has_currency'), 'bookings',
                               '(total IS NULL) = (currency IS NULL)')


def downgrade():
    op.drop_constraint(op.f('ck_bookings_total_has_currency'), 'bookings', type_='check')
    op.drop_constraint(op.f('ck_bookings_total_not_negative'), 'bookings', type_='check')
    op.drop_column('bookings', 'currency')
    op.drop_column('bookings', 'total')

    op.drop_constraint('uq_seats_show_id_row_col', 'seats', type_='unique')
    op.drop_column('seats', 'price')
    op.drop_column('seats', 'kind')
    op.drop_column('seats', 'col')

    op.drop_constraint(op.f('fk_shows_auditorium_id_auditoriums'), 'shows', type_='foreignkey')
    for name in ('prices_have_currency', 'currency_code', 'prices_is_object', 'layout_is_array'):
        op.drop_constraint(op.f(f'ck_shows_{name}'), 'shows', type_='check')
    op.drop_column('shows', 'auditorium_id')
    op.drop_column('shows', 'currency')
    op.drop_column('shows', 'prices')
    op.drop_column('shows', 'layout')

    op.drop_index('uq_auditoriums_name', table_name='auditoriums')
    op.drop_table('auditoriums')
