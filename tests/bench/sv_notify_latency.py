#!/usr/bin/env python3
"""Benchmark (not a test): notification -> exit latency of a waiting `sv -w 5 up`, as its
parent sees it (from just before the event to `waitpid` returning), for runit-rs's sv,
Debian's runit sv and s6's s6-svwait, in the same run.

Each case waits until the waiter is in its steady waiting phase (runit-rs's sv holds its
inotify watch; the others get the same 150 ms head start), then makes the event:

- runit-rs sv, readiness: a fake runsv (this script holds supervise/ok and control open,
  as runsv does) has `status` = run and a `ready=0` status.ext; the event is the rename of
  a `ready=1` status.ext into place (what runsv does on the readiness event,
  docs/readiness.md).
- runit-rs sv / Debian sv, state change: `status` says down (pid 0); the event is the
  rename of a `status` saying run (runit 2.1.2's sv polls every 420 ms).
- s6-svwait -U: a real s6-supervise; the service (a Python ./run) blocks on a trigger FIFO
  and, when triggered, stamps CLOCK_MONOTONIC and writes the newline to its
  notification-fd: the event includes s6-supervise's own work (read the pipe, write
  status, post to event/), which the fake runsv above does not model.

usage: python3 tests/bench/sv_notify_latency.py [rounds] [extra-sv-binary...]
       (from the repository root; builds --release; CARGO_TARGET_DIR is honoured;
       ORACLE_ROOT = unpacked Debian runit 2.1.2, default /tmp/runit-rs-oracle/runit;
       an extra sv binary, e.g. an older build, is measured like runit-rs's sv)
"""
import os, statistics, struct, subprocess, sys, tempfile, time

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
extra = sys.argv[2:]
target = os.environ.get("CARGO_TARGET_DIR", "target")
subprocess.run(["cargo", "build", "-q", "--release", "-p", "runit-bins", "--bin", "sv"], check=True)
ours = os.path.realpath(f"{target}/release/sv")
oracle_sv = os.path.join(os.environ.get("ORACLE_ROOT", "/tmp/runit-rs-oracle/runit"), "usr/bin/sv")
HEAD_START = 0.15

work = tempfile.mkdtemp(prefix="sv-notify.")


# ---- fake runsv --------------------------------------------------------------------------

svc = os.path.join(work, "s")
sup = os.path.join(svc, "supervise")
os.makedirs(sup)
for name in ("ok", "control"):
    os.mkfifo(os.path.join(sup, name))
held = {name: os.open(os.path.join(sup, name), os.O_RDWR | os.O_NONBLOCK) for name in ("ok", "control")}
SINCE = int(time.time())


def status20(pid, state):
    return struct.pack(">QI", SINCE + (1 << 62) + 10, 0) + struct.pack("<I", pid) + bytes([0, ord("u"), 0, state])


def record(ready):
    t = f"{SINCE}.000000000"
    keys = [("state", "run"), ("pid", 4242), ("since", t), ("wanted", "up"), ("normally_up", 1), ("paused", 0),
            ("got_term", 0), ("readiness", "sd_notify"), ("ready", int(ready)), ("ready_since", t if ready else ""),
            ("last_exit_code", ""), ("last_exit_signal", ""), ("last_exit_at", ""), ("restarts", 0),
            ("quick_deaths", 0), ("status_text", "")]
    return ("version=1\n" + "".join(f"{k}={v}\n" for k, v in keys)).encode()


def put(name, data):
    """Writes supervise/<name> through a temporary file and a rename; the time just
    before the rename."""
    tmp = os.path.join(sup, name + ".new")
    with open(tmp, "wb") as f:
        f.write(data)
    t0 = time.monotonic()
    os.rename(tmp, os.path.join(sup, name))
    return t0


def drain_control():
    try:
        while os.read(held["control"], 4096):
            pass
    except BlockingIOError:
        pass


