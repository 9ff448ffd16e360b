/* fuzz_gguf.c - libFuzzer harness for darwin's loader: GGUF parsing, hyper-parameters, tokenizer,
 * tensor shapes, and (for tiny models) a two-token forward pass.
 *
 * Build and run without make (from the repository root):
 *   clang -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11 -pthread \
 *         -o tests/bin/fuzz_gguf tests/fuzz_gguf.c -lm
 *   mkdir -p /tmp/fuzz-corpus && tests/bin/fuzz_gguf -max_total_time=600 -timeout=10 -rss_limit_mb=4096 \
 *         -max_len=70000 /tmp/fuzz-corpus tests/data/corpus
 * or `make fuzz FUZZ_SECONDS=600`. Crashing inputs go (minimized) into tests/data/corpus as bad-*.gguf,
 * which tests/test_gguf.c replays on every `make test`. */
#define DARWIN_NO_MAIN
#include "../darwin.c"

static void exercise(darwin_model *m) {
    /* tokenizer */
    static const char text[] = "Hello world <|im_end|> 123 \xc3\xa9t\xc3\xa9\n";
    int32_t ids[64];
    int n = darwin_tokenize(m, text, sizeof text - 1, 1, ids, 64);
    for (int i = 0; i < n && i < 64; i++) { size_t len; darwin_token_piece(m, ids[i], &len); }
    /* one row of a few tensors, dequantized */
    for (uint64_t i = 0; i < m->g.n_tensors && i < 8; i++) {
        const tensor *t = &m->g.t[i];
        if (t->ne[0] > (1 << 16)) continue;
        float *row = malloc((size_t)t->ne[0] * sizeof *row);
        if (row) t->type->deq(t->data, row, t->ne[0]);
        free(row);
    }
    /* a two-token forward pass, only for tiny models (shapes, caches, MTP) */
    const hparams *h = &m->hp;
    if (h->n_embd > 512 || h->n_layer > 8 || h->n_ff > 2048 || h->n_vocab > 4096 || h->d_inner > 1024 ||
        (int64_t)h->n_head * h->head_dim > 2048 || h->conv_ch > 4096) return;
    darwin_ctx_params cp = darwin_ctx_default_params();
    cp.n_ctx = 8; cp.n_batch = 4; cp.n_ubatch = 4; cp.type_k = cp.type_v = DARWIN_CACHE_F32; cp.mtp = 1;
    darwin_ctx *c = darwin_ctx_new(m, &cp);
    if (!c) return;
    int32_t tok[2] = { 0, h->n_vocab > 1 ? 1 : 0 };
    if (darwin_eval(c, tok, 2, 1) == 0 && darwin_has_mtp(m)) {
        float *hp = calloc((size_t)h->n_embd * 2, sizeof *hp);
        if (hp) darwin_mtp_eval(c, tok, hp, 2, 0, NULL, 0, NULL);
        free(hp);
    }
    darwin_ctx_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    filemap fm = { malloc(size), size, 0 };
    if (!fm.data) return 0;
    memcpy(fm.data, data, size);
    g_error[0] = 0;
    gguf_file g;
    if (gguf_parse(&g, "fuzz.gguf", fm)) {
        if (!g_error[0]) __builtin_trap();           /* every failure must say why */
        return 0;
    }
    darwin_model_params p = darwin_model_default_params();
    p.n_threads = 1;
    darwin_model *m = model_from_gguf(&g, &p);
    if (!m) {
        if (!g_error[0]) __builtin_trap();
        return 0;
    }
    exercise(m);
    darwin_model_free(m);
    return 0;
}
