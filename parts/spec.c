/* Speculative decoding (spec/qwen35.md section 5): each round drafts up to n_max tokens after the pending
 * token s (sampled, not yet evaluated), verifies [s, drafts...] in one batch, accepts drafts while the
 * target's sample equals them, and rewinds the recurrent state to the last accepted token from the
 * states the verification kept per token. The same loop with no drafter is plain decoding. */

struct darwin_gen {
    darwin_ctx *c;
    darwin_sampler *smp;
    darwin_spec_params p;
    int started;                 /* the first token was handed out */
    int32_t pending;             /* last sampled token, not yet evaluated */
    int32_t *hist;               /* prompt + generated tokens (ngram lookup) */
    int n_hist, cap_hist;
    float *last_logits;          /* logits the pending token was sampled from */
    float *h_last;               /* post-norm hidden of position n_past - 1 */
    float *hrows;                /* hidden rows of a verification (MTP update) */
    float *mlog, *mhid;          /* MTP logits / hidden output of one step */
    int have_draft;              /* MTP: the first draft of the next round is already known */
    int32_t next_draft;
    float next_p;
    float *next_hm;
    darwin_spec_stats st;
};

darwin_spec_params darwin_spec_default_params(void) {
    darwin_spec_params p = { DARWIN_SPEC_NONE, 3, 0.75f };
    return p;
}

size_t darwin_spec_memory(const darwin_ctx *c, const darwin_spec_params *p) {
    if (p->type == DARWIN_SPEC_NONE) return 0;
    size_t kv = p->type == DARWIN_SPEC_MTP ? (size_t)c->p.n_ctx * (c->k_row + c->v_row) : 0;
    return kv + (size_t)p->n_max * (size_t)snapshot_floats(c) * 4;
}

darwin_gen *darwin_gen_new(darwin_ctx *c, darwin_sampler *smp, const darwin_spec_params *params) {
    darwin_gen *g = xcalloc(1, sizeof *g);
    if (!g) return NULL;
    const hparams *h = &c->m->hp;
    g->c = c; g->smp = smp;
    g->p = params ? *params : darwin_spec_default_params();
    if (g->p.n_max < 1) g->p.n_max = 1;
    if (g->p.n_max > 64) g->p.n_max = 64;
    if (g->p.n_max > c->p.n_ubatch - 1) g->p.n_max = c->p.n_ubatch - 1;
    if (g->p.type == DARWIN_SPEC_MTP && c->n_kv <= c->m->n_attn) {
        set_error("MTP drafting needs a model with an MTP block and a context made with mtp = 1");
        free(g); return NULL;
    }
    int k = g->p.type == DARWIN_SPEC_NONE ? 0 : g->p.n_max;
    if (!(g->last_logits = xcalloc((size_t)h->n_vocab, 4)) || !(g->h_last = xcalloc((size_t)h->n_embd, 4)) ||
        !(g->hrows = xcalloc((size_t)(k + 1) * h->n_embd, 4)) || !(g->mlog = xcalloc((size_t)h->n_vocab, 4)) ||
        !(g->mhid = xcalloc((size_t)h->n_embd, 4)) || !(g->next_hm = xcalloc((size_t)h->n_embd, 4)) ||
        ctx_keep_steps(c, k)) { darwin_gen_free(g); return NULL; }
    return g;
}

void darwin_gen_free(darwin_gen *g) {
    if (!g) return;
    ctx_keep_steps(g->c, 0);
    free(g->hist); free(g->last_logits); free(g->h_last); free(g->hrows); free(g->mlog); free(g->mhid); free(g->next_hm);
    free(g);
}

static int hist_push(darwin_gen *g, int32_t t) {
    if (g->n_hist == g->cap_hist) {
        int cap = g->cap_hist ? 2 * g->cap_hist : 1024;
        int32_t *p = realloc(g->hist, (size_t)cap * sizeof *p);
        if (!p) { set_error("out of memory"); return -1; }
        g->hist = p; g->cap_hist = cap;
    }
    g->hist[g->n_hist++] = t;
    return 0;
}

/* sample from logits, remember them and the token */
static int32_t gen_sample(darwin_gen *g, const float *logits) {
    int32_t t = darwin_sample(g->smp, logits);
    darwin_sampler_accept(g->smp, t);
    memcpy(g->last_logits, logits, (size_t)g->c->m->hp.n_vocab * 4);
    hist_push(g, t);
    return t;
}

int darwin_gen_prompt(darwin_gen *g, const int32_t *ids, int n, float *mtp_logits) {
    darwin_ctx *c = g->c;
    int64_t D = c->m->hp.n_embd, V = c->m->hp.n_vocab;
    if (n <= 0) { set_error("empty prompt"); return -1; }
    if (n >= c->p.n_ctx) { set_error("the prompt (%d tokens) does not fit the context (%d)", n, c->p.n_ctx); return -1; }
    darwin_reset(c);
    g->n_hist = 0; g->started = 0; g->have_draft = 0;
    memset(&g->st, 0, sizeof g->st);
    for (int i = 0; i < n; i++) { darwin_sampler_accept(g->smp, ids[i]); if (hist_push(g, ids[i])) return -1; }
    int keep = c->keep_steps;
    c->keep_steps = 0;   /* the prompt needs no per-token states */
    for (int off = 0; off < n; off += c->p.n_batch) {
        int nb = n - off < c->p.n_batch ? (int)(n - off) : c->p.n_batch;
        if (darwin_eval(c, ids + off, nb, 0)) { c->keep_steps = keep; return -1; }
        if (g->p.type != DARWIN_SPEC_MTP) continue;
        /* MTP warm-up: token p with the hidden of p-1 (zeros before the first token) */
        float *hp = xcalloc((size_t)nb * D, 4);
        if (!hp) { c->keep_steps = keep; return -1; }
        memcpy(hp, g->h_last, (size_t)D * 4);
        if (off == 0) memset(hp, 0, (size_t)D * 4);
        memcpy(hp + D, c->hidden, (size_t)(nb - 1) * D * 4);
        int r = darwin_mtp_eval(c, ids + off, hp, nb, off, mtp_logits ? mtp_logits + off * V : NULL, 1, NULL);
        free(hp);
        if (r) { c->keep_steps = keep; return -1; }
        memcpy(g->h_last, darwin_hidden(c, nb - 1), (size_t)D * 4);
    }
    c->keep_steps = keep;
    g->pending = gen_sample(g, darwin_logits(c, -1));
    return 0;
}

