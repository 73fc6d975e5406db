# The services `make up` runs locally: name, port, database. Sourced by up.sh and down.sh.
# shellcheck shell=bash
SERVICES=(
  "user-service:8001:users_db"
  "product-service:8002:products_db"
  "order-service:8003:orders_db"
)
RUN_DIR=.run
