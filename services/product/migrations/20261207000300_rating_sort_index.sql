-- `sort=rating` orders by `rating_average desc nulls last, id`, and in ORDER BY a bare name is
-- the select list's column first: the listing selects `rating_average::float8 as
-- rating_average`, so the sort key is that float8 expression, which the numeric index of the
-- catalog migration cannot serve. At 100,000 products every `?sort=rating` listing read and
-- sorted all live products (a sequential scan, docs/search-plans.md). This index is on the
-- expression the query sorts by (the cast keeps the order).
drop index products_live_rating_idx;
create index products_live_rating_idx on products ((rating_average::float8) desc nulls last, id)
    where archived_at is null;
