# Keel: the two set-up commands for a fresh Debian 12 machine are
#   make demo   installs what is missing, builds, runs the main job
#   make test   installs what is missing, builds, runs every test
# Other targets: build, asan, tsan, fuzz, bench, clean.

JOBS ?= $(shell nproc)
CTEST_FLAGS ?= --output-on-failure --timeout 600
FUZZ_SECONDS ?= 60

.PHONY: all deps build demo test test-release test-asan test-fuzz tsan test-tsan bench clean

all: build

T = @bash scripts/timed.sh

deps:
	$(T) deps bash -c 'bash scripts/install-deps.sh && bash scripts/install-npm.sh'

build: deps
	@cmake --preset release >/dev/null
	$(T) build cmake --build --preset release -j $(JOBS)

demo: build
	@bash scripts/demo.sh

# Every test: the release build (unit + integration), the libFuzzer targets
# (clang, so a clang-only warning fails early), the whole suite again under
# ASan+UBSan, and the unit tests under TSan (they hold the concurrent code:
# servers, clients, stores; the integration suites drive the same code through
# the binary and already run under ASan).
test: deps test-release test-fuzz test-asan test-tsan

test-release: build
	$(T) test-release ctest --test-dir build $(CTEST_FLAGS) -j 2

test-asan: deps
	@cmake --preset asan >/dev/null
	$(T) build-asan cmake --build --preset asan -j $(JOBS)
	$(T) test-asan ctest --test-dir build-asan $(CTEST_FLAGS)

test-fuzz: deps
	@cmake --preset fuzz >/dev/null
	$(T) build-fuzz cmake --build --preset fuzz -j $(JOBS) --target keel_fuzz_targets
	$(T) test-fuzz ctest --test-dir build-fuzz $(CTEST_FLAGS) -L fuzz

tsan: test-tsan
test-tsan: deps
	@cmake --preset tsan >/dev/null
	$(T) build-tsan cmake --build --preset tsan -j $(JOBS) --target keel_unit_tests
	$(T) test-tsan ctest --test-dir build-tsan $(CTEST_FLAGS) -L unit

bench: build
	bash bench/http_baseline.sh
	bash bench/load_vs_wrk.sh
	bash bench/chaos_overhead.sh
	bash bench/ratelimit_http.sh
	bash bench/ratelimit_limit_req.sh
	bash bench/ratelimit_grpc.sh
	bash bench/ratelimit_cpu.sh
	bash bench/orders.sh

clean:
	rm -rf build build-debug build-asan build-tsan build-fuzz
