/* fast block decoders, part a (merged into kernels.h later): the KT trellis types */

/* the decoders' small loops fully unrolled: shift counts become immediates, constants stay in registers */
#define KLA_UNROLL _Pragma("GCC unroll 8")

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
    }
}
#define KLA_LD(x) _mm512_load_si512((const void *)(x))

/* one-token row dot of a whole row of blocks (nc chunks) against int16 activations a with per-16 scales ad:
 * the 16 lane accumulators go to out. Set per type by kl_register_a for the ISA in use, else NULL. */
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

/* For each KT type: the block decoder (word rows stored into the pair layout) and a one-token row dot that
 * multiplies the word rows straight from the registers with the activation words (no store and reload),
 * keeping the 16 lane accumulators in a register. Its float steps per lane are those of the chunk kernel:
 * acc += ((float)isum * sc) * da, chunk after chunk, so the result has the same bits as the tile path. */
#define KLA_KT_FUNCS(nm) \
KL_AVX512 static void kl_dec_##nm##_avx512(const uint8_t *b, int16_t *vl, float *sc, float D) { \
    __m512i v[8]; \
    _mm512_storeu_ps(sc, kla_##nm##_regs(b, v, D)); \
    KLA_UNROLL for (int k = 0; k < 8; k++) _mm512_storeu_si512(vl + 32 * k, v[k]); \
} \
KL_AVX512 static void kla_dot1_##nm(const uint8_t *b, int64_t nc, uint64_t bytes, float D, const int16_t *a, \
                                   const float *ad, float *out) { \
    __m512 acc = _mm512_setzero_ps(); \
    for (int64_t c = 0; c < nc; c++, b += bytes, a += KC, ad += KS) { \
        __m512i v[8]; \
        __m512 sc = kla_##nm##_regs(b, v, D); \
        __m512i s = _mm512_madd_epi16(v[0], _mm512_loadu_si512(a)); \
        KLA_UNROLL for (int k = 1; k < 8; k++) s = _mm512_dpwssd_epi32(s, v[k], _mm512_loadu_si512(a + 32 * k)); \
        acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), sc), _mm512_loadu_ps(ad))); \
    } \
    _mm512_storeu_ps(out, acc); \
}
KLA_KT_FUNCS(iq3kt)
KLA_KT_FUNCS(iq4kt)

/* ---- AVX2: iq4_kt and iq3_kt, 8 lanes j = 8h .. 8h+7 per half, the same word layout as above ---- */

/* the two trellis values of one word: maddubs then madd sum the four masked bytes (no dpbusd in AVX2) */
KL_AVX2 static inline __m256i kl_kt_pair256(__m256i idx, __m256i ma, __m256i mb) {
    const __m256i m3f = _mm256_set1_epi32(0x3F3F3F3F), ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    __m256i x = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(_mm256_mullo_epi32(idx, ma), m3f), ones8), ones16);
    __m256i y = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(_mm256_mullo_epi32(idx, mb), m3f), ones8), ones16);
    return _mm256_sub_epi16(_mm256_or_si256(x, _mm256_slli_epi32(y, 16)), _mm256_set1_epi16(126));
}

