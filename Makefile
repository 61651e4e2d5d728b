# Amber: one plain Makefile.  `make` builds build/libamber.a, build/libamber.so
# and build/amber; `make test`, `make asan`, `make demo`, `make bench`,
# `make deps`, `make install PREFIX=...`.  GPU=1 / CUDNN=1 add gpu/.

GPU      ?= 0
CUDNN    ?= 0
DEBUG    ?= 0
OPENMP   ?= 1
SANITIZE ?= 0
PREFIX   ?= /usr/local
CUDA_PATH ?= /usr/local/cuda
ARCH     ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
BUILD    ?= build

ifeq ($(CUDNN),1)
GPU := 1
endif

MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
# The OpenMP build of OpenBLAS shares libgomp's thread pool with Amber's own
# loops, so the two never spin against each other (docs/threading.md).
BLAS_INC := /usr/include/$(MULTIARCH)/openblas-openmp
BLAS_LIB := /usr/lib/$(MULTIARCH)/openblas-openmp

CC      ?= gcc
CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -fvisibility=hidden -MMD -MP \
           -Iinclude -I$(BLAS_INC)
LDLIBS  := -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) -lopenblas -ljansson -lz -lm -lpthread
LDLIBS  += -lpng -ljpeg

ifeq ($(DEBUG),1)
CFLAGS += -O0 -g
else
CFLAGS += -O2 -g -fvect-cost-model=dynamic
endif
ifeq ($(OPENMP),1)
CFLAGS += -fopenmp
LDLIBS += -fopenmp
else
# Values read only by OpenMP clauses (loop sizes in `if (n > AM_OMP_MIN)`)
# are unused once the pragmas are dropped.
CFLAGS += -Wno-unknown-pragmas -Wno-unused-variable -Wno-unused-parameter \
          -Wno-unused-but-set-variable
endif
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDLIBS += -fsanitize=address,undefined
endif
# ThreadSanitizer (`make tsan`): target_clones' ifunc resolvers run before
# TSan's runtime is up and crash at load, so the clones are left out.
ifeq ($(TSAN),1)
CFLAGS += -fsanitize=thread -fno-omit-frame-pointer -DAM_NO_TARGET_CLONES
LDLIBS += -fsanitize=thread
endif

LIB_SRC := $(wildcard ndarray/*.c ndarray/ops/*.c symbol/*.c executor/*.c hybrid/*.c)
GPU_C   :=
GPU_CU  :=
ifeq ($(GPU),1)
CFLAGS  += -DAM_USE_GPU -I$(CUDA_PATH)/include
GPU_C   := $(filter-out gpu/cudnn_%.c,$(wildcard gpu/*.c))
GPU_CU  := $(wildcard gpu/*.cu)
LDLIBS  += -L$(CUDA_PATH)/lib64 -Wl,-rpath,$(CUDA_PATH)/lib64 -lcudart -lcublas -lstdc++
NVCC    := $(CUDA_PATH)/bin/nvcc
NVFLAGS := $(ARCH) -O2 -Iinclude -DAM_USE_GPU -Xcompiler "-fPIC -fvisibility=hidden -Wall"
endif
ifeq ($(CUDNN),1)
CFLAGS  += -DAM_USE_CUDNN
GPU_C   += $(wildcard gpu/cudnn_*.c)
LDLIBS  += -lcudnn
endif

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GPU_C:%.c=$(BUILD)/%.o) $(GPU_CU:%.cu=$(BUILD)/%.cu.o)
TOOL_SRC := $(wildcard tools/*.c)
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

LIB_A  := $(BUILD)/libamber.a
LIB_SO := $(BUILD)/libamber.so
AMBER  := $(BUILD)/amber
TESTS  := $(BUILD)/test_amber
TUTORIALS := $(patsubst tutorials/%/main.c,$(BUILD)/tutorials/%,$(wildcard tutorials/*/main.c))

