/* a weight matrix: rows of `cols` values of one quant type, in the mapping or dequantized to f32 */
typedef struct mat {
    const tensor *t;
    const qtype *type;
    const uint8_t *data;
    uint64_t row_bytes;
    int64_t rows, cols;
} mat;

#define MM_R 8                   /* weight rows decoded together (one decode serves a whole token tile;
                                    8 rows share each activation load, 5% faster than 4 at 64 tokens) */
#define MM_TT 64                 /* most tokens in a tile: the accumulators, MM_R x MM_TT x 16 floats, stay in L1 */

/* per-thread scratch */
typedef struct mm_thr {
    int16_t *wv;                 /* MM_R decoded chunks in pair layout */
    float *wsc, *wmn;            /* their per-16 scales and mins */
    float *acc;                  /* MM_TT x MM_R x 16 lane accumulators */
    int16_t *tmp;                /* a natural-order block from a scalar decoder */
    float *row;                  /* one f16/bf16 row as f32 */
} mm_thr;

/* per-context workspace of the matrix products */
typedef struct mm_ws {
    int16_t *aq;                 /* activations: max_tokens x kp int16 in pair layout */
    float *ad, *as;              /* per 16 activation values: the scale, the sum of the int16 values */
    int64_t kp;                  /* max_cols rounded up to a chunk */
    mm_thr *thr;
} mm_ws;

static void *mm_alloc(size_t bytes) {
    bytes = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p) memset(p, 0, bytes);
    return p;
}

static int mm_ws_init(mm_ws *ws, int nth, int64_t max_cols, int max_tokens) {
    kernel_init();
    memset(ws, 0, sizeof *ws);
    ws->kp = (max_cols + KC - 1) / KC * KC;
    size_t nt = (size_t)(max_tokens < 1 ? 1 : max_tokens), kp = (size_t)ws->kp;
    if (!(ws->aq = mm_alloc(nt * kp * 2)) || !(ws->ad = mm_alloc(nt * kp / 16 * 4)) || !(ws->as = mm_alloc(nt * kp / 16 * 4)))
        return -1;
    if (!(ws->thr = xcalloc((size_t)nth, sizeof *ws->thr))) return -1;
    for (int i = 0; i < nth; i++) {
        mm_thr *t = &ws->thr[i];
        if (!(t->wv = mm_alloc(MM_R * KC * 2)) || !(t->wsc = mm_alloc(MM_R * KS * 4)) || !(t->wmn = mm_alloc(MM_R * KS * 4)) ||
            !(t->acc = mm_alloc((size_t)MM_TT * MM_R * KS * 4)) || !(t->tmp = mm_alloc(KC * 2)) || !(t->row = mm_alloc(kp * 4)))
            return -1;
    }
    return 0;
}

static void mm_ws_free(mm_ws *ws, int nth) {
    for (int i = 0; ws->thr && i < nth; i++) {
        mm_thr *t = &ws->thr[i];
        free(t->wv); free(t->wsc); free(t->wmn); free(t->acc); free(t->tmp); free(t->row);
    }
    free(ws->thr); free(ws->aq); free(ws->ad); free(ws->as);
    memset(ws, 0, sizeof *ws);
}

/* row header value D of a row (the block decoders take it as an argument) */
static float mm_row_D(const qtype *q, const uint8_t *row) {
    return q->hdr == 2 ? q_h(row) : q->hdr ? q_f(row) : 0.0f;
}

/* Decode chunk c (elements 256c .. 256c+255) of a row into pair layout; parts past the row end are zero.
 * Returns 1 if the type has mins (then mn is filled). */
static int mm_dec_chunk(const qtype *q, const uint8_t *row, int64_t cols, int64_t c, int16_t *vl, float *sc, float *mn,
                        int16_t *tmp) {
    float D = mm_row_D(q, row);
    const uint8_t *blocks = row + q->hdr;
    kl_dec_fn fast = q->id < 160 ? kl_set.dec[q->id] : NULL;
    if (fast && q->blck == KC && (c + 1) * KC <= cols) { fast(blocks + c * q->bytes, vl, sc, D); return 0; }
    int bl = (int)q->blck, has_min = 0;
    int64_t e0 = c * KC;
    for (int e = 0; e < KC; e += bl) {
        if (e0 + e >= cols) {                              /* past the row: zero values, zero scales */
            for (int i = e; i < KC; i++) vl[kl_pos(i)] = 0;
            for (int s = e / 16; s < KS; s++) sc[s] = mn[s] = 0;
            break;
        }
        has_min |= q->dec(blocks + (e0 + e) / bl * q->bytes, tmp, sc + e / 16, mn + e / 16, D);
        for (int i = 0; i < bl; i++) vl[kl_pos(e + i)] = tmp[i];
    }
    return has_min;
}

