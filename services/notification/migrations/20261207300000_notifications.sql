-- What the notification service knows and sends: its read models of users and orders (from
-- their events, so it never calls another service), users' preferences, every notification
-- with its delivery state, and the outbox (tasks for the sender) and inbox.

-- Users as their events describe them: where to write, how to greet, who is an admin.
create table users (
    id bigint primary key,
    email text not null,
    name text not null,
    role text not null,
    updated_at timestamptz not null default now()
);
create index users_admins on users (id) where role = 'admin';

-- Orders' buyers (payment events name only the order).
create table orders (
    id bigint primary key,
    user_id bigint not null
);

-- What a user chose to receive; no row: everything.
create table preferences (
    user_id bigint primary key,
    marketing boolean not null,
    updated_at timestamptz not null default now()
);

create table notifications (
    id bigint generated always as identity primary key,
    -- The user it is for (none for an address an admin typed).
    user_id bigint,
    channel text not null check (channel in ('email', 'sms')),
    -- Transactional messages always go; marketing ones only to users who did not opt out.
    category text not null check (category in ('transactional', 'marketing')),
    -- Which message: welcome, order_confirmed, ..., or custom (an admin's).
    template text not null,
    -- The address or number; resolved from the user when it is sent, unless given.
    recipient text,
    subject text,
    body_text text not null,
    body_html text,
    -- QUEUED -> SENDING (handed to the transport) -> SENT | FAILED; SENDING goes back to
    -- QUEUED when the attempt failed and another is due.
    status text not null check (status in ('QUEUED', 'SENDING', 'SENT', 'FAILED')),
    attempts integer not null default 0,
    last_error text,
    next_attempt_at timestamptz not null default now(),
    -- The event that caused it (none for an admin's).
    source_event_id uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    sent_at timestamptz,
    failed_at timestamptz
);
create index notifications_by_user on notifications (user_id, id);
create index notifications_retries on notifications (next_attempt_at)
    where status = 'QUEUED' and attempts > 0;
create index notifications_queued on notifications (created_at) where status = 'QUEUED';

-- outbox: the sender's tasks (notification.requested), written with their notifications.
create table outbox (
    id bigint generated always as identity primary key,
    event_id uuid not null unique,
    event_type text not null,
    payload jsonb not null,
    traceparent text,
    created_at timestamptz not null default now()
);

-- inbox: events and tasks already applied.
create table processed_events (
    event_id uuid primary key,
    processed_at timestamptz not null default now()
);
