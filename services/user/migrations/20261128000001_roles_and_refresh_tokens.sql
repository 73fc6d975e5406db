-- Roles (DESIGN §7) and refresh tokens. A refresh token is an opaque random string given to the
-- client once; only its SHA-256 is stored. Each use spends it and issues the next one of the same
-- family; presenting a spent token again means it was stolen (or replayed), so the whole family
-- is revoked.
alter table users
    add column role text not null default 'customer'
        constraint users_role check (role in ('customer', 'admin'));

create table refresh_tokens (
    id bigint generated always as identity primary key,
    user_id bigint not null references users (id) on delete cascade,
    family uuid not null,
    token_hash bytea not null constraint refresh_tokens_hash_key unique,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    spent_at timestamptz,
    revoked_at timestamptz,
    constraint refresh_tokens_hash_length check (octet_length(token_hash) = 32)
);

create index refresh_tokens_user on refresh_tokens (user_id);
create index refresh_tokens_family on refresh_tokens (family);
