/* darwin.h - public API of darwin, an inference engine for Qwen3.5 hybrid models (qwen35 GGUF).
 *
 * Vendor darwin.c, darwin.h and kernels.h; compile darwin.c with -DDARWIN_NO_MAIN to leave out the
 * command-line program. Functions that can fail return NULL or a negative number and leave a one-line
 * message in darwin_last_error(). A model is read-only once loaded and may be shared by contexts; a
 * context (one sequence: KV cache and recurrent state) is used by one thread at a time. */
#ifndef DARWIN_H
#define DARWIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct darwin_model darwin_model;
typedef struct darwin_ctx darwin_ctx;

/* the message of the last failure, e.g. "model.gguf: tensor blk.0.ffn_up.weight out of bounds (...)" */
const char *darwin_last_error(void);

/* ---- model ---------------------------------------------------------------------------------- */

typedef struct darwin_model_params {
    int dequantize;   /* 1: expand every weight to f32 at load (the exact reference path; slow, large) */
    int n_threads;    /* worker threads for evaluation; 0 = number of physical cores */
    int vocab_only;   /* 1: load only the tokenizer (works on vocabulary-only GGUF files) */
} darwin_model_params;

darwin_model_params darwin_model_default_params(void);
darwin_model *darwin_model_load(const char *path, const darwin_model_params *params);
void darwin_model_free(darwin_model *model);

/* metadata: 0 and the value if the key exists with a fitting type, -1 otherwise */
int darwin_meta_str(const darwin_model *model, const char *key, char *buf, size_t cap);
int darwin_meta_int(const darwin_model *model, const char *key, int64_t *out);

int darwin_n_vocab(const darwin_model *model);
int darwin_n_embd(const darwin_model *model);
int darwin_n_ctx_train(const darwin_model *model);
int darwin_has_mtp(const darwin_model *model);

/* ---- tokenizer ------------------------------------------------------------------------------ */

/* Tokenize len bytes of text into at most max ids (no BOS is added for Qwen vocabularies).
 * Returns the number of ids; if max is too small returns -(number needed); INT32_MIN on error. */
int darwin_tokenize(const darwin_model *model, const char *text, size_t len, int parse_special,
                    int32_t *ids, int max);
/* the bytes of one token (not NUL-terminated), NULL for an invalid id */
const char *darwin_token_piece(const darwin_model *model, int32_t id, size_t *len);
/* end of generation: <|im_end|>, <|endoftext|>, the file's eos id, ... */
int darwin_token_is_eog(const darwin_model *model, int32_t id);

/* ---- evaluation ----------------------------------------------------------------------------- */

enum darwin_cache_type { DARWIN_CACHE_F16 = 0, DARWIN_CACHE_F32 = 1, DARWIN_CACHE_Q8_0 = 2 };

typedef struct darwin_ctx_params {
    int n_ctx;        /* context length in tokens; 0 = the model's training context (default 4096) */
    int n_batch;      /* logical batch: the most tokens one darwin_eval call may take (default 2048) */
    int n_ubatch;     /* physical batch: tokens evaluated together, sharing each weight decode (default 512) */
    int type_k, type_v;  /* darwin_cache_type of the attention KV cache (default f16) */
    int mtp;          /* 1: also keep the MTP block's KV cache (needed for darwin_mtp_eval) */
} darwin_ctx_params;

darwin_ctx_params darwin_ctx_default_params(void);
darwin_ctx *darwin_ctx_new(darwin_model *model, const darwin_ctx_params *params);
void darwin_ctx_free(darwin_ctx *ctx);

/* Evaluate n tokens at positions darwin_n_past().. and advance. With all_logits the logits of every
 * row are kept, otherwise only the last row's. Returns 0, or -1 (e.g. context full). */
int darwin_eval(darwin_ctx *ctx, const int32_t *tokens, int n, int all_logits);
/* logits (n_vocab floats) of row i of the last darwin_eval; i = -1 for the last row */
const float *darwin_logits(const darwin_ctx *ctx, int i);
/* final hidden state (after output_norm, n_embd floats) of row i of the last darwin_eval */
const float *darwin_hidden(const darwin_ctx *ctx, int i);
int darwin_n_past(const darwin_ctx *ctx);
/* milliseconds spent in darwin_eval on this context so far (for timing lines like llama_perf's) */
double darwin_ctx_eval_ms(const darwin_ctx *ctx);
int darwin_n_ctx(const darwin_ctx *ctx);
/* forget everything: the next token is at position 0 */
void darwin_reset(darwin_ctx *ctx);

