#!/usr/bin/env bash
# Benchmark runsv: memory of one runsv supervising `sleep`, and restart latency after the
# service is killed, for our runsv and Debian's runit 2.1.2 runsv side by side.
# Usage: bash tests/bench/runsv.sh   (builds release; fetches Debian's runit into a cache)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --release -q -p runit-bins --bin runsv
# A freshly written binary's pages are dirty in the page cache and would be counted as the
# process's private dirty memory: flush them first.
sync
work="$(mktemp -d /tmp/runit-bench-runsv.XXXXXX)"
trap 'rm -rf "$work"' EXIT
oracle="${RUNIT_ORACLE_DIR:-/tmp/runit-rs-oracle}/runit"
if [ ! -x "$oracle/usr/bin/runsv" ]; then
  mkdir -p "$oracle" && (cd "$oracle/.." && apt-get download runit >/dev/null && dpkg -x runit_*.deb runit)
fi
# stamp: records CLOCK_MONOTONIC (ns) at exec time into ./stamp, then sleeps.
cat > "$work/stamp.c" <<'C'
#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);
FILE*f=fopen("stamp.new","w");fprintf(f,"%lld\n",(long long)t.tv_sec*1000000000LL+t.tv_nsec);fclose(f);
rename("stamp.new","stamp");for(;;)pause();}
C
# floor: fork+exec of the same ./run (sh, then exec stamper) from a minimal C parent.
cat > "$work/floor.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>
int main(int c,char**v){int n=atoi(v[1]);long long tot=0;for(int i=0;i<n;i++){struct timespec t;
clock_gettime(CLOCK_MONOTONIC,&t);long long t0=t.tv_sec*1000000000LL+t.tv_nsec;pid_t p=fork();
if(!p){execl("./run","./run",(char*)0);_exit(111);}
for(;;){FILE*f=fopen("stamp","r");long long s=0;if(f){if(fscanf(f,"%lld",&s)!=1)s=0;fclose(f);}if(s>t0){tot+=s-t0;break;}}
kill(p,9);waitpid(p,0,0);}printf("%.3f\n",tot/1e6/n);return 0;}
C
cc -O2 -o "$work/stamper" "$work/stamp.c"
cc -O2 -o "$work/floor" "$work/floor.c"

measure() { # $1 = label, $2 = runsv binary
  local label="$1" runsv="$2" d="$work/$1"
  mkdir -p "$d/svc"
  cp "$work/stamper" "$d/svc/stamper"
  printf '#!/bin/sh\nexec sleep 100000\n' > "$d/svc/run"; chmod +x "$d/svc/run"
  "$runsv" "$d/svc" & local pid=$!
  for _ in $(seq 200); do [ -s "$d/svc/supervise/pid" ] && break; sleep 0.01; done
  sleep 0.5
  local pd pss rss
  pd=$(awk '/^Private_Dirty/ {s+=$2} END {print s}' /proc/$pid/smaps_rollup)
  pss=$(awk '/^Pss:/ {print $2}' /proc/$pid/smaps_rollup)
  rss=$(awk '/^Rss:/ {print $2}' /proc/$pid/smaps_rollup)
  printf '%-8s memory: private dirty %s KiB, PSS %s KiB, RSS %s KiB\n' "$label" "$pd" "$pss" "$rss"
  # restart latency: the service is the stamp program (run lives > 1 s before each kill)
  printf '#!/bin/sh\nexec ./stamper\n' > "$d/svc/run"
  printf k > "$d/svc/supervise/control"
  python3 - "$d/svc" <<'PY'
import os, sys, time
d = sys.argv[1]
def pid():
    try: return int(open(d + "/supervise/pid").read().strip() or 0)
    except Exception: return 0
def stamp():
    try: return int(open(d + "/stamp").read())
    except Exception: return 0
lat = []
for i in range(20):
    end = time.monotonic() + 10
    while pid() == 0 or stamp() == 0:
        if time.monotonic() > end: sys.exit("service never stamped")
        time.sleep(0.001)
    time.sleep(1.05)  # the service must have lived over 1 s, so no throttle applies
    p = pid(); t0 = time.monotonic_ns(); os.kill(p, 9)
    end = time.monotonic() + 10
    while stamp() <= t0:
        if time.monotonic() > end: sys.exit("no restart within 10 s")
    lat.append((stamp() - t0) / 1e6)
lat.sort()
print("         restart after kill: median %.3f ms, min %.3f ms, max %.3f ms (20 kills)" % (lat[len(lat)//2], lat[0], lat[-1]))
PY
  printf x > "$d/svc/supervise/control"; wait $pid 2>/dev/null || true
  pkill -f "$d/svc/stamper" 2>/dev/null || true
}
echo "runsv benchmark, $(date -u +%F), $(nproc) cores"
measure ours "$root/target/release/runsv"
[ -x "$oracle/usr/bin/runsv" ] && measure runit "$oracle/usr/bin/runsv"
mkdir -p "$work/floordir" && cp "$work/stamper" "$work/floor" "$work/floordir/" && printf '#!/bin/sh\nexec ./stamper\n' > "$work/floordir/run" && chmod +x "$work/floordir/run"
(cd "$work/floordir" && printf 'floor    fork+exec of the same ./run from a C parent: %s ms (mean of 200)\n' "$(./floor 200)")
