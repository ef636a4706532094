#!/bin/sh
# Wall time of `chpst -u nobody -e envdir true`, ours vs Debian's runit 2.1.2-54 chpst.
#
# usage: tests/bench/chpst.sh [iterations]     (default 2000 per binary)
# Needs: a release build (cargo build --release -p runit-bins --bin chpst), root (for -u),
# python3 (the driver: fork + exec + wait, nothing else, so the shell's own cost is not
# measured), and the Debian package (apt-get download into a temp dir, never installed).
# Runs of the two binaries alternate (ABBA) so load changes hit both equally; the minimum
# and the 10th percentile are the load-resistant figures, the median is shown too.
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
python3 - "$ours" "$theirs" "$N" <<'PY'
import os, sys, time, statistics
ours, theirs, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tail = ["-u", "nobody", "-e", "envdir", "true"]
res = {"ours": [], "debian": []}
order = [("ours", ours), ("debian", theirs)]
for i in range(n + 50):
    for name, b in (order if i % 2 == 0 else order[::-1]):
        t = time.perf_counter_ns()
        pid = os.fork()
        if pid == 0:
            try:
                os.execv(b, [b] + tail)
            finally:
                os._exit(127)
        _, st = os.waitpid(pid, 0)
        if st != 0:
            sys.exit(f"{name} failed: status {st}")
        if i >= 50:  # the first 50 rounds only warm caches
            res[name].append((time.perf_counter_ns() - t) / 1000)
print(f"chpst -u nobody -e envdir(9 files) true, {n} runs each, alternating")
for name, b in order:
    v = sorted(res[name])
    print(f"  {name:6} min {v[0]:7.0f} us   p10 {v[len(v) // 10]:7.0f} us   median {statistics.median(v):7.0f} us   ({b})")
PY
