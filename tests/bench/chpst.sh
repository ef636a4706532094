#!/bin/sh
# Wall time of `chpst -u nobody -e envdir true`, ours vs Debian's runit 2.1.2-54 chpst.
#
# usage: tests/bench/chpst.sh [iterations]     (default 2000)
# Needs: a release build (cargo build --release -p runit-bins --bin chpst), root (for -u),
# and the Debian package (fetched with apt-get download into a temp dir, never installed).
# Env: CARGO_TARGET_DIR (default ./target), RUNIT_ORACLE_DIR (default /tmp/runit-rs-oracle).
set -eu
N=${1:-2000}
here=$(cd "$(dirname "$0")/../.." && pwd)
ours=${CARGO_TARGET_DIR:-$here/target}/release/chpst
oracle_dir=${RUNIT_ORACLE_DIR:-/tmp/runit-rs-oracle}
theirs=$oracle_dir/runit/usr/bin/chpst
if [ ! -x "$theirs" ]; then
  mkdir -p "$oracle_dir/runit"
  (cd "$oracle_dir" && apt-get download runit >/dev/null 2>&1 && dpkg -x runit_*.deb runit)
fi
[ -x "$ours" ] || { echo "build first: cargo build --release -p runit-bins --bin chpst" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/envdir"
for v in A B C D E F G H; do printf 'value-%s\n' "$v" > "$work/envdir/$v"; done
: > "$work/envdir/EMPTY"
cd "$work"

bench() {
  # prints seconds (3 decimals) for N runs
  start=$(date +%s%N)
  i=0
  while [ $i -lt "$N" ]; do
    "$1" -u nobody -e envdir true
    i=$((i + 1))
  done
  end=$(date +%s%N)
  echo "$start $end" | awk -v n="$N" '{ s = ($2 - $1) / 1e9; printf "%.3f s total, %.1f us/run\n", s, s * 1e6 / n }'
}

# Warm up caches, then alternate twice to even out noise.
bench "$ours" >/dev/null
bench "$theirs" >/dev/null
for round in 1 2; do
  echo "round $round, $N runs each"
  printf '  ours   (%s): ' "$ours"; bench "$ours"
  printf '  debian (%s): ' "$theirs"; bench "$theirs"
done

# CPU time per run (less sensitive to a loaded machine than wall time), if perf exists.
if command -v perf >/dev/null 2>&1; then
  r=$((N / 4))
  for who in ours theirs; do
    eval bin=\$$who
    printf '%s: ' "$who"
    perf stat -r "$r" "$bin" -u nobody -e envdir true 2>&1 | awk '/task-clock/ { printf "%s ms task-clock, ", $1 } /elapsed/ { printf "%.3f ms elapsed\n", $1 * 1000 }'
  done
fi
