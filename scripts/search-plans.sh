#!/usr/bin/env bash
# docs/search-plans.md: `EXPLAIN (ANALYZE, BUFFERS)` of every query shape the product service
# sends for listings and search, against a scratch database migrated with
# services/product/migrations and filled with the bench fixture (bench/fixtures/catalog.sql,
# 100,000 products). Fails when any plan reads `products` with a sequential scan.
#
# Each statement is built here the way services/product/src/db/search.rs builds it (same text,
# same parameter order and types), prepared, and explained twice: with a custom plan (what
# PostgreSQL uses for a prepared statement's first executions) and with the generic plan (what it
# may switch to after five: sqlx keeps its statements prepared per connection).
#
#   PLANS_PRODUCTS  products in the fixture (100000; the smoke test uses fewer)
#   PLANS_OUT       the report (docs/search-plans.md)
#   PLANS_CHECK     1: fail on a sequential scan of products (default); 0: only report (at a
#                   few thousand products a sequential scan is the right plan)
#   PLANS_DB        the scratch database (microshop_search_plans), dropped at the end
#   PG_ADMIN_URL    the PostgreSQL server (postgres://postgres:postgres@127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
admin_url=${PG_ADMIN_URL:-postgres://postgres:postgres@127.0.0.1:5432}
count=${PLANS_PRODUCTS:-100000}
out=${PLANS_OUT:-docs/search-plans.md}
check=${PLANS_CHECK:-1}
db=${PLANS_DB:-microshop_search_plans}
url="$admin_url/$db?sslmode=disable"
search_rs=services/product/src/db/search.rs
categories_rs=services/product/src/db/categories.rs
work=$(mktemp -d)
cleanup() {
  psql "$admin_url/postgres" -qX -c "drop database if exists $db with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The SQL below is copied from the service; stop if the service's text changed since.
for fragment in "from products where archived_at is null" \
  " and (search @@ websearch_to_tsquery('english', " ") or " " <% name)" " and category_id = any(" \
  " and price_cents >= " " and price_cents <= " " and stock > 0" " and stock = 0" \
  "ts_rank_cd(search, websearch_to_tsquery('english', " ")) + word_similarity(" ", name) desc, id" \
  'query.push("price_cents, id")' 'query.push("price_cents desc, id desc")' 'query.push("name, id")' 'query.push("created_at desc, id desc")' \
  'query.push("rating_average desc nulls last, id")' '=> query.push("id")' " limit " " offset " \
  "select set_config('pg_trgm.word_similarity_threshold', \$1, true)" \
  'const WORD_SIMILARITY_THRESHOLD: &str = "0.4";'; do
  if ! grep -qF -- "$fragment" "$search_rs"; then
    echo "search-plans: $search_rs no longer contains [$fragment]; update this script" >&2
    exit 1
  fi
done
for fragment in "select id from categories where id = \$1 or (\$1 is null and slug = \$2)" \
  "left join (select category_id, count(*) as products from products"; do
  if ! grep -qF -- "$fragment" "$categories_rs"; then
    echo "search-plans: $categories_rs no longer contains [$fragment]; update this script" >&2
    exit 1
  fi
done

echo "search-plans: scratch database $db, $count products" >&2
psql "$admin_url/postgres" -qX -c "drop database if exists $db with (force)" -c "create database $db" >/dev/null
for migration in services/product/migrations/*.sql; do
  psql "$url" -qX -1 -v ON_ERROR_STOP=1 -f "$migration" >/dev/null
done
psql "$url" -qX -v ON_ERROR_STOP=1 -v count="$count" -f bench/fixtures/catalog.sql >/dev/null
sql() { psql "$url" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
live=$(sql "select count(*) from products where archived_at is null")

# --- The statements, as the service builds them ----------------------------------------------
# `search` (db/search.rs): sets $statement, $types (PREPARE's parameter types) and $values
# (EXECUTE's arguments). Arguments: words category_ids min_cents max_cents in_stock sort limit
# offset; empty for none. category_ids as a PostgreSQL array literal ('{1,2}').
quote() { printf "'%s'" "${1//\'/\'\'}"; }
push_bind() { # type value
  types+=("$1"); values+=("$2"); statement+="\$${#types[@]}"
}
search() {
  local words=$1 ids=$2 min=$3 max=$4 in_stock=$5 sort=$6 limit=$7 offset=$8
  types=(); values=()
  statement="select id, name, description, price_cents, stock, category_id, version, archived_at,
                rating_average::float8 as rating_average, rating_count, created_at, updated_at
         from products where archived_at is null"
  if [ -n "$words" ]; then
    statement+=" and (search @@ websearch_to_tsquery('english', "; push_bind text "$(quote "$words")"
    statement+=") or "; push_bind text "$(quote "$words")"; statement+=" <% name)"
  fi
  if [ -n "$ids" ]; then
    statement+=" and category_id = any("; push_bind 'bigint[]' "'$ids'"; statement+=")"
  fi
  if [ -n "$min" ]; then statement+=" and price_cents >= "; push_bind bigint "$min"; fi
  if [ -n "$max" ]; then statement+=" and price_cents <= "; push_bind bigint "$max"; fi
  case $in_stock in
    true) statement+=" and stock > 0" ;;
    false) statement+=" and stock = 0" ;;
  esac
  statement+=" order by "
  case $sort in
    relevance)
      if [ -n "$words" ]; then
        statement+="ts_rank_cd(search, websearch_to_tsquery('english', "; push_bind text "$(quote "$words")"
        statement+=")) + word_similarity("; push_bind text "$(quote "$words")"; statement+=", name) desc, id"
      else statement+="id"; fi ;;
    price) statement+="price_cents, id" ;;
    -price) statement+="price_cents desc, id desc" ;;
    name) statement+="name, id" ;;
    newest) statement+="created_at desc, id desc" ;;
    rating) statement+="rating_average desc nulls last, id" ;;
    oldest) statement+="id" ;;
  esac
  statement+=" limit "; push_bind bigint "$limit"
  statement+=" offset "; push_bind bigint "$offset"
  with_words=$words
}
# `subtree` (db/categories.rs): the category filter's ids.
subtree() { # id slug
  # shellcheck disable=SC2016 # $1 and $2 are the statement's parameters
  statement='with recursive below (id) as (
               select id from categories where id = $1 or ($1 is null and slug = $2)
               union
               select c.id from categories c join below b on c.parent_id = b.id
           )
           select id as "id!" from below'
  types=(bigint text); values=("${1:-null}" "$(quote "$2")"); with_words=""
}
# `with_counts` (db/categories.rs): the category tree's product counts.
with_counts() {
  statement='select c.id, c.parent_id, c.slug, c.name, coalesce(n.products, 0) as "products!"
           from categories c
           left join (select category_id, count(*) as products from products
                      where archived_at is null and category_id is not null
                      group by category_id) n on n.category_id = c.id
           order by c.name, c.id'
  types=(); values=(); with_words=""
}
ids_of() { # slug -> '{...}': the ids the service resolves a ?category= slug to
  subtree '' "$1"
  printf '{%s}' "$(psql "$url" -qtAX -v ON_ERROR_STOP=1 -c "prepare subtree(bigint, text) as $statement" \
    -c "execute subtree(null, $(quote "$1"))" | paste -sd, -)"
}

# --- Explaining ------------------------------------------------------------------------------
shapes=0 seq_scans=()
report=$work/report.md summary=$work/summary.md
: >"$report"; : >"$summary"
# explain NAME REQUEST: explains $statement (from search/subtree/with_counts) both ways.
explain() {
  local name=$1 request=$2 mode plan ms params="" setup="" i
  shapes=$((shapes + 1))
  for i in "${!types[@]}"; do params+="${params:+, }\$$((i + 1)) ${types[$i]} = ${values[$i]}"; done
  # The service sets the threshold in the search's own transaction (set_config(..., true)).
  [ -z "$with_words" ] || setup="select set_config('pg_trgm.word_similarity_threshold', '0.4', true) \\g /dev/null"
  {
    echo "### $shapes. $name"
    echo
    echo "\`$request\`"
    echo
    echo '```sql'
    echo "$statement"
    echo '```'
    echo
    echo "Parameters: ${params:-none}"
    echo
  } >>"$report"
  local times=()
  for mode in custom generic; do
    plan=$(psql "$url" -qtAX -v ON_ERROR_STOP=1 <<SQL
begin;
$setup
set local plan_cache_mode = force_${mode}_plan;
prepare shape${types[*]:+($(IFS=,; echo "${types[*]}"))} as $statement;
explain (analyze, buffers) execute shape${values[*]:+($(IFS=,; echo "${values[*]}"))};
commit;
SQL
    )
    ms=$(sed -nE 's/^Execution Time: ([0-9.]+) ms$/\1/p' <<<"$plan")
    times+=("$ms")
    if grep -q 'Seq Scan on products' <<<"$plan"; then seq_scans+=("$shapes. $name ($mode plan)"); fi
    {
      echo "$mode plan, execution time $ms ms:"
      echo
      echo '```'
      echo "$plan"
      echo '```'
      echo
    } >>"$report"
  done
  echo "| $shapes | $name | \`$request\` | ${times[0]} | ${times[1]} |" >>"$summary"
}

laptops=$(ids_of computers-laptops)
furniture=$(ids_of furniture)
computers_id=$(sql "select id from categories where slug = 'computers'")

search laptop '' '' '' '' relevance 20 0
explain "words only" "GET /api/products/search?q=laptop"
search labtop '' '' '' '' relevance 20 0
explain "words only, a typo" "GET /api/products/search?q=labtop"
search 'wireless headphones' '' '' '' '' relevance 20 0
explain "two words" "GET /api/products/search?q=wireless+headphones"
search steel '' '' '' '' relevance 20 0
explain "a common word (1 product in 16)" "GET /api/products/search?q=steel"
search oak "$furniture" '' '' '' relevance 20 0
explain "words + category (a department and its sub-categories)" "GET /api/products/search?q=oak&category=furniture"
search steel '' '' '' '' price 20 0
explain "words + sort=price" "GET /api/products/search?q=steel&sort=price"
for sort in relevance price -price name newest rating oldest; do
  search '' "$furniture" '' '' '' "$sort" 20 0
  explain "category + sort=$sort" "GET /api/products?category=furniture&sort=$sort"
done
search '' "$laptops" '' '' '' price 20 0
explain "a leaf category + sort=price" "GET /api/products?category=computers-laptops&sort=price"
search '' '' 5000 10000 '' price 20 0
explain "price range + sort=price" "GET /api/products?min_price=50&max_price=100&sort=price"
search '' '' '' '' true oldest 20 0
explain "in stock" "GET /api/products?in_stock=true"
search '' '' '' '' false oldest 20 0
explain "sold out" "GET /api/products?in_stock=false"
search '' '' '' '' '' rating 20 0
explain "sort=rating" "GET /api/products?sort=rating"
search '' '' '' '' '' oldest 20 10000
explain "plain listing, offset 10000" "GET /api/products?offset=10000"
subtree '' furniture
explain "category subtree by slug (every ?category= filter)" "?category=furniture"
subtree "$computers_id" "$computers_id"
explain "category subtree by id" "?category=$computers_id"
with_counts
explain "category tree with counts" "GET /api/products/categories"

{
  echo "# Search and listing plans"
  echo
  echo "Written by \`scripts/search-plans.sh\`: \`EXPLAIN (ANALYZE, BUFFERS)\` of every query shape"
  echo "the product service sends for \`GET /api/products\`, \`GET /api/products/search\` and the"
  echo "category tree, built as \`services/product/src/db/search.rs\` and \`db/categories.rs\` build"
  echo "them (same text, parameter order and types)."
  echo
  echo "The data is a fixture, not the API: \`bench/fixtures/catalog.sql\` writes $count products"
  echo "($live live, the rest archived) in 50 categories (10 departments of 4 sub-categories)"
  echo "straight into a scratch database migrated with \`services/product/migrations\`, then runs"
  echo "\`vacuum analyze\`. Names come from word lists (brand, adjective, material, a noun of the"
  echo "sub-category, sometimes a model), so a noun such as \"laptop\" matches about 1 product in"
  echo "200 and a material such as \"steel\" 1 in 16; 8 % are sold out, 40 % rated."
  echo
  echo "Each statement is prepared and explained twice: with a custom plan (PostgreSQL's plan for"
  echo "a prepared statement's first five executions) and with the generic plan (which it may use"
  echo "from then on; sqlx keeps statements prepared per connection). Searches run in a"
  echo "transaction that first sets \`pg_trgm.word_similarity_threshold\` to 0.4, as the service"
  echo "does. The script fails when any plan reads \`products\` with a sequential scan."
  echo
  echo "| | | |"
  echo "|---|---|---|"
  echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
  echo "| commit | \`$(git rev-parse --short HEAD)\` |"
  echo "| PostgreSQL | $(sql 'show server_version') |"
  echo "| sequential scans of products | ${#seq_scans[@]} |"
  echo
  echo "## Summary"
  echo
  echo "| # | shape | request | custom plan ms | generic plan ms |"
  echo "|---|---|---|---|---|"
  cat "$summary"
  echo
  echo "## Plans"
  echo
  cat "$report"
} >"$out"
echo "search-plans: wrote $out ($shapes shapes, ${#seq_scans[@]} plans with a sequential scan of products)" >&2
if [ "${#seq_scans[@]}" -gt 0 ]; then
  printf 'search-plans: Seq Scan on products in: %s\n' "${seq_scans[@]}" >&2
  [ "$check" = 0 ] || exit 1
fi
