/* a weight matrix: rows of `cols` values of one quant type, in the mapping or dequantized to f32 */
typedef struct mat {
    const tensor *t;
    const qtype *type;
    const uint8_t *data;
    uint64_t row_bytes;
    int64_t rows, cols;
} mat;

/* per-context workspace of the matrix products */
typedef struct mm_ws {
    float **row;        /* per thread: one decoded weight row */
} mm_ws;

static int mm_ws_init(mm_ws *ws, int nth, int64_t max_cols, int max_tokens) {
    (void)max_tokens;
    if (!(ws->row = xcalloc((size_t)nth, sizeof *ws->row))) return -1;
    for (int i = 0; i < nth; i++) if (!(ws->row[i] = xcalloc((size_t)max_cols, sizeof(float)))) return -1;
    return 0;
}

static void mm_ws_free(mm_ws *ws, int nth) {
    for (int i = 0; ws->row && i < nth; i++) free(ws->row[i]);
    free(ws->row);
}

/* Y[t][o] = sum_i W[o][i] * X[t][i] for n tokens: each weight row is decoded once and applied to the
 * whole batch, rows split over the threads. */
typedef struct matmul_job {
    const mat *w;
    const float *x;
    float *y;
    int n;
    int64_t ldx, ldy;
    mm_ws *ws;
} matmul_job;

static float dot_f32(const float *a, const float *b, int64_t n) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    for (; i < n; i++) acc[0] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static void matmul_rows(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    const mat *w = j->w;
    int64_t a, b;
    split_range(w->rows, ith, nth, &a, &b);
    float *row = j->ws->row[ith];
    for (int64_t r = a; r < b; r++) {
        const uint8_t *src = w->data + (uint64_t)r * w->row_bytes;
        const float *wr = (const float *)(const void *)src;
        if (w->type->id != 0) { w->type->deq(src, row, w->cols); wr = row; }
        for (int t = 0; t < j->n; t++) j->y[t * j->ldy + r] = dot_f32(wr, j->x + t * j->ldx, w->cols);
    }
}

static void mm_run(pool *p, mm_ws *ws, const mat *w, const float *x, int64_t ldx, int n, float *y, int64_t ldy) {
    matmul_job j = { w, x, y, n, ldx, ldy, ws };
    pool_run(p, matmul_rows, &j);
}
