# Entry points. The build itself is CMake; this file only strings steps together.
#   make          build build/clickpulse
#   make demo     set up, build, run the product on its embedded default
#   make check    set up, build, run every test (CTest), then all of them again built with
#                 AddressSanitizer and UndefinedBehaviorSanitizer (build-asan; any report fails)
#   make bench    set up, build in release mode, run the benchmarks (JSON)
#   make fuzz     build the fuzz targets with clang/libFuzzer and run each for FUZZ_SECONDS
#   make format   clang-format the tree;  make lint: clang-tidy over the sources
BUILD ?= build
JOBS  ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all setup configure demo check bench fuzz clean format lint

all: configure
	@cmake --build $(BUILD) -j $(JOBS)

setup:
	@scripts/setup

configure:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

# The demo's build is quiet: its output goes to $(BUILD)/build.log, shown only on failure.
demo: setup configure
	@start=$$(date +%s); cmake --build $(BUILD) -j $(JOBS) > $(BUILD)/build.log 2>&1 || \
	  { grep -E -B2 -A6 'error|Error' $(BUILD)/build.log | grep -v 'Entering directory\|Leaving directory' | head -80; \
	    echo "demo: the build failed (all of it in $(BUILD)/build.log)"; exit 1; }; \
	  echo "demo: built $(BUILD)/clickpulse in $$(( $$(date +%s) - start )) s"
	@scripts/demo $(BUILD)/clickpulse

check: setup all
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600
	@JOBS=$(JOBS) scripts/check-sanitized build-asan

bench: setup
	@test -f build-release/CMakeCache.txt || cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build-release -j $(JOBS)
	@bench/run build-release

fuzz: setup
	@test -f build-fuzz/CMakeCache.txt || CC=clang cmake -S . -B build-fuzz -DCP_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@fuzz/run build-fuzz $(FUZZ_SECONDS)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

lint: all
	@git ls-files 'src/*.c' | xargs clang-tidy -p $(BUILD) --quiet

clean:
	@rm -rf $(BUILD) build-release build-fuzz build-asan
