//! Seeded simulation of runit as PID 1: the model machine ([`model::stage::Stages`]) and
//! the **production** executor (`runtime::exec::stage::StageIo`) over a fake kernel
//! ([`StageSys`]), driven by the production driver's turn functions. The outside world
//! presses ctrl-alt-del (SIGINT), asks for a shutdown (SIGCONT with `stopit`, SIGPWR),
//! sends ALRM, ends stage 2 (cleanly, or with 111 to have it restarted), leaves orphans
//! to reap; forks fail often (`STAGE_SIM` faults), so PID 1's fork-failure paths run —
//! among them the one issue 14 named untested: **the ctrlaltdel fork fails, and stage 2
//! exits while the retry waits** ([`StageReport::cad_pause_stage2_exit`] counts it).
//!
//! Checked after every step ([`StageCheck`]): stages start in order (1, then 2, then 3
//! once — 3 also when a shutdown comes while stage 2's fork waits for its retry; never two at once; ctrlaltdel only between stage 2's start and stage 3's);
//! signals go only to PID 1's own children (or `-1` once stage 3 is over); PID 1 never
//! waits with nothing to wait for (no live stage, ctrlaltdel or final child and no
//! deadline); PID 1 never exits; and once stage 2 has ended cleanly the system reaches
//! the final reboot (stage 2's exit is never lost).

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, VecDeque};
use std::ffi::CStr;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use model::errno::Errno;
use model::spawn::ChildPlan;
use model::stage::{Config, FinalPlan, Input, Job, Paths, Stages, State};
use model::time::{Mono, Now, Span, Wall};
use runtime::driver::{self, Io, Os, Trace, Turn};
use runtime::exec::stage::{StageIo, StagePaths};
use runtime::fs::AtomicWriteError;
use runtime::latch::SignalSet;
use runtime::os::{StageSyscalls, Syscalls};
use runtime::process::{Reaped, SpawnSpec};
use runtime::wait::{Interest, Ready};

use crate::sim::rng::Rng;

/// What a child of PID 1 is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `/etc/runit/1`, `2`, `3`.
    Stage(u8),
    /// `/etc/runit/ctrlaltdel`.
    CtrlAltDel,
    /// The final child (sync, reboot).
    Final,
    /// A process reparented to PID 1.
    Orphan,
}

#[derive(Clone, Debug)]
struct Child {
    kind: Kind,
    exit_at: Option<Mono>,
    status: i32,
    zombie: Option<i32>,
    ignores_term: bool,
}

/// A deliberately wrong kernel, to show the checks can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StagePlant {
    /// Everything as it should be.
    None,
    /// Stage 2's exit is never reported to PID 1 while a ctrlaltdel fork waits for its
    /// retry (a reaped child lost): the system never reaches stage 3.
    LoseStage2ExitInForkPause,
}

/// The invariants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StageCheck {
    /// A stage started out of order, twice at once, or ctrlaltdel outside stage 2.
    StageOrder,
    /// A signal to a process that is not PID 1's child, or one runit never sends.
    SignalsOnlyToChildren,
    /// PID 1 waits with no child of interest alive and no deadline.
    Stuck,
    /// Stage 2 ended cleanly and the final reboot was not reached in time.
    ReachesReboot,
    /// PID 1 exited (outside container mode).
    NeverExits,
}

/// What a run did; equal for equal seeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageReport {
    /// The seed.
    pub seed: u64,
    /// Failed checks (the run stops at the first).
    pub violations: Vec<(StageCheck, String)>,
    /// Forks that failed, by what was forked.
    pub forks_failed: BTreeMap<String, usize>,
    /// ctrlaltdel runs started.
    pub ctrlaltdel_runs: usize,
    /// Stage 2 exits (clean and 111).
    pub stage2_exits: usize,
    /// Times stage 2 exited while a failed ctrlaltdel fork waited for its retry.
    pub cad_pause_stage2_exit: usize,
    /// The final reboot was reached.
    pub rebooted: bool,
    /// Scheduler steps.
    pub steps: usize,
    /// Invariant evaluations.
    pub checks: usize,
    /// Digest of every event.
    pub digest: u64,
    /// The planted bug took effect.
    pub plant_fired: bool,
}

