# Two commands do everything on a fresh Debian machine: `make demo` and `make test`.
BUILD ?= build
JOBS ?= 2
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere (CI) hits the cache.
export CCACHE_BASEDIR := $(CURDIR)
# clang-16 and its libFuzzer build the fuzz targets (bookworm's default clang 14 cannot compile
# libstdc++ 12's ranges, which config/ uses).
PACKAGES := g++ cmake make libboost1.81-dev libyaml-cpp-dev prometheus-cpp-dev libgtest-dev ccache \
            libgoogle-perftools-dev curl python3 gunicorn uwsgi-core uwsgi-plugin-python3 chromium \
            man-db clang-16 libfuzzer-16-dev clang-format wrk libssl-dev openssl libc-ares-dev \
            python3-yaml pkgconf liburing-dev
FUZZ_CXX ?= clang++-16
# Seconds per fuzz target in `make fuzz`.
SECONDS ?= 60
# Seconds of traffic in `make soak` (CI runs 30).
SOAK_SECONDS ?= 300

.PHONY: all deps build test demo bench sanitize tsan soak endurance fuzz ci clean

all: build

deps:
	@bash .ci/deps.sh $(PACKAGES)

$(BUILD)/Makefile: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure

demo: build
	./$(BUILD)/sluice demo

# The unit and integration tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
# -O1 and line tables only: a quicker build than -O2 -g, with stacks that still name each line.
sanitize: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_SANITIZE=ON \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"
	cmake --build build-asan -j$(JOBS)
	bash .ci/sanitized-ctest build-asan -E 'dashboards|realworld|browser|docs'

# The event-loop threads, the admin and checker threads and the reload path under ThreadSanitizer:
# the tests that run sluice's threads (the pure-logic unit tests have none), no suppressions.
tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TSAN=ON \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"
	cmake --build build-tsan -j$(JOBS) --target sluice sluice_io_tests sluice_integration_tests
	bash .ci/sanitized-ctest build-tsan -R '^(unit_io|integration)$$'

# The fault soak (tests/soak/soak.py): backends killed, slowed, resetting and failing their
# checks under load for SOAK_SECONDS; every request answered and logged once, no server over its
# max_connections, no descriptor lost.
soak: build
	python3 tests/soak/soak.py $(BUILD)/sluice --seconds $(SOAK_SECONDS)

# A million mixed requests with a SIGHUP every 100,000: RSS and descriptors must not grow after
# the warm-up (tests/soak/endurance.py; about ten minutes; not in CI).
endurance: build
	python3 tests/soak/endurance.py $(BUILD)/sluice

# Every fuzz target for SECONDS seconds, JOBS at a time (tests/fuzz/README.md), in build-fuzz/.
fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_FUZZ=ON \
	  -DCMAKE_CXX_COMPILER=$(FUZZ_CXX)
	cmake --build build-fuzz -j$(JOBS)
	bash tests/fuzz/run.sh build-fuzz $(SECONDS) $(JOBS)

# What .ci/run runs: the format check, the tests, a short soak, the tests under the sanitizers,
# and a short run of each fuzzer.
ci: format-check test
	$(MAKE) soak SOAK_SECONDS=30
	$(MAKE) sanitize
	$(MAKE) tsan
	$(MAKE) fuzz SECONDS=30

bench: build
	../shared/bench/compare.sh --sluice $(BUILD)/sluice --repeat 3

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz

# Every C++ source and header as the root .clang-format has it; cheap, so .ci/run runs it first.
# Generated sources live in build directories, which are not among these folders.
CLANG_FORMAT ?= clang-format
FORMAT_FILES = $(shell find proxy config health net admin demo exe tests \
                 -name '*.cpp' -o -name '*.hpp' | sort)
.PHONY: format-check
format-check: deps
	@$(CLANG_FORMAT) --dry-run -Werror $(FORMAT_FILES) && echo 'format-check: clean'
