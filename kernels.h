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

/* A fast decoder writes one 256-element chunk of a row straight into the pair layout (row header value D
 * given): one 256-block, or 256/blck consecutive smaller blocks (q8_0: 8 blocks of 32). */
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
    /* n f16 values (little-endian bytes) to f32, exact */
    void (*f16_row)(const uint8_t *src, float *dst, int64_t n);
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

static void kl_f16_row_scalar(const uint8_t *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = f16_to_f32(q_u16(src + 2 * i));
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
/* the register decoders and their helpers: always inlined into the fused dot, so the word rows stay in
 * registers (called out of line, they go through memory) */
#define KL2_INL KL_AVX2 static inline __attribute__((always_inline))

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

KL_AVX2 static void kl_f16_row_avx2(const uint8_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + 2 * i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(q_u16(src + 2 * i));
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
/* the decoders' small loops fully unrolled: shift counts become immediates, constants stay in registers */
#define KLA_UNROLL _Pragma("GCC unroll 8")
/* ... and with VBMI (byte permutes, multishift): the iq4_k / iq5_k decoders of ISA level 3 */
#define KL_AVX512V __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,avx2,fma,f16c")))

/* Two decoded rows stay in registers (16 word rows and their scales) while the tokens stream past: per token
 * 8 activation loads feed 16 dpwssd, and the float tail acc += ((float)isum * sc - qsum * mn) * da runs per
 * row. Odd R ends with one row. The integer sums are exact, the float steps those of the scalar kernel. */
#define KL512_TAIL(isum, sc, mn, r) do { \
        __m512 t_ = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), sc); \
        if (has_min) t_ = _mm512_sub_ps(t_, _mm512_mul_ps(_mm512_loadu_ps(as), mn)); \
        float *o_ = acc + (r) * KS; \
        _mm512_storeu_ps(o_, _mm512_add_ps(_mm512_loadu_ps(o_), _mm512_mul_ps(t_, _mm512_loadu_ps(ad)))); \
    } while (0)

KL_AVX512 static void kl_chunk_avx512(const int16_t *wv, const float *wsc, const float *wmn, int R, int has_min,
                                      const int16_t *a0, int64_t lda, const float *ad0, const float *as0, int64_t lds, int T,
                                      float *acc0) {
    int r = 0;
    for (; r + 2 <= R; r += 2) {
        __m512i w[16];
        for (int k = 0; k < 16; k++) w[k] = _mm512_loadu_si512(wv + r * KC + 32 * k);
        __m512 s0 = _mm512_loadu_ps(wsc + r * KS), s1 = _mm512_loadu_ps(wsc + (r + 1) * KS);
        __m512 m0 = has_min ? _mm512_loadu_ps(wmn + r * KS) : s0, m1 = has_min ? _mm512_loadu_ps(wmn + (r + 1) * KS) : s1;
        const int16_t *a = a0;
        const float *ad = ad0, *as = as0;
        float *acc = acc0;
        for (int t = 0; t < T; t++, a += lda, ad += lds, as += lds, acc += R * KS) {
            __m512i x = _mm512_loadu_si512(a);
            __m512i i0 = _mm512_madd_epi16(w[0], x), i1 = _mm512_madd_epi16(w[8], x);
            KLA_UNROLL for (int k = 1; k < 8; k++) {
                x = _mm512_loadu_si512(a + 32 * k);
                i0 = _mm512_dpwssd_epi32(i0, w[k], x);
                i1 = _mm512_dpwssd_epi32(i1, w[8 + k], x);
            }
            KL512_TAIL(i0, s0, m0, r);
            KL512_TAIL(i1, s1, m1, r + 1);
        }
    }
    for (; r < R; r++) {
        __m512 s0 = _mm512_loadu_ps(wsc + r * KS), m0 = has_min ? _mm512_loadu_ps(wmn + r * KS) : s0;
        const int16_t *a = a0, *w = wv + r * KC;
        const float *ad = ad0, *as = as0;
        float *acc = acc0;
        for (int t = 0; t < T; t++, a += lda, ad += lds, as += lds, acc += R * KS) {
            __m512i i0 = _mm512_madd_epi16(_mm512_loadu_si512(w), _mm512_loadu_si512(a));
            KLA_UNROLL for (int k = 1; k < 8; k++) i0 = _mm512_dpwssd_epi32(i0, _mm512_loadu_si512(w + 32 * k), _mm512_loadu_si512(a + 32 * k));
            KL512_TAIL(i0, s0, m0, r);
        }
    }
}

/* iq4_kt and iq3_kt: see the KT decoders below */

/* iq4_k into the pair layout. Word (k, j) holds elements 16j+2k, +1: bytes qs[16*(j/2) + 2k] and the next,
 * nibble j%2, table half chosen by extra bit j. One 16-bit gather, a per-slot shift and a table permute.
 * The 8 word rows go to v, the 16 scales are returned (inline: the fused dot keeps the constants in registers). */
/* iq4_k and iq5_k scales as q_dec_iq4_k's d * (float)ls, 16 lanes at once: ls = low nibble s%2 of b[8 + s/2] |
 * two bits 2(s%4) of b[4 + s/4] << 4, minus 32 (the header bytes 4..19 spread to lanes by a byte shuffle) */
KL_AVX512 static inline __m512 kla_sc_iq45k(const uint8_t *b) {
    float d = _cvtsh_ss(q_u16(b));         /* F16C: the same bits as q_h (f16_to_f32 matches vcvtph2ps) */
    __m128i hb = _mm_loadu_si128((const __m128i *)(b + 4));
    __m512i sl = _mm512_cvtepu8_epi32(_mm_shuffle_epi8(hb, _mm_setr_epi8(4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11)));
    __m512i sh = _mm512_cvtepu8_epi32(_mm_shuffle_epi8(hb, _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)));
    sl = _mm512_and_si512(_mm512_srlv_epi32(sl, _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4)), _mm512_set1_epi32(15));
    sh = _mm512_and_si512(_mm512_srlv_epi32(sh, _mm512_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6)), _mm512_set1_epi32(3));
    __m512i ls = _mm512_sub_epi32(_mm512_or_si512(sl, _mm512_slli_epi32(sh, 4)), _mm512_set1_epi32(32));
    return _mm512_mul_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(ls));
}

KL_AVX512 static inline __m512 kla_iq4k_regs(const uint8_t *b, __m512i *v, float D) {
    (void)D;
    uint16_t ex = q_u16(b + 2);
    __m512 sc = kla_sc_iq45k(b);
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
    _Pragma("GCC unroll 8")               /* unrolled, v stays in registers in the fused dot (no spill) */
    for (int k = 0; k < 8; k++) {
        __m512i w = _mm512_permutex2var_epi16(q0, _mm512_add_epi16(vgi, _mm512_set1_epi16((short)k)), q1);
        /* nibble bits 0..3, extra bit 4 of veb, in one op (0xE4: C ? A : B; higher index bits are ignored) */
        __m512i q = _mm512_ternarylogic_epi32(_mm512_srlv_epi16(w, vsh), veb, m15, 0xE4);
        v[k] = _mm512_permutexvar_epi16(q, vtab);
    }
    return sc;
}

/* ---- fast decoders of the KT trellis types (AVX2, AVX-512) and their fused one-token dot ---- */


/* Constant vectors read from memory: a load takes a load port, while building a broadcast constant in a
 * register takes a vector ALU slot, and these decoders are bound by the ALU slots. Filled by kl_register_a. */
static struct {
    uint32_t mul[8][16];          /* a^1 .. a^8 */
    uint32_t m3f[16], ones[16], c4096[16], m0f00[16], m7000[16], mffff[16];
    uint16_t c126[32];
    uint16_t sel3[8][32];         /* iq3_kt: slot 2j+h of word row k reads qh[16(j&1) + 2k + h] ... */
    uint16_t bit3[32];            /* ... bit j>>1 */
    uint32_t ctl4[4][16];         /* iq4_kt: byte c of each dword to bits 0..7 (ql) */
    uint32_t ctl4h[4][16];        /* ... and to bits 8..15 (qh nibbles) */
    uint32_t qh4[16], sh4[16];    /* iq4_kt lane j: qh dword j%8, scale dword j/2 */
    uint32_t qs4[16], ss4[16];    /* ... shift of the qh nibbles 4(j/8), of the 3-bit fields 8 + 12(j%2) */
    uint32_t m255[16], c64[16], one[16];
    uint16_t gi5[32], sh5[32];    /* iq5_k slot 2j+h: qs word 16(j/4) + 8(j%2) (+k), nibble shift 8h + 4((j/2)%2) */
    uint16_t hi5[32], hs5[32];    /* ... qh word 8(j%2) (+k; +16: the copy shifted up by 8 for h = 0), bit 4 + j/2 */
    uint16_t vj5[32];             /* ... extra bit j */
    /* the VBMI decoders of iq4_k and iq5_k (see there) */
    uint64_t g4[2][8];            /* iq4_k: qs qwords 2q + c to qword q of source c */
    uint8_t ms4[4][64];           /* ... nibble bit offset of row 4c + r in its source qword */
    uint32_t g5[4][16];           /* iq5_k: qs dwords 8(q/2) + m and + 4 + m to qword q of source m */
    uint32_t h5[4][16];           /* ... qh dwords m and 4 + m to every qword of qh source m */
    uint8_t ms5[2][64], mh5[2][64]; /* ... nibble and fifth-bit offsets of row 2m + r */
    int16_t tab4[32], tab5[32];   /* iq4k_values, iq5nl_values[0..31] as words */
    uint16_t m15w[32];            /* index bits 0..3 of a word */
    uint32_t two[16];             /* iq5_k: what extra bit j adds to lane j's values */
} __attribute__((aligned(64))) kla_k;

static void kla_init(void) {
    uint32_t p = 1;
    for (int n = 0; n < 8; n++) { p *= KT_A; for (int i = 0; i < 16; i++) kla_k.mul[n][i] = p; }
    for (int i = 0; i < 16; i++) {
        kla_k.m3f[i] = 0x3F3F3F3Fu; kla_k.ones[i] = 0x01010101u; kla_k.c4096[i] = 4096;
        kla_k.m0f00[i] = 0x0F00; kla_k.m7000[i] = 0x7000; kla_k.mffff[i] = 0xFFFF;
        kla_k.qh4[i] = (uint32_t)i % 8; kla_k.sh4[i] = (uint32_t)i / 2;
        kla_k.qs4[i] = 4 * ((uint32_t)i / 8); kla_k.ss4[i] = 8 + 12 * ((uint32_t)i % 2);
        kla_k.m255[i] = 255; kla_k.c64[i] = 64; kla_k.one[i] = 1;
        for (int c = 0; c < 4; c++) {
            uint32_t src = (uint32_t)(4 * (i % 4) + c);                       /* byte within the 128-bit lane */
            kla_k.ctl4[c][i] = 0x80808000u | src;
            kla_k.ctl4h[c][i] = 0x80800080u | src << 8;
        }
    }
    for (int s = 0; s < 32; s++) {
        int j = s >> 1, h = s & 1;
        kla_k.c126[s] = 126;
        kla_k.bit3[s] = (uint16_t)(1 << (j >> 1));
        for (int k = 0; k < 8; k++) kla_k.sel3[k][s] = (uint16_t)(16 * (j & 1) + 2 * k + h);
        kla_k.gi5[s] = (uint16_t)(16 * (j >> 2) + 8 * (j & 1));
        kla_k.sh5[s] = (uint16_t)(8 * h + 4 * ((j >> 1) & 1));
        kla_k.hi5[s] = (uint16_t)(8 * (j & 1) + 16 * !h);
        kla_k.hs5[s] = (uint16_t)(4 + (j >> 1));
        kla_k.vj5[s] = (uint16_t)j;
        kla_k.tab4[s] = iq4k_values[s]; kla_k.tab5[s] = iq5nl_values[s]; kla_k.m15w[s] = 15;
    }
    for (int q = 0; q < 8; q++)
        for (int c = 0; c < 2; c++) kla_k.g4[c][q] = (uint64_t)(2 * q + c);
    for (int d = 0; d < 16; d++)
        for (int m = 0; m < 4; m++) {
            kla_k.g5[m][d] = (uint32_t)(8 * (d >> 2) + 4 * (d & 1) + m);
            kla_k.h5[m][d] = (uint32_t)(4 * (d & 1) + m);
        }
    for (int p = 0; p < 64; p++) {          /* byte p: qword q, word w of it (slot: lane 2q + w/2, h = w%2) */
        int q = p >> 3, w = (p & 7) >> 1;
        for (int r = 0; r < 4; r++) kla_k.ms4[r][p] = (uint8_t)(8 * (2 * r + (w & 1)) + 4 * (w >> 1));
        for (int r = 0; r < 2; r++) {
            int byte = 4 * (w >> 1) + 2 * r + (w & 1);
            kla_k.ms5[r][p] = (uint8_t)(8 * byte + 4 * (q & 1));
            kla_k.mh5[r][p] = (uint8_t)((8 * byte + q - 4) & 63);
        }
    }
    for (int i = 0; i < 16; i++) kla_k.two[i] = 0x00020002u;
}
#define KLA_LD(x) _mm512_load_si512((const void *)(x))

