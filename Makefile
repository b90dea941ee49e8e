# Builds the host modules from the one Rust crate, one cargo build per module
# (a module feature picks which tables the .so exports; see Cargo.toml).
# `make` - the modules; `make test` - set up and run every test;
# `make run` - the remote registrations example: Kamailio with our uac module
# keeping the trunks of examples/uacreg-rows.sql registered with a second
# Kamailio, the registrar, running our auth module under auth_db
# (EXAMPLE=replace: examples/uac-replace.cfg); `make call` - a test call through
# it; `make deb` - the Debian package of the Kamailio modules.

CARGO ?= cargo
# host/module pairs: build/<host>/<module>.so from feature <host>-<module>
KAMAILIO_MODULES := uac auth
MODULES := $(KAMAILIO_MODULES:%=build/kamailio/%.so)

# Kamailio besides Debian 12's 5.6 (build/kamailio/): a source tree, whose
# version (scripts/kamailio-version) names the folder the modules go to,
# build/kamailio-<version>/{uac,auth}.so. By default the 6.1 build that
# scripts/setup-kamailio61 made in .cache/kamailio61 (the tests run against
# it too). `make KAMAILIO_SRC=/path/to/kamailio-<version>` builds for your own
# Kamailio only (build.rs finds its installed core: the tree's install prefix,
# /usr/sbin or /usr/local/sbin; KAMAILIO_BIN=... if elsewhere).
K61_SRC := $(firstword $(wildcard $(CURDIR)/.cache/kamailio61/kamailio-*/))
ifeq ($(origin KAMAILIO_SRC),undefined)
OTHER_SRC := $(K61_SRC)
OTHER_MISSING := no Kamailio 6.1 tree in .cache/kamailio61: run scripts/setup-kamailio61 (or make setup)
else
OTHER_SRC := $(abspath $(KAMAILIO_SRC))
OTHER_MISSING := KAMAILIO_SRC=$(KAMAILIO_SRC) is not a Kamailio source tree
endif
OTHER_VERSION := $(if $(OTHER_SRC),$(shell scripts/kamailio-version $(OTHER_SRC)))
OTHER_DIR := build/kamailio-$(OTHER_VERSION)
OTHER_MODULES := $(if $(OTHER_VERSION),$(KAMAILIO_MODULES:%=$(OTHER_DIR)/%.so))
# OpenSIPS: build/opensips/<module>.so from feature opensips-<module, _ as ->
OPENSIPS_MODULES := uac_auth uac auth uac_registrant
OPENSIPS_SO := $(OPENSIPS_MODULES:%=build/opensips/%.so)

.PHONY: all setup module kamailio-other other-modules test check run run-opensips call call-opensips deb clean bench FORCE bench-reg run-reg

all: module

# Debian packages (kamailio, sip-tester, libclang...) and the kamailio source package.
setup:
	scripts/setup

ifeq ($(origin KAMAILIO_SRC),undefined)
module: $(MODULES) kamailio-other $(OPENSIPS_SO)
else
module: kamailio-other
endif

# The modules for the other Kamailio tree (see OTHER_SRC); without one, the
# 6.1 build is missing: scripts/setup-kamailio61 (run by `make setup`) makes it.
# In a sub-make: OTHER_SRC is looked up when make reads this file, and on a
# fresh clone `make test` builds the 6.1 tree (setup) after that.
kamailio-other:
	@$(MAKE) --no-print-directory other-modules

other-modules: $(OTHER_MODULES)
	@[ -n "$(OTHER_VERSION)" ] || { echo "make: $(OTHER_MISSING)" >&2; exit 1; }

# Each module in its own target dir, so switching features never rebuilds the
# others; cargo decides what is out of date (FORCE: always ask it).
$(MODULES): build/kamailio/%.so: FORCE
	env -u KAMAILIO_SRC $(CARGO) build --release --no-default-features --features kamailio-$* --target-dir target/kamailio-$*
	mkdir -p build/kamailio
	cp target/kamailio-$*/release/libuac.so $@

$(OTHER_MODULES): $(OTHER_DIR)/%.so: FORCE
	KAMAILIO_SRC=$(OTHER_SRC) $(CARGO) build --release --no-default-features --features kamailio-$* --target-dir target/kamailio-$(OTHER_VERSION)-$*
	mkdir -p $(OTHER_DIR)
	cp target/kamailio-$(OTHER_VERSION)-$*/release/libuac.so $@

