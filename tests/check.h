/* Minimal test harness shared by the test programs: each program includes ../darwin.c (built with
 * DARWIN_NO_MAIN) so it can reach the static functions, counts its checks, prints one line per failure
 * and ends with "N passed, N failed" for tests/run.sh to add up. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
#include <stdarg.h>

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

/* path of a file under tests/data, whatever the working directory of make */
#ifndef TEST_DATA
#define TEST_DATA "tests/data/"
#endif
#endif