/* one-token row dot of a whole row of blocks (nc chunks) against int16 activations a with per-16 scales ad:
 * the 16 lane accumulators go to out. Set per type by kl_register_a and kl_register_b for the ISA in use,
 * else NULL. */
typedef void (*kla_dot1_fn)(const uint8_t *b, int64_t nc, uint64_t bytes, float D, const int16_t *a, const float *ad, float *out);
static kla_dot1_fn kla_dot1[160];

/* ---- AVX-512: iq3_kt ----
 * Word (k, j) of the pair layout holds elements 16j+2k, +1: group g = 2j + k/4 (8 steps per group), trellis
 * steps 2(k%4)+1 and 2(k%4)+2 of it. Lane j of index vector I_c is group 2j + c. The values are |v| with the
 * sign bit (e>>5) of qh[e & 31]; the 1.01 factor goes on the scale exactly as q_dec_iq3_kt does it
 * (float D*nibble, then a double multiply, then rounding to float). */

/* iq3_kt scales: sub-block s uses nibble (s/2)/4 of byte (s/2)%4 */
KL_AVX512 static inline __m512 kl_iq3kt_scales(const uint8_t *b, float D) {
    uint32_t w;
    memcpy(&w, b, 4);
    const __m256i sh = _mm256_setr_epi32(0, 8, 16, 24, 4, 12, 20, 28);         /* 32-block ib: 8*(ib%4) + 4*(ib/4) */
    __m256i nib = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)w), sh), _mm256_set1_epi32(15));
    __m256 f = _mm256_mul_ps(_mm256_set1_ps(D), _mm256_cvtepi32_ps(nib));
    __m256 s8 = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtps_pd(f), _mm512_set1_pd(Q_IQ3KT_FACTOR)));
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    return _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(s8));
}

/* the two trellis values of one word from index vector idx and multipliers ma, mb: the four masked bytes of
 * each state summed by dpbusd, the second sum moved to the high half by a byte shift (port 5, off the
 * multiply port) and used as the first sum's accumulator, then both halves centred */
KL_AVX512 static inline __m512i kl_kt_pair512(__m512i idx, __m512i ma, __m512i mb) {
    const __m512i m3f = KLA_LD(kla_k.m3f), ones = KLA_LD(kla_k.ones);
    __m512i y = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(_mm512_mullo_epi32(idx, mb), m3f), ones);
    __m512i xy = _mm512_dpbusd_epi32(_mm512_bslli_epi128(y, 2), _mm512_and_si512(_mm512_mullo_epi32(idx, ma), m3f), ones);
    return _mm512_sub_epi16(xy, KLA_LD(kla_k.c126));
}

/* the 8 word rows of a block in registers; returns the 16 scales */
KL_AVX512 static inline __m512 kla_iq3kt_regs(const uint8_t *b, __m512i *v, float D) {
    __m512i ql = _mm512_loadu_si512(b + 4);                        /* lane j: u16 of groups 2j, 2j+1 */
    __m512i q16 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(b + 68)));   /* qh bytes as words */
    KLA_UNROLL for (int c = 0; c < 2; c++) {
        __m512i idx = _mm512_add_epi32(c ? _mm512_srli_epi32(ql, 16) : _mm512_and_si512(ql, KLA_LD(kla_k.mffff)),
                                       KLA_LD(kla_k.c4096));
        KLA_UNROLL for (int m = 0; m < 4; m++) {
            int k = 4 * c + m;
            __m512i p = _mm512_abs_epi16(kl_kt_pair512(idx, KLA_LD(kla_k.mul[2 * m]), KLA_LD(kla_k.mul[2 * m + 1])));
            __mmask32 neg = _mm512_test_epi16_mask(_mm512_permutexvar_epi16(KLA_LD(kla_k.sel3[k]), q16), KLA_LD(kla_k.bit3));
            v[k] = _mm512_mask_sub_epi16(p, neg, _mm512_setzero_si512(), p);
        }
    }
    return kl_iq3kt_scales(b, D);
}

/* ---- AVX-512: iq4_kt ----
 * Word (k, j) holds elements 16j+2k, +1: group g = 4j + k/2 (4 steps per group), trellis steps 2(k%2)+1 and
 * 2(k%2)+2 of it. Lane j of index vector I_c is group 4j + c: ql byte 4j+c, the nibble of qh byte 4(j%8)+c
 * picked by j/8, and 3 bits 8 + 12(j%2) + 3c of scale word j/2. The bytes are moved with byte shuffles and
 * merged with ternary logic so that only one shift per index vector uses the multiply port. */
KL_AVX512 static inline __m512 kla_iq4kt_regs(const uint8_t *b, __m512i *v, float D) {
    __m512i ql = _mm512_loadu_si512(b + 32);                                    /* lane j: ql[4j..4j+3] */
    __m512i qh = _mm512_permutexvar_epi32(KLA_LD(kla_k.qh4), _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(b + 96))));
    __m512i sh = _mm512_permutexvar_epi32(KLA_LD(kla_k.sh4), _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)b)));
    __m512i ls = _mm512_sub_epi32(_mm512_srli_epi32(_mm512_and_si512(sh, KLA_LD(kla_k.m255)), 1), KLA_LD(kla_k.c64));
    __m512 sc = _mm512_mul_ps(_mm512_set1_ps(D), _mm512_cvtepi32_ps(ls));
    __m512i off = _mm512_add_epi32(KLA_LD(kla_k.c4096), _mm512_slli_epi32(_mm512_and_si512(sh, KLA_LD(kla_k.one)), 15));
    /* qq: the nibble for c at bits 8c..8c+3 (lanes j >= 8 take the high nibbles); s3: the 3 bits for c at 3c */
    __m512i qq = _mm512_srlv_epi32(qh, KLA_LD(kla_k.qs4)), s3 = _mm512_srlv_epi32(sh, KLA_LD(kla_k.ss4));
    KLA_UNROLL for (int c = 0; c < 4; c++) {
        __m512i i0 = _mm512_shuffle_epi8(ql, KLA_LD(kla_k.ctl4[c]));          /* byte c at bits 0..7 */
        __m512i i1 = _mm512_shuffle_epi8(qq, KLA_LD(kla_k.ctl4h[c]));         /* byte c at bits 8..15 */
        __m512i i2 = _mm512_slli_epi32(s3, 12 - 3 * c);                                            /* bits 12..14 */
        __m512i idx = _mm512_ternarylogic_epi32(i0, i1, KLA_LD(kla_k.m0f00), 0xF8);              /* i0 | (i1 & m) */
        idx = _mm512_add_epi32(_mm512_ternarylogic_epi32(idx, i2, KLA_LD(kla_k.m7000), 0xF8), off);
        KLA_UNROLL for (int h = 0; h < 2; h++)             /* word row k = 2c + h: steps 2h+1, 2h+2 */
            v[2 * c + h] = kl_kt_pair512(idx, KLA_LD(kla_k.mul[2 * h]), KLA_LD(kla_k.mul[2 * h + 1]));
    }
    return sc;
}

/* ---- AVX-512: iq5_k ----
 * Word (k, j) holds elements e = 16j+2k+h: nibble (e/32)%2 of qs byte 32(e/64) + (e%32), i.e. of 16-bit word
 * 16(j/4) + 8(j%2) + k at bit 8h + 4((j/2)%2); fifth bit e/32 = j/2 of qh byte e%32, i.e. of qh word
 * 8(j%2) + k at bit 8h + j/2; extra bit j picks the table half. The qh words are gathered from a 64-byte
 * source whose upper half is the qh words shifted up by 8, so both slots of a word shift by 4 + j/2 and
 * leave the fifth bit at bit 4. Index = nibble | fifth << 4 | extra << 5 into the 64-entry table. */
KL_AVX512 static inline __m512 kla_iq5k_regs(const uint8_t *b, __m512i *v, float D) {
    (void)D;
    __m512 sc = kla_sc_iq45k(b);
    __m512i veb = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(_mm512_set1_epi16((short)q_u16(b + 2)), KLA_LD(kla_k.vj5)),
                                                     _mm512_set1_epi16(1)), 5);
    __m256i qh = _mm256_loadu_si256((const __m256i *)(b + 144));
    __m512i qh2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_slli_epi16(qh, 8), 1);
    __m512i t0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)iq5nl_values));
    __m512i t1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(iq5nl_values + 32)));
    __m512i q0 = _mm512_loadu_si512(b + 16), q1 = _mm512_loadu_si512(b + 80), m15 = _mm512_set1_epi16(15), m31 = _mm512_set1_epi16(31);
    KLA_UNROLL for (int k = 0; k < 8; k++) {
        __m512i kk = _mm512_set1_epi16((short)k);
        __m512i w = _mm512_permutex2var_epi16(q0, _mm512_add_epi16(KLA_LD(kla_k.gi5), kk), q1);
        __m512i hw = _mm512_permutexvar_epi16(_mm512_add_epi16(KLA_LD(kla_k.hi5), kk), qh2);
        /* bits 0..3 from the nibble, bit 4 from the fifth bit, bit 5 from the extra bit (0xE4: C ? A : B) */
        __m512i idx = _mm512_ternarylogic_epi32(_mm512_srlv_epi16(w, KLA_LD(kla_k.sh5)), _mm512_srlv_epi16(hw, KLA_LD(kla_k.hs5)), m15, 0xE4);
        idx = _mm512_ternarylogic_epi32(idx, veb, m31, 0xE4);
        v[k] = _mm512_permutex2var_epi16(t0, idx, t1);
    }
    return sc;
}

/* ---- AVX-512 VBMI: iq4_k and iq5_k with one multishift per word row ----
 * A multishift picks, for every byte, 8 bits at any offset of its own qword: it moves each slot's nibble to
 * bits 0..3 of its word at once (the bits above it are junk; the word permute reads index bits 0..4 only).
 * So the qs bytes of one word row are first gathered, once per block, into one qword per lane pair, and
 * each word row costs a multishift, one ternary merge and one word table permute. */

/* iq4_k: word (k, j) reads qs bytes 16(j/2) + 2k, +1, nibble j%2, so qword q of row k = 4c + r needs bytes
 * 16q + 2r, +1 of qs qword 2q + c: source c holds those qwords. Extra bit j is set in bit 4 of lane j. */
KL_AVX512V static inline __m512 kla_iq4kv_regs(const uint8_t *b, __m512i *v, float D) {
    (void)D;
    __m512i q0 = _mm512_loadu_si512(b + 16), q1 = _mm512_loadu_si512(b + 80);
    __m512i src[2] = { _mm512_permutex2var_epi64(q0, KLA_LD(kla_k.g4[0]), q1),
                       _mm512_permutex2var_epi64(q0, KLA_LD(kla_k.g4[1]), q1) };
    __m512i ext = _mm512_movm_epi32((__mmask16)q_u16(b + 2));          /* lane j all ones if extra bit j */
    KLA_UNROLL for (int k = 0; k < 8; k++) {
        __m512i nib = _mm512_multishift_epi64_epi8(KLA_LD(kla_k.ms4[k % 4]), src[k / 4]);
        __m512i idx = _mm512_ternarylogic_epi32(nib, ext, KLA_LD(kla_k.m15w), 0xE4);   /* C ? A : B */
        v[k] = _mm512_permutexvar_epi16(idx, KLA_LD(kla_k.tab4));
    }
    return kla_sc_iq45k(b);
}

/* iq5_k (element layout: see kla_iq5k_regs): qword q of row k = 2m + r needs qs bytes 32(q/2) + 2k, +1 and
 * + 16 (nibble q%2): qs dwords 8(q/2) + m and + 4 + m; and qh bytes 2k, +1, 16 + 2k, +1 (bit q): qh dwords m
 * and 4 + m. The fifth bit lands in bit 4 of the index; the second half of the value table is the first plus
 * 2, so extra bit j adds 2 to the value instead of doubling the table (a one-register permute). */
