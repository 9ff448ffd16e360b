/* The forward pass against golden/fwd (see tools/mkgolden.py for what tests/data/fwd holds):
 * the exact path (weights dequantized to f32) within 1e-2 of the reference's exact logits, the MTP
 * block within 1e-2, hidden rows within 1e-3; the quantized path no further from exact than the
 * reference itself, batched and one token at a time; batch == one-token == snapshot/restore. */
#define DARWIN_NO_MAIN
#include "../darwin.c"
#include "check.h"

#define FWD TEST_DATA "fwd/"
#define STEP 4            /* the stored logits keep every 4th column */

static const char *const PROMPTS[] = { "p1-code", "p2-chat", "p3-long", "p4-unicode" };

typedef struct golden {
    int n_prompt, n_gen, n;       /* n = n_prompt + n_gen rows and tokens */
    int32_t *tok;
    float *logits, *mtp, *hidden; /* logits: n x cols, mtp: n_prompt x cols, hidden: n_prompt x n_embd */
    int *argmax;
    float *gap;
    double ref_batch, ref_single;
} golden;

static float *read_f32(const char *path, size_t count) {
    float *p = malloc(count * sizeof *p);
    FILE *f = fopen(path, "rb");
    if (!p || !f || fread(p, sizeof *p, count, f) != count) { fprintf(stderr, "cannot read %s\n", path); exit(2); }
    fclose(f);
    return p;
}

static void load_golden(const char *name, int V, int D, golden *g) {
    char path[256];
    snprintf(path, sizeof path, FWD "%s.tokens.txt", name);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%d %d", &g->n_prompt, &g->n_gen) != 2) { fprintf(stderr, "cannot read %s\n", path); exit(2); }
    g->n = g->n_prompt + g->n_gen;
    g->tok = malloc(g->n * sizeof *g->tok);
    for (int i = 0; i < g->n; i++) if (fscanf(f, "%d", &g->tok[i]) != 1) exit(2);
    fclose(f);
    int cols = (V + STEP - 1) / STEP;
    snprintf(path, sizeof path, FWD "%s.logits.f32", name);
    g->logits = read_f32(path, (size_t)g->n * cols);
    snprintf(path, sizeof path, FWD "%s.mtp-logits.f32", name);
    g->mtp = read_f32(path, (size_t)g->n_prompt * cols);
    snprintf(path, sizeof path, FWD "%s.hidden.f32", name);
    g->hidden = read_f32(path, (size_t)g->n_prompt * D);
    snprintf(path, sizeof path, FWD "%s.argmax.txt", name);
    f = fopen(path, "r");
    g->argmax = malloc(g->n * sizeof *g->argmax);
    g->gap = malloc(g->n * sizeof *g->gap);
    for (int i = 0; f && i < g->n; i++) if (fscanf(f, "%d %f", &g->argmax[i], &g->gap[i]) != 2) exit(2);
    if (f) fclose(f);
    f = fopen(FWD "reference.txt", "r");
    char line[256], pn[64];
    int np;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%63s %d %lf %lf", pn, &np, &g->ref_batch, &g->ref_single) == 4 && !strcmp(pn, name)) break;
    if (f) fclose(f);
}

static void free_golden(golden *g) {
    free(g->tok); free(g->logits); free(g->mtp); free(g->hidden); free(g->argmax); free(g->gap);
}

/* max and mean |a - golden| over the stored columns of one row */
static void row_diff(const float *row, const float *gold, int V, double *mx, double *sum) {
    for (int c = 0, j = 0; c < V; c += STEP, j++) {
        double d = fabs((double)row[c] - gold[j]);
        if (d > *mx) *mx = d;
        *sum += d;
    }
}

