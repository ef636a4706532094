#!/usr/bin/env bash
# Footprint benchmark (issue 12), one command: every row of the issue's table for runit-rs,
# Debian's runit 2.1.2 and s6, side by side in the same run, with ratios to runit, and
# the anonymous/RSS/PSS memory and page faults of each program.
#
#   bash tests/bench/footprint.sh [calls] [kills] [parts]   (as root; release build)
#   parts: comma-separated subset of restart,client,scan,logger,ready (default: all)
#   IDLE=seconds: how long idle supervisors are watched for wake-ups (default 60)
#   OURS=dir: take runit-rs's binaries from dir (no build), e.g. to compare two builds
#
# Debian's runit is fetched with apt-get download + dpkg -x into a cache (never installed).
# s6 is taken from the system if installed (`apt-get install s6`: s6-svscan execs
# /usr/bin/s6-supervise, so the scanner rows need it installed), else fetched the same way
# (then without the scanner rows). The work (tests/bench/footprint.py) runs in a scratch
# directory; every process it starts is killed by pid.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# OURS=dir measures the binaries in dir instead of building (an A/B of two builds).
if [ -n "${OURS:-}" ]; then
  target=$OURS
else
  cargo build --release -q -p runit-bins
  target=${CARGO_TARGET_DIR:-$root/target}/release
fi
sync   # freshly written binaries' page-cache pages would count as dirty
cache=${RUNIT_ORACLE_DIR:-/tmp/runit-rs-oracle}
mkdir -p "$cache"
fetch() { # package -> unpacked root, or nothing
  local pkg=$1 dir=$cache/$1
  if [ ! -e "$dir/.unpacked" ]; then
    (cd "$cache" && apt-get download "$pkg" >/dev/null 2>&1 && dpkg -x "$pkg"_*.deb "$dir" && touch "$dir/.unpacked") || true
  fi
  [ -e "$dir/.unpacked" ] && echo "$dir"
}
runit=$(fetch runit) || { echo "cannot fetch Debian's runit"; exit 2; }
s6=()
if [ -x /usr/bin/s6-svscan ]; then
  s6=(--s6 / --skalibs /)
elif s6root=$(fetch s6) && skaroot=$(fetch libskarnet2.13); then
  s6=(--s6 "$s6root" --skalibs "$skaroot")
fi
# Service directories on tmpfs by default, as on Debian (supervise/ links into /run);
# BENCH_TMP=/tmp puts them on the disk's file system (each status rename then costs
# more, and the restart row mostly measures the disk).
work=$(mktemp -d "${BENCH_TMP:-/dev/shm}/runit-bench-footprint.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The service: stamps CLOCK_MONOTONIC (ns) and its pid into ./stamp at exec, then pauses.
cat > "$work/stamper.c" <<'C'
#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);
FILE*f=fopen("stamp.new","w");if(!f)return 111;
fprintf(f,"%lld %d\n",(long long)t.tv_sec*1000000000LL+t.tv_nsec,(int)getpid());fclose(f);
rename("stamp.new","stamp");for(;;)pause();}
C
cc -O2 -o "$work/stamper" "$work/stamper.c"
# The floor of a client call: programs that do nothing, each kind of start-up once:
# dynamic (as Debian's sv), static-pie (as runit-rs's other programs), static non-PIE,
# static-pie linked with -z noseparate-code (fewer segments), and no libc at all (a bare
# _start that exits, as the freestanding sv starts). The static ones are left out where
# no static libc is installed.
echo 'int main(void){return 0;}' > "$work/noop.c"
printf '%s\n' 'void _start(void){__asm__ volatile("mov $60,%eax; xor %edi,%edi; syscall");}' > "$work/nolibc.c"
floor=()
addfloor() { # label file cc-args...
  local label=$1 out=$work/$2; shift 2
  if cc -O2 "$@" -o "$out" 2>/dev/null; then floor+=(--floor "$label=$out"); fi
}
addfloor "empty C program, dynamic" noop-dynamic "$work/noop.c"
addfloor "empty C program, static-pie" noop-static-pie -static-pie "$work/noop.c"
addfloor "empty C program, static non-PIE" noop-static -static -no-pie "$work/noop.c"
addfloor "empty C program, static-pie, -z noseparate-code" noop-static-pie-nosep -static-pie -Wl,-z,noseparate-code "$work/noop.c"
addfloor "empty program without libc (_start: exit)" noop-nolibc -nostdlib -static-pie -fPIE "$work/nolibc.c"
echo "footprint benchmark, $(date -u '+%F %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), work in $(df --output=fstype "$work" | tail -1)"
for b in runsv sv chpst; do printf '%s: %s bytes, %s\n' "$b" "$(stat -c %s "$target/$b")" "$(file -b "$target/$b" | cut -d, -f1-2,4)"; done
python3 "$root/tests/bench/footprint.py" --work "$work" --stamper "$work/stamper" --ours "$target" \
  --runit "$runit" "${s6[@]}" "${floor[@]}" --calls "${1:-1000}" --kills "${2:-10}" --idle "${IDLE:-60}" ${3:+--only "$3"}
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