KL_AVX512V static inline __m512 kla_iq5kv_regs(const uint8_t *b, __m512i *v, float D) {
    (void)D;
    __m512i q0 = _mm512_loadu_si512(b + 16), q1 = _mm512_loadu_si512(b + 80);
    __m512i qh = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(b + 144)));
    __m512i ext = _mm512_maskz_mov_epi32((__mmask16)q_u16(b + 2), KLA_LD(kla_k.two));
    KLA_UNROLL for (int m = 0; m < 4; m++) {
        __m512i sq = _mm512_permutex2var_epi32(q0, KLA_LD(kla_k.g5[m]), q1);
        __m512i sh = _mm512_permutexvar_epi32(KLA_LD(kla_k.h5[m]), qh);
        KLA_UNROLL for (int r = 0; r < 2; r++) {
            __m512i nib = _mm512_multishift_epi64_epi8(KLA_LD(kla_k.ms5[r]), sq);
            __m512i hb = _mm512_multishift_epi64_epi8(KLA_LD(kla_k.mh5[r]), sh);
            __m512i idx = _mm512_ternarylogic_epi32(nib, hb, KLA_LD(kla_k.m15w), 0xE4);
            v[2 * m + r] = _mm512_add_epi16(_mm512_permutexvar_epi16(idx, KLA_LD(kla_k.tab5)), ext);
        }
    }
    return kla_sc_iq45k(b);
}

/* The one-token dot streams its row from memory and decodes fast enough that the hardware prefetcher alone
 * leaves it waiting on loads (half the bandwidth, measured): each block asks for the three cache lines that
 * a block up to 192 bytes long spans, KLA_PF bytes ahead (past the row end too: a prefetch never faults). */
#define KLA_PF 2048
#define KLA_KT_PREFETCH(b) do { \
        _mm_prefetch((const char *)(b) + KLA_PF, _MM_HINT_T0); \
        _mm_prefetch((const char *)(b) + KLA_PF + 64, _MM_HINT_T0); \
        _mm_prefetch((const char *)(b) + KLA_PF + 128, _MM_HINT_T0); \
    } while (0)

/* For each register decoder: the block decoder (word rows stored into the pair layout) and a one-token row
 * dot that multiplies the word rows straight from the registers with the activation words (no store and
 * reload), keeping the 16 lane accumulators in a register. Its float steps per lane are those of the chunk
 * kernel: acc += ((float)isum * sc) * da, chunk after chunk, so the result has the same bits as the tile path. */
#define KLA_KT_FUNCS(nm, tgt) \
tgt static void kl_dec_##nm##_avx512(const uint8_t *b, int16_t *vl, float *sc, float D) { \
    __m512i v[8]; \
    _mm512_storeu_ps(sc, kla_##nm##_regs(b, v, D)); \
    KLA_UNROLL for (int k = 0; k < 8; k++) _mm512_storeu_si512(vl + 32 * k, v[k]); \
} \
tgt static void kla_dot1_##nm(const uint8_t *b, int64_t nc, uint64_t bytes, float D, const int16_t *a, \
                                   const float *ad, float *out) { \
    __m512 acc = _mm512_setzero_ps(); \
    for (int64_t c = 0; c < nc; c++, b += bytes, a += KC, ad += KS) { \
        KLA_KT_PREFETCH(b); \
        __m512i v[8]; \
        __m512 sc = kla_##nm##_regs(b, v, D); \
        __m512i s = _mm512_madd_epi16(v[0], _mm512_loadu_si512(a)); \
        KLA_UNROLL for (int k = 1; k < 8; k++) s = _mm512_dpwssd_epi32(s, v[k], _mm512_loadu_si512(a + 32 * k)); \
        acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), sc), _mm512_loadu_ps(ad))); \
    } \
    _mm512_storeu_ps(out, acc); \
}
KLA_KT_FUNCS(iq3kt, KL_AVX512)
KLA_KT_FUNCS(iq4kt, KL_AVX512)
KLA_KT_FUNCS(iq4k, KL_AVX512)     /* not KT types, but the same register decoder shape (scale d from the block) */
KLA_KT_FUNCS(iq5k, KL_AVX512)
KLA_KT_FUNCS(iq4kv, KL_AVX512V)
KLA_KT_FUNCS(iq5kv, KL_AVX512V)

/* ---- AVX2: iq4_kt and iq3_kt, 8 lanes j = 8h .. 8h+7 per half, the same word layout as above ---- */

/* The AVX2 counterpart of KLA_KT_FUNCS for a register decoder kl2_<nm>_regs(b, v, sc, D), which leaves half
 * h of word row k (lanes j = 8h .. 8h+7) in v[2k + h] and the 16 scales in sc: the block decoder `dec` (word
 * rows stored into the pair layout) and the fused one-token dot kl2_dot1_<nm>. The dot's float steps per lane
 * are those of kl_chunk1_avx2: acc += ((float)isum * sc) * da, chunk after chunk. */
KL_AVX2 static inline void kl2_store(const __m256i *v, int16_t *vl) {
    KLA_UNROLL for (int i = 0; i < 16; i++) _mm256_storeu_si256((__m256i *)(vl + 16 * i), v[i]);
}
#define KL2_FUNCS(nm, dec) \
KL_AVX2 static void dec(const uint8_t *b, int16_t *vl, float *sc, float D) { \
    __m256i v[16]; \
    kl2_##nm##_regs(b, v, sc, D); \
    kl2_store(v, vl); \
} \
KL_AVX2 static void kl2_dot1_##nm(const uint8_t *b, int64_t nc, uint64_t bytes, float D, const int16_t *a, \
                                  const float *ad, float *out) { \
    __m256 acc[2] = { _mm256_setzero_ps(), _mm256_setzero_ps() }; \
    for (int64_t c = 0; c < nc; c++, b += bytes, a += KC, ad += KS) { \
        KLA_KT_PREFETCH(b); \
        __m256i v[16]; \
        float sc[KS]; \
        kl2_##nm##_regs(b, v, sc, D); \
        KLA_UNROLL for (int h = 0; h < 2; h++) { \
            __m256i s = _mm256_madd_epi16(v[h], _mm256_loadu_si256((const __m256i *)(a + 16 * h))); \
            KLA_UNROLL for (int k = 1; k < 8; k++) \
                s = _mm256_add_epi32(s, _mm256_madd_epi16(v[2 * k + h], _mm256_loadu_si256((const __m256i *)(a + 32 * k + 16 * h)))); \
            __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_loadu_ps(sc + 8 * h)); \
            acc[h] = _mm256_add_ps(acc[h], _mm256_mul_ps(t, _mm256_loadu_ps(ad + 8 * h))); \
        } \
    } \
    _mm256_storeu_ps(out, acc[0]); \
    _mm256_storeu_ps(out + 8, acc[1]); \
}

/* the two trellis values of one word: maddubs then madd sum the four masked bytes (no dpbusd in AVX2) */
KL2_INL __m256i kl_kt_pair256(__m256i idx, __m256i ma, __m256i mb) {
    const __m256i m3f = _mm256_set1_epi32(0x3F3F3F3F), ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    __m256i x = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(_mm256_mullo_epi32(idx, ma), m3f), ones8), ones16);
    __m256i y = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(_mm256_mullo_epi32(idx, mb), m3f), ones8), ones16);
    return _mm256_sub_epi16(_mm256_or_si256(x, _mm256_slli_epi32(y, 16)), _mm256_set1_epi16(126));
}

/* the first 8 lanes of a kla_k constant */
#define KL2_LD(x) _mm256_load_si256((const __m256i *)(x))

/* iq4_kt: lane j of index vector I_c is group 4j + c; word row 2c + h2 takes steps 2h2+1, 2h2+2. As in
 * kla_iq4kt_regs, byte shuffles move the ql byte and the qh nibble of group c into place (no shift, no mask). */
KL2_INL void kl2_iq4kt_regs(const uint8_t *b, __m256i *v, float *sc, float D) {
    const __m256i mul[4] = { _mm256_set1_epi32((int)KT_A), _mm256_set1_epi32((int)KT_A2),
                             _mm256_set1_epi32((int)KT_A3), _mm256_set1_epi32((int)KT_A4) };
    __m256i qh = _mm256_loadu_si256((const __m256i *)(b + 96)), sw = _mm256_loadu_si256((const __m256i *)b);
    KLA_UNROLL for (int h = 0; h < 2; h++) {
        __m256i ql = _mm256_loadu_si256((const __m256i *)(b + 32 + 32 * h));
        /* lane j: scale word j/2; the qh nibbles of lanes j >= 8 are the high ones */
        __m256i sh = _mm256_permutevar8x32_epi32(sw, _mm256_add_epi32(KL2_LD(kla_k.sh4), _mm256_set1_epi32(4 * h)));
        __m256i qq = _mm256_and_si256(_mm256_srli_epi32(qh, 4 * h), _mm256_set1_epi8(15));
        __m256i ls = _mm256_sub_epi32(_mm256_srli_epi32(_mm256_and_si256(sh, KL2_LD(kla_k.m255)), 1), KL2_LD(kla_k.c64));
        _mm256_storeu_ps(sc + 8 * h, _mm256_mul_ps(_mm256_set1_ps(D), _mm256_cvtepi32_ps(ls)));
        __m256i off = _mm256_add_epi32(KL2_LD(kla_k.c4096), _mm256_slli_epi32(_mm256_and_si256(sh, KL2_LD(kla_k.one)), 15));
        __m256i s3 = _mm256_srlv_epi32(sh, KL2_LD(kla_k.ss4));          /* the 3 bits of group c at 3c */
        KLA_UNROLL for (int c = 0; c < 4; c++) {
            __m256i i01 = _mm256_or_si256(_mm256_shuffle_epi8(ql, KL2_LD(kla_k.ctl4[c])), _mm256_shuffle_epi8(qq, KL2_LD(kla_k.ctl4h[c])));
            __m256i i2 = _mm256_and_si256(_mm256_slli_epi32(s3, 12 - 3 * c), KL2_LD(kla_k.m7000));
            __m256i idx = _mm256_add_epi32(_mm256_or_si256(i01, i2), off);
            KLA_UNROLL for (int h2 = 0; h2 < 2; h2++)
                v[2 * (2 * c + h2) + h] = kl_kt_pair256(idx, mul[2 * h2], mul[2 * h2 + 1]);
        }
    }
}
KL2_FUNCS(iq4kt, kl_dec_iq4_kt_avx2)

/* iq3_kt scales in AVX2: the same float multiply, double multiply and rounding as q_dec_iq3_kt */
KL_AVX2 static void kl_iq3kt_scales2(const uint8_t *b, float *sc, float D) {
    uint32_t w;
    memcpy(&w, b, 4);
    const __m256i sh = _mm256_setr_epi32(0, 8, 16, 24, 4, 12, 20, 28);
    __m256i nib = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)w), sh), _mm256_set1_epi32(15));
    __m256 f = _mm256_mul_ps(_mm256_set1_ps(D), _mm256_cvtepi32_ps(nib));
    const __m256d fac = _mm256_set1_pd(Q_IQ3KT_FACTOR);
    __m128 lo = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(f)), fac));
    __m128 hi = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)), fac));
    _mm_storeu_ps(sc, _mm_unpacklo_ps(lo, lo)); _mm_storeu_ps(sc + 4, _mm_unpackhi_ps(lo, lo));
    _mm_storeu_ps(sc + 8, _mm_unpacklo_ps(hi, hi)); _mm_storeu_ps(sc + 12, _mm_unpackhi_ps(hi, hi));
}

/* iq3_kt: lane j of index vector I_c is group 2j + c; slot (j, s) of word row k takes its sign from
 * qh[16(j&1) + 2k + s] bit j>>1: dword k of the zero-extended qh halves, interleaved once into qword k of
 * q01, then broadcast per word row by one qword permute */
