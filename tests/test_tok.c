/* Tokenizer tests: the golden tokenizations of the reference (tests/data/tok, both vocabularies, special
 * parsing off and on), the spec's chat test vector, malformed vocabularies, inputs that must not be
 * quadratic, and the encoding speed on a few MB of source code. */
#define DARWIN_NO_MAIN
#include "../darwin.c"
#include "check.h"

typedef struct { char *s; size_t n; } blob;

static blob read_file(const char *path) {
    blob b = { 0 };
    FILE *f = fopen(path, "rb");
    if (!f) return b;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n > 0 && (b.s = malloc((size_t)n + 1)) && fread(b.s, 1, (size_t)n, f) == (size_t)n) b.n = (size_t)n, b.s[n] = 0;
    else { free(b.s); b.s = NULL; }
    fclose(f);
    return b;
}

/* cases.bin: u32 count, then per case u32 length + bytes */
static size_t load_cases(blob *cases, size_t max) {
    blob f = read_file(TEST_DATA "tok/cases.bin");
    size_t n = 0, pos = 4;
    if (f.n >= 4) {
        uint32_t count = rd32((const uint8_t *)f.s);
        for (; n < count && n < max && pos + 4 <= f.n; n++) {
            uint32_t len = rd32((const uint8_t *)f.s + pos);
            pos += 4;
            if (len > f.n - pos) break;
            cases[n].s = malloc(len + 1);
            memcpy(cases[n].s, f.s + pos, len);
            cases[n].n = len;
            pos += len;
        }
    }
    free(f.s);
    return n;
}

static tokenizer *load_vocab(const char *path, gguf_file *g) {
    static tokenizer t[2];
    static int k;
    tokenizer *tk = &t[k++ % 2];
    int ok = gguf_open(g, path) == 0 && tok_load(tk, g) == 0;
    check(ok, "%s: tokenizer loads (%s)", path, darwin_last_error());
    return ok ? tk : NULL;
}

static blob detokenize(const tokenizer *t, const int32_t *ids, size_t n) {
    size_t total = 0, len;
    for (size_t i = 0; i < n; i++) if (tok_piece(t, ids[i], &len)) total += len;
    blob b = { malloc(total + 1), 0 };
    for (size_t i = 0; i < n; i++) {
        const char *p = tok_piece(t, ids[i], &len);
        if (p) memcpy(b.s + b.n, p, len), b.n += len;
    }
    return b;
}

static int hex_equal(const char *hex, const blob *b) {
    size_t n = strlen(hex);
    if (n != 2 * b->n) return 0;
    for (size_t i = 0; i < b->n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v != (uint8_t)b->s[i]) return 0;
    }
    return 1;
}

