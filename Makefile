# snaplake: the commands a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat local/requirements.txt | cksum | cut -d' ' -f1)
LAMBDA_VENV  := .venv-lambda
LAMBDA_STAMP := $(LAMBDA_VENV)/.installed-$(shell cat local/requirements-lambda.txt | cksum | cut -d' ' -f1)
FUNCTIONS   := snapshot-export export-callback export-poller catalog-swap query-runner

.PHONY: help test deps lint unit infra demo bench standin standin-stop standin-status watch invoke clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

test: deps lint unit infra ## install what is needed, then lint and run every test (what CI runs)

deps: $(STAMP) ## install the pinned Python packages of the stand-in into .venv/

$(STAMP): local/requirements.txt local/requirements-tools.txt package-lock.json
	@scripts/check-toolchain
	@rm -f $(VENV)/.installed-*
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r local/requirements.txt
	python3 -m venv .venv-tools
	.venv-tools/bin/pip install --quiet --disable-pip-version-check --require-hashes -r local/requirements-tools.txt
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: ## formatting and lints (Rust and the stand-in's Python), and no circle in the import graph
	python3 scripts/import_graph.py
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	$(PYTHON) -m compileall -q local/standin local/bench local/driving.py local/demo.py local/lineage_check.py local/iceberg_check.py

unit: deps $(LAMBDA_STAMP) ## unit tests and the integration tests against the stand-in (and cargo-lambda's loop)
	$(PYTHON) -m pytest -q -p no:cacheprovider local/standin/tests
	cargo build --workspace --bins --locked
	cargo test --workspace --locked

infra: deps ## Terraform fmt/validate/test, checkov, asl-validator, schedules, the demo's run on a fresh stand-in
	cargo build --workspace --bins --locked
	scripts/check-infra

demo: deps ## run snaplake end to end on this machine (DATE=YYYY-MM-DD for another day; TABLE_FORMAT=iceberg for Iceberg tables)
	cargo build --workspace --bins --locked
	cd local && ../$(PYTHON) demo.py $(if $(DATE),--date $(DATE)) $(if $(TABLE_FORMAT),--table-format $(TABLE_FORMAT))

# The stand-in's Lambda runs the handler binaries of the debug build.
standin: deps ## start the local AWS stand-in in the background and print its endpoint
	@cd local && SNAPLAKE_STANDIN_FUNCTIONS="$${SNAPLAKE_STANDIN_FUNCTIONS:-$${CARGO_TARGET_DIR:-$(CURDIR)/target}/debug}" \
		../$(PYTHON) -m standin start

standin-stop: ## stop the stand-in that `make standin` started
	@cd local && ../$(PYTHON) -m standin stop

standin-status: ## print the stand-in's endpoint if it is running
	@cd local && ../$(PYTHON) -m standin status

# cargo-lambda's emulator builds and runs the functions as you edit them, with
# the configuration of the stack `make demo` deployed to the running stand-in.
watch: deps $(LAMBDA_STAMP) ## serve the functions with `cargo lambda watch` against the running stand-in (README: Developing a function)
	@cd local && ../$(PYTHON) watch_env.py ../.local/watch.env
	PATH="$(CURDIR)/$(LAMBDA_VENV)/bin:$$PATH" cargo lambda watch --env-file .local/watch.env

invoke: $(LAMBDA_STAMP) ## send an example to a function `make watch` serves: make invoke FN=export-poller EVENT=events/export-poller.json
	@test -n "$(FN)" -a -f "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=events/<file>.json" >&2; exit 2; }
	PATH="$(CURDIR)/$(LAMBDA_VENV)/bin:$$PATH" cargo lambda invoke $(FN) --data-file $(EVENT)

clean: ## remove build output, the virtualenv and local state
	cargo clean
	rm -rf $(VENV) .venv-tools $(LAMBDA_VENV) node_modules .local

bench: deps $(LAMBDA_STAMP) ## print benchmark figures (BENCHMARKS.md): cold start, package size, schema I/O, swap throughput, cost of a run (BENCH_ARGS="cold-start size": those only; BENCH_BASELINE=<folder of another build's binaries and zips>: beside them)
	cargo build --locked --bins $(addprefix -p ,$(FUNCTIONS))
	@# The release build for Lambda, x86_64 only: no aarch64 standard library for this rustc can be installed here (README, Deploying); the profile in Cargo.toml, not cargo-lambda's defaults.
	PATH="$(CURDIR)/$(LAMBDA_VENV)/bin:$$PATH" nice -n 10 cargo lambda build --locked --release --x86-64 --compiler cargo \
		--disable-optimizations --output-format zip $(addprefix -p ,$(FUNCTIONS))
	cargo run --locked -p snaplake-tests --bin bench -- $(BENCH_ARGS)

$(LAMBDA_STAMP): local/requirements-lambda.txt
	@rm -f $(LAMBDA_VENV)/.installed-*
	python3 -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r local/requirements-lambda.txt
	@touch $@
