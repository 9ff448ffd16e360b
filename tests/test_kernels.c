/* Matmul kernels: for every quant type in tests/data/quants and every ISA this machine has, the block
 * decoders reproduce the golden dequantization, mm_run matches a double-precision reference, n = 1 and
 * n = 37 give the same bits per token, and all ISAs give the scalar bits. */
#define DARWIN_NO_MAIN
#include "../darwin.c"
#include "check.h"

#define NT 37                    /* tokens of the batched run */

/* deterministic activations: gaussian-ish, token 1 with outliers, token 2 all zero */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float frand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) & 0xffffff) / 16777216.0f - 0.5f;
}
static void make_x(float *x, int64_t n) {
    for (int t = 0; t < NT; t++)
        for (int64_t i = 0; i < n; i++) {
            float v = (frand() + frand() + frand()) * (t % 5 + 1);
            if (t == 1 && i % 37 == 5) v *= 300.0f;
            if (t == 2) v = 0;
            x[t * n + i] = v;
        }
}

/* (1) the decoder in use: sc*v - mn reproduces the golden values (1 ulp) */
static void check_decoder(const qtype *q, const uint8_t *data, uint64_t rb, int rows, int64_t n, const float *want, const char *isa) {
    int16_t vl[KC], tmp[KC]; float sc[KS], mn[KS];
    /* iq2_kt / iq3_kt: the factor rides on the scale (rounded once) while the golden file applies it to the
     * rounded value: two roundings each side, so up to 2 ulps apart */
    uint32_t tol = !strcmp(q->name, "iq2_kt") || !strcmp(q->name, "iq3_kt") ? 2 : 1;
    int bad = 0;
    for (int r = 0; r < rows && !bad; r++)
        for (int64_t c = 0; c < n / KC + (n % KC != 0) && !bad; c++) {
            int hm = mm_dec_chunk(q, data + r * rb, n, c, vl, sc, mn, tmp);
            for (int e = 0; e < KC && c * KC + e < n; e++) {
                float y = sc[e / 16] * (float)vl[kl_pos(e)];
                if (hm) y = y - mn[e / 16];
                if (check_ulps(y, want[r * n + c * KC + e]) > tol) {
                    bad = 1;
                    check(0, "%s/%s: decoder row %d elem %lld: %g want %g", q->name, isa, r, (long long)(c * KC + e),
                          y, want[r * n + c * KC + e]);
                    break;
                }
            }
        }
    if (!bad) check(1, "");
}

/* (1b) a fast decoder writes the scalar decoder's bits, values and scales (full chunks: the others are scalar) */
static void check_fast_decoder(const qtype *q, const uint8_t *data, uint64_t rb, int rows, int64_t n, const char *isa) {
    kl_dec_fn fast = q->id < 160 ? kl_set.dec[q->id] : NULL;
    if (!fast) return;
    int16_t v0[KC], v1[KC], tmp[KC]; float s0[KS], s1[KS], mn[KS];
    int same = 1;
    for (int r = 0; r < rows; r++)
        for (int64_t c = 0; c < n / KC; c++) {
            kl_set.dec[q->id] = NULL;
            mm_dec_chunk(q, data + r * rb, n, c, v0, s0, mn, tmp);
            kl_set.dec[q->id] = fast;
            mm_dec_chunk(q, data + r * rb, n, c, v1, s1, mn, tmp);
            same &= !memcmp(v0, v1, sizeof v0) && !memcmp(s0, s1, sizeof s0);
        }
    check(same, "%s/%s: fast decoder differs from the scalar one", q->name, isa);
}

static float ys[4][NT * 16], ys1[4][NT * 16];     /* per ISA: the batched and the one-token results */

