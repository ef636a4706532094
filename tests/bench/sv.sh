#!/bin/bash
# Benchmark (not a test): `sv status` wall time per call, and how long `sv -w 5 down` /
# `sv -w 5 up` take from the command to its effect, for our sv and Debian's runit 2.1.2
# sv, both driving the same Debian runsv (so only sv differs).
#
# usage: tests/bench/sv.sh [rounds]      (bash; run from the repository root; apt-get
#        download must work unless ORACLE_ROOT points at an unpacked runit package;
#        hyperfine is used if installed)
set -eu
ROUNDS=${1:-30}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p runit-bins --bin sv
OURS=$(realpath "$TARGET/release/sv")

WORK=$(mktemp -d /tmp/sv-bench.XXXXXX)
RUNSV_PID=
cleanup() {
    if [ -n "$RUNSV_PID" ]; then
        printf x > "$WORK/s/supervise/control" 2>/dev/null || true
        sleep 0.2
        kill "$RUNSV_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

if [ -z "${ORACLE_ROOT:-}" ]; then
    (cd "$WORK" && apt-get download runit >/dev/null 2>&1 && dpkg -x runit_*.deb oracle)
    ORACLE_ROOT=$WORK/oracle
fi
THEIRS=$ORACLE_ROOT/usr/bin/sv
RUNSV=${RUNSV:-$ORACLE_ROOT/usr/bin/runsv}   # RUNSV=target/release/runsv to drive ours

mkdir -p "$WORK/s"
printf '#!/bin/sh\nexec sleep 100000\n' > "$WORK/s/run"
chmod +x "$WORK/s/run"
(cd "$WORK" && exec "$RUNSV" s) </dev/null >/dev/null 2>&1 &
RUNSV_PID=$!
i=0
until "$OURS" status "$WORK/s" 2>/dev/null | grep -q '^run:'; do
    i=$((i + 1)); [ $i -lt 500 ] || { echo "runsv did not start" >&2; exit 1; }
    sleep 0.01
done
sleep 1.1   # let runsv's 1 s restart throttle window pass

echo "== sv status (wall time per call)"
if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 100 --runs 2000 \
        -n ours "$OURS status $WORK/s" -n runit "$THEIRS status $WORK/s" 2>&1 | grep -v '^ *$'
else
    for impl in "$OURS" "$THEIRS"; do
        t0=${EPOCHREALTIME/./}; n=0
        while [ $n -lt 1000 ]; do "$impl" status "$WORK/s" >/dev/null; n=$((n + 1)); done
        t1=${EPOCHREALTIME/./}
        echo "$impl: $(( (10#$t1 - 10#$t0) / 1000 )) us per call (loop of 1000)"
    done
fi

# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The stamp runsv wrote into supervise/status (TAI64N) as unix nanoseconds: the moment
# the service actually changed state.
stamp_ns() {
    secs=$(od -An -tx1 -N8 "$WORK/s/supervise/status" | tr -d ' \n')
    nanos=$(od -An -tx1 -j8 -N4 "$WORK/s/supervise/status" | tr -d ' \n')
    echo $(( (0x$secs - 0x400000000000000A) * 1000000000 + 0x$nanos ))
}


latency() { # impl cmd -> "elapsed_us from_change_us" of one call
    local t0 t1
    t0=${EPOCHREALTIME/./}
    "$1" -w 5 "$2" "$WORK/s" >/dev/null
    t1=${EPOCHREALTIME/./}
    echo "$(( 10#$t1 - 10#$t0 )) $(( (10#$t1 * 1000 - $(stamp_ns)) / 1000 ))"
}

echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for impl in ours runit; do
    [ $impl = ours ] && SV=$OURS || SV=$THEIRS
    : > "$WORK/down.$impl"; : > "$WORK/up.$impl"
    n=0
    while [ $n -lt "$ROUNDS" ]; do
        latency "$SV" down >> "$WORK/down.$impl"
        latency "$SV" up >> "$WORK/up.$impl"
        n=$((n + 1))
    done
    for c in down up; do
        f=$WORK/$c.$impl
        echo "== $impl: sv -w 5 $c: total median $(cut -d' ' -f1 "$f" | median) us;" \
            "exit after the change: median $(cut -d' ' -f2 "$f" | median) us, max $(cut -d' ' -f2 "$f" | sort -n | tail -1) us ($ROUNDS rounds)"
    done
done
