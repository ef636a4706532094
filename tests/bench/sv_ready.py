#!/usr/bin/env python3
"""Benchmark (not a test): how long `sv -w 5 up` takes to exit after a service's
readiness is published in supervise/status.ext (docs/readiness.md §4).

runsv does not write the record yet, so this script plays that part: it writes a record
that agrees with runsv's 20 bytes and says "not ready", starts `sv -w 5 up`, then renames
a "ready" record into place (what runsv will do on the readiness event) and measures from
just before that rename to sv's exit. Two cases: the event 20 ms after sv started (sv in
its 1 ms polling phase) and after sv has switched to its inotify watch (> 100 ms).

usage: python3 tests/bench/sv_ready.py [rounds]   (from the repository root; builds
       --release; CARGO_TARGET_DIR is honoured)
"""
import os, statistics, struct, subprocess, sys, tempfile, time

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
target = os.environ.get("CARGO_TARGET_DIR", "target")
subprocess.run(["cargo", "build", "-q", "--release", "-p", "runit-bins", "--bin", "sv", "--bin", "runsv"], check=True)
sv = os.path.realpath(f"{target}/release/sv")
runsv = os.path.realpath(f"{target}/release/runsv")

work = tempfile.mkdtemp(prefix="sv-ready.")
svc = os.path.join(work, "s")
os.makedirs(svc)
with open(os.path.join(svc, "run"), "w") as f:
    f.write("#!/bin/sh\nexec sleep 100000\n")
os.chmod(os.path.join(svc, "run"), 0o755)
proc = subprocess.Popen([runsv, "s"], cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def status20():
    with open(os.path.join(svc, "supervise/status"), "rb") as f:
        b = f.read(20)
    secs, nanos = struct.unpack(">QI", b[:12])
    pid = struct.unpack("<I", b[12:16])[0]
    return secs - (1 << 62) - 10, nanos, pid, b[16], b[17], b[18], b[19]


def record(ready):
    unix, nanos, pid, paused, want, term, state = status20()
    t = f"{unix}.{nanos:09d}"
    keys = [("state", ["down", "run", "finish"][state]), ("pid", pid), ("since", t),
            ("wanted", "up" if want == ord("u") else "down"), ("normally_up", 1), ("paused", paused),
            ("got_term", term), ("readiness", "sd_notify"), ("ready", int(ready)),
            ("ready_since", t if ready else ""), ("last_exit_code", ""), ("last_exit_signal", ""),
            ("last_exit_at", ""), ("restarts", 0), ("quick_deaths", 0), ("status_text", "")]
    return "version=1\n" + "".join(f"{k}={v}\n" for k, v in keys)


def publish(ready):
    tmp = os.path.join(svc, "supervise/status.ext.new")
    with open(tmp, "w") as f:
        f.write(record(ready))
    t0 = time.monotonic()
    os.rename(tmp, os.path.join(svc, "supervise/status.ext"))
    return t0


def has_inotify(pid):
    try:
        return any("inotify" in os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


try:
    for _ in range(500):
        if os.path.exists(os.path.join(svc, "supervise/status")) and status20()[6] == 1:
            break
        time.sleep(0.01)
    results = {"polling phase (event 20 ms after sv started)": [], "inotify phase (event after the watch is set)": []}
    for name, samples in results.items():
        for _ in range(rounds):
            publish(False)
            p = subprocess.Popen([sv, "-w", "5", "up", "./s"], cwd=work, stdout=subprocess.DEVNULL)
            if name.startswith("polling"):
                time.sleep(0.02)
            else:
                for _ in range(500):
                    if has_inotify(p.pid):
                        break
                    time.sleep(0.005)
            t0 = publish(True)
            code = p.wait()
            t1 = time.monotonic()
            assert code == 0, code
            samples.append((t1 - t0) * 1000)
        s = sorted(samples)
        print(f"{name}: median {statistics.median(s):.2f} ms, min {s[0]:.2f}, p90 {s[int(len(s) * 0.9) - 1]:.2f}, max {s[-1]:.2f} ms ({len(s)} runs)")
finally:
    try:
        with open(os.path.join(svc, "supervise/control"), "w") as f:
            f.write("x")
    except OSError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
    subprocess.run(["rm", "-rf", work])
