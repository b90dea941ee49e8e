# Builds build/kamailio/uac.so from the Rust crate.
# `make` - the module; `make test` - set up and run every test;
# `make run` - Kamailio with the module and examples/uac-replace.cfg.

CARGO ?= cargo
MODULE := build/kamailio/uac.so

.PHONY: all setup module test check run clean bench

all: module

# Debian packages (kamailio, sip-tester, libclang...) and the kamailio source package.
setup:
	scripts/setup

module:
	$(CARGO) build --release
	mkdir -p build/kamailio
	cp target/release/libuac.so $(MODULE)

check: module
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

# Unit tests, then the integration tests that start the real kamailio.
test: setup module
	$(CARGO) test --release -- --test-threads=1

run: setup module
	scripts/run-example

# Stock uac.so against ours on the same cfg and sipp load: CPU per call and
# instructions per call (callgrind), with ratios. Needs valgrind.
bench: setup module
	command -v valgrind >/dev/null || apt-get install -y -q valgrind
	python3 bench/run.py

clean:
	$(CARGO) clean
	rm -rf build
