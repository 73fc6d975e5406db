-- Every order ends (docs/decisions.md): an order still PENDING after ORDER_RESERVATION_TIMEOUT has
-- its order.created sent again under the same event id (created_event_id), and is REJECTED if it
-- is still PENDING one more timeout after that (redriven_at).
alter table orders add column created_event_id uuid;
alter table orders add column redriven_at timestamptz;
