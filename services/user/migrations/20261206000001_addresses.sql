-- Postal addresses of an account (DESIGN §4). At most 20 per user, checked by the service under
-- a lock on the user's row; exactly one default whenever a user has any, which the partial
-- unique index guarantees can never be two.
create table addresses (
    id bigint generated always as identity primary key,
    user_id bigint not null references users (id) on delete cascade,
    name text not null,
    line1 text not null,
    line2 text,
    city text not null,
    postal_code text not null,
    country text not null,
    phone text,
    is_default boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint addresses_name_length check (char_length(name) between 1 and 200),
    constraint addresses_line1_length check (char_length(line1) between 1 and 200),
    constraint addresses_line2_length check (char_length(line2) between 1 and 200),
    constraint addresses_city_length check (char_length(city) between 1 and 100),
    constraint addresses_postal_code_format check (postal_code ~ '^[A-Za-z0-9][A-Za-z0-9 -]{0,15}$'),
    constraint addresses_country_code check (country ~ '^[A-Z]{2}$'),
    constraint addresses_phone_length check (char_length(phone) between 3 and 32)
);

create index addresses_by_user on addresses (user_id, created_at);
create unique index addresses_one_default on addresses (user_id) where is_default;
