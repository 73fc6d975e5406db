-- Messaging for the stock saga (DESIGN section 6).
-- outbox: events written in the same transaction as the stock change; a relay publishes them.
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

-- inbox: ids of the events already applied, so a redelivery changes nothing.
create table processed_events (
    event_id uuid primary key,
    processed_at timestamptz not null default now()
);

-- One row per order whose stock was taken, so a cancelled order can give it back.
create table stock_reservations (
    order_id bigint primary key,
    product_id bigint not null references products (id),
    quantity bigint not null check (quantity > 0),
    created_at timestamptz not null default now()
);
