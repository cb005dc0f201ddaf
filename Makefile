# cudistill: one-command set-up and runs. Each target installs the Debian packages it needs when
# they are missing, configures with CMake (CUDA on when nvcc is found) and builds.
#   make test        build everything, run the test suite (ctest)
#   make bench       build, run the CPU benchmark (GEMM and a ResNet conv stack)
#   make test-asan   the test suite under AddressSanitizer + UBSan (CPU-only build)
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps configure build test bench test-asan clean

deps:
	@missing=""; \
	[ -f /usr/include/stb/stb_image.h ] || missing="$$missing libstb-dev"; \
	[ -f /usr/include/doctest/doctest.h ] || missing="$$missing doctest-dev"; \
	command -v cmake >/dev/null || missing="$$missing cmake"; \
	command -v ninja >/dev/null || missing="$$missing ninja-build"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi

configure: deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure

bench: build
	OMP_NUM_THREADS=$(JOBS) ./$(BUILD)/apps/bench --json $(BUILD)/bench.json

test-asan: deps
	cmake -S . -B $(BUILD)-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCUDISTILL_SANITIZE=ON -DCUDISTILL_CUDA=OFF
	cmake --build $(BUILD)-asan -j $(JOBS)
	ctest --test-dir $(BUILD)-asan --output-on-failure

clean:
	rm -rf $(BUILD) $(BUILD)-asan
