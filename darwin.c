/* darwin.c - a dependency-free inference engine for Qwen3.5 hybrid models ("qwen35" GGUF),
 * including the mixed-precision quantizations of the ik_llama.cpp fork.
 *
 * The file reads top to bottom: platform, GGUF, quant types, tokenizer, model, sampling,
 * speculation, CLI. Vendor it with darwin.h and kernels.h; build with -DDARWIN_NO_MAIN to get the
 * library without the command-line program. Everything not prefixed darwin_ is static. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <math.h>
#include <ctype.h>
#include <errno.h>
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include "darwin.h"

/* ============================================================================================ */
/* Platform                                                                                     */
/* ============================================================================================ */

static char g_error[1024];

/* Errors are recorded, not printed: the library returns failure and the CLI prints the one line. */
static void set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
}

const char *darwin_last_error(void) { return g_error; }

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* allocation failures are reported like any other error, never dereferenced */
static void *xcalloc(size_t n, size_t size) {
    void *p = (n && size) ? calloc(n, size) : NULL;
    if (n && size && !p) set_error("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

/* overflow-safe arithmetic on sizes read from files */
static int mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    if (a && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}
static int add_ok(uint64_t a, uint64_t b, uint64_t *out) {
    if (b > UINT64_MAX - a) return 0;
    *out = a + b;
    return 1;
}

/* A pthread pool: pool_run(fn) runs fn(arg, ith, nth) on every thread, the caller being thread 0.
 * Workers spin briefly on the generation counter (requests come back to back during a forward pass),
 * then sleep on a condition variable so that an idle engine costs no CPU. */
typedef void (*pool_fn)(void *arg, int ith, int nth);

/* spin iterations before sleeping: short, because on a loaded 2-core machine a spinning thread steals
 * the core from the thread it waits for */
#define POOL_SPINS 4000

typedef struct pool {
    int n;
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    _Atomic uint64_t gen;
    _Atomic int pending;
    _Atomic int quit;
    pool_fn fn;
    void *arg;
} pool;

typedef struct { pool *p; int ith; } pool_worker_arg;

static void *pool_worker(void *v) {
    pool_worker_arg *wa = v;
    pool *p = wa->p;
    int ith = wa->ith;
    free(wa);
    uint64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen && !atomic_load(&p->quit)) {
            if (++spins < POOL_SPINS) continue;
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit)) pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->quit)) return NULL;
        seen = atomic_load(&p->gen);
        p->fn(p->arg, ith, p->n);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static pool *pool_new(int n) {
    pool *p = xcalloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n < 1 ? 1 : n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (p->n > 1 && !(p->th = xcalloc((size_t)p->n, sizeof *p->th))) { free(p); return NULL; }
    for (int i = 1; i < p->n; i++) {
        pool_worker_arg *wa = malloc(sizeof *wa);
        if (wa) { wa->p = p; wa->ith = i; }
        if (!wa || pthread_create(&p->th[i], NULL, pool_worker, wa)) { free(wa); p->n = i; break; }
    }
    return p;
}

