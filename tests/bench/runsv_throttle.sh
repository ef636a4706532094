#!/usr/bin/env bash
# Benchmark (not a test): runsv's restart throttle, ours and Debian's runit 2.1.2 side by
# side. The e2e test (tests/tests/runsv.rs, restart_throttle_...) asserts only what the
# model promises (starts at least 1 s apart; a command sent during the pause is served
# before the next start); how close to 1 s the restarts come, and how fast that command
# is served, are these figures:
#   1. spacing between consecutive starts of a `./run` that exits at once (median, max);
#   2. from writing `d` into supervise/control during the pause to the want byte of
#      supervise/status saying `d` (median, max).
#
# usage: bash tests/bench/runsv_throttle.sh [rounds]   (release build; fetches Debian's
#        runit into RUNIT_ORACLE_DIR, default /tmp/runit-rs-oracle, if not there)
set -euo pipefail
ROUNDS=${1:-5}
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --release -q -p runit-bins --bin runsv
OURS=$(realpath "${CARGO_TARGET_DIR:-target}/release/runsv")
oracle="${RUNIT_ORACLE_DIR:-/tmp/runit-rs-oracle}/runit"
if [ ! -x "$oracle/usr/bin/runsv" ]; then
    mkdir -p "$oracle" && (cd "$oracle/.." && apt-get download runit >/dev/null && dpkg -x runit_*.deb runit)
fi
THEIRS=$oracle/usr/bin/runsv
WORK=$(mktemp -d /tmp/runsv-throttle-bench.XXXXXX)
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_us() { echo "${EPOCHREALTIME/./}"; }
# The want byte (offset 17) of supervise/status.
want() { od -An -c -j17 -N1 "$1/supervise/status" 2>/dev/null | tr -d ' '; }

echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for impl in ours runit; do
    [ $impl = ours ] && RUNSV=$OURS || RUNSV=$THEIRS
    : > "$WORK/spacing.$impl"; : > "$WORK/served.$impl"
    r=0
    while [ "$r" -lt "$ROUNDS" ]; do
        d=$WORK/$impl.$r
        mkdir -p "$d"
        printf '#!/bin/bash\necho "$EPOCHREALTIME" >> starts\nexit 0\n' > "$d/run"
        chmod +x "$d/run"
        (cd "$WORK" && exec "$RUNSV" "$impl.$r") </dev/null >/dev/null 2>&1 &
        PID=$!
        i=0
        until [ "$({ wc -l < "$d/starts"; } 2>/dev/null || echo 0)" -ge 4 ]; do
            i=$((i + 1)); [ $i -lt 1000 ] || { echo "$impl: not restarting" >&2; exit 1; }
            sleep 0.01
        done
        awk 'NR > 1 {printf "%d\n", ($1 - prev) * 1000000} {prev = $1}' "$d/starts" >> "$WORK/spacing.$impl"
        # Wait for the pause (down), then send d and time until want says d.
        i=0
        until [ "$(cat "$d/supervise/stat" 2>/dev/null)" = down ]; do
            i=$((i + 1)); [ $i -lt 100000 ] || { echo "$impl: never down" >&2; exit 1; }
        done
        t0=$(now_us)
        printf d > "$d/supervise/control"
        i=0
        until [ "$(want "$d")" = d ]; do
            i=$((i + 1)); [ $i -lt 100000 ] || { echo "$impl: d never served" >&2; exit 1; }
        done
        t1=$(now_us)
        echo $(( 10#$t1 - 10#$t0 )) >> "$WORK/served.$impl"
        printf x > "$d/supervise/control"
        wait "$PID" 2>/dev/null || true
        PID=
        r=$((r + 1))
    done
    echo "== $impl: start spacing median $(median < "$WORK/spacing.$impl") us, max $(sort -n "$WORK/spacing.$impl" | tail -1) us" \
        "($(wc -l < "$WORK/spacing.$impl") gaps); d in the pause served after median $(median < "$WORK/served.$impl") us," \
        "max $(sort -n "$WORK/served.$impl" | tail -1) us ($ROUNDS rounds)"
done
