# syntax=docker/dockerfile:1.7
# Two images from one build:
#   docker build --target microshop          -t microshop:latest .           (every service, the gateway and the payment sandbox)
#   docker build --target microshop-operator -t microshop-operator:latest .  (the operator)
# The Cargo registry and target folder are BuildKit cache mounts, so a change to our code does
# not rebuild the dependencies. Queries are checked against the committed .sqlx/ data
# (SQLX_OFFLINE), so no database is needed to build.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
# Any glibc-based base works; a distroless "cc" image (no shell) is smaller still.
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
# make: the services' allocator (jemalloc, microshop-alloc) is built from source.
RUN apt-get update && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV SQLX_OFFLINE=true CARGO_TERM_COLOR=never
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
      --bin user-service --bin product-service --bin order-service --bin payment-service \
      --bin notification-service --bin gateway --bin payment-sandbox --bin microshop-operator \
 && mkdir -p /out \
 && cp target/release/user-service target/release/product-service \
       target/release/order-service target/release/payment-service \
       target/release/notification-service target/release/gateway \
       target/release/payment-sandbox target/release/microshop-operator /out/

FROM ${RUNTIME_IMAGE} AS microshop
COPY --from=build /out/user-service /out/product-service /out/order-service \
     /out/payment-service /out/notification-service /out/gateway /out/payment-sandbox \
     /usr/local/bin/
# One JSON object per log line in containers (override with LOG_FORMAT=pretty).
ENV LOG_FORMAT=json
# The Deployments pick the binary (`command: [user-service]` and so on; the shop's front door is
# `gateway`; the payment sandbox, a stand-in card provider, is `payment-sandbox`).
USER 65532:65532
EXPOSE 8000 8001 8002 8003 8004 8005 8090
CMD ["user-service"]

FROM ${RUNTIME_IMAGE} AS microshop-operator
COPY --from=build /out/microshop-operator /usr/local/bin/
ENV LOG_FORMAT=json
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["microshop-operator"]
