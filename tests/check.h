/* Minimal test harness shared by the test programs: each program includes ../darwin.c (built with
 * DARWIN_NO_MAIN) so it can reach the static functions, counts its checks, prints one line per failure
 * and ends with "N passed, N failed" for tests/run.sh to add up. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int check_pass, check_fail;

/* one named check: prints FAIL lines only, so a run stays readable */
static int check(int ok, const char *fmt, ...) {
    if (ok) { check_pass++; return 1; }
    check_fail++;
    va_list ap; va_start(ap, fmt);
    fprintf(stdout, "FAIL: "); vfprintf(stdout, fmt, ap); fputc('\n', stdout);
    va_end(ap);
    return 0;
}

static int check_done(void) {
    printf("%d passed, %d failed\n", check_pass, check_fail);
    return check_fail ? 1 : 0;
}

/* a whole file in a malloc'd buffer (NULL if it cannot be read) */
static inline void *check_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(n > 0 ? (size_t)n : 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); p = NULL; }
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return p;
}

static inline uint32_t check_fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* distance in ulps between two floats; +0 and -0 are equal, different signs are far apart */
static inline uint32_t check_ulps(float a, float b) {
    uint32_t x = check_fbits(a), y = check_fbits(b);
    if (x == y || (a == 0 && b == 0)) return 0;
    if ((x ^ y) >> 31) return 0xffffffffu;
    return x > y ? x - y : y - x;
}

#ifdef DARWIN_H
/* the test model twice: as the file has it, and with every weight dequantized to f32 (the exact path) */
static inline int check_load_pair(const char *path, darwin_model **quantized, darwin_model **exact) {
    darwin_model_params mp = darwin_model_default_params();
    *quantized = darwin_model_load(path, &mp);
    mp.dequantize = 1;
    *exact = darwin_model_load(path, &mp);
    if (*quantized && *exact) return 0;
    printf("load %s: %s\n", path, darwin_last_error());
    return -1;
}
#endif

/* path of a file under tests/data, whatever the working directory of make */
#ifndef TEST_DATA
#define TEST_DATA "tests/data/"
#endif
#endif