static int argmax_of(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

/* all logits of the golden token sequence: the prompt as batches of `batch`, then one token at a time */
static float *run_rows(darwin_ctx *c, const golden *g, int batch, float *hidden) {
    int V = darwin_n_vocab(c->m), D = darwin_n_embd(c->m);
    float *out = malloc((size_t)g->n * V * sizeof *out);
    darwin_reset(c);
    for (int i = 0; i < g->n;) {
        int nb = i < g->n_prompt ? (g->n_prompt - i < batch ? g->n_prompt - i : batch) : 1;
        if (darwin_eval(c, g->tok + i, nb, 1)) { fprintf(stderr, "eval: %s\n", darwin_last_error()); exit(2); }
        for (int r = 0; r < nb; r++) {
            memcpy(out + (size_t)(i + r) * V, darwin_logits(c, r), V * sizeof *out);
            if (hidden && i + r < g->n_prompt) memcpy(hidden + (size_t)(i + r) * D, darwin_hidden(c, r), D * sizeof *hidden);
        }
        i += nb;
    }
    return out;
}

static void test_exact(darwin_model *m, const char *name, const golden *g) {
    int V = darwin_n_vocab(m), D = darwin_n_embd(m), cols = (V + STEP - 1) / STEP;
    darwin_ctx_params cp = darwin_ctx_default_params();
    cp.mtp = 1;
    darwin_ctx *c = darwin_ctx_new(m, &cp);
    float *hid = malloc((size_t)g->n_prompt * D * sizeof *hid);
    float *rows = run_rows(c, g, g->n_prompt, hid);
    double worst = 0, sum = 0;
    int bad_ids = 0;
    for (int i = 0; i < g->n; i++) {
        double mx = 0;
        row_diff(rows + (size_t)i * V, g->logits + (size_t)i * cols, V, &mx, &sum);
        if (mx > worst) worst = mx;
        if (g->gap[i] > 2e-2 && argmax_of(rows + (size_t)i * V, V) != g->argmax[i]) bad_ids++;
    }
    check(worst <= 1e-2, "%s exact: max |dlogit| %.3g over %d rows (limit 1e-2)", name, worst, g->n);
    check(bad_ids == 0, "%s exact: %d greedy ids differ where the top-two gap exceeds 2e-2", name, bad_ids);
    double hmax = 0;
    for (int i = 0; i < g->n_prompt * D; i++) hmax = fmax(hmax, fabs(hid[i] - g->hidden[i]));
    check(hmax <= 1e-3, "%s exact: max |dhidden| %.3g (limit 1e-3)", name, hmax);
    /* MTP teacher-forced: row p pairs token p with the golden hidden of p-1 */
    float *hprev = calloc((size_t)g->n_prompt * D, sizeof *hprev);
    memcpy(hprev + D, g->hidden, (size_t)(g->n_prompt - 1) * D * sizeof *hprev);
    float *ml = malloc((size_t)g->n_prompt * V * sizeof *ml);
    check(darwin_mtp_eval(c, g->tok, hprev, g->n_prompt, 0, ml, 1, NULL) == 0, "%s mtp eval: %s", name, darwin_last_error());
    double mworst = 0, msum = 0;
    for (int i = 0; i < g->n_prompt; i++) row_diff(ml + (size_t)i * V, g->mtp + (size_t)i * cols, V, &mworst, &msum);
    check(mworst <= 1e-2, "%s exact MTP: max |dlogit| %.3g (limit 1e-2)", name, mworst);
    printf("%-10s exact: max |dlogit| %.2e, mean %.2e, hidden %.2e, MTP max %.2e\n", name, worst, sum / ((double)g->n * cols), hmax, mworst);
    free(hprev); free(ml); free(rows); free(hid);
    darwin_ctx_free(c);
}

/* mean |dlogit| over the prompt rows, as golden/README's table measures it */
static double prompt_mean_diff(const float *rows, const golden *g, int V) {
    int cols = (V + STEP - 1) / STEP;
    double mx = 0, sum = 0;
    for (int i = 0; i < g->n_prompt; i++) row_diff(rows + (size_t)i * V, g->logits + (size_t)i * cols, V, &mx, &sum);
    return sum / ((double)g->n_prompt * cols);
}

static void test_quantized(darwin_model *m, const char *name, const golden *g) {
    int V = darwin_n_vocab(m);
    darwin_ctx_params cp = darwin_ctx_default_params();
    cp.n_ubatch = 7;   /* ubatch boundaries inside the prompt */
    darwin_ctx *c = darwin_ctx_new(m, &cp);
    float *batch = run_rows(c, g, g->n_prompt, NULL);
    float *single = run_rows(c, g, 1, NULL);
    double db = prompt_mean_diff(batch, g, V), ds = prompt_mean_diff(single, g, V), same = 0;
    for (size_t i = 0; i < (size_t)g->n * V; i++) same = fmax(same, fabs(batch[i] - single[i]));
    check(db <= g->ref_batch, "%s quantized, batch: mean |dlogit| %.4f exceeds the reference's %.4f", name, db, g->ref_batch);
    check(ds <= g->ref_batch, "%s quantized, one token at a time: mean |dlogit| %.4f exceeds the reference's batch %.4f", name, ds, g->ref_batch);
    check(same <= 1e-4, "%s quantized: batch and one-token logits differ by %.3g", name, same);
    printf("%-10s quantized: mean |dlogit| batch %.4f, one-token %.4f (reference %.4f / %.4f), batch vs one-token %.2e\n",
           name, db, ds, g->ref_batch, g->ref_single, same);
    free(batch); free(single);
    darwin_ctx_free(c);
}

/* snapshot in the middle of a prompt, go on, come back: the same logits as the uninterrupted run */
static void test_snapshot(darwin_model *m, const golden *g) {
    int V = darwin_n_vocab(m), half = g->n_prompt / 2;
    darwin_ctx *c = darwin_ctx_new(m, NULL);
    darwin_eval(c, g->tok, half, 0);
    darwin_snapshot *s = darwin_snapshot_take(c);
    darwin_eval(c, g->tok + half, g->n_prompt - half, 0);
    float *first = malloc(V * sizeof *first);
    memcpy(first, darwin_logits(c, -1), V * sizeof *first);
    darwin_eval(c, g->tok + 3, 5, 0);   /* wander off */
    check(darwin_snapshot_restore(c, s) == 0 && darwin_n_past(c) == half, "snapshot restore");
    darwin_eval(c, g->tok + half, g->n_prompt - half, 0);
    double d = 0;
    for (int i = 0; i < V; i++) d = fmax(d, fabs(first[i] - darwin_logits(c, -1)[i]));
    check(d <= 1e-4, "snapshot/restore: logits differ by %.3g", d);
    free(first);
    darwin_snapshot_free(s);
    darwin_ctx_free(c);
}

static void test_context_full(darwin_model *m, const golden *g) {
    darwin_ctx_params cp = darwin_ctx_default_params();
    cp.n_ctx = 16;
    darwin_ctx *c = darwin_ctx_new(m, &cp);
    check(darwin_eval(c, g->tok, 10, 0) == 0, "eval within the context");
    check(darwin_eval(c, g->tok, 10, 0) == -1 && strstr(darwin_last_error(), "context full"), "running past the context is an error: %s", darwin_last_error());
    int32_t badtok = 1 << 30;
    check(darwin_eval(c, &badtok, 1, 0) == -1, "an out-of-range token id is an error");
    darwin_ctx_free(c);
}

int main(void) {
    darwin_model *q, *x;
    if (check_load_pair(TEST_DATA "tiny-mix.gguf", &q, &x)) return 1;
    for (int i = 0; i < 4; i++) {
        golden g;
        load_golden(PROMPTS[i], darwin_n_vocab(x), darwin_n_embd(x), &g);
        test_exact(x, PROMPTS[i], &g);
        test_quantized(q, PROMPTS[i], &g);
        if (i == 0) { test_snapshot(q, &g); test_context_full(q, &g); }
        free_golden(&g);
    }
    darwin_model_free(q);
    darwin_model_free(x);
    return check_done();
}
