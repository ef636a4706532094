#!/bin/bash
# Benchmark (not a test): `sv -w 5 up` on a service with readiness (issue 10) — time from
# the service's notification (the moment just before it writes the newline on its
# notification-fd, or sends READY=1) to sv's answer line (read through a pipe) and to
# sv's exit. Our runsv and our sv.
#
# usage: tests/bench/ready.sh [rounds] [fd|notify]   (bash; from the repository root)
set -eu
ROUNDS=${1:-20}
MODE=${2:-fd}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p runit-bins --bin sv --bin runsv
SV=$(realpath "$TARGET/release/sv")
RUNSV=$(realpath "$TARGET/release/runsv")

WORK=$(mktemp -d /tmp/ready-bench.XXXXXX)
RUNSV_PID=
cleanup() {
    if [ -n "$RUNSV_PID" ]; then
        "$SV" -w 2 x "$WORK/s" >/dev/null 2>&1 || true
        kill "$RUNSV_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

mkdir -p "$WORK/s"
mkfifo "$WORK/s/go"
touch "$WORK/s/down"
if [ "$MODE" = fd ]; then
    echo 3 > "$WORK/s/notification-fd"
    NOTIFY='printf "\n" >&3'
else
    touch "$WORK/s/notify-socket"
    NOTIFY='python3 -c "import os,socket; s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.connect(os.environ[\"NOTIFY_SOCKET\"]); s.send(b\"READY=1\")"'
    echo "note: notify mode stamps before python3 starts: the figure includes its start-up" >&2
fi
cat > "$WORK/s/run" <<RUN
#!/bin/bash
read x < go
echo \${EPOCHREALTIME/./} > t_notify
$NOTIFY
exec sleep 100000
RUN
chmod +x "$WORK/s/run"
(cd "$WORK" && exec "$RUNSV" s) </dev/null >/dev/null 2>&1 &
RUNSV_PID=$!
i=0
until [ -e "$WORK/s/supervise/ok" ]; do i=$((i + 1)); [ $i -lt 500 ] || exit 1; sleep 0.01; done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
max() { sort -n | tail -1; }
: > "$WORK/lat"; : > "$WORK/line"
for _ in $(seq "$ROUNDS"); do
    "$SV" -w 5 down "$WORK/s" >/dev/null || true
    rm -f "$WORK/s/t_notify" "$WORK/t_exit" "$WORK/t_line"
    ( { "$SV" -w 5 up "$WORK/s"; echo ${EPOCHREALTIME/./} > "$WORK/t_exit"; } | { read -r _; echo ${EPOCHREALTIME/./} > "$WORK/t_line"; cat >/dev/null; } ) &
    waiter=$!
    # the service is running and blocked in `read < go` (runsv's 1 s throttle may delay it)
    i=0
    until "$SV" status "$WORK/s" | grep -q '^run:'; do i=$((i + 1)); [ $i -lt 500 ] || exit 1; sleep 0.01; done
    echo go > "$WORK/s/go"
    wait "$waiter"
    echo $(( 10#$(cat "$WORK/t_exit") - 10#$(cat "$WORK/s/t_notify") )) >> "$WORK/lat"
    echo $(( 10#$(cat "$WORK/t_line") - 10#$(cat "$WORK/s/t_notify") )) >> "$WORK/line"
done
echo "sv -w 5 up, notification ($MODE) -> sv's line, $ROUNDS rounds: median $(median < "$WORK/line") us, max $(max < "$WORK/line") us"
echo "sv -w 5 up, notification ($MODE) -> sv exit, $ROUNDS rounds: median $(median < "$WORK/lat") us, max $(max < "$WORK/lat") us"
