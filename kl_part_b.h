/* fast block decoders, part b (merged into kernels.h later)
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

/* Natural int8 chunks -> pair layout. Word k of sub-block j (bytes 16j+2k, +1) goes to slot j of row k.
 * Sub-blocks r and r+8 share a register (one per lane), then an 8x8 transpose of 16-bit words in each
 * lane leaves row k in register t[k]: lane 0 slots 0..7, lane 1 slots 8..15; sign extension ends it. */
KL_AVX2 static inline void kl2_put(const __m256i *v, int16_t *vl) {
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
        _mm256_storeu_si256((__m256i *)(vl + 32 * k), _mm256_cvtepi8_epi16(_mm256_castsi256_si128(lo)));
        _mm256_storeu_si256((__m256i *)(vl + 32 * k + 16), _mm256_cvtepi8_epi16(_mm256_extracti128_si256(lo, 1)));
        _mm256_storeu_si256((__m256i *)(vl + 32 * k + 32), _mm256_cvtepi8_epi16(_mm256_castsi256_si128(hi)));
        _mm256_storeu_si256((__m256i *)(vl + 32 * k + 48), _mm256_cvtepi8_epi16(_mm256_extracti128_si256(hi, 1)));
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

/* iq4_k: 32-blocks of nibbles; extra bit per 16 picks the table half, per lane */
KL_AVX2 static void kl2_dec_iq4_k(const uint8_t *b, int16_t *vl, float *sc, float D) {
    uint16_t ex = q_u16(b + 2);
    (void)D;
    kl2_sc_iq45k(sc, b);
    __m256i v[8];
    KL_UNROLL for (int c = 0; c < 8; c++)
        v[c] = _mm256_shuffle_epi8(kl2_lanes(iq4k_values + 16 * Q_BIT(ex, 2 * c), iq4k_values + 16 * Q_BIT(ex, 2 * c + 1)),
                                   kl2_nib32(b + 16 + 16 * c));
    kl2_put(v, vl);
}

/* iq4_ks: as iq4_k with the table half chosen per 32 by bit 0 of its scale byte */
KL_AVX2 static void kl2_dec_iq4_ks(const uint8_t *b, int16_t *vl, float *sc, float D) {
    __m256i x[2];                               /* q_ks_scale: D * (float)((byte & 254) - 127) */
    kl2_field(b, KL2_POS_HALF(0), _mm256_setzero_si256(), 254, x);
    for (int i = 0; i < 2; i++) x[i] = _mm256_sub_epi32(x[i], _mm256_set1_epi32(127));
    kl2_scales(sc, D, x);
    __m256i v[8];
    KL_UNROLL for (int c = 0; c < 8; c++) {
        const int8_t *t = iq4k_values + 16 * (b[c] & 1);
        v[c] = _mm256_shuffle_epi8(kl2_lanes(t, t), kl2_nib32(b + 8 + 16 * c));
    }
    kl2_put(v, vl);
}

/* The iq6_k table's upper half (extra bit set) is the lower half plus 1 (checked at
 * registration): one lane-independent lookup, then the shift added per lane, saves per-chunk table loads. */
#define KL2_IQ6_DELTA 1

/* per lane, delta where the lane's extra bit (2c in lane 0, 2c+1 in lane 1) of ex16 (ex in every word) is set */
KL_AVX2 static inline __m256i kl2_extra(__m256i ex16, int c, int delta) {
    __m256i sel = _mm256_setr_m128i(_mm_set1_epi16((short)(1 << 2 * c)), _mm_set1_epi16((short)(1 << (2 * c + 1))));
    return _mm256_and_si256(_mm256_cmpeq_epi16(_mm256_and_si256(ex16, sel), sel), _mm256_set1_epi8((char)delta));
}

/* 16 table bytes in both lanes */
KL_AVX2 static inline __m256i kl2_tab16(const int8_t *t) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
}

/* iq5_k: 64-blocks of nibbles (32 bytes: low nibbles elements 0..31, high 32..63), fifth bit c of qh[l];
 * the 32-entry table of each lane's extra half as two 16-byte lookups, chosen by the fifth bit (per-lane
 * tables measured faster here than the shared table plus kl2_extra) */
KL_AVX2 static void kl2_dec_iq5_k(const uint8_t *b, int16_t *vl, float *sc, float D) {
    uint16_t ex = q_u16(b + 2);
    (void)D;
    kl2_sc_iq45k(sc, b);
    __m256i qh = _mm256_loadu_si256((const __m256i *)(b + 144)), v[8];
    KL_UNROLL for (int c = 0; c < 8; c++) {
        __m256i n = kl2_nib(_mm256_loadu_si256((const __m256i *)(b + 16 + 32 * (c >> 1))), c & 1);
        const int8_t *t0 = iq5nl_values + 32 * Q_BIT(ex, 2 * c), *t1 = iq5nl_values + 32 * Q_BIT(ex, 2 * c + 1);
        v[c] = _mm256_blendv_epi8(_mm256_shuffle_epi8(kl2_lanes(t0, t1), n), _mm256_shuffle_epi8(kl2_lanes(t0 + 16, t1 + 16), n),
                                  kl2_bitmask(qh, c));
    }
    kl2_put(v, vl);
}

/* iq6_k: iq5_k's nibbles plus two high bits (bits 2(c%4), +1 of qh[32(c/4) + l]); four 16-byte lookups */
KL_AVX2 static void kl2_dec_iq6_k(const uint8_t *b, int16_t *vl, float *sc, float D) {
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
    kl2_put(v, vl);
}

/* q6_K: 128-halves; in each, 32-group k takes nibble k/2 of ql[64h + 32(k%2) + l] and bits 2k of qh[32h + l] */
KL_AVX2 static void kl2_dec_q6_K(const uint8_t *b, int16_t *vl, float *sc, float D) {
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
    kl2_put(v, vl);
}

/* iq3_k: 2-bit planes (bits 2(c%4) of qs[32(c/4) + l]), third bit c of qh[l], extra half (+8) per lane */
KL_AVX2 static void kl2_dec_iq3_k(const uint8_t *b, int16_t *vl, float *sc, float D) {
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
    kl2_put(v, vl);
}

/* a table whose upper half is its lower half plus delta (what the shifted-lookup decoders assume) */
static int kl2_shifted_half(const int8_t *t, int n, int delta) {
    for (int i = 0; i < n; i++) if (t[n + i] != t[i] + delta) return 0;
    return 1;
}

/* add this part's decoders to k for ISA level (1 avx2, 2 avx512); an AVX-512 decoder already there stays */
static void kl_register_b(kernel_set *k, int level) {
    const struct { int id; kl_dec_fn f2; int ok; } tab[] = {
        { 139, kl2_dec_iq4_k, 1 }, { 144, kl2_dec_iq4_ks, 1 }, { 14, kl2_dec_q6_K, 1 }, { 138, kl2_dec_iq3_k, 1 },
        { 140, kl2_dec_iq5_k, 1 },
        { 141, kl2_dec_iq6_k, kl2_shifted_half(iq6nl_values, 64, KL2_IQ6_DELTA) },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (level >= 1 && tab[i].ok && !k->dec[tab[i].id]) k->dec[tab[i].id] = tab[i].f2;
}