KL2_INL void kl2_iq3kt_regs(const uint8_t *b, __m256i *v, float *sc, float D) {
    kl_iq3kt_scales2(b, sc, D);
    const uint32_t m1 = KT_A, m2 = m1 * KT_A, m3 = m2 * KT_A, m4 = m3 * KT_A, m5 = m4 * KT_A, m6 = m5 * KT_A,
                   m7 = m6 * KT_A, m8 = m7 * KT_A;
    const __m256i mul[8] = { _mm256_set1_epi32((int)m1), _mm256_set1_epi32((int)m2), _mm256_set1_epi32((int)m3),
                             _mm256_set1_epi32((int)m4), _mm256_set1_epi32((int)m5), _mm256_set1_epi32((int)m6),
                             _mm256_set1_epi32((int)m7), _mm256_set1_epi32((int)m8) };
    __m256i q0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(b + 68)));     /* qh[0..15] as words */
    __m256i q1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(b + 84)));     /* qh[16..31] */
    __m256i q01[2] = { _mm256_unpacklo_epi32(q0, q1), _mm256_unpackhi_epi32(q0, q1) };   /* qwords k 0 1 4 5, 2 3 6 7 */
    KLA_UNROLL for (int h = 0; h < 2; h++) {
        __m256i ql = _mm256_loadu_si256((const __m256i *)(b + 4 + 32 * h));
        /* bit j>>1 = 4h + i/2 for lane i */
        const __m256i bit = _mm256_sllv_epi32(_mm256_set1_epi32(0x00010001),
                                              _mm256_setr_epi32(4 * h, 4 * h, 4 * h + 1, 4 * h + 1, 4 * h + 2, 4 * h + 2, 4 * h + 3, 4 * h + 3));
        KLA_UNROLL for (int c = 0; c < 2; c++) {
            __m256i idx = _mm256_add_epi32(c ? _mm256_srli_epi32(ql, 16) : _mm256_and_si256(ql, _mm256_set1_epi32(0xFFFF)),
                                           _mm256_set1_epi32(4096));
            KLA_UNROLL for (int m = 0; m < 4; m++) {
                int k = 4 * c + m;
                __m256i p = _mm256_abs_epi16(kl_kt_pair256(idx, mul[2 * m], mul[2 * m + 1]));
                long long n = (k & 1) + 2 * (k >> 2);        /* qword n to every qword (an index, not an immediate:
                                                                  builds that do not unroll this loop compile too) */
                __m256i q = _mm256_permutevar8x32_epi32(q01[k >> 1 & 1], _mm256_set1_epi64x((2 * n + 1) << 32 | 2 * n));
                __m256i neg = _mm256_cmpeq_epi16(_mm256_and_si256(q, bit), bit);           /* all ones: negate */
                v[2 * k + h] = _mm256_sub_epi16(_mm256_xor_si256(p, neg), neg);
            }
        }
    }
}
KL2_FUNCS(iq3kt, kl_dec_iq3_kt_avx2)

/* add this part's decoders to k for ISA level (1 avx2, 2 avx512) */
static void kl_register_a(kernel_set *k, int level) {
    kla_init();
    memset(kla_dot1, 0, sizeof kla_dot1);
    if (level == 1) { kla_dot1[154] = kl2_dot1_iq3kt; kla_dot1[155] = kl2_dot1_iq4kt; }
    if (level >= 2) { kla_dot1[154] = kla_dot1_iq3kt; kla_dot1[155] = kla_dot1_iq4kt; kla_dot1[139] = kla_dot1_iq4k; kla_dot1[140] = kla_dot1_iq5k; }
    if (level >= 3) { kla_dot1[139] = kla_dot1_iq4kv; kla_dot1[140] = kla_dot1_iq5kv; }
    if (level >= 1) { k->dec[154] = kl_dec_iq3_kt_avx2; k->dec[155] = kl_dec_iq4_kt_avx2; }
    if (level >= 2) { k->dec[154] = kl_dec_iq3kt_avx512; k->dec[155] = kl_dec_iq4kt_avx512; }
}
/* ---- fast decoders of the other seed types (AVX2; also used on AVX-512 machines) ----
 *
 * AVX2 scheme: a type decoder produces the block's 256 values as int8 in natural order, 32 per register
 * (v[c] = elements 32c .. 32c+31, i.e. sub-blocks 2c and 2c+1 in its two 128-bit lanes), with byte
 * shuffles as table lookups; one shared routine then moves them into the pair layout. All these types have
 * values in int8 range, so the int8 stage is exact. The scales are computed with the scalar decoder's own
 * float expression (one multiply of the same two operands), so every ISA gives the same bits. */

#define KL_UNROLL _Pragma("GCC unroll 8")

/* f16 -> f32 with F16C: the same bits as f16_to_f32 (which is written to match vcvtph2ps), far fewer steps */
KL_AVX2 static inline float kl2_h(const uint8_t *p) { return _cvtsh_ss(q_u16(p)); }

/* 16 bytes from lo in lane 0 and from hi in lane 1 (a lookup table chosen per sub-block) */
KL_AVX2 static inline __m256i kl2_lanes(const void *lo, const void *hi) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)lo)),
                                   _mm_loadu_si128((const __m128i *)hi), 1);
}

/* bytes whose bit `bit` is set become 0xFF (a blendv selector), the others 0 */
KL_AVX2 static inline __m256i kl2_bitmask(__m256i x, int bit) {
    __m256i m = _mm256_set1_epi8((char)(1 << bit));
    return _mm256_cmpeq_epi8(_mm256_and_si256(x, m), m);
}

/* nibbles of 32 bytes: h = 0 low, 1 high */
KL_AVX2 static inline __m256i kl2_nib(__m256i x, int h) {
    return _mm256_and_si256(_mm256_srli_epi16(x, 4 * h), _mm256_set1_epi8(15));
}

/* 16 bytes, low nibbles in lane 0 and high nibbles in lane 1 (the 16+16 element groups of a 32-block) */
KL_AVX2 static inline __m256i kl2_nib32(const uint8_t *qs) {
    __m256i x = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    return _mm256_and_si256(_mm256_srlv_epi32(x, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(15));
}

/* Natural int8 chunks -> pair layout, half h of word row k to o[2k + h]. Word k of sub-block j (bytes
 * 16j+2k, +1) goes to slot j of row k. Sub-blocks r and r+8 share a register (one per lane), then an 8x8
 * transpose of 16-bit words in each lane leaves row k in register t[k]: lane 0 slots 0..7, lane 1 slots
 * 8..15; sign extension ends it. */
KL2_INL void kl2_pair(const __m256i *v, __m256i *o) {
    __m256i x[8], a[8], b[8];
    KL_UNROLL for (int c = 0; c < 4; c++) {
        x[2 * c] = _mm256_permute2x128_si256(v[c], v[c + 4], 0x20);       /* sub-blocks 2c, 2c+8 */
        x[2 * c + 1] = _mm256_permute2x128_si256(v[c], v[c + 4], 0x31);   /* 2c+1, 2c+9 */
    }
    KL_UNROLL for (int i = 0; i < 8; i += 2) {
        a[i] = _mm256_unpacklo_epi16(x[i], x[i + 1]);
        a[i + 1] = _mm256_unpackhi_epi16(x[i], x[i + 1]);
    }
    KL_UNROLL for (int i = 0; i < 8; i += 4)
        KL_UNROLL for (int h = 0; h < 2; h++) {
            b[i + 2 * h] = _mm256_unpacklo_epi32(a[i + h], a[i + h + 2]);
            b[i + 2 * h + 1] = _mm256_unpackhi_epi32(a[i + h], a[i + h + 2]);
        }
    /* b[q] (x0..x3) and b[q+4] (x4..x7): word 2q in the low, word 2q+1 in the high 64 bits of each lane */
    KL_UNROLL for (int q = 0; q < 4; q++) {
        int k = 2 * q;
        __m256i lo = _mm256_unpacklo_epi64(b[q], b[q + 4]), hi = _mm256_unpackhi_epi64(b[q], b[q + 4]);
        o[2 * k] = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(lo));
        o[2 * k + 1] = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(lo, 1));
        o[2 * k + 2] = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(hi));
        o[2 * k + 3] = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(hi, 1));
    }
}

/* ---- scales, 16 lanes as two 8-lane int32 halves: sc[s] = d * (float)x[s], the scalar expression ---- */

/* lane s = (p[pos[s]] >> sft[s % 8]) & m: a bit field of the block header per sub-block */
KL_AVX2 static inline void kl2_field(const uint8_t *p, __m128i pos, __m256i sft, int m, __m256i f[2]) {
    __m128i g = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), pos);
    f[0] = _mm256_and_si256(_mm256_srlv_epi32(_mm256_cvtepu8_epi32(g), sft), _mm256_set1_epi32(m));
    f[1] = _mm256_and_si256(_mm256_srlv_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(g, 8)), sft), _mm256_set1_epi32(m));
}

KL_AVX2 static inline void kl2_scales(float *sc, float d, const __m256i x[2]) {
    _mm256_storeu_ps(sc, _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(x[0])));
    _mm256_storeu_ps(sc + 8, _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(x[1])));
}

/* 16 signed bytes p[0..15] */
KL_AVX2 static inline void kl2_sc_i8(float *sc, float d, const uint8_t *p) {
    __m128i g = _mm_loadu_si128((const __m128i *)p);
    __m256i x[2] = { _mm256_cvtepi8_epi32(g), _mm256_cvtepi8_epi32(_mm_srli_si128(g, 8)) };
    kl2_scales(sc, d, x);
}

#define KL2_POS_HALF(o) _mm_setr_epi8(o, o, o + 1, o + 1, o + 2, o + 2, o + 3, o + 3, o + 4, o + 4, o + 5, o + 5, o + 6, o + 6, o + 7, o + 7)
#define KL2_POS_QUARTER(o) _mm_setr_epi8(o, o, o, o, o + 1, o + 1, o + 1, o + 1, o + 2, o + 2, o + 2, o + 2, o + 3, o + 3, o + 3, o + 3)
#define KL2_SFT_NIB _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4)       /* nibble s % 2 */
#define KL2_SFT_2B _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6)        /* 2-bit field s % 4 */

/* iq4_k and iq5_k: low nibble s % 2 of b[8 + s/2], high two bits 2(s % 4) of b[4 + s/4], minus 32 */
KL_AVX2 static inline void kl2_sc_iq45k(float *sc, const uint8_t *b) {
    __m256i lo[2], hi[2];
    kl2_field(b + 4, KL2_POS_HALF(4), KL2_SFT_NIB, 15, lo);
    kl2_field(b + 4, KL2_POS_QUARTER(0), KL2_SFT_2B, 3, hi);
    for (int i = 0; i < 2; i++) lo[i] = _mm256_sub_epi32(_mm256_or_si256(lo[i], _mm256_slli_epi32(hi[i], 4)), _mm256_set1_epi32(32));
    kl2_scales(sc, kl2_h(b), lo);
}

/* ---- AVX2 type decoders: scales (the scalar expressions), then v[c] = elements 32c .. 32c+31 ---- */

/* 16 table bytes in both lanes */
KL_AVX2 static inline __m256i kl2_tab16(const int8_t *t) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
}

/* ---- iq4_k and iq5_k straight into the pair layout (no kl2_pair: its 48 shuffles cost more than the lookup) ----
 * Half h of both types reads 64 qs bytes, 32 per 128-bit lane L at qs + 32(2h + L): slot j = 8h + 4L + d
 * (d the dword in the lane) of word row k takes bytes 16m + 2k + s (s the element of the word) of them, nibble
 * n, where (m, n) = (d/2, d%2) in iq4_k (a 16-byte group per 32 elements) and (d%2, d/2) in iq5_k (a 32-byte
 * group per 64). Per pair of word rows, qword shifts and a dword blend gather both nibbles of their bytes into
 * one index vector, one lookup gives their values, one byte shuffle puts the two rows in the high and low
 * bytes of their words, and two arithmetic shifts sign-extend them. Both value tables' upper halves are the
 * lower ones plus a delta (checked at registration), added per slot where its extra bit is set. */
#define KL2_IQ4_DELTA 4
#define KL2_IQ5_DELTA 2

/* lane L of x[c] (base p, lane offset l1) holds bytes 16m + 2k + s of p + l1 L for k = 4c .. 4c+3 at byte
 * 8m + 2(k - 4c) + s: three 16-byte loads per lane merged by dword blends, no shuffle */
KL2_INL void kl2_span(const uint8_t *p, int l1, __m256i x[2]) {
    __m256i a = kl2_lanes(p, p + l1), m = kl2_lanes(p + 8, p + l1 + 8), c = kl2_lanes(p + 16, p + l1 + 16);
    x[0] = _mm256_blend_epi32(a, m, 0xCC);
    x[1] = _mm256_blend_epi32(m, c, 0xCC);
}