static int argmax_prob(const float *l, int n, float *p) {
    int b = 0;
    for (int i = 1; i < n; i++) if (l[i] > l[b]) b = i;
    double s = 0;
    for (int i = 0; i < n; i++) s += exp((double)l[i] - l[b]);
    *p = (float)(1.0 / s);
    return b;
}

/* MTP drafts after the pending token: the first always, later ones while their probability >= p_min */
static int draft_mtp(darwin_gen *g, int32_t *d, int kmax) {
    darwin_ctx *c = g->c;
    int V = c->m->hp.n_vocab, D = c->m->hp.n_embd, pos = c->n_past;
    float p;
    if (g->have_draft) { d[0] = g->next_draft; memcpy(g->mhid, g->next_hm, (size_t)D * 4); }
    else {
        if (darwin_mtp_eval(c, &g->pending, g->h_last, 1, pos, g->mlog, 0, g->mhid)) return -1;
        d[0] = argmax_prob(g->mlog, V, &p);
    }
    int k = 1;
    for (; k < kmax; k++) {
        if (darwin_mtp_eval(c, &d[k - 1], g->mhid, 1, pos + k, g->mlog, 0, g->mhid)) return -1;
        d[k] = argmax_prob(g->mlog, V, &p);
        if (p < g->p.p_min) break;
    }
    return k;
}

/* prompt lookup: continue the longest earlier occurrence of the last tokens */
static int draft_ngram(const darwin_gen *g, int32_t *d, int kmax) {
    const int32_t *h = g->hist;
    int n = g->n_hist;
    for (int len = n - 1 < 4 ? n - 1 : 4; len >= 1; len--) {
        for (int i = n - len - 1; i >= 0; i--) {   /* the most recent match wins */
            if (memcmp(h + i, h + n - len, (size_t)len * sizeof *h)) continue;
            int k = 0;
            for (int j = i + len; j < n && k < kmax; j++) d[k++] = h[j];
            if (k) return k;
        }
    }
    return 0;
}

/* after a verification: feed the accepted tokens to the MTP block; its last row is the next first draft */
static int mtp_update(darwin_gen *g, const int32_t *ids, int n, int pos) {
    darwin_ctx *c = g->c;
    int V = c->m->hp.n_vocab, D = c->m->hp.n_embd;
    float *hid = xcalloc((size_t)n * D, 4);
    if (!hid) return -1;
    int r = darwin_mtp_eval(c, ids, g->hrows, n, pos, g->mlog, 0, hid);
    if (!r) {
        g->next_draft = argmax_prob(g->mlog, V, &g->next_p);
        memcpy(g->next_hm, hid + (size_t)(n - 1) * D, (size_t)D * 4);
        g->have_draft = 1;
    }
    free(hid);
    return r;
}

int darwin_gen_next(darwin_gen *g, int32_t *out, int max) {
    darwin_ctx *c = g->c;
    int D = c->m->hp.n_embd;
    if (max < 1) { set_error("darwin_gen_next: no room for tokens"); return -1; }
    if (!g->started) { g->started = 1; out[0] = g->pending; return 1; }
    int room = c->p.n_ctx - c->n_past - 1;   /* drafts that still fit after the pending token */
    if (room < 0) { set_error("context full (%d tokens)", c->p.n_ctx); return -1; }
    int kmax = g->p.n_max < room ? g->p.n_max : room, k = 0;
    if (kmax > max - 1) kmax = max - 1;
    int32_t batch[65];
    batch[0] = g->pending;
    if (kmax > 0 && g->p.type == DARWIN_SPEC_MTP) k = draft_mtp(g, batch + 1, kmax);
    else if (kmax > 0 && g->p.type == DARWIN_SPEC_NGRAM) k = draft_ngram(g, batch + 1, kmax);
    if (k < 0) return -1;
    int pos = c->n_past;
    if (darwin_eval(c, batch, k + 1, 1)) return -1;
    int n = 0;
    for (int j = 0; j <= k; j++) {   /* accept while the target's sample equals the draft */
        out[n++] = gen_sample(g, darwin_logits(c, j));
        if (j == k || out[n - 1] != batch[j + 1]) break;
    }
    int acc = n - 1;
    memcpy(g->hrows, c->hidden, (size_t)(acc + 1) * D * 4);
    memcpy(g->h_last, c->hidden + (size_t)acc * D, (size_t)D * 4);
    if (acc < k) ctx_rewind(c, pos + acc + 1, acc);
    g->pending = out[n - 1];
    g->have_draft = 0;
    if (g->p.type == DARWIN_SPEC_MTP && mtp_update(g, out, n, pos + 1)) return -1;
    g->st.drafted += k; g->st.accepted += acc; g->st.rounds++; g->st.emitted += n;
    return n;
}

const float *darwin_gen_logits(const darwin_gen *g) { return g->last_logits; }
darwin_spec_stats darwin_gen_stats(const darwin_gen *g) { return g->st; }
