#!/bin/sh
# Runs every test program and CLI test, adds up their "N passed, N failed" lines.
# BIN (default tests/bin) and RUNNER (e.g. qemu-aarch64) run cross-built test programs; CLI=0 skips the CLI tests.
BIN=${BIN:-tests/bin}
pass=0; fail=0
cli=tests/cli_*.sh
[ "${CLI:-1}" = 0 ] && cli=
for t in "$BIN"/test_* $cli; do
    [ -e "$t" ] || continue
    case "$t" in *.sh) out=$(sh "$t" 2>&1) ;; *) out=$($RUNNER "$t" 2>&1) ;; esac
    rc=$?
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    printf '%s\n' "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p'); f=$(echo "$line" | sed -n 's/.*, \([0-9]*\) failed$/\1/p')
    [ -n "$p" ] || { p=0; f=1; echo "FAIL: $t printed no summary (exit $rc)"; }
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { f=1; echo "FAIL: $t exited with $rc"; }
    echo "$t: $p passed, $f failed"
    pass=$((pass + p)); fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
