-- Users of the shop. E-mail addresses are stored lower-cased, so the unique constraint is
-- case-insensitive; the password is only ever stored as an argon2id PHC string.
create table users (
    id bigint generated always as identity primary key,
    email text not null constraint users_email_key unique,
    name text not null,
    password_hash text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint users_email_length check (char_length(email) between 3 and 254),
    constraint users_name_length check (char_length(name) between 1 and 200)
);