/* Each case has two lines per mode: "<case> <special> <n>: ids..." and "<case> <special> rt: hex". */
static void check_golden(const tokenizer *t, const char *expect_path, const blob *cases, size_t n_cases) {
    blob e = read_file(expect_path);
    check(e.s != NULL, "%s readable", expect_path);
    int checked = 0;
    char *save = NULL;
    for (char *line = e.s ? strtok_r(e.s, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        unsigned c, sp, n;
        int off;
        if (sscanf(line, "%u %u %u:%n", &c, &sp, &n, &off) != 3 || c >= n_cases) continue;
        char *rt = strtok_r(NULL, "\n", &save);
        const char *hex = rt ? strstr(rt, "rt:") : NULL;
        int32_t *ids = NULL;
        size_t got = 0;
        int ok = hex && tok_encode(t, cases[c].s, cases[c].n, (int)sp, &ids, &got) == 0 && got == n;
        char *p = line + off;
        for (size_t i = 0; ok && i < n; i++) ok = strtol(p, &p, 10) == ids[i];
        blob d = detokenize(t, ids, got);
        int rt_ok = hex && hex_equal(hex + 3, &d);
        check(ok && rt_ok, "%s: case %u special=%u: %s", expect_path, c, sp, ok ? "detokenized bytes differ" : "ids differ");
        free(d.s);
        free(ids);
        checked++;
    }
    check(checked == 2 * (int)n_cases, "%s: %d of %zu case/mode pairs found", expect_path, checked, 2 * n_cases);
    free(e.s);
}

static int32_t id_of(const tokenizer *t, const char *text) {
    return tok_map_get(&t->vocab, t->pool, (const uint8_t *)text, (uint32_t)strlen(text), 0);
}

static int piece_is(const tokenizer *t, int32_t id, const char *text) {
    size_t len;
    const char *p = tok_piece(t, id, &len);
    return p && len == strlen(text) && !memcmp(p, text, len);
}

/* spec 6.2: its ids are the 248k Qwen3.5 vocabulary's; with Qwen3's the structure must be the same */
static void check_chat_vector(const tokenizer *t) {
    const char *s = "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
    int32_t *ids;
    size_t n;
    int ok = tok_encode(t, s, strlen(s), 1, &ids, &n) == 0 && n == 13;
    const char *want[13] = { "<|im_start|>", "user", "\n", "Hello", "<|im_end|>", "\n", "<|im_start|>", "assistant", "\n", "<think>", "\n\n", "</think>", "\n\n" };
    for (size_t i = 0; ok && i < 13; i++) ok = piece_is(t, ids[i], want[i]);
    check(ok, "spec 6.2 chat vector: 13 tokens with the expected pieces");
    check(ok && ids[2] == 198 && ids[10] == 271 && ids[4] == 151645 && tok_is_eog(t, ids[4]) && !tok_is_eog(t, ids[0]),
          "spec 6.2 chat vector: \\n = 198, \\n\\n = 271, <|im_end|> = 151645 is end-of-generation");
    free(ids);
    ok = tok_encode(t, s, strlen(s), 0, &ids, &n) == 0;
    for (size_t i = 0; ok && i < n; i++) ok = ids[i] != 151644 && ids[i] != 151645;
    check(ok, "special parsing off: <|im_start|> and <|im_end|> are plain text");
    free(ids);
}

static double encode_ms(const tokenizer *t, const char *s, size_t len, int32_t **ids, size_t *n) {
    double t0 = now_ms();
    if (tok_encode(t, s, len, 0, ids, n)) { *ids = NULL; *n = 0; }
    return now_ms() - t0;
}

/* round trip, and time growing linearly with the length (an eighth of the input against all of it:
 * quadratic merging would take 64 times as long; a ratio independent of the machine's speed) */
static void check_roundtrip(const tokenizer *t, const char *what, const char *s, size_t len) {
    int32_t *ids;
    size_t n;
    double small = encode_ms(t, s, len / 8, &ids, &n);
    free(ids);
    double ms = encode_ms(t, s, len, &ids, &n);
    blob d = detokenize(t, ids, n);
    check(ids && d.n == len && !memcmp(d.s, s, len), "%s: detokenizes to the input", what);
    check(ms <= 24 * small + 20, "%s: %.0f ms for all against %.0f ms for an eighth: not linear", what, ms, small);
    free(d.s);
    free(ids);
}

static void check_long_pieces(const tokenizer *t) {
    size_t n = 1 << 20;
    char *s = malloc(n);
    memset(s, 'a', n);
    check_roundtrip(t, "1 MB of 'a'", s, n);
    const char emoji[] = "\xF0\x9F\x98\x80";
    for (size_t i = 0; i + 4 <= 200000; i += 4) memcpy(s + i, emoji, 4);
    check_roundtrip(t, "200 kB of one emoji", s, 200000);
    memset(s, ' ', 300000);
    check_roundtrip(t, "300 kB of spaces", s, 300000);
    free(s);
}

static void check_invalid_utf8(const tokenizer *t) {
    const char s[] = "a\x80" "b\xC3" "\xE2\x82" "c\xF8\xFF\xF4\x90\x80\x80";
    int32_t *ids;
    size_t n;
    int ok = tok_encode(t, s, sizeof s - 1, 1, &ids, &n) == 0;
    blob d = ok ? detokenize(t, ids, n) : (blob){ 0 };
    /* each invalid byte becomes U+FFFD, as the reference decodes */
    const char want[] = "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD";
    check(ok && d.n == sizeof want - 1 && !memcmp(d.s, want, d.n), "invalid UTF-8 encodes as U+FFFD per bad byte");
    free(d.s);
    if (ok) free(ids);
    size_t len;
    check(!tok_piece(t, -1, &len) && !tok_piece(t, t->n_vocab, &len), "tok_piece rejects bad ids");
    check(tok_encode(t, "", 0, 1, &ids, &n) == 0 && n == 0, "empty text gives no tokens");
    free(ids);
}

/* ---- malformed vocabularies, on a metadata table built in memory ---- */

static gstr S(const char *s) { return (gstr){ s, strlen(s) }; }

static void check_malformed(void) {
    gstr toks[4] = { S("a"), S("b"), S("ab"), S("<|im_end|>") };
    gstr merges[3] = { S("a b"), S("nospace"), S("ab") };
    uint8_t types[16] = { 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0 };
    uint8_t eos[4] = { 99, 0, 0, 0 };
    gguf_kv kv[5] = {
        { .key = S("tokenizer.ggml.model"), .type = GT_STR, .str = S("gpt2") },
        { .key = S("tokenizer.ggml.pre"), .type = GT_STR, .str = S("qwen35") },
        { .key = S("tokenizer.ggml.tokens"), .type = GT_ARR, .arr_type = GT_STR, .arr_n = 4, .strs = toks },
        { .key = S("tokenizer.ggml.merges"), .type = GT_ARR, .arr_type = GT_STR, .arr_n = 3, .strs = merges },
        { .key = S("tokenizer.ggml.token_type"), .type = GT_ARR, .arr_type = GT_I32, .arr_n = 4, .data = types },
    };
    gguf_kv eos_kv = { .key = S("tokenizer.ggml.eos_token_id"), .type = GT_U32, .data = eos };
    gguf_kv all[6];
    memcpy(all, kv, sizeof kv);
    all[5] = eos_kv;
    gguf_file g = { .path = "mem", .n_kv = 6, .kv = all };
    tokenizer t;
    int32_t *ids;
    size_t n;
    int ok = tok_load(&t, &g) == 0;
    check(ok && t.eos == -1 && t.n_merges == 3, "merges without a space and an out-of-range eos id are tolerated");
    ok = ok && tok_encode(&t, "ab<|im_end|>abc", 15, 1, &ids, &n) == 0;
    check(ok && n == 3 && ids[0] == 2 && ids[1] == 3 && ids[2] == 2, "tiny vocabulary: merge, special token, unknown byte dropped");
    if (ok) free(ids), tok_free(&t);
    all[4].arr_n = 3;
    check(tok_load(&t, &g) == -1 && strstr(darwin_last_error(), "token_type"), "short token_type array refused: %s", darwin_last_error());
    all[4].arr_n = 4;
    all[2].arr_type = GT_I32;
    check(tok_load(&t, &g) == -1 && strstr(darwin_last_error(), "tokens"), "non-string tokens refused: %s", darwin_last_error());
    all[2].arr_type = GT_STR;
    toks[1] = S("a");
    check(tok_load(&t, &g) == -1 && strstr(darwin_last_error(), "same text"), "duplicate token refused: %s", darwin_last_error());
    toks[1] = S("b");
    all[0].str = S("llama");
    check(tok_load(&t, &g) == -1 && strstr(darwin_last_error(), "gpt2"), "non-BPE model refused: %s", darwin_last_error());
    all[0].str = S("gpt2");
    g.n_kv = 3;
    check(tok_load(&t, &g) == -1 && strstr(darwin_last_error(), "merges"), "missing merges refused: %s", darwin_last_error());
}

/* invalid bytes would come back as U+FFFD: the speed corpus keeps to valid UTF-8 so that it round-trips */
static int valid_utf8(const blob *b) {
    for (size_t i = 0; i < b->n;) {
        size_t at = i;
        if (utf8_next((const uint8_t *)b->s, b->n, &i) == 0xFFFD && (i - at != 3 || memcmp(b->s + at, "\xEF\xBF\xBD", 3))) return 0;
    }
    return 1;
}

/* Encoding speed on up to 4 MB of C headers and Python sources found on this machine. */
static void measure_speed(const tokenizer *t) {
    const char *dirs[] = { "/usr/include", "/usr/lib/python3" };
    blob all = { malloc(4 << 20), 0 };
    char cmd[256];
    for (size_t d = 0; d < 2 && all.n < (4u << 20); d++) {
        snprintf(cmd, sizeof cmd, "find %s -maxdepth 3 -name '*.[chp]*' -type f 2>/dev/null | sort | head -2000", dirs[d]);
        FILE *p = popen(cmd, "r");
        char path[1024];
        while (p && all.n < (4u << 20) && fgets(path, sizeof path, p)) {
            path[strcspn(path, "\n")] = 0;
            blob f = read_file(path);
            size_t take = f.n < (4u << 20) - all.n ? f.n : (4u << 20) - all.n;
            if (f.s && valid_utf8(&f)) memcpy(all.s + all.n, f.s, take), all.n += take;
            free(f.s);
        }
        if (p) pclose(p);
    }
    if (all.n < (1u << 20)) { printf("tokenizer speed: skipped (no source files found)\n"); free(all.s); return; }
    int32_t *ids;
    size_t n;
    double t0 = now_ms();
    int ok = tok_encode(t, all.s, all.n, 1, &ids, &n) == 0;
    double ms = now_ms() - t0;
    check(ok, "source code encodes");
    if (ok) {
        blob d = detokenize(t, ids, n);
        check(d.n == all.n && !memcmp(d.s, all.s, d.n), "source code round-trips");
        printf("tokenizer speed: %.2f MB in %.0f ms = %.1f MB/s (%zu tokens, %.2f bytes/token)\n",
               all.n / 1e6, ms, all.n / 1e3 / ms, n, (double)all.n / (double)n);
        free(d.s);
        free(ids);
    }
    free(all.s);
}

int main(void) {
    static blob cases[256];
    size_t n_cases = load_cases(cases, 256);
    check(n_cases == 83, "tok/cases.bin holds 83 cases (got %zu)", n_cases);
    gguf_file gq, gt;
    tokenizer *q = load_vocab(TEST_DATA "vocab-qwen3.gguf", &gq);
    tokenizer *tiny = load_vocab(TEST_DATA "tiny-mix.gguf", &gt);
    if (q) {
        check(q->n_vocab == 151669 && q->n_merges == 151387 && q->marks && !q->add_bos, "qwen3 vocabulary: sizes and pre-tokenizer");
        check(id_of(q, "Hello") == 9707, "qwen3 vocabulary: 'Hello' is 9707");
        check_golden(q, TEST_DATA "tok/qwen3vocab.public.txt", cases, n_cases);
        check_chat_vector(q);
        check_invalid_utf8(q);
        check_long_pieces(q);
        measure_speed(q);
        tok_free(q);
        gguf_close(&gq);
    }
    if (tiny) {
        check(tiny->n_vocab == 4082, "tiny-mix vocabulary size");
        check_golden(tiny, TEST_DATA "tok/tinyvocab.public.txt", cases, n_cases);
        tok_free(tiny);
        gguf_close(&gt);
    }
    check_malformed();
    for (size_t i = 0; i < n_cases; i++) free(cases[i].s);
    return check_done();
}
