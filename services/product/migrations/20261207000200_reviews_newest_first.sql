-- A product's reviews are listed newest first, in pages: this index serves that order, so a
-- page reads only its rows and the ones it skips, not every review of the product.
create index reviews_product_newest_idx on reviews (product_id, created_at desc, id desc);
