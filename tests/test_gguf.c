/* test_gguf.c - the loader refuses bad input with one line naming the file, and never crashes.
 *
 * 1. Replays tests/data/corpus (written by tools/mkcorpus.py, plus inputs the fuzzer found): ok-* must
 *    load, bad-* must fail, any-* may do either; every failure leaves a one-line message naming the file.
 * 2. Systematic in-memory mutations of tests/data/tiny-mix.gguf: truncations, count/length fields
 *    overwritten with extreme values, random byte flips in the header region (fixed seed).
 * 3. The exact wording of a few messages (bad magic, version, truncation, unknown type, bounds, repack). */
#define DARWIN_NO_MAIN
#include "../darwin.c"
#include "check.h"
#include <dirent.h>

static char last_msg[1024];

/* parse + load a malloc'd copy of n bytes of buf; 1 if the model loaded, 0 if it was refused */
static int try_load(const char *name, const uint8_t *buf, size_t n) {
    filemap fm = { malloc(n ? n : 1), n, 0 };
    if (!fm.data) { check(0, "%s: out of memory", name); return 0; }
    if (n) memcpy(fm.data, buf, n);
    g_error[0] = 0;
    gguf_file g;
    darwin_model_params p = darwin_model_default_params();
    p.n_threads = 1;
    darwin_model *m = gguf_parse(&g, name, fm) ? NULL : model_from_gguf(&g, &p);
    snprintf(last_msg, sizeof last_msg, "%s", g_error);
    if (m) { darwin_model_free(m); return 1; }
    return 0;
}

/* a refusal must leave a non-empty single-line message naming the file */
static int good_error(const char *name) {
    return last_msg[0] && !strchr(last_msg, '\n') && strstr(last_msg, name) == last_msg;
}

static void replay_corpus(void) {
    DIR *d = opendir(TEST_DATA "corpus");
    if (!check(d != NULL, "cannot open " TEST_DATA "corpus")) return;
    struct dirent *e;
    int n_ok = 0, n_bad = 0;
    while ((e = readdir(d))) {
        const char *f = e->d_name;
        int want = !strncmp(f, "ok-", 3) ? 1 : !strncmp(f, "bad-", 4) ? 0 : !strncmp(f, "any-", 4) ? 2 : -1;
        if (want < 0) continue;
        char path[512];
        snprintf(path, sizeof path, TEST_DATA "corpus/%s", f);
        size_t n;
        uint8_t *buf = check_read_file(path, &n);
        if (!check(buf != NULL, "cannot read %s", path)) continue;
        int got = try_load(path, buf, n);
        free(buf);
        if (want == 1) { check(got, "%s should load: %s", f, last_msg); n_ok++; }
        if (want == 0) { check(!got, "%s should be refused", f); n_bad++; }
        if (!got) check(good_error(path), "%s: bad error message '%s'", f, last_msg);
        /* the same file through the real open path (mmap) */
        if (want != 1) {
            gguf_file g;
            g_error[0] = 0;
            darwin_model *m = gguf_open(&g, path) ? NULL : model_from_gguf(&g, NULL);
            if (m) darwin_model_free(m);
            else check(g_error[0] != 0, "%s: no error via gguf_open", f);
        }
    }
    closedir(d);
    check(n_ok >= 3 && n_bad >= 50, "corpus: %d ok, %d bad files", n_ok, n_bad);
}

/* the file's 8-byte count/length fields and a few 4-byte type fields, found by walking the header */
typedef struct { uint64_t off; int size; } field;

static int walk_value(const uint8_t *b, size_t n, uint64_t *p, uint32_t t, field *fs, int *nf, int depth) {
    if (t == GT_STR) {
        if (*p + 8 > n) return -1;
        fs[(*nf)++] = (field){ *p, 8 };
        *p += 8 + rd64(b + *p);
        return 0;
    }
    if (t != GT_ARR) { *p += GT_SIZE[t]; return 0; }
    if (*p + 12 > n) return -1;
    uint32_t et = rd32(b + *p);
    uint64_t cnt = rd64(b + *p + 4);
    fs[(*nf)++] = (field){ *p, 4 };
    fs[(*nf)++] = (field){ *p + 4, 8 };
    *p += 12;
    if (et != GT_STR && et != GT_ARR) { *p += cnt * GT_SIZE[et]; return 0; }
    for (uint64_t i = 0; i < cnt; i++) {
        int before = *nf;
        if (walk_value(b, n, p, et, fs, nf, depth + 1)) return -1;
        if (i >= 2) *nf = before;   /* the first two elements' lengths only */
    }
    return 0;
}