/* For the row pair 4c + 2p, +1: its bytes 8m + 4p + (0..3) of kl2_span's x stay for nibble 0, and the other
 * dword of their qword gets them shifted down by sh bits more (sh = 4: the high nibble) for nibble 1, so that
 * byte 8m + 4(n ^ p) + 2r + s belongs to nibble n of row 4c + 2p + r */
KL2_INL __m256i kl2_mix(__m256i x, int p, int sh) {
    return p ? _mm256_blend_epi32(_mm256_srli_epi64(x, 32 + sh), x, 0xAA) : _mm256_blend_epi32(x, _mm256_slli_epi64(x, 32 - sh), 0xAA);
}

/* byte shuffle out of kl2_mix's order: word s of a dword with half m and nibble n gets byte 8m + 4q + s (q =
 * n ^ p; row 4c + 2p) in its high and byte 8m + 4q + 2 + s (row 4c + 2p + 1) in its low byte */
#define KL2_CW(m, q) 8 * (m) + 4 * (q) + 2, 8 * (m) + 4 * (q), 8 * (m) + 4 * (q) + 3, 8 * (m) + 4 * (q) + 1
#define KL2_CTL(w0, w1, w2, w3) _mm256_setr_epi8(w0, w1, w2, w3, w0, w1, w2, w3)

/* delta in every byte of dword d of half h where extra bit 8h + d of ex is set */
KL2_INL __m256i kl2_ext(uint16_t ex, int h, int delta) {
    __m256i bit = _mm256_slli_epi32(_mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128), 8 * h);
    __m256i on = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(ex), bit), bit);
    return _mm256_and_si256(on, _mm256_set1_epi8((char)delta));
}

/* word rows 2q, 2q + 1 (halves o[0], o[2]) from their values in kl2_mix's order */
KL2_INL void kl2_rows2(__m256i v, __m256i ctl, __m256i ext, __m256i *o) {
    __m256i z = _mm256_add_epi8(_mm256_shuffle_epi8(v, ctl), ext);
    o[0] = _mm256_srai_epi16(z, 8);
    o[2] = _mm256_srai_epi16(_mm256_slli_epi16(z, 8), 8);
}

/* iq4_k: the 16-entry table on both nibbles */
KL2_INL void kl2_iq4_k_regs(const uint8_t *b, __m256i *o, float *sc, float D) {
    (void)D;
    kl2_sc_iq45k(sc, b);
    const __m256i tab = kl2_tab16(iq4k_values), m15 = _mm256_set1_epi8(15);
    const __m256i ctl[2] = { KL2_CTL(KL2_CW(0, 0), KL2_CW(0, 1), KL2_CW(1, 0), KL2_CW(1, 1)),
                             KL2_CTL(KL2_CW(0, 1), KL2_CW(0, 0), KL2_CW(1, 1), KL2_CW(1, 0)) };
    KL_UNROLL for (int h = 0; h < 2; h++) {
        __m256i x[2], ext = kl2_ext(q_u16(b + 2), h, KL2_IQ4_DELTA);
        kl2_span(b + 16 + 64 * h, 32, x);
        KL_UNROLL for (int c = 0; c < 2; c++)
            KL_UNROLL for (int p = 0; p < 2; p++) {
                __m256i v = _mm256_shuffle_epi8(tab, _mm256_and_si256(kl2_mix(x[c], p, 4), m15));
                kl2_rows2(v, ctl[p], ext, o + 2 * (4 * c + 2 * p) + h);
            }
    }
}
KL2_FUNCS(iq4_k, kl2_dec_iq4_k)

/* iq4_ks: as iq4_k with the table half chosen per 32 by bit 0 of its scale byte */
KL2_INL void kl2_iq4_ks_regs(const uint8_t *b, __m256i *o, float *sc, float D) {
    __m256i x[2];                               /* q_ks_scale: D * (float)((byte & 254) - 127) */
    kl2_field(b, KL2_POS_HALF(0), _mm256_setzero_si256(), 254, x);
    for (int i = 0; i < 2; i++) x[i] = _mm256_sub_epi32(x[i], _mm256_set1_epi32(127));
    kl2_scales(sc, D, x);
    __m256i v[8];
    KL_UNROLL for (int c = 0; c < 8; c++) {
        const int8_t *t = iq4k_values + 16 * (b[c] & 1);
        v[c] = _mm256_shuffle_epi8(kl2_lanes(t, t), kl2_nib32(b + 8 + 16 * c));
    }
    kl2_pair(v, o);
}
KL2_FUNCS(iq4_ks, kl2_dec_iq4_ks)

/* The iq6_k table's upper half (extra bit set) is the lower half plus 1 (checked at
 * registration): one lane-independent lookup, then the shift added per lane, saves per-chunk table loads. */
#define KL2_IQ6_DELTA 1

/* per lane, delta where the lane's extra bit (2c in lane 0, 2c+1 in lane 1) of ex16 (ex in every word) is set */
KL_AVX2 static inline __m256i kl2_extra(__m256i ex16, int c, int delta) {
    __m256i sel = _mm256_setr_m128i(_mm_set1_epi16((short)(1 << 2 * c)), _mm_set1_epi16((short)(1 << (2 * c + 1))));
    return _mm256_and_si256(_mm256_cmpeq_epi16(_mm256_and_si256(ex16, sel), sel), _mm256_set1_epi8((char)delta));
}

/* iq5_k: the fifth bit of element e is bit e/32 = 4h + 2L + n of qh byte 16m + 2k + s, i.e. of the same
 * kl2_span and kl2_mix order over qh in both lanes (no nibble shift); it picks one of two 16-entry lookups */
KL2_INL void kl2_iq5_k_regs(const uint8_t *b, __m256i *o, float *sc, float D) {
    (void)D;
    kl2_sc_iq45k(sc, b);
    const __m256i t0 = kl2_tab16(iq5nl_values), t1 = kl2_tab16(iq5nl_values + 16), m15 = _mm256_set1_epi8(15);
    const __m256i ctl[2] = { KL2_CTL(KL2_CW(0, 0), KL2_CW(1, 0), KL2_CW(0, 1), KL2_CW(1, 1)),
                             KL2_CTL(KL2_CW(0, 1), KL2_CW(1, 1), KL2_CW(0, 0), KL2_CW(1, 0)) };
    __m256i qh[2];
    kl2_span(b + 144, 0, qh);
    KL_UNROLL for (int h = 0; h < 2; h++) {
        __m256i x[2], ext = kl2_ext(q_u16(b + 2), h, KL2_IQ5_DELTA);
        kl2_span(b + 16 + 64 * h, 32, x);
        KL_UNROLL for (int c = 0; c < 2; c++)
            KL_UNROLL for (int p = 0; p < 2; p++) {
                /* bit 4h + 2L + n, n = p in the even dwords and 1 - p in the odd ones */
                __m128i l0 = _mm_set1_epi64x((long long)(0x01010101ull << (4 * h + p) | 0x0101010100000000ull << (4 * h + 1 - p)));
                __m256i bit = _mm256_setr_m128i(l0, _mm_slli_epi64(l0, 2));
                __m256i hi = _mm256_cmpeq_epi8(_mm256_and_si256(kl2_mix(qh[c], p, 0), bit), bit);
                __m256i nb = _mm256_and_si256(kl2_mix(x[c], p, 4), m15);
                __m256i v = _mm256_blendv_epi8(_mm256_shuffle_epi8(t0, nb), _mm256_shuffle_epi8(t1, nb), hi);
                kl2_rows2(v, ctl[p], ext, o + 2 * (4 * c + 2 * p) + h);
            }
    }
}
KL2_FUNCS(iq5_k, kl2_dec_iq5_k)

/* iq6_k: iq5_k's nibbles plus two high bits (bits 2(c%4), +1 of qh[32(c/4) + l]); four 16-byte lookups */
KL2_INL void kl2_iq6_k_regs(const uint8_t *b, __m256i *o, float *sc, float D) {
    (void)D;
    kl2_sc_i8(sc, kl2_h(b), b + 4);
    __m256i ex = _mm256_set1_epi16((short)q_u16(b + 2)), t[4], v[8];
    for (int i = 0; i < 4; i++) t[i] = kl2_tab16(iq6nl_values + 16 * i);
    KL_UNROLL for (int c = 0; c < 8; c++) {
        __m256i n = kl2_nib(_mm256_loadu_si256((const __m256i *)(b + 20 + 32 * (c >> 1))), c & 1);
        __m256i qh = _mm256_loadu_si256((const __m256i *)(b + 148 + 32 * (c >> 2)));
        __m256i m0 = kl2_bitmask(qh, 2 * (c & 3)), m1 = kl2_bitmask(qh, 2 * (c & 3) + 1);
        __m256i lo = _mm256_blendv_epi8(_mm256_shuffle_epi8(t[0], n), _mm256_shuffle_epi8(t[1], n), m0);
        __m256i hi = _mm256_blendv_epi8(_mm256_shuffle_epi8(t[2], n), _mm256_shuffle_epi8(t[3], n), m0);
        v[c] = _mm256_add_epi8(_mm256_blendv_epi8(lo, hi, m1), kl2_extra(ex, c, KL2_IQ6_DELTA));
    }
    kl2_pair(v, o);
}
KL2_FUNCS(iq6_k, kl2_dec_iq6_k)

/* q6_K: 128-halves; in each, 32-group k takes nibble k/2 of ql[64h + 32(k%2) + l] and bits 2k of qh[32h + l] */
KL2_INL void kl2_q6_K_regs(const uint8_t *b, __m256i *o, float *sc, float D) {
    (void)D;
    kl2_sc_i8(sc, kl2_h(b + 208), b + 192);
    __m256i v[8];
    KL_UNROLL for (int c = 0; c < 8; c++) {
        int h = c >> 2, k = c & 3;
        __m256i lo = kl2_nib(_mm256_loadu_si256((const __m256i *)(b + 64 * h + 32 * (k & 1))), k >> 1);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(_mm256_loadu_si256((const __m256i *)(b + 128 + 32 * h)), 2 * k),
                                      _mm256_set1_epi8(3));
        v[c] = _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)), _mm256_set1_epi8(32));
    }
    kl2_pair(v, o);
}
KL2_FUNCS(q6_K, kl2_dec_q6_K)

/* iq3_k: 2-bit planes (bits 2(c%4) of qs[32(c/4) + l]), third bit c of qh[l], extra half (+8) per lane */
KL2_INL void kl2_iq3_k_regs(const uint8_t *b, __m256i *o, float *sc, float D) {
    float d = kl2_h(b);
    uint16_t ex = q_u16(b + 2);
    (void)D;
    __m256i x[2], ng[2];                        /* (2 * nibble + 1), negated where bit s of sh is set */
    kl2_field(b + 4, KL2_POS_HALF(2), KL2_SFT_NIB, 15, x);
    kl2_field(b + 4, _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), 1, ng);
    for (int i = 0; i < 2; i++) {
        __m256i m = _mm256_sub_epi32(_mm256_setzero_si256(), ng[i]);
        x[i] = _mm256_sub_epi32(_mm256_xor_si256(_mm256_add_epi32(_mm256_add_epi32(x[i], x[i]), _mm256_set1_epi32(1)), m), m);
    }
    kl2_scales(sc, d, x);
    __m256i tab = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)iq3nl_values));
    __m256i qh = _mm256_loadu_si256((const __m256i *)(b + 78)), three = _mm256_set1_epi8(3), v[8];
    KL_UNROLL for (int c = 0; c < 8; c++) {
        __m256i p = _mm256_and_si256(_mm256_srli_epi16(_mm256_loadu_si256((const __m256i *)(b + 14 + 32 * (c >> 2))), 2 * (c & 3)), three);
        __m256i h = _mm256_and_si256(kl2_bitmask(qh, c), _mm256_set1_epi8(4));
        __m256i x = _mm256_setr_m128i(_mm_set1_epi8((char)(8 * Q_BIT(ex, 2 * c))), _mm_set1_epi8((char)(8 * Q_BIT(ex, 2 * c + 1))));
        v[c] = _mm256_shuffle_epi8(tab, _mm256_or_si256(_mm256_or_si256(p, h), x));
    }
    kl2_pair(v, o);
}
KL2_FUNCS(iq3_k, kl2_dec_iq3_k)

/* q8_0, a whole chunk of 8 consecutive 34-byte blocks: block c is elements 32c .. 32c+31 as they are, its f16
 * d the scale of both of its 16-element sub-blocks (q_dec_q8_0's Q_SC(2, q_h(b))) */
