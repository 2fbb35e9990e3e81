# Bearing: `make run` starts the portal locally, `make test` runs every test.
.PHONY: setup build run test test-unit test-e2e test-luigi test-deploy bench clean-data

# Where `make run` keeps its embedded PostgreSQL and data.
DATA_DIR ?= .bearing

setup:
	@scripts/setup.sh

build: setup
	@echo "==> building the portal (release: server binary, wasm, CSS)"
	cargo leptos build --release
	cargo build --release -p kuma-sim

run: build
	@BEARING_DATA_DIR=$(DATA_DIR) scripts/run-local.sh

test: 
	@WANT_CHROMIUM=1 scripts/setup.sh
	@$(MAKE) --no-print-directory test-unit test-e2e test-luigi test-deploy

test-unit:
	@echo "==> unit and integration tests (real PostgreSQL, started under target/test-pg)"
	cargo test --workspace --features app/ssr
	@scripts/stop-test-pg.sh

test-e2e:
	@echo "==> building the portal for end-to-end tests"
	cargo leptos build
	cargo build -p kuma-sim
	@LUIGI_SETUP_ONLY=1 scripts/luigi-test.sh
	@echo "==> end-to-end tests in Chromium (and the Backstage catalog-client compatibility test)"
	cd end2end && npx playwright test

test-luigi:
	@echo "==> Luigi integration tests (real Luigi from PyPI, venv in target/py-luigi)"
	@scripts/luigi-test.sh

test-deploy:
	@echo "==> Kubernetes manifests (deploy/kubernetes rendered with kubectl kustomize, then checked)"
	@python3 deploy/kubernetes/test_manifests.py

bench:
	cargo leptos build --release
	bench/run.sh

clean-data:
	@scripts/stop-test-pg.sh
	rm -rf $(DATA_DIR) target/test-pg target/e2e
