#!/bin/bash
# svlogd throughput benchmark: 10^6 lines of ~104 bytes through a pipe, into a log
# directory on tmpfs, for runit-rs svlogd, Debian's svlogd, s6-log (if it can be
# fetched) and `cat > file`. Each case runs RUNS times; the best wall time is reported
# with the CPU seconds (user+sys of the logger process alone) of that run. Lines are counted in the
# output after every run: a run that lost or duplicated a line fails the benchmark.
#
# usage: tests/bench/svlogd.sh            (builds --release first)
# env:   RUNS=5 LINES=1000000 WORK=/dev/shm/svlogd-bench CARGO_TARGET_DIR=...
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
LINES=${LINES:-1000000}
WORK=${WORK:-/dev/shm/svlogd-bench}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p runit-bins --bin svlogd
OURS=$(realpath "$TARGET/release/svlogd")   # absolute: the runs cd into $WORK
ORACLE_DIR=${RUNIT_ORACLE_DIR:-/tmp/runit-rs-oracle}
mkdir -p "$WORK" "$ORACLE_DIR"

fetch() { # package -> unpacked root, or empty
  local pkg=$1 root=$ORACLE_DIR/$1
  if [ ! -e "$root/.unpacked" ]; then
    (cd "$ORACLE_DIR" && apt-get download "$pkg" >/dev/null 2>&1 && dpkg -x "$pkg"_*.deb "$root" && touch "$root/.unpacked") || true
  fi
  [ -e "$root/.unpacked" ] && echo "$root"
}
RUNIT_ROOT=$(fetch runit || true)
S6_ROOT=$(fetch s6 || true)
SKA_ROOT=$(fetch libskarnet2.13 || true)
RUNIT=${RUNIT_ROOT:+$RUNIT_ROOT/usr/bin/svlogd}
S6LOG=""
if [ -n "$S6_ROOT" ] && [ -n "$SKA_ROOT" ]; then
  S6LOG="env LD_LIBRARY_PATH=$SKA_ROOT/usr/lib/x86_64-linux-gnu $S6_ROOT/usr/bin/s6-log"
fi

IN=$WORK/input
if [ ! -s "$IN" ] || [ "$(wc -l < "$IN")" != "$LINES" ]; then
  awk -v n="$LINES" 'BEGIN { for (i = 0; i < n; i++) printf "line %07d abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij\n", i }' > "$IN"
fi
BYTES=$(stat -c %s "$IN")
MB=$(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "input: $LINES lines, $BYTES bytes ($MB MB), best of $RUNS runs, log dir on $(df --output=fstype "$WORK" | tail -1)"
T="/usr/bin/time -o $WORK/time -f '%e %U %S'"
printf '%-28s %9s %10s %9s %9s %8s\n' case wall_s lines/s MB/s cpu_s cpu_s/MB

# Checks the output of one run: every input line exactly once and in order when
# nothing is deleted; with `n10` the kept files must hold exactly the input's last
# lines (a contiguous suffix, nothing lost or doubled inside it).
check_output() { # dir keep_all(0/1) -> prints an error or nothing
  local d=$1 all=$2 files
  files=$(cd "$d" && ls | grep -E '^(@.*|current|catout)$' | sort | sed "s|^|$d/|" | tr '\n' ' ')
  local got; got=$(cat $files | wc -l)
  if [ "$all" = 1 ]; then
    [ "$got" = "$LINES" ] || { echo "$got lines, want $LINES"; return; }
    cat $files | sed -E 's/^[^l]*line/line/' | cmp -s - "$IN" || echo "content differs"
  else
    cat $files | sed -E 's/^[^l]*line/line/' | cmp -s - <(tail -n "$got" "$IN") || echo "kept lines are not the input's last $got"
  fi
}

bench() { # name config(or -) keep_all command...
  local name=$1 cfg=$2 all=$3; shift 3
  local best="" bcpu=""
  for _ in $(seq "$RUNS"); do
    local d=$WORK/log; rm -rf "$d"; mkdir -p "$d"
    [ "$cfg" != - ] && printf "$cfg" > "$d/config"
    local t
    bash -c "cd '$WORK' && $*" 2>/dev/null
    t=$(tail -1 "$WORK/time")
    local bad; bad=$(check_output "$d" "$all")
    if [ -n "$bad" ]; then echo "FAIL $name: $bad"; exit 1; fi
    local wall cpu
    wall=$(echo "$t" | awk '{print $1}'); cpu=$(echo "$t" | awk '{printf "%.2f", $2 + $3}')
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$wall; bcpu=$cpu; fi
  done
  awk -v n="$name" -v w="$best" -v c="$bcpu" -v l="$LINES" -v mb="$MB" 'BEGIN {
    if (w < 0.01) w = 0.01
    printf "%-28s %9.2f %10.0f %9.1f %9.2f %8.4f\n", n, w, l / w, mb / w, c, c / mb }'
}

bench "runit-rs svlogd"            's0\n' 1          "cat input | $T $OURS log"
bench "runit-rs svlogd -tt"        's0\n' 1          "cat input | $T $OURS -tt log"
bench "runit-rs svlogd s1M n10"    's1000000\nn10\n' 0 "cat input | $T $OURS log"
bench "runit-rs svlogd -tt s1M n10" 's1000000\nn10\n' 0 "cat input | $T $OURS -tt log"
if [ -n "$RUNIT" ]; then
  bench "runit svlogd"             's0\n' 1          "cat input | $T $RUNIT log"
  bench "runit svlogd -tt"         's0\n' 1          "cat input | $T $RUNIT -tt log"
  bench "runit svlogd s1M n10"     's1000000\nn10\n' 0 "cat input | $T $RUNIT log"
else echo "(runit svlogd unavailable)"; fi
if [ -n "$S6LOG" ]; then
  # s6-log's largest file size is 256 MiB: with it, nothing rotates in this run.
  bench "s6-log"                   - 1               "cat input | $T $S6LOG s268435455 $WORK/log"
  bench "s6-log T"                 - 1               "cat input | $T $S6LOG T s268435455 $WORK/log"
  bench "s6-log s1M n10"           - 0               "cat input | $T $S6LOG n10 s1000000 $WORK/log"
else echo "(s6-log unavailable)"; fi
bench "cat > file"                 - 1               "cat input | $T cat > log/catout"
