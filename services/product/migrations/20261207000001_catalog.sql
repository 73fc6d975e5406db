-- The browsable catalogue (issue 17): categories, search, admin edits with versions and
-- archiving, reviews with exact rating totals, the inventory API's bookkeeping.
create extension if not exists pg_trgm;

-- A tree of categories. A category with products or sub-categories cannot be deleted (the
-- foreign keys restrict), which the API answers with 409.
create table categories (
    id bigint generated always as identity primary key,
    parent_id bigint references categories (id) on delete restrict,
    slug text not null,
    name text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint categories_slug_key unique (slug),
    constraint categories_name_length check (char_length(name) between 1 and 100),
    constraint categories_slug_format check (
        char_length(slug) between 1 and 100 and slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'
    ),
    constraint categories_not_own_parent check (parent_id is distinct from id)
);
create index categories_parent_idx on categories (parent_id);

-- version: bumped by every admin edit of name, description, price or category; the ETag.
-- archived_at: set by DELETE; archived products leave the catalogue but stay readable by id.
-- rating_sum / rating_count: exact totals of the reviews, changed in the review's transaction.
-- low_stock_threshold / low_stock_alerted: inventory.low_stock is published once per crossing.
-- search: what full-text search matches, the name weighted above the description.
alter table products
    add column category_id bigint references categories (id) on delete restrict,
    add column version bigint not null default 1,
    add column archived_at timestamptz,
    add column rating_sum bigint not null default 0,
    add column rating_count bigint not null default 0,
    add column low_stock_threshold bigint not null default 0,
    add column low_stock_alerted boolean not null default false,
    add column rating_average numeric(3, 2) generated always as (
        case when rating_count = 0 then null else round(rating_sum::numeric / rating_count, 2) end
    ) stored,
    add column search tsvector generated always as (
        setweight(to_tsvector('english', name), 'A')
            || setweight(to_tsvector('english', description), 'B')
    ) stored,
    add constraint products_description_length check (char_length(description) <= 5000),
    add constraint products_ratings check (rating_count >= 0 and rating_sum between rating_count and 5 * rating_count),
    add constraint products_low_stock_threshold_range check (low_stock_threshold between 0 and 1000000000);

-- Every filter and sort of the catalogue has an index over live (not archived) products, so no
-- listing or search reads the whole table (docs/search-plans.md shows the plans at 100,000).
create index products_search_idx on products using gin (search) where archived_at is null;
create index products_name_trgm_idx on products using gin (name gin_trgm_ops) where archived_at is null;
create index products_live_id_idx on products (id) where archived_at is null;
create index products_live_category_idx on products (category_id, id) where archived_at is null;
create index products_live_price_idx on products (price_cents, id) where archived_at is null;
create index products_live_name_idx on products (name, id) where archived_at is null;
create index products_live_newest_idx on products (created_at desc, id desc) where archived_at is null;
create index products_live_rating_idx on products (rating_average desc nulls last, id) where archived_at is null;
create index products_low_stock_idx on products (id) where stock <= low_stock_threshold;

-- One review per customer and product. The product service learns who received what from
-- order.delivered (purchases), which makes a review's verified_purchase.
create table reviews (
    id bigint generated always as identity primary key,
    product_id bigint not null references products (id),
    user_id bigint not null,
    rating smallint not null,
    body text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint reviews_one_per_customer unique (product_id, user_id),
    constraint reviews_rating_range check (rating between 1 and 5),
    constraint reviews_body_length check (char_length(body) <= 2000)
);

create table purchases (
    user_id bigint not null,
    product_id bigint not null,
    order_id bigint not null,
    delivered_at timestamptz not null default now(),
    primary key (user_id, product_id)
);

-- Manual stock moves of the inventory API, one row per reference, so a retried deduct or
-- restore is applied once and answered the same way again.
create table inventory_moves (
    reference text primary key,
    product_id bigint not null references products (id),
    kind text not null,
    quantity bigint not null,
    stock_after bigint not null,
    created_at timestamptz not null default now(),
    constraint inventory_moves_kind check (kind in ('deduct', 'restore')),
    constraint inventory_moves_quantity check (quantity between 1 and 1000000000),
    constraint inventory_moves_reference_length check (char_length(reference) between 1 and 100)
);

-- A shipped order's units have left: its reservation is fulfilled and no longer counts as
-- reserved (a cancellation after shipping gives nothing back to stock).
alter table stock_reservations drop constraint stock_reservations_status;
alter table stock_reservations
    add constraint stock_reservations_status
        check (status in ('held', 'released', 'cancelled', 'fulfilled'));
create index stock_reservations_held_idx on stock_reservations (product_id) where status = 'held';
