/* ---- hyper-parameters ------------------------------------------------------------------------ */

typedef struct hparams {
    int n_layer, n_main, n_nextn, n_embd, n_ff, n_head, n_head_kv, head_dim, n_rot, n_ctx_train, interval;
    int n_vocab;
    float rope_base, eps;
    int conv_k, d_inner, d_state, n_group, dt_rank, head_v, conv_ch;  /* Kc, Cv, dk, Hk, Hv, dv, C */
} hparams;

enum { BLK_DELTA, BLK_ATTN, BLK_MTP };

typedef struct block {
    int kind, kv;                     /* kv: index of this block's attention KV cache, -1 for delta-net */
    float *attn_norm, *post_norm;
    mat ffn_gate, ffn_up, ffn_down;   /* ffn_gate.t == NULL: no FFN (small MTP blocks) */
    mat wq, wk, wv, wo;               /* gated attention */
    float *q_norm, *k_norm;
    mat qkv, zgate, beta, alpha, ssm_out;  /* delta-net */
    float *conv, *dt_bias, *ssm_a, *ssm_norm;
    mat eh_proj;                      /* MTP */
    float *enorm, *hnorm, *head_norm;
} block;

struct darwin_model {
    gguf_file g;
    tokenizer tok;
    hparams hp;
    block *blk;
    mat embd, output;
    mat output_mtp;                   /* the MTP head's lm_head: output_extra.weight if the file has one, else output */
    float *output_norm;
    int n_attn;                       /* attention blocks among the main blocks */
    int dequantized;
    int vocab_only;                   /* only the tokenizer was loaded */
    int n_threads;
    void **owned; int n_owned;        /* buffers the model allocated (norm copies, dequantized weights) */
};

/* ---- loading ---------------------------------------------------------------------------------- */

static void *model_own(darwin_model *m, void *p) {
    if (!p) return NULL;
    void **o = realloc(m->owned, (size_t)(m->n_owned + 1) * sizeof *o);
    if (!o) { free(p); set_error("out of memory"); return NULL; }
    m->owned = o; m->owned[m->n_owned++] = p;
    return p;
}

static int get_hp(const gguf_file *g, const char *key, int required, int64_t def, int64_t lo, int64_t hi, int *out) {
    char full[128];
    int64_t v = def;
    snprintf(full, sizeof full, "qwen35.%s", key);
    const gguf_kv *kv = gguf_find(g, full);
    if (kv && kv->type == GT_ARR && gt_is_int(kv->arr_type) && kv->arr_n > 0) v = gguf_arr_int(kv, 0);  /* per-layer arrays */
    else if (gguf_get_int(g, full, &v) && (required || kv)) {
        set_error("%s: %s %s", g->path, full, kv ? "is not an integer" : "is missing"); return -1;
    }
    if (v < lo || v > hi) { set_error("%s: %s = %lld is out of range [%lld, %lld]", g->path, full, (long long)v, (long long)lo, (long long)hi); return -1; }
    *out = (int)v;
    return 0;
}

static int read_hparams(darwin_model *m) {
    const gguf_file *g = &m->g;
    hparams *h = &m->hp;
    char arch[64];
    if (!gguf_get_str(g, "general.architecture", arch, sizeof arch)) { set_error("%s: general.architecture is missing", g->path); return -1; }
    if (strcmp(arch, "qwen35")) { set_error("%s: architecture '%s' is not supported (darwin runs qwen35)", g->path, arch); return -1; }
    const int64_t BIG = 1 << 20;
    if (get_hp(g, "block_count", 1, 0, 1, 4096, &h->n_layer) ||
        get_hp(g, "nextn_predict_layers", 0, 0, 0, 1, &h->n_nextn) ||
        get_hp(g, "context_length", 1, 0, 1, 1 << 30, &h->n_ctx_train) ||
        get_hp(g, "embedding_length", 1, 0, 1, BIG, &h->n_embd) ||
        get_hp(g, "feed_forward_length", 1, 0, 1, BIG, &h->n_ff) ||
        get_hp(g, "attention.head_count", 1, 0, 1, 4096, &h->n_head) ||
        get_hp(g, "attention.head_count_kv", 0, h->n_head, 1, 4096, &h->n_head_kv) ||
        get_hp(g, "attention.key_length", 1, 0, 2, 4096, &h->head_dim) ||
        get_hp(g, "rope.dimension_count", 0, h->head_dim, 2, 4096, &h->n_rot) ||
        get_hp(g, "full_attention_interval", 0, 4, 1, 4096, &h->interval) ||
        get_hp(g, "ssm.conv_kernel", 1, 0, 1, 64, &h->conv_k) ||
        get_hp(g, "ssm.inner_size", 1, 0, 1, BIG, &h->d_inner) ||
        get_hp(g, "ssm.state_size", 1, 0, 1, 1024, &h->d_state) ||
        get_hp(g, "ssm.group_count", 1, 0, 1, 4096, &h->n_group) ||
        get_hp(g, "ssm.time_step_rank", 1, 0, 1, 4096, &h->dt_rank)) return -1;
    int vlen;
    if (get_hp(g, "attention.value_length", 0, h->head_dim, 1, 4096, &vlen)) return -1;
    double base = 10000, eps = 1e-6;
    gguf_get_float(g, "qwen35.rope.freq_base", &base);
    if (gguf_get_float(g, "qwen35.attention.layer_norm_rms_epsilon", &eps)) { set_error("%s: qwen35.attention.layer_norm_rms_epsilon is missing", g->path); return -1; }
    h->rope_base = (float)base; h->eps = (float)eps;
    h->n_main = h->n_layer - h->n_nextn;
    h->head_v = h->d_inner / h->dt_rank;
    h->conv_ch = 2 * h->n_group * h->d_state + h->d_inner;
    const char *bad = NULL;
    if (vlen != h->head_dim) bad = "attention.value_length differs from key_length";
    else if (h->n_main < 1) bad = "no main blocks";
    else if (h->n_head % h->n_head_kv) bad = "head_count is not a multiple of head_count_kv";
    else if (h->n_rot > h->head_dim || h->n_rot % 2) bad = "rope.dimension_count must be even and at most key_length";
    else if (h->d_inner % h->dt_rank || h->head_v != h->d_state) bad = "ssm.inner_size != ssm.time_step_rank * ssm.state_size";
    else if (h->dt_rank % h->n_group) bad = "ssm.time_step_rank is not a multiple of ssm.group_count";
    if (bad) { set_error("%s: qwen35 hyper-parameters: %s", g->path, bad); return -1; }
    return 0;
}

