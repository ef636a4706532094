#!/usr/bin/env bash
# Prints the figures docs/assurance.md quotes, so they are restated from the source and
# from runs instead of by hand.
#
#   verification/figures.sh            # test counts from the source, then the cheap runs
#   verification/figures.sh --counts   # test counts only (no build, instant)
#   verification/figures.sh --mutants [DIR...]  # mutation scores from cargo-mutants outputs
#
# --mutants reads the outcome lists cargo-mutants wrote (`DIR/mutants.out/{caught,missed,
# timeout,unviable}.txt`; default: every `mutants.out*` directory at the top of the
# repository) and prints caught / missed / timeout / unviable and the score with timeouts
# NOT counted as caught. The runs themselves are the commands in docs/assurance.md,
# "Mutation testing" (one `.cargo/mutants-<machine>.toml` per machine, `-o mutants.out.<machine>`):
#   RUNSV_EXPLORE_DEPTH=2 RUNSV_READY_EXPLORE_DEPTH=2 cargo mutants \
#       --config .cargo/mutants-runsv.toml -j 2 --baseline skip --timeout 60 \
#       --build-timeout 300 -o mutants.out.runsv
#
# 1. Unit tests per machine and per file: `#[test]` attributes in model/src/<machine>/
#    (cross-checked against `cargo test -p runit-model -- --list` when runs are on).
# 2. Test functions per file in verification/tests/ and tests/tests/, and the case
#    counts the property tests configure.
# 3. The default runs of every explorer and simulation, which print their own figure
#    lines (`explore <machine>: depth … states … transitions …`, `sim <machine> …`); any
#    line of that form a test prints is shown, so a new explorer's figures appear here
#    without editing this script.
set -euo pipefail
cd "$(dirname "$0")/.."

# The number of #[test] attributes in the given files (0 if none).
tests_in() {
    cat "$@" 2>/dev/null | grep -c '#\[test\]' || true
}

# Mutation scores from cargo-mutants' outcome lists (see the header).
mutation_scores() {
    local dirs=("$@")
    if [ ${#dirs[@]} -eq 0 ]; then
        dirs=(mutants.out*)
    fi
    echo "== mutation scores (timeouts not counted as caught)"
    printf '%-28s %7s %7s %7s %7s %7s  %s\n' scope mutants caught missed timeout unviable 'caught/viable'
    for d in "${dirs[@]}"; do
        local o="$d/mutants.out"
        [ -d "$o" ] || o="$d"
        [ -f "$o/caught.txt" ] || continue
        local c m t u
        c=$(wc -l < "$o/caught.txt"); m=$(wc -l < "$o/missed.txt")
        t=$(wc -l < "$o/timeout.txt"); u=$(wc -l < "$o/unviable.txt")
        local v=$((c + m + t))
        local pct="-"
        [ "$v" -eq 0 ] || pct=$(awk -v c="$c" -v v="$v" 'BEGIN { printf "%.1f %%", 100 * c / v }')
        printf '%-28s %7d %7d %7d %7d %7d  %s (%d/%d)\n' "${d#mutants.out.}" $((v + u)) "$c" "$m" "$t" "$u" "$pct" "$c" "$v"
        sed 's/^/    missed: /' "$o/missed.txt"
        sed 's/^/    timeout: /' "$o/timeout.txt"
    done
}

if [ "${1:-}" = "--mutants" ]; then
    shift
    mutation_scores "$@"
    exit 0
fi

echo "== unit tests in the model (#[test] in model/src), per machine"
for dir in model/src/*/; do
    machine=$(basename "$dir")
    files=$(find "$dir" -name '*.rs' | sort)
    echo "$machine: $(tests_in $files)"
    for f in $files; do
        n=$(tests_in "$f")
        [ "$n" -eq 0 ] || echo "    $f: $n"
    done
done
echo "shared (model/src/*.rs): $(tests_in model/src/*.rs)"
for f in model/src/*.rs; do
    n=$(tests_in "$f")
    [ "$n" -eq 0 ] || echo "    $f: $n"
done
echo "model total: $(tests_in $(find model/src -name '*.rs'))"

echo
echo "== test functions per file (verification/tests, tests/tests)"
for f in verification/tests/*.rs verification/tests/*/*.rs tests/tests/*.rs; do
    [ -e "$f" ] || continue
    n=$(tests_in "$f")
    [ "$n" -eq 0 ] || echo "$f: $n"
done
echo "verification total: $(tests_in $(find verification/tests -name '*.rs'))"
echo "e2e total: $(tests_in tests/tests/*.rs)"

echo
echo "== property-test case counts (as configured in the source)"
grep -HnoE 'with_cases\([0-9_]+\)|cases: [0-9_]+' verification/tests/*.rs | sed 's/:[0-9]*:/: /'

if [ "${1:-}" = "--counts" ]; then
    exit 0
fi

echo
echo "== cross-check: tests the model's test binary lists, per machine"
echo "   (cargo test -p runit-model -- --list)"
cargo test -q -p runit-model -- --list 2>/dev/null | grep ': test$' | awk -F'::' '{n[$1]++} END {for (m in n) printf "%s: %d\n", m, n[m]}' | sort

echo
echo "== explorers and simulations, default runs (the figure lines they print)"
for t in $(ls verification/tests/*_explore.rs verification/tests/*sim*.rs 2>/dev/null | xargs -n1 basename | sed 's/\.rs$//'); do
    echo "-- cargo test -p runit-verification --test $t -- --nocapture"
    out=$(cargo test -q -p runit-verification --test "$t" -- --nocapture --test-threads 1 2>&1) || {
        echo "$out" | tail -20
        echo "FAILED: $t"
        exit 1
    }
    # (-q prints a progress dot per finished test, without a newline, before later output)
    echo "$out" | sed 's/^[.i]*//' | grep -E '^(explore|sim|runit rule)[^:]*:' || echo "   (prints no figure line)"
done
