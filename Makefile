# Two commands do everything on a fresh Debian machine: `make demo` and `make test`.
BUILD ?= build
JOBS ?= 2
PACKAGES := g++ cmake make libboost1.81-dev libyaml-cpp-dev prometheus-cpp-dev libgtest-dev ccache \
            libgoogle-perftools-dev curl python3 gunicorn uwsgi-core uwsgi-plugin-python3 chromium \
            man-db

.PHONY: all deps build test demo bench sanitize clean

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

# Every test again under AddressSanitizer and UndefinedBehaviorSanitizer (slow to build: not in CI).
sanitize: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_SANITIZE=ON
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -E dashboards

bench: build
	../shared/bench/compare.sh --sluice $(BUILD)/sluice --repeat 3

clean:
	rm -rf $(BUILD)
