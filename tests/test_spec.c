/* Speculative decoding: identical greedy output with MTP, prompt-lookup and no drafting; after every
 * round the next logits and the recurrent state equal those of plain decoding; with sampling the
 * token distribution matches plain decoding (chi-square); the MTP logits of the prompt warm-up equal the
 * golden teacher-forced rows. */
#define DARWIN_NO_MAIN
#include "../darwin.c"
#include "check.h"

#define FWD TEST_DATA "fwd/"
#define N_GEN 32

static const char *const PROMPTS[] = { "p1-code", "p2-chat", "p3-long", "p4-unicode" };

static int32_t *read_prompt(const char *name, int *n) {
    char path[256];
    snprintf(path, sizeof path, FWD "%s.tokens.txt", name);
    FILE *f = fopen(path, "r");
    int ng;
    if (!f || fscanf(f, "%d %d", n, &ng) != 2) exit(2);
    int32_t *t = malloc(*n * sizeof *t);
    for (int i = 0; i < *n; i++) if (fscanf(f, "%d", &t[i]) != 1) exit(2);
    fclose(f);
    return t;
}

typedef struct run {
    int32_t ids[N_GEN];
    float *logits;             /* N_GEN x V: what each token was sampled from */
    darwin_snapshot *snap[N_GEN];  /* plain decoding: state before sampling token i (after i tokens generated) */
} run;

/* generate N_GEN tokens; record logits (and, for plain decoding, snapshots) */
static void generate(darwin_model *m, const int32_t *prompt, int n, darwin_spec_params sp, float temp, uint64_t seed, run *r, int snaps, int n_gen) {
    int V = darwin_n_vocab(m);
    darwin_ctx_params cp = darwin_ctx_default_params();
    cp.mtp = sp.type == DARWIN_SPEC_MTP;
    darwin_ctx *c = darwin_ctx_new(m, &cp);
    darwin_sampler_params smp = darwin_sampler_default_params();
    smp.temp = temp; smp.seed = seed;
    darwin_sampler *s = darwin_sampler_new(m, &smp);
    darwin_gen *g = darwin_gen_new(c, s, &sp);
    if (!g || darwin_gen_prompt(g, prompt, n, NULL)) { printf("gen: %s\n", darwin_last_error()); exit(2); }
    for (int got = 0; got < n_gen;) {
        int32_t t[72];
        if (snaps) r->snap[got] = darwin_snapshot_take(c);
        int k = darwin_gen_next(g, t, 72);
        if (k < 1) { printf("gen_next: %s\n", darwin_last_error()); exit(2); }
        for (int i = 0; i < k && got < n_gen; i++) r->ids[got++] = t[i];
        if (r->logits) memcpy(r->logits + (size_t)(got - 1) * V, darwin_gen_logits(g), V * sizeof(float));
    }
    darwin_gen_free(g);
    darwin_sampler_free(s);
    darwin_ctx_free(c);
}

static darwin_spec_params spec(int type, int n_max) {
    darwin_spec_params p = darwin_spec_default_params();
    p.type = type; p.n_max = n_max;
    return p;
}

/* greedy: every drafter and n_max gives the same ids */
static void test_greedy(darwin_model *m, const char *label) {
    for (int pi = 0; pi < 4; pi++) {
        int n;
        int32_t *prompt = read_prompt(PROMPTS[pi], &n);
        run base = {0};
        generate(m, prompt, n, spec(DARWIN_SPEC_NONE, 1), 0, 1, &base, 0, N_GEN);
        for (int type = DARWIN_SPEC_MTP; type <= DARWIN_SPEC_NGRAM; type++)
            for (int k = 1; k <= 4; k++) {
                run r = {0};
                generate(m, prompt, n, spec(type, k), 0, 1, &r, 0, N_GEN);
                check(!memcmp(r.ids, base.ids, sizeof r.ids), "%s %s: greedy ids with %s n_max=%d differ from plain decoding",
                      label, PROMPTS[pi], type == DARWIN_SPEC_MTP ? "mtp" : "ngram", k);
            }
        free(prompt);
    }
}

