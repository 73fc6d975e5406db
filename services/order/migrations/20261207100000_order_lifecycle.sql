-- Orders of several products and the whole lifecycle (DESIGN §4, issue 18).
--
-- Lines: one row per product of an order, with its name and unit price at order time, so later
-- catalogue changes never alter an order. Orders of before (one product each) become one line.
create table order_items (
    order_id bigint not null references orders (id),
    product_id bigint not null,
    -- The product's name when ordered; unknown for orders taken before lines existed.
    product_name text,
    quantity bigint not null,
    unit_price_cents bigint not null,
    -- The line's place in the order as the buyer listed it.
    position integer not null,
    primary key (order_id, product_id),
    constraint order_items_quantity_range check (quantity between 1 and 10000),
    constraint order_items_unit_price_positive check (unit_price_cents > 0)
);

insert into order_items (order_id, product_id, quantity, unit_price_cents, position)
select id, product_id, quantity, unit_price_cents, 0 from orders;

-- The single-product columns are no longer written: the lines are. They stay (nullable) for one
-- release, so pods of the previous version reading during a rolling upgrade find them for old
-- orders; a later migration drops them.
alter table orders
    alter column product_id drop not null,
    alter column quantity drop not null,
    alter column unit_price_cents drop not null,
    drop constraint orders_total,
    drop constraint orders_quantity_range,
    drop constraint orders_unit_price_positive,
    add constraint orders_total_positive check (total_price_cents > 0);

-- The lifecycle: PAID, SHIPPED, DELIVERED and CANCELLED beside the saga's states, and what each
-- step records. `reason` now also says why an order was cancelled.
alter table orders drop constraint orders_status;
alter table orders
    add constraint orders_status check (status in (
        'PENDING', 'CONFIRMED', 'REJECTED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED')),
    -- The buyer's address as it was when ordering (later edits of the address do not change it).
    add column address_id bigint,
    add column shipping_address jsonb,
    add column confirmed_at timestamptz,
    add column paid_at timestamptz,
    add column payment_id bigint,
    add column tracking_number text,
    add column shipped_at timestamptz,
    add column delivered_at timestamptz,
    add column cancelled_at timestamptz,
    -- Whether the cancellation asked for the payment to be refunded.
    add column refund boolean;

update orders set confirmed_at = updated_at where status = 'CONFIRMED';

-- Unpaid orders by age, for the payment-timeout sweeper (a few rows, not a scan of all orders).
create index orders_unpaid_by_age on orders (confirmed_at) where status = 'CONFIRMED';

-- Every status change of every order: GET /api/orders/{id}/timeline.
create table order_transitions (
    id bigint generated always as identity primary key,
    order_id bigint not null references orders (id),
    -- None for the order's creation.
    from_status text,
    to_status text not null,
    -- customer, admin, product-service, payment-service or system (a timeout).
    actor text not null,
    -- The customer or admin who asked, if a person did.
    actor_user_id bigint,
    reason text,
    at timestamptz not null default now()
);

create index order_transitions_by_order on order_transitions (order_id, id);

-- The history of orders of before, as far as it is known: created, then settled.
insert into order_transitions (order_id, from_status, to_status, actor, actor_user_id, at)
select id, null, 'PENDING', 'customer', user_id, created_at from orders;
insert into order_transitions (order_id, from_status, to_status, actor, reason, at)
select id, 'PENDING', status,
       case when reason like 'the product service did not answer%' then 'system'
            else 'product-service' end,
       reason, updated_at
from orders where status <> 'PENDING';
