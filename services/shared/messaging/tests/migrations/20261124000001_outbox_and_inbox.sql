-- The outbox and inbox tables exactly as the services create them (see src/outbox.rs, src/inbox.rs).
create table outbox (
    id bigint generated always as identity primary key,
    event_id uuid not null unique,
    event_type text not null,
    payload jsonb not null,
    created_at timestamptz not null default now()
);

create table processed_events (
    event_id uuid primary key,
    processed_at timestamptz not null default now()
);
