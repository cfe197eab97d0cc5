# Wardwatch: `make run` starts the console, `make test` runs every test.
# Both install what is missing first (Debian packages, the UI's npm packages).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# CI builds in a fresh clone each time: keep its target dir outside the clone
# so later runs on the same machine start warm (cargo still rebuilds what changed).
ifeq ($(CI),true)
CARGO_TARGET_DIR ?= $(HOME)/.cache/wardwatch/target
export CARGO_INCREMENTAL := 0
else
CARGO_TARGET_DIR ?= $(CURDIR)/target
endif
export CARGO_TARGET_DIR
export WARDWATCH_APP_BIN := $(CARGO_TARGET_DIR)/debug/wardwatch-app
export WARDWATCH_CLI_BIN := $(CARGO_TARGET_DIR)/debug/wardwatch

UI_STAMP := ui/node_modules/.package-lock.json

.PHONY: help deps system-deps toolchain ui app cli run test test-rust test-ui test-e2e lint bindings conformance fuzz clean

help:
	@echo "make run    install what is missing, build, start the console on the built-in simulated hospital"
	@echo "make test   install what is missing, run every test (lint, Rust, UI, real-window end to end)"
	@echo "make app    build the desktop app     make cli    build the headless CLI (release)"
	@echo "make bindings   regenerate the UI's TypeScript types from the Rust IPC types"

## Installing ---------------------------------------------------------------

deps: system-deps toolchain $(UI_STAMP)

system-deps:
	@scripts/install-deps.sh

toolchain:
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust 1.85 or newer (https://rustup.rs)"; exit 1; }
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Node " + process.versions.node + " is too old: the UI needs 20.19 or newer"); process.exit(1) }'

$(UI_STAMP): ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund
	@touch $@

## Building -----------------------------------------------------------------

ui: deps
	cd ui && npm run build

# The app, and the debug CLI beside it (the real-window test prepares its
# data directory with it).
app: ui
	cargo build -p wardwatch-app -p wardwatch --bins

cli: toolchain
	cargo build -p wardwatch --release

## Running ------------------------------------------------------------------

# Starts the console on the built-in simulated hospital (WARDWATCH_SIMULATE,
# default `all`; set it empty for the default listeners and a few sample
# alerts instead), clearly labelled as simulated in the window.
run: app
	@scripts/run-console.sh

## Testing ------------------------------------------------------------------

test: lint test-rust test-ui test-e2e
	@echo "make test: all passed"

lint: ui
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# Inside a throw-away desktop session: the key store's tests use a real
# Secret Service (gnome-keyring) and the kernel keyring.
test-rust: ui
	scripts/with-desktop-session.sh cargo test --workspace
	# The alert-storm test alone: it measures a notification's latency.
	scripts/with-desktop-session.sh cargo test -p wardwatch --test it storm -- --ignored --nocapture

test-ui: deps
	cd ui && npm run check
	cd ui && npm test

test-e2e: app
	scripts/with-desktop-session.sh node --test e2e/

bindings: ui
	UPDATE_BINDINGS=1 cargo test -p wardwatch-app --lib typescript_bindings_are_fresh

# The shared conformance corpus (needs ../shared beside the clone).
conformance: cli
	python3 ../shared/conformance/check.py --bin $(CARGO_TARGET_DIR)/release/wardwatch --kind rfc5424 ../shared/corpus/syslog/rfc5424_cases.jsonl
	python3 ../shared/conformance/check.py --bin $(CARGO_TARGET_DIR)/release/wardwatch --kind eve ../shared/corpus/eve/suricata_docs_alert.jsonl

# Each fuzz target for FUZZ_SECONDS (not part of make test). Needs cargo-fuzz;
# the machine's stable toolchain runs it with RUSTC_BOOTSTRAP=1.
FUZZ_SECONDS ?= 60
fuzz: toolchain
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for t in $$(cargo fuzz list); do \
	  mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=4096 || exit 1; \
	done

clean:
	cargo clean
	rm -rf ui/dist ui/node_modules artifacts
