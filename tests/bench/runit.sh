#!/bin/sh
# Benchmark of runit as PID 1 in a PID namespace: ours against Debian's runit 2.1.2.
#
#   tests/bench/runit.sh [services] [runs]      (defaults: 20 services, 5 runs)
#
# For each init, each run: a private PID + mount namespace whose /etc/runit and /run
# are bind mounts of a scratch root (both inits use their real paths), /dev/console
# bound to /dev/null, stage 1 preparing the flag files, stage 2 = runsvdir over N
# services (each writes a marker and sleeps). Measured:
#   up_ms    time from starting unshare until every service has written its marker
#   rss_kib  PID 1's VmRSS with all services up; hwm_kib its VmHWM (peak)
#   down_ms  time from `runit-init 0` until the namespace is gone
# The same runsvdir/runsv/sv (ours where implemented, else Debian's) serve both inits,
# so the difference is PID 1's. Prints one line per run and the medians.
set -eu
n=${1:-20}
runs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
oracle=${RUNIT_ORACLE_DIR:-/tmp/runit-rs-oracle}/runit
(cd "$repo" && cargo build -q --release -p runit-bins --bins)
if [ ! -x "$oracle/sbin/runit" ]; then
    mkdir -p "$oracle" && (cd "$oracle/.." && apt-get download runit >/dev/null 2>&1 && dpkg -x runit_*.deb "$oracle" && touch "$oracle/.unpacked")
fi
work=$(mktemp -d /tmp/runit-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tools"
for t in runsvdir runsv sv; do
    if "$target/release/$t" </dev/null 2>&1 | grep -q 'not implemented yet'; then
        ln -s "$oracle/usr/bin/$t" "$work/tools/$t"
    else
        ln -s "$target/release/$t" "$work/tools/$t"
    fi
done
now_ms() { date +%s%3N; }
children() { cat "/proc/$1/task/$1/children" 2>/dev/null | awk '{print $1}'; }

one_run() { # one_run INIT_BINARY -> "up_ms rss hwm down_ms"
    init=$1
    r=$work/root
    rm -rf "$r"; mkdir -p "$r/etc/runit" "$r/run" "$r/up" "$r/service"
    touch "$r/etc/runit/nosync"
    printf '#!/bin/sh\ntouch /run/runit.stopit /run/runit.reboot\nchmod 0 /run/runit.stopit /run/runit.reboot\n' >"$r/etc/runit/1"
    printf '#!/bin/sh\nPATH=%s:$PATH\nexport PATH\nexec runsvdir -P %s/service log:..........\n' "$work/tools" "$r" >"$r/etc/runit/2"
    printf '#!/bin/sh\n%s/sv force-stop %s/service/* >/dev/null\n%s/sv exit %s/service/* >/dev/null\n' "$work/tools" "$r" "$work/tools" "$r" >"$r/etc/runit/3"
    chmod 755 "$r/etc/runit/1" "$r/etc/runit/2" "$r/etc/runit/3"
    i=0
    while [ $i -lt "$n" ]; do
        mkdir -p "$r/service/s$i"
        printf '#!/bin/sh\n: > %s/up/s%s\nexec sleep 1000\n' "$r" "$i" >"$r/service/s$i/run"
        chmod 755 "$r/service/s$i/run"
        i=$((i+1))
    done
    # Old mtime: runsvdir would otherwise wait 1 s for a directory changed this second.
    touch -d "1 minute ago" "$r/service"
    t0=$(now_ms)
    RUNIT_CONTAINER=0 timeout -s KILL 60 unshare --pid --fork --kill-child --mount --mount-proc sh -c "
        mount -t tmpfs tmpfs /etc && mkdir /etc/runit && mount --bind $r/etc/runit /etc/runit &&
        mount --bind $r/run /run && mount --bind /dev/null /dev/console && exec $init" >/dev/null 2>&1 &
    outer=$!
    tries=0
    until [ "$(ls "$r/up" | wc -l)" -ge "$n" ]; do
        tries=$((tries+1))
        [ $tries -lt 6000 ] || { echo "services never came up" >&2; exit 1; }
        sleep 0.005
    done
    t1=$(now_ms)
    u=$(children $outer); pid1=$(children "$u")
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid1/status")
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid1/status")
    t2=$(now_ms)
    nsenter -t "$pid1" -p -m "$target/release/runit-init" 0
    wait $outer || true
    t3=$(now_ms)
    echo "$((t1 - t0)) $rss $hwm $((t3 - t2))"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for which in ours debian; do
    if [ $which = ours ]; then init=$target/release/runit; else init=$oracle/sbin/runit; fi
    : >"$work/$which"
    k=0
    while [ $k -lt "$runs" ]; do
        line=$(one_run "$init")
        echo "$which run $k: up_ms rss_kib hwm_kib down_ms = $line"
        echo "$line" >>"$work/$which"
        k=$((k+1))
    done
    up=$(cut -d' ' -f1 "$work/$which" | median); rss=$(cut -d' ' -f2 "$work/$which" | median)
    hwm=$(cut -d' ' -f3 "$work/$which" | median); down=$(cut -d' ' -f4 "$work/$which" | median)
    echo "MEDIAN $which ($n services, $runs runs): up ${up} ms, PID 1 RSS ${rss} KiB (peak ${hwm} KiB), shutdown ${down} ms"
done