static void test_type(const char *name, int rows, int64_t n, uint64_t rb) {
    char path[256];
    const qtype *q = qtype_by_name(name);
    if (!check(q && !q->refuse, "%s: known type", name)) return;
    size_t qlen, flen;
    snprintf(path, sizeof path, TEST_DATA "quants/%s.q", name);
    uint8_t *data = check_read_file(path, &qlen);
    snprintf(path, sizeof path, TEST_DATA "quants/%s.deq-matmul.f32", name);
    float *want = check_read_file(path, &flen);
    if (!want) { snprintf(path, sizeof path, TEST_DATA "quants/%s.deq.f32", name); want = check_read_file(path, &flen); }
    if (!check(data && want && qlen == rb * (size_t)rows && flen == 4 * (size_t)rows * (size_t)n, "%s: data", name)) {
        free(data); free(want); return;
    }
    mat w = { NULL, q, data, rb, rows, n };
    float *x = malloc(sizeof(float) * NT * (size_t)n);
    make_x(x, n);
    pool *p = pool_new(2);
    int nisa = 0;
    for (int isa = 0; isa < 4; isa++) {
        if (kernel_use(isa) != isa) continue;
        const char *in = kl_set.name;
        nisa++;
        mm_ws ws;
        if (!check(mm_ws_init(&ws, p->n, n, NT) == 0, "%s/%s: workspace", name, in)) { mm_ws_free(&ws, p->n); continue; }
        if (q->dec) check_decoder(q, data, rb, rows, n, want, in);
        if (q->dec) check_fast_decoder(q, data, rb, rows, n, in);
        float *y = ys[isa];
        mm_run(p, &ws, &w, x, n, NT, y, rows);
        /* (3) one token at a time: the same bits */
        int same = 1;
        for (int t = 0; t < NT; t++) {
            float *y1 = ys1[isa] + t * rows;
            mm_run(p, &ws, &w, x + t * n, n, 1, y1, rows);
            for (int r = 0; r < rows; r++) same &= check_fbits(y1[r]) == check_fbits(y[t * rows + r]);
        }
        check(same, "%s/%s: n = 1 and n = %d differ", name, in, NT);
        /* (2) against double references: the int16 activations exactly (1e-6), the f32 ones (1e-4) */
        double worst_q = 0, worst_f = 0;
        int16_t *aq = malloc(sizeof(int16_t) * (size_t)ws.kp);
        float *ad = malloc(sizeof(float) * (size_t)ws.kp / 16), *as = malloc(sizeof(float) * (size_t)ws.kp / 16);
        for (int t = 0; t < NT; t++) {
            kl_quant_scalar(x + t * n, n, aq, ad, as);
            for (int r = 0; r < rows; r++) {
                double sq = 0, aq_abs = 0, sf = 0, af = 0;
                for (int64_t i = 0; i < n; i++) {
                    double wv = want[r * n + i], xa = (double)aq[i / KC * KC + kl_pos((int)(i % KC))] * ad[i / 16];
                    sq += wv * xa; aq_abs += fabs(wv * xa);
                    sf += wv * x[t * n + i]; af += fabs(wv * x[t * n + i]);
                }
                double got = y[t * rows + r];
                if (q->dec && aq_abs > 0) { double e = fabs(got - sq) / aq_abs; worst_q = e > worst_q ? e : worst_q; }
                if (!q->dec && af > 0) { double e = fabs(got - sf) / af; worst_q = e > worst_q ? e : worst_q; }
                if (af > 0) { double e = fabs(got - sf) / af; worst_f = e > worst_f ? e : worst_f; }
                if (af == 0) check(got == 0, "%s/%s: zero activations give %g", name, in, got);
            }
        }
        free(aq); free(ad); free(as);
        check(worst_q <= 1e-6, "%s/%s: vs int16-activation reference: %.3g relative", name, in, worst_q);
        check(worst_f <= 1e-4, "%s/%s: vs f32-activation reference: %.3g relative", name, in, worst_f);
        /* (4) every ISA gives the scalar bits, batched and one token at a time (the fused one-token dots) */
        if (isa > 0) {
            int bad = 0, bad1 = 0;
            for (int i = 0; i < NT * rows; i++) {
                bad += check_fbits(ys[isa][i]) != check_fbits(ys[0][i]);
                bad1 += check_fbits(ys1[isa][i]) != check_fbits(ys1[0][i]);
            }
            check(!bad && !bad1, "%s/%s: %d batched and %d one-token results differ from scalar", name, in, bad, bad1);
        }
        mm_ws_free(&ws, p->n);
    }
    check(nisa >= 1, "%s: at least the scalar path ran", name);
    pool_free(p);
    free(x); free(data); free(want);
}

int main(void) {
    size_t len;
    char *man = check_read_file(TEST_DATA "quants/manifest.tsv", &len);
    if (!check(man != NULL, "manifest.tsv")) return check_done();
    man = realloc(man, len + 1);
    man[len] = 0;
    int ntypes = 0;
    for (char *line = strtok(man, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64]; unsigned id; int rows; long long n; unsigned long long rb;
        if (sscanf(line, "%63s %u %d %lld %llu", name, &id, &rows, &n, &rb) != 5) continue;
        if (rows > 16) continue;
        test_type(name, rows, n, rb);
        ntypes++;
    }
    check(ntypes >= 37, "%d types tested", ntypes);
    free(man);
    printf("kernels: ISAs available here:");
    for (int isa = 0; isa < 4; isa++) if (kernel_use(isa) == isa) printf(" %s", kl_set.name);
    printf("\n");
    return check_done();
}