/* Snapshot of the sequence state (KV length + recurrent state of every delta-net block, + MTP KV length).
 * Restoring returns the context to exactly that point; later KV rows are overwritten as it goes on. */
typedef struct darwin_snapshot darwin_snapshot;
darwin_snapshot *darwin_snapshot_take(const darwin_ctx *ctx);
int darwin_snapshot_restore(darwin_ctx *ctx, const darwin_snapshot *snap);
void darwin_snapshot_free(darwin_snapshot *snap);
size_t darwin_snapshot_bytes(const darwin_ctx *ctx);

/* MTP block: evaluate n tokens at positions pos.. paired with the previous hidden rows (hprev: n rows of
 * n_embd, row i being the main model's post-norm hidden state of position pos+i-1, or zeros at 0).
 * Writes the MTP logits to logits (may be NULL): every row (n x n_vocab) with all_logits, else the last
 * row's; and its hidden output (n x n_embd, may be NULL). The MTP KV cache is filled at positions
 * pos..pos+n-1. */
int darwin_mtp_eval(darwin_ctx *ctx, const int32_t *tokens, const float *hprev, int n, int pos,
                    float *logits, int all_logits, float *hidden);

/* ---- sampling ------------------------------------------------------------------------------- */

typedef struct darwin_sampler_params {
    float temp;            /* <= 0: greedy */
    int top_k;             /* <= 0: off */
    float top_p, min_p;
    float repeat_penalty;  /* 1 = off */
    float presence_penalty;
    int repeat_last_n;     /* tokens the penalties look back on */
    uint64_t seed;
} darwin_sampler_params;

typedef struct darwin_sampler darwin_sampler;
darwin_sampler_params darwin_sampler_default_params(void);
darwin_sampler *darwin_sampler_new(const darwin_model *model, const darwin_sampler_params *params);
void darwin_sampler_free(darwin_sampler *s);
/* sample a token from logits (the penalties look at the tokens accepted so far) */
int32_t darwin_sample(darwin_sampler *s, const float *logits);
/* record a token as part of the history the penalties look at */
void darwin_sampler_accept(darwin_sampler *s, int32_t token);

/* ---- generation with speculative decoding ------------------------------------------------- */

/* A generator drafts tokens cheaply (the model's MTP block, or prompt lookup) and verifies them with one
 * batched evaluation; the standard acceptance rule keeps the output distribution exactly the target's,
 * and the recurrent state is rolled back to the last accepted token without re-decoding. */
enum darwin_spec_type { DARWIN_SPEC_NONE = 0, DARWIN_SPEC_MTP = 1, DARWIN_SPEC_NGRAM = 2 };

typedef struct darwin_spec_params {
    int type;       /* darwin_spec_type */
    int n_max;      /* most drafts per round (default 3) */
    float p_min;    /* MTP: stop drafting below this probability (default 0.75; the first draft is kept) */
} darwin_spec_params;

typedef struct darwin_spec_stats {
    int64_t drafted, accepted;   /* draft tokens proposed and accepted */
    int64_t rounds, emitted;     /* verifications and tokens produced by them */
} darwin_spec_stats;

typedef struct darwin_gen darwin_gen;
darwin_spec_params darwin_spec_default_params(void);
/* memory the drafting needs beyond the context itself (MTP KV cache, saved recurrent states) */
size_t darwin_spec_memory(const darwin_ctx *ctx, const darwin_spec_params *params);
/* ctx must have been made with mtp = 1 for DARWIN_SPEC_MTP */
darwin_gen *darwin_gen_new(darwin_ctx *ctx, darwin_sampler *sampler, const darwin_spec_params *params);
void darwin_gen_free(darwin_gen *gen);
/* Evaluate the prompt (with an empty context) and sample the first token. mtp_logits, if not NULL,
 * receives the MTP block's logits of every prompt row (n x n_vocab) computed while its cache warms up. */
int darwin_gen_prompt(darwin_gen *gen, const int32_t *ids, int n, float *mtp_logits);
/* The next tokens (at least 1, at most max): the first call returns the token sampled from the prompt,
 * each later call one verification round. Returns the count, or -1 (context full, error). */
int darwin_gen_next(darwin_gen *gen, int32_t *out, int max);
/* the logits the last returned token was sampled from */
const float *darwin_gen_logits(const darwin_gen *gen);
darwin_spec_stats darwin_gen_stats(const darwin_gen *gen);

#ifdef __cplusplus
}
#endif
#endif
