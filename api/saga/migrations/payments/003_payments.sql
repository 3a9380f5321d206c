-- payments: one payment per order, as the provider saw it.
-- Versions 1 and 2 are the outbox and inbox tables (keel::outbox, keel::kit).
-- A void or refund that arrives before its authorization leaves a VOIDED
-- row, so the late authorization is refused.
CREATE TABLE payments (
  order_id text PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('AUTHORIZED', 'DECLINED', 'CAPTURED', 'VOIDED', 'REFUNDED')),
  provider_id text,
  amount_cents bigint,
  currency text,
  reason text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