/* A weight of the given name whose shape must be {cols, rows}; rows < 0: any. */
static int load_mat(darwin_model *m, mat *w, const char *name, int64_t cols, int64_t rows, int required) {
    const tensor *t = gguf_tensor(&m->g, name);
    memset(w, 0, sizeof *w);
    if (!t) {
        if (required) set_error("%s: tensor %s is missing", m->g.path, name);
        return required ? -1 : 0;
    }
    if (t->ne[0] != cols || (rows >= 0 && t->ne[1] != rows) || t->ne[2] != 1 || t->ne[3] != 1) {
        set_error("%s: tensor %s has shape {%lld, %lld, %lld, %lld}, expected {%lld, %lld}", m->g.path, name, (long long)t->ne[0],
                  (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], (long long)cols, (long long)rows);
        return -1;
    }
    *w = (mat){ t, t->type, t->data, t->row_bytes, t->ne[1], t->ne[0] };
    if (m->dequantized && t->type->id != 0) {
        float *f = model_own(m, xcalloc((size_t)(w->rows * w->cols), sizeof(float)));
        if (!f) return -1;
        for (int64_t r = 0; r < w->rows; r++) t->type->deq(t->data + r * t->row_bytes, f + r * w->cols, w->cols);
        w->type = qtype_find(0); w->data = (const uint8_t *)f; w->row_bytes = (uint64_t)w->cols * 4;
    }
    return 0;
}

/* A small vector (norm weights, conv taps, ...) of exactly n values, copied to f32. */
static int load_vec(darwin_model *m, float **out, const char *name, int64_t n, int required) {
    mat w;
    *out = NULL;
    const tensor *t = gguf_tensor(&m->g, name);
    if (!t) {
        if (required) set_error("%s: tensor %s is missing", m->g.path, name);
        return required ? -1 : 0;
    }
    if ((int64_t)(t->nrows * (uint64_t)t->ne[0]) != n) {
        set_error("%s: tensor %s has %lld values, expected %lld", m->g.path, name, (long long)(t->nrows * (uint64_t)t->ne[0]), (long long)n);
        return -1;
    }
    w = (mat){ t, t->type, t->data, t->row_bytes, (int64_t)t->nrows, t->ne[0] };
    float *f = model_own(m, xcalloc((size_t)n, sizeof(float)));
    if (!f) return -1;
    for (int64_t r = 0; r < w.rows; r++) t->type->deq(t->data + r * t->row_bytes, f + r * w.cols, w.cols);
    *out = f;
    return 0;
}

#define BLK_NAME(buf, i, suffix) (snprintf(buf, sizeof buf, "blk.%d.%s", i, suffix), buf)

static int load_ffn(darwin_model *m, block *b, int i, int required) {
    const hparams *h = &m->hp;
    char n[96];
    if (load_vec(m, &b->post_norm, BLK_NAME(n, i, "post_attention_norm.weight"), h->n_embd, required) ||
        load_mat(m, &b->ffn_gate, BLK_NAME(n, i, "ffn_gate.weight"), h->n_embd, -1, required)) return -1;
    if (!b->ffn_gate.t) return 0;
    int64_t f = b->ffn_gate.rows;
    if (!b->post_norm) { set_error("%s: blk.%d has an FFN but no post_attention_norm", m->g.path, i); return -1; }
    return load_mat(m, &b->ffn_up, BLK_NAME(n, i, "ffn_up.weight"), h->n_embd, f, 1) ||
           load_mat(m, &b->ffn_down, BLK_NAME(n, i, "ffn_down.weight"), f, h->n_embd, 1);
}

static int load_attn(darwin_model *m, block *b, int i) {
    const hparams *h = &m->hp;
    char n[96];
    int64_t q = (int64_t)h->n_head * h->head_dim, kv = (int64_t)h->n_head_kv * h->head_dim;
    if (load_mat(m, &b->wq, BLK_NAME(n, i, "attn_q.weight"), h->n_embd, 2 * q, b->kind != BLK_MTP)) return -1;
    if (!b->wq.t) {   /* some MTP files reuse the last main block's attn_q */
        for (int j = h->n_main - 1; j >= 0 && !b->wq.t; j--) if (m->blk[j].kind == BLK_ATTN) b->wq = m->blk[j].wq;
        if (!b->wq.t) { set_error("%s: blk.%d.attn_q.weight is missing", m->g.path, i); return -1; }
    }
    return load_mat(m, &b->wk, BLK_NAME(n, i, "attn_k.weight"), h->n_embd, kv, 1) ||
           load_mat(m, &b->wv, BLK_NAME(n, i, "attn_v.weight"), h->n_embd, kv, 1) ||
           load_mat(m, &b->wo, BLK_NAME(n, i, "attn_output.weight"), q, h->n_embd, 1) ||
           load_vec(m, &b->q_norm, BLK_NAME(n, i, "attn_q_norm.weight"), h->head_dim, 1) ||
           load_vec(m, &b->k_norm, BLK_NAME(n, i, "attn_k_norm.weight"), h->head_dim, 1);
}

static int load_delta(darwin_model *m, block *b, int i) {
    const hparams *h = &m->hp;
    char n[96];
    return load_mat(m, &b->qkv, BLK_NAME(n, i, "attn_qkv.weight"), h->n_embd, h->conv_ch, 1) ||
           load_mat(m, &b->zgate, BLK_NAME(n, i, "attn_gate.weight"), h->n_embd, h->d_inner, 1) ||
           load_mat(m, &b->beta, BLK_NAME(n, i, "ssm_beta.weight"), h->n_embd, h->dt_rank, 1) ||
           load_mat(m, &b->alpha, BLK_NAME(n, i, "ssm_alpha.weight"), h->n_embd, h->dt_rank, 1) ||
           load_mat(m, &b->ssm_out, BLK_NAME(n, i, "ssm_out.weight"), h->d_inner, h->n_embd, 1) ||
           load_vec(m, &b->conv, BLK_NAME(n, i, "ssm_conv1d.weight"), (int64_t)h->conv_k * h->conv_ch, 1) ||
           load_vec(m, &b->dt_bias, BLK_NAME(n, i, "ssm_dt.bias"), h->dt_rank, 1) ||
           load_vec(m, &b->ssm_a, BLK_NAME(n, i, "ssm_a"), h->dt_rank, 1) ||
           load_vec(m, &b->ssm_norm, BLK_NAME(n, i, "ssm_norm.weight"), h->head_v, 1);
}

