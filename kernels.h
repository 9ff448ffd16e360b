/* ==== matrix-product kernels: scalar reference, AVX2, AVX-512 (runtime dispatch) ====
 *
 * The integer path works on 256-element chunks of a row. Weights are decoded into int16 values with one
 * float scale (and optionally one float min) per 16 values; activations are quantized once per matmul into
 * int16 per 32 values with an f32 scale. Inside a chunk the 256 int16 values are stored transposed, in the
 * "pair layout": the 32-bit word k*16 + j (k = 0..7, j = 0..15) holds elements 16j+2k and 16j+2k+1, so a
 * 16-lane multiply-add over word rows k = 0..7 leaves the integer dot product of sub-block j in lane j,
 * with no horizontal reduction. The integer sums are exact; every ISA then does the same float operations
 * per lane, (((float)isum * sc - qsum * mn) * da) added into 16 per-lane accumulators in chunk order, and
 * one fixed reduction, so scalar, AVX2 and AVX-512 give identical bits and n = 1 equals n = 512. */

#define KC 256                    /* elements per chunk */
#define KS (KC / 16)              /* 16-element sub-blocks per chunk */

/* position of element e of a chunk in the pair layout */
static inline int kl_pos(int e) { return 32 * ((e & 15) >> 1) + 2 * (e >> 4) + (e & 1); }

/* fixed reduction of 16 lane accumulators (shared by every ISA) */
static inline float kl_reduce16(const float *a) {
    float t[8];
    for (int i = 0; i < 8; i++) t[i] = a[i] + a[i + 8];
    for (int i = 0; i < 4; i++) t[i] = t[i] + t[i + 4];
    return (t[0] + t[2]) + (t[1] + t[3]);
}

/* A fast decoder writes one 256-block of a row straight into the pair layout (row header value D given). */
typedef void (*kl_dec_fn)(const uint8_t *b, int16_t *vl, float *sc, float D);

typedef struct kernel_set {
    const char *name;
    /* for T tokens t: acc[(t*R + r)*16 + j] += term of sub-block j of decoded row r against the activation
     * chunk of token t (a + t*lda int16 values, ad/as + t*lds per-16 scales and sums) */
    void (*chunk)(const int16_t *wv, const float *wsc, const float *wmn, int R, int has_min,
                  const int16_t *a, int64_t lda, const float *ad, const float *as, int64_t lds, int T, float *acc);
    /* quantize n floats (a multiple of 32) to int16 in pair layout; ad/as get per-16 scale and sum */
    void (*quant)(const float *x, int64_t n, int16_t *q, float *ad, float *as);
    /* f32 dot product, 8 lanes in i % 8 order, mul then add (no FMA): the exact float path */
    float (*dot_f32)(const float *a, const float *b, int64_t n);
    kl_dec_fn dec[160];           /* by ggml type id; NULL: use the scalar block decoder */
} kernel_set;

/* ---- scalar ---- */

static void kl_chunk1_scalar(const int16_t *wv, const float *wsc, const float *wmn, int R, int has_min,
                             const int16_t *a, const float *ad, const float *as, float *acc) {
    for (int r = 0; r < R; r++) {
        const int16_t *w = wv + r * KC;
        for (int j = 0; j < KS; j++) {
            int32_t s = 0;
            for (int k = 0; k < 8; k++)
                s += (int32_t)w[32 * k + 2 * j] * a[32 * k + 2 * j] + (int32_t)w[32 * k + 2 * j + 1] * a[32 * k + 2 * j + 1];
            float t = (float)s * wsc[r * KS + j];
            if (has_min) t = t - as[j] * wmn[r * KS + j];
            acc[r * KS + j] += t * ad[j];
        }
    }
}

static void kl_chunk_scalar(const int16_t *wv, const float *wsc, const float *wmn, int R, int has_min,
                            const int16_t *a, int64_t lda, const float *ad, const float *as, int64_t lds, int T, float *acc) {
    for (int t = 0; t < T; t++)
        kl_chunk1_scalar(wv, wsc, wmn, R, has_min, a + t * lda, ad + t * lds, as + t * lds, acc + t * R * KS);
}

/* per 32: d = amax/32767, q = round-half-even(x/d) (the current rounding mode, nearest-even by default) */
static void kl_quant_scalar(const float *x, int64_t n, int16_t *q, float *ad, float *as) {
    for (int64_t b = 0; b < n; b += 32) {
        float amax = 0;
        for (int i = 0; i < 32; i++) { float v = fabsf(x[b + i]); amax = v > amax ? v : amax; }
        float d = amax / 32767.0f;
        int16_t *qc = q + (b / KC) * KC;
        int32_t sum[2] = { 0, 0 };
        for (int i = 0; i < 32; i++) {
            float v = d > 0 ? rintf(x[b + i] / d) : 0.0f;
            int qi = v > 32767 ? 32767 : v < -32767 ? -32767 : (int)v;
            qc[kl_pos((int)(b % KC) + i)] = (int16_t)qi;
            sum[i >> 4] += qi;
        }
        ad[b / 16] = ad[b / 16 + 1] = d;
        as[b / 16] = (float)sum[0]; as[b / 16 + 1] = (float)sum[1];
    }
}

