/* llama.cpp's default chain: penalties, top-k, top-p, min-p, temperature, then a draw; greedy at temp <= 0 */

typedef struct { int32_t id; float logit; float p; } cand;

struct darwin_sampler {
    darwin_sampler_params p;
    int n_vocab;
    uint64_t rng;
    int32_t *hist;
    int n_hist;
    cand *c;
    int *count;
};

darwin_sampler_params darwin_sampler_default_params(void) {
    darwin_sampler_params p = { 0.8f, 40, 0.95f, 0.05f, 1.0f, 0.0f, 64, 0 };
    return p;
}

static uint64_t rng_next(uint64_t *s) {   /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double rng_unit(uint64_t *s) { return (rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

darwin_sampler *darwin_sampler_new(const darwin_model *m, const darwin_sampler_params *params) {
    darwin_sampler *s = xcalloc(1, sizeof *s);
    if (!s) return NULL;
    s->p = params ? *params : darwin_sampler_default_params();
    s->n_vocab = m->hp.n_vocab;
    s->rng = s->p.seed;
    if (s->p.repeat_last_n < 0) s->p.repeat_last_n = 0;
    if (!(s->c = xcalloc((size_t)s->n_vocab, sizeof *s->c)) || !(s->count = xcalloc((size_t)s->n_vocab, sizeof(int))) ||
        (s->p.repeat_last_n && !(s->hist = xcalloc((size_t)s->p.repeat_last_n, sizeof(int32_t))))) { darwin_sampler_free(s); return NULL; }
    return s;
}

void darwin_sampler_free(darwin_sampler *s) {
    if (!s) return;
    free(s->hist); free(s->c); free(s->count); free(s);
}

void darwin_sampler_accept(darwin_sampler *s, int32_t tok) {
    int n = s->p.repeat_last_n;
    if (!n || tok < 0 || tok >= s->n_vocab) return;
    if (s->n_hist == n) { memmove(s->hist, s->hist + 1, (size_t)(n - 1) * sizeof *s->hist); s->n_hist--; }
    s->hist[s->n_hist++] = tok;
}

static void apply_penalties(darwin_sampler *s) {
    if (s->p.repeat_penalty == 1.0f && s->p.presence_penalty == 0.0f) return;
    for (int i = 0; i < s->n_hist; i++) s->count[s->hist[i]]++;
    for (int i = 0; i < s->n_hist; i++) {
        int32_t t = s->hist[i];
        if (!s->count[t]) continue;   /* each distinct token once */
        float *l = &s->c[t].logit;
        *l = *l > 0 ? *l / s->p.repeat_penalty : *l * s->p.repeat_penalty;
        *l -= s->p.presence_penalty;
        s->count[t] = 0;
    }
}

static int cand_desc(const void *a, const void *b) {
    float x = ((const cand *)a)->logit, y = ((const cand *)b)->logit;
    return x < y ? 1 : x > y ? -1 : ((const cand *)a)->id - ((const cand *)b)->id;
}

/* keep the k largest logits, sorted descending: a partial selection then a sort of k */
static int keep_top_k(cand *c, int n, int k) {
    if (k <= 0 || k >= n) { qsort(c, (size_t)n, sizeof *c, cand_desc); return n; }
    int lo = 0, hi = n - 1;
    while (lo < hi) {   /* quickselect so that c[0..k) hold the k largest */
        cand piv = c[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (cand_desc(&c[i], &piv) < 0) i++;
            while (cand_desc(&c[j], &piv) > 0) j--;
            if (i <= j) { cand t = c[i]; c[i] = c[j]; c[j] = t; i++; j--; }
        }
        if (k - 1 <= j) hi = j; else if (k - 1 >= i) lo = i; else break;
    }
    qsort(c, (size_t)k, sizeof *c, cand_desc);
    return k;
}

static void softmax_cands(cand *c, int n, float temp) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (c[i].p = expf((c[i].logit - c[0].logit) / temp));
    for (int i = 0; i < n; i++) c[i].p = (float)(c[i].p / sum);
}

int32_t darwin_sample(darwin_sampler *s, const float *logits) {
    int n = s->n_vocab;
    for (int i = 0; i < n; i++) s->c[i] = (cand){ i, logits[i], 0 };
    apply_penalties(s);
    if (s->p.temp <= 0) {
        int best = 0;
        for (int i = 1; i < n; i++) if (s->c[i].logit > s->c[best].logit) best = i;
        return best;
    }
    n = keep_top_k(s->c, n, s->p.top_k);
    softmax_cands(s->c, n, 1.0f);
    if (s->p.top_p < 1.0f) {
        double cum = 0;
        for (int i = 0; i < n; i++) if ((cum += s->c[i].p) >= s->p.top_p) { n = i + 1; break; }
    }
    for (int i = 1; i < n; i++) if (s->c[i].p < s->p.min_p * s->c[0].p) { n = i; break; }
    softmax_cands(s->c, n, s->p.temp);
    double r = rng_unit(&s->rng), cum = 0;
    for (int i = 0; i < n; i++) if ((cum += s->c[i].p) > r) return s->c[i].id;
    return s->c[n - 1].id;
}
