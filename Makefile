# llm-relay: `make run` serves the default config with the bundled mock upstream;
# `make test` runs every test. See README.md.

CARGO ?= cargo
PREFIX ?= /usr/local
CONFIG ?= conf/llm-relay.yaml
MOCK_LISTEN ?= 127.0.0.1:9100

.PHONY: run test test-rust test-sdk check-configs build release pgo-profile lint setup clean install bench

setup:
	@scripts/setup.sh

build: setup
	$(CARGO) build --bins

# Profile-guided when pgo/ holds a profile made with this rustc (README, "Release
# build"); PGO=0 for a plain build.
release: setup
	@scripts/build-release.sh --bins

# Records the profile `release` builds with: the SDK suite and a few hundred requests over
# TLS against a counting gateway.
pgo-profile: setup
	@scripts/pgo-profile.sh

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

# Benchmark (README "Performance"): release build, then the mock, the gateway and nginx
# under load; writes bench/results/latest.{md,json}. Not part of `make test`.
# It installs what it needs itself (scripts/setup.sh first), and counts its ten minutes
# from there.
bench:
	@scripts/bench.sh

lint: setup
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# Installs the binary, the systemd unit and a config skeleton (kept if one exists).
install: release
	install -D -m 0755 target/release/llm-relay $(DESTDIR)$(PREFIX)/bin/llm-relay
	install -d -m 0755 $(DESTDIR)/etc/systemd/system
	sed 's#/usr/local#$(PREFIX)#g' deploy/llm-relay.service > $(DESTDIR)/etc/systemd/system/llm-relay.service
	install -d -m 0750 $(DESTDIR)/etc/llm-relay
	[ -f $(DESTDIR)/etc/llm-relay/llm-relay.yaml ] || install -m 0640 deploy/llm-relay.yaml.example $(DESTDIR)/etc/llm-relay/llm-relay.yaml
	[ -f $(DESTDIR)/etc/llm-relay/env ] || install -m 0600 /dev/null $(DESTDIR)/etc/llm-relay/env
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/llm-relay/README.md
	install -D -m 0644 deploy/README.md $(DESTDIR)$(PREFIX)/share/doc/llm-relay/deploy.md
	install -D -m 0644 deploy/prometheus.yml $(DESTDIR)$(PREFIX)/share/doc/llm-relay/prometheus.yml
	install -D -m 0644 deploy/grafana-dashboard.json $(DESTDIR)$(PREFIX)/share/doc/llm-relay/grafana-dashboard.json

clean:
	$(CARGO) clean
	rm -rf .venv
