# benchmarks/intel_settings.sh: the Intel benchmark's settings, sourced by intel.sh and
# intel_variant.sh so that a variant trains with what produced the cache it reuses (the cache's key
# covers views and sizes: a mismatch is refused, not silently retrained). Each is an environment
# variable with this default.
DATA=${DATA:-../shared/data/intel}
BUILD=${BUILD:-build}
RUNS=${RUNS:-runs/bench-intel}
EPOCHS=${EPOCHS:-40}
VIEWS=${VIEWS:-5}
MASTER_ARCH=${MASTER_ARCH:-efficientnet_lite2}
MASTER_SIZE=${MASTER_SIZE:-224}
STUDENT_SIZE=${STUDENT_SIZE:-96}
STUDENT_THREADS=${STUDENT_THREADS:-1}  # each student (two run side by side on 2 cores)
MASTER=${MASTER:-$BUILD/weights/$MASTER_ARCH.safetensors}
