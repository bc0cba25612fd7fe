# Lumen: one-command entry points. Everything else is plain CMake.
#
#   make demo            install missing Debian packages, build (Release), run pipelines/demo.yaml
#   make test            build, then run every test (ctest)
#   make test-sanitize   separate Debug build with AddressSanitizer + UBSan, then run every test
#   make fuzz            clang build of the libFuzzer targets, each run for FUZZ_SECONDS (default 30)
#   make bench           build, then bench/run_bench.sh (host overhead, throughput, peak memory)
#   make bench-photon    build, then bench/photon/photon_bench.sh (photon codec vs the Python baseline)
#   make bench-ptycho-qc build, then bench/ptycho/qc_bench.sh (ptycho.qc_score vs the numpy baseline)
#   make bench-tiles     build, then bench/tiles/tiles_bench.sh (FITS to PNG tiles vs numpy+astropy+Pillow)
#   make format          clang-format every tracked .cpp/.hpp
#   make clean           remove the build directories (runs/ is kept)
#
# Packages are installed with apt-get (through sudo when not root), and only when `dpkg -s`
# reports one missing. JOBS=N limits build parallelism (default: all cores).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BUILD_DIR ?= build
SANITIZE_DIR ?= build-sanitize
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 30
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2

# Build and test dependencies (BUILD-NOTES.md, plus xxhash and the Python used by tests).
DEB_PACKAGES := cmake g++ make pkg-config libboost-dev libboost-program-options-dev \
  libboost-filesystem-dev libcfitsio-dev libraw-dev libhdf5-dev libtiff-dev libpng-dev \
  libxtensor-dev xtl-dev libxsimd-dev libyaml-cpp-dev catch2 libblosc-dev libzstd-dev liblz4-dev \
  libdeflate-dev nlohmann-json3-dev libtbb-dev libeigen3-dev wcslib-dev libbenchmark-dev \
  libxxhash-dev python3-yaml python3-jsonschema python3-numpy \
  fitsverify python3-astropy python3-h5py python3-tifffile python3-mrcfile python3-zarr python3-numcodecs libxml2-dev libfftw3-dev \
  libcairo2-dev python3-pil libmd-dev

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# $(call ensure_packages,pkg...): apt-get install whatever dpkg does not report installed.
define ensure_packages
missing=(); \
for p in $(1); do \
  status=$$(dpkg -s "$$p" 2>/dev/null || true); \
  [[ $$status == *"Status: install ok installed"* ]] || missing+=("$$p"); \
done; \
if (( $${#missing[@]} )); then \
  echo "Installing missing Debian packages: $${missing[*]}"; \
  if [[ -n "$(SUDO)" ]] && ! command -v sudo >/dev/null; then \
    echo "error: not root and no sudo: install them as root: apt-get install $${missing[*]}" >&2; exit 1; \
  fi; \
  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null; \
  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$${missing[@]}" </dev/null; \
fi
endef

.PHONY: help deps build demo test build-sanitize test-sanitize fuzz bench bench-photon bench-ptycho-qc bench-tiles format clean

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@$(call ensure_packages,$(DEB_PACKAGES))

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	$(BUILD_DIR)/bin/lumen run pipelines/demo.yaml --run-dir runs/demo
	@echo
	@echo "Outputs: $(CURDIR)/runs/demo/outputs/ ($$(find runs/demo/outputs -type f | wc -l) files)"
	@echo "Events:  $(CURDIR)/runs/demo/logs/run_events.jsonl"
	@echo "(runs/demo keeps a ledger: running it again skips finished work; rm -rf runs/demo to redo it)"

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(CTEST_JOBS)

build-sanitize: deps
	cmake -S . -B $(SANITIZE_DIR) -DCMAKE_BUILD_TYPE=Debug -DLUMEN_SANITIZE=ON -DLUMEN_BUILD_BENCH=OFF
	cmake --build $(SANITIZE_DIR) -j $(JOBS)

test-sanitize: build-sanitize
	LSAN_OPTIONS=$${LSAN_OPTIONS:-suppressions=$(CURDIR)/tests/sanitizer/lsan.supp:print_suppressions=0} \
	ASAN_OPTIONS=$${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1} \
	UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	  ctest --test-dir $(SANITIZE_DIR) --output-on-failure -j $(CTEST_JOBS)

fuzz: deps
	@$(call ensure_packages,clang-14 libclang-rt-14-dev)
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLUMEN_FUZZ=ON
	cmake --build $(FUZZ_DIR) -j $(JOBS)
	tests/fuzz/run_fuzzers.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

bench: build
	@$(call ensure_packages,time)
	bench/run_bench.sh $(BUILD_DIR)

bench-photon: build
	@$(call ensure_packages,time)
	LUMEN=$(BUILD_DIR)/bin/lumen bench/photon/photon_bench.sh

bench-ptycho-qc: build
	@$(call ensure_packages,time)
	LUMEN=$(BUILD_DIR)/bin/lumen bench/ptycho/qc_bench.sh

bench-tiles: build
	@$(call ensure_packages,time)
	BUILD=$(BUILD_DIR) bench/tiles/tiles_bench.sh

format:
	@$(call ensure_packages,clang-format)
	git ls-files -z '*.cpp' '*.hpp' | xargs -0 -r clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(SANITIZE_DIR) $(FUZZ_DIR)
