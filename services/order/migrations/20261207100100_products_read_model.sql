-- The products as the order service knows them: a read model of the product service's catalogue,
-- so orders are priced and carts shown without asking the product service on the hot path
-- (each service owns its database: this is a copy fed by events, never a view of products_db).
-- `product.updated` (create, edit, archive) fills name, price, archived and version, and applies
-- only when its version is newer than the row's; `product.stock.updated` sets the stock of a
-- known row and never inserts one. A product first heard of through `product.updated` has no
-- stock yet (null: unknown, not zero): the next lookup asks the product service for it, as it
-- does for ids the table has never heard of. Stock here is a hint for showing a cart; the
-- product service's reservation stays the only decision on stock.
create table products (
    id bigint primary key,
    name text not null,
    price_cents bigint not null,
    stock bigint,
    archived boolean not null default false,
    -- The product service's version (its ETag), bumped by every admin edit.
    version bigint not null,
    updated_at timestamptz not null default now(),
    constraint products_price_positive check (price_cents > 0),
    constraint products_stock_not_negative check (stock >= 0)
);
