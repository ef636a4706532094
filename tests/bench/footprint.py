#!/usr/bin/env python3
"""Footprint benchmark (issue 12): every row of the issue's table for runit-rs, Debian's
runit 2.1.2 and s6 (where it has an equivalent), measured in the same run, with ratios to
runit, plus the anonymous/RSS/PSS split and page faults of each program.

Run through tests/bench/footprint.sh (it builds, fetches the Debian packages and the
stamper). Every process started is killed by pid at the end; everything lives under WORK.
Nothing here asserts a time: it prints figures.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--work", required=True)
p.add_argument("--stamper", required=True, help="C program: writes CLOCK_MONOTONIC ns and its pid to ./stamp, then pauses")
p.add_argument("--ours", required=True, help="directory with our binaries")
p.add_argument("--runit", required=True, help="unpacked Debian runit package root")
p.add_argument("--s6", default="", help="unpacked s6 package root (optional)")
p.add_argument("--skalibs", default="", help="unpacked libskarnet package root (for s6)")
p.add_argument("--calls", type=int, default=1000, help="calls per client measurement")
p.add_argument("--kills", type=int, default=10, help="kills per restart measurement")
p.add_argument("--scan", type=int, default=500, help="services for the start-up row")
p.add_argument("--many", type=int, default=1000, help="services for the PSS/CPU row")
p.add_argument("--only", default="restart,client,scan,logger,ready", help="parts to run (the one-supervisor memory always runs)")
p.add_argument("--floor", action="append", default=[], metavar="LABEL=PATH",
               help="a program that does nothing, timed in the `sv status` loop (repeatable)")
p.add_argument("--idle", type=float, default=60.0, help="seconds an idle supervisor with readiness is watched for wake-ups")
a = p.parse_args()

WORK = a.work
NULL = os.open("/dev/null", os.O_RDWR)
STARTED = []  # every long-running pid we started, killed at the end


def impls():
    r = a.runit
    out = [
        dict(name="runit-rs", runsv=f"{a.ours}/runsv", runsvdir=f"{a.ours}/runsvdir", sv=f"{a.ours}/sv",
             chpst=f"{a.ours}/chpst", svlogd=f"{a.ours}/svlogd", env={}),
        dict(name="runit", runsv=f"{r}/usr/bin/runsv", runsvdir=f"{r}/usr/bin/runsvdir", sv=f"{r}/usr/bin/sv",
             chpst=f"{r}/usr/bin/chpst", svlogd=f"{r}/usr/bin/svlogd", env={}),
    ]
    if a.s6 and a.skalibs:
        b = f"{a.s6.rstrip('/')}/usr/bin"
        out.append(dict(name="s6", runsv=f"{b}/s6-supervise", runsvdir=f"{b}/s6-svscan", sv=f"{b}/s6-svstat",
                        chpst=f"{b}/s6-setuidgid", svlogd=f"{b}/s6-log",
                        env={} if a.skalibs == "/" else {"LD_LIBRARY_PATH": f"{a.skalibs}/usr/lib/x86_64-linux-gnu"}))
    return out


IMPLS = impls()


def environ(impl, path_first=None):
    e = {"PATH": (path_first + ":" if path_first else "") + "/usr/bin:/bin"}
    e.update(impl["env"])
    return e


def spawn(argv, env, cwd=None):
    pid = os.fork()
    if pid == 0:
        try:
            if cwd:
                os.chdir(cwd)
            os.dup2(NULL, 0); os.dup2(NULL, 1); os.dup2(NULL, 2)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    return pid


def start(argv, env, cwd=None):
    pid = spawn(argv, env, cwd)
    STARTED.append(pid)
    return pid


def call(argv, env):
    """One short-lived call: (wall ns, rusage)."""
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, NULL, 1), (os.POSIX_SPAWN_DUP2, NULL, 2)])
    _, status, ru = os.wait4(pid, 0)
    t1 = time.perf_counter_ns()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv} failed: {status}")
    return t1 - t0, ru


def smaps(pid):
    """(anonymous, rss, pss) KiB and minor faults of a live process."""
    f = {}
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            k, _, v = line.partition(":")
            if v.strip().endswith("kB"):
                f[k] = int(v.split()[0])
    with open(f"/proc/{pid}/stat") as fh:
        minflt = int(fh.read().rsplit(")", 1)[1].split()[7])
    return f.get("Anonymous", 0), f.get("Rss", 0), f.get("Pss", 0), minflt


def cpu_ns(pid):
    try:
        with open(f"/proc/{pid}/schedstat") as fh:
            return int(fh.read().split()[0])
    except OSError:
        return 0


def children(pid):
    kids = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as fh:
                kids += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return kids


def wait_for(cond, limit, what):
    end = time.monotonic() + limit
    while not cond():
        if time.monotonic() > end:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.002)


def stamp(d):
    try:
        with open(f"{d}/stamp") as fh:
            t, pid = fh.read().split()
            return int(t), int(pid)
    except (OSError, ValueError):
        return 0, 0


def service(d):
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(f"{d}/run"):
        os.symlink(a.stamper, f"{d}/run")


def kill(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def reap():
    for pid in list(STARTED):
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        STARTED.remove(pid)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


ROWS = []  # (metric, {impl: value}, unit, lower-is-better)
MEM = []   # (program, impl, anon, rss, pss, minflt)


def row(metric, values, unit):
    ROWS.append((metric, values, unit))


# ---- 1. one supervisor: memory, then restart latency after kill -9 --------------------
SUPERVISORS = 9  # per implementation: a process's anonymous memory varies by a page or two
                 # with where ASLR puts its stack and heap, so the median of several is shown


def supervisors():
    """One service each, SUPERVISORS per implementation; the median memory is recorded and
    the first of each is kept for the restart and client rows, the others are stopped."""
    sup, extra = {}, []
    for im in IMPLS:
        pids = []
        for k in range(SUPERVISORS):
            d = f"{WORK}/one-{im['name']}-{k}"
            service(d)
            pids.append((start([im["runsv"], d], environ(im)), d))
        sup[im["name"]] = pids[0]
        extra += pids[1:]
    for name, pid, d in [(im["name"], *p) for im in IMPLS for p in [sup[im["name"]]]] + [("", *p) for p in extra]:
        wait_for(lambda: stamp(d)[0] > 0, 10, f"{name} supervisor's first start")
    time.sleep(0.3)
    anon = {}
    for im in IMPLS:
        mine = [sup[im["name"]]] + [p for p in extra if p[1].startswith(f"{WORK}/one-{im['name']}-")]
        snaps = [smaps(pid) for pid, _ in mine]
        an, rss, pss, flt = (med([x[i] for x in snaps]) for i in range(4))
        anon[im["name"]] = an
        MEM.append((f"supervisor (runsv / s6-supervise), 1 service, median of {SUPERVISORS} running", im["name"], an, rss, pss, flt))
    row(f"one supervisor, anonymous memory (median of {SUPERVISORS})", anon, "KiB")
    kill([pid for pid, _ in extra] + [stamp(d)[1] for _, d in extra])
    reap_some([pid for pid, _ in extra])
    return sup


def reap_some(pids):
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        STARTED.remove(pid)


def restarts(sup):
    lat = {im["name"]: [] for im in IMPLS}
    for i in range(a.kills):
        time.sleep(1.05)  # every service has lived > 1 s: no throttle applies
        order = IMPLS[i % len(IMPLS):] + IMPLS[:i % len(IMPLS)]
        for im in order:
            _, d = sup[im["name"]]
            _, spid = stamp(d)
            t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            os.kill(spid, signal.SIGKILL)
            wait_for(lambda: stamp(d)[0] > t0, 10, f"{im['name']} restart")
            lat[im["name"]].append((stamp(d)[0] - t0) / 1e6)
    row(f"restart after kill -9 (median of {a.kills})", {k: med(v) for k, v in lat.items()}, "ms")


# ---- 2. client calls: sv status, chpst -u nobody ---------------------------------------
def client_calls(sup):
    # status: each client asks its own supervisor (same status format for runit and ours)
    def status_argv(im):
        d = sup[im["name"]][1]
        return [im["sv"], d] if im["name"] == "s6" else [im["sv"], "status", d]

    def chpst_argv(im):
        return [im["chpst"], "nobody", "/bin/true"] if im["name"] == "s6" else [im["chpst"], "-u", "nobody", "/bin/true"]

    for label, argv_of in (("`sv status` per call", status_argv), ("`chpst -u nobody true` per call", chpst_argv)):
        wall = {im["name"]: [] for im in IMPLS}
        cpu = {im["name"]: [] for im in IMPLS}
        flt = {im["name"]: [] for im in IMPLS}
        rss = {im["name"]: [] for im in IMPLS}
        # The floors, timed in the same loop as sv: programs that do nothing, one per kind
        # of start-up (what starting each kind of binary costs in this harness).
        floors = [tuple(f.split("=", 1)) for f in a.floor] if argv_of is status_argv else []
        floor_wall = {n: [] for n, _ in floors}
        floor_cpu = {n: [] for n, _ in floors}
        for _ in range(50):  # warm-up
            for im in IMPLS:
                call(argv_of(im), environ(im))
        for i in range(a.calls):
            order = IMPLS[i % len(IMPLS):] + IMPLS[:i % len(IMPLS)]
            for im in order:
                t, ru = call(argv_of(im), environ(im))
                wall[im["name"]].append(t / 1e6)
                cpu[im["name"]].append((ru.ru_utime + ru.ru_stime) * 1e3)
                flt[im["name"]].append(ru.ru_minflt)
                rss[im["name"]].append(ru.ru_maxrss)
            for n, path in floors:
                t, ru = call([path], {})
                floor_wall[n].append(t / 1e6)
                floor_cpu[n].append((ru.ru_utime + ru.ru_stime) * 1e3)
        row(label + ", median wall", {k: med(v) for k, v in wall.items()}, "ms")
        row(label + ", min wall", {k: min(v) for k, v in wall.items()}, "ms")
        row(label + ", mean CPU (user+sys)", {k: statistics.mean(v) for k, v in cpu.items()}, "ms")
        row(label + ", page faults", {k: med(v) for k, v in flt.items()}, "")
        # Each floor in the runit-rs column, Debian's sv of the same loop in runit's: the
        # ratio says how far below Debian's sv that kind of start-up alone can go.
        for n, _ in floors:
            row(f"floor: {n}, median wall (runit column: its sv status)", {"runit-rs": med(floor_wall[n]), "runit": med(wall["runit"])}, "ms")
        for n, _ in floors:
            row(f"floor: {n}, mean CPU (runit column: its sv status)", {"runit-rs": statistics.mean(floor_cpu[n]), "runit": statistics.mean(cpu["runit"])}, "ms")
        for im in IMPLS:
            snap = snapshot(argv_of(im), environ(im), "exit_group" if argv_of is status_argv else "execve")
            MEM.append((label.split(" per")[0].strip("`") + " (at exit/exec)", im["name"], *snap[:3], med(flt[im["name"]])))


def snapshot(argv, env, syscall):
    """Memory of a short-lived process, read while strace holds it at its last syscall
    (exit_group) or at the exec of its program (strace does not stop at the entry of the
    tracee's own first execve, so the first delayed one is the program's)."""
    tracer = subprocess.Popen(["strace", "-qq", "-o", "/dev/null", "-e", f"trace={syscall}", "-e",
                               f"inject={syscall}:delay_enter=500000", *argv], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.25)
        kids = children(tracer.pid)
        return smaps(kids[0]) if kids else (0, 0, 0, 0)
    except OSError:
        return (0, 0, 0, 0)
    finally:
        tracer.wait()


# ---- 3. scanner: N services up, PSS and CPU per service ---------------------------------
def scanner(im, n):
    root = f"{WORK}/scan-{im['name']}-{n}"
    svdir = f"{root}/sv"
    os.makedirs(svdir)
    for i in range(n):
        service(f"{svdir}/s{i}")
    pathbin = f"{root}/bin"  # the scanner finds its supervisor on PATH
    os.makedirs(pathbin)
    os.symlink(im["runsv"], f"{pathbin}/{os.path.basename(im['runsv'])}")
    t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    # s6-svscan supervises at most 1000 directories unless told (-c)
    extra = ["-c", str(2 * n)] if im["name"] == "s6" else []
    pid = start([im["runsvdir"], *extra, svdir], environ(im, pathbin))
    dirs = [f"{svdir}/s{i}" for i in range(n)]
    try:
        wait_for(lambda: all(stamp(d)[0] > 0 for d in dirs), 120, f"{im['name']}: {n} services up")
        last = max(stamp(d)[0] for d in dirs)
        time.sleep(0.5)
        sups = children(pid)
        pss = sum(smaps(s)[2] for s in sups)
        anon = sum(smaps(s)[0] for s in sups)
        scpu = cpu_ns(pid)
        cpu = scpu + sum(cpu_ns(s) for s in sups)
        sc = smaps(pid)
    finally:
        # tear down by pid, also after a timeout: scanner, supervisors, services
        sups = children(pid)
        services = [k for s in sups for k in children(s)] + [stamp(d)[1] for d in dirs if stamp(d)[1]]
        kill([pid]); kill(sups); kill(services)
        reap()
    return (last - t0) / 1e9, pss / n, anon / n, (cpu / 1e6 / n, scpu / 1e6 / n), sc, len(sups)


def scanners():
    up, pss, cpu, scan_cpu, anon_each = {}, {}, {}, {}, {}
    scan = [im for im in IMPLS if im["name"] != "s6" or im["runsv"] == "/usr/bin/s6-supervise"]
    for im in scan:
        up[im["name"]] = scanner(im, a.scan)[0]
    for im in scan:
        _, pss[im["name"]], anon_each[im["name"]], (cpu[im["name"]], scan_cpu[im["name"]]), sc, nsup = scanner(im, a.many)
        MEM.append((f"scanner (runsvdir / s6-svscan), {a.many} services", im["name"], *sc))
        if nsup != a.many:
            print(f"note: {im['name']}: {nsup} supervisors seen for {a.many} services", file=sys.stderr)
    row(f"{a.scan} services: scanner start -> last ./run exec'd", up, "s")
    row(f"{a.many} services: anonymous memory per supervisor", anon_each, "KiB")
    row(f"{a.many} services: PSS per supervisor", pss, "KiB")
    row(f"{a.many} services: CPU per start (scanner + supervisors)", cpu, "ms")
    row(f"{a.many} services: CPU per start, the scanner's share", scan_cpu, "ms")


# ---- 5. readiness (issue 10): memory with notification-fd / notify-socket, idle wake-ups -
def runs(pid):
    """Times the process has been scheduled in (/proc/PID/schedstat, third field)."""
    with open(f"/proc/{pid}/schedstat") as fh:
        return int(fh.read().split()[2])


WATCHED = {"runit-rs": "notification-fd + notify-socket", "s6": "notification-fd", "runit": "none"}


def readiness():
    """Per supervisor: anonymous memory with no readiness file, with `notification-fd`
    (runit-rs and s6), with `notify-socket` (runit-rs), both (runit-rs); then the wake-ups
    of idle supervisors (one per implementation, readiness declared where it exists) over
    --idle seconds, scaled to a minute."""
    variants = [("none", {}), ("notification-fd", {"notification-fd": "5\n"}),
                ("notify-socket", {"notify-socket": ""}),
                ("notification-fd + notify-socket", {"notification-fd": "5\n", "notify-socket": ""})]
    idle, none = {}, {}
    for label, files in variants:
        anon = {}
        for im in IMPLS:
            if files and (im["name"] == "runit" or (im["name"] == "s6" and "notify-socket" in files)):
                continue  # runit has no readiness files; s6 has notification-fd only
            pids = []
            for k in range(SUPERVISORS):
                d = f"{WORK}/ready-{im['name']}-{len(files)}-{label[:8]}-{k}"
                service(d)
                for name, content in files.items():
                    with open(f"{d}/{name}", "w") as fh:
                        fh.write(content)
                pids.append((start([im["runsv"], d], environ(im)), d))
            for _, d in pids:
                wait_for(lambda: stamp(d)[0] > 0, 10, f"{im['name']} supervisor's first start")
            time.sleep(0.3)
            anon[im["name"]] = med([smaps(pid)[0] for pid, _ in pids])
            keep = pids[0] if WATCHED.get(im["name"]) == label else None
            if keep:
                idle[im["name"]] = keep
            stop = [p for p in pids if p is not keep]
            kill([pid for pid, _ in stop] + [stamp(d)[1] for _, d in stop])
            reap_some([pid for pid, _ in stop])
        row(f"one supervisor with readiness: {label}, anonymous memory (median of {SUPERVISORS})", anon, "KiB")
        if not files:
            none = anon
        else:
            row(f"readiness: {label}, anonymous memory added (aim: <= 4 KiB)", {n: v - none[n] for n, v in anon.items()}, "KiB")
    before = {name: runs(pid) for name, (pid, _) in idle.items()}
    time.sleep(a.idle)
    after = {name: runs(pid) for name, (pid, _) in idle.items()}
    row("idle supervisor, wake-ups per minute (runit-rs: notification-fd + notify-socket; s6: notification-fd; runit: none)",
        {name: (after[name] - before[name]) * 60.0 / a.idle for name in idle}, "")
    for name, (pid, d) in idle.items():
        kill([pid, stamp(d)[1]])
        reap_some([pid])


# ---- 4. logger memory (idle, one log directory) ----------------------------------------
def loggers():
    for im in IMPLS:
        d = f"{WORK}/log-{im['name']}"
        os.makedirs(d)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.dup2(r, 0); os.dup2(NULL, 1); os.dup2(NULL, 2)
            os.execve(im["svlogd"], [im["svlogd"], d], environ(im))
        STARTED.append(pid)
        os.close(r)
        os.write(w, b"one line\n")
        time.sleep(0.3)
        MEM.append(("logger (svlogd / s6-log), idle", im["name"], *smaps(pid)))
        os.close(w)
        kill([pid])
    reap()


def main():
    only = a.only.split(",")
    sup = supervisors()
    try:
        if "restart" in only:
            restarts(sup)
        if "client" in only:
            client_calls(sup)
    finally:
        for name, (pid, d) in sup.items():
            kill([pid, stamp(d)[1]])
        reap()
    if "scan" in only:
        scanners()
    if "logger" in only:
        loggers()
    if "ready" in only:
        readiness()
    names = [im["name"] for im in IMPLS]
    print("\n## The issue's rows (ratio = x / runit)\n")
    print("| metric | " + " | ".join(names) + " | " + " | ".join(f"{n}/runit" for n in names if n != "runit") + " |")
    print("|---|" + "---|" * (2 * len(names) - 1))
    for metric, vals, unit in ROWS:
        def cell(v):
            text = f"{v:.3f}" if isinstance(v, float) and not v.is_integer() else f"{int(v)}"
            return f"{text} {unit}".strip()
        cells = ["-" if n not in vals else cell(vals[n]) for n in names]
        ratios = [f"{vals[n] / vals['runit']:.2f}x" if n in vals and vals.get("runit") else "-" for n in names if n != "runit"]
        print(f"| {metric} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    if "s6" in names and "restart" in only:
        print("\ns6-supervise restarts a killed service about 1 s later in this set-up (it paces")
        print("restarts), so its restart row is not a like-for-like comparison.")
    print("\n## Memory per program (KiB) and minor page faults per process\n")
    print("| program | impl | anonymous | RSS | PSS | page faults |")
    print("|---|---|---|---|---|---|")
    for prog, name, an, rss, pss, flt in MEM:
        print(f"| {prog} | {name} | {an} | {rss} | {pss} | {flt:g} |")


try:
    main()
finally:
    kill(STARTED)
    reap()