.PHONY: all test asan demo tutorials bench deps check-deps install clean linecount docs check-mxnet
.PHONY: profiling-png
all: check-deps $(LIB_A) $(LIB_SO) $(AMBER) $(TUTORIALS)

# ---- system packages ---------------------------------------------------------
DEB_PACKAGES := libopenblas-openmp-dev libjansson-dev libcunit1-dev zlib1g-dev dataset-fashion-mnist
DEB_PACKAGES += libpng-dev libjpeg62-turbo-dev
# `make fuzz` only: clang with libFuzzer and the sanitizer runtimes, and LLVM's OpenMP.
FUZZ_PACKAGES := clang libclang-rt-14-dev libomp-dev
# `amber bench models --chart`: gnuplot with its cairo PNG terminal, no X.
TOOL_PACKAGES := gnuplot-nox
# `make bench` only, tried and skipped with a reason when it cannot be installed:
# PyTorch, a peer of `amber bench models` (MXNet, the other, is check-mxnet's venv).
BENCH_PACKAGES := python3-torch
# `make profiling-png` only (installed by it): matplotlib for tools/trace_png.py.
PLOT_PACKAGES := python3-matplotlib
HAVE_DEPS = $(and $(wildcard $(BLAS_INC)/cblas.h),$(wildcard /usr/include/jansson.h),$(wildcard /usr/include/CUnit/CUnit.h),$(wildcard /usr/include/zlib.h))

