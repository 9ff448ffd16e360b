#!/bin/sh
# The program as a user runs it: generation, perplexity against the golden logits, speculative flags.
D=./darwin M=tests/data/tiny-mix.gguf N=tests/data/darwin-nano-mix.gguf
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# generation: prompt echoed, exact bytes on stdout, perf lines on stderr, stdin never read
if sleep 60 | timeout 30 "$D" -m "$M" -p "def fib(n):" -n 8 --temp 0 >"$T/out" 2>"$T/err"; then
    head -c 11 "$T/out" | grep -q '^def fib(n):' && ok || bad "generation does not echo the prompt: $(head -c 80 "$T/out")"
    grep -q 'darwin_perf: prompt eval time' "$T/err" && grep -q 'darwin_perf:        eval time' "$T/err" && ok || bad "no perf lines on stderr"
    grep -q 'draft acceptance rate' "$T/err" && ok || bad "MTP drafting is not on by default for a model with MTP"
else bad "generation failed or waited for stdin: $(cat "$T/err")"; fi
"$D" -m "$M" -p "def fib(n):" -n 8 --temp 0 --no-display-prompt >"$T/a" 2>/dev/null
"$D" -m "$M" -p "def fib(n):" -n 8 --temp 0 --no-spec >"$T/b" 2>/dev/null
"$D" -m "$M" -p "def fib(n):" -n 8 --temp 0 --spec-type ngram:n_max=2 >"$T/c" 2>/dev/null
[ -s "$T/a" ] && ! grep -q 'def fib' "$T/a" && ok || bad "--no-display-prompt still echoes the prompt"
cmp -s "$T/b" "$T/c" && ok || bad "ngram drafting changes greedy output"
"$D" -m "$M" -p "x" --spec-type mtp:n_max=0 2>"$T/err" >/dev/null; [ $? -eq 1 ] && grep -q 'n_max' "$T/err" && ok || bad "--spec-type mtp:n_max=0 is not refused"
"$D" -m tests/data/vocab-qwen3.gguf -p "x" 2>"$T/err" >/dev/null; [ $? -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && ok || bad "generating with a vocabulary-only file: $(cat "$T/err")"

# --bench: llama-bench's table, a row per test and depth
"$D" --bench -m "$M" -p 8 -n 4 -r 1 -d 0,16 >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(grep -c '^| qwen35 ' "$T/out")" -eq 4 ] && grep -q '| *tg4 @ d16 |' "$T/out" && grep -q '| *pp8 |' "$T/out" && ok ||
    bad "--bench -d 0,16: $(cat "$T/out" "$T/err" | head -c 400)"

# perplexity of p3-long, one chunk of 512, against the value computed from the golden logits
read want err <tests/data/fwd/p3-long.ppl512.txt
for q in --dequantize ""; do
    got=$("$D" --perplexity -m "$M" $q -f tests/data/fwd/p3-long.txt -c 512 2>"$T/err" | sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\)$/\1 \2/p')
    awk -v g="$got" -v w="$want" -v e="$err" 'BEGIN { split(g, a, " "); d = (a[1] - w) / w; de = (a[2] - e) / e;
        exit !(a[1] > 0 && d < 1e-3 && d > -1e-3 && de < 1e-2 && de > -1e-2) }' && ok || bad "perplexity${q:+ $q}: got '$got', golden '$want +/- $err' $(tail -1 "$T/err")"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
