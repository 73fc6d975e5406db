-- Payments of orders as the card provider reports them, their refunds, the provider's events
-- already applied, idempotency keys, and the outbox and inbox of the service's events.

create table payments (
    id bigint generated always as identity primary key,
    order_id bigint not null,
    -- The buyer: the owner of the order when the payment was created.
    user_id bigint not null,
    -- Read from the order service, never from the client.
    amount_cents bigint not null check (amount_cents > 0),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    -- CREATED -> PENDING -> SUCCEEDED | FAILED; SUCCEEDED -> PARTIALLY_REFUNDED -> REFUNDED.
    status text not null check (status in
        ('CREATED', 'PENDING', 'SUCCEEDED', 'FAILED', 'PARTIALLY_REFUNDED', 'REFUNDED')),
    -- Sum of the refunds the provider confirmed.
    refunded_cents bigint not null default 0
        check (refunded_cents >= 0 and refunded_cents <= amount_cents),
    -- The provider's checkout session and the page the buyer pays on.
    provider_session_id text unique,
    checkout_url text,
    failure_code text,
    failure_message text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    succeeded_at timestamptz,
    failed_at timestamptz
);

-- One open payment per order: a second create call gets the open one.
create unique index payments_one_open_per_order on payments (order_id)
    where status in ('CREATED', 'PENDING');
create index payments_by_order on payments (order_id, id);
create index payments_by_user on payments (user_id, id);

create table refunds (
    id bigint generated always as identity primary key,
    payment_id bigint not null references payments (id),
    amount_cents bigint not null check (amount_cents > 0),
    -- What asked for it, once: `order-cancelled`, `duplicate-payment`, or an admin's
    -- idempotency key (`key:<user>:<key>`, or a fresh `admin:<uuid>` without one).
    reference text not null,
    reason text not null,
    -- PENDING until the provider confirms (SUCCEEDED) or refuses (FAILED).
    status text not null check (status in ('PENDING', 'SUCCEEDED', 'FAILED')),
    provider_refund_id text unique,
    -- When the provider accepted the request; null while it still has to be sent.
    sent_at timestamptz,
    -- The dispatcher's lease and retry bookkeeping while unsent.
    next_attempt_at timestamptz not null default now(),
    attempts integer not null default 0,
    last_error text,
    failure_message text,
    requested_by text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    settled_at timestamptz,
    unique (payment_id, reference)
);

create index refunds_to_send on refunds (next_attempt_at) where status = 'PENDING' and sent_at is null;
create index refunds_pending on refunds (created_at) where status = 'PENDING';

-- The provider's events already applied (its event ids): a redelivery changes nothing.
create table provider_events (
    event_id text primary key,
    event_type text not null,
    payment_id bigint,
    received_at timestamptz not null default now()
);

-- `Idempotency-Key` of POST /api/payments, per caller, kept IDEMPOTENCY_KEY_TTL.
create table idempotency_keys (
    user_id bigint not null,
    key text not null,
    fingerprint text not null,
    payment_id bigint references payments (id),
    created_at timestamptz not null default now(),
    primary key (user_id, key)
);
create index idempotency_keys_created_at on idempotency_keys (created_at);

-- outbox: payment.* events, written in the transaction of the change they announce.
create table outbox (
    id bigint generated always as identity primary key,
    event_id uuid not null unique,
    event_type text not null,
    payload jsonb not null,
    traceparent text,
    created_at timestamptz not null default now()
);

-- inbox: order events already applied.
create table processed_events (
    event_id uuid primary key,
    processed_at timestamptz not null default now()
);