static void pool_run(pool *p, pool_fn fn, void *arg) {
    if (p->n == 1) { fn(arg, 0, 1); return; }
    p->fn = fn; p->arg = arg;
    atomic_store(&p->pending, p->n - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    for (int spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0;) {
        if (++spins < POOL_SPINS) continue;
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

static void pool_free(pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->th);
    free(p);
}

/* the share [*a, *b) of n items that thread ith of nth handles */
static void split_range(int64_t n, int ith, int nth, int64_t *a, int64_t *b) {
    *a = n * ith / nth;
    *b = n * (ith + 1) / nth;
}

typedef struct { uint8_t *data; uint64_t size; int mapped; } filemap;

/* Map a file read-only; where mmap is unavailable (or the file is a pipe) read it into memory. */
static int file_map(const char *path, filemap *fm) {
    memset(fm, 0, sizeof *fm);
    int fd = open(path, O_RDONLY);
    if (fd < 0) { set_error("%s: cannot open: %s", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_error("%s: not a regular file", path); close(fd); return -1;
    }
    fm->size = (uint64_t)st.st_size;
    if (fm->size == 0) { set_error("%s: empty file", path); close(fd); return -1; }
    void *p = mmap(NULL, fm->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
        fm->data = p; fm->mapped = 1; close(fd); return 0;
    }
    fm->data = malloc(fm->size);
    if (!fm->data) { set_error("%s: out of memory reading %llu bytes", path, (unsigned long long)fm->size); close(fd); return -1; }
    uint64_t got = 0;
    while (got < fm->size) {
        ssize_t r = read(fd, fm->data + got, fm->size - got);
        if (r <= 0) { set_error("%s: read failed at byte %llu", path, (unsigned long long)got); free(fm->data); fm->data = NULL; close(fd); return -1; }
        got += (uint64_t)r;
    }
    close(fd);
    return 0;
}

static void file_unmap(filemap *fm) {
    if (!fm->data) return;
    if (fm->mapped) munmap(fm->data, fm->size); else free(fm->data);
    fm->data = NULL;
}

/* little-endian reads from unaligned memory */
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static float rdf32(const uint8_t *p) { uint32_t u = rd32(p); float f; memcpy(&f, &u, 4); return f; }

/* ============================================================================================ */
/* Quant types                                                                                  */
/* ============================================================================================ */

#include "parts/quants.c"
#include "kernels.h"

/* ============================================================================================ */
/* GGUF                                                                                         */
/* ============================================================================================ */

typedef struct { const char *s; uint64_t n; } gstr;   /* bytes inside the mapping, not NUL-terminated */

enum gguf_type { GT_U8, GT_I8, GT_U16, GT_I16, GT_U32, GT_I32, GT_F32, GT_BOOL, GT_STR, GT_ARR, GT_U64, GT_I64, GT_F64, GT_COUNT };
static const uint8_t GT_SIZE[GT_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

typedef struct gguf_kv {
    gstr key;
    uint32_t type;
    uint32_t arr_type;       /* GT_ARR: element type and count */
    uint64_t arr_n;
    const uint8_t *data;     /* scalar value / first element of a numeric array */
    gstr str;                /* GT_STR value */
    gstr *strs;              /* GT_ARR of GT_STR */
} gguf_kv;

typedef struct tensor {
    char *name;
    int n_dims;
    int64_t ne[4];
    uint32_t type_id;
    const qtype *type;
    uint64_t offset, nbytes, row_bytes, nrows;
    const uint8_t *data;
} tensor;

typedef struct gguf_file {
    const char *path;
    filemap fm;
    uint32_t version;
    uint64_t n_kv, n_tensors, alignment, data_off;
    gguf_kv *kv;
    tensor *t;
} gguf_file;

/* a bounds-checked cursor over the file: every read says what it was reading when it fails */
typedef struct { const gguf_file *g; uint64_t pos; } cursor;

static int cur_need(cursor *c, uint64_t n, const char *what) {
    if (n > c->g->fm.size || c->pos > c->g->fm.size - n) {
        set_error("%s: truncated at byte %llu (reading %s)", c->g->path, (unsigned long long)c->g->fm.size, what);
        return -1;
    }
    return 0;
}
static int cur_u32(cursor *c, uint32_t *v, const char *what) {
    if (cur_need(c, 4, what)) return -1;
    *v = rd32(c->g->fm.data + c->pos); c->pos += 4; return 0;
}
static int cur_u64(cursor *c, uint64_t *v, const char *what) {
    if (cur_need(c, 8, what)) return -1;
    *v = rd64(c->g->fm.data + c->pos); c->pos += 8; return 0;
}
static int cur_str(cursor *c, gstr *s, const char *what) {
    uint64_t n;
    if (cur_u64(c, &n, what) || cur_need(c, n, what)) return -1;
    s->s = (const char *)c->g->fm.data + c->pos; s->n = n; c->pos += n;
    return 0;
}

static int gstr_eq(gstr a, const char *b) { size_t n = strlen(b); return a.n == n && memcmp(a.s, b, n) == 0; }
static int gstr_cmp(const void *x, const void *y) {
    const gstr *a = x, *b = y;
    int r = memcmp(a->s, b->s, a->n < b->n ? (size_t)a->n : (size_t)b->n);
    return r ? r : (a->n > b->n) - (a->n < b->n);
}

/* Skip (and validate) one value of type t; arrays of strings get an index for random access. */
static int gguf_read_value(cursor *c, gguf_kv *kv, uint32_t t, int depth) {
    const char *what = "metadata value";
    if (t >= GT_COUNT) { set_error("%s: metadata key '%.*s' has unknown value type %u", c->g->path, (int)kv->key.n, kv->key.s, t); return -1; }
    if (t == GT_STR) return cur_str(c, &kv->str, what);
    if (t != GT_ARR) {
        if (cur_need(c, GT_SIZE[t], what)) return -1;
        kv->data = c->g->fm.data + c->pos; c->pos += GT_SIZE[t];
        return 0;
    }
    uint32_t et; uint64_t n;
    if (cur_u32(c, &et, "array type") || cur_u64(c, &n, "array length")) return -1;
    if (et >= GT_COUNT) { set_error("%s: metadata key '%.*s': unknown array element type %u", c->g->path, (int)kv->key.n, kv->key.s, et); return -1; }
    if (depth > 4) { set_error("%s: metadata key '%.*s': arrays nested too deeply", c->g->path, (int)kv->key.n, kv->key.s); return -1; }
    /* every element takes at least one byte (strings 8): a count beyond the file is a corrupt count */
    uint64_t min = et == GT_STR ? 8 : et == GT_ARR ? 12 : GT_SIZE[et], span;
    if (!mul_ok(n, min, &span)) { set_error("%s: metadata key '%.*s': array length %llu is too large", c->g->path, (int)kv->key.n, kv->key.s, (unsigned long long)n); return -1; }
    if (cur_need(c, span, "array data")) return -1;
    if (depth == 0) { kv->arr_type = et; kv->arr_n = n; kv->data = c->g->fm.data + c->pos; }
    if (et == GT_STR && depth == 0) {
        if (n && !(kv->strs = xcalloc(n, sizeof(gstr)))) return -1;
        for (uint64_t i = 0; i < n; i++) if (cur_str(c, &kv->strs[i], "array string")) return -1;
        return 0;
    }
    if (et != GT_STR && et != GT_ARR) { c->pos += span; return 0; }
    gguf_kv tmp = { .key = kv->key };
    for (uint64_t i = 0; i < n; i++) if (gguf_read_value(c, &tmp, et, depth + 1)) return -1;
    return 0;
}

static const gguf_kv *gguf_find(const gguf_file *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++) if (gstr_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

static int gt_is_int(uint32_t t) { return t <= GT_I32 || t == GT_BOOL || t == GT_U64 || t == GT_I64; }

static int64_t gguf_int_at(uint32_t t, const uint8_t *p) {
    switch (t) {
    case GT_U8: case GT_BOOL: return p[0];
    case GT_I8: return (int8_t)p[0];
    case GT_U16: return rd16(p);
    case GT_I16: return (int16_t)rd16(p);
    case GT_U32: return rd32(p);
    case GT_I32: return (int32_t)rd32(p);
    case GT_U64: return rd64(p) > INT64_MAX ? INT64_MAX : (int64_t)rd64(p);
    default: return (int64_t)rd64(p);
    }
}

static int64_t gguf_arr_int(const gguf_kv *kv, uint64_t i) {
    return gguf_int_at(kv->arr_type, kv->data + i * GT_SIZE[kv->arr_type]);
}

static int gguf_get_int(const gguf_file *g, const char *key, int64_t *out) {
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv || !gt_is_int(kv->type)) return -1;
    *out = gguf_int_at(kv->type, kv->data);
    return 0;
}

static int gguf_get_float(const gguf_file *g, const char *key, double *out) {
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv) return -1;
    if (kv->type == GT_F32) *out = rdf32(kv->data);
    else if (kv->type == GT_F64) { uint64_t u = rd64(kv->data); memcpy(out, &u, 8); }
    else if (gt_is_int(kv->type)) *out = (double)gguf_int_at(kv->type, kv->data);
    else return -1;
    return 0;
}

/* a string value as a NUL-terminated copy in buf (truncated to fit) */
static const char *gguf_get_str(const gguf_file *g, const char *key, char *buf, size_t cap) {
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv || kv->type != GT_STR || !cap) return NULL;
    size_t n = kv->str.n < cap - 1 ? (size_t)kv->str.n : cap - 1;
    memcpy(buf, kv->str.s, n); buf[n] = 0;
    return buf;
}

static void gguf_close(gguf_file *g) {
    if (g->kv) for (uint64_t i = 0; i < g->n_kv; i++) free(g->kv[i].strs);
    if (g->t) for (uint64_t i = 0; i < g->n_tensors; i++) free(g->t[i].name);
    free(g->kv); free(g->t);
    file_unmap(&g->fm);
    memset(g, 0, sizeof *g);
}

static int gguf_read_kvs(gguf_file *g, cursor *c) {
    for (uint64_t i = 0; i < g->n_kv; i++) {
        gguf_kv *kv = &g->kv[i];
        if (cur_str(c, &kv->key, "metadata key") || cur_u32(c, &kv->type, "metadata type")) return -1;
        if (gguf_read_value(c, kv, kv->type, 0)) return -1;
    }
    /* duplicate keys: sorted, so that a file with millions of keys cannot take quadratic time */
    if (g->n_kv > 1) {
        gstr *keys = xcalloc(g->n_kv, sizeof *keys);
        if (!keys) return -1;
        for (uint64_t i = 0; i < g->n_kv; i++) keys[i] = g->kv[i].key;
        qsort(keys, g->n_kv, sizeof *keys, gstr_cmp);
        for (uint64_t i = 1; i < g->n_kv; i++)
            if (!gstr_cmp(&keys[i - 1], &keys[i])) {
                set_error("%s: duplicate metadata key '%.*s'", g->path, (int)keys[i].n, keys[i].s); free(keys); return -1;
            }
        free(keys);
    }
    int64_t al = 32;
    const gguf_kv *a = gguf_find(g, "general.alignment");
    if (a) {
        if (!gt_is_int(a->type) || (al = gguf_int_at(a->type, a->data)) <= 0 || (al & (al - 1)) || al > (1 << 24)) {
            set_error("%s: general.alignment must be a power of two (got %lld)", g->path, (long long)al); return -1;
        }
    }
    g->alignment = (uint64_t)al;
    return 0;
}

static int tensor_read_info(gguf_file *g, cursor *c, tensor *t) {
    gstr name;
    if (cur_str(c, &name, "tensor name")) return -1;
    if (name.n == 0 || name.n > 256 || memchr(name.s, 0, name.n)) { set_error("%s: tensor name of length %llu is invalid", g->path, (unsigned long long)name.n); return -1; }
    if (!(t->name = xcalloc(1, name.n + 1))) return -1;
    memcpy(t->name, name.s, name.n);
    uint32_t nd;
    if (cur_u32(c, &nd, "tensor dimension count")) return -1;
    if (nd < 1 || nd > 4) { set_error("%s: tensor %s has %u dimensions (1 to 4 allowed)", g->path, t->name, nd); return -1; }
    t->n_dims = (int)nd;
    uint64_t total = 1;
    for (int d = 0; d < 4; d++) {
        uint64_t v = 1;
        if (d < (int)nd && cur_u64(c, &v, "tensor dimensions")) return -1;
        if (v == 0 || v > (1ull << 40) || !mul_ok(total, v, &total) || total > (1ull << 42)) {
            set_error("%s: tensor %s has an invalid dimension %d: %llu", g->path, t->name, d, (unsigned long long)v); return -1;
        }
        t->ne[d] = (int64_t)v;
    }
    if (cur_u32(c, &t->type_id, "tensor type") || cur_u64(c, &t->offset, "tensor offset")) return -1;
    t->type = qtype_find(t->type_id);
    if (!t->type) { set_error("%s: unknown type id %u for tensor %s", g->path, t->type_id, t->name); return -1; }
    if (t->type->refuse) { set_error("%s: tensor %s has type %s: %s", g->path, t->name, t->type->name, t->type->refuse); return -1; }
    t->nrows = total / (uint64_t)t->ne[0];
    if (qtype_row_bytes(t->type, t->ne[0], &t->row_bytes) || !mul_ok(t->row_bytes, t->nrows, &t->nbytes)) {
        set_error("%s: tensor %s: row of %lld elements does not fit type %s (block %u)", g->path, t->name, (long long)t->ne[0], t->type->name, t->type->blck);
        return -1;
    }
    if (t->offset % g->alignment) { set_error("%s: tensor %s offset %llu is not aligned to %llu", g->path, t->name, (unsigned long long)t->offset, (unsigned long long)g->alignment); return -1; }
    return 0;
}

static int tensor_cmp_name(const void *x, const void *y) {
    return strcmp((*(const tensor *const *)x)->name, (*(const tensor *const *)y)->name);
}
static int tensor_cmp_offset(const void *x, const void *y) {
    uint64_t a = (*(const tensor *const *)x)->offset, b = (*(const tensor *const *)y)->offset;
    return (a > b) - (a < b);
}

/* Bound every tensor by the file, reject duplicate names and overlapping data (sorted: n log n). */
static int gguf_place_tensors(gguf_file *g) {
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        tensor *t = &g->t[i];
        uint64_t start, end;
        if (!add_ok(g->data_off, t->offset, &start) || !add_ok(start, t->nbytes, &end) || end > g->fm.size) {
            set_error("%s: tensor %s out of bounds (data at %llu + %llu bytes, file has %llu)", g->path, t->name,
                      (unsigned long long)t->offset, (unsigned long long)t->nbytes, (unsigned long long)g->fm.size);
            return -1;
        }
        t->data = g->fm.data + start;
    }
    if (g->n_tensors < 2) return 0;
    tensor **ix = xcalloc(g->n_tensors, sizeof *ix);
    if (!ix) return -1;
    for (uint64_t i = 0; i < g->n_tensors; i++) ix[i] = &g->t[i];
    int rc = 0;
    qsort(ix, g->n_tensors, sizeof *ix, tensor_cmp_name);
    for (uint64_t i = 1; i < g->n_tensors && !rc; i++)
        if (!strcmp(ix[i - 1]->name, ix[i]->name)) { set_error("%s: duplicate tensor name %s", g->path, ix[i]->name); rc = -1; }
    qsort(ix, g->n_tensors, sizeof *ix, tensor_cmp_offset);
    for (uint64_t i = 1; i < g->n_tensors && !rc; i++)
        if (ix[i]->offset < ix[i - 1]->offset + ix[i - 1]->nbytes) {   /* no overflow: both within the file */
            set_error("%s: tensor %s overlaps the data of tensor %s", g->path, ix[i]->name, ix[i - 1]->name); rc = -1;
        }
    free(ix);
    return rc;
}

/* Parse the GGUF held in fm (which g takes over); path only names it in messages. */
static int gguf_parse(gguf_file *g, const char *path, filemap fm) {
    memset(g, 0, sizeof *g);
    g->path = path;
    g->fm = fm;
    cursor c = { g, 0 };
    uint32_t magic;
    if (cur_u32(&c, &magic, "magic")) goto fail;
    if (magic != 0x46554747u) { set_error("%s: bad magic (not a GGUF file)", path); goto fail; }
    if (cur_u32(&c, &g->version, "version")) goto fail;
    if (g->version < 2 || g->version > 3) { set_error("%s: unsupported GGUF version %u (2 and 3 are supported)", path, g->version); goto fail; }
    if (cur_u64(&c, &g->n_tensors, "tensor count") || cur_u64(&c, &g->n_kv, "metadata count")) goto fail;
    /* a key takes at least 12 bytes and a tensor info at least 28: larger counts cannot fit the file */
    if (g->n_kv > g->fm.size / 12 || g->n_tensors > g->fm.size / 28) {
        set_error("%s: corrupt header: %llu tensors, %llu metadata keys in a %llu-byte file", path,
                  (unsigned long long)g->n_tensors, (unsigned long long)g->n_kv, (unsigned long long)g->fm.size);
        goto fail;
    }
    if ((g->n_kv && !(g->kv = xcalloc(g->n_kv, sizeof *g->kv))) || (g->n_tensors && !(g->t = xcalloc(g->n_tensors, sizeof *g->t)))) goto fail;
    if (gguf_read_kvs(g, &c)) goto fail;
    for (uint64_t i = 0; i < g->n_tensors; i++) if (tensor_read_info(g, &c, &g->t[i])) goto fail;
    g->data_off = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (gguf_place_tensors(g)) goto fail;
    return 0;
fail:
    gguf_close(g);
    return -1;
}

static int gguf_open(gguf_file *g, const char *path) {
    filemap fm;
    memset(g, 0, sizeof *g);
    return file_map(path, &fm) ? -1 : gguf_parse(g, path, fm);
}

static const tensor *gguf_tensor(const gguf_file *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++) if (!strcmp(g->t[i].name, name)) return &g->t[i];
    return NULL;
}

/* ============================================================================================ */
/* Matrix products                                                                              */
/* ============================================================================================ */

#include "parts/matmul.c"

/* ============================================================================================ */
/* Tokenizer                                                                                    */
/* ============================================================================================ */

#include "parts/tokenizer.c"

/* ============================================================================================ */
/* Model                                                                                        */
/* ============================================================================================ */

#include "parts/model.c"

/* ============================================================================================ */
/* Sampling                                                                                     */
/* ============================================================================================ */

#include "parts/sample.c"

/* ============================================================================================ */
/* Speculation                                                                                  */
/* ============================================================================================ */

#include "parts/spec.c"

/* ============================================================================================ */
/* CLI                                                                                          */
/* ============================================================================================ */

#ifndef DARWIN_NO_MAIN
#include "parts/cli.c"
#endif
