-- The outbox and inbox tables exactly as the services create them (see src/outbox.rs, src/inbox.rs).
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

create table processed_events (
    event_id uuid primary key,
    processed_at timestamptz not null default now()
);