/* iq4_kt: lane j of index vector I_c is group 4j + c; word row 2c + h2 takes steps 2h2+1, 2h2+2 */
KL_AVX2 static void kl_dec_iq4_kt_avx2(const uint8_t *b, int16_t *vl, float *sc, float D) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mul[4] = { _mm256_set1_epi32((int)KT_A), _mm256_set1_epi32((int)KT_A2),
                             _mm256_set1_epi32((int)KT_A3), _mm256_set1_epi32((int)KT_A4) };
    const __m256i m255 = _mm256_set1_epi32(255);
    __m256i qh = _mm256_loadu_si256((const __m256i *)(b + 96)), sw = _mm256_loadu_si256((const __m256i *)b);
    /* the bits of the third index part: 8 + 12*(j&1) + 3c of scale word j/2 */
    __m256i shs = _mm256_add_epi32(_mm256_set1_epi32(8), _mm256_mullo_epi32(_mm256_and_si256(lane, _mm256_set1_epi32(1)), _mm256_set1_epi32(12)));
    KLA_UNROLL for (int h = 0; h < 2; h++) {
        __m256i ql = _mm256_loadu_si256((const __m256i *)(b + 32 + 32 * h));
        __m256i sh = _mm256_permutevar8x32_epi32(sw, _mm256_add_epi32(_mm256_set1_epi32(4 * h), _mm256_srli_epi32(lane, 1)));
        __m256i ls = _mm256_sub_epi32(_mm256_srli_epi32(_mm256_and_si256(sh, m255), 1), _mm256_set1_epi32(64));
        _mm256_storeu_ps(sc + 8 * h, _mm256_mul_ps(_mm256_set1_ps(D), _mm256_cvtepi32_ps(ls)));
        __m256i off = _mm256_add_epi32(_mm256_set1_epi32(4096), _mm256_slli_epi32(_mm256_and_si256(sh, _mm256_set1_epi32(1)), 15));
        KLA_UNROLL for (int c = 0; c < 4; c++) {
            __m256i i0 = _mm256_and_si256(_mm256_srli_epi32(ql, 8 * c), m255);
            __m256i i1 = _mm256_and_si256(_mm256_srli_epi32(qh, 4 * h + 8 * c), _mm256_set1_epi32(15));
            __m256i i2 = _mm256_and_si256(_mm256_srlv_epi32(sh, _mm256_add_epi32(shs, _mm256_set1_epi32(3 * c))), _mm256_set1_epi32(7));
            __m256i idx = _mm256_add_epi32(_mm256_or_si256(i0, _mm256_or_si256(_mm256_slli_epi32(i1, 8), _mm256_slli_epi32(i2, 12))), off);
            KLA_UNROLL for (int h2 = 0; h2 < 2; h2++)
                _mm256_storeu_si256((__m256i *)(vl + 32 * (2 * c + h2) + 16 * h), kl_kt_pair256(idx, mul[2 * h2], mul[2 * h2 + 1]));
        }
    }
}

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
 * qh[16(j&1) + 2k + s] bit j>>1, gathered by broadcasting dword k of the zero-extended qh halves */
KL_AVX2 static void kl_dec_iq3_kt_avx2(const uint8_t *b, int16_t *vl, float *sc, float D) {
    kl_iq3kt_scales2(b, sc, D);
    const uint32_t m1 = KT_A, m2 = m1 * KT_A, m3 = m2 * KT_A, m4 = m3 * KT_A, m5 = m4 * KT_A, m6 = m5 * KT_A,
                   m7 = m6 * KT_A, m8 = m7 * KT_A;
    const __m256i mul[8] = { _mm256_set1_epi32((int)m1), _mm256_set1_epi32((int)m2), _mm256_set1_epi32((int)m3),
                             _mm256_set1_epi32((int)m4), _mm256_set1_epi32((int)m5), _mm256_set1_epi32((int)m6),
                             _mm256_set1_epi32((int)m7), _mm256_set1_epi32((int)m8) };
    __m256i q0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(b + 68)));     /* qh[0..15] as words */
    __m256i q1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(b + 84)));     /* qh[16..31] */
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
                __m256i kk = _mm256_set1_epi32(k);
                __m256i q = _mm256_blend_epi32(_mm256_permutevar8x32_epi32(q0, kk), _mm256_permutevar8x32_epi32(q1, kk), 0xAA);
                __m256i neg = _mm256_cmpeq_epi16(_mm256_and_si256(q, bit), bit);           /* all ones: negate */
                _mm256_storeu_si256((__m256i *)(vl + 32 * k + 16 * h), _mm256_sub_epi16(_mm256_xor_si256(p, neg), neg));
            }
        }
    }
}

/* add this part's decoders to k for ISA level (1 avx2, 2 avx512) */
static void kl_register_a(kernel_set *k, int level) {
    kla_init();
    memset(kla_dot1, 0, sizeof kla_dot1);
    if (level >= 2) { kla_dot1[154] = kla_dot1_iq3kt; kla_dot1[155] = kla_dot1_iq4kt; }
    if (level >= 1) { k->dec[154] = kl_dec_iq3_kt_avx2; k->dec[155] = kl_dec_iq4_kt_avx2; }
    if (level >= 2) { k->dec[154] = kl_dec_iq3kt_avx512; k->dec[155] = kl_dec_iq4kt_avx512; }
}
