#!/usr/bin/env python3
"""Restart latency after kill -9, several supervisors side by side (tests/bench/restart_ab.sh).

Each supervisor runs one service whose ./run is the stamping program (CLOCK_MONOTONIC at
exec); every round waits until each service has lived > 1 s (no throttle), then kills
them one after the other, in an order rotated per round, and takes kill -> new stamp.
Prints the median, quartiles and minimum of each, its ratio to the LAST supervisor
given, and the median of the per-round ratios (paired: the two were measured back to
back). Every process started is stopped by pid.
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

kills, work, stamper, bins = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]


def stamp(d):
    try:
        with open(f"{d}/stamp") as fh:
            t, pid = fh.read().split()
            return int(t), int(pid)
    except (OSError, ValueError):
        return 0, 0


def wait_for(cond, what):
    end = time.monotonic() + 10
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.002)


sups = []
try:
    for i, b in enumerate(bins):
        d = f"{work}/s{i}"
        os.makedirs(d)
        shutil.copy(stamper, f"{d}/run")
        sups.append((subprocess.Popen([b, d], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL), d))
    for _, d in sups:
        wait_for(lambda: stamp(d)[0] > 0, f"first start in {d}")
    lat = [[] for _ in bins]
    for k in range(kills):
        time.sleep(1.05)
        order = list(range(k % len(sups), len(sups))) + list(range(k % len(sups)))
        for i in order:
            _, d = sups[i]
            _, spid = stamp(d)
            t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            os.kill(spid, signal.SIGKILL)
            wait_for(lambda: stamp(d)[0] > t0, f"restart in {d}")
            lat[i].append((stamp(d)[0] - t0) / 1e6)
    ref = statistics.median(lat[-1])
    print(f"| supervisor | median | quartiles | min | ratio to {os.path.basename(bins[-1])} | paired ratio |")
    print("|---|---|---|---|---|---|")
    for b, xs in zip(bins, lat):
        q = statistics.quantiles(xs, n=4)
        paired = statistics.median(x / y for x, y in zip(xs, lat[-1]))
        print(f"| {b} | {statistics.median(xs):.3f} ms | {q[0]:.3f}-{q[2]:.3f} | {min(xs):.3f} | "
              f"{statistics.median(xs) / ref:.2f}x | {paired:.2f}x |")
finally:
    for p, d in sups:
        _, spid = stamp(d)
        p.terminate()
        p.wait()
        if spid:
            try:
                os.kill(spid, signal.SIGKILL)
            except ProcessLookupError:
                pass
