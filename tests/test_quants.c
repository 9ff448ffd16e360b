/* Quant types: every golden matrix in tests/data/quants dequantizes to the reference's values, and the
 * type table, sizes and f16/bf16 conversions behave at the edges. */
#define DARWIN_NO_MAIN
#include "../darwin.c"
#include "check.h"

/* one manifest row: sizes, id, then all rows against the golden values */
static void test_type(const char *name, uint32_t id, int rows, int64_t n, uint64_t rb) {
    char path[256];
    const qtype *t = qtype_by_name(name);
    uint64_t want_rb = 0;
    if (!check(t && t->id == id && t->deq && !t->refuse, "%s: table entry (id %u)", name, id)) return;
    check(qtype_find(id) == t, "%s: qtype_find(%u)", name, id);
    check(qtype_row_bytes(t, n, &want_rb) == 0 && want_rb == rb, "%s: row bytes %llu, manifest %llu",
          name, (unsigned long long)want_rb, (unsigned long long)rb);
    size_t qlen, flen;
    snprintf(path, sizeof path, TEST_DATA "quants/%s.q", name);
    uint8_t *q = check_read_file(path, &qlen);
    int matmul = 1;
    snprintf(path, sizeof path, TEST_DATA "quants/%s.deq-matmul.f32", name);
    float *want = check_read_file(path, &flen);
    if (!want) {
        matmul = 0;
        snprintf(path, sizeof path, TEST_DATA "quants/%s.deq.f32", name);
        want = check_read_file(path, &flen);
    }
    if (check(q && want && qlen == rb * (uint64_t)rows && flen == sizeof(float) * (size_t)(rows * n),
              "%s: golden files present with the expected sizes", name)) {
        float *y = malloc(sizeof(float) * (size_t)n);
        int bad_r = -1, bad_c = -1;
        for (int r = 0; r < rows && bad_r < 0; r++) {
            t->deq(q + (size_t)r * rb, y, n);
            for (int64_t c = 0; c < n; c++) {
                float w = want[r * n + c];
                if (matmul ? check_ulps(y[c], w) <= 1 : check_fbits(y[c]) == check_fbits(w)) continue;
                bad_r = r; bad_c = (int)c;
                break;
            }
        }
        check(bad_r < 0, "%s: dequantization differs at row %d col %d: got %.9g want %.9g", name, bad_r, bad_c,
              bad_r < 0 ? 0.0 : (double)y[bad_c], bad_r < 0 ? 0.0 : (double)want[bad_r * n + bad_c]);
        free(y);
    }
    free(q);
    free(want);
}

static void test_golden(void) {
    size_t len;
    char *m = check_read_file(TEST_DATA "quants/manifest.tsv", &len);
    if (!check(m != NULL, "quants/manifest.tsv readable")) return;
    m = realloc(m, len + 1);
    m[len] = 0;
    int types = 0;
    for (char *line = m, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        char name[64];
        unsigned id;
        int rows;
        long long n;
        unsigned long long rb;
        if (sscanf(line, "%63s %u %d %lld %llu", name, &id, &rows, &n, &rb) != 5) continue; /* header */
        test_type(name, id, rows, n, rb);
        types++;
    }
    check(types >= 37, "manifest lists %d types", types);
    free(m);
}

static void test_half(void) {
    static const struct { uint16_t h; float f; } h2f[] = {
        { 0x0000, 0.0f }, { 0x0001, 5.9604645e-8f }, { 0x03ff, 6.0975552e-5f }, { 0x0400, 6.1035156e-5f },
        { 0x3c00, 1.0f }, { 0x3555, 0.33325195f }, { 0x7bff, 65504.0f }, { 0xc000, -2.0f }, { 0x8001, -5.9604645e-8f },
    };
    for (size_t i = 0; i < sizeof h2f / sizeof h2f[0]; i++)
        check(f16_to_f32(h2f[i].h) == h2f[i].f, "f16_to_f32(0x%04x) = %.9g", h2f[i].h, (double)f16_to_f32(h2f[i].h));
    check(check_fbits(f16_to_f32(0x8000)) == 0x80000000u, "f16 -0");
    check(isinf(f16_to_f32(0x7c00)) && f16_to_f32(0xfc00) < 0, "f16 inf");
    check(isnan(f16_to_f32(0x7e00)) && isnan(f16_to_f32(0xfd01)), "f16 nan");

    static const struct { float f; uint16_t h; } f2h[] = {
        { 65504.0f, 0x7bff }, { 65519.0f, 0x7bff }, { 65520.0f, 0x7c00 }, { 1e9f, 0x7c00 }, { -1e9f, 0xfc00 },
        { 1.00048828125f, 0x3c00 },   /* 1 + 2^-11: tie, to even */
        { 1.00146484375f, 0x3c02 },   /* 1 + 3*2^-11: tie, to even (up) */
        { 1.0005f, 0x3c01 }, { 2.9802322e-8f, 0x0000 } /* 2^-25: tie to zero */,
        { 8.940697e-8f, 0x0002 } /* 1.5 * 2^-24: tie, up to even */, { 5.9604645e-8f, 0x0001 },
        { 6.1035156e-5f, 0x0400 }, { 6.1030e-5f, 0x0400 } /* rounds up into the normals */, { 6.1004e-5f, 0x03ff },
        { 1e-10f, 0x0000 }, { -0.0f, 0x8000 }, { -1.5f, 0xbe00 },
    };
    for (size_t i = 0; i < sizeof f2h / sizeof f2h[0]; i++)
        check(f32_to_f16(f2h[i].f) == f2h[i].h, "f32_to_f16(%.9g) = 0x%04x, want 0x%04x", (double)f2h[i].f,
              f32_to_f16(f2h[i].f), f2h[i].h);
    check(f32_to_f16(INFINITY) == 0x7c00 && f32_to_f16(-INFINITY) == 0xfc00, "f32_to_f16 inf");
    uint16_t hn = f32_to_f16(NAN);
    check((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff), "f32_to_f16 nan stays nan (0x%04x)", hn);
    int rt = 1;
    for (uint32_t h = 0; h < 0x10000; h++)
        if ((h & 0x7c00) != 0x7c00 || !(h & 0x3ff)) rt &= f32_to_f16(f16_to_f32((uint16_t)h)) == h;
    check(rt, "f16 -> f32 -> f16 round trip of every non-nan half");

    check(bf16_to_f32(0x3f80) == 1.0f && bf16_to_f32(0xc040) == -3.0f, "bf16_to_f32");
}

