# microblog: every entry point a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .tools
# Use uv from PATH when present, otherwise a pinned copy bootstrapped into .tools/.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/$(TOOLS)/bin/uv)
export UV_PYTHON_DOWNLOADS := never
RUN := $(UV) run --frozen --extra embedded
# `make run` on the embedded store is a local demo: these relaxed limits let `make seed` fill it
# through the API. A value already in the environment wins; the settings' and the chart's
# defaults stay the production ones.
DEMO_LIMITS := RATE_LIMIT_SIGN_UP_PER_IP=100000/hour RATE_LIMIT_SIGN_IN_PER_IP=100000/hour RATE_LIMIT_WRITES_PER_USER=100000/hour
demo_env = $(foreach pair,$(DEMO_LIMITS),$(if $($(firstword $(subst =, ,$(pair)))),,$(pair)))

.PHONY: help install run run-separate seed bench test test-mongodb crash-harness lint typecheck format smoke postman contract images manifests k8s-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

install: $(if $(shell command -v uv 2>/dev/null),,$(TOOLS)/bin/uv) ## create the locked environment (.venv)
	$(UV) sync --frozen --extra embedded

run: install ## start the whole stack on 127.0.0.1:8080 (embedded store unless MONGODB_URI is set)
	@if [ -n "$$MONGODB_URI" ]; then exec scripts/run-separate.sh; else exec env $(demo_env) $(RUN) python -m gateway; fi

seed: install ## fill a running stack with a demo graph (POSTS=1000 USERS=POSTS/10 SEED=1; BASE_URL, or MONGODB_URI)
	$(RUN) python -m benchmarks.seed $(if $(POSTS),--posts $(POSTS)) $(if $(USERS),--users $(USERS)) $(if $(SEED),--seed $(SEED))

BENCH_SIZES ?= 1000,10000,100000
bench: install ## issue 18's figures at BENCH_SIZES posts into docs/performance.md, within 10 min (BENCH_ARGS; needs wrk, installed with apt-get if missing)
	@command -v wrk >/dev/null || apt-get install -y wrk || sudo apt-get install -y wrk
	$(RUN) python -m benchmarks.bench --sizes $(BENCH_SIZES) $(BENCH_ARGS)

test: install ## lint, type-check and run the test suite
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) pytest

test-mongodb: ## the tests on a throwaway MongoDB 8 replica set (needs Docker or Podman)
	TEST_MONGODB_URI="$$(scripts/mongodb-test-replica-set.sh start)" $(MAKE) test

crash-harness: install ## the full crash harness: 10,000 changes, 100 projector kills (SEED=1)
	$(RUN) python -m tests.harness.crash --changes 10000 --kills 100 --writers 8 --seed $${SEED:-1}

lint: install ## ruff lint and format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: install ## mypy over the packages
	$(RUN) mypy

format: install ## apply ruff's formatting and safe fixes
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

smoke: ## the curl tour against a running stack (BASE_URL, default http://127.0.0.1:8080)
	scripts/smoke.sh $${BASE_URL:-http://127.0.0.1:8080}

postman: install ## run the Postman collection with newman against a fresh embedded stack
	scripts/postman.sh

contract: install ## schemathesis against both OpenAPI documents through a fresh embedded gateway
	scripts/schemathesis.sh

images: ## build both images with Docker or Podman (IMAGE_TAG, IMAGE_REGISTRY, BASE_IMAGE_DIGEST)
	scripts/build-images.sh

manifests: install ## render k8s/ from the Helm chart
	scripts/render-manifests.sh

k8s-check: install ## offline checks of the chart and k8s/: helm lint, schema validation, checkov, staleness
	scripts/k8s-check.sh

clean: ## remove environments, tool downloads and caches
	rm -rf .venv $(TOOLS) .pytest_cache .ruff_cache .mypy_cache
