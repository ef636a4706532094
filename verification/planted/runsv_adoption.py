#!/usr/bin/env python3
# Plants one adoption bug at a time into model/src/runsv/ (adopt.rs, mod.rs, stop.rs), runs
# the reference comparison (verification/tests/runsv_vs_reference.rs), prints whether it
# failed and which tests and first assertion caught it, and restores the file (also on
# error). docs/assurance.md "Layer 3" quotes its output.
#
#   python3 verification/planted/runsv_adoption.py          # every bug
#   python3 verification/planted/runsv_adoption.py 5 6      # only these
import subprocess, sys, os
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
A='model/src/runsv/adopt.rs'; M='model/src/runsv/mod.rs'; S='model/src/runsv/stop.rs'
bugs = [
 ("adopt a pid whose start time differs (window 3 s late)", A, "pub const EARLY: i64 = 20_000_000;", "pub const EARLY: i64 = 3_000_000_000;"),
 ("adopt a process that started long before the stamp", A, "pub const LATE: i64 = 1_000_000_000;", "pub const LATE: i64 = 5_000_000_000;"),
 ("./finish gets 0 0 after an adopted exit", A, "args: UNKNOWN_EXIT,", "args: (0, 0),"),
 ("signals by kill() not pidfd", M, "        if self.adopted(slot).is_some() {\n            self.actions.push_back(Action::SignalPidfd", "        if false {\n            self.actions.push_back(Action::SignalPidfd"),
 ("adopt a zombie", A, "matches!(st.state, b'Z' | b'X' | b'x')", "matches!(st.state, b'x')"),
 ("accept two different log pipes", A, "                if m == l {", "                if m.fifo && l.fifo {"),
 ("group signal to an adopted non-leader", S, "self.adopted(slot).is_none_or(|a| a.own_group)", "true"),
 ("old record's want ignored", A, "s.want = if record.want == b'u' { Want::Up } else { Want::Down };", "s.want = Want::Up;"),
 ("old record's paused flag dropped", A, "s.paused = record.paused;", "s.paused = false;"),
 ("no warning for an unwatchable genuine process", A, "self.actions.push_back(Action::Warn(text::adopt_unwatchable(&self.dir, slot, pid, errno)));", "let _ = (pid, errno);"),
 ("adopted cycle counted from the adoption", A, "let started = crate::time::Mono(now.mono.0.saturating_sub(age));", "let started = crate::time::Mono(now.mono.0.saturating_sub(age * 0));"),
 ("a ./finish left running is adopted", A, "(r.state() == Some(RunState::Run) && r.pid != 0", "(r.state() != Some(RunState::Down) && r.pid != 0"),
 ("not a FIFO accepted as the log pipe", A, "Some(Ok(id)) if id.fifo => Ok(id),", "Some(Ok(id)) => Ok(id),"),
 ("old record's stamp replaced by now", A, "        s.stamp = record.stamp;\n", "        s.stamp = Tai64n::from_wall(now.wall);\n"),
]
sel = sys.argv[1:] 
for i,(name,f,old,new) in enumerate(bugs):
    if sel and str(i) not in sel: continue
    src=open(f).read()
    assert src.count(old)==1, (name, src.count(old))
    open(f,'w').write(src.replace(old,new))
    try:
        r=subprocess.run("nice -n 5 cargo test -q -p runit-verification --test runsv_vs_reference 2>&1", shell=True, capture_output=True, text=True, timeout=1200)
        out=r.stdout
        failed=[l for l in out.splitlines() if l.startswith("    ") and ("regression" in l or "runsv_matches" in l or "adoption" in l)]
        why=[l for l in out.splitlines() if "invariant violated" in l or "differ" in l or "assertion" in l][:1]
        if "error[" in out or "error:" in out and "test failed" not in out: why=["BUILD ERROR"]
        print(f"{i:2} {'CAUGHT' if r.returncode else 'MISSED'} | {name} | {sorted(set(x.strip() for x in failed))} | {why}", flush=True)
    finally:
        open(f,'w').write(src)
