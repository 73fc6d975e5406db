-- Orders and their saga state. Money in exact cents, as the product service keeps it.
create table orders (
    id bigint generated always as identity primary key,
    user_id bigint not null,
    product_id bigint not null,
    quantity bigint not null,
    unit_price_cents bigint not null,
    total_price_cents bigint not null,
    status text not null default 'PENDING',
    reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint orders_quantity_range check (quantity between 1 and 10000),
    constraint orders_unit_price_positive check (unit_price_cents > 0),
    constraint orders_total check (total_price_cents = quantity * unit_price_cents),
    constraint orders_status check (status in ('PENDING', 'CONFIRMED', 'REJECTED'))
);

create index orders_by_user on orders (user_id, id);

-- Idempotency-Key (or request_id) -> the order it created and the response it got, so a retry
-- of the same request is answered the same way and never creates a second order.
create table idempotency_keys (
    key text primary key,
    fingerprint text not null,
    order_id bigint references orders (id),
    response jsonb,
    created_at timestamptz not null default now()
);

-- outbox: order.created written in the same transaction as the order.
create table outbox (
    id bigint generated always as identity primary key,
    event_id uuid not null unique,
    event_type text not null,
    payload jsonb not null,
    created_at timestamptz not null default now()
);

create function notify_outbox() returns trigger language plpgsql as
$$ begin perform pg_notify('outbox', ''); return null; end $$;

create trigger outbox_notify after insert on outbox
    for each statement execute function notify_outbox();

-- inbox: stock.* events already applied.
create table processed_events (
    event_id uuid primary key,
    processed_at timestamptz not null default now()
);