static int load_mtp(darwin_model *m, block *b, int i) {
    const hparams *h = &m->hp;
    char n[96];
    return load_attn(m, b, i) ||
           load_mat(m, &b->eh_proj, BLK_NAME(n, i, "nextn.eh_proj.weight"), 2 * (int64_t)h->n_embd, h->n_embd, 0) ||
           load_vec(m, &b->enorm, BLK_NAME(n, i, "nextn.enorm.weight"), h->n_embd, 1) ||
           load_vec(m, &b->hnorm, BLK_NAME(n, i, "nextn.hnorm.weight"), h->n_embd, 1) ||
           load_vec(m, &b->head_norm, BLK_NAME(n, i, "nextn.shared_head_norm.weight"), h->n_embd, 0);
}

static int load_blocks(darwin_model *m) {
    const hparams *h = &m->hp;
    char n[96];
    if (!(m->blk = xcalloc((size_t)h->n_layer, sizeof *m->blk))) return -1;
    for (int i = 0; i < h->n_layer; i++) {
        block *b = &m->blk[i];
        b->kind = i >= h->n_main ? BLK_MTP : (i + 1) % h->interval ? BLK_DELTA : BLK_ATTN;
        b->kv = b->kind == BLK_DELTA ? -1 : b->kind == BLK_ATTN ? m->n_attn++ : 0;
        if (load_vec(m, &b->attn_norm, BLK_NAME(n, i, "attn_norm.weight"), h->n_embd, 1) ||
            load_ffn(m, b, i, b->kind != BLK_MTP)) return -1;
        int r = b->kind == BLK_DELTA ? load_delta(m, b, i) : b->kind == BLK_ATTN ? load_attn(m, b, i) : load_mtp(m, b, i);
        if (r) return -1;
    }
    return 0;
}

static int load_tokenizer(darwin_model *m) {
    if (tok_load(&m->tok, &m->g)) {   /* the tokenizer's messages do not name the file */
        char e[sizeof g_error];
        memcpy(e, g_error, sizeof e);
        if (strncmp(e, m->g.path, strlen(m->g.path))) set_error("%s: %s", m->g.path, e);
        return -1;
    }
    m->hp.n_vocab = m->tok.n_vocab;
    return 0;
}

static int load_model(darwin_model *m) {
    hparams *h = &m->hp;
    if (read_hparams(m) || load_tokenizer(m)) return -1;
    const tensor *te = gguf_tensor(&m->g, "token_embd.weight");
    if (!te) { set_error("%s: tensor token_embd.weight is missing", m->g.path); return -1; }
    h->n_vocab = (int)te->ne[1];
    if (load_mat(m, &m->embd, "token_embd.weight", h->n_embd, -1, 1) ||
        load_mat(m, &m->output, "output.weight", h->n_embd, h->n_vocab, 0) ||
        load_vec(m, &m->output_norm, "output_norm.weight", h->n_embd, 1)) return -1;
    if (!m->output.t) m->output = m->embd;   /* tied embeddings */
    if (load_mat(m, &m->output_mtp, "output_extra.weight", h->n_embd, h->n_vocab, 0)) return -1;
    if (!m->output_mtp.t) m->output_mtp = m->output;
    if (m->tok.n_vocab > h->n_vocab) {
        set_error("%s: the vocabulary has %d tokens but token_embd.weight only %d rows", m->g.path, m->tok.n_vocab, h->n_vocab);
        return -1;
    }
    return load_blocks(m);
}

static int physical_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    int cores = 0;
    /* count distinct (package, core) pairs: hyper-threads slow matrix products down */
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[256]; int phys = 0, seen[1024] = {0}, pid = 0;
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "physical id : %d", &pid) == 1) phys = pid;
            int core;
            if (sscanf(line, "core id : %d", &core) == 1) {
                int k = (phys * 64 + core) & 1023;
                if (!seen[k]) { seen[k] = 1; cores++; }
            }
        }
        fclose(f);
    }
    return cores > 0 ? cores : n > 0 ? (int)n : 1;
}

darwin_model_params darwin_model_default_params(void) {
    darwin_model_params p = { 0, 0, 0 };
    return p;
}

/* the model in an opened GGUF, which it takes over (also on failure) */
static darwin_model *model_from_gguf(gguf_file *g, const darwin_model_params *params) {
    darwin_model_params dp = darwin_model_default_params();
    if (!params) params = &dp;
    darwin_model *m = xcalloc(1, sizeof *m);
    if (!m) { gguf_close(g); return NULL; }
    m->g = *g;
    m->dequantized = params->dequantize;
    m->n_threads = params->n_threads > 0 ? params->n_threads : physical_cores();
    m->vocab_only = params->vocab_only;
    if (m->vocab_only ? load_tokenizer(m) : load_model(m)) { darwin_model_free(m); return NULL; }
    return m;
}

darwin_model *darwin_model_load(const char *path, const darwin_model_params *params) {
    gguf_file g;
    return gguf_open(&g, path) ? NULL : model_from_gguf(&g, params);
}

void darwin_model_free(darwin_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->blk);
    tok_free(&m->tok);
    gguf_close(&m->g);
    free(m);
}

int darwin_meta_str(const darwin_model *m, const char *key, char *buf, size_t cap) {
    return gguf_get_str(&m->g, key, buf, cap) ? 0 : -1;
}
int darwin_meta_int(const darwin_model *m, const char *key, int64_t *out) { return gguf_get_int(&m->g, key, out); }
int darwin_n_vocab(const darwin_model *m) { return m->hp.n_vocab; }
int darwin_n_embd(const darwin_model *m) { return m->hp.n_embd; }
int darwin_n_ctx_train(const darwin_model *m) { return m->hp.n_ctx_train; }
int darwin_has_mtp(const darwin_model *m) { return m->hp.n_nextn > 0; }

int darwin_tokenize(const darwin_model *m, const char *text, size_t len, int parse_special, int32_t *ids, int max) {
    int32_t *out; size_t n;
    if (tok_encode(&m->tok, text, len, parse_special, &out, &n)) return INT32_MIN;
    if (n > (size_t)INT32_MAX) { free(out); set_error("text too long"); return INT32_MIN; }
    if ((int)n > max) { free(out); return -(int)n; }
    if (n) memcpy(ids, out, n * sizeof *ids);
    free(out);
    return (int)n;
}
const char *darwin_token_piece(const darwin_model *m, int32_t id, size_t *len) { return tok_piece(&m->tok, id, len); }
int darwin_token_is_eog(const darwin_model *m, int32_t id) { return tok_is_eog(&m->tok, id); }

