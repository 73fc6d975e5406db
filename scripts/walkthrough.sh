#!/usr/bin/env bash
# The seed scenario against the running shop (`make up`), signed in: register a customer and log
# in (and find their welcome mail in `make up`'s SMTP sink, $MAIL_DIR, when there is one); log in
# as the admin (credentials from ADMIN_EMAIL/ADMIN_PASSWORD, else .run/admin.env) and create a
# product with stock 50, put it in a new category and find it by a misspelt search; the customer
# reviews it; order 3 as the customer; then wait until the order is CONFIRMED and the stock is 47,
# and pay it on the payment sandbox's checkout page with a test card (PAID); then a cart of two
# products is checked out to an address and cancelled, and the stock comes back. Prints every
# response (never a token); exits non-zero if a step fails.
set -euo pipefail
# Through the shop's front door (the gateway) unless a service's own URL is given.
shop=${SHOP_URL:-http://127.0.0.1:8000}
users=${USER_SERVICE_URL:-$shop}
products=${PRODUCT_SERVICE_URL:-$shop}
orders=${ORDER_SERVICE_URL:-$shop}
# Where `make up`'s SMTP sink keeps mail; the welcome mail is looked for there when it exists.
mail_dir=${MAIL_DIR:-.run/mail}
if [ -z "${ADMIN_EMAIL:-}" ] || [ -z "${ADMIN_PASSWORD:-}" ]; then
  admin_env=${ADMIN_ENV:-.run/admin.env}
  [ -r "$admin_env" ] || { echo "no admin credentials: set ADMIN_EMAIL and ADMIN_PASSWORD, or run make up (writes $admin_env)" >&2; exit 1; }
  # shellcheck disable=SC1090 # written by scripts/up.sh
  source "$admin_env"
fi

# post URL BODY [TOKEN]
post() {
  curl -sS --fail-with-body -X POST "$1" -H 'Content-Type: application/json' \
    ${3:+-H "Authorization: Bearer $3"} -d "$2"
}
get() { curl -sS --fail-with-body "$1" -H "Authorization: Bearer $2"; }
field() { sed -E "s/.*\"$1\":\"?([^,\"}]*)\"?.*/\1/"; }
login() { post "$users/api/users/login" "{\"email\": \"$1\", \"password\": \"$2\"}" | field access_token; }

email="walkthrough-$(date +%s)-$RANDOM@example.com"
echo "1. register a customer and log in"
user=$(post "$users/api/users/register" "{\"email\": \"$email\", \"name\": \"Walk Through\", \"password\": \"correct horse\"}")
echo "   $user"
user_id=$(field id <<<"$user")
token=$(login "$email" "correct horse")
echo "   logged in: $(get "$users/api/users/profile" "$token")"
if [ -d "$mail_dir" ]; then
  welcome=""
  for _ in $(seq 100); do
    welcome=$(grep -l -F "X-Envelope-To: $email" "$mail_dir"/*.eml 2>/dev/null | head -n 1 || true)
    [ -n "$welcome" ] && break
    sleep 0.1
  done
  [ -n "$welcome" ] || { echo "walkthrough FAILED: no welcome mail for $email in $mail_dir" >&2; exit 1; }
  echo "   the welcome mail arrived: $welcome ($(grep -m 1 '^Subject:' "$welcome"))"
fi

echo "2. log in as the admin ($ADMIN_EMAIL) and create a product with stock 50"
admin_token=$(login "$ADMIN_EMAIL" "$ADMIN_PASSWORD")
product=$(post "$products/api/products/" '{"name": "Laptop", "description": "14-inch", "price": 12999.0, "stock": 50}' "$admin_token")
echo "   $product"
product_id=$(field id <<<"$product")

echo "3. put it in a new category, find it by a misspelt word, and review it as the customer"
slug="walkthrough-$(date +%s)-$RANDOM"
category=$(post "$products/api/products/categories" "{\"name\": \"Walkthrough\", \"slug\": \"$slug\"}" "$admin_token")
echo "   $category"
category_id=$(field id <<<"$category")
curl -sS --fail-with-body -o /dev/null -X PATCH "$products/api/products/$product_id" \
  -H 'Content-Type: application/json' -H "Authorization: Bearer $admin_token" -d "{\"category_id\": $category_id}"
found=$(curl -sS --fail-with-body "$products/api/products/search?q=labtop&category=$slug")
echo "   search q=labtop category=$slug: $found"
grep -q "\"id\":$product_id," <<<"$found" || { echo "walkthrough FAILED: the search did not find product $product_id" >&2; exit 1; }
echo "   $(post "$products/api/products/$product_id/reviews" '{"rating": 5, "text": "Fast and quiet."}' "$token")"

echo "4. order 3 of them as the customer"
order=$(post "$orders/api/orders" "{\"user_id\": $user_id, \"product_id\": $product_id, \"quantity\": 3}" "$token")
echo "   $order"
order_id=$(field id <<<"$order")

echo "5. wait for the saga: order CONFIRMED, stock 47"
confirmed=""
for _ in $(seq 100); do
  status=$(get "$orders/api/orders/$order_id" "$token" | field status)
  stock=$(curl -sS "$products/api/products/$product_id" | field stock)
  if [ "$status" = CONFIRMED ] && [ "$stock" = 47 ]; then confirmed=yes; break; fi
  sleep 0.1
done
if [ -z "$confirmed" ]; then
  echo "walkthrough FAILED: order $order_id is $status and product $product_id has $stock left" >&2
  exit 1
fi
echo "   $(get "$orders/api/orders/$order_id" "$token")"
echo "   $(curl -sS "$products/api/products/$product_id")"

echo "   pay it: the payment's checkout page takes the test card 4242 4242 4242 4242; the order is PAID"
payment=$(post "$orders/api/orders/$order_id/pay" '' "$token")
echo "   $payment"
checkout_url=$(field checkout_url <<<"$payment")
echo "   $(post "$checkout_url" '{"card_number": "4242 4242 4242 4242"}')"
for _ in $(seq 100); do
  status=$(get "$orders/api/orders/$order_id" "$token" | field status)
  [ "$status" = PAID ] && break
  sleep 0.1
done
[ "$status" = PAID ] || { echo "walkthrough FAILED: order $order_id is $status after its payment" >&2; exit 1; }
echo "   $(get "$orders/api/orders/$order_id" "$token")"

echo "6. fill the cart with two products, check out to an address, then cancel: the stock comes back"
mouse=$(post "$products/api/products/" '{"name": "Mouse", "price": 19.99, "stock": 10}' "$admin_token")
mouse_id=$(field id <<<"$mouse")
address=$(post "$users/api/users/addresses" '{"name": "Walk Through", "line1": "Invalidenstraße 116", "city": "Berlin", "postal_code": "10115", "country": "DE"}' "$token")
address_id=$(field id <<<"$address")
post "$orders/api/cart/items" "{\"product_id\": $product_id, \"quantity\": 1}" "$token" >/dev/null
echo "   $(post "$orders/api/cart/items" "{\"product_id\": $mouse_id, \"quantity\": 2}" "$token")"
checkout=$(post "$orders/api/orders/checkout" "{\"address_id\": $address_id}" "$token")
echo "   $checkout"
checkout_id=$(field id <<<"$checkout")
grep -q '"items":\[\]' <<<"$(get "$orders/api/cart" "$token")" || { echo "walkthrough FAILED: the cart is not empty after checkout" >&2; exit 1; }
for _ in $(seq 100); do
  status=$(get "$orders/api/orders/$checkout_id" "$token" | field status)
  [ "$status" = CONFIRMED ] && break
  sleep 0.1
done
[ "$status" = CONFIRMED ] || { echo "walkthrough FAILED: checkout order $checkout_id is $status" >&2; exit 1; }
echo "   $(post "$orders/api/orders/$checkout_id/cancel" '{"reason": "changed my mind"}' "$token")"
for _ in $(seq 100); do
  stock=$(curl -sS "$products/api/products/$product_id" | field stock)
  mouse_stock=$(curl -sS "$products/api/products/$mouse_id" | field stock)
  if [ "$stock" = 47 ] && [ "$mouse_stock" = 10 ]; then
    echo "   timeline: $(get "$orders/api/orders/$checkout_id/timeline" "$token")"
    echo "walkthrough passed: order $order_id is PAID and product $product_id has 47 left; order $checkout_id of the cart was cancelled and its stock came back"
    exit 0
  fi
  sleep 0.1
done
echo "walkthrough FAILED: after the cancellation product $product_id has $stock and product $mouse_id $mouse_stock left" >&2
exit 1
