#!/usr/bin/env bash
# Benchmark the spacing of restarts of a crash-looping service (issue 11, "Backoff and
# giving up"): Debian's runit 2.1.2 runsv (fixed 1 s throttle), our runsv without the
# backoff files (must match it), and our runsv with restart-delay 1000, restart-steps 3,
# restart-max-delay 8000 (pauses 1, 2, 4, 8, 8 s), and with restart-limit-count 3 (gives
# up at the 4th death). `./run` is a tiny C program that appends CLOCK_MONOTONIC (ns) to
# ./starts and exits 1 at once.
# Usage: bash tests/bench/backoff.sh   (builds release; fetches Debian's runit into a cache)
# Env: RUNIT_ORACLE_DIR (default /tmp/runit-rs-oracle), STARTS (default 6).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --release -q -p runit-bins --bin runsv --bin sv
ours="${CARGO_TARGET_DIR:-$root/target}/release"
work="$(mktemp -d /tmp/runit-bench-backoff.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
oracle="${RUNIT_ORACLE_DIR:-/tmp/runit-rs-oracle}/runit"
if [ ! -x "$oracle/usr/bin/runsv" ]; then
  mkdir -p "$oracle" && (cd "$oracle/.." && apt-get download runit >/dev/null && dpkg -x runit_*.deb runit)
fi
starts=${STARTS:-6}
cat > "$work/crash.c" <<'C'
#include <stdio.h>
#include <time.h>
int main(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);
FILE*f=fopen("starts","a");fprintf(f,"%lld\n",(long long)t.tv_sec*1000000000LL+t.tv_nsec);fclose(f);return 1;}
C
cc -O2 -o "$work/crash" "$work/crash.c"

# $1 label, $2 runsv binary, $3 starts to wait for, then name=value files for the service.
measure() {
  local label="$1" runsv="$2" n="$3"
  shift 3
  local d="$work/$label"
  mkdir -p "$d/svc"
  cp "$work/crash" "$d/svc/run"
  for kv in "$@"; do printf '%s\n' "${kv#*=}" > "$d/svc/${kv%%=*}"; done
  "$runsv" "$d/svc" 2> "$d/stderr" & local pid=$!
  disown "$pid"
  pids+=("$pid")
  local limit=$((SECONDS + 120))
  while [ "$(cat "$d/svc/starts" 2>/dev/null | wc -l)" -lt "$n" ]; do
    [ $SECONDS -lt $limit ] || { echo "$label: only $(wc -l < "$d/svc/starts") starts in 120 s" >&2; exit 1; }
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
  local gaps
  gaps=$(awk 'NR>1 {printf "%s%.3f", (NR>2?" ":""), ($1-p)/1e9} {p=$1}' "$d/svc/starts")
  printf '| %s | %s | %s |\n' "$label" "$n" "$gaps"
}

# Give-up: with restart-limit-count 3 the 4th death gives up; report the starts and status.
giveup() {
  local d="$work/giveup"
  mkdir -p "$d/svc"
  cp "$work/crash" "$d/svc/run"
  printf '3\n' > "$d/svc/restart-limit-count"
  printf '60000\n' > "$d/svc/restart-limit-interval"
  "$ours/runsv" "$d/svc" 2> "$d/stderr" & local pid=$!
  disown "$pid"
  pids+=("$pid")
  local limit=$((SECONDS + 60)) line=""
  until line=$(cd "$d" && "$ours/sv" status ./svc 2>/dev/null) && [[ $line == *"given up"* ]]; do
    [ $SECONDS -lt $limit ] || { echo "giveup: never gave up: $line" >&2; exit 1; }
    sleep 0.05
  done
  local t0 t1
  t0=$(head -1 "$d/svc/starts"); t1=$(tail -1 "$d/svc/starts")
  echo "giveup: restart-limit-count 3, restart-limit-interval 60000: $(wc -l < "$d/svc/starts") starts over $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}') s, then: $line"
  kill -9 "$pid" 2>/dev/null || true
}

echo "restart spacing of a service that exits 1 at once (seconds between successive starts)"
echo
echo "| runsv | starts | gaps (s) |"
echo "|---|---|---|"
measure "debian-runit-2.1.2" "$oracle/usr/bin/runsv" "$starts"
measure "runit-rs" "$ours/runsv" "$starts"
measure "runit-rs+backoff" "$ours/runsv" "$starts" restart-delay=1000 restart-steps=3 restart-max-delay=8000
echo
giveup
