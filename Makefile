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
