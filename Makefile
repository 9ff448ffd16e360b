# darwin: `make` builds ./darwin with nothing but a C compiler; `make test` runs the whole suite.
CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -ffp-contract=off -pthread
LDLIBS  += -lm -pthread
SRC      = darwin.c darwin.h kernels.h $(wildcard parts/*.c)
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

clean-bin:
	rm -rf tests/bin darwin

clean: clean-bin

.PHONY: all test sanitize clean clean-bin

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
