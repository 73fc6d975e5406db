-- The catalogue. Prices are exact integer cents; stock can never go negative, whatever the
-- application does (the order saga relies on `stock >= $q` conditional decrements).
create table products (
    id bigint generated always as identity primary key,
    name text not null,
    description text not null default '',
    price_cents bigint not null,
    stock bigint not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint products_name_length check (char_length(name) between 1 and 200),
    constraint products_price_range check (price_cents between 1 and 100000000),
    constraint products_stock_range check (stock between 0 and 1000000000)
);
