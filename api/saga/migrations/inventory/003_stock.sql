-- inventory: stock per SKU and the reservations the saga holds on it.
-- Versions 1 and 2 are the outbox and inbox tables (keel::outbox, keel::kit).
CREATE TABLE stock (
  sku text PRIMARY KEY,
  on_hand bigint NOT NULL CHECK (on_hand >= 0),
  reserved bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT reserved_within_on_hand CHECK (reserved <= on_hand)
);

-- One row per order: HELD (stock reserved until expires_at), then
-- COMMITTED, RELEASED or EXPIRED; REJECTED when there was not enough stock.
-- A release that arrives before its reserve leaves a RELEASED row, so the
-- late reserve is refused.
CREATE TABLE reservations (
  order_id text PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('HELD', 'COMMITTED', 'RELEASED', 'EXPIRED', 'REJECTED')),
  items jsonb NOT NULL,
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX reservations_held ON reservations (expires_at) WHERE status = 'HELD';