typedef struct matmul_job {
    const mat *w;
    const float *x;
    float *y;
    int n;
    int64_t ldx, ldy;
    mm_ws *ws;
    int tt;                      /* tokens per tile */
} matmul_job;

/* quantize the activations, tokens split over the threads */
static void mm_quant_tokens(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    int64_t a, b, kp = j->ws->kp, cols = j->w->cols, cp = (cols + KC - 1) / KC * KC;
    split_range(j->n, ith, nth, &a, &b);
    for (int64_t t = a; t < b; t++) {
        int16_t *q = j->ws->aq + t * kp;
        float *ad = j->ws->ad + t * (kp / 16), *as = j->ws->as + t * (kp / 16);
        kl_set.quant(j->x + t * j->ldx, cols, q, ad, as);   /* cols is a multiple of 32 for every block type */
        for (int64_t i = cols; i < cp; i++) q[kl_pos((int)(i % KC)) + i / KC * KC] = 0;  /* tail of the last chunk */
        for (int64_t s = cols / 16; s < cp / 16; s++) ad[s] = as[s] = 0;
    }
}

/* one tile of MM_R rows (r0 .. r0+R) against tokens t0 .. t0+T: decode a chunk of each row once, apply it
 * to every token of the tile, chunks in order */
static void mm_tile(const matmul_job *j, mm_thr *th, int64_t r0, int R, int t0, int T) {
    const mat *w = j->w;
    int64_t nc = (w->cols + KC - 1) / KC, kp = j->ws->kp;
    memset(th->acc, 0, (size_t)T * R * KS * sizeof(float));
    for (int64_t c = 0; c < nc; c++) {
        int has_min = 0;
        for (int r = 0; r < R; r++)
            has_min |= mm_dec_chunk(w->type, w->data + (uint64_t)(r0 + r) * w->row_bytes, w->cols, c,
                                    th->wv + r * KC, th->wsc + r * KS, th->wmn + r * KS, th->tmp);
        kl_set.chunk(th->wv, th->wsc, th->wmn, R, has_min, j->ws->aq + t0 * kp + c * KC, kp,
                     j->ws->ad + t0 * (kp / 16) + c * KS, j->ws->as + t0 * (kp / 16) + c * KS, kp / 16, T, th->acc);
    }
    for (int t = 0; t < T; t++)
        for (int r = 0; r < R; r++) j->y[(t0 + t) * j->ldy + r0 + r] = kl_reduce16(th->acc + (t * R + r) * KS);
}

/* mm_tile for a type with a fast decoder and whole chunks only (the common case): row pointers and headers
 * read once per tile instead of once per chunk, and no per-chunk type dispatch. Same decoded values, same
 * chunk kernel calls in the same order, so the same bits as mm_tile. */
static void mm_tile_fast(const matmul_job *j, mm_thr *th, int64_t r0, int R, int t0, int T, kl_dec_fn dec) {
    const mat *w = j->w;
    const qtype *q = w->type;
    int64_t nc = w->cols / KC, kp = j->ws->kp, lds = kp / 16;
    const uint8_t *rp[MM_R];
    float D[MM_R];
    for (int r = 0; r < R; r++) {
        const uint8_t *row = w->data + (uint64_t)(r0 + r) * w->row_bytes;
        D[r] = mm_row_D(q, row);
        rp[r] = row + q->hdr;
    }
    const int16_t *a = j->ws->aq + t0 * kp;
    const float *ad = j->ws->ad + t0 * lds, *as = j->ws->as + t0 * lds;
    memset(th->acc, 0, (size_t)T * R * KS * sizeof(float));
    for (int64_t c = 0; c < nc; c++) {
        for (int r = 0; r < R; r++) dec(rp[r] + c * q->bytes, th->wv + r * KC, th->wsc + r * KS, D[r]);
        kl_set.chunk(th->wv, th->wsc, th->wmn, R, 0, a + c * KC, kp, ad + c * KS, as + c * KS, lds, T, th->acc);
    }
    for (int t = 0; t < T; t++)
        for (int r = 0; r < R; r++) j->y[(t0 + t) * j->ldy + r0 + r] = kl_reduce16(th->acc + (t * R + r) * KS);
}

