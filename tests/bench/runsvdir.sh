#!/bin/bash
# Benchmark: runit-rs runsvdir side by side with Debian's runit 2.1.2 runsvdir.
#
#   tests/bench/runsvdir.sh [OUR_BIN_DIR] [ORACLE_ROOT]
#
# OUR_BIN_DIR  holds our runsvdir and runsv (default: target/release, built if absent)
# ORACLE_ROOT  an unpacked runit .deb (default: apt-get download + dpkg -x into a temp dir)
#
# Both runsvdirs start the same runsv (ours), so only runsvdir differs. Figures:
#   1. latency from `ln -s` of a service into the directory to its ./run executing
#      (median of 5; each trial waits for the previous scan to be long past);
#   2. time for 1000 services to be all up (every ./run executed);
#   3. runsvdir memory with 1000 services (Rss/Pss from /proc/PID/smaps_rollup);
#   4. idle wake-ups per minute with 10 services (voluntary context switches of runsvdir
#      over a 30-s window, scaled to a minute).
# Everything runs under a scratch directory in /tmp; every process started is killed by pid.
set -u
HERE=$(cd "$(dirname "$0")/../.." && pwd)
OURS=${1:-}
ORACLE=${2:-}
if [ -z "$OURS" ]; then
  (cd "$HERE" && cargo build -q --release -p runit-bins --bin runsvdir --bin runsv) || exit 1
  OURS=${CARGO_TARGET_DIR:-$HERE/target}/release
fi
WORK=$(mktemp -d /tmp/runsvdir-bench.XXXXXX)
if [ -z "$ORACLE" ]; then
  (cd "$WORK" && apt-get download runit >/dev/null 2>&1 && dpkg -x runit_*.deb oracle) || { echo "cannot get the oracle"; exit 1; }
  ORACLE=$WORK/oracle
