-- The transactional outbox (microshop-messaging): `user.registered` and `user.updated` are
-- written in the same transaction as the change; the relay publishes them to `user.events`.
-- The same table as the order and product services' (their first outbox migration plus its
-- `traceparent` column; the NOTIFY trigger they dropped later is never created here).
create table outbox (
    id bigint generated always as identity primary key,
    event_id uuid not null unique,
    event_type text not null,
    payload jsonb not null,
    created_at timestamptz not null default now(),
    traceparent text
);
