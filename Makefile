# driftsim build. `make` builds bin/driftsim; `make check` and `make run` also install
# the Debian packages when they are missing (as root). PETSC_DIR/PETSC_ARCH are honoured
# when set (cluster modules); otherwise pkg-config finds Debian's PETSc.

PROGRAM   := bin/driftsim
BUILD     := build
MPIEXEC   ?= mpiexec
RANKS     ?= 2

# Portable by default: the pair loops are compiled once per ISA level (KERNEL_ISAS below) and
# chosen at run time, so a binary built on a login node runs, fast, on every node. Setting
# ARCH_FLAGS (-march=native, say) applies to every file, the generic level's too.
ARCH_FLAGS ?=
OPT_FLAGS  ?= -O3 $(ARCH_FLAGS) -fno-math-errno -fopenmp-simd
WARN_FLAGS := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
# Compiler and linker flags of an instrumented build (empty: none); check-sanitize sets them.
SANITIZE   :=

ifdef PETSC_DIR
  PKG_PATH := PKG_CONFIG_PATH=$(PETSC_DIR)/$(PETSC_ARCH)/lib/pkgconfig:$(PKG_CONFIG_PATH)
endif
PKG_CONFIG := $(PKG_PATH) pkg-config
PKGS       := PETSc hdf5-openmpi

DEPS_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
DEPS_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

CC        := mpicc
# Every make runs JOBS compilers at once (default: one per core), make check's builds too.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
MAKEFLAGS += -j$(JOBS)
GIT_REV   := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT_FLAGS) $(SANITIZE) $(WARN_FLAGS) -Iinclude $(DEPS_CFLAGS) \
             -DDS_GIT_REVISION='"$(GIT_REV)"' -DDS_BUILD_FLAGS='"$(strip $(OPT_FLAGS) $(SANITIZE))"' $(CFLAGS)
LDLIBS_ALL = $(SANITIZE) $(DEPS_LIBS) -lm $(LDLIBS)

# The pair loops (doc/design.md, "ISA levels"): each file compiled once per level of the
# target's architecture, with that level's flags and its entry points suffixed by its name.
KERNEL_SOURCES := src/kernels.c src/kernels_symmetric.c src/kernels_floor.c src/kernels_lse.c
ifneq ($(findstring x86_64,$(shell $(CC) -dumpmachine 2>/dev/null)),)
  KERNEL_ISAS ?= generic avx2 avx512
else
  KERNEL_ISAS ?= generic
endif
# The generic level, for x86-64 CPUs without AVX2 and the only level elsewhere, needs no ISA
# flag (its vectors are one SSE2 register, 2 doubles); it compiles at -O2, since a clean make
# has to fit in 50 s on 2 cores (the kernel files are 80 s of CPU), with -fpeel-loops: -O2
# alone leaves the loops over the few vectors of a group rolled, their arrays on the stack,
# and ran the pair loops 1.4 to 3 times slower (doc/performance.md). Its three files: 12.5 s
# at -O2, 15.1 s with -fpeel-loops, 17.3 s at -O3.
ISA_FLAGS_generic := -O2 -fpeel-loops
ISA_FLAGS_avx2    := -march=x86-64-v3
ISA_FLAGS_avx512  := -march=x86-64-v4
KERNEL_OBJECTS := $(foreach isa,$(KERNEL_ISAS),$(patsubst src/%.c,$(BUILD)/src/%.$(isa).o,$(KERNEL_SOURCES)))

