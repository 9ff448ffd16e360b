#!/bin/sh
# CLI error handling: every failure exits 1 with exactly one "darwin: ..." line on stderr and nothing on
# stdout; plus a few positive checks (--info, --dump-tensor, --tokenize, -h). Run from the repository root.
pass=0; fail=0
D=./darwin
T=$(mktemp -d "${TMPDIR:-/tmp}/darwin-cli.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
M=tests/data/tiny-mix.gguf
Q=tests/data/quants/quants.gguf
V=tests/data/vocab-qwen3.gguf

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_error NAME ARGS...: exit 1, one stderr line "darwin: ...", empty stdout
expect_error() {
    name=$1; shift
    "$D" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    nl=$(wc -l <"$T/err" | tr -d ' ')
    if [ "$rc" -ne 1 ]; then bad "$name: exit status $rc (want 1)"; return; fi
    if [ -s "$T/out" ]; then bad "$name: printed on stdout: $(head -c 200 "$T/out")"; return; fi
    if [ "$nl" -ne 1 ]; then bad "$name: $nl lines on stderr: $(head -c 300 "$T/err")"; return; fi
    if ! grep -q '^darwin: ' "$T/err"; then bad "$name: stderr does not start with 'darwin: ': $(cat "$T/err")"; return; fi
    ok
}

# the message also contains a given text
expect_error_with() {
    name=$1; text=$2; shift 2
    expect_error "$name" "$@"
    grep -q -- "$text" "$T/err" && ok || bad "$name: message lacks '$text': $(cat "$T/err")"
}

printf 'this is not a gguf file\n' >"$T/notgguf.gguf"
head -c 5000 "$M" >"$T/trunc.gguf"
head -c 3 "$M" >"$T/tiny.gguf"

expect_error_with "missing model file" "$T/none.gguf" -m "$T/none.gguf" -p hi -n 1
expect_error_with "non-GGUF file" "bad magic" -m "$T/notgguf.gguf" -p hi -n 1
expect_error_with "truncated GGUF" "trunc.gguf" -m "$T/trunc.gguf" -p hi -n 1
expect_error_with "3-byte GGUF" "truncated" -m "$T/tiny.gguf" -p hi -n 1
expect_error "directory as model" -m "$T" -p hi -n 1
expect_error "unknown flag" -m "$M" --no-such-flag -p hi
expect_error "flag missing its value (-m)" -m
expect_error "flag missing its value (-n)" -m "$M" -p hi -n
expect_error "flag missing its value (--temp)" -m "$M" -p hi --temp
expect_error_with "-n abc" "abc" -m "$M" -p hi -n abc
expect_error_with "-c -5" "\-5" -m "$M" -p hi -c -5
expect_error_with "--temp x" "temp" -m "$M" -p hi --temp x
expect_error_with "-ctk q4" "q4" -m "$M" -p hi -ctk q4
expect_error_with "-d without --bench" "\-d" -m "$M" -p hi -d 512
expect_error_with "--bench -d x" "\-d" --bench -m "$M" -p 8 -n 8 -d x
expect_error "-t 0x" -m "$M" -p hi -t 0x
expect_error "no prompt" -m "$M" -n 1
expect_error "no model" -p hi -n 1
expect_error_with "--dump-tensor of a missing tensor" "no.such.tensor" --dump-tensor no.such.tensor -m "$Q" -o "$T/x.f32"
[ ! -e "$T/x.f32" ] && ok || bad "missing tensor left an output file"
expect_error "--dump-tensor into an unwritable path" --dump-tensor q.q8_0 -m "$Q" -o "$T/nodir/x.f32"
[ ! -e "$T/nodir/x.f32" ] && [ ! -e "$T/nodir" ] && ok || bad "unwritable path left an output file"
expect_error "--dump-tensor without -o" --dump-tensor q.q8_0 -m "$Q"
expect_error "--info of a truncated file" --info -m "$T/trunc.gguf"
expect_error "--tokenize -f missing file" --tokenize -m "$V" -f "$T/nofile.txt"

# ---- positive checks ----
if "$D" --info -m "$M" >"$T/info" 2>"$T/err"; then
    grep -q qwen35 "$T/info" && ok || bad "--info does not mention qwen35"
    grep -q DDDADDDAM "$T/info" && ok || bad "--info lacks the block layout DDDADDDAM: $(cat "$T/info")"
    grep -q 'MTP: *present' "$T/info" && ok || bad "--info does not say MTP present"
else bad "--info failed: $(cat "$T/err")"; fi

if "$D" --dump-tensor q.iq4_kt -m "$Q" -o "$T/iq4_kt.f32" >"$T/out" 2>"$T/err"; then
    cmp -s "$T/iq4_kt.f32" tests/data/quants/iq4_kt.deq.f32 && ok || bad "--dump-tensor q.iq4_kt differs from iq4_kt.deq.f32"
    [ ! -s "$T/out" ] && ok || bad "--dump-tensor printed on stdout"
else bad "--dump-tensor q.iq4_kt failed: $(cat "$T/err")"; fi
if "$D" --dump-tensor q.iq6_k -m "$Q" -o "$T/iq6_k.f32" >/dev/null 2>"$T/err"; then
    cmp -s "$T/iq6_k.f32" tests/data/quants/iq6_k.deq-matmul.f32 && ok || bad "--dump-tensor q.iq6_k differs from iq6_k.deq-matmul.f32"
else bad "--dump-tensor q.iq6_k failed: $(cat "$T/err")"; fi

out=$("$D" --tokenize --ids -p 'Hello world' -m "$V" 2>"$T/err")
[ "$out" = "[9707, 1879]" ] && ok || bad "--tokenize 'Hello world' gave '$out' $(cat "$T/err")"
printf 'Hello world\n' >"$T/hw.txt"
out=$("$D" --tokenize --ids -f "$T/hw.txt" -m "$V" 2>"$T/err")
out2=$("$D" --tokenize --ids -p 'Hello world
' -m "$V" 2>/dev/null)
[ -n "$out" ] && [ "$out" = "$out2" ] && [ "$out" != "[9707, 1879]" ] && ok || bad "--tokenize -f keeps the trailing newline: '$out' vs '$out2'"
# the same exact-bytes rule with the model's own vocabulary
printf 'Hello world\n' >"$T/hw.txt"
out=$("$D" --tokenize --ids -f "$T/hw.txt" -m "$M" 2>"$T/err")
out2=$("$D" --tokenize --ids -p 'Hello world
' -m "$M" 2>/dev/null)
out3=$("$D" --tokenize --ids -p 'Hello world' -m "$M" 2>/dev/null)
[ -n "$out" ] && [ "$out" = "$out2" ] && [ "$out" != "$out3" ] && ok || bad "--tokenize -f (tiny-mix) keeps the trailing newline: '$out' vs '$out2' / '$out3'"

"$D" -h >"$T/help" 2>&1; rc=$?
[ "$rc" -eq 0 ] && ok || bad "-h exit status $rc"
grep -q -- '--dump-tensor' "$T/help" && grep -q -- '--temp' "$T/help" && grep -q -- '-m, --model' "$T/help" && ok || bad "-h does not list the flags"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