static float kl_dot_f32_scalar(const float *a, const float *b, int64_t n) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    for (; i < n; i++) acc[0] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* ---- KT trellis helpers shared by the SIMD decoders: state multipliers a^k ---- */
#define KT_A 0xCBAC1FEDu
#define KT_A2 (KT_A * KT_A)
#define KT_A3 (KT_A2 * KT_A)
#define KT_A4 (KT_A3 * KT_A)

#if defined(__x86_64__)
#include <immintrin.h>

/* ---- AVX2 ---- */
#define KL_AVX2 __attribute__((target("avx2,fma,f16c")))

KL_AVX2 static void kl_chunk1_avx2(const int16_t *wv, const float *wsc, const float *wmn, int R, int has_min,
                                   const int16_t *a, const float *ad, const float *as, float *acc) {
    for (int h = 0; h < 2; h++) {                 /* lanes j = 8h .. 8h+7 */
        __m256i av[8];
        for (int k = 0; k < 8; k++) av[k] = _mm256_loadu_si256((const __m256i *)(a + 32 * k + 16 * h));
        __m256 vd = _mm256_loadu_ps(ad + 8 * h), vs = _mm256_loadu_ps(as + 8 * h);
        for (int r = 0; r < R; r++) {
            const int16_t *w = wv + r * KC + 16 * h;
            __m256i s0 = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)w), av[0]);
            __m256i s1 = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(w + 32)), av[1]);
            for (int k = 2; k < 8; k += 2) {
                s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(w + 32 * k)), av[k]));
                s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(w + 32 * k + 32)), av[k + 1]));
            }
            __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(s0, s1)), _mm256_loadu_ps(wsc + r * KS + 8 * h));
            if (has_min) t = _mm256_sub_ps(t, _mm256_mul_ps(vs, _mm256_loadu_ps(wmn + r * KS + 8 * h)));
            float *o = acc + r * KS + 8 * h;
            _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), _mm256_mul_ps(t, vd)));
        }
    }
}

KL_AVX2 static void kl_chunk_avx2(const int16_t *wv, const float *wsc, const float *wmn, int R, int has_min,
                                  const int16_t *a, int64_t lda, const float *ad, const float *as, int64_t lds, int T, float *acc) {
    for (int t = 0; t < T; t++)
        kl_chunk1_avx2(wv, wsc, wmn, R, has_min, a + t * lda, ad + t * lds, as + t * lds, acc + t * R * KS);
}

KL_AVX2 static float kl_dot_f32_avx2(const float *a, const float *b, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    float s[8];
    _mm256_storeu_ps(s, acc);
    for (; i < n; i++) s[0] += a[i] * b[i];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* The quantizer: division and round-to-nearest-even in SIMD give the same bits as the scalar rintf(x/d). */
KL_AVX2 static void kl_quant_avx2(const float *x, int64_t n, int16_t *q, float *ad, float *as) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t b = 0; b < n; b += 32) {
        __m256 v[4], m = _mm256_setzero_ps();
        for (int i = 0; i < 4; i++) { v[i] = _mm256_loadu_ps(x + b + 8 * i); m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i])); }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
        float amax = _mm_cvtss_f32(m4), d = amax / 32767.0f;
        int32_t qi[32];
        if (d > 0) {
            __m256 vd = _mm256_set1_ps(d), lim = _mm256_set1_ps(32767.0f);
            for (int i = 0; i < 4; i++) {
                __m256 t = _mm256_round_ps(_mm256_div_ps(v[i], vd), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                t = _mm256_max_ps(_mm256_min_ps(t, lim), _mm256_sub_ps(_mm256_setzero_ps(), lim));
                _mm256_storeu_si256((__m256i *)(qi + 8 * i), _mm256_cvtps_epi32(t));
            }
        } else memset(qi, 0, sizeof qi);
        int16_t *qc = q + (b / KC) * KC;
        int32_t sum[2] = { 0, 0 };
        for (int i = 0; i < 32; i++) { qc[kl_pos((int)(b % KC) + i)] = (int16_t)qi[i]; sum[i >> 4] += qi[i]; }
        ad[b / 16] = ad[b / 16 + 1] = d;
        as[b / 16] = (float)sum[0]; as[b / 16 + 1] = (float)sum[1];
    }
}

