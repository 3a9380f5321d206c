-- orders: the saga's state, one row per order, and its history.
-- Versions 1 and 2 are the outbox and inbox tables (keel::outbox, keel::kit).
CREATE TABLE orders (
  id text PRIMARY KEY,
  customer_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('PENDING', 'RESERVED', 'PAID', 'CONFIRMED', 'CANCELLED')),
  -- where the saga is: reserving, authorizing, capturing, committing, done
  step text NOT NULL,
  step_deadline timestamptz,
  reason text,
  items jsonb NOT NULL,
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  currency text NOT NULL,
  payment_token text NOT NULL,
  payment_id text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX orders_open ON orders (step_deadline) WHERE status IN ('PENDING', 'RESERVED', 'PAID');

CREATE TABLE order_history (
  seq bigserial PRIMARY KEY,
  order_id text NOT NULL REFERENCES orders (id),
  status text NOT NULL,
  step text NOT NULL,
  reason text,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX order_history_order ON order_history (order_id, seq);

-- Stripe-style idempotency keys: (user, key) unique, the request's
-- fingerprint, a recovery point, the stored response.
CREATE TABLE idempotency_keys (
  user_id text NOT NULL,
  key text NOT NULL,
  fingerprint text NOT NULL,
  request jsonb NOT NULL,
  recovery_point text NOT NULL DEFAULT 'started' CHECK (recovery_point IN ('started', 'finished')),
  locked_at timestamptz,
  response_code int,
  response_body text,
  order_id text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_unfinished ON idempotency_keys (locked_at) WHERE recovery_point = 'started';