$(OPENSIPS_SO): build/opensips/%.so: FORCE
	$(CARGO) build --release --no-default-features --features opensips-$(subst _,-,$*) --target-dir target/opensips-$*
	mkdir -p build/opensips
	cp target/opensips-$*/release/libuac.so $@

# Every host and module together (several module features: nothing exported),
# in its own target dir.
CLIPPY_ALL := $(CARGO) clippy --release --all-targets --all-features --target-dir target/all-features -- -D warnings

check: module
	scripts/check-layers
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CLIPPY_ALL)
	for m in $(KAMAILIO_MODULES); do \
		env -u KAMAILIO_SRC $(CARGO) clippy --release --no-default-features --features kamailio-$$m \
			--target-dir target/kamailio-$$m -- -D warnings || exit 1; \
		KAMAILIO_SRC=$(OTHER_SRC) $(CARGO) clippy --release --no-default-features --features kamailio-$$m \
			--target-dir target/kamailio-$(OTHER_VERSION)-$$m -- -D warnings || exit 1; done
	for m in $(OPENSIPS_MODULES); do \
		$(CARGO) clippy --release --no-default-features --features opensips-$$(echo $$m | tr _ -) \
			--target-dir target/opensips-$$m -- -D warnings || exit 1; done

# The Kamailio integration test files: run against Debian's 5.6 with the
# rest, then again against the 6.1 build (UAC_TEST_HOST=6.1: tests/common's
# Host takes binary, stock modules, schemas and our build/kamailio-<version>/
# modules from it). Not twice: package (Debian's package), run_example
# (`make run`, Debian's kamailio), kamailio61_host (both hosts in each run).
KAMAILIO_TESTS := auth auth_linphone auth_msrp auth_server differential fidelity kemi \
	registration replace_restore send

# The floors of src/ (no import up, no cycle), clippy over every host and
# module, unit tests, then the integration tests that start the real kamailio
# (5.6 and 6.1) and opensips.
test: setup module
	scripts/check-layers
	$(CLIPPY_ALL)
	$(CARGO) test --release -- --test-threads=1
	UAC_TEST_HOST=6.1 $(CARGO) test --release $(KAMAILIO_TESTS:%=--test %) -- --test-threads=1
	$(CARGO) test --release --lib --no-default-features --features opensips --target-dir target/opensips-test

run: setup module
	scripts/run-example

# OpenSIPS 3.6.8: our uac_registrant with our uac_auth registering with a
# second OpenSIPS, the registrar (our auth under auth_db); our uac answers a
# call's 407
# (EXAMPLE=replace: examples/opensips-uac.cfg).
run-opensips: setup module
	scripts/run-opensips-example

# A test call through a running `make run` / `make run-opensips`: an INVITE to
# alice (TO=bob: bob) that goes out through that trunk, is challenged by the
# registrar with 407, authenticated and answered.
TO ?= alice
call:
	scripts/call-example $(TO)

call-opensips:
	RUN_DIR=$${RUN_DIR:-build/run-opensips-reg} scripts/call-example $(TO)

# build/deb/kamailio-uac-rs-modules_<version>_amd64.deb (scripts/make-deb).
deb: $(MODULES)
	scripts/make-deb

# Stock uac.so against ours on the same cfg and sipp load: CPU per call and
# instructions per call (callgrind), with ratios. Needs valgrind.
bench: setup module
	command -v valgrind >/dev/null || apt-get install -y -q valgrind
	python3 bench/run.py
	python3 bench/opensips.py
	python3 bench/opensips_auth.py

clean:
	$(CARGO) clean
	rm -rf build target

# Remote registrations: N uacreg rows in SQLite registered against a sipp
# registrar that challenges every REGISTER, stock uac.so against ours: seconds
# until all are registered, CPU, shm per account, idle CPU (see bench/reg.py);
# then the same for OpenSIPS's uac_registrant, stock against ours, with
# OPENSIPS_N rows (default 100,000) on OpenSIPS's default memory, and two
# nodes of ours sharing them (bench/reg_opensips.py).
N ?= 10000
OPENSIPS_N ?= 100000
bench-reg: setup module
	N=$(N) python3 bench/reg.py
	N=$(OPENSIPS_N) python3 bench/reg_opensips.py

# The remote registrations example (what `make run` runs by default).
run-reg: setup module
	scripts/run-reg-example