impl StageReport {
    /// The first violation, if any.
    pub fn failure(&self) -> Option<String> {
        self.violations.first().map(|(c, m)| format!("{c:?}: {m}"))
    }
}

const T0: Mono = Mono(1_000_000_000);

struct World {
    rng: Rng,
    now: Now,
    paths: Paths,
    plant: StagePlant,
    procs: BTreeMap<i32, Child>,
    next_pid: i32,
    pending: u64,
    stopit: bool,
    ctrlaltdel_x: bool,
    /// Stage spawns so far, in order.
    started: Vec<u8>,
    /// From then on stage 2 ends by itself.
    stage2_end: Mono,
    /// Every stage 2's pid (a process-group id runit may signal).
    stage2_pids: Vec<i32>,
    /// When stage 2 last exited cleanly (reaped by the kernel's reckoning).
    stage2_done: Option<Mono>,
    /// A ctrlaltdel fork failed and no ctrlaltdel has started since.
    cad_fork_failed: bool,
    rebooted: bool,
    forks_failed: BTreeMap<String, usize>,
    ctrlaltdel_runs: usize,
    stage2_exits: usize,
    cad_pause_stage2_exit: usize,
    violations: Vec<(StageCheck, String)>,
    hasher: DefaultHasher,
    plant_fired: bool,
    trace: bool,
}

impl World {
    fn note<T: Hash + std::fmt::Debug>(&mut self, x: T) {
        x.hash(&mut self.hasher);
        if self.trace {
            eprintln!("+{} {x:?}", (self.now.mono.0 - T0.0) / 1_000_000);
        }
    }

    fn violate(&mut self, c: StageCheck, m: String) {
        if self.violations.is_empty() {
            let t = (self.now.mono.0 - T0.0) / 1_000_000;
            self.violations.push((c, format!("{m} (at +{t} ms)")));
        }
    }

    fn live(&self, kind: Kind) -> Option<i32> {
        self.procs.iter().find(|(_, c)| c.kind == kind && c.zombie.is_none()).map(|(&p, _)| p)
    }

    fn die(&mut self, pid: i32, status: i32) {
        let Some(c) = self.procs.get_mut(&pid) else { return };
        if c.zombie.is_some() {
            return;
        }
        c.zombie = Some(status);
        c.exit_at = None;
        let kind = c.kind;
        self.pending |= 1 << libc::SIGCHLD;
        self.note(("exit", pid, kind, status));
        if kind == Kind::Stage(2) {
            self.stage2_exits += 1;
            if status == 0 {
                self.stage2_done = Some(self.now.mono);
            }
        }
        if kind == Kind::CtrlAltDel && self.rng.chance(500) {
            // A typical ctrlaltdel script: make stopit executable and SIGCONT PID 1.
            self.stopit = true;
            self.pending |= 1 << libc::SIGCONT;
        }
    }

    fn deliver(&mut self, pid: i32, sig: i32) {
        let Some(c) = self.procs.get_mut(&pid) else { return };
        if c.zombie.is_some() {
            return;
        }
        match sig {
            libc::SIGKILL => self.die(pid, sig),
            libc::SIGTERM if c.ignores_term => {}
            libc::SIGTERM => {
                let at = self.now.mono + Span::from_millis(self.rng.below(2000));
                if let Some(c) = self.procs.get_mut(&pid) {
                    c.exit_at = Some(c.exit_at.map_or(at, |e| e.min(at)));
                    c.status = 0;
                }
            }
            _ => {}
        }
    }