/* ---- AVX-512 (with VNNI) ---- */
#define KL_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

/* the float tail of one row: acc += ((float)isum * sc - qsum * mn) * da */
#define KL512_TAIL(isum, r) do { \
        __m512 t_ = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), _mm512_loadu_ps(wsc + (r) * KS)); \
        if (has_min) t_ = _mm512_sub_ps(t_, _mm512_mul_ps(vs, _mm512_loadu_ps(wmn + (r) * KS))); \
        float *o_ = acc + (r) * KS; \
        _mm512_storeu_ps(o_, _mm512_add_ps(_mm512_loadu_ps(o_), _mm512_mul_ps(t_, vd))); \
    } while (0)
/* integer dot of row r against the 8 activation word rows, two chains of four */
#define KL512_DOT(r, out) do { \
        const int16_t *w_ = wv + (r) * KC; \
        __m512i e_ = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(w_), a0); \
        __m512i o_ = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(w_ + 32), a1); \
        e_ = _mm512_dpwssd_epi32(e_, _mm512_loadu_si512(w_ + 64), a2); \
        o_ = _mm512_dpwssd_epi32(o_, _mm512_loadu_si512(w_ + 96), a3); \
        e_ = _mm512_dpwssd_epi32(e_, _mm512_loadu_si512(w_ + 128), a4); \
        o_ = _mm512_dpwssd_epi32(o_, _mm512_loadu_si512(w_ + 160), a5); \
        e_ = _mm512_dpwssd_epi32(e_, _mm512_loadu_si512(w_ + 192), a6); \
        o_ = _mm512_dpwssd_epi32(o_, _mm512_loadu_si512(w_ + 224), a7); \
        out = _mm512_add_epi32(e_, o_); \
    } while (0)

KL_AVX512 static void kl_chunk_avx512(const int16_t *wv, const float *wsc, const float *wmn, int R, int has_min,
                                      const int16_t *a, int64_t lda, const float *ad, const float *as, int64_t lds, int T, float *acc) {
    for (int t = 0; t < T; t++, a += lda, ad += lds, as += lds, acc += R * KS) {
        __m512i a0 = _mm512_loadu_si512(a), a1 = _mm512_loadu_si512(a + 32), a2 = _mm512_loadu_si512(a + 64),
                a3 = _mm512_loadu_si512(a + 96), a4 = _mm512_loadu_si512(a + 128), a5 = _mm512_loadu_si512(a + 160),
                a6 = _mm512_loadu_si512(a + 192), a7 = _mm512_loadu_si512(a + 224);
        __m512 vd = _mm512_loadu_ps(ad), vs = _mm512_loadu_ps(as);
        int r = 0;
        for (; r + 2 <= R; r += 2) {          /* two rows at a time: four independent chains */
            __m512i s0, s1;
            KL512_DOT(r, s0);
            KL512_DOT(r + 1, s1);
            KL512_TAIL(s0, r);
            KL512_TAIL(s1, r + 1);
        }
        for (; r < R; r++) { __m512i s0; KL512_DOT(r, s0); KL512_TAIL(s0, r); }
    }
}

/* iq4_kt and iq3_kt: kl_part_a.h */

/* iq4_k into the pair layout. Word (k, j) holds elements 16j+2k, +1: bytes qs[16*(j/2) + 2k] and the next,
 * nibble j%2, table half chosen by extra bit j. One 16-bit gather, a per-slot shift and a table permute. */
