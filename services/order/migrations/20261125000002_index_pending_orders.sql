-- Orders still PENDING, by age: the `orders_pending_stale` gauge counts the old ones every 15 s,
-- and a partial index keeps that a lookup of the few pending rows, not a scan of all orders.
create index orders_pending_by_age on orders (created_at) where status = 'PENDING';