KL_AVX2 static void kl2_dec_q8_0(const uint8_t *b, int16_t *vl, float *sc, float D) {
    (void)D;
    __m256i v[8];
    KL_UNROLL for (int c = 0; c < 8; c++) {
        sc[2 * c] = sc[2 * c + 1] = kl2_h(b + 34 * c);
        v[c] = _mm256_loadu_si256((const __m256i *)(b + 34 * c + 2));
    }
    __m256i o[16];
    kl2_pair(v, o);
    kl2_store(o, vl);
}

/* a table whose upper half is its lower half plus delta (what the shifted-lookup decoders assume) */
static int kl2_shifted_half(const int8_t *t, int n, int delta) {
    for (int i = 0; i < n; i++) if (t[n + i] != t[i] + delta) return 0;
    return 1;
}

/* add this part's decoders and one-token dots (q8_0: none, its blocks are smaller than a chunk) to k for ISA
 * level (1 avx2, 2 avx512); an AVX-512 decoder or dot already there stays */
static void kl_register_b(kernel_set *k, int level) {
    const struct { int id; kl_dec_fn f2; kla_dot1_fn d1; int ok; } tab[] = {
        { 139, kl2_dec_iq4_k, kl2_dot1_iq4_k, kl2_shifted_half(iq4k_values, 16, KL2_IQ4_DELTA) }, { 144, kl2_dec_iq4_ks, kl2_dot1_iq4_ks, 1 },
        { 14, kl2_dec_q6_K, kl2_dot1_q6_K, 1 }, { 138, kl2_dec_iq3_k, kl2_dot1_iq3_k, 1 },
        { 140, kl2_dec_iq5_k, kl2_dot1_iq5_k, kl2_shifted_half(iq5nl_values, 32, KL2_IQ5_DELTA) }, { 8, kl2_dec_q8_0, NULL, 1 },
        { 141, kl2_dec_iq6_k, kl2_dot1_iq6_k, kl2_shifted_half(iq6nl_values, 64, KL2_IQ6_DELTA) },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (level < 1 || !tab[i].ok) continue;
        if (!k->dec[tab[i].id]) k->dec[tab[i].id] = tab[i].f2;
        if (!kla_dot1[tab[i].id]) kla_dot1[tab[i].id] = tab[i].d1;
    }
}

#endif /* __x86_64__ */

#if defined(__aarch64__)
/* ---- NEON kernels for arm64 ---- Advanced SIMD is mandatory in AArch64, so no runtime
 * check is needed. Every function gives the scalar reference's bits: the integer sums are exact, and the float
 * operations per lane are the scalar ones in the same order (mul, sub, add as separate vmulq/vsubq/vaddq;
 * the build uses -ffp-contract=off, so the compiler does not fuse them into fmla either). */
#include <arm_neon.h>

/* ---- chunk ---- */

/* Lanes j = 8h .. 8h+7 of one row. vld2q_s16 splits each word row into the even (element 16j+2k) and odd
 * (16j+2k+1) halves of the words, so a widening multiply-accumulate of both leaves sub-block j in lane j. */
static inline int32x4x2_t kln_dot8(const int16_t *w, const int16x8x2_t *av) {
    int32x4x2_t s = { { vdupq_n_s32(0), vdupq_n_s32(0) } };
    for (int k = 0; k < 8; k++) {
        int16x8x2_t wk = vld2q_s16(w + 32 * k);
        s.val[0] = vmlal_s16(s.val[0], vget_low_s16(wk.val[0]), vget_low_s16(av[k].val[0]));
        s.val[0] = vmlal_s16(s.val[0], vget_low_s16(wk.val[1]), vget_low_s16(av[k].val[1]));
        s.val[1] = vmlal_high_s16(s.val[1], wk.val[0], av[k].val[0]);
        s.val[1] = vmlal_high_s16(s.val[1], wk.val[1], av[k].val[1]);
    }
    return s;
}

/* the scalar float tail for 4 lanes: acc += ((float)isum * sc - qsum * mn) * da */
static inline void kln_tail4(int32x4_t isum, const float *sc, const float *mn, int has_min, float32x4_t vs,
                             float32x4_t vd, float *acc) {
    float32x4_t t = vmulq_f32(vcvtq_f32_s32(isum), vld1q_f32(sc));
    if (has_min) t = vsubq_f32(t, vmulq_f32(vs, vld1q_f32(mn)));
    vst1q_f32(acc, vaddq_f32(vld1q_f32(acc), vmulq_f32(t, vd)));
}

/* One token: the activation half (8 word rows x 8 lanes) stays in 16 registers across the rows. */
static void kl_chunk1_neon(const int16_t *wv, const float *wsc, const float *wmn, int R, int has_min,
                           const int16_t *a, const float *ad, const float *as, float *acc) {
    for (int h = 0; h < 2; h++) {
        int16x8x2_t av[8];
        for (int k = 0; k < 8; k++) av[k] = vld2q_s16(a + 32 * k + 16 * h);
        float32x4_t vd0 = vld1q_f32(ad + 8 * h), vd1 = vld1q_f32(ad + 8 * h + 4);
        float32x4_t vs0 = vld1q_f32(as + 8 * h), vs1 = vld1q_f32(as + 8 * h + 4);
        for (int r = 0; r < R; r++) {
            int32x4x2_t s = kln_dot8(wv + r * KC + 16 * h, av);
            int o = r * KS + 8 * h;
            kln_tail4(s.val[0], wsc + o, wmn + o, has_min, vs0, vd0, acc + o);
            kln_tail4(s.val[1], wsc + o + 4, wmn + o + 4, has_min, vs1, vd1, acc + o + 4);
        }
    }
}

static void kl_chunk_neon(const int16_t *wv, const float *wsc, const float *wmn, int R, int has_min,
                          const int16_t *a, int64_t lda, const float *ad, const float *as, int64_t lds, int T, float *acc) {
    for (int t = 0; t < T; t++)
        kl_chunk1_neon(wv, wsc, wmn, R, has_min, a + t * lda, ad + t * lds, as + t * lds, acc + t * R * KS);
}

/* ---- f32 dot: lanes 0..3 and 4..7 of the scalar 8-lane order, mul then add ---- */
static void kl_f16_row_neon(const uint8_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)(const void *)(src + 2 * i)))));
    for (; i < n; i++) dst[i] = f16_to_f32(q_u16(src + 2 * i));
}

static float kl_dot_f32_neon(const float *a, const float *b, int64_t n) {
    float32x4_t lo = vdupq_n_f32(0), hi = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        lo = vaddq_f32(lo, vmulq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
        hi = vaddq_f32(hi, vmulq_f32(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4)));
    }
    float s[8];
    vst1q_f32(s, lo);
    vst1q_f32(s + 4, hi);
    for (; i < n; i++) s[0] += a[i] * b[i];     /* the tail goes into lane 0 before the reduction, as in scalar */
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* ---- quant ---- */

/* 8 values of one 32-block to int16: IEEE division then round-half-even (vrndnq, independent of the
 * rounding mode, which the scalar rintf leaves at its default nearest-even), clamped to +-32767 */
static inline int16x8_t kln_q8(const float *x, float32x4_t vd) {
    const float32x4_t lim = vdupq_n_f32(32767.0f), nlim = vdupq_n_f32(-32767.0f);
    float32x4_t t0 = vrndnq_f32(vdivq_f32(vld1q_f32(x), vd)), t1 = vrndnq_f32(vdivq_f32(vld1q_f32(x + 4), vd));
    t0 = vmaxq_f32(vminq_f32(t0, lim), nlim);
    t1 = vmaxq_f32(vminq_f32(t1, lim), nlim);
    return vcombine_s16(vmovn_s32(vcvtq_s32_f32(t0)), vmovn_s32(vcvtq_s32_f32(t1)));
}

/* Block b of a chunk (offset o = b % KC) goes to word columns o/16 and o/16+1, which are adjacent: word row k
 * gets the pair (2k, 2k+1) of the first 16 values then the pair (16+2k, 17+2k), one 64-bit store. */
static void kl_quant_neon(const float *x, int64_t n, int16_t *q, float *ad, float *as) {
    for (int64_t b = 0; b < n; b += 32) {
        /* vmaxnm skips a NaN like the scalar `v > amax` does; max is exact, so lane order does not matter */
        float32x4_t m = vdupq_n_f32(0);           /* from 0 like the scalar amax: an all-NaN block gives 0 */
        for (int i = 0; i < 32; i += 4) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + b + i)));
        float amax = vmaxnmvq_f32(m), d = amax / 32767.0f;
        int16x8_t v[4] = { vdupq_n_s16(0), vdupq_n_s16(0), vdupq_n_s16(0), vdupq_n_s16(0) };
        if (d > 0) {
            float32x4_t vd = vdupq_n_f32(d);
            for (int i = 0; i < 4; i++) v[i] = kln_q8(x + b + 8 * i, vd);
        }
        int16_t *qc = q + (b / KC) * KC + 2 * ((b % KC) / 16);
        for (int i = 0; i < 2; i++) {             /* first-half words 4i..4i+3 with their second-half partners */
            uint32x4_t f = vreinterpretq_u32_s16(v[i]), s = vreinterpretq_u32_s16(v[i + 2]);
            int16x8_t p0 = vreinterpretq_s16_u32(vzip1q_u32(f, s)), p1 = vreinterpretq_s16_u32(vzip2q_u32(f, s));
            vst1_s16(qc + 32 * (4 * i + 0), vget_low_s16(p0));
            vst1_s16(qc + 32 * (4 * i + 1), vget_high_s16(p0));
            vst1_s16(qc + 32 * (4 * i + 2), vget_low_s16(p1));
            vst1_s16(qc + 32 * (4 * i + 3), vget_high_s16(p1));
        }
        int32_t s0 = vaddlvq_s16(v[0]) + vaddlvq_s16(v[1]), s1 = vaddlvq_s16(v[2]) + vaddlvq_s16(v[3]);
        ad[b / 16] = ad[b / 16 + 1] = d;
        as[b / 16] = (float)s0; as[b / 16 + 1] = (float)s1;
    }
}

/* ---- fast decoders (little-endian AArch64: a byte vector reinterpreted as u32 lanes reads q_u32) ---- */

/* the sum of the four bytes of state & 0x3F3F3F3F per lane: two pairwise widening adds */
static inline uint32x4_t kln_bsum(uint32x4_t st) {
    return vpaddlq_u16(vpaddlq_u8(vandq_u8(vreinterpretq_u8_u32(st), vdupq_n_u8(0x3F))));
}

/* (v >> n) & m per lane; vshlq with a negative count shifts right and takes a run-time n */
static inline uint32x4_t kln_field(uint32x4_t v, int n, uint32_t m) {
    return vandq_u32(vshlq_u32(v, vdupq_n_s32(-n)), vdupq_n_u32(m));
}

/* iq4_kt straight into the pair layout. Word (k, j) holds elements 16j+2k, +1: group g = 4j + k/2, trellis
 * steps 2(k%2)+1 and 2(k%2)+2 of it. Vector qd holds lanes j = 4qd + l; index vector c is group 4j + c, whose
 * ql byte is ql[16qd + 4l + c], qh nibble qd/2 of qh[16(qd%2) + 4l + c], 3-bit field 8 + 12(l%2) + 3c of the
 * scale word j/2 (the sub-block scale is that word's low byte). */
