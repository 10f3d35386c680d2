# Proffer: `make demo` runs the main job, `make test` runs every test. Both install what is missing first.
SWIFT ?= swift
SWIFT_SOURCES := Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Sources Benchmarks/Benchmarks Fuzz
# postgresql: the tests run proffer-vendor over a throwaway cluster of their own (never a system one).
# chromium: the tests open the audit report in a headless browser, as a person sees it.
# python3-venv: for the Nostr relay of the tests (make nostr-relay); nginx-light and openssl: the wss:// test terminates
# TLS in nginx with a throwaway CA.
SYSTEM_PACKAGES := libsodium-dev libsecp256k1-dev libsqlite3-dev pkg-config postgresql chromium python3-venv nginx-light openssl
PACKAGES ?= $(SYSTEM_PACKAGES)
PROFFER := .build/release/proffer

.PHONY: setup build release test lint format demo demo-vendors demo-messages man bench corpus fuzz registry clean

## setup: install what Proffer builds and tests with (Debian/Ubuntu), if any is missing: the C libraries (libsodium, libsecp256k1),
## PostgreSQL for the vendor's tests and Chromium for the audit report's. PostgreSQL runs as its own account, which must be able to read /etc/passwd.
setup:
	@if [ "$$(id -u)" -eq 0 ] && [ -f /etc/passwd ] && [ "$$(stat -c %a /etc/passwd)" != 644 ]; then \
	  echo "making /etc/passwd readable (0644, Debian's mode) so PostgreSQL's own account can be looked up" >&2; \
	  chmod 644 /etc/passwd; \
	fi
	@missing=""; for package in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
	  echo "Proffer needs:$$missing. Install them with:" >&2; \
	  echo "  sudo apt-get update && sudo apt-get install -y$$missing" >&2; \
	  exit 1; \
	fi; \
	echo "installing$$missing" >&2; \
	(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null

# The Nostr relay the tests run (and the demo, later): nostr-relay from PyPI, a relay nobody here wrote, in a virtual
# environment under .build/ so nothing is installed system-wide. Pinned, so every machine tests against the same one.
NOSTR_RELAY_VERSION := 1.14
NOSTR_RELAY_VENV := .build/nostr-relay-venv

.PHONY: nostr-relay
nostr-relay:
	@if [ ! -x $(NOSTR_RELAY_VENV)/bin/nostr-relay ] || ! $(NOSTR_RELAY_VENV)/bin/pip show nostr-relay 2>/dev/null | grep -qx "Version: $(NOSTR_RELAY_VERSION)"; then \
	  echo "installing nostr-relay $(NOSTR_RELAY_VERSION) into $(NOSTR_RELAY_VENV)" >&2; \
	  mkdir -p .build && python3 -m venv $(NOSTR_RELAY_VENV) && \
	  $(NOSTR_RELAY_VENV)/bin/pip install -q --disable-pip-version-check "nostr-relay==$(NOSTR_RELAY_VERSION)"; \
	fi

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release --product proffer

## test: build everything (tests included), failing on a warning in the project's own code, then run the whole suite.
test: setup nostr-relay
	SWIFT=$(SWIFT) ./scripts/build-without-warnings.sh
	$(SWIFT) test --skip-build

## lint: fail on any formatting difference (CI runs this).
lint:
	$(SWIFT) format lint --strict --recursive --parallel $(wildcard $(SWIFT_SOURCES))

format:
	$(SWIFT) format --in-place --recursive --parallel $(wildcard $(SWIFT_SOURCES))

## demo: the whole story: three example vendors, a vault, an intent published, countered, accepted, audited, forgotten.
demo: setup nostr-relay
	$(SWIFT) build --product proffer
	$(SWIFT) build --product proffer-vendor
	@./examples/demo.sh .build/debug

## demo-vendors: two proffer-vendor instances over one PostgreSQL database behind nginx (round robin), used as one
## vendor by a person's CLI.
demo-vendors:
	@$(MAKE) --no-print-directory setup PACKAGES="$(SYSTEM_PACKAGES) nginx-light"
	$(SWIFT) build --product proffer
	$(SWIFT) build --product proffer-vendor
	@./examples/demo-vendors.sh .build/debug

## man: write the man pages (proffer.1, proffer-vendor.1) into .build/man from the command tree.
man:
	@mkdir -p .build/man
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --output-directory .build/man
	@echo "man pages in .build/man: man .build/man/proffer.1"

## demo-messages: parse and explain the example messages.
demo-messages: release
	@./examples/messages-demo.sh $(PROFFER)

## corpus: the reproducible 10,000-message benchmark corpus (examples/corpus/messages.txt).
corpus:
	cd Benchmarks && $(SWIFT) run -c release generate-corpus ../examples/corpus/messages.txt 10000

## bench: in-process benchmarks (package-benchmark), instruction counts (valgrind), the CLI's throughput and memory.
bench: setup release corpus
	@command -v valgrind >/dev/null || $(MAKE) --no-print-directory setup SYSTEM_PACKAGES=valgrind
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark --no-progress
	cd Benchmarks && $(SWIFT) build -c release --product instruction-counts
	./Benchmarks/instruction-counts.sh 5
	./Benchmarks/cli-throughput.sh $(PROFFER) examples/corpus/messages.txt 1000000
	$(SWIFT) build -c release --product vault-test-writer
	./Benchmarks/vault-listing.sh $(PROFFER) .build/release/vault-test-writer
	./Benchmarks/audit-report.sh $(PROFFER) .build/release/vault-test-writer 1000
	@command -v wrk >/dev/null && command -v curl >/dev/null || $(MAKE) --no-print-directory setup SYSTEM_PACKAGES="wrk curl"
	$(SWIFT) build -c release --product proffer-vendor
	cd Benchmarks && $(SWIFT) build -c release --product signed-intents
	./Benchmarks/publish-wide.sh $(PROFFER) .build/release/proffer-vendor 50 5
	./Benchmarks/inbox-throughput.sh .build/release/proffer-vendor Benchmarks/.build/release/signed-intents 10
	cd Benchmarks && $(SWIFT) run -c release nostr-crypto
	./Benchmarks/scan-throughput.sh .build/release/proffer-vendor 1000000
	./Benchmarks/parser-compare.sh
	$(MAKE) --no-print-directory nostr-relay
	./Benchmarks/cast-to-offer.sh .build/release 20

## fuzz: libFuzzer over the message parser (FUZZ_SECONDS, default 600). Not part of CI.
FUZZ_SECONDS ?= 600
fuzz:
	./Fuzz/run.sh $(FUZZ_SECONDS)

## registry: regenerate the ISO 3166-1 country table from Debian's iso-codes.
registry:
	python3 scripts/generate-countries.py

clean:
	rm -rf .build .build-fuzz Benchmarks/.build