static void test_table(void) {
    static const uint32_t repacked[] = { 202, 206, 208, 210, 211, 212, 213, 214, 216, 217, 218, 219, 220, 221, 222,
                                         223, 229, 230, 233, 335, 337, 338, 339, 340, 344, 352, 353, 397, 398, 399 };
    for (size_t i = 0; i < sizeof repacked / sizeof repacked[0]; i++) {
        const qtype *t = qtype_find(repacked[i]);
        check(t && t->refuse && !t->deq && t->blck && t->bytes, "interleaved id %u refused", repacked[i]);
    }
    static const uint32_t unknown[] = { 4, 5, 34, 35, 40, 42, 142, 143, 400, 500 };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        check(qtype_find(unknown[i]) == NULL, "unknown id %u", unknown[i]);
    check(qtype_by_name("nope") == NULL && qtype_by_name("q6_K") == qtype_find(14), "qtype_by_name");
    size_t nt = sizeof QTYPES / sizeof QTYPES[0], dup = 0, incons = 0;
    for (size_t i = 0; i < nt; i++) {
        for (size_t j = i + 1; j < nt; j++)
            dup += QTYPES[i].id == QTYPES[j].id || !strcmp(QTYPES[i].name, QTYPES[j].name);
        incons += !QTYPES[i].refuse != !!QTYPES[i].deq;
    }
    check(dup == 0 && incons == 0, "table: %zu duplicate ids/names, %zu entries with neither or both of refuse/deq",
          dup, incons);

    const qtype *kt = qtype_find(155);
    uint64_t rb = 0;
    check(qtype_row_bytes(kt, 5120, &rb) == 0 && rb == 4 + 20 * 128, "iq4_kt row bytes %llu", (unsigned long long)rb);
    check(qtype_row_bytes(kt, 0, &rb) < 0 && qtype_row_bytes(kt, -256, &rb) < 0 && qtype_row_bytes(kt, 100, &rb) < 0,
          "row bytes rejects bad ne0");
    check(qtype_row_bytes(qtype_find(0), INT64_MAX, &rb) < 0, "row bytes overflow");
}

/* the types without golden files, from layouts built by hand */
static void test_handmade(void) {
    uint8_t b[18] = { 0 };
    float y[128];
    b[0] = 0x00; b[1] = 0x3c; b[2] = 0x05;                          /* q1_0_g128: d = 1, bits 0 and 2 set */
    qtype_find(41)->deq(b, y, 128);
    check(y[0] == 1.0f && y[1] == -1.0f && y[2] == 1.0f && y[127] == -1.0f, "q1_0_g128");
    memset(b, 0, sizeof b);
    b[0] = 128; b[1] = 0x7f; b[16] = 0xf8;                           /* mxfp4: scale 1, nibbles 15,7 and 8,15 */
    qtype_find(39)->deq(b, y, 32);
    check(y[0] == -12.0f && y[16] == 12.0f && y[15] == 0.0f && y[31] == -12.0f && y[1] == 0.0f, "mxfp4 %g %g %g",
          (double)y[0], (double)y[16], (double)y[31]);
    uint8_t bn[4 + 16];
    float two = 2.0f;
    memcpy(bn, &two, 4);
    for (int j = 0; j < 16; j++) bn[4 + j] = (uint8_t)(0 | 1 << 2 | 2 << 4 | 3 << 6);
    qtype_find(135)->deq(bn, y, 64);
    check(y[0] == -2.0f && y[16] == 0.0f && y[32] == 2.0f && y[63] == 4.0f, "iq2_bn");
}

int main(void) {
    test_half();
    test_table();
    test_handmade();
    test_golden();
    return check_done();
}
