#!/bin/bash
# Benchmark: adoption after `kill -9` of runsv (issue 11, docs/divergences.md "Adoption").
#
#   tests/bench/adopt.sh [N] [OUR_BIN_DIR]
#
# N            trials (default 20)
# OUR_BIN_DIR  holds our runsvdir, runsv and sv (default: target/release, built if absent)
#
# runsvdir runs in a private PID namespace (unshare --pid --fork --kill-child --mount-proc)
# on one service with a log service. Each trial SIGKILLs the service's runsv and measures
# the time until the service is supervised again: `sv status` answers (a runsv holds
# supervise/ok) and names the same service pid as before the kill (adopted, not restarted).
# runsvdir itself restarts a dead runsv about 1 s after it exits; the aim is <= 1.05 s.
# Prints every trial, then the median and the worst, and fails if any trial started a
# second copy of the service or of the logger.
#
# RUNSV=/path/to/runsv runs another runsv under our runsvdir (e.g. Debian's, for runit's
# behaviour): "supervised again" is then `sv status` naming a *new* service pid, and the
# copies started are only counted.
set -u
HERE=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-20}
OURS=${2:-}
if [ -z "$OURS" ]; then
  (cd "$HERE" && cargo build -q --release -p runit-bins --bin runsvdir --bin runsv --bin sv) || exit 1
  OURS=${CARGO_TARGET_DIR:-$HERE/target}/release
fi
OURS=$(cd "$OURS" && pwd)
WORK=$(mktemp -d /tmp/adopt-bench.XXXXXX)
NS=
cleanup() {
  # Killing unshare kills the namespace's init (--kill-child), hence every process in it.
  [ -n "$NS" ] && kill -KILL "$NS" 2>/dev/null
  sleep 0.2
  rm -rf "$WORK"
}
trap cleanup EXIT
SVC=$WORK/sv/a
mkdir -p "$SVC/log"
printf '#!/bin/sh\necho $$ >> %s/starts\nexec sleep 100000\n' "$WORK" > "$SVC/run"
printf '#!/bin/sh\necho $$ >> %s/logstarts\nexec cat > /dev/null\n' "$WORK" > "$SVC/log/run"
chmod 755 "$SVC/run" "$SVC/log/run"
mkdir -p "$WORK/pathbin"
[ -n "${RUNSV:-}" ] && ln -s "$RUNSV" "$WORK/pathbin/runsv"
PATH=$WORK/pathbin:$OURS:$PATH unshare --pid --fork --kill-child --mount-proc /bin/sh -c 'runsvdir "$1" & wait' sh "$WORK/sv" \
  </dev/null >/dev/null 2>"$WORK/runsvdir.err" &
NS=$!

# The host pid of the runsv whose working directory is the service (none: empty).
runsv_pid() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = runsv ] && [ "$(readlink "$p/cwd" 2>/dev/null)" = "$SVC" ] && { echo "${p#/proc/}"; return; }
  done
}
# `sv status` of the service when it answers, else nothing.
status() { "$OURS/sv" status "$SVC" 2>/dev/null; }

i=0
until status | grep -q "^run: .*run: log:"; do
  i=$((i + 1)); [ $i -lt 2500 ] || { echo "service did not start"; exit 1; }
  sleep 0.002
done
service_pid() { status | grep "run: log:" | sed -n 's/^run: [^(]*(pid \([0-9]*\)).*/\1/p'; }
# Supervised again: the same service pid (adopted), or with RUNSV a new one.
again() {
  local now
  now=$(service_pid)
  [ -n "$now" ] || return 1
  if [ -n "${RUNSV:-}" ]; then [ "$now" != "$SERVICE" ]; else [ "$now" = "$SERVICE" ]; fi
}
SERVICE=$(service_pid)
TIMES=()
for t in $(seq "$N"); do
  old=$(runsv_pid)
  [ -n "$old" ] || { echo "no runsv"; exit 1; }
  t0=$(date +%s%N)
  kill -KILL "$old"
  # Gone first (runsvdir reaps it), then supervised again with the same service pid.
  i=0
  while [ -d "/proc/$old" ] && [ "$(readlink "/proc/$old/cwd" 2>/dev/null)" = "$SVC" ]; do
    i=$((i + 1)); [ $i -lt 5000 ] || { echo "runsv $old did not die"; exit 1; }
  done
  i=0
  until again; do
    i=$((i + 1)); [ $i -lt 2500 ] || { echo "not supervised again: $(status)"; exit 1; }
    sleep 0.001
  done
  t1=$(date +%s%N)
  SERVICE=$(service_pid)
  ms=$(( (t1 - t0) / 1000000 ))
  TIMES+=("$ms")
  echo "trial $t: ${ms} ms"
  # runsvdir restarts a runsv at most once a second per service: let it settle.
  sleep 1.1
done
starts=$(wc -l < "$WORK/starts"); logstarts=$(wc -l < "$WORK/logstarts")
sorted=($(printf '%s\n' "${TIMES[@]}" | sort -n))
echo "runsv: ${RUNSV:-$OURS/runsv}"
echo "kernel $(uname -r), $N trials: median ${sorted[$((N / 2))]} ms, worst ${sorted[$((N - 1))]} ms, best ${sorted[0]} ms"
echo "./run started $starts time(s), log/run $logstarts time(s) over all trials (1 and 1 = every trial adopted)"
if [ -z "${RUNSV:-}" ] && { [ "$starts" != 1 ] || [ "$logstarts" != 1 ]; }; then
  echo "FAIL: a second copy was started"; cat "$WORK/runsvdir.err"; exit 1
fi
