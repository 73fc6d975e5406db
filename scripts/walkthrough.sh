#!/usr/bin/env bash
# The seed scenario against the running shop (`make up`): create a user, a product with stock 50,
# an order of 3; then wait until the order is CONFIRMED and the stock is 47. Prints every
# response; exits non-zero if any step does not hold.
set -euo pipefail
users=${USER_SERVICE_URL:-http://127.0.0.1:8001}
products=${PRODUCT_SERVICE_URL:-http://127.0.0.1:8002}
orders=${ORDER_SERVICE_URL:-http://127.0.0.1:8003}

post() { curl -sS --fail-with-body -X POST "$1" -H 'Content-Type: application/json' -d "$2"; }
field() { sed -E "s/.*\"$1\":\"?([^,\"}]*)\"?.*/\1/"; }

email="walkthrough-$(date +%s)-$RANDOM@example.com"
echo "1. create a user"
user=$(post "$users/api/users" "{\"email\": \"$email\", \"name\": \"Walk Through\", \"password\": \"correct horse\"}")
echo "   $user"
user_id=$(field id <<<"$user")

echo "2. create a product with stock 50"
product=$(post "$products/api/products/" '{"name": "Laptop", "description": "14-inch", "price": 12999.0, "stock": 50}')
echo "   $product"
product_id=$(field id <<<"$product")

echo "3. order 3 of them"
order=$(post "$orders/api/orders" "{\"user_id\": $user_id, \"product_id\": $product_id, \"quantity\": 3}")
echo "   $order"
order_id=$(field id <<<"$order")

echo "4. wait for the saga: order CONFIRMED, stock 47"
for _ in $(seq 100); do
  status=$(curl -sS "$orders/api/orders/$order_id" | field status)
  stock=$(curl -sS "$products/api/products/$product_id" | field stock)
  if [ "$status" = CONFIRMED ] && [ "$stock" = 47 ]; then
    echo "   $(curl -sS "$orders/api/orders/$order_id")"
    echo "   $(curl -sS "$products/api/products/$product_id")"
    echo "walkthrough passed: order $order_id is CONFIRMED and product $product_id has 47 left"
    exit 0
  fi
  sleep 0.1
done
echo "walkthrough FAILED: order $order_id is $status and product $product_id has $stock left" >&2
exit 1
