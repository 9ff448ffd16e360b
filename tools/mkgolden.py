#!/usr/bin/env python3
"""Copies what the forward-pass tests need from ../shared/golden into tests/data, small enough for the repo:
every row of the exact and MTP logits but only every 4th column, each full row's argmax and top-two gap
(so greedy ids can be checked where the gap is decisive), the hidden rows, the reference's own mean
|dlogit| (batch and one token at a time) against the exact rows, and the expected perplexity of
p3-long with -c 512, computed from the golden logits. Usage: tools/mkgolden.py [GOLDEN_DIR]"""
import os, shutil, sys
import numpy as np

G = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../shared/golden")
OUT = os.path.join(os.path.dirname(__file__), "../tests/data")
V, STEP = 4082, 4

def tokens(path):
    lines = open(path).read().split("\n")
    npr, ngen = map(int, lines[0].split())
    return npr, ngen, list(map(int, lines[1].split()))

os.makedirs(f"{OUT}/fwd", exist_ok=True)
for name in ("tiny-mix.gguf", "darwin-nano-mix.gguf", "vocab-qwen3.gguf"):
    shutil.copy(f"{G}/models/{name}", f"{OUT}/{name}")
for name in ("heldout.py", "spec-prompt.txt"):
    shutil.copy(f"{G}/nano/{name}", f"{OUT}/{name}")
summary = []
for p in ("p1-code", "p2-chat", "p3-long", "p4-unicode"):
    shutil.copy(f"{G}/prompts/{p}.txt", f"{OUT}/fwd/{p}.txt")
    base = f"{G}/fwd/tiny-mix.{p}"
    npr, ngen, toks = tokens(f"{base}.exact.tokens.txt")
    shutil.copy(f"{base}.exact.tokens.txt", f"{OUT}/fwd/{p}.tokens.txt")
    lg = np.fromfile(f"{base}.exact.logits.f32", dtype=np.float32).reshape(-1, V)
    lg[:, ::STEP].tofile(f"{OUT}/fwd/{p}.logits.f32")
    top = np.sort(lg, axis=1)
    with open(f"{OUT}/fwd/{p}.argmax.txt", "w") as f:
        for r in range(lg.shape[0]):
            f.write(f"{int(lg[r].argmax())} {top[r, -1] - top[r, -2]:.6f}\n")
    mtp = np.fromfile(f"{base}.exact.mtp-logits.f32", dtype=np.float32).reshape(-1, V)
    mtp[:, ::STEP].tofile(f"{OUT}/fwd/{p}.mtp-logits.f32")
    shutil.copy(f"{base}.exact.hidden.f32", f"{OUT}/fwd/{p}.hidden.f32")
    ref = []
    for kind in ("ik-batch", "ik-single"):
        ik = np.fromfile(f"{base}.{kind}.logits.f32", dtype=np.float32).reshape(-1, V)
        ref.append(float(np.abs(ik[:npr] - lg[:npr]).mean()))
    summary.append(f"{p} {npr} {ref[0]:.6f} {ref[1]:.6f}")
    if p == "p3-long":   # llama-perplexity's method on one chunk of 512 tokens
        N = 512; first = N // 2
        x = lg[:N].astype(np.float64)
        ls = x - x.max(1, keepdims=True); ls -= np.log(np.exp(ls).sum(1, keepdims=True))
        nll = np.array([-ls[j, toks[j + 1]] for j in range(first, N - 1)])
        ppl = np.exp(nll.mean()); err = np.sqrt((np.mean(nll ** 2) - nll.mean() ** 2) / (len(nll) - 1)) * ppl
        open(f"{OUT}/fwd/p3-long.ppl512.txt", "w").write(f"{ppl:.6f} {err:.6f}\n")
open(f"{OUT}/fwd/reference.txt", "w").write(
    "# prompt n_prompt ref_batch_mean_abs_dlogit ref_single_mean_abs_dlogit (ik on tiny-mix.gguf vs exact)\n" + "\n".join(summary) + "\n")
