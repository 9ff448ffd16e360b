/* NEON kernels for arm64 (merged into kernels.h later). Advanced SIMD is mandatory in AArch64, so no runtime
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

/* iq4_k scales, 16 lanes: ls = nibble s%2 of b[8 + s/2] | bits 2(s%4) of b[4 + s/4] << 4, sc = d * (float)(ls - 32) */
static void kln_iq4_k_scales(const uint8_t *b, float d, float *sc) {
    static const uint8_t lo_i[16] = { 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11 };
    static const uint8_t hi_i[16] = { 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3 };
    static const int8_t lo_s[16] = { 0, -4, 0, -4, 0, -4, 0, -4, 0, -4, 0, -4, 0, -4, 0, -4 };
    static const int8_t hi_s[16] = { 0, -2, -4, -6, 0, -2, -4, -6, 0, -2, -4, -6, 0, -2, -4, -6 };
    uint8x16_t hb = vld1q_u8(b + 4);
    uint8x16_t lo = vandq_u8(vshlq_u8(vqtbl1q_u8(hb, vld1q_u8(lo_i)), vld1q_s8(lo_s)), vdupq_n_u8(15));
    uint8x16_t hi = vandq_u8(vshlq_u8(vqtbl1q_u8(hb, vld1q_u8(hi_i)), vld1q_s8(hi_s)), vdupq_n_u8(3));
    uint8x16_t ls = vorrq_u8(lo, vshlq_n_u8(hi, 4));
    int16x8_t l0 = vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(ls))), vdupq_n_s16(32));
    int16x8_t l1 = vsubq_s16(vreinterpretq_s16_u16(vmovl_high_u8(ls)), vdupq_n_s16(32));
    float32x4_t vd = vdupq_n_f32(d);
    vst1q_f32(sc, vmulq_f32(vd, vcvtq_f32_s32(vmovl_s16(vget_low_s16(l0)))));
    vst1q_f32(sc + 4, vmulq_f32(vd, vcvtq_f32_s32(vmovl_high_s16(l0))));
    vst1q_f32(sc + 8, vmulq_f32(vd, vcvtq_f32_s32(vmovl_s16(vget_low_s16(l1)))));
    vst1q_f32(sc + 12, vmulq_f32(vd, vcvtq_f32_s32(vmovl_high_s16(l1))));
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
    kln_iq4_k_scales(b, q_h(b), sc);
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

/* ---- registration (from kernel_use): level 1 is "neon"; want 0 (DARWIN_ISA=scalar) keeps scalar ---- */
static int kl_register_c(kernel_set *k, int want) {
    if (want < 1) return 0;
    k->name = "neon"; k->chunk = kl_chunk_neon; k->quant = kl_quant_neon; k->dot_f32 = kl_dot_f32_neon;
    k->dec[155] = kl_dec_iq4_kt_neon;
    k->dec[139] = kl_dec_iq4_k_neon;
    return 1;
}