    fn spawn(&mut self, kind: Kind) -> Result<i32, Errno> {
        let name = format!("{kind:?}");
        if kind != Kind::Final && self.rng.chance(250) {
            *self.forks_failed.entry(name).or_default() += 1;
            if kind == Kind::CtrlAltDel {
                self.cad_fork_failed = true;
            }
            self.note(("fork failed", kind));
            return Err(Errno::EAGAIN);
        }
        // Stage order: 1, then 2 (again only after it ended), then 3 once; never two at once.
        if let Kind::Stage(n) = kind {
            let running: Vec<i32> = (1..=3).filter_map(|s| self.live(Kind::Stage(s))).collect();
            let ok = match n {
                1 => self.started.is_empty(),
                2 => self.started.first() == Some(&1) && !self.started.contains(&3),
                // Stage 3 follows stage 2, or a shutdown asked for while no stage 2 runs
                // (its fork waits for a retry).
                _ => self.started.first() == Some(&1) && !self.started.contains(&3),
            };
            if !ok || !running.is_empty() {
                self.violate(StageCheck::StageOrder, format!("stage {n} started after {:?} with {running:?} running", self.started));
            }
            self.started.push(n);
        }
        if kind == Kind::CtrlAltDel {
            self.cad_fork_failed = false;
            self.ctrlaltdel_runs += 1;
            if !self.started.contains(&2) || self.started.contains(&3) {
                self.violate(StageCheck::StageOrder, format!("ctrlaltdel started after {:?}", self.started));
            }
        }
        let now = self.now.mono;
        let exit_at = match kind {
            // After the active period a (re)started stage 2 ends by itself within 2 s.
            Kind::Stage(2) if now >= self.stage2_end => Some(now + Span::from_millis(self.rng.below(2000))),
            Kind::Stage(2) | Kind::Orphan => None,
            Kind::Final => Some(now),
            _ => Some(now + Span::from_millis(self.rng.below(2000))),
        };
        self.next_pid += 1;
        let pid = self.next_pid;
        let ignores_term = kind == Kind::Stage(2) && self.rng.chance(200);
        self.procs.insert(pid, Child { kind, exit_at, status: 0, zombie: None, ignores_term });
        if kind == Kind::Stage(2) {
            self.stage2_pids.push(pid);
        }
        self.note(("spawn", pid, kind));
        Ok(pid)
    }
}

/// PID 1's view of the fake kernel.
pub struct StageSys(Rc<RefCell<World>>);

