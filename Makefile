# Keel: the two set-up commands for a fresh Debian 12 machine are
#   make demo   installs what is missing, builds, runs the main job
#   make test   installs what is missing, builds, runs every test
# Other targets: build, asan, tsan, fuzz, bench, clean.

JOBS ?= $(shell nproc)
CTEST_FLAGS ?= --output-on-failure --timeout 600
FUZZ_SECONDS ?= 60

.PHONY: all deps build demo test test-release test-asan test-fuzz tsan test-tsan bench clean

all: build

deps:
	@bash scripts/install-deps.sh
	@bash scripts/install-npm.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

demo: build
	@bash scripts/demo.sh

# Every test: the release build (unit + integration), the same suite under
# ASan+UBSan and under TSan, and the libFuzzer target for the request path.
test: deps test-release test-asan test-tsan test-fuzz

test-release: build
	cd build && ctest $(CTEST_FLAGS) -j 2

test-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	cd build-asan && ctest $(CTEST_FLAGS)

test-fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	cd build-fuzz && ctest $(CTEST_FLAGS) -L fuzz

tsan: test-tsan
test-tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)
	cd build-tsan && ctest $(CTEST_FLAGS)

bench: build
	bash bench/http_baseline.sh
	bash bench/load_vs_wrk.sh
	bash bench/chaos_overhead.sh
	bash bench/ratelimit_http.sh
	bash bench/ratelimit_grpc.sh
	bash bench/ratelimit_cpu.sh

clean:
	rm -rf build build-debug build-asan build-tsan build-fuzz
