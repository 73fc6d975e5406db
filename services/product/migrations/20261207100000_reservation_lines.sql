-- Orders have lines (issue 18): one order.created names several products, and the product
-- service reserves all of them in one transaction or none. A reservation is still one row per
-- order (its state: held, released, cancelled, fulfilled); what it holds is now one row per
-- product in stock_reservation_lines. A product named twice in an order is one line with the
-- summed quantity, hence the primary key.
--
-- Each line repeats its reservation's status, kept equal by the foreign key's `on update
-- cascade` (an update of stock_reservations.status rewrites its lines in the same statement),
-- so that "units held per product" — the inventory API's `reserved`, the alerts — is read from
-- one partial index of the lines alone, as stock_reservations_held_idx served it before.
-- No foreign key to products: a `cancelled` mark's lines come from the cancellation, which may
-- name a product that never existed.
create table stock_reservation_lines (
    order_id bigint not null,
    product_id bigint not null,
    quantity bigint not null,
    status text not null,
    primary key (order_id, product_id),
    constraint stock_reservation_lines_quantity check (quantity > 0)
);
alter table stock_reservations
    add constraint stock_reservations_order_status_key unique (order_id, status);
alter table stock_reservation_lines
    add constraint stock_reservation_lines_order_fkey foreign key (order_id, status)
        references stock_reservations (order_id, status) on update cascade;

-- Every reservation made so far held one product: it becomes its one line.
insert into stock_reservation_lines (order_id, product_id, quantity, status)
select order_id, product_id, quantity, status from stock_reservations;

-- stock_reservations.product_id and quantity are no longer read (expand/contract: a later
-- migration drops them). They stay, nullable, because during a rolling upgrade the pods of the
-- previous version still read and write them. New pods fill them for single-line reservations
-- only, so an old pod can still give such a reservation back; a multi-line one has them null,
-- which an old pod's query cannot decode: it fails (the cancellation goes to the DLQ, replayed
-- once the upgrade is done) instead of giving back one line of several.
alter table stock_reservations
    alter column product_id drop not null,
    alter column quantity drop not null;

-- Old pods write reservations (and `cancelled` marks) without lines: this trigger gives each row
-- that names a product its line, so a new pod sees what an old pod reserved. New pods write the
-- lines themselves (`on conflict do nothing` skips the one this trigger wrote). Dropped with the
-- columns.
create function stock_reservations_legacy_lines() returns trigger language plpgsql as
$$
begin
    insert into stock_reservation_lines (order_id, product_id, quantity, status)
    select order_id, product_id, quantity, status from inserted where product_id is not null
    on conflict (order_id, product_id) do nothing;
    return null;
end
$$;
create trigger stock_reservations_legacy_lines after insert on stock_reservations
    referencing new table as inserted
    for each statement execute function stock_reservations_legacy_lines();

-- Held units per product, from the lines (the old index was on stock_reservations.product_id,
-- which multi-line reservations leave empty). `include (quantity)`: the sum reads the index only.
drop index stock_reservations_held_idx;
create index stock_reservation_lines_held_idx on stock_reservation_lines (product_id)
    include (quantity) where status = 'held';