impl Syscalls for StageSys {
    fn spawn(&mut self, _spec: &SpawnSpec) -> Result<i32, Errno> {
        Err(Errno::EINVAL)
    }
    fn wait_pid(&mut self, _pid: i32) -> Result<i32, Errno> {
        Err(Errno::ECHILD)
    }
    fn reap_nohang(&mut self) -> Option<Reaped> {
        let w = &mut *self.0.borrow_mut();
        let (pid, status, kind) = w.procs.iter().find_map(|(&p, c)| c.zombie.map(|s| (p, s, c.kind)))?;
        w.procs.remove(&pid);
        if w.plant == StagePlant::LoseStage2ExitInForkPause && kind == Kind::Stage(2) && w.cad_fork_failed {
            // The lie: the child is gone and PID 1 never hears of it.
            w.plant_fired = true;
            return None;
        }
        w.note(("reap", pid));
        Some(Reaped { pid, status })
    }
    fn kill(&mut self, pid: i32, sig: i32) -> Result<(), Errno> {
        let w = &mut *self.0.borrow_mut();
        w.note(("kill", pid, sig));
        if ![libc::SIGTERM, libc::SIGKILL, libc::SIGALRM].contains(&sig) {
            w.violate(StageCheck::SignalsOnlyToChildren, format!("signal {sig} to {pid}: runit sends only TERM, KILL and ALRM"));
        }
        if pid == -1 {
            if w.started.contains(&3) {
                let all: Vec<i32> = w.procs.keys().copied().collect();
                for p in all {
                    w.deliver(p, libc::SIGKILL);
                }
            } else {
                w.violate(StageCheck::SignalsOnlyToChildren, format!("kill(-1, {sig}) before stage 3 ran"));
            }
            return Ok(());
        }
        if pid < 0 && w.stage2_pids.contains(&-pid) {
            // A failed stage 2's session: its leader may be reaped already (no members here).
            return Err(Errno::ESRCH);
        }
        match w.procs.get(&pid) {
            Some(_) => {
                w.deliver(pid, sig);
                Ok(())
            }
            None => {
                w.violate(StageCheck::SignalsOnlyToChildren, format!("signal {sig} to {pid}, not a child"));
                Err(Errno::ESRCH)
            }
        }
    }
    fn stat_mode(&mut self, path: &CStr) -> Result<u32, Errno> {
        let w = self.0.borrow();
        let p = path.to_bytes();
        let x = |on: bool| if on { Ok(libc::S_IFREG | 0o755) } else { Ok(libc::S_IFREG | 0o644) };
        if p == w.paths.stopit {
            x(w.stopit)
        } else if p == w.paths.ctrlaltdel {
            x(w.ctrlaltdel_x)
        } else if p == w.paths.reboot {
            x(false)
        } else {
            Err(Errno::ENOENT)
        }
    }
    fn open_read(&mut self, _path: &CStr) -> Result<i32, Errno> {
        Err(Errno::ENOENT)
    }
    fn read(&mut self, _fd: i32, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    fn close(&mut self, _fd: i32) -> Result<(), Errno> {
        Ok(())
    }
    fn write_atomic(&mut self, _tmp: &CStr, _dest: &CStr, _bytes: &[u8]) -> Result<(), AtomicWriteError> {
        Err(AtomicWriteError::Open(Errno::EINVAL))
    }
    fn write_stderr(&mut self, line: &[u8]) {
        self.0.borrow_mut().note(("stderr", line));
    }
    fn set_nonblock(&mut self, _fd: i32) -> Result<(), Errno> {
        Ok(())
    }
}

impl StageSyscalls for StageSys {
    fn spawn_script(&mut self, plan: &ChildPlan) -> Result<i32, Errno> {
        let w = &mut *self.0.borrow_mut();
        let path = plan.exec.candidates.first().cloned().unwrap_or_default();
        let kind = if path == w.paths.stage1 {
            Kind::Stage(1)
        } else if path == w.paths.stage2 {
            Kind::Stage(2)
        } else if path == w.paths.stage3 {
            Kind::Stage(3)
        } else if path == w.paths.ctrlaltdel {
            Kind::CtrlAltDel
        } else {
            return Err(Errno::ENOENT);
        };
        w.spawn(kind)
    }
    fn spawn_final(&mut self, _paths: &Paths, _plan: &FinalPlan) -> Result<i32, Errno> {
        let w = &mut *self.0.borrow_mut();
        if w.rng.chance(250) {
            *w.forks_failed.entry("Final".into()).or_default() += 1;
            return Err(Errno::EAGAIN);
        }
        w.rebooted = true;
        w.spawn(Kind::Final)
    }
    fn run_final(&mut self, _paths: &Paths, _plan: &FinalPlan) {
        let w = &mut *self.0.borrow_mut();
        w.note("final inline");
        w.rebooted = true;
    }
    fn say(&mut self, line: &[u8]) {
        self.0.borrow_mut().note(("say", line));
    }
    fn point_at_console(&mut self, _console: &CStr) {}
    fn chmod(&mut self, path: &CStr, _mode: u32) -> Result<(), Errno> {
        let w = &mut *self.0.borrow_mut();
        if path.to_bytes() == w.paths.stopit {
            w.stopit = false;
        }
        Ok(())
    }
    fn sync(&mut self) {}
}

struct Clock(Rc<RefCell<World>>);

impl Os for Clock {
    fn now(&mut self) -> Now {
        self.0.borrow().now
    }
    fn wait(&mut self, _interests: &[Interest], _now: Now, _deadline: Option<Mono>) -> (Vec<Ready>, SignalSet) {
        (Vec::new(), SignalSet::default())
    }
}

/// Runs one seeded stage simulation: up to `secs` virtual seconds of outside events, then
/// a quiet minute (no events, no fork failures is *not* assumed: forks keep failing).
pub fn run(seed: u64, secs: u64, plant: StagePlant) -> StageReport {
    let paths = Paths::under(b"/sim");
    let world = World {
        rng: Rng::new(seed.wrapping_mul(0x2545_F491).wrapping_add(11)),
        now: Now { mono: T0, wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } },
        paths: paths.clone(),
        plant,
        procs: BTreeMap::new(),
        next_pid: 1,
        pending: 0,
        stopit: false,
        ctrlaltdel_x: true,
        started: Vec::new(),
        stage2_pids: Vec::new(),
        stage2_end: T0 + Span::from_secs(secs + 1),
        stage2_done: None,
        cad_fork_failed: false,
        rebooted: false,
        forks_failed: BTreeMap::new(),
        ctrlaltdel_runs: 0,
        stage2_exits: 0,
        cad_pause_stage2_exit: 0,
        violations: Vec::new(),
        hasher: DefaultHasher::new(),
        plant_fired: false,
        trace: std::env::var_os("STAGE_SIM_TRACE").is_some(),
    };
    let w = Rc::new(RefCell::new(world));
    let mut clock = Clock(w.clone());
    let mut m = Stages::new(Config::default());
    let mut io = StageIo::over(StageSys(w.clone()), StagePaths::new(paths));
    let mut queue = VecDeque::from([Input::Boot]);
    let mut deadline: Option<Mono> = None;
    let (mut steps, mut checks) = (0usize, 0usize);
    let active_end = T0 + Span::from_secs(secs);
    // Stage 2 ends cleanly by itself at the latest here, so every run reaches a reboot.
    let stage2_end = active_end + Span::from_secs(1);
    let end = active_end + Span::from_secs(60);
    let mut outside_at = T0 + Span::from_millis(500);
    let mut cap = model::StepCap::new("stage sim: steps", 200_000);
    loop {
        cap.step();
        steps += 1;
        // PID 1's turn, if something wakes it.
        let sigs = std::mem::take(&mut w.borrow_mut().pending);
        let now = w.borrow().now.mono;
        let due = deadline.is_some_and(|d| d <= now);
        if sigs != 0 || due {
            driver::woken::<Stages, _, _>(&mut io, &mut clock, deadline, Vec::new(), SignalSet(sigs), &mut queue);
        }
        if sigs != 0 || due || !queue.is_empty() {
            let waiting = cad_pause(m.state(), false);
            match driver::settle(&mut m, &mut io, &mut clock, &mut queue, &mut Trace::none()) {
                Turn::Finished(code) => {
                    w.borrow_mut().violate(StageCheck::NeverExits, format!("runit exited {code}"));
                }
                Turn::Waiting { deadline: d, .. } => deadline = d,
            }
            if waiting && cad_pause(m.state(), true) {
                w.borrow_mut().cad_pause_stage2_exit += 1;
            }
        }
        // Checks.
        checks += 2;
        {
            let wb = &mut *w.borrow_mut();
            if io.finished().is_some() {
                wb.violate(StageCheck::NeverExits, "runit finished".into());
            }
            let busy = [Kind::Stage(1), Kind::Stage(2), Kind::Stage(3), Kind::CtrlAltDel, Kind::Final]
                .iter()
                .any(|&k| wb.procs.values().any(|c| c.kind == k));
            if !wb.rebooted && !busy && deadline.is_none() && wb.pending == 0 {
                wb.violate(StageCheck::Stuck, format!("no child and no deadline in {:?}", m.state()));
            }
            if !wb.violations.is_empty() || wb.rebooted {
                break;
            }
        }
        // Time passes to the next event.
        let now = w.borrow().now.mono;
        if now >= end {
            let wb = &mut *w.borrow_mut();
            if let Some(t) = wb.stage2_done {
                let late = (now - t).as_millis();
                wb.violate(StageCheck::ReachesReboot, format!("stage 2 ended {late} ms ago, no reboot: {:?}", m.state()));
            }
            break;
        }
        let mut next = end;
        if now < active_end {
            next = next.min(outside_at);
        }
        if now < stage2_end {
            next = next.min(stage2_end);
        }
        for c in w.borrow().procs.values().filter(|c| c.zombie.is_none()) {
            if let Some(e) = c.exit_at {
                next = next.min(e);
            }
        }
        if let Some(d) = deadline {
            next = next.min(d);
        }
        let wb = &mut *w.borrow_mut();
        if next > now {
            wb.now = wb.now.after(next - now);
        }
        let now = wb.now.mono;
        let due: Vec<(i32, i32)> = wb
            .procs
            .iter()
            .filter(|(_, c)| c.zombie.is_none() && c.exit_at.is_some_and(|e| e <= now))
            .map(|(&p, c)| (p, c.status))
            .collect();
        for (pid, status) in due {
            wb.die(pid, status);
        }
        if now >= stage2_end {
            if let Some(p) = wb.live(Kind::Stage(2)) {
                wb.die(p, 0);
            }
        }
        if now < active_end && outside_at <= now {
            outside_at = now + Span::from_millis(wb.rng.below(3000));
            outside(wb);
        }
    }
    let wb = &mut *w.borrow_mut();
    StageReport {
        seed,
        violations: std::mem::take(&mut wb.violations),
        forks_failed: std::mem::take(&mut wb.forks_failed),
        ctrlaltdel_runs: wb.ctrlaltdel_runs,
        stage2_exits: wb.stage2_exits,
        cad_pause_stage2_exit: wb.cad_pause_stage2_exit,
        rebooted: wb.rebooted,
        steps,
        checks,
        digest: wb.hasher.finish(),
        plant_fired: wb.plant_fired,
    }
}