def has_inotify(pid):
    try:
        return any("inotify" in os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def head_start(p, watches):
    """Waits until `p` is in its steady waiting phase."""
    if watches:
        for _ in range(1000):
            if has_inotify(p.pid):
                break
            time.sleep(0.002)
        time.sleep(0.01)
    else:
        time.sleep(HEAD_START)


def fake_round(sv, readiness, watches):
    drain_control()
    if readiness:
        put("status", status20(4242, 1))
        put("status.ext", record(False))
    else:
        try:
            os.unlink(os.path.join(sup, "status.ext"))
        except FileNotFoundError:
            pass
        put("status", status20(0, 0))
    p = subprocess.Popen([sv, "-w", "5", "up", "./s"], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    head_start(p, watches)
    t0 = put("status.ext", record(True)) if readiness else put("status", status20(4242, 1))
    code = p.wait()
    t1 = time.monotonic()
    out = p.stdout.read()
    p.stdout.close()
    assert code == 0, (sv, code, out)
    return (t1 - t0) * 1000


# ---- real s6-supervise -------------------------------------------------------------------

s6dir = os.path.join(work, "s6")
os.makedirs(s6dir)
trigger = os.path.join(work, "trigger")
stamp = os.path.join(work, "stamp")
os.mkfifo(trigger)
with open(os.path.join(s6dir, "notification-fd"), "w") as f:
    f.write("3\n")
with open(os.path.join(s6dir, "run"), "w") as f:
    f.write(f"""#!/usr/bin/env python3
import os, time
open({trigger!r}).read(1)
t0 = time.monotonic()
os.write(3, b"\\n")
with open({stamp!r} + ".new", "w") as f:
    f.write(repr(t0))
os.rename({stamp!r} + ".new", {stamp!r})
time.sleep(100000)
""")
os.chmod(os.path.join(s6dir, "run"), 0o755)
with open(os.path.join(s6dir, "down"), "w"):
    pass


def s6_round():
    subprocess.run(["s6-svc", "-d", s6dir], check=True)
    subprocess.run(["s6-svwait", "-D", "-t", "5000", s6dir], check=True)
    try:
        os.unlink(stamp)
    except FileNotFoundError:
        pass
    subprocess.run(["s6-svc", "-u", s6dir], check=True)
    subprocess.run(["s6-svwait", "-u", "-t", "5000", s6dir], check=True)
    p = subprocess.Popen(["s6-svwait", "-U", "-t", "5000", s6dir], stdout=subprocess.DEVNULL)
    head_start(p, False)
    with open(trigger, "w") as f:
        f.write("x")
    code = p.wait()
    t1 = time.monotonic()
    assert code == 0, ("s6-svwait", code)
    for _ in range(1000):
        if os.path.exists(stamp):
            break
        time.sleep(0.002)
    with open(stamp) as f:
        t0 = float(f.read())
    return (t1 - t0) * 1000


def summary(samples):
    s = sorted(samples)
    return statistics.median(s), s[max(0, int(len(s) * 0.9 + 0.5) - 1)], s[-1]


s6sup = subprocess.Popen(["s6-supervise", s6dir], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
try:
    for _ in range(1000):
        if os.path.exists(os.path.join(s6dir, "supervise/status")):
            break
        time.sleep(0.005)
    cases = [("runit-rs sv, readiness (status.ext)", lambda: fake_round(ours, True, True)),
             ("runit-rs sv, state change", lambda: fake_round(ours, False, True))]
    for path in extra:
        cases.append((f"{path}, readiness", lambda path=path: fake_round(path, True, True)))
    if os.path.exists(oracle_sv):
        cases.append(("runit 2.1.2 sv (Debian), state change", lambda: fake_round(oracle_sv, False, False)))
    else:
        print(f"SKIP: no Debian sv at {oracle_sv}")
    cases.append(("s6-svwait -U (s6 2.11, real s6-supervise)", s6_round))
    results = {name: [] for name, _ in cases}
    # Interleaved, so that the machine's load affects every case alike.
    for _ in range(rounds):
        for name, run in cases:
            results[name].append(run())
    load = open("/proc/loadavg").read().split()[:3]
    print(f"{rounds} rounds, load average {' '.join(load)}, {os.cpu_count()} CPUs")
    s6 = summary(results[cases[-1][0]])
    print(f"{'case':48} {'median':>8} {'p90':>8} {'worst':>8}   median/s6  p90/s6")
    for name, samples in results.items():
        med, p90, worst = summary(samples)
        print(f"{name:48} {med:7.2f}ms {p90:7.2f}ms {worst:7.2f}ms   {med / s6[0]:8.2f}  {p90 / s6[1]:6.2f}")
finally:
    subprocess.run(["s6-svc", "-xd", s6dir], stderr=subprocess.DEVNULL)
    try:
        s6sup.wait(timeout=5)
    except subprocess.TimeoutExpired:
        s6sup.kill()
        s6sup.wait()
    for fd in held.values():
        os.close(fd)
    subprocess.run(["rm", "-rf", work])
