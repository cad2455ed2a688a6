# llm-relay: `make run` serves the default config with the bundled mock upstream;
# `make test` runs every test. See README.md.

CARGO ?= cargo
CONFIG ?= conf/llm-relay.yaml
MOCK_LISTEN ?= 127.0.0.1:9100

.PHONY: run test test-rust test-sdk check-configs build release lint setup clean

setup:
	@scripts/setup.sh

build: setup
	$(CARGO) build --bins

release: setup
	$(CARGO) build --release --bins

# The gateway in the foreground on $(CONFIG), with the mock upstream behind the demo channel.
run: release
	@scripts/run-demo.sh "$(CONFIG)" "$(MOCK_LISTEN)"

test: test-rust test-sdk

test-rust: setup
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --all-targets --no-fail-fast; \
	else \
		$(CARGO) test --all-targets --no-fail-fast; \
	fi

# The official Python SDKs (installed from PyPI into .venv) as clients of the real gateway.
test-sdk: build
	@bash tests/sdk/run.sh

check-configs: build
	@for f in conf/*.yaml conf/examples/*.yaml; do target/debug/llm-relay check --config $$f || exit 1; done

lint: setup
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf .venv