/// PID 1 waits to retry a failed ctrlaltdel fork, stage 2 having exited (`exited`) or not.
fn cad_pause(s: &State, exited: bool) -> bool {
    matches!(s, State::ForkPause { job: Job::CtrlAltDel, stage2: Some(s2), .. } if s2.exited.is_some() == exited)
}

/// One outside event.
fn outside(w: &mut World) {
    let r = w.rng.below(100);
    w.note(("outside", r));
    match r {
        // Ctrl-alt-del.
        0..=39 => w.pending |= 1 << libc::SIGINT,
        // Stage 2 ends: cleanly, or with 111 (runit restarts it).
        40..=54 => {
            if let Some(p) = w.live(Kind::Stage(2)) {
                let status = if w.rng.chance(300) { 111 << 8 } else { 0 };
                w.die(p, status);
            }
        }
        // A shutdown request: SIGCONT with stopit, or SIGPWR.
        55..=59 => {
            w.stopit = w.rng.chance(500);
            w.pending |= 1 << libc::SIGCONT;
        }
        60..=61 => w.pending |= 1 << libc::SIGPWR,
        62..=71 => w.pending |= 1 << libc::SIGALRM,
        // An orphan reparented to PID 1 exits.
        72..=91 => {
            w.next_pid += 1;
            let p = w.next_pid;
            w.procs.insert(p, Child { kind: Kind::Orphan, exit_at: None, status: 0, zombie: None, ignores_term: false });
            w.die(p, 0);
        }
        _ => w.ctrlaltdel_x = !w.ctrlaltdel_x,
    }
}