static void mutate_tiny_mix(void) {
    const char *path = TEST_DATA "tiny-mix.gguf";
    size_t n;
    uint8_t *base = check_read_file(path, &n);
    if (!check(base != NULL && n > 200000, "cannot read %s", path)) { free(base); return; }
    check(try_load(path, base, n), "tiny-mix.gguf loads: %s", last_msg);

    /* where things are */
    static field fs[4096];
    int nf = 0;
    fs[nf++] = (field){ 8, 8 }; fs[nf++] = (field){ 16, 8 };
    uint64_t p = 24, n_kv = rd64(base + 16), n_t = rd64(base + 8);
    for (uint64_t i = 0; i < n_kv; i++) {
        fs[nf++] = (field){ p, 8 };
        p += 8 + rd64(base + p);
        uint32_t t = rd32(base + p);
        fs[nf++] = (field){ p, 4 };
        p += 4;
        if (walk_value(base, n, &p, t, fs, &nf, 0)) break;
    }
    uint64_t info_start = p;
    for (uint64_t i = 0; i < n_t && nf < 4000; i++) {
        fs[nf++] = (field){ p, 8 };
        p += 8 + rd64(base + p);
        uint32_t nd = rd32(base + p);
        fs[nf++] = (field){ p, 4 };
        p += 4;
        for (uint32_t d = 0; d < nd; d++) { fs[nf++] = (field){ p, 8 }; p += 8; }
        fs[nf++] = (field){ p, 4 };     /* type */
        fs[nf++] = (field){ p + 4, 8 }; /* offset */
        p += 12;
    }
    uint64_t info_end = p;
    check(info_start > 1000 && info_end > info_start && info_end < n, "tiny-mix header walk (%llu..%llu)",
          (unsigned long long)info_start, (unsigned long long)info_end);

    /* truncations: ~200 cuts over the header and metadata, and a few in the data */
    int refused = 0, cuts = 0;
    for (int i = 0; i < 200; i++) {
        uint64_t cut = i < 40 ? (uint64_t)i : (uint64_t)i * info_end / 200 + (uint64_t)i % 7;
        if (try_load(path, base, cut)) { check(0, "truncated at %llu: loaded", (unsigned long long)cut); continue; }
        refused += good_error(path); cuts++;
    }
    for (int i = 1; i <= 8; i++) {
        uint64_t cut = info_end + (n - info_end) * i / 9;
        if (try_load(path, base, cut)) { check(0, "truncated at %llu: loaded", (unsigned long long)cut); continue; }
        refused += good_error(path); cuts++;
    }
    try_load(path, base, n - 1);
    check(strstr(last_msg, "out of bounds") != NULL, "one byte short: '%s'", last_msg);
    check(refused == cuts && cuts == 208, "truncations: %d of %d with a good message", refused, cuts);

    /* count/length fields overwritten with extreme values (the first few kvs, strings and tensors) */
    uint8_t *mut = malloc(n);
    static const uint64_t vals[] = { 0, 0xFFFFFFFFull, 1ull << 63, ~0ull, 0x7FFFFFFFull, 1ull << 32 };
    int runs = 0, bad = 0;
    for (int f = 0; f < nf; f++) {
        for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
            memcpy(mut, base, n);
            if (fs[f].size == 8) { uint64_t x = vals[v]; for (int k = 0; k < 8; k++) mut[fs[f].off + k] = (uint8_t)(x >> 8 * k); }
            else { uint32_t x = (uint32_t)vals[v]; for (int k = 0; k < 4; k++) mut[fs[f].off + k] = (uint8_t)(x >> 8 * k); }
            runs++;
            if (!try_load(path, mut, n) && !good_error(path)) { bad++; check(0, "field at %llu = %llx: message '%s'", (unsigned long long)fs[f].off, (unsigned long long)vals[v], last_msg); }
        }
    }
    check(runs > 500 && bad == 0, "field mutations: %d runs, %d bad messages", runs, bad);

    /* random byte flips in the header region, fixed seed */
    uint64_t s = 0x9E3779B97F4A7C15ull;
    runs = bad = 0;
    for (int r = 0; r < 3000; r++) {
        memcpy(mut, base, n);
        int k = 1 + r % 4;
        for (int j = 0; j < k; j++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            uint64_t at = (s >> 8) % info_end;
            mut[at] = (uint8_t)(r & 1 ? s : mut[at] ^ (1u << (s & 7)));
        }
        runs++;
        if (!try_load(path, mut, n) && !good_error(path)) { bad++; check(0, "flip run %d: message '%s'", r, last_msg); }
    }
    check(bad == 0, "byte flips: %d runs, %d bad messages", runs, bad);

    /* specific messages */
    memcpy(mut, base, n); mut[0] = 'X';
    check(!try_load(path, mut, n) && strstr(last_msg, "bad magic"), "bad magic: '%s'", last_msg);
    memcpy(mut, base, n); mut[4] = 7;
    check(!try_load(path, mut, n) && strstr(last_msg, "unsupported GGUF version 7"), "version: '%s'", last_msg);
    check(!try_load(path, base, 20000) && strstr(last_msg, "truncated at byte 20000"), "truncated: '%s'", last_msg);
    /* the first tensor's type and offset fields: the last two fields of its info */
    uint64_t t0 = info_start + 8 + rd64(base + info_start);
    uint32_t nd0 = rd32(base + t0);
    uint64_t type_at = t0 + 4 + 8ull * nd0;
    memcpy(mut, base, n); mut[type_at] = 77; mut[type_at + 1] = mut[type_at + 2] = mut[type_at + 3] = 0;
    check(!try_load(path, mut, n) && strstr(last_msg, "unknown type id 77 for tensor token_embd.weight"), "unknown type: '%s'", last_msg);
    memcpy(mut, base, n); mut[type_at] = 339 & 255; mut[type_at + 1] = 339 >> 8;
    check(!try_load(path, mut, n) && strstr(last_msg, "repack") && strstr(last_msg, "token_embd.weight"), "interleaved iq4_k_r4: '%s'", last_msg);
    memcpy(mut, base, n); mut[type_at] = 208; mut[type_at + 1] = 0;
    check(!try_load(path, mut, n) && strstr(last_msg, "repack") && strstr(last_msg, "q8_0_r8"), "interleaved q8_0_r8: '%s'", last_msg);
    memcpy(mut, base, n); mut[type_at + 4 + 6] = 0x10;   /* offset += 2^48 */
    check(!try_load(path, mut, n) && strstr(last_msg, "tensor token_embd.weight out of bounds"), "out of bounds: '%s'", last_msg);
    free(mut);
    free(base);
}

int main(void) {
    replay_corpus();
    mutate_tiny_mix();
    return check_done();
}