LIB_SOURCES  := $(filter-out src/driftsim.c $(KERNEL_SOURCES),$(wildcard src/*.c src/*/*.c))
# The kernel objects first: they take most of a build (about 60 of 85 s serially), and make
# starts prerequisites in order, so the long ones begin while the short ones fill the gaps.
LIB_OBJECTS  := $(KERNEL_OBJECTS) $(patsubst src/%.c,$(BUILD)/src/%.o,$(LIB_SOURCES))
HEADERS      := $(wildcard include/*.h src/*.h src/*/*.h tests/*/*.h)
MPI_TEST_SOURCES := $(wildcard tests/mpi/*.c)
MPI_TEST_OBJECTS := $(patsubst tests/mpi/%.c,$(BUILD)/tests/mpi/%.o,$(MPI_TEST_SOURCES))
CLI_TEST_SOURCES := $(wildcard tests/cli/*.c)
CLI_TEST_OBJECTS := $(patsubst tests/cli/%.c,$(BUILD)/tests/cli/%.o,$(CLI_TEST_SOURCES))
MPI_TESTS := $(BUILD)/tests/ds_mpi_tests
KERNEL_BENCH := $(BUILD)/bench/kernel_bench
BASELINE_BENCH := $(BUILD)/bench/baseline_bench
CLI_TESTS := $(BUILD)/tests/ds_cli_tests

.PHONY: all deps check check-sanitize sanitized-build run bench clean
all: $(PROGRAM)

$(BUILD)/%.o: %.c $(HEADERS) | deps-built
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

define KERNEL_ISA_RULE
$(BUILD)/src/%.$(1).o: src/%.c $(HEADERS) | deps-built
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_ALL) $$(ISA_FLAGS_$(1)) -DDS_ISA=$(1) -c $$< -o $$@
endef
$(foreach isa,$(KERNEL_ISAS),$(eval $(call KERNEL_ISA_RULE,$(isa))))
# isa.c builds a table for each level compiled.
$(BUILD)/src/isa.o: CFLAGS_ALL += $(foreach isa,$(KERNEL_ISAS),-DDS_KERNEL_ISA_$(isa))

$(BUILD)/tests/%.o: CFLAGS_ALL += $(CHECK_CFLAGS)

$(PROGRAM): $(BUILD)/src/driftsim.o $(LIB_OBJECTS)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDLIBS_ALL)

$(MPI_TESTS): $(MPI_TEST_OBJECTS) $(LIB_OBJECTS)
	$(CC) $^ -o $@ $(CHECK_LIBS) $(LDLIBS_ALL)

$(CLI_TESTS): $(CLI_TEST_OBJECTS)
	$(CC) $^ -o $@ $(CHECK_LIBS) $(LDLIBS_ALL)

$(KERNEL_BENCH): $(BUILD)/bench/kernel_bench.o $(LIB_OBJECTS)
	$(CC) $^ -o $@ $(LDLIBS_ALL)

# make bench's plain-C baseline: no driftsim code, built as a user would build such a loop.
$(BASELINE_BENCH): bench/baseline_bench.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O3 -march=native -ffast-math $< -o $@ -lm

# Installs what is missing (Debian 12, as root); a no-op when everything is present.
deps:
	@tools/install-deps
deps-built:
	@command -v $(CC) >/dev/null && $(PKG_CONFIG) --exists $(PKGS) || \
	  { echo "driftsim: MPI, PETSc or parallel HDF5 not found; run 'make deps' (or 'make check'/'make run', which install them)"; exit 1; }
.PHONY: deps-built


# make check: the suites built as they are and built with AddressSanitizer (+ LeakSanitizer)
# and UndefinedBehaviorSanitizer into their own directory (the normal build is untouched),
# then tools/run-tests runs both side by side: the plain MPI suites at 1 to 4 ranks, every
# command-line test case and the script tests; the instrumented MPI suites at 1 and 2 ranks
# (the tests tagged "size", sizes through paths other tests take, left out) and the
# command-line cases SANITIZE_CLI_CASES against the instrumented driftsim (DS_DRIFTSIM). Any report of either sanitizer, from any process,
# fails it. Only memory that Open MPI (and one PETSc error path) keeps is exempt
# (tools/lsan.supp). make check-sanitize: the instrumented parts alone, every command-line
# case. Which cases make check instruments, and why, with the measured times: doc/design.md,
# "The test budget". Both builds use JOBS compilers at once (set above). The instrumented build compiles
# the pair loops at the generic level only (instrumented, each level's files take minutes of
# CPU: doc/design.md); the plain build's suites run every level this CPU has.
SANITIZE_BUILD := build-sanitize
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SANITIZE_CLI_CASES := cli columns
check: deps
	$(MAKE) -j$(JOBS) $(PROGRAM) $(MPI_TESTS) $(CLI_TESTS)
	$(MAKE) sanitized-build
	tools/run-tests --sanitize $(SANITIZE_BUILD) $(SANITIZE_CLI_CASES)

check-sanitize: deps
	$(MAKE) sanitized-build
	tools/run-tests --no-plain --sanitize $(SANITIZE_BUILD)

sanitized-build: $(SANITIZE_BUILD)/lib/libds_keep_loaded.so
	$(MAKE) -j$(JOBS) BUILD=$(SANITIZE_BUILD) PROGRAM=$(SANITIZE_BUILD)/bin/driftsim KERNEL_ISAS=generic \
	  OPT_FLAGS="-O1 -g $(ARCH_FLAGS) -fno-math-errno -fopenmp-simd" SANITIZE="$(SANITIZE_FLAGS)" \
	  $(SANITIZE_BUILD)/bin/driftsim $(SANITIZE_BUILD)/tests/ds_mpi_tests $(SANITIZE_BUILD)/tests/ds_cli_tests

# Preloaded into the instrumented test runs: dlclose keeps libraries loaded (the file says why).
$(SANITIZE_BUILD)/lib/libds_keep_loaded.so: tests/sanitize/keep_loaded.c
	@mkdir -p $(dir $@)
	cc -std=c11 -O2 -Wall -Wextra -shared -fPIC $< -o $@

run: deps
	$(MAKE) $(PROGRAM)
	tools/run-demo

bench: deps
	$(MAKE) $(PROGRAM) $(KERNEL_BENCH) $(BASELINE_BENCH)
	tools/bench

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD) bin