fi
mkdir -p "$WORK/pathbin" && ln -sf "$OURS/runsv" "$WORK/pathbin/runsv"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -HUP "$p" 2>/dev/null; done
  sleep 1
  for p in "${PIDS[@]}"; do pkill -KILL -P "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  # Services were started by runsv under -P: their sessions are their own.
  for f in "$WORK"/*/sv/*/supervise/pid "$WORK"/*/store/*/supervise/pid; do [ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
now_ns() { date +%s%N; }

start() { # name binary dir [pathbin] -> pid in $STARTED
  PATH=${4:-$WORK/pathbin}:/usr/bin:/bin "$2" -P "$3" >/dev/null 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
}

latency() { # name binary
  local d=$WORK/$1-lat; mkdir -p "$d/sv" "$d/store"
  start "$1" "$2" "$d/sv"; local pid=$STARTED
  sleep 2
  local all=()
  for i in 1 2 3 4 5; do
    mkdir -p "$d/store/s$i"
    printf '#!/bin/sh\ndate +%%s%%N > %s/ran%s\nexec sleep 1000\n' "$d" "$i" > "$d/store/s$i/run"; chmod +x "$d/store/s$i/run"
    sleep 1.3
    local t0=$(now_ns)
    ln -s "$d/store/s$i" "$d/sv/s$i"
    for _ in $(seq 1 1500); do [ -s "$d/ran$i" ] && break; sleep 0.01; done
    local t1=$(cat "$d/ran$i" 2>/dev/null || echo 0)
    all+=($(( (t1 - t0) / 1000000 )))
  done
  LAT=$(printf '%s\n' "${all[@]}" | sort -n | sed -n 3p)
  LATS="${all[*]}"
}

# runsvdir's own share: a fake runsv that only records when it was executed.
mkdir -p "$WORK/fakebin"
printf '#!/bin/sh\ndate +%%s%%N > "$1.started"\nexec sleep 1000\n' > "$WORK/fakebin/runsv"; chmod +x "$WORK/fakebin/runsv"
spawn_latency() { # name binary
  local d=$WORK/$1-spawn; mkdir -p "$d/sv" "$d/store"
  start "$1" "$2" "$d/sv" "$WORK/fakebin"
  sleep 2
  local all=()
  for i in 1 2 3 4 5; do
    mkdir -p "$d/store/s$i"
    sleep 1.3
    local t0=$(now_ns)
    ln -s "$d/store/s$i" "$d/sv/s$i"
    for _ in $(seq 1 1500); do [ -s "$d/sv/s$i.started" ] && break; sleep 0.01; done
    local t1=$(cat "$d/sv/s$i.started" 2>/dev/null || echo 0)
    all+=($(( (t1 - t0) / 1000000 )))
  done
  SPAWN=$(printf '%s\n' "${all[@]}" | sort -n | sed -n 3p)
  SPAWNS="${all[*]}"
}

thousand() { # name binary
  local d=$WORK/$1-1000; mkdir -p "$d/sv" "$d/up"
  for i in $(seq -w 1 1000); do
    mkdir "$d/sv/s$i"; printf '#!/bin/sh\n: > %s/up/s%s\nexec sleep 1000\n' "$d" "$i" > "$d/sv/s$i/run"; chmod +x "$d/sv/s$i/run"
  done
  touch -d '1 hour ago' "$d/sv"
  local t0=$(now_ns)
  start "$1" "$2" "$d/sv"; local pid=$STARTED
  for _ in $(seq 1 6000); do [ "$(ls "$d/up" | wc -l)" -ge 1000 ] && break; sleep 0.01; done
  local t1=$(now_ns)
  UP_MS=$(( (t1 - t0) / 1000000 ))
  sleep 1
  RSS=$(awk '/^Rss:/{print $2}' /proc/$pid/smaps_rollup)
  PSS=$(awk '/^Pss:/{print $2}' /proc/$pid/smaps_rollup)
}

idle() { # name binary -> pid in IDLE_PID, directory ready
  local d=$WORK/$1-idle; mkdir -p "$d/sv"
  for i in $(seq 1 10); do mkdir "$d/sv/s$i"; printf '#!/bin/sh\nexec sleep 1000\n' > "$d/sv/s$i/run"; chmod +x "$d/sv/s$i/run"; done
  start "$1" "$2" "$d/sv"; IDLE_PID=$STARTED
}
ctx() { awk '/^voluntary_ctxt_switches/{print $2}' /proc/$1/status; }

echo "runsvdir benchmark ($(date -u +%FT%TZ), $(nproc) cores)"
for who in ours runit; do
  if [ $who = ours ]; then B=$OURS/runsvdir; else B=$ORACLE/usr/bin/runsvdir; fi
  latency $who "$B"; eval "${who}_lat=\$LAT; ${who}_lats=\"\$LATS\""
  spawn_latency $who "$B"; eval "${who}_spawn=\$SPAWN; ${who}_spawns=\"\$SPAWNS\""
  thousand $who "$B"; eval "${who}_up=\$UP_MS; ${who}_rss=\$RSS; ${who}_pss=\$PSS"
done
idle ours "$OURS/runsvdir"; P1=$IDLE_PID
idle runit "$ORACLE/usr/bin/runsvdir"; P2=$IDLE_PID
sleep 3
a1=$(ctx $P1); a2=$(ctx $P2); sleep 30; b1=$(ctx $P1); b2=$(ctx $P2)
ours_wake=$(( (b1 - a1) * 2 )); runit_wake=$(( (b2 - a2) * 2 ))

printf '\n| figure | runit 2.1.2 (Debian) | runit-rs |\n|---|---|---|\n'
printf '| new service link -> ./run runs (median of 5, ms) | %s (%s) | %s (%s) |\n' "$runit_lat" "$runit_lats" "$ours_lat" "$ours_lats"
printf '| new service link -> runsv executed (fake runsv, median of 5, ms) | %s (%s) | %s (%s) |\n' "$runit_spawn" "$runit_spawns" "$ours_spawn" "$ours_spawns"
printf '| 1000 services all up (ms) | %s | %s |\n' "$runit_up" "$ours_up"
printf '| runsvdir memory with 1000 services (Rss / Pss, KiB) | %s / %s | %s / %s |\n' "$runit_rss" "$runit_pss" "$ours_rss" "$ours_pss"
printf '| idle wake-ups per minute (10 services) | %s | %s |\n' "$runit_wake" "$ours_wake"
