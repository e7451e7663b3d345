# exemplar-demo: `make up` runs the whole demo in Docker, `make test` runs the tests (no Docker needed).
SHELL := /bin/bash
COMPOSE ?= docker compose
# A port as Compose resolves it: the shell's environment first, then .env, then the default of docker-compose.yml.
port = $(or $($(1)),$(shell sed -n 's/^$(1)=//p' .env 2>/dev/null | tail -n 1),$(2))
# npm's warnings are off: under an older system Node, `npm ci` warns once per package that asks for Node 24
# (EBADENGINE), although npm scripts run the project's own Node 24 (the `node` dev dependency).
NPM_CI := npm ci --no-audit --no-fund --loglevel=error
# The scale profile and its switches (scale.env). `make up-scale` leaves the marker .scale, so until `make down`
# every target (up, load, logs, ps) runs Compose with them and acts on the same topology.
SCALE_ARGS := --env-file .env --env-file scale.env --profile scale
ifneq ($(wildcard .scale),)
COMPOSE += $(SCALE_ARGS)
endif

.DEFAULT_GOAL := help
.PHONY: help docker-check go-check test-peers e2e-peers bench-peers up up-scale down clean logs ps load test check audit e2e bench

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

docker-check:
	@command -v docker >/dev/null || { echo "Docker is not installed: https://docs.docker.com/get-docker/ (make test needs no Docker)"; exit 1; }
	@$(COMPOSE) version >/dev/null 2>&1 || { echo "Docker Compose v2 is missing: 'docker compose version' must work"; exit 1; }

.env:
	@# A fresh random Grafana admin password on first use: nothing secret is ever committed.
	@sed "s/^GRAFANA_ADMIN_PASSWORD=.*/GRAFANA_ADMIN_PASSWORD=$$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')/" .env.example > .env
	@echo "created .env (Grafana admin password inside)"

up: docker-check .env ## build and start the stack, wait until healthy, print the URLs
	$(COMPOSE) up --build --detach --wait
	@echo
	@echo "  Grafana (dashboard)   http://localhost:$(call port,GRAFANA_PORT,3000)"
	@echo "  Prometheus            http://localhost:$(call port,PROMETHEUS_PORT,9090)"
	@echo "  Tempo API             http://localhost:$(call port,TEMPO_PORT,3200)"
	@echo "  Loki API              http://localhost:$(call port,LOKI_PORT,3100)"
	@echo "  Service               http://localhost:$(call port,APP_PORT,8080)/api/users  /api/orders  /metrics"
	@echo
	@echo "  Make spikes: make load"

up-scale: docker-check .env ## the scale topology: gateway, two tail-sampling Collectors, remote write to a 2nd Prometheus
	@touch .scale
	@$(MAKE) --no-print-directory up
	@echo "  Long-term Prometheus  http://localhost:$(call port,PROMETHEUS_LONGTERM_PORT,9091)  (stands in for Mimir; remote write from the one above)"
	@echo "  Back to the single stack: make down && make up"

down: docker-check ## stop the stack, keep its data
	$(COMPOSE) down
	@rm -f .scale

clean: docker-check ## stop the stack and delete its volumes
	$(COMPOSE) down --volumes --remove-orphans
	@rm -f .scale

logs: docker-check ## follow the logs of every service
	$(COMPOSE) logs --follow --tail=100

ps: docker-check ## show the stack's containers and their health
	$(COMPOSE) ps

load: docker-check ## drive baseline, spike and recovery traffic at the stack (runs in a container)
	$(COMPOSE) --profile load run --rm load

# The real programs each suite runs beside the service, built with Go by scripts/peers.sh and cached by version
# outside the clone: the first run builds them (minutes, one progress line each), before any test starts, so that no
# test spends its own time budget on a build; later runs find them in a second.
TEST_PEERS := prometheus otelcol compose
E2E_PEERS := prometheus otelcol jaeger compose
BENCH_PEERS := otelcol

go-check:
	@command -v go >/dev/null || { echo "Go is needed to build the test peers (Prometheus, the Collector, the Compose CLI): https://go.dev/dl/"; exit 1; }

test-peers: go-check
	@scripts/peers.sh --ready $(TEST_PEERS)

e2e-peers: go-check
	@scripts/peers.sh --ready $(E2E_PEERS)

bench-peers: go-check
	@scripts/peers.sh --ready $(BENCH_PEERS)

node_modules: package.json package-lock.json
	$(NPM_CI)
	@touch node_modules

check: node_modules ## type-check (tsc --noEmit)
	npm run check

audit: node_modules ## npm audit of the production dependencies (fails on high or critical)
	npm run --silent audit-deps

test: check audit test-peers ## run every test: unit, real OTLP/gRPC, real Prometheus, the stack's files
	npm test

e2e: node_modules e2e-peers ## the stack without Docker: real Prometheus and Collector run the committed files (root: maps host names)
	npm run e2e

bench: node_modules bench-peers ## benchmarks: ours against bare Hono and the stock OTel setup (about 11 minutes), writes bench/RESULTS.md
	npm run bench