deps:
	@missing=""; for p in $(DEB_PACKAGES) $(FUZZ_PACKAGES) $(TOOL_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "deps: all packages are installed"; fi

check-deps:
ifeq ($(HAVE_DEPS),)
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory deps; \
	else echo "missing packages: run 'sudo make deps' or 'sudo apt-get install $(DEB_PACKAGES)'"; exit 1; fi
endif

# ---- build ---------------------------------------------------------------------
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

$(AMBER): $(TOOL_OBJ) $(LIB_A)
	$(CC) -o $@ $(TOOL_OBJ) $(LIB_A) $(LDLIBS)

$(BUILD)/tutorials/%: tutorials/%/main.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

$(TESTS): $(TEST_OBJ) $(LIB_A) $(BUILD)/example-cc | $(AMBER)
	$(CC) -o $@ $(TEST_OBJ) $(LIB_A) $(LDLIBS) -lcunit

$(BUILD)/example-cc: Makefile
	@mkdir -p $(dir $@)
	@printf '%s\n%s\n' '$(EXAMPLE_CC)' '$(LDLIBS)' > $@

# How the examples suite compiles the examples in docs/ and the headers
# (tests/test_examples.c): this build's flags; unused names are fine there.
EXAMPLE_CC := $(CC) $(filter-out -MMD -MP -fvisibility=hidden,$(CFLAGS)) -Wno-unused-variable \
              -Wno-unused-but-set-variable -Wno-unused-function -Wno-unused-parameter

# ---- run -------------------------------------------------------------------------
# SUITES="ndarray ops" runs a subset.
test: check-deps $(TESTS) $(AMBER)
	$(TESTS) $(SUITES)

asan: check-deps
	$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 DEBUG=0 build-asan/test_amber
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  OMP_NUM_THREADS=2 build-asan/test_amber $(SUITES)

# The suites whose tests start threads of their own, under ThreadSanitizer.
# Without OpenMP (libgomp is not instrumented, so its pool would only raise
# false reports) and with one BLAS thread; the tests' pthreads are the point.
TSAN_SUITES ?= threads profiler
.PHONY: tsan
tsan: check-deps
	$(MAKE) --no-print-directory BUILD=build-tsan TSAN=1 OPENMP=0 DEBUG=0 build-tsan/test_amber
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 OMP_NUM_THREADS=1 \
	  build-tsan/test_amber $(TSAN_SUITES)

# The demo: a CNN learns Fashion-MNIST eagerly, then hybridized; its export
# runs in amber run, scored by the same program (tutorials/07-fashion-mnist).
demo: all
	@[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || \
	  { if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory deps; \
	    else echo "Fashion-MNIST is missing: run 'sudo make deps'"; exit 1; fi; }
	$(BUILD)/tutorials/07-fashion-mnist $(BUILD)
	$(AMBER) run $(BUILD)/fashion-symbol.json $(BUILD)/fashion-0000.params \
	  -i data=$(BUILD)/fashion-input.npy -o $(BUILD)/fashion-output.npy
	$(BUILD)/tutorials/07-fashion-mnist --score $(BUILD)/fashion-output.npy $(BUILD)/fashion-labels.npy

# Tutorials 01 to 06 and 08, each a small program with a README (07 is `make demo`).
tutorials: all
	$(BUILD)/tutorials/01-eager
	$(BUILD)/tutorials/02-autograd
	$(BUILD)/tutorials/03-static $(BUILD)
	$(AMBER) run $(BUILD)/circle-symbol.json $(BUILD)/circle-0000.params \
	  -i data=$(BUILD)/circle-input.npy -o $(BUILD)/circle-output.npy --repeat 100
	$(BUILD)/tutorials/04-blocks $(BUILD)
	$(BUILD)/tutorials/05-hybridize
	$(BUILD)/tutorials/06-export-deploy $(BUILD)
	$(AMBER) run $(BUILD)/spirals-symbol.json $(BUILD)/spirals-0000.params \
	  -i data=$(BUILD)/spirals-input.npy -o $(BUILD)/spirals-output.npy --repeat 100
	$(BUILD)/tutorials/08-profiling $(BUILD)

bench: all
	$(AMBER) bench ops
	$(AMBER) bench conv
	$(AMBER) bench blocks
	@for p in $(BENCH_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" && continue; \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$p \
	    || echo "bench: could not install $$p; its peer is skipped"; \
	  else echo "bench: $$p is missing (sudo apt-get install $$p); its peer is skipped"; fi; \
	done
	@[ -x $(CHECK_MXNET_VENV)/bin/python ] || echo "bench: no MXNet venv; run 'make check-mxnet' once to compare with MXNet"
	$(AMBER) bench models --json $(BUILD)/bench-models.json --chart $(BUILD)/bench-models.png

# docs/profiling.png: tutorial 08's trace drawn by tools/trace_png.py (one
# thread, so that the picture shows Amber rather than a busy machine's pools).
profiling-png: $(BUILD)/tutorials/08-profiling
	@/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || \
	  { if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PLOT_PACKAGES); \
	    else echo "profiling-png: matplotlib is missing: sudo apt-get install $(PLOT_PACKAGES)"; exit 1; fi; }
	OMP_NUM_THREADS=1 $(BUILD)/tutorials/08-profiling $(BUILD)
	/usr/bin/python3 tools/trace_png.py $(BUILD)/profile-trace.json docs/profiling.png --compare-modes

docs: $(AMBER)
	$(AMBER) ops --markdown > docs/ops.md.tmp && mv docs/ops.md.tmp docs/ops.md

install: all
	install -d $(PREFIX)/include/amber $(PREFIX)/lib/pkgconfig $(PREFIX)/bin
	install -m 644 include/amber/*.h $(PREFIX)/include/amber/
	install -m 644 $(LIB_A) $(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(PREFIX)/lib/
	install -m 755 $(AMBER) $(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/#define AM_VERSION_STRING "\(.*\)"/\1/p' include/amber/base.h)|' \
	    -e 's|@BLAS_LIB@|$(BLAS_LIB)|g' amber.pc.in > $(PREFIX)/lib/pkgconfig/amber.pc

linecount:
	@for d in include ndarray symbol executor hybrid gpu tools tests tutorials; do \
	  [ -d $$d ] && printf "%-10s %6s\n" $$d \
	    "$$(find $$d -name '*.[ch]' -o -name '*.cu' | xargs cat 2>/dev/null | wc -l)"; done; true

# ---- fuzzing: clang + libFuzzer -----------------------------------------------------
# Each tests/fuzz/fuzz_<name>.c is a libFuzzer target.  `make fuzz` links it
# with the library compiled by clang with ASan and UBSan in build/fuzz/, then
# runs it for FUZZ_TIME seconds over a scratch copy of tests/fuzz/corpus_<name>/
# (when there is one).  A crash, a sanitizer report, a leak or an allocation
# over FUZZ_MALLOC_MB fails the target; libFuzzer keeps the input that did it
# as build/fuzz/<name>-crash-... (rerun it with build/fuzz/fuzz_<name> FILE).
FUZZ_CC        ?= clang
FUZZ_TIME      ?= 60
FUZZ_MALLOC_MB ?= 64
FUZZ_BUILD     := build/fuzz
# Warnings stay on but are not errors here: the gcc build enforces them, and
# clang's differ (it reports OpenMP simd loops it cannot vectorize at -O1).
FUZZ_CFLAGS    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-pass-failed -MMD -MP -Iinclude \
                  -I$(BLAS_INC) -O1 -g -fno-omit-frame-pointer -fopenmp \
                  -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_LDLIBS    := -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) -lopenblas -ljansson -lz -lm -lpthread -fopenmp
FUZZ_LDLIBS    += -lpng -ljpeg
FUZZ_LIB_OBJ   := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_TARGETS   := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-build
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  name=$${t##*/fuzz_}; corpus=tests/fuzz/corpus_$$name; \
	  work=$$(mktemp -d /tmp/amber-fuzz-$$name.XXXXXX) || exit 1; \
	  [ -d $$corpus ] && cp $$corpus/* $$work/ 2>/dev/null; \
	  echo "fuzz: $$t for $(FUZZ_TIME) s over a copy of $$corpus (log: $$t.log)"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 OMP_NUM_THREADS=1 \
	    $$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	    -malloc_limit_mb=$(FUZZ_MALLOC_MB) -artifact_prefix=$(FUZZ_BUILD)/$$name- \
	    -print_final_stats=1 $$work > $$t.log 2>&1; rc=$$?; \
	  rm -rf $$work; \
	  if [ $$rc -ne 0 ]; then tail -n 60 $$t.log; \
	    echo "fuzz: $$t FAILED (exit $$rc); the input is in $(FUZZ_BUILD)/$$name-*"; exit 1; fi; \
	  grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done )' $$t.log; \
	done

fuzz-build:
	@command -v $(FUZZ_CC) >/dev/null || \
	  { echo "fuzz: $(FUZZ_CC) is missing: run 'make deps'"; exit 1; }
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/libamber.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libamber.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libamber.a $(FUZZ_LDLIBS)

# The graph fuzzer draws its ops from the registry's case tables.
FUZZ_CASE_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/%.o,tests/op_cases.c tests/test_util.c \
                   $(wildcard tests/cases_*.c))
$(FUZZ_BUILD)/fuzz_graph: tests/fuzz/fuzz_graph.c $(FUZZ_CASE_OBJ) $(FUZZ_BUILD)/libamber.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_CASE_OBJ) $(FUZZ_BUILD)/libamber.a \
	  $(FUZZ_LDLIBS)
-include $(FUZZ_CASE_OBJ:.o=.d)

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_TARGETS:=.d)

# ---- check-mxnet: real MXNet 1.9.1 judges Amber, in both directions ----------------
# docs/check-mxnet.md.  MXNet -> Amber: Gluon exports models that `amber run`
# must reproduce.  Amber -> MXNet: tests/mxnet/amber_export.c exports models
# that MXNet must load (SymbolBlock.imports, sym.load + simple_bind) and
# reproduce.  tests/mxnet/check.py judges both and ends on "N passed, N failed".
#
# MXNet runs in a virtual environment, made once (only while missing) from
# PyPI with Debian's own python3 (3.11; the pyenv python3 that may come first
# on PATH is not used).  The Debian packages it needs are installed as `make
# deps` installs its own: python3-venv gives `python3 -m venv` its ensurepip;
# the mxnet 1.9.1 wheel bundles OpenBLAS and libgfortran.so.3 but its
# libmxnet.so links the system's libgomp.so.1, and the bundled libgfortran
# links libquadmath.so.0, hence libgomp1 and libquadmath0.
CHECK_MXNET_PYTHON   ?= /usr/bin/python3
CHECK_MXNET_PACKAGES := python3 python3-venv libgomp1 libquadmath0
CHECK_MXNET_PIP      := mxnet==1.9.1 'numpy<1.24'
CHECK_MXNET_VENV     := $(BUILD)/mxnet-venv
CHECK_MXNET_WORK     := $(BUILD)/mxnet-check
CHECK_MXNET_EXPORT   := $(BUILD)/tests/mxnet/amber_export
CHECK_MXNET_BLOCKS   := $(BUILD)/tests/mxnet/block_export
CHECK_MXNET_IMPORT   := $(BUILD)/tests/mxnet/import_run

check-mxnet: check-deps $(AMBER) $(CHECK_MXNET_EXPORT) $(CHECK_MXNET_BLOCKS) $(CHECK_MXNET_IMPORT) \
             $(CHECK_MXNET_VENV)/.installed
	@rm -rf $(CHECK_MXNET_WORK) && mkdir -p $(CHECK_MXNET_WORK)/amber
	@# A model the exporter cannot export leaves <name>-error.txt, which
	@# check.py reports; a crash of the exporter itself is reported the same way.
	@$(CHECK_MXNET_EXPORT) $(CHECK_MXNET_WORK)/amber; rc=$$?; \
	  if [ $$rc -gt 1 ]; then echo "amber_export exited with status $$rc" \
	    > $(CHECK_MXNET_WORK)/amber/amber_export-error.txt; fi; \
	  $(CHECK_MXNET_BLOCKS) $(CHECK_MXNET_WORK)/amber; rc=$$?; \
	  if [ $$rc -gt 1 ]; then echo "block_export exited with status $$rc" \
	    > $(CHECK_MXNET_WORK)/amber/block_export-error.txt; fi; \
	  $(CHECK_MXNET_VENV)/bin/python -B tests/mxnet/check.py --amber $(AMBER) \
	    --import-run $(CHECK_MXNET_IMPORT) \
	    --work $(CHECK_MXNET_WORK) --amber-exports $(CHECK_MXNET_WORK)/amber

$(CHECK_MXNET_VENV)/.installed:
	@missing=""; for p in $(CHECK_MXNET_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "check-mxnet: missing packages:$$missing (run as root, or 'sudo apt-get install$$missing')"; exit 1; fi; \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing || exit 1; \
	fi
	@start=$$(date +%s); rm -rf $(CHECK_MXNET_VENV); \
	echo "check-mxnet: making $(CHECK_MXNET_VENV) with $(CHECK_MXNET_PIP) from PyPI"; \
	{ $(CHECK_MXNET_PYTHON) -m venv $(CHECK_MXNET_VENV) && \
	  $(CHECK_MXNET_VENV)/bin/pip install -q --disable-pip-version-check $(CHECK_MXNET_PIP) && \
	  $(CHECK_MXNET_VENV)/bin/python -B -c 'import mxnet as mx; assert mx.__version__ == "1.9.1", mx.__version__; assert mx.nd.ones((2,)).sum().asscalar() == 2'; \
	} || { rm -rf $(CHECK_MXNET_VENV); echo "check-mxnet: could not make $(CHECK_MXNET_VENV)"; exit 1; }; \
	touch $@; echo "check-mxnet: $(CHECK_MXNET_VENV) made in $$(( $$(date +%s) - start )) s"

$(BUILD)/tests/mxnet/%: tests/mxnet/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

-include $(CHECK_MXNET_EXPORT).d $(CHECK_MXNET_BLOCKS).d $(CHECK_MXNET_IMPORT).d

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