/* one token against rows r0 .. r1 with a fused decode + dot kernel (KT types): no tile buffers at all */
static int mm_rows_dot1(const matmul_job *j, int64_t r0, int64_t r1) {
#if defined(__x86_64__)
    const mat *w = j->w;
    const qtype *q = w->type;
    kla_dot1_fn f = q->id < 160 && q->blck == KC && w->cols % KC == 0 ? kla_dot1[q->id] : NULL;
    if (!f) return 0;
    float acc[KS];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w->data + (uint64_t)r * w->row_bytes;
        f(row + q->hdr, w->cols / KC, q->bytes, mm_row_D(q, row), j->ws->aq, j->ws->ad, acc);
        j->y[r] = kl_reduce16(acc);
    }
    return 1;
#else
    (void)j; (void)r0; (void)r1;
    return 0;
#endif
}

static void mm_rows_int(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    const qtype *q = j->w->type;
    int64_t ntile = (j->w->rows + MM_R - 1) / MM_R, a, b;
    split_range(ntile, ith, nth, &a, &b);
    if (j->n == 1 && mm_rows_dot1(j, a * MM_R, b * MM_R < j->w->rows ? b * MM_R : j->w->rows)) return;
    mm_thr *th = &j->ws->thr[ith];
    kl_dec_fn fast = q->id < 160 && q->blck == KC && j->w->cols % KC == 0 ? kl_set.dec[q->id] : NULL;
    for (int t0 = 0; t0 < j->n; t0 += j->tt) {
        int T = j->n - t0 < j->tt ? j->n - t0 : j->tt;
        for (int64_t i = a; i < b; i++) {
            int64_t r0 = i * MM_R;
            int R = j->w->rows - r0 < MM_R ? (int)(j->w->rows - r0) : MM_R;
            if (fast) mm_tile_fast(j, th, r0, R, t0, T, fast);
            else mm_tile(j, th, r0, R, t0, T);
        }
    }
}

/* f32 dot product (also used by attention): 8 lanes in i % 8 order, identical bits on every ISA */
static float dot_f32(const float *a, const float *b, int64_t n) {
    if (!kl_ready) kernel_init();
    return kl_set.dot_f32(a, b, n);
}

/* f32 / f16 / bf16 weights: f32 activations, exact f32 dot products */
static void mm_rows_float(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    const mat *w = j->w;
    int64_t a, b;
    split_range(w->rows, ith, nth, &a, &b);
    float *row = j->ws->thr[ith].row;
    for (int64_t r = a; r < b; r++) {
        const uint8_t *src = w->data + (uint64_t)r * w->row_bytes;
        const float *wr = (const float *)(const void *)src;
        if (w->type->id != 0) { w->type->deq(src, row, w->cols); wr = row; }
        for (int t = 0; t < j->n; t++) j->y[t * j->ldy + r] = dot_f32(wr, j->x + t * j->ldx, w->cols);
    }
}

/* Y[t][o] = sum_i W[o][i] * X[t][i] for n tokens */
static void mm_run(pool *p, mm_ws *ws, const mat *w, const float *x, int64_t ldx, int n, float *y, int64_t ldy) {
    matmul_job j = { w, x, y, n, ldx, ldy, ws, 1 };
    if (!w->type->dec) { pool_run(p, mm_rows_float, &j); return; }
    /* tokens per tile: the tile's int16 activations stay within about 1.25 MB of L2. The tokens are then
     * spread evenly over the fewest tiles (64 tokens at 37 per tile: 2 x 32, not 37 + 27 or 30 + 30 + 4), since
     * every tile decodes the weights again. */
    int64_t tt = ((int64_t)5 << 18) / (2 * ((w->cols + KC - 1) / KC * KC));
    tt = tt < 4 ? 4 : tt > MM_TT ? MM_TT : tt;
    int64_t ntiles = n > 0 ? (n + tt - 1) / tt : 1;
    j.tt = (int)((n + ntiles - 1) / ntiles);
    if (n == 1) mm_quant_tokens(&j, 0, 1);
    else pool_run(p, mm_quant_tokens, &j);
    pool_run(p, mm_rows_int, &j);
}