KL_AVX512 static void kl_dec_iq4_k_avx512(const uint8_t *b, int16_t *vl, float *sc, float D) {
    (void)D;
    float d = _cvtsh_ss(q_u16(b));         /* F16C: the same bits as q_h (f16_to_f32 matches vcvtph2ps) */
    uint16_t ex = q_u16(b + 2);
    /* scales as q_dec_iq4_k's d * (float)ls, 16 lanes at once: ls = low nibble s%2 of b[8 + s/2] | two bits
     * 2(s%4) of b[4 + s/4] << 4, minus 32 (the header bytes 4..19 spread to lanes by a byte shuffle) */
    __m128i hb = _mm_loadu_si128((const __m128i *)(b + 4));
    __m512i sl = _mm512_cvtepu8_epi32(_mm_shuffle_epi8(hb, _mm_setr_epi8(4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11)));
    __m512i sh = _mm512_cvtepu8_epi32(_mm_shuffle_epi8(hb, _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)));
    sl = _mm512_and_si512(_mm512_srlv_epi32(sl, _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4)), _mm512_set1_epi32(15));
    sh = _mm512_and_si512(_mm512_srlv_epi32(sh, _mm512_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6)), _mm512_set1_epi32(3));
    __m512i ls = _mm512_sub_epi32(_mm512_or_si512(sl, _mm512_slli_epi32(sh, 4)), _mm512_set1_epi32(32));
    _mm512_storeu_ps(sc, _mm512_mul_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(ls)));
    /* per slot i = 2j + byte: gathered word 8*(j/2), shift 8*byte + 4*(j%2), extra bit j */
    const __m512i vgi = _mm512_set_epi16(56, 56, 56, 56, 48, 48, 48, 48, 40, 40, 40, 40, 32, 32, 32, 32,
                                         24, 24, 24, 24, 16, 16, 16, 16, 8, 8, 8, 8, 0, 0, 0, 0);
    const __m512i vsh = _mm512_set_epi16(12, 4, 8, 0, 12, 4, 8, 0, 12, 4, 8, 0, 12, 4, 8, 0,
                                         12, 4, 8, 0, 12, 4, 8, 0, 12, 4, 8, 0, 12, 4, 8, 0);
    const __m512i vj = _mm512_set_epi16(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8,
                                        7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    __m512i veb = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(_mm512_set1_epi16((short)ex), vj), _mm512_set1_epi16(1)), 4);
    __m512i vtab = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)iq4k_values)), m15 = _mm512_set1_epi16(15);
    __m512i q0 = _mm512_loadu_si512(b + 16), q1 = _mm512_loadu_si512(b + 80);
    for (int k = 0; k < 8; k++) {
        __m512i w = _mm512_permutex2var_epi16(q0, _mm512_add_epi16(vgi, _mm512_set1_epi16((short)k)), q1);
        __m512i q = _mm512_add_epi16(_mm512_and_si512(_mm512_srlv_epi16(w, vsh), m15), veb);
        _mm512_storeu_si512(vl + 32 * k, _mm512_permutexvar_epi16(q, vtab));
    }
}

#include "kl_part_a.h"
#include "kl_part_b.h"

#endif /* __x86_64__ */

#if defined(__aarch64__)
#include "kl_part_c.h"         /* NEON */
#endif

/* ---- dispatch ---- */

static kernel_set kl_set;
static int kl_ready;

#if defined(__x86_64__)
#include <cpuid.h>
/* AVX2+FMA+F16C and AVX-512 F/BW/VL/DQ/VNNI from cpuid, each only if the OS saves the wider registers
 * (XCR0); read directly because compilers differ in which names __builtin_cpu_supports knows */
static void kl_cpu_features(int *avx2, int *avx512) {
    unsigned a, b, c, d, lo = 0, hi = 0;
    *avx2 = *avx512 = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1)) return;      /* OSXSAVE */
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    int fma = c >> 12 & 1, f16c = c >> 29 & 1, ymm = (lo & 6) == 6, zmm = (lo & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    *avx2 = ymm && fma && f16c && (b >> 5 & 1);
    *avx512 = *avx2 && zmm && (b >> 16 & 1) && (b >> 17 & 1) && (b >> 30 & 1) && (b >> 31 & 1) && (c >> 11 & 1);
}
#endif

/* Select an ISA: 0 scalar, 1 avx2, 2 avx512; the best available at or below the request is taken.
 * Returns the level actually in use. */
static int kernel_use(int want) {
    kernel_set k = { "scalar", kl_chunk_scalar, kl_quant_scalar, kl_dot_f32_scalar, { NULL } };
    int got = 0;
#if defined(__x86_64__)
    int has2, has512;
    kl_cpu_features(&has2, &has512);
    if (want >= 1 && has2) {
        k.name = "avx2"; k.chunk = kl_chunk_avx2; k.quant = kl_quant_avx2; k.dot_f32 = kl_dot_f32_avx2;
        got = 1;
    }
    if (want >= 2 && has512) {
        k.name = "avx512"; k.chunk = kl_chunk_avx512;
        k.dec[139] = kl_dec_iq4_k_avx512;
        got = 2;
    }
    kl_register_a(&k, got);
    kl_register_b(&k, got);
#elif defined(__aarch64__)
    got = kl_register_c(&k, want);       /* Advanced SIMD is mandatory in AArch64: no runtime check */
#else
    (void)want;
#endif
    kl_set = k;
    kl_ready = 1;
    return got;
}

/* once, at the first matmul workspace: the best ISA, or a lower one forced by DARWIN_ISA=scalar|avx2|avx512 */
static void kernel_init(void) {
    if (kl_ready) return;
    const char *force = getenv("DARWIN_ISA");
    kernel_use(!force ? 2 : !strcmp(force, "scalar") ? 0 : !strcmp(force, "avx2") ? 1 : 2);
}

static inline const char *kernel_isa_name(void) { kernel_init(); return kl_set.name; }