static void kl_dec_iq4_kt_neon(const uint8_t *b, int16_t *vl, float *sc, float D) {
    const uint8_t *ql = b + 32, *qh = b + 96;
    static const int32_t fsh[4] = { -8, -20, -8, -20 };
    const uint32_t mul[4] = { KT_A, KT_A2, KT_A3, KT_A4 };
    const int16x8_t c126 = vdupq_n_s16(126);
    for (int qd = 0; qd < 4; qd++) {
        uint32x4_t vql = vreinterpretq_u32_u8(vld1q_u8(ql + 16 * qd));
        uint32x4_t vqh = kln_field(vreinterpretq_u32_u8(vld1q_u8(qh + 16 * (qd % 2))), 4 * (qd / 2), 0x0F0F0F0F);
        uint32x2_t s2 = vreinterpret_u32_u8(vld1_u8(b + 8 * qd));
        uint32x4_t sh = vcombine_u32(vdup_lane_u32(s2, 0), vdup_lane_u32(s2, 1));       /* word j/2 per lane */
        int32x4_t ls = vsubq_s32(vreinterpretq_s32_u32(kln_field(sh, 1, 127)), vdupq_n_s32(64));
        vst1q_f32(sc + 4 * qd, vmulq_f32(vdupq_n_f32(D), vcvtq_f32_s32(ls)));       /* D * (float)ls, as scalar */
        uint32x4_t off = vaddq_u32(vdupq_n_u32(4096), vshlq_n_u32(vandq_u32(sh, vdupq_n_u32(1)), 15));
        uint32x4_t f3 = vshlq_u32(sh, vld1q_s32(fsh));                               /* field c at bits 3c */
        for (int c = 0; c < 4; c++) {
            uint32x4_t idx = vorrq_u32(kln_field(vql, 8 * c, 255),
                                       vorrq_u32(vshlq_n_u32(kln_field(vqh, 8 * c, 15), 8), vshlq_n_u32(kln_field(f3, 3 * c, 7), 12)));
            idx = vaddq_u32(idx, off);
            for (int h = 0; h < 2; h++) {         /* word row k = 2c + h: steps 2h+1 (low half) and 2h+2 (high) */
                uint32x4_t x = kln_bsum(vmulq_u32(idx, vdupq_n_u32(mul[2 * h])));
                uint32x4_t y = kln_bsum(vmulq_u32(idx, vdupq_n_u32(mul[2 * h + 1])));
                int16x8_t p = vsubq_s16(vreinterpretq_s16_u32(vsliq_n_u32(x, y, 16)), c126);
                vst1q_s16(vl + 32 * (2 * c + h) + 8 * qd, p);
            }
        }
    }
}

/* ---- scales: sc[s] = d * (float)x[s], the scalar expression, for 16 int8 values x ---- */

static inline void kln_sc16(float *sc, float d, int8x16_t x) {
    int16x8_t l0 = vmovl_s8(vget_low_s8(x)), l1 = vmovl_high_s8(x);
    float32x4_t vd = vdupq_n_f32(d);
    vst1q_f32(sc, vmulq_f32(vd, vcvtq_f32_s32(vmovl_s16(vget_low_s16(l0)))));
    vst1q_f32(sc + 4, vmulq_f32(vd, vcvtq_f32_s32(vmovl_high_s16(l0))));
    vst1q_f32(sc + 8, vmulq_f32(vd, vcvtq_f32_s32(vmovl_s16(vget_low_s16(l1)))));
    vst1q_f32(sc + 12, vmulq_f32(vd, vcvtq_f32_s32(vmovl_high_s16(l1))));
}

/* p[s/2] in lane s: one header byte per 32 elements */
static inline uint8x16_t kln_dup2(const uint8_t *p) {
    uint8x8_t x = vld1_u8(p);
    return vcombine_u8(vzip1_u8(x, x), vzip2_u8(x, x));
}

/* nibble s%2 of p[s/2] in lane s */
static inline uint8x16_t kln_nibs(const uint8_t *p) {
    static const int8_t sft[16] = { 0, -4, 0, -4, 0, -4, 0, -4, 0, -4, 0, -4, 0, -4, 0, -4 };
    return vandq_u8(vshlq_u8(kln_dup2(p), vld1q_s8(sft)), vdupq_n_u8(15));
}

/* (x >> n) & m per byte, n at run time as in kln_field */
static inline uint8x16_t kln_bits8(uint8x16_t x, int n, int m) {
    return vandq_u8(vshlq_u8(x, vdupq_n_s8((int8_t)-n)), vdupq_n_u8((uint8_t)m));
}

/* iq4_k and iq5_k: ls = nibble s%2 of b[8 + s/2] | bits 2(s%4) of b[4 + s/4] << 4, sc = d * (float)(ls - 32) */
static void kln_iq45_k_scales(const uint8_t *b, float d, float *sc) {
    static const uint8_t hi_i[16] = { 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3 };
    static const int8_t hi_s[16] = { 0, -2, -4, -6, 0, -2, -4, -6, 0, -2, -4, -6, 0, -2, -4, -6 };
    uint8x16_t hi = vandq_u8(vshlq_u8(vqtbl1q_u8(vld1q_u8(b + 4), vld1q_u8(hi_i)), vld1q_s8(hi_s)), vdupq_n_u8(3));
    uint8x16_t ls = vsubq_u8(vorrq_u8(kln_nibs(b + 8), vshlq_n_u8(hi, 4)), vdupq_n_u8(32));   /* -32..31 as int8 */
    kln_sc16(sc, d, vreinterpretq_s8_u8(ls));
}

/* iq4_k into the pair layout. Slot s = 4r + m of a 16-slot half of word row k is word j = 2r + m/2 of that
 * half: byte 16r + 2k + (m&1) of the half's 64 quant bytes, nibble m/2, table half from extra bit j. So each
 * half row is one 64-byte table lookup, a per-slot shift, a mask and a 32-entry value lookup. */
static void kl_dec_iq4_k_neon(const uint8_t *b, int16_t *vl, float *sc, float D) {
    (void)D;
    static const uint8_t base[16] = { 0, 1, 0, 1, 16, 17, 16, 17, 32, 33, 32, 33, 48, 49, 48, 49 };
    static const int8_t nsh[16] = { 0, 0, -4, -4, 0, 0, -4, -4, 0, 0, -4, -4, 0, 0, -4, -4 };
    static const int8_t jsh[16] = { 0, 0, -1, -1, -2, -2, -3, -3, -4, -4, -5, -5, -6, -6, -7, -7 };
    uint16_t ex = q_u16(b + 2);
    kln_iq45_k_scales(b, q_h(b), sc);
    const uint8x16x4_t q0 = { { vld1q_u8(b + 16), vld1q_u8(b + 32), vld1q_u8(b + 48), vld1q_u8(b + 64) } };
    const uint8x16x4_t q1 = { { vld1q_u8(b + 80), vld1q_u8(b + 96), vld1q_u8(b + 112), vld1q_u8(b + 128) } };
    const int8x16x2_t tab = { { vld1q_s8(iq4k_values), vld1q_s8(iq4k_values + 16) } };
    const int8x16_t vsh = vld1q_s8(nsh), vj = vld1q_s8(jsh);
    const uint8x16_t m15 = vdupq_n_u8(15), one = vdupq_n_u8(1);
    /* 16 * extra bit j per slot: words 0..7 from the low byte, 8..15 from the high byte */
    uint8x16_t e0 = vshlq_n_u8(vandq_u8(vshlq_u8(vdupq_n_u8((uint8_t)ex), vj), one), 4);
    uint8x16_t e1 = vshlq_n_u8(vandq_u8(vshlq_u8(vdupq_n_u8((uint8_t)(ex >> 8)), vj), one), 4);
    for (int k = 0; k < 8; k++) {
        uint8x16_t idx = vaddq_u8(vld1q_u8(base), vdupq_n_u8((uint8_t)(2 * k)));
        uint8x16_t n0 = vorrq_u8(vandq_u8(vshlq_u8(vqtbl4q_u8(q0, idx), vsh), m15), e0);
        uint8x16_t n1 = vorrq_u8(vandq_u8(vshlq_u8(vqtbl4q_u8(q1, idx), vsh), m15), e1);
        int8x16_t v0 = vqtbl2q_s8(tab, n0), v1 = vqtbl2q_s8(tab, n1);
        vst1q_s16(vl + 32 * k, vmovl_s8(vget_low_s8(v0)));
        vst1q_s16(vl + 32 * k + 8, vmovl_high_s8(v0));
        vst1q_s16(vl + 32 * k + 16, vmovl_s8(vget_low_s8(v1)));
        vst1q_s16(vl + 32 * k + 24, vmovl_high_s8(v1));
    }
}

/* ---- decoders via natural order: v[s] = the 16 int8 values of sub-block s (all these types fit int8) ---- */

/* v[s] -> pair layout. Row k takes word k (bytes 2k, 2k+1) of every sub-block: per half (sub-blocks 8h..8h+7,
 * slots 8h..8h+7) an 8x8 transpose of 16-bit words by trn at 16, 32, 64 bits, then sign extension. */
static inline void kln_put(const int8x16_t *v, int16_t *vl) {
    for (int h = 0; h < 2; h++) {
        uint16x8_t a[8], t[8];
        for (int i = 0; i < 8; i += 2) {
            uint16x8_t x0 = vreinterpretq_u16_s8(v[8 * h + i]), x1 = vreinterpretq_u16_s8(v[8 * h + i + 1]);
            a[i] = vtrn1q_u16(x0, x1);
            a[i + 1] = vtrn2q_u16(x0, x1);
        }
        for (int i = 0; i < 8; i += 4)
            for (int m = 0; m < 2; m++) {
                uint32x4_t x0 = vreinterpretq_u32_u16(a[i + m]), x1 = vreinterpretq_u32_u16(a[i + m + 2]);
                t[i + m] = vreinterpretq_u16_u32(vtrn1q_u32(x0, x1));
                t[i + m + 2] = vreinterpretq_u16_u32(vtrn2q_u32(x0, x1));
            }
        for (int k = 0; k < 4; k++) {   /* t[k] holds words k (low 64 bits) and k+4 of sub-blocks 8h..8h+3 */
            uint64x2_t x0 = vreinterpretq_u64_u16(t[k]), x1 = vreinterpretq_u64_u16(t[k + 4]);
            int8x16_t r0 = vreinterpretq_s8_u64(vtrn1q_u64(x0, x1)), r1 = vreinterpretq_s8_u64(vtrn2q_u64(x0, x1));
            vst1q_s16(vl + 32 * k + 16 * h, vmovl_s8(vget_low_s8(r0)));
            vst1q_s16(vl + 32 * k + 16 * h + 8, vmovl_high_s8(r0));
            vst1q_s16(vl + 32 * (k + 4) + 16 * h, vmovl_s8(vget_low_s8(r1)));
            vst1q_s16(vl + 32 * (k + 4) + 16 * h + 8, vmovl_high_s8(r1));
        }
    }
}

/* q8_0, a whole chunk of 8 consecutive 34-byte blocks: block c is sub-blocks 2c, 2c+1 as they are, its f16 d the
 * scale of both (q_dec_q8_0's Q_SC(2, q_h(b))) */
static void kl_dec_q8_0_neon(const uint8_t *b, int16_t *vl, float *sc, float D) {
    (void)D;
    int8x16_t v[16];
    for (int c = 0; c < 8; c++) {
        sc[2 * c] = sc[2 * c + 1] = q_h(b + 34 * c);
        v[2 * c] = vld1q_s8((const int8_t *)b + 34 * c + 2);
        v[2 * c + 1] = vld1q_s8((const int8_t *)b + 34 * c + 18);
    }
    kln_put(v, vl);
}

/* q6_K: sub-block s = 8h + 2k + i is half i of 32-group k of 128-half h: nibble k/2 of ql[64h + 32(k%2) + 16i + l],
 * bits 2k of qh[32h + 16i + l] */
static void kl_dec_q6_K_neon(const uint8_t *b, int16_t *vl, float *sc, float D) {
    (void)D;
    kln_sc16(sc, q_h(b + 208), vld1q_s8((const int8_t *)b + 192));
    int8x16_t v[16];
    for (int s = 0; s < 16; s++) {
        int h = s >> 3, k = s >> 1 & 3, i = s & 1;
        uint8x16_t lo = kln_bits8(vld1q_u8(b + 64 * h + 32 * (k & 1) + 16 * i), 4 * (k >> 1), 15);
        uint8x16_t hi = kln_bits8(vld1q_u8(b + 128 + 32 * h + 16 * i), 2 * k, 3);
        v[s] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(lo, vshlq_n_u8(hi, 4))), vdupq_n_s8(32));
    }
    kln_put(v, vl);
}

/* iq3_k: scales (2 * nibble + 1) negated where bit s of sh is set; values from the 16-entry table at 2-bit plane
 * 2(c%4) of qs[32(c/4) + l] (c = s/2, the 32-group), third bit c of qh[l], +8 where extra bit s is set */
static void kl_dec_iq3_k_neon(const uint8_t *b, int16_t *vl, float *sc, float D) {
    static const uint8_t bit[16] = { 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128 };
    uint16_t ex = q_u16(b + 2), sh = q_u16(b + 4);
    (void)D;
    uint8x16_t neg = vtstq_u8(vcombine_u8(vdup_n_u8((uint8_t)sh), vdup_n_u8((uint8_t)(sh >> 8))), vld1q_u8(bit));
    uint8x16_t x = vaddq_u8(vshlq_n_u8(kln_nibs(b + 6), 1), vdupq_n_u8(1));
    kln_sc16(sc, q_h(b), vreinterpretq_s8_u8(vsubq_u8(veorq_u8(x, neg), neg)));
    const int8x16_t tab = vld1q_s8(iq3nl_values);
    int8x16_t v[16];
    for (int s = 0; s < 16; s++) {
        int c = s >> 1, i = s & 1;
        uint8x16_t p = kln_bits8(vld1q_u8(b + 14 + 32 * (c >> 2) + 16 * i), 2 * (c & 3), 3);
        uint8x16_t h = vshlq_n_u8(kln_bits8(vld1q_u8(b + 78 + 16 * i), c, 1), 2);
        v[s] = vqtbl1q_s8(tab, vorrq_u8(vorrq_u8(p, h), vdupq_n_u8((uint8_t)(8 * Q_BIT(ex, s)))));
    }
    kln_put(v, vl);
}