/* ---- numeric primitives ------------------------------------------------------------------------ */

/* RMSNorm with the sum of squares in double, as the reference does; w may be NULL (plain norm) */
static void rmsnorm(float *y, const float *x, const float *w, int n, float eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float mean = (float)(ss / n);
    float s = 1.0f / sqrtf(mean + eps);
    for (int i = 0; i < n; i++) y[i] = w ? x[i] * s * w[i] : x[i] * s;
}

static void l2norm(float *x, int n, float eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float s = 1.0f / fmaxf(sqrtf((float)ss), eps);
    for (int i = 0; i < n; i++) x[i] *= s;
}

static float silu(float x) { return x / (1.0f + expf(-x)); }
static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
static float softplus(float x) { return x > 20.0f ? x : logf(1.0f + expf(x)); }

/* NEOX rotation of the first n_rot dims at position p, angles stepped like the reference (float) */
static void rope(float *x, int n_rot, int p, float base) {
    float step = powf(base, -2.0f / n_rot), theta = (float)p;
    for (int i = 0; i < n_rot / 2; i++, theta *= step) {
        float c = cosf(theta), s = sinf(theta), a = x[i], b = x[i + n_rot / 2];
        x[i] = a * c - b * s;
        x[i + n_rot / 2] = a * s + b * c;
    }
}

/* ---- context: caches, recurrent state, buffers ----------------------------------------------- */

struct darwin_ctx {
    darwin_model *m;
    darwin_ctx_params p;
    pool *pool;
    int n_past, mtp_past;
    int n_kv;                          /* attention caches: main attention blocks (+1 for MTP) */
    const qtype *tk, *tv;
    uint64_t k_row, v_row;             /* bytes per cached position */
    uint8_t **k, **v;
    float **conv, **ssm;               /* per block; NULL for non-delta blocks */
    int64_t conv_n, ssm_n;             /* floats per delta block */
    float *x, *xn, *b1, *b2, *b3, *b4, *bo;
    float *hidden;                     /* n_batch x n_embd: post-norm hidden rows of the last eval */
    float *logits;                     /* rows of logits of the last eval */
    int64_t logits_cap;
    int last_n, last_all;
    double t_eval_ms;                  /* time spent in darwin_eval, for the speculative statistics */
    float **scratch;                   /* per thread: attention scores, delta-net vectors */
    mm_ws ws;                          /* matrix-product workspace */
    int keep_steps;                    /* > 0: save the recurrent state after each of the first keep_steps tokens */
    float **step_conv, **step_ssm;     /* per delta block: keep_steps saved states (speculative rollback) */
};

static const qtype *cache_qtype(int t) {
    static const uint32_t ids[] = { 1, 0, 8 };
    return t >= 0 && t < 3 ? qtype_find(ids[t]) : NULL;
}

/* store n floats into a cache row of type q (f16, f32 or q8_0) */
static void cache_store(const qtype *q, uint8_t *dst, const float *x, int n) {
    if (q->id == 0) { memcpy(dst, x, (size_t)n * 4); return; }
    if (q->id == 1) { for (int i = 0; i < n; i++) { uint16_t h = f32_to_f16(x[i]); memcpy(dst + 2 * i, &h, 2); } return; }
    for (int b = 0; b < n / 32; b++, dst += 34, x += 32) {   /* q8_0: the reference quantizer's rounding */
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[i]));
        float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
        uint16_t h = f32_to_f16(d);
        memcpy(dst, &h, 2);
        for (int i = 0; i < 32; i++) dst[2 + i] = (uint8_t)(int8_t)roundf(x[i] * id);
    }
}

