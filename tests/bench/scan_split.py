#!/usr/bin/env python3
"""The scanner rows of the footprint benchmark, split per process and quick enough to run
at every commit of a bisection (issue 12, docs/performance.md "runsvdir: the
CPU-per-start regression, bisected").

    python3 tests/bench/scan_split.py N ROUNDS LABEL=DIR ... [--faults LABEL=DIR]   (as root)

Each DIR holds a `runsvdir` and the `runsv` it starts (found on PATH, as in the footprint
benchmark); the last LABEL is the reference of the ratios (Debian's runit:
/tmp/runit-rs-oracle/runit/usr/bin after tests/bench/footprint.sh has fetched it). For
each round and each DIR in turn: N service directories on tmpfs whose `./run` is a C
program that writes a stamp and pauses; the scanner is started; once every stamp is
there (and 0.5 s more), the scanner's minor page faults (`/proc/PID/stat`), anonymous
memory and CPU (`/proc/PID/schedstat`), and its supervisors' CPU and faults are read;
then everything is killed by pid. Medians over the rounds are printed; fault counts are
counts and do not depend on the machine's load, CPU times do (compare within one run).

--faults LABEL=DIR instead records the scanner's own page faults with `perf record -e
minor-faults -d` (a software event: no hardware counters needed) over N services and
prints them per mapping and page: which pages the scanner writes between two forks.
"""
import collections
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

NULL = os.open("/dev/null", os.O_RDWR)
STAMPER_C = r"""#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);
FILE*f=fopen("stamp.new","w");if(!f)return 111;
fprintf(f,"%lld %d\n",(long long)t.tv_sec*1000000000LL+t.tv_nsec,(int)getpid());fclose(f);
rename("stamp.new","stamp");for(;;)pause();}
"""


def minflt(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


def anon(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1])
    return 0


def cpu_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def children(pid):
    kids = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def services(work, label, d, n, stamper):
    root = f"{work}/{label}"
    shutil.rmtree(root, ignore_errors=True)
    sv = f"{root}/sv"
    os.makedirs(sv)
    os.makedirs(f"{root}/bin")
    os.symlink(f"{d}/runsv", f"{root}/bin/runsv")
    for i in range(n):
        os.makedirs(f"{sv}/s{i}")
        os.symlink(stamper, f"{sv}/s{i}/run")
    return root, sv, {"PATH": f"{root}/bin:/usr/bin:/bin"}


def wait_up(sv, n):
    end = time.monotonic() + 120
    while not all(os.path.exists(f"{sv}/s{i}/stamp") for i in range(n)):
        if time.monotonic() > end:
            sys.exit(f"{sv}: timed out waiting for {n} services")
        time.sleep(0.01)


def teardown(scanner):
    sups = children(scanner)
    for pid in [scanner] + sups + [k for s in sups for k in children(s)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def one(work, label, d, n, stamper):
    root, sv, env = services(work, label, d, n, stamper)
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.dup2(NULL, 0), os.dup2(NULL, 1), os.dup2(NULL, 2)
        os.execve(f"{d}/runsvdir", ["runsvdir", sv], env)
    try:
        wait_up(sv, n)
        up = time.monotonic() - t0
        time.sleep(0.5)
        sups = children(pid)
        return dict(up=up, flt=minflt(pid), anon=anon(pid), scpu=cpu_ns(pid) / 1e6 / n,
                    supcpu=sum(cpu_ns(s) for s in sups) / 1e6 / n,
                    supflt=sum(minflt(s) for s in sups) / max(len(sups), 1))
    finally:
        teardown(pid)
        os.waitpid(pid, 0)
        shutil.rmtree(root, ignore_errors=True)


def split(work, n, rounds, impls, stamper):
    res = {label: [] for label, _ in impls}
    for _ in range(rounds):
        for label, d in impls:
            res[label].append(one(work, label, d, n, stamper))
    m = {label: {k: statistics.median(x[k] for x in v) for k in v[0]} for label, v in res.items()}
    ref = m[impls[-1][0]]
    print(f"{n} services, {rounds} rounds, load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print("| build | up (s) | scanner faults | scanner anon (KiB) | scanner CPU/start (ms) "
          "| supervisors' CPU/start (ms) | faults per supervisor | CPU/start total (ms) | total / ref | scanner / ref |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, x in m.items():
        tot, rtot = x["scpu"] + x["supcpu"], ref["scpu"] + ref["supcpu"]
        print(f"| {label} | {x['up']:.3f} | {x['flt']:.0f} | {x['anon']:.0f} | {x['scpu']:.4f} | {x['supcpu']:.4f} "
              f"| {x['supflt']:.1f} | {tot:.4f} | {tot / rtot:.2f}x | {x['scpu'] / ref['scpu']:.2f}x |")


def faults(work, n, label, d, stamper):
    root, sv, env = services(work, label, d, n, stamper)
    data = f"{work}/perf.data"
    p = subprocess.Popen(["perf", "record", "-q", "-e", "minor-faults", "-c", "1", "-d", "--no-inherit", "-o", data,
                          f"{d}/runsvdir", sv], env=env, stdout=NULL, stderr=NULL)
    try:
        wait_up(sv, n)
        time.sleep(0.3)
        scanner = children(p.pid)[0]
        with open(f"/proc/{scanner}/maps") as f:
            maps = []
            for line in f:
                fields = line.split()
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                maps.append((lo, hi, f"{fields[5].split('/')[-1] if len(fields) > 5 else '[anon]'} {fields[1]}"))
        total = minflt(scanner)
    finally:
        teardown(children(p.pid)[0] if children(p.pid) else p.pid)
        p.wait()
        shutil.rmtree(root, ignore_errors=True)
    out = subprocess.run(["perf", "script", "-i", data, "-F", "addr"], capture_output=True, text=True).stdout
    count, pages = collections.Counter(), collections.defaultdict(collections.Counter)
    for word in out.split():
        addr = int(word, 16)
        name, page = "?", addr >> 12
        for lo, hi, what in maps:
            if lo <= addr < hi:
                name, page = f"{what} at {lo:x}", (addr - lo) >> 12
                break
        count[name] += 1
        pages[name][page] += 1
    print(f"{label}: {total} minor faults in the scanner for {n} services ({total / n:.2f} per start)")
    print("| faults | pages | mapping | most faulted pages (page index: faults) |")
    print("|---|---|---|---|")
    for name, c in count.most_common():
        top = ", ".join(f"{p}: {k}" for p, k in pages[name].most_common(10))
        print(f"| {c} | {len(pages[name])} | {name} | {top} |")


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        sys.exit(__doc__)
    n, rounds = int(args[0]), int(args[1])
    fault_run = "--faults" in args
    impls = [a.split("=", 1) for a in args[2:] if "=" in a]
    with tempfile.TemporaryDirectory(prefix="runit-bench-scan.", dir="/dev/shm") as work:
        stamper = f"{work}/stamper"
        with open(f"{stamper}.c", "w") as f:
            f.write(STAMPER_C)
        subprocess.run(["cc", "-O2", "-o", stamper, f"{stamper}.c"], check=True)
        if fault_run:
            for label, d in impls:
                faults(work, n, label, d, stamper)
        else:
            split(work, n, rounds, impls, stamper)


main()
