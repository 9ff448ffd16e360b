# darwin: `make` builds ./darwin with nothing but a C compiler; `make test` runs the whole suite.
CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -ffp-contract=off -pthread
LDLIBS  += -lm -pthread
SRC      = darwin.c darwin.h kernels.h
TESTS    = $(patsubst tests/%.c,tests/bin/%,$(wildcard tests/test_*.c))

all: darwin

darwin: $(SRC)
	$(CC) $(CFLAGS) -o $@ darwin.c $(LDLIBS)

tests/bin/%: tests/%.c tests/check.h $(SRC)
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

test: darwin $(TESTS)
	@sh tests/run.sh

# the same suite under AddressSanitizer and UndefinedBehaviorSanitizer, in a separate build folder
sanitize:
	$(MAKE) -s clean-bin
	$(MAKE) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test
	$(MAKE) -s clean-bin

# arm64: the same engine cross-built with Debian's aarch64 compiler, its tests run under qemu-user
CROSS       ?= aarch64-linux-gnu-
CROSS_TESTS  = test_quants test_kernels test_tok test_fwd
CROSS_RUN   ?= qemu-aarch64 -L /usr/aarch64-linux-gnu
cross-test:
	@mkdir -p tests/bin-arm64
	for t in $(CROSS_TESTS); do $(CROSS)gcc $(CFLAGS) -o tests/bin-arm64/$$t tests/$$t.c $(LDLIBS) || exit 1; done
	@BIN=tests/bin-arm64 RUNNER="$(CROSS_RUN)" CLI=0 sh tests/run.sh

clean-bin:
	rm -rf tests/bin tests/bin-arm64 darwin

clean: clean-bin

.PHONY: all test sanitize cross-test clean clean-bin

# libFuzzer harness for the loader (needs clang): runs FUZZ_SECONDS over a scratch corpus seeded with tests/data/corpus
FUZZ_SECONDS ?= 600
FUZZ_CC      ?= clang
tests/bin/fuzz_gguf: tests/fuzz_gguf.c $(SRC)
	@mkdir -p tests/bin
	$(FUZZ_CC) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11 -pthread -o $@ tests/fuzz_gguf.c -lm

fuzz: tests/bin/fuzz_gguf
	@mkdir -p tests/bin/fuzz-corpus
	tests/bin/fuzz_gguf -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 -max_len=70000 -print_final_stats=1 tests/bin/fuzz-corpus tests/data/corpus

.PHONY: fuzz

# llama-bench style table on the benchmark model (the real 27B layer shapes and type mix, 1.8 GB),
# built from ../shared by its generator the first time
BENCH_MODEL ?= perf.gguf
BENCH_ARGS  ?= -p 64,512 -n 16,64 -r 3 -t 2
$(BENCH_MODEL):
	python3 ../shared/tools/mkperf.py --layers 4 --mtp --out $@ || /usr/bin/python3 ../shared/tools/mkperf.py --layers 4 --mtp --out $@

bench: darwin $(BENCH_MODEL)
	./darwin --bench -m $(BENCH_MODEL) $(BENCH_ARGS)
	./darwin --bench -m tests/data/tiny-mix.gguf $(BENCH_ARGS)

.PHONY: bench