/* compare the recurrent state of ctx with a snapshot */
static double state_diff(const darwin_ctx *c, const darwin_snapshot *s) {
    darwin_snapshot *now = darwin_snapshot_take(c);
    double d = now->n_past == s->n_past ? 0 : INFINITY;
    for (int64_t i = 0; i < snapshot_floats(c); i++) d = fmax(d, fabs(now->state[i] - s->state[i]));
    darwin_snapshot_free(now);
    return d;
}

/* after every round (rejections included) the logits and the state equal plain decoding's */
static void test_rollback(darwin_model *m) {
    int n, V = darwin_n_vocab(m);
    int32_t *prompt = read_prompt("p1-code", &n);
    run base = {0};
    base.logits = malloc((size_t)N_GEN * V * sizeof(float));
    generate(m, prompt, n, spec(DARWIN_SPEC_NONE, 1), 0, 1, &base, 1, N_GEN);
    darwin_spec_params sp = spec(DARWIN_SPEC_MTP, 4);
    sp.p_min = 0;   /* always draft 4: the random model rejects most of them */
    darwin_ctx_params cp = darwin_ctx_default_params();
    cp.mtp = 1;
    darwin_ctx *c = darwin_ctx_new(m, &cp);
    darwin_sampler_params smp = darwin_sampler_default_params();
    smp.temp = 0;
    darwin_sampler *s = darwin_sampler_new(m, &smp);
    darwin_gen *g = darwin_gen_new(c, s, &sp);
    darwin_gen_prompt(g, prompt, n, NULL);
    double worst_l = 0, worst_s = 0;
    int got = 0, rejections = 0;
    while (got < N_GEN) {
        int32_t t[72];
        int k = darwin_gen_next(g, t, 72);
        got += k;
        if (got > N_GEN) break;
        /* the state now holds got - 1 generated tokens, as plain decoding's before producing token got */
        if (got < N_GEN) worst_s = fmax(worst_s, state_diff(c, base.snap[got]));
        const float *l = darwin_gen_logits(g), *b = base.logits + (size_t)(got - 1) * V;
        for (int i = 0; i < V; i++) worst_l = fmax(worst_l, fabs(l[i] - b[i]));
    }
    darwin_spec_stats st = darwin_gen_stats(g);
    rejections = (int)(st.drafted - st.accepted);
    check(rejections > 0, "the rollback test rejected no draft");
    check(worst_l <= 1e-5, "logits after speculative rounds differ from plain decoding by %.3g", worst_l);
    check(worst_s <= 1e-5, "recurrent state after speculative rounds differs from plain decoding by %.3g", worst_s);
    printf("rollback: %lld drafts, %lld accepted, max |dlogit| %.2e, max |dstate| %.2e\n", (long long)st.drafted, (long long)st.accepted, worst_l, worst_s);
    for (int i = 0; i < N_GEN; i++) darwin_snapshot_free(base.snap[i]);
    free(base.logits); free(prompt);
    darwin_gen_free(g); darwin_sampler_free(s); darwin_ctx_free(c);
}

/* chi-square homogeneity of the tokens at positions 1..3 with and without drafting (different seeds),
 * on the trained model, whose drafts are often accepted */