/* iq4_ks: sc = q_ks_scale(D, b[s/2]) = D * (float)((byte & 254) - 127); values nibble s%2 of qs[16(s/2) + l] in the
 * 32-entry table, upper half where bit 0 of the scale byte is set */
static void kl_dec_iq4_ks_neon(const uint8_t *b, int16_t *vl, float *sc, float D) {
    uint8x16_t sb = kln_dup2(b);
    kln_sc16(sc, D, vreinterpretq_s8_u8(vsubq_u8(vandq_u8(sb, vdupq_n_u8(254)), vdupq_n_u8(127))));   /* -127..127 */
    const int8x16x2_t tab = { { vld1q_s8(iq4k_values), vld1q_s8(iq4k_values + 16) } };
    int8x16_t v[16];
    for (int s = 0; s < 16; s++) {
        uint8x16_t n = kln_bits8(vld1q_u8(b + 8 + 16 * (s >> 1)), 4 * (s & 1), 15);
        v[s] = vqtbl2q_s8(tab, vorrq_u8(n, vdupq_n_u8((uint8_t)(16 * (b[s >> 1] & 1)))));
    }
    kln_put(v, vl);
}

/* iq5_k: nibble c%2 of qs[32(c/2) + l] (c = s/2), fifth bit c of qh[l], +32 where extra bit s is set: one
 * 64-entry lookup */
static void kl_dec_iq5_k_neon(const uint8_t *b, int16_t *vl, float *sc, float D) {
    uint16_t ex = q_u16(b + 2);
    (void)D;
    kln_iq45_k_scales(b, q_h(b), sc);
    const int8x16x4_t tab = vld1q_s8_x4(iq5nl_values);
    int8x16_t v[16];
    for (int s = 0; s < 16; s++) {
        int c = s >> 1, i = s & 1;
        uint8x16_t n = kln_bits8(vld1q_u8(b + 16 + 32 * (c >> 1) + 16 * i), 4 * (c & 1), 15);
        uint8x16_t h = vshlq_n_u8(kln_bits8(vld1q_u8(b + 144 + 16 * i), c, 1), 4);
        v[s] = vqtbl4q_s8(tab, vorrq_u8(vorrq_u8(n, h), vdupq_n_u8((uint8_t)(32 * Q_BIT(ex, s)))));
    }
    kln_put(v, vl);
}

/* iq6_k: iq5_k's nibbles plus two high bits (bits 2(c%4) of qh[32(c/4) + l]), +64 where extra bit s is set. The
 * 128-entry table takes two lookups: vqtbl4q gives 0 for indices >= 64, vqtbx4q then fills those lanes from the
 * upper half with idx ^ 64 (out of range, so kept, where idx < 64). */
static void kl_dec_iq6_k_neon(const uint8_t *b, int16_t *vl, float *sc, float D) {
    uint16_t ex = q_u16(b + 2);
    (void)D;
    kln_sc16(sc, q_h(b), vld1q_s8((const int8_t *)b + 4));
    const int8x16x4_t t0 = vld1q_s8_x4(iq6nl_values), t1 = vld1q_s8_x4(iq6nl_values + 64);
    int8x16_t v[16];
    for (int s = 0; s < 16; s++) {
        int c = s >> 1, i = s & 1;
        uint8x16_t n = kln_bits8(vld1q_u8(b + 20 + 32 * (c >> 1) + 16 * i), 4 * (c & 1), 15);
        uint8x16_t h = vshlq_n_u8(kln_bits8(vld1q_u8(b + 148 + 32 * (c >> 2) + 16 * i), 2 * (c & 3), 3), 4);
        uint8x16_t idx = vorrq_u8(vorrq_u8(n, h), vdupq_n_u8((uint8_t)(64 * Q_BIT(ex, s))));
        v[s] = vqtbx4q_s8(vqtbl4q_s8(t0, idx), t1, veorq_u8(idx, vdupq_n_u8(64)));
    }
    kln_put(v, vl);
}

/* iq3_kt scales: the float multiply D * (float)nibble, then the factor in double, as q_dec_iq3_kt; nibble ib/4 of
 * b[ib % 4] for ib = s/2 */
static void kln_iq3_kt_scales(const uint8_t *b, float *sc, float D) {
    static const uint8_t pos[16] = { 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3 };
    static const int8_t sft[16] = { 0, 0, 0, 0, 0, 0, 0, 0, -4, -4, -4, -4, -4, -4, -4, -4 };
    uint8x16_t n = vandq_u8(vshlq_u8(vqtbl1q_u8(vld1q_u8(b), vld1q_u8(pos)), vld1q_s8(sft)), vdupq_n_u8(15));
    kln_sc16(sc, D, vreinterpretq_s8_u8(n));
    const float64x2_t fac = vdupq_n_f64(Q_IQ3KT_FACTOR);
    for (int i = 0; i < 16; i += 4) {
        float32x4_t f = vld1q_f32(sc + i);
        float32x2_t lo = vcvt_f32_f64(vmulq_f64(vcvt_f64_f32(vget_low_f32(f)), fac));
        vst1q_f32(sc + i, vcvt_high_f32_f64(lo, vmulq_f64(vcvt_high_f64_f32(f), fac)));
    }
}

/* iq3_kt straight into the pair layout. Word (k, j) holds elements 16j+2k, +1: group g = 2j + k/4, trellis steps
 * 2(k%4)+1 and 2(k%4)+2 of it. Vector q holds lanes j = 4q + l; the u32 at b + 4 + 16q + 4l holds the indices of
 * groups 2j (low half) and 2j+1. Element e = 16j + 2k + t is negated by bit e/32 = j/2 of qh[e%32] =
 * qh[16(j%2) + 2k + t]: per int16 lane 2l + t, byte 16(l%2) + 2k + t, bit 2q + l/2. */
static void kl_dec_iq3_kt_neon(const uint8_t *b, int16_t *vl, float *sc, float D) {
    static const uint8_t qsel[8] = { 0, 1, 16, 17, 0, 1, 16, 17 };
    static const uint8_t qbit[8] = { 1, 1, 1, 1, 2, 2, 2, 2 };
    kln_iq3_kt_scales(b, sc, D);
    uint32_t mul[8] = { KT_A };
    for (int i = 1; i < 8; i++) mul[i] = mul[i - 1] * KT_A;
    const uint8x16x2_t qh = { { vld1q_u8(b + 68), vld1q_u8(b + 84) } };
    const int16x8_t c126 = vdupq_n_s16(126);
    for (int q = 0; q < 4; q++) {
        uint32x4_t w = vreinterpretq_u32_u8(vld1q_u8(b + 4 + 16 * q));
        uint8x8_t bits = vshl_u8(vld1_u8(qbit), vdup_n_s8((int8_t)(2 * q)));
        for (int c = 0; c < 2; c++) {
            uint32x4_t idx = vaddq_u32(kln_field(w, 16 * c, 0xFFFF), vdupq_n_u32(4096));
            for (int m = 0; m < 4; m++) {
                int k = 4 * c + m;
                uint32x4_t x = kln_bsum(vmulq_u32(idx, vdupq_n_u32(mul[2 * m])));
                uint32x4_t y = kln_bsum(vmulq_u32(idx, vdupq_n_u32(mul[2 * m + 1])));
                int16x8_t p = vabsq_s16(vsubq_s16(vreinterpretq_s16_u32(vsliq_n_u32(x, y, 16)), c126));
                uint8x8_t sel = vqtbl2_u8(qh, vadd_u8(vld1_u8(qsel), vdup_n_u8((uint8_t)(2 * k))));
                int16x8_t neg = vmovl_s8(vreinterpret_s8_u8(vtst_u8(sel, bits)));     /* -1: negate */
                vst1q_s16(vl + 32 * k + 8 * q, vsubq_s16(veorq_s16(p, neg), neg));
            }
        }
    }
}

/* ---- registration (from kernel_use): level 1 is "neon"; want 0 (DARWIN_ISA=scalar) keeps scalar ---- */
static int kl_register_c(kernel_set *k, int want) {
    if (want < 1) return 0;
    k->name = "neon"; k->chunk = kl_chunk_neon; k->quant = kl_quant_neon; k->dot_f32 = kl_dot_f32_neon; k->f16_row = kl_f16_row_neon;
    k->dec[8] = kl_dec_q8_0_neon;
    k->dec[14] = kl_dec_q6_K_neon;
    k->dec[138] = kl_dec_iq3_k_neon;
    k->dec[139] = kl_dec_iq4_k_neon;
    k->dec[140] = kl_dec_iq5_k_neon;
    k->dec[141] = kl_dec_iq6_k_neon;
    k->dec[144] = kl_dec_iq4_ks_neon;
    k->dec[154] = kl_dec_iq3_kt_neon;
    k->dec[155] = kl_dec_iq4_kt_neon;
    return 1;
}         /* NEON */
#endif

/* ---- dispatch ---- */

static kernel_set kl_set;
static int kl_ready;

#if defined(__x86_64__)
#include <cpuid.h>
/* AVX2+FMA+F16C, AVX-512 F/BW/VL/DQ/VNNI and AVX-512 VBMI from cpuid, each only if the OS saves the wider
 * registers (XCR0); read directly because compilers differ in which names __builtin_cpu_supports knows */
static void kl_cpu_features(int *avx2, int *avx512, int *vbmi) {
    unsigned a, b, c, d, lo = 0, hi = 0;
    *avx2 = *avx512 = *vbmi = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1)) return;      /* OSXSAVE */
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    int fma = c >> 12 & 1, f16c = c >> 29 & 1, ymm = (lo & 6) == 6, zmm = (lo & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    *avx2 = ymm && fma && f16c && (b >> 5 & 1);
    *avx512 = *avx2 && zmm && (b >> 16 & 1) && (b >> 17 & 1) && (b >> 30 & 1) && (b >> 31 & 1) && (c >> 11 & 1);
    *vbmi = *avx512 && (c >> 1 & 1);
}
#endif

/* Select an ISA: 0 scalar, 1 avx2, 2 avx512, 3 avx512 with VBMI (its own iq4_k / iq5_k decoders); the best
 * available at or below the request is taken. Returns the level actually in use. */
static int kernel_use(int want) {
    kernel_set k = { "scalar", kl_chunk_scalar, kl_quant_scalar, kl_dot_f32_scalar, kl_f16_row_scalar, { NULL } };
    int got = 0;
#if defined(__x86_64__)
    int has2, has512, vbmi;
    kl_cpu_features(&has2, &has512, &vbmi);
    if (want >= 1 && has2) {
        k.name = "avx2"; k.chunk = kl_chunk_avx2; k.quant = kl_quant_avx2; k.dot_f32 = kl_dot_f32_avx2; k.f16_row = kl_f16_row_avx2;
        got = 1;
    }
    if (want >= 2 && has512) {
        k.name = "avx512"; k.chunk = kl_chunk_avx512;
        k.dec[139] = kl_dec_iq4k_avx512;
        k.dec[140] = kl_dec_iq5k_avx512;
        got = 2;
    }
    if (want >= 3 && vbmi) {
        k.name = "avx512vbmi";
        k.dec[139] = kl_dec_iq4kv_avx512;
        k.dec[140] = kl_dec_iq5kv_avx512;
        got = 3;
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

/* once, at the first matmul workspace: the best ISA, or a lower one forced by
 * DARWIN_ISA=scalar|avx2|avx512|avx512vbmi */
static void kernel_init(void) {
    if (kl_ready) return;
    const char *force = getenv("DARWIN_ISA");
    kernel_use(!force ? 3 : !strcmp(force, "scalar") ? 0 : !strcmp(force, "avx2") ? 1 : !strcmp(force, "avx512") ? 2 : 3);
}

static inline const char *kernel_isa_name(void) { kernel_init(); return kl_set.name; }
