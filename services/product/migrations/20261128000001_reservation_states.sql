-- Stock follows the order (docs/decisions.md): order.cancelled gives a held reservation back
-- exactly once (held -> released), and a cancellation that arrives before its order leaves a
-- `cancelled` row, so the order's stock is never taken afterwards. Such a row may name a product
-- that never existed, hence no foreign key.
alter table stock_reservations
    add column status text not null default 'held',
    add column released_at timestamptz,
    add constraint stock_reservations_status check (status in ('held', 'released', 'cancelled'));
alter table stock_reservations drop constraint if exists stock_reservations_product_id_fkey;