darwin_ctx_params darwin_ctx_default_params(void) {
    darwin_ctx_params p = { 4096, 2048, 512, DARWIN_CACHE_F16, DARWIN_CACHE_F16, 0 };
    return p;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static int ctx_alloc(darwin_ctx *c) {
    const darwin_model *m = c->m;
    const hparams *h = &m->hp;
    int64_t ub = c->p.n_ubatch, D = h->n_embd, kvd = (int64_t)h->n_head_kv * h->head_dim;
    int64_t qd = (int64_t)h->n_head * h->head_dim;
    int64_t w1 = max64(max64(h->conv_ch, 2 * qd), max64(2 * D, h->n_ff));
    int64_t w2 = max64(max64(h->d_inner, kvd), h->n_ff);
    int64_t w3 = max64(h->d_inner, qd), w4 = max64(2 * h->dt_rank, kvd);
    if (qtype_row_bytes(c->tk, kvd, &c->k_row) || qtype_row_bytes(c->tv, kvd, &c->v_row)) {
        set_error("KV cache type %s needs head sizes that are a multiple of %u", c->tk->name, c->tk->blck); return -1;
    }
    c->n_kv = m->n_attn + (c->p.mtp && h->n_nextn ? 1 : 0);
    if (!(c->k = xcalloc((size_t)c->n_kv + 1, sizeof *c->k)) || !(c->v = xcalloc((size_t)c->n_kv + 1, sizeof *c->v))) return -1;
    for (int i = 0; i < c->n_kv; i++)
        if (!(c->k[i] = xcalloc((size_t)c->p.n_ctx, c->k_row)) || !(c->v[i] = xcalloc((size_t)c->p.n_ctx, c->v_row))) return -1;
    c->conv_n = (int64_t)(h->conv_k - 1) * h->conv_ch;
    c->ssm_n = (int64_t)h->dt_rank * h->d_state * h->head_v;
    if (!(c->conv = xcalloc((size_t)h->n_layer, sizeof *c->conv)) || !(c->ssm = xcalloc((size_t)h->n_layer, sizeof *c->ssm))) return -1;
    for (int i = 0; i < h->n_main; i++)
        if (m->blk[i].kind == BLK_DELTA && (!(c->conv[i] = xcalloc((size_t)max64(c->conv_n, 1), 4)) || !(c->ssm[i] = xcalloc((size_t)c->ssm_n, 4)))) return -1;
    if (!(c->x = xcalloc((size_t)(ub * D), 4)) || !(c->xn = xcalloc((size_t)(ub * D), 4)) || !(c->bo = xcalloc((size_t)(ub * D), 4)) ||
        !(c->b1 = xcalloc((size_t)(ub * w1), 4)) || !(c->b2 = xcalloc((size_t)(ub * w2), 4)) ||
        !(c->b3 = xcalloc((size_t)(ub * w3), 4)) || !(c->b4 = xcalloc((size_t)(ub * w4), 4)) ||
        !(c->hidden = xcalloc((size_t)c->p.n_batch * (size_t)D, 4))) return -1;
    /* per thread: attention scores + a K/V row + an accumulator, or delta-net q, k, o */
    int64_t sc = max64(c->p.n_ctx + 2 * (int64_t)h->head_dim, 2 * (int64_t)h->d_state + h->head_v);
    if (!(c->scratch = xcalloc((size_t)c->pool->n, sizeof *c->scratch))) return -1;
    for (int i = 0; i < c->pool->n; i++) if (!(c->scratch[i] = xcalloc((size_t)sc, 4))) return -1;
    int64_t maxcols = max64(max64(2 * D, h->n_ff), max64(h->d_inner, qd));
    return mm_ws_init(&c->ws, c->pool->n, maxcols, c->p.n_ubatch);
}

darwin_ctx *darwin_ctx_new(darwin_model *m, const darwin_ctx_params *params) {
    darwin_ctx_params dp = darwin_ctx_default_params();
    if (m->vocab_only) { set_error("%s: the model was loaded for its vocabulary only", m->g.path); return NULL; }
    darwin_ctx *c = xcalloc(1, sizeof *c);
    if (!c) return NULL;
    c->m = m;
    c->p = params ? *params : dp;
    if (c->p.n_ctx <= 0) c->p.n_ctx = m->hp.n_ctx_train;
    if (c->p.n_ctx > m->hp.n_ctx_train) c->p.n_ctx = m->hp.n_ctx_train;
    if (c->p.n_batch <= 0) c->p.n_batch = dp.n_batch;
    if (c->p.n_ubatch <= 0) c->p.n_ubatch = dp.n_ubatch;
    if (c->p.n_ubatch > c->p.n_batch) c->p.n_ubatch = c->p.n_batch;
    c->tk = cache_qtype(c->p.type_k); c->tv = cache_qtype(c->p.type_v);
    if (!c->tk || !c->tv) { set_error("unknown KV cache type"); free(c); return NULL; }
    if (!(c->pool = pool_new(m->n_threads)) || ctx_alloc(c)) { darwin_ctx_free(c); return NULL; }
    return c;
}

void darwin_ctx_free(darwin_ctx *c) {
    if (!c) return;
    for (int i = 0; c->k && i < c->n_kv; i++) { free(c->k[i]); free(c->v[i]); }
    for (int i = 0; c->conv && i < c->m->hp.n_layer; i++) { free(c->conv[i]); free(c->ssm[i]); }
    for (int i = 0; c->step_conv && i < c->m->hp.n_layer; i++) { free(c->step_conv[i]); free(c->step_ssm[i]); }
    free(c->step_conv); free(c->step_ssm);
    for (int i = 0; c->scratch && i < c->pool->n; i++) free(c->scratch[i]);
    free(c->k); free(c->v); free(c->conv); free(c->ssm); free(c->scratch);
    free(c->x); free(c->xn); free(c->b1); free(c->b2); free(c->b3); free(c->b4); free(c->bo);
    free(c->hidden); free(c->logits);
    mm_ws_free(&c->ws, c->pool ? c->pool->n : 0);
    pool_free(c->pool);
    free(c);
}

void darwin_reset(darwin_ctx *c) { c->n_past = 0; c->mtp_past = 0; c->last_n = 0; }
int darwin_n_past(const darwin_ctx *c) { return c->n_past; }
int darwin_n_ctx(const darwin_ctx *c) { return c->p.n_ctx; }

static void matmul(darwin_ctx *c, const mat *w, const float *x, int64_t ldx, int n, float *y, int64_t ldy) {
    mm_run(c->pool, &c->ws, w, x, ldx, n, y, ldy);
}

/* ---- blocks -------------------------------------------------------------------------------------- */

typedef struct layer_job {
    darwin_ctx *c;
    const block *b;
    int li, n, pos;
} layer_job;

/* causal depthwise conv over all channels for the n tokens in b1 (in place), then SiLU */
static void conv_channels(void *arg, int ith, int nth) {
    const layer_job *j = arg;
    const hparams *h = &j->c->m->hp;
    int K = h->conv_k, C = h->conv_ch;
    float *st = j->c->conv[j->li], *u = j->c->b1;
    int64_t a, b;
    split_range(C, ith, nth, &a, &b);
    for (int64_t ch = a; ch < b; ch++) {
        const float *w = j->b->conv + ch * K;
        float win[64];
        for (int i = 0; i < K - 1; i++) win[i] = st[i * C + ch];
        for (int t = 0; t < j->n; t++) {
            float raw = u[(int64_t)t * C + ch], y = w[K - 1] * raw;
            for (int i = 0; i < K - 1; i++) y += w[i] * win[i];
            for (int i = 0; i + 1 < K - 1; i++) win[i] = win[i + 1];
            if (K > 1) win[K - 2] = raw;
            u[(int64_t)t * C + ch] = silu(y);
            if (t < j->c->keep_steps)
                for (int i = 0; i < K - 1; i++) j->c->step_conv[j->li][t * j->c->conv_n + i * C + ch] = win[i];
        }
        for (int i = 0; i < K - 1; i++) st[i * C + ch] = win[i];
    }
}

/* one token of the gated delta rule for value head `hd`: decay, delta update, read-out */
static void delta_step(float *S, const float *q, const float *k, const float *v, float *o, float decay, float beta, int dk, int dv, float scale) {
    float kv[1024];
    for (int j = 0; j < dv; j++) kv[j] = 0;
    for (int i = 0; i < dk; i++) {
        float *s = S + (int64_t)i * dv;
        for (int j = 0; j < dv; j++) { s[j] *= decay; kv[j] += s[j] * k[i]; }
    }
    for (int j = 0; j < dv; j++) { kv[j] = beta * (v[j] - kv[j]); o[j] = 0; }
    for (int i = 0; i < dk; i++) {
        float *s = S + (int64_t)i * dv;
        for (int j = 0; j < dv; j++) {
            float x = s[j] + k[i] * kv[j];
            s[j] = x = x > 1e6f ? 1e6f : x < -1e6f ? -1e6f : x;
            o[j] += x * q[i];
        }
    }
    for (int j = 0; j < dv; j++) o[j] *= scale;
}

/* the recurrence over the n tokens for a share of the value heads; gated norm into b3 */
static void delta_heads(void *arg, int ith, int nth) {
    const layer_job *j = arg;
    const darwin_ctx *c = j->c;
    const hparams *h = &c->m->hp;
    int dk = h->d_state, dv = h->head_v, Hk = h->n_group, Hv = h->dt_rank, C = h->conv_ch;
    int64_t Ck = (int64_t)Hk * dk, a, b;
    float *tmp = c->scratch[ith], *q = tmp, *k = tmp + dk, *o = tmp + 2 * dk;
    float scale = 1.0f / sqrtf((float)dk);
    split_range(Hv, ith, nth, &a, &b);
    for (int64_t hd = a; hd < b; hd++) {
        float *S = c->ssm[j->li] + hd * dk * dv;
        int64_t kh = hd % Hk;
        for (int t = 0; t < j->n; t++) {
            const float *y = c->b1 + (int64_t)t * C;
            memcpy(q, y + kh * dk, (size_t)dk * 4);
            memcpy(k, y + Ck + kh * dk, (size_t)dk * 4);
            l2norm(q, dk, h->eps);
            l2norm(k, dk, h->eps);
            float beta = sigmoid(c->b4[(int64_t)t * 2 * Hv + hd]);
            float g = j->b->ssm_a[hd] * softplus(c->b4[(int64_t)t * 2 * Hv + Hv + hd] + j->b->dt_bias[hd]);
            delta_step(S, q, k, y + 2 * Ck + hd * dv, o, expf(fminf(g, 50.0f)), beta, dk, dv, scale);
            if (t < c->keep_steps) memcpy(c->step_ssm[j->li] + t * c->ssm_n + hd * dk * dv, S, (size_t)dk * dv * 4);
            float *r = c->b3 + (int64_t)t * h->d_inner + hd * dv;
            const float *z = c->b2 + (int64_t)t * h->d_inner + hd * dv;
            rmsnorm(r, o, j->b->ssm_norm, dv, h->eps);
            for (int i = 0; i < dv; i++) r[i] *= silu(z[i]);
        }
    }
}

/* Gated DeltaNet block: xn -> bo */
static void block_delta(darwin_ctx *c, const block *b, int li, int n) {
    const hparams *h = &c->m->hp;
    int64_t D = h->n_embd, Hv = h->dt_rank;
    matmul(c, &b->qkv, c->xn, D, n, c->b1, h->conv_ch);
    matmul(c, &b->zgate, c->xn, D, n, c->b2, h->d_inner);
    matmul(c, &b->beta, c->xn, D, n, c->b4, 2 * Hv);
    matmul(c, &b->alpha, c->xn, D, n, c->b4 + Hv, 2 * Hv);
    layer_job j = { c, b, li, n, 0 };
    pool_run(c->pool, conv_channels, &j);
    pool_run(c->pool, delta_heads, &j);
    matmul(c, &b->ssm_out, c->b3, h->d_inner, n, c->bo, D);
}

/* q/k norms and RoPE for the batch, K/V appended to cache kv at positions pos.. */
static void attn_prepare(darwin_ctx *c, const block *b, int kv, int n, int pos) {
    const hparams *h = &c->m->hp;
    int hd = h->head_dim, H = h->n_head, Hkv = h->n_head_kv;
    int64_t kvd = (int64_t)Hkv * hd;
    for (int t = 0; t < n; t++) {
        float *qg = c->b1 + (int64_t)t * 2 * H * hd, *k = c->b2 + t * kvd, *v = c->b4 + t * kvd;
        for (int hh = 0; hh < H; hh++) {
            float *q = qg + (int64_t)hh * 2 * hd;
            rmsnorm(q, q, b->q_norm, hd, h->eps);
            rope(q, h->n_rot, pos + t, h->rope_base);
        }
        for (int hh = 0; hh < Hkv; hh++) {
            rmsnorm(k + hh * hd, k + hh * hd, b->k_norm, hd, h->eps);
            rope(k + hh * hd, h->n_rot, pos + t, h->rope_base);
        }
        cache_store(c->tk, c->k[kv] + (uint64_t)(pos + t) * c->k_row, k, (int)kvd);
        cache_store(c->tv, c->v[kv] + (uint64_t)(pos + t) * c->v_row, v, (int)kvd);
    }
}

typedef struct attn_job { darwin_ctx *c; int kv, n, pos; } attn_job;

/* softmax attention of every (token, head) of a thread's share over the cached positions, gated by σ(g) */
static void attn_heads(void *arg, int ith, int nth) {
    const attn_job *j = arg;
    const darwin_ctx *c = j->c;
    const hparams *h = &c->m->hp;
    int hd = h->head_dim, H = h->n_head, grp = h->n_head / h->n_head_kv;
    uint64_t kb = c->k_row / h->n_head_kv, vb = c->v_row / h->n_head_kv;
    float *sc = c->scratch[ith], *kr = sc + c->p.n_ctx, *acc = kr + hd;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t a, b;
    split_range((int64_t)j->n * H, ith, nth, &a, &b);
    for (int64_t th = a; th < b; th++) {
        int t = (int)(th / H), hh = (int)(th % H), g = hh / grp, np = j->pos + t + 1;
        const float *q = c->b1 + (int64_t)t * 2 * H * hd + (int64_t)hh * 2 * hd;
        float mx = -INFINITY, sum = 0;
        for (int p = 0; p < np; p++) {
            c->tk->deq(c->k[j->kv] + (uint64_t)p * c->k_row + g * kb, kr, hd);
            sc[p] = dot_f32(q, kr, hd) * scale;
            mx = fmaxf(mx, sc[p]);
        }
        for (int i = 0; i < hd; i++) acc[i] = 0;
        for (int p = 0; p < np; p++) {
            float w = expf(sc[p] - mx);
            sum += w;
            c->tv->deq(c->v[j->kv] + (uint64_t)p * c->v_row + g * vb, kr, hd);
            for (int i = 0; i < hd; i++) acc[i] += w * kr[i];
        }
        float *o = c->b3 + (int64_t)t * H * hd + (int64_t)hh * hd;
        const float *gate = q + hd;
        for (int i = 0; i < hd; i++) o[i] = acc[i] / sum * sigmoid(gate[i]);
    }
}

/* gated attention block (main or MTP): xn -> bo, using KV cache kv */
static void block_attn(darwin_ctx *c, const block *b, int kv, int n, int pos) {
    const hparams *h = &c->m->hp;
    int64_t D = h->n_embd, kvd = (int64_t)h->n_head_kv * h->head_dim, qd = (int64_t)h->n_head * h->head_dim;
    matmul(c, &b->wq, c->xn, D, n, c->b1, 2 * qd);
    matmul(c, &b->wk, c->xn, D, n, c->b2, kvd);
    matmul(c, &b->wv, c->xn, D, n, c->b4, kvd);
    attn_prepare(c, b, kv, n, pos);
    attn_job j = { c, kv, n, pos };
    pool_run(c->pool, attn_heads, &j);
    matmul(c, &b->wo, c->b3, qd, n, c->bo, D);
}

/* x += ffn_down(silu(ffn_gate(hn)) * ffn_up(hn)), hn = RMSNorm(x; post_attention_norm) */
static void block_ffn(darwin_ctx *c, const block *b, int n) {
    const hparams *h = &c->m->hp;
    int64_t D = h->n_embd, F = b->ffn_gate.rows;
    for (int t = 0; t < n; t++) rmsnorm(c->xn + t * D, c->x + t * D, b->post_norm, (int)D, h->eps);
    matmul(c, &b->ffn_gate, c->xn, D, n, c->b1, F);
    matmul(c, &b->ffn_up, c->xn, D, n, c->b2, F);
    for (int64_t i = 0; i < n * F; i++) c->b1[i] = silu(c->b1[i]) * c->b2[i];
    matmul(c, &b->ffn_down, c->b1, F, n, c->bo, D);
    for (int64_t i = 0; i < n * D; i++) c->x[i] += c->bo[i];
}

/* mixer + residual + FFN of one block over the batch in c->x */
static void block_forward(darwin_ctx *c, int li, int kv, int n, int pos) {
    const block *b = &c->m->blk[li];
    const hparams *h = &c->m->hp;
    int64_t D = h->n_embd;
    for (int t = 0; t < n; t++) rmsnorm(c->xn + t * D, c->x + t * D, b->attn_norm, (int)D, h->eps);
    if (b->kind == BLK_DELTA) block_delta(c, b, li, n); else block_attn(c, b, kv, n, pos);
    for (int64_t i = 0; i < n * D; i++) c->x[i] += c->bo[i];
    if (b->ffn_gate.t) block_ffn(c, b, n);
}

static void embed_tokens(darwin_ctx *c, const int32_t *tok, int n, float *out) {
    const mat *e = &c->m->embd;
    for (int t = 0; t < n; t++) {
        const uint8_t *row = e->data + (uint64_t)tok[t] * e->row_bytes;
        e->type->deq(row, out + (int64_t)t * e->cols, e->cols);
    }
}

static int check_tokens(const darwin_ctx *c, const int32_t *tok, int n) {
    for (int i = 0; i < n; i++)
        if (tok[i] < 0 || tok[i] >= c->m->hp.n_vocab) { set_error("token id %d is out of range (vocabulary of %d)", tok[i], c->m->hp.n_vocab); return -1; }
    return 0;
}

static int logits_reserve(darwin_ctx *c, int rows) {
    int64_t need = (int64_t)rows * c->m->hp.n_vocab;
    if (need <= c->logits_cap) return 0;
    float *l = realloc(c->logits, (size_t)need * sizeof(float));
    if (!l) { set_error("out of memory for %d rows of logits", rows); return -1; }
    c->logits = l; c->logits_cap = need;
    return 0;
}

/* one ubatch of the main model: hidden rows to c->hidden + off, logits of rows [lo, n) to lrow.. */
static void forward_ubatch(darwin_ctx *c, const int32_t *tok, int n, int off, int lo, float *lrow) {
    const darwin_model *m = c->m;
    const hparams *h = &m->hp;
    int64_t D = h->n_embd;
    int pos = c->n_past;
    if (pos == 0)   /* a sequence starts: zero the recurrent state */
        for (int i = 0; i < h->n_main; i++) if (c->conv[i]) { memset(c->conv[i], 0, (size_t)c->conv_n * 4); memset(c->ssm[i], 0, (size_t)c->ssm_n * 4); }
    embed_tokens(c, tok, n, c->x);
    for (int i = 0; i < h->n_main; i++) block_forward(c, i, m->blk[i].kv, n, pos);
    float *hid = c->hidden + (int64_t)off * D;
    for (int t = 0; t < n; t++) rmsnorm(hid + t * D, c->x + t * D, m->output_norm, (int)D, h->eps);
    if (lo < n) matmul(c, &m->output, hid + (int64_t)lo * D, D, n - lo, lrow, h->n_vocab);
    c->n_past += n;
}

int darwin_eval(darwin_ctx *c, const int32_t *tok, int n, int all_logits) {
    if (n <= 0 || n > c->p.n_batch) { set_error("darwin_eval: %d tokens (1 to n_batch = %d allowed)", n, c->p.n_batch); return -1; }
    if (c->n_past + n > c->p.n_ctx) { set_error("context full: %d + %d tokens exceed the context of %d (-c)", c->n_past, n, c->p.n_ctx); return -1; }
    if (check_tokens(c, tok, n) || logits_reserve(c, all_logits ? n : 1)) return -1;
    int64_t V = c->m->hp.n_vocab;
    double t0 = now_ms();
    for (int off = 0; off < n; off += c->p.n_ubatch) {
        int nu = n - off < c->p.n_ubatch ? n - off : c->p.n_ubatch;
        int lo = all_logits ? 0 : off + nu == n ? nu - 1 : nu;
        forward_ubatch(c, tok + off, nu, off, lo, all_logits ? c->logits + off * V : c->logits);
    }
    c->last_n = n; c->last_all = all_logits;
    c->t_eval_ms += now_ms() - t0;
    return 0;
}

const float *darwin_logits(const darwin_ctx *c, int i) {
    if (i < 0) i = c->last_n - 1;
    if (i < 0 || i >= c->last_n) return NULL;
    if (!c->last_all) return i == c->last_n - 1 ? c->logits : NULL;
    return c->logits + (int64_t)i * c->m->hp.n_vocab;
}

const float *darwin_hidden(const darwin_ctx *c, int i) {
    if (i < 0) i = c->last_n - 1;
    if (i < 0 || i >= c->last_n) return NULL;
    return c->hidden + (int64_t)i * c->m->hp.n_embd;
}

/* ---- MTP block ----------------------------------------------------------------------------------- */

int darwin_mtp_eval(darwin_ctx *c, const int32_t *tok, const float *hprev, int n, int pos, float *logits, int all_logits, float *hidden) {
    const darwin_model *m = c->m;
    const hparams *h = &m->hp;
    int64_t D = h->n_embd;
    if (!h->n_nextn || c->n_kv <= m->n_attn) { set_error("the model has no MTP block, or the context was made without mtp"); return -1; }
    if (pos < 0 || pos > c->mtp_past || pos + n > c->p.n_ctx) { set_error("MTP positions %d..%d do not follow the MTP cache (%d)", pos, pos + n - 1, c->mtp_past); return -1; }
    if (check_tokens(c, tok, n)) return -1;
    const block *b = &m->blk[h->n_main];
    for (int off = 0; off < n; off += c->p.n_ubatch) {
        int nu = n - off < c->p.n_ubatch ? n - off : c->p.n_ubatch;
        embed_tokens(c, tok + off, nu, c->xn);
        for (int t = 0; t < nu; t++) {   /* [enorm(e), hnorm(h)] */
            float *cat = c->b1 + t * 2 * D;
            rmsnorm(cat, c->xn + t * D, b->enorm, (int)D, h->eps);
            rmsnorm(cat + D, hprev + (off + t) * D, b->hnorm, (int)D, h->eps);
            if (!b->eh_proj.t) for (int64_t i = 0; i < D; i++) c->x[t * D + i] = cat[i] + cat[D + i];
        }
        if (b->eh_proj.t) matmul(c, &b->eh_proj, c->b1, 2 * D, nu, c->x, D);
        block_forward(c, h->n_main, b->kv + m->n_attn, nu, pos + off);
        float *hm = c->bo;
        for (int t = 0; t < nu; t++) {
            if (b->head_norm) rmsnorm(hm + t * D, c->x + t * D, b->head_norm, (int)D, h->eps);
            else memcpy(hm + t * D, c->x + t * D, (size_t)D * 4);
        }
        if (hidden) memcpy(hidden + off * D, hm, (size_t)(nu * D) * 4);
        if (logits && all_logits) matmul(c, &m->output_mtp, hm, D, nu, logits + (int64_t)off * h->n_vocab, h->n_vocab);
        else if (logits && off + nu == n) matmul(c, &m->output_mtp, hm + (nu - 1) * D, D, 1, logits, h->n_vocab);
    }
    c->mtp_past = pos + n;
    return 0;
}

/* ---- snapshots ----------------------------------------------------------------------------------- */

struct darwin_snapshot { int n_past, mtp_past; float *state; };

static int64_t snapshot_floats(const darwin_ctx *c) {
    int64_t n = 0;
    for (int i = 0; i < c->m->hp.n_main; i++) if (c->conv[i]) n += c->conv_n + c->ssm_n;
    return n;
}

size_t darwin_snapshot_bytes(const darwin_ctx *c) { return (size_t)snapshot_floats(c) * 4 + sizeof(darwin_snapshot); }

/* copy every delta-net block's state to (dir = 0) or from (dir = 1) a flat buffer */
static void snapshot_copy(darwin_ctx *c, float *buf, int dir) {
    for (int i = 0; i < c->m->hp.n_main; i++) {
        if (!c->conv[i]) continue;
        float *parts[2] = { c->conv[i], c->ssm[i] };
        int64_t sizes[2] = { c->conv_n, c->ssm_n };
        for (int k = 0; k < 2; k++, buf += sizes[k - 1])
            memcpy(dir ? parts[k] : buf, dir ? buf : parts[k], (size_t)sizes[k] * 4);
    }
}

darwin_snapshot *darwin_snapshot_take(const darwin_ctx *c) {
    darwin_snapshot *s = xcalloc(1, sizeof *s);
    if (!s) return NULL;
    s->n_past = c->n_past; s->mtp_past = c->mtp_past;
    if (!(s->state = xcalloc((size_t)max64(snapshot_floats(c), 1), 4))) { free(s); return NULL; }
    snapshot_copy((darwin_ctx *)c, s->state, 0);
    return s;
}

int darwin_snapshot_restore(darwin_ctx *c, const darwin_snapshot *s) {
    if (s->n_past > c->p.n_ctx) { set_error("snapshot does not fit this context"); return -1; }
    c->n_past = s->n_past; c->mtp_past = s->mtp_past; c->last_n = 0;
    snapshot_copy(c, s->state, 1);
    return 0;
}

void darwin_snapshot_free(darwin_snapshot *s) {
    if (s) free(s->state);
    free(s);
}

/* ---- per-step states for speculative rollback ------------------------------------------------- */

/* Keep the recurrent state after each of the first n tokens of the next evaluations (n = 0: stop). */
static int ctx_keep_steps(darwin_ctx *c, int n) {
    const hparams *h = &c->m->hp;
    if (n > c->p.n_ubatch) n = c->p.n_ubatch;
    if (n > c->keep_steps && c->step_conv) {   /* grow: reallocate */
        for (int i = 0; i < h->n_layer; i++) { free(c->step_conv[i]); free(c->step_ssm[i]); }
        free(c->step_conv); free(c->step_ssm);
        c->step_conv = c->step_ssm = NULL;
    }
    if (n > 0 && !c->step_conv) {
        if (!(c->step_conv = xcalloc((size_t)h->n_layer, sizeof *c->step_conv)) || !(c->step_ssm = xcalloc((size_t)h->n_layer, sizeof *c->step_ssm))) return -1;
        for (int i = 0; i < h->n_main; i++)
            if (c->conv[i] && (!(c->step_conv[i] = xcalloc((size_t)(n * max64(c->conv_n, 1)), 4)) || !(c->step_ssm[i] = xcalloc((size_t)(n * c->ssm_n), 4)))) return -1;
    }
    c->keep_steps = n;
    return 0;
}

/* Go back to the state after token `step` of the last evaluation, n_past = new_past. */
static void ctx_rewind(darwin_ctx *c, int new_past, int step) {
    for (int i = 0; i < c->m->hp.n_main; i++) {
        if (!c->conv[i]) continue;
        memcpy(c->conv[i], c->step_conv[i] + step * c->conv_n, (size_t)c->conv_n * 4);
        memcpy(c->ssm[i], c->step_ssm[i] + step * c->ssm_n, (size_t)c->ssm_n * 4);
    }
    c->n_past = new_past;
    c->last_n = 0;
}