static void test_distribution(darwin_model *m) {
    enum { RUNS = 300, POS = 3 };
    int V = darwin_n_vocab(m);
    const char *text = "import os\n\ndef read_config(path):\n    \"\"\"";
    int32_t prompt[64];
    int n = darwin_tokenize(m, text, strlen(text), 1, prompt, 64);
    int *cnt = calloc((size_t)2 * V * POS, sizeof *cnt);
    darwin_spec_params sp = spec(DARWIN_SPEC_MTP, 3);
    sp.p_min = 0;
    for (int r = 0; r < RUNS; r++)
        for (int w = 0; w < 2; w++) {
            run x = {0};
            generate(m, prompt, n, w ? sp : spec(DARWIN_SPEC_NONE, 1), 0.8f, 1000003ull * (uint64_t)(r + 1) + (uint64_t)w * 7777, &x, 0, 1 + POS);
            for (int p = 0; p < POS; p++) cnt[(w * POS + p) * V + x.ids[1 + p]]++;
        }
    for (int p = 0; p < POS; p++) {
        /* categories with an expected count >= 5 each, the rest pooled */
        double chi = 0, pa = 0, pb = 0;
        int df = -1;
        for (int t = 0; t < V; t++) {
            int a = cnt[p * V + t], b = cnt[(POS + p) * V + t];
            if (a + b >= 10) {
                double e = (a + b) / 2.0;
                chi += (a - e) * (a - e) / e + (b - e) * (b - e) / e;
                df++;
            } else { pa += a; pb += b; }
        }
        if (pa + pb >= 10) { double e = (pa + pb) / 2; chi += (pa - e) * (pa - e) / e + (pb - e) * (pb - e) / e; df++; }
        /* Wilson-Hilferty: the 0.999 quantile of chi-square with df degrees of freedom */
        double z = 3.09, k = df > 0 ? df : 1, q = k * pow(1 - 2 / (9 * k) + z * sqrt(2 / (9 * k)), 3);
        check(df >= 0 && chi <= q, "sampled token %d: chi-square %.1f exceeds %.1f (df %d): drafting changes the distribution", p + 1, chi, q, df);
        printf("distribution of token %d: chi-square %.1f, df %d, 0.999 quantile %.1f\n", p + 1, chi, df, q);
    }
    free(cnt);
}

/* the MTP rows computed while the prompt warms the MTP cache, against golden teacher-forced rows */
static void test_warmup_logits(darwin_model *x) {
    int n, V = darwin_n_vocab(x), cols = (V + 3) / 4;
    int32_t *prompt = read_prompt("p1-code", &n);
    float *gold = malloc((size_t)n * cols * sizeof *gold), *ml = malloc((size_t)n * V * sizeof *ml);
    FILE *f = fopen(FWD "p1-code.mtp-logits.f32", "rb");
    if (!f || fread(gold, sizeof *gold, (size_t)n * cols, f) != (size_t)n * cols) exit(2);
    fclose(f);
    darwin_ctx_params cp = darwin_ctx_default_params();
    cp.n_batch = 16;   /* several prompt batches: the hidden row carried over between them */
    cp.mtp = 1;
    darwin_ctx *c = darwin_ctx_new(x, &cp);
    darwin_sampler *s = darwin_sampler_new(x, NULL);
    darwin_spec_params sp = spec(DARWIN_SPEC_MTP, 3);
    darwin_gen *g = darwin_gen_new(c, s, &sp);
    check(darwin_gen_prompt(g, prompt, n, ml) == 0, "prompt with MTP warm-up");
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < cols; j++) worst = fmax(worst, fabs(ml[(size_t)i * V + 4 * j] - gold[(size_t)i * cols + j]));
    check(worst <= 1e-2, "MTP warm-up logits differ from the golden teacher-forced rows by %.3g", worst);
    printf("MTP warm-up logits vs golden: max |dlogit| %.2e\n", worst);
    darwin_gen_free(g); darwin_sampler_free(s); darwin_ctx_free(c);
    free(gold); free(ml); free(prompt);
}

int main(void) {
    darwin_model *q, *x;
    if (check_load_pair(TEST_DATA "tiny-mix.gguf", &q, &x)) return 1;
    test_warmup_logits(x);
    test_rollback(q);
    test_greedy(q, "tiny-mix");
    test_greedy(x, "tiny-mix (f32)");
    darwin_model *nano = darwin_model_load(TEST_DATA "darwin-nano-mix.gguf", NULL);
    if (!check(nano != NULL, "load the trained model: %s", darwin_last_error())) return check_done();
    test_distribution(nano);
    darwin_model_free(nano);
    darwin_model_free(q);
    darwin_model_free(x);
    return check_done();
}
