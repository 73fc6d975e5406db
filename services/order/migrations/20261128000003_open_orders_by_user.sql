-- A buyer may have at most MAX_OPEN_ORDERS_PER_USER open orders; each new order counts them,
-- and this partial index keeps that a lookup of the buyer's few open rows.
create index orders_open_by_user on orders (user_id) where status in ('PENDING', 'CONFIRMED');
