# Microshop developer commands. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# sqlx::test creates a fresh database per test from this server URL.
DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/postgres
# Query macros check SQL against the committed .sqlx/ data, not a live database.
export SQLX_OFFLINE := true

TOOLS := $(CURDIR)/tools
SQLX := $(shell command -v sqlx 2>/dev/null || echo $(TOOLS)/bin/sqlx)
NEXTEST := $(shell cargo nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: help deps browser-deps up down logs walkthrough test browser lint fmt build bench charts observability fuzz crd rbac-calls e2e-kind operator sqlx-prepare sqlx-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

deps: ## start PostgreSQL, RabbitMQ and Redis if they are not answering, install the SMTP sink's aiosmtpd (installs them on Debian)
	@scripts/deps.sh

browser-deps: ## install what the browser test needs: Debian's chromium, Node.js, and playwright-core (npm ci in tests/browser/)
	@scripts/deps.sh --browser
	@$(MAKE) --no-print-directory -s tests/browser/node_modules/.npm-ci

# npm ci again only when the lockfile changed (it empties node_modules first).
tests/browser/node_modules/.npm-ci: tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund
	touch $@

up: deps ## build and run the services, the payment sandbox and the SMTP sink in the background (idempotent)
	@scripts/up.sh

down: ## stop what `make up` started
	@scripts/down.sh

logs: ## follow the services' logs
	@tail -n 50 -F .run/*.log

walkthrough: ## the seed scenario with curl against the running shop: user, product, order, CONFIRMED
	@scripts/walkthrough.sh

test: deps browser-deps sqlx-check ## the whole test suite against the real services, the bench smoke test, the browser test, the API fuzzer, the chart checks and a real Prometheus scrape (what CI runs)
	rm -rf target/api-calls
ifeq ($(NEXTEST),yes)
	DATABASE_URL=$(DATABASE_URL) MICROSHOP_API_CALLS_DIR=$(CURDIR)/target/api-calls cargo nextest run --workspace --no-fail-fast
else
	DATABASE_URL=$(DATABASE_URL) MICROSHOP_API_CALLS_DIR=$(CURDIR)/target/api-calls cargo test --workspace --no-fail-fast
endif
	scripts/bench-smoke.sh
	scripts/browser-test.sh
	scripts/fuzz.sh
	$(MAKE) --no-print-directory charts
	scripts/observability-check.sh

browser: browser-deps ## the storefront end to end in headless Chromium on a private shop: sign-up, cart, checkout, payment, delivery, review, mails, CSRF (screenshots in target/browser/screenshots/)
	scripts/browser-test.sh

lint: ## formatting and clippy, warnings are errors
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	cargo fmt --all

bench: deps ## measure a fresh private shop (release builds) and the machine's ceilings into docs/benchmarks.md
	@scripts/bench.sh

build: ## release binaries of every service
	cargo build --release --workspace --bins

charts: ## lint, render and validate the Helm charts, skaffold.yaml and k8s/ against Kubernetes 1.33 (installs helm into tools/)
	scripts/k8s-tools.sh
	tools/venv/bin/pytest -q -p no:cacheprovider tests/k8s

observability: ## a real Prometheus scrapes a private shop through a walkthrough: targets up, orders counted, rules and dashboard metrics real, no secrets in logs
	scripts/k8s-tools.sh
	scripts/observability-check.sh

fuzz: deps ## fuzz every service through its /openapi.json (schemathesis, installed into tools/); FUZZ_EXAMPLES=500 searches deeper
	scripts/fuzz.sh

e2e-kind: ## the operator end to end on a kind cluster: build, load, install, walkthrough, deletions (needs docker, kind, kubectl, helm; CI runs it on GitHub Actions)
	scripts/e2e-kind.sh

rbac-calls: deps ## record the Kubernetes API calls the operator's tests make into operator/tests/rbac/api-calls.txt (the chart's RBAC rules must grant exactly these)
	rm -rf target/api-calls
	MICROSHOP_API_CALLS_UPDATE=1 MICROSHOP_API_CALLS_DIR=$(CURDIR)/target/api-calls DATABASE_URL=$(DATABASE_URL) cargo test -p microshop-operator --no-fail-fast
	{ sed -n '/^#/p' operator/tests/rbac/api-calls.txt; cat target/api-calls/*.txt | sort -u; } > target/api-calls.txt
	mv target/api-calls.txt operator/tests/rbac/api-calls.txt

crd: ## regenerate the Microshop CRD YAML (k8s/crd/, charts/microshop-operator/crds/) from the Rust types
	@mkdir -p k8s/crd charts/microshop-operator/crds
	cargo run --quiet -p microshop-operator --bin crdgen > k8s/crd/microshop.yaml
	cp k8s/crd/microshop.yaml charts/microshop-operator/crds/microshop.yaml

operator: ## run the operator against the current kubectl context (install the CRD first: kubectl apply -f k8s/crd/)
	cargo run -p microshop-operator --bin microshop-operator

sqlx-prepare: $(SQLX) ## regenerate .sqlx/ after changing a query or a migration (SERVICES=user: only those)
	SQLX=$(SQLX) scripts/sqlx-prepare.sh $(SERVICES)

sqlx-check: $(SQLX) ## fail when .sqlx/ is out of date with the queries and migrations
	SQLX=$(SQLX) scripts/sqlx-prepare.sh --check

$(TOOLS)/bin/sqlx:
	cargo install sqlx-cli --version '^0.8' --no-default-features --features postgres,rustls \
	  --locked --root $(TOOLS)
