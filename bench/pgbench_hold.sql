-- The PostgreSQL ceiling: the hold transaction written by hand, as cheaply as
-- the schema allows (insert a booking, hold 2 seats, record them, commit).
-- Every transaction takes the next fresh pair of seats from a sequence.
BEGIN;
WITH k AS (
  SELECT :first_seat + 2 * nextval('bench_pair') AS seat
), b AS (
  INSERT INTO bookings (id, show_id, status, token_hash, hold_expires_at)
  VALUES (gen_random_uuid(), :show_id, 'PENDING', sha256(random()::text::bytea),
          now() + interval '300 seconds')
  RETURNING id, hold_expires_at
), s AS (
  UPDATE seats SET status = 'HELD', booking_id = (SELECT id FROM b),
                   hold_expires_at = (SELECT hold_expires_at FROM b)
  WHERE id IN (SELECT seat FROM k UNION ALL SELECT seat + 1 FROM k) AND status = 'AVAILABLE'
  RETURNING id, label
)
INSERT INTO booking_seats (booking_id, seat_id, label, booking_status)
SELECT (SELECT id FROM b), id, label, 'PENDING' FROM s;
COMMIT;
