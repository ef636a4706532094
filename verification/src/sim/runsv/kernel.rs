//! The fake kernel under the simulated runsv: a virtual clock (monotonic and wall, the
//! wall clock stepping on its own), processes with scheduled behaviour, a pending-signal
//! set, the two `control` FIFOs as byte queues, the `supervise/` status files, and faults
//! drawn from a seeded generator. Everything is a function of the seed.
//!
//! It decides nothing about runsv: it only answers what the executor asks (fork, kill,
//! write a file, run a control script) the way a Linux kernel plus a hostile
//! administrator might, and it lets time pass when the driver waits.

use std::collections::{BTreeMap, VecDeque};

use model::errno::Errno;
use model::runsv::text::StatusFile;
use model::runsv::{ControlOutcome, Program, Sig, Slot};
use model::time::{Mono, Now, Span};

use runtime::fs::AtomicWriteError;

use crate::reference::runsv::{FIRST_PID, FORK_ERRNO, T0};
use crate::sim::rng::Rng;

/// The fd the simulated executor reports for the main slot's `control` FIFO.
pub const MAIN_CONTROL_FD: i32 = 3;
/// The fd for the log slot's `control` FIFO.
pub const LOG_CONTROL_FD: i32 = 4;
/// The read end of the log pipe (`log/run`'s stdin).
pub const LOG_PIPE_R: i32 = 5;
/// The write end of the log pipe (`./run`'s and `./finish`'s stdout).
pub const LOG_PIPE_W: i32 = 6;
/// Linux's SIGCHLD (what a child's exit latches).
pub const SIGCHLD: i32 = runtime::exec::runsv::CORE_SIGNALS[0];
/// Linux's SIGTERM (what the administrator sends runsv).
pub const SIGTERM: i32 = runtime::exec::runsv::CORE_SIGNALS[1];

/// The kinds of injected fault (counted per run, for the figures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// `fork` fails with EAGAIN.
    ForkEagain,
    /// The wait returns with nothing (EINTR-like spurious wake-up).
    SpuriousWake,
    /// A status file write fails (EMFILE on open, ENOSPC on write, short write, EIO on rename).
    StatusWrite,
    /// A `control/<c>` script hangs (runsv blocks) until it exits or is killed.
    ControlHang,
    /// `control/<c>`: stat, fork or wait fails.
    ControlError,
    /// The wall clock steps forward or back.
    ClockStep,
    /// `log/run` crashes on its own.
    LogCrash,
}

/// What one `control/<c>` run will do, drawn in advance (so the shadow world can be told).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ControlPlan {
    /// What the executor reports.
    pub outcome: ControlOutcome,
    /// How long runsv is blocked waiting for it.
    pub hang: Span,
}

/// Something the outside world does at a scheduled virtual time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ext {
    /// A byte written to a slot's `control` FIFO.
    Byte(Slot, u8),
    /// SIGTERM to runsv.
    Term,
    /// The wall clock jumps by this many seconds (monotonic time does not move).
    WallStep(i64),
    /// `./finish` appears or disappears.
    FinishToggle,
    /// From now on no new faults are injected (the end phase).
    Quiet,
    /// A signal runsv catches and ignores (HUP, INT, ...): it wakes the loop for nothing.
    Stray(i32),
}

/// Which program a fake process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `./run`.
    Run,
    /// `./finish`.
    Finish,
    /// `log/run`.
    LogRun,
}

/// One fake child of runsv.
#[derive(Clone, Debug)]
pub struct Proc {
    /// Its slot.
    pub slot: Slot,
    /// Its program.
    pub kind: Kind,
    /// When it exits on its own (`None`: only a signal or EOF ends it); frozen while stopped.
    pub exit_at: Option<Mono>,
    /// The raw wait status of that natural exit.
    pub exit_status: i32,
    /// It catches and ignores SIGTERM.
    pub ignores_term: bool,
    /// HUP/INT/QUIT/USR1/USR2/ALRM kill it (otherwise it handles them).
    pub dies_on_other: bool,
    /// Stopped by SIGSTOP.
    pub stopped: bool,
    /// Time left to its natural exit when it was stopped.
    pub remaining: Option<Span>,
    /// A fatal signal that arrived while stopped (takes effect on CONT).
    pub pending_fatal: Option<i32>,
    /// `Some(raw status)` once exited and not yet reaped (a zombie).
    pub zombie: Option<i32>,
}

/// The last content of one slot's status files, and whether the last attempt at each
/// failed (so the file may legitimately lag behind the state).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotFiles {
    /// `pid`.
    pub pid: Option<Vec<u8>>,
    /// `stat`.
    pub stat: Option<Vec<u8>>,
    /// `status`.
    pub status: Option<Vec<u8>>,
    /// The last write of (pid, stat, status) failed or was skipped.
    pub stale: [bool; 3],
}

/// How a kernel is set up.
#[derive(Clone, Debug)]
pub struct KernelConfig {
    /// Inject faults until the end phase.
    pub faults: bool,
    /// Virtual time of activity before the end phase (SIGTERM, then repeated `c`/`k`).
    pub active: Span,
    /// There is a log slot (command bytes may go to its FIFO).
    pub has_log: bool,
    /// `control/<c>` scripts may hang (runsv blocks while virtual time passes).
    pub hangs: bool,
}

/// The whole fake kernel.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// The virtual clock.
    pub now: Now,
    rng: Rng,
    plan_rng: Rng,
    /// Faults are being injected.
    pub faults_on: bool,
    /// Control scripts may hang.
    pub hangs: bool,
    /// Children (live and zombie), by pid.
    pub procs: BTreeMap<u32, Proc>,
    zombies: VecDeque<u32>,
    next_pid: u32,
    /// Latched signals to runsv (bit per signal number).
    pub pending: u64,
    /// The `control` FIFOs (index 0 main, 1 log).
    pub fifo: [VecDeque<u8>; 2],
    events: BTreeMap<(Mono, u64), Ext>,
    /// The status files per slot (index 0 main, 1 log).
    pub files: [SlotFiles; 2],
    /// `./finish` can be opened.
    pub finish_present: bool,
    /// The log pipe is still open.
    pub log_pipe_open: bool,
    /// Lines runsv wrote on stderr (machine warnings and executor warnings).
    pub stderr: Vec<Vec<u8>>,
    /// Injected faults, by kind.
    pub faults: BTreeMap<FaultKind, usize>,
    fork_plan: Vec<bool>,
    control_plan: Vec<ControlPlan>,
    /// When the end phase starts.
    pub end_at: Mono,
    /// Successful forks, per slot.
    pub starts: [usize; 2],
    /// Signals delivered.
    pub signals: usize,
    /// Planted bug: the next child to exit can never be reaped (its SIGCHLD and its
    /// `waitpid` result are lost; it stays a zombie).
    pub lose_next_reap: bool,
}

fn ix(slot: Slot) -> usize {
    match slot {
        Slot::Main => 0,
        Slot::Log => 1,
    }
}

/// The command bytes the administrator types, weighted (junk included).
const BYTES: &[(u8, u64)] = &[
    (b'u', 15),
    (b'd', 12),
    (b'o', 6),
    (b't', 8),
    (b'p', 6),
    (b'c', 8),
    (b'k', 6),
    (b'h', 3),
    (b'a', 2),
    (b'i', 2),
    (b'q', 2),
    (b'1', 2),
    (b'2', 2),
    (b'x', 1),
    (b'Z', 2),
];

impl Kernel {
    /// A kernel for `seed`: the clock at the reference start time, the whole schedule of
    /// outside events drawn up front.
    pub fn new(seed: u64, cfg: &KernelConfig) -> Kernel {
        let mut k = Kernel {
            now: T0,
            rng: Rng::new(seed.wrapping_mul(3).wrapping_add(1)),
            plan_rng: Rng::new(seed.wrapping_mul(7).wrapping_add(5)),
            faults_on: cfg.faults,
            hangs: cfg.hangs,
            procs: BTreeMap::new(),
            zombies: VecDeque::new(),
            next_pid: FIRST_PID,
            pending: 0,
            fifo: [VecDeque::new(), VecDeque::new()],
            events: BTreeMap::new(),
            files: [SlotFiles::default(), SlotFiles::default()],
            finish_present: false,
            log_pipe_open: cfg.has_log,
            stderr: Vec::new(),
            faults: BTreeMap::new(),
            fork_plan: Vec::new(),
            control_plan: Vec::new(),
            end_at: T0.mono + cfg.active,
            starts: [0, 0],
            signals: 0,
            lose_next_reap: false,
        };
        k.finish_present = k.rng.chance(500);
        k.schedule(cfg);
        k
    }

    fn at(&mut self, t: Mono, e: Ext) {
        let seq = self.events.len() as u64;
        self.events.insert((t, seq), e);
    }

    fn byte(&mut self) -> u8 {
        let total: u64 = BYTES.iter().map(|b| b.1).sum();
        let mut r = self.rng.below(total);
        for &(b, w) in BYTES {
            if r < w {
                return b;
            }
            r -= w;
        }
        b'u'
    }

    fn schedule(&mut self, cfg: &KernelConfig) {
        let mut t = T0.mono;
        loop {
            t = t + Span::from_millis(self.rng.below(4000));
            if t >= self.end_at {
                break;
            }
            let r = self.rng.below(100);
            if r < 85 {
                let burst = if self.rng.chance(150) { 2 + self.rng.below(2) } else { 1 };
                for _ in 0..burst {
                    let slot = if cfg.has_log && self.rng.chance(250) { Slot::Log } else { Slot::Main };
                    let b = self.byte();
                    self.at(t, Ext::Byte(slot, b));
                }
            } else if r < 91 {
                self.at(t, Ext::FinishToggle);
            } else if r < 94 {
                let sig = runtime::exec::runsv::STRAY_SIGNALS[self.rng.below(7) as usize];
                self.at(t, Ext::Stray(sig));
            } else if cfg.faults {
                let secs = 1 + self.rng.below(86_400) as i64;
                let step = if self.rng.chance(500) { secs } else { -secs };
                self.at(t, Ext::WallStep(step));
            }
        }
        let end = self.end_at;
        self.at(end, Ext::Quiet);
        self.at(end, Ext::Term);
        for i in 1..=20u64 {
            let t = end + Span::from_secs(3 * i);
            // A `u` still queued in the FIFO legitimately cancels an `x`: keep asking.
            self.at(t, Ext::Term);
            self.at(t, Ext::Byte(Slot::Main, b'c'));
            self.at(t, Ext::Byte(Slot::Main, b'k'));
            if cfg.has_log {
                self.at(t, Ext::Byte(Slot::Log, b'c'));
            }
        }
    }

    fn fault(&mut self, kind: FaultKind, per_mille: u64) -> bool {
        if self.faults_on && self.rng.chance(per_mille) {
            *self.faults.entry(kind).or_default() += 1;
            true
        } else {
            false
        }
    }

    /// The `i`th fork's result (`true` = it succeeds), drawn on first use.
    pub fn fork_plan(&mut self, i: usize) -> bool {
        while self.fork_plan.len() <= i {
            let fail = self.faults_on && self.plan_rng.chance(60);
            self.fork_plan.push(!fail);
        }
        self.fork_plan[i]
    }

    /// The `i`th `control/<c>` run, drawn on first use.
    pub fn control_plan(&mut self, i: usize) -> ControlPlan {
        while self.control_plan.len() <= i {
            let r = self.plan_rng.below(100);
            let none = Span::ZERO;
            let p = if !self.faults_on {
                match r {
                    0..=79 => ControlPlan { outcome: ControlOutcome::Absent, hang: none },
                    80..=89 => ControlPlan { outcome: ControlOutcome::Exited(0), hang: none },
                    _ => ControlPlan { outcome: ControlOutcome::Exited(1 << 8), hang: none },
                }
            } else {
                match r {
                    0..=59 => ControlPlan { outcome: ControlOutcome::Absent, hang: none },
                    60..=69 => ControlPlan { outcome: ControlOutcome::Exited(0), hang: none },
                    70..=79 => ControlPlan { outcome: ControlOutcome::Exited(1 << 8), hang: none },
                    80..=81 => ControlPlan { outcome: ControlOutcome::StatFailed(Errno::EACCES), hang: none },
                    82..=84 => ControlPlan { outcome: ControlOutcome::ForkFailed(Errno::EAGAIN), hang: none },
                    85..=86 => ControlPlan { outcome: ControlOutcome::WaitFailed(Errno::ECHILD), hang: none },
                    _ => {
                        // Hangs, then exits or is killed by the administrator (KILL or TERM:
                        // runit counts a killed script as a success).
                        let hang = Span::from_millis(200 + self.plan_rng.below(15_000));
                        let hang = if self.hangs { hang } else { none };
                        let st = [0, 1 << 8, 9, 15][self.plan_rng.below(4) as usize];
                        ControlPlan { outcome: ControlOutcome::Exited(st), hang }
                    }
                }
            };
            self.control_plan.push(p);
        }
        self.control_plan[i]
    }

    /// Counts a fault that a plan entry carried out (plans are drawn ahead of use).
    pub fn count(&mut self, kind: FaultKind) {
        *self.faults.entry(kind).or_default() += 1;
    }

    /// Forks `program` for `slot` as the `i`th fork: a fresh pid and a drawn behaviour, or
    /// EAGAIN.
    pub fn spawn(&mut self, i: usize, slot: Slot, program: &Program) -> Result<u32, Errno> {
        if !self.fork_plan(i) {
            self.count(FaultKind::ForkEagain);
            return Err(FORK_ERRNO);
        }
        let pid = self.next_pid;
        self.next_pid += 1;
        self.starts[ix(slot)] += 1;
        let now = self.now.mono;
        let ms = |k: &mut Kernel, n: u64| Some(now + Span::from_millis(k.rng.below(n)));
        let p = match program {
            Program::Run => {
                let exit_at = match self.rng.below(10) {
                    0..=2 => ms(self, 900),
                    3..=6 => Some(now + Span::from_millis(1000 + self.rng.below(19_000))),
                    _ => None,
                };
                let exit_status = match self.rng.below(20) {
                    0..=11 => (self.rng.below(4) as i32) << 8,
                    12..=16 => 111 << 8,
                    17..=18 => 11,
                    _ => 6 | 0x80,
                };
                Proc {
                    slot,
                    kind: Kind::Run,
                    exit_at,
                    exit_status,
                    ignores_term: self.rng.chance(150),
                    dies_on_other: self.rng.chance(500),
                    stopped: false,
                    remaining: None,
                    pending_fatal: None,
                    zombie: None,
                }
            }
            Program::Finish { .. } => {
                let exit_at =
                    if self.rng.chance(100) { Some(now + Span::from_millis(5000 + self.rng.below(25_000))) } else { ms(self, 3000) };
                Proc {
                    slot,
                    kind: Kind::Finish,
                    exit_at,
                    exit_status: 0,
                    ignores_term: true,
                    dies_on_other: false,
                    stopped: false,
                    remaining: None,
                    pending_fatal: None,
                    zombie: None,
                }
            }
            Program::LogRun => {
                let exit_at = if self.fault(FaultKind::LogCrash, 100) { ms(self, 30_000) } else { None };
                Proc {
                    slot,
                    kind: Kind::LogRun,
                    exit_at,
                    exit_status: 1 << 8,
                    ignores_term: self.rng.chance(50),
                    dies_on_other: self.rng.chance(500),
                    stopped: false,
                    remaining: None,
                    pending_fatal: None,
                    zombie: None,
                }
            }
        };
        self.procs.insert(pid, p);
        Ok(pid)
    }

    /// Whether `pid` is a child of `slot` that has not been reaped (live or zombie).
    pub fn is_unreaped_child(&self, pid: u32, slot: Slot) -> bool {
        self.procs.get(&pid).is_some_and(|p| p.slot == slot)
    }

    /// Unreaped children of `slot`.
    pub fn children_of(&self, slot: Slot) -> Vec<u32> {
        self.procs.iter().filter(|(_, p)| p.slot == slot).map(|(&pid, _)| pid).collect()
    }

    fn die(&mut self, pid: u32, status: i32) {
        if let Some(p) = self.procs.get_mut(&pid) {
            if p.zombie.is_none() {
                p.zombie = Some(status);
                p.exit_at = None;
                self.zombies.push_back(pid);
                self.pending |= 1 << SIGCHLD;
            }
        }
    }

    fn fatal(&mut self, pid: u32, signo: i32) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        if p.stopped {
            p.pending_fatal.get_or_insert(signo);
        } else {
            self.die(pid, signo);
        }
    }

    /// Delivers `sig` to `pid` with Linux's semantics for a default-disposition child
    /// (STOP freezes it, a fatal signal to a stopped process waits for CONT, KILL always
    /// works); signals to zombies are ignored.
    pub fn deliver(&mut self, pid: u32, sig: Sig) {
        let now = self.now.mono;
        let Some(p) = self.procs.get_mut(&pid) else { return };
        if p.zombie.is_some() {
            return;
        }
        self.signals += 1;
        let signo = runtime::exec::runsv::signo(sig);
        match sig {
            Sig::Kill => self.die(pid, signo),
            Sig::Stop => {
                if !p.stopped {
                    p.stopped = true;
                    p.remaining = p.exit_at.map(|t| t - now);
                    p.exit_at = None;
                }
            }
            Sig::Cont => {
                if p.stopped {
                    p.stopped = false;
                    p.exit_at = p.remaining.take().map(|r| now + r);
                    if let Some(s) = p.pending_fatal.take() {
                        self.die(pid, s);
                    }
                }
            }
            Sig::Term => {
                if !p.ignores_term {
                    self.fatal(pid, signo);
                }
            }
            Sig::Hup | Sig::Alrm | Sig::Int | Sig::Quit | Sig::Usr1 | Sig::Usr2 | Sig::Abrt => {
                if p.dies_on_other {
                    self.fatal(pid, signo);
                }
            }
        }
    }

    /// The next reaped child, in exit order: (pid, raw status, slot, program).
    pub fn reap(&mut self) -> Option<(u32, i32, Slot, Kind)> {
        let mut pid = self.zombies.pop_front()?;
        if self.lose_next_reap {
            self.lose_next_reap = false;
            pid = self.zombies.pop_front()?;
        }
        let p = self.procs.remove(&pid)?;
        Some((pid, p.zombie.unwrap_or(0), p.slot, p.kind))
    }

    /// Closes the log pipe: every `log/run` sees EOF and exits shortly after it runs again.
    pub fn close_log_pipe(&mut self) {
        self.log_pipe_open = false;
        let now = self.now.mono;
        let d = Span::from_millis(self.rng.below(500));
        for p in self.procs.values_mut().filter(|p| p.kind == Kind::LogRun && p.zombie.is_none()) {
            p.exit_status = 0;
            if p.stopped {
                p.remaining = Some(p.remaining.map_or(d, |r| if r.0 < d.0 { r } else { d }));
            } else {
                p.exit_at = Some(p.exit_at.map_or(now + d, |t| t.min(now + d)));
            }
        }
    }

    /// Writes one status file of `slot` the way `write_atomic` would, with injected
    /// failures at each step (open, write, short write, rename). `drop` plants a bug: a
    /// `stat` write that would change the file is lost silently (`*dropped` is then set).
    /// The simulated services declare no readiness protocol, so the record is not kept.
    pub fn write_file(
        &mut self,
        slot: Slot,
        file: StatusFile,
        bytes: &[u8],
        drop: bool,
        dropped: &mut bool,
    ) -> Result<(), AtomicWriteError> {
        let i = match file {
            StatusFile::Pid => 0,
            StatusFile::Stat => 1,
            StatusFile::Status => 2,
            StatusFile::Ext => return Ok(()),
        };
        let f = &mut self.files[ix(slot)];
        if drop && file == StatusFile::Stat && f.stat.as_deref() != Some(bytes) {
            // It reports success: the file no longer lags as far as anyone can tell.
            f.stale[i] = false;
            *dropped = true;
            return Ok(());
        }
        if self.fault(FaultKind::StatusWrite, 15) {
            self.files[ix(slot)].stale[i] = true;
            return Err(match self.rng.below(4) {
                0 => AtomicWriteError::Open(Errno::EMFILE),
                1 => AtomicWriteError::Write(Errno::ENOSPC),
                2 => AtomicWriteError::Partial,
                _ => AtomicWriteError::Rename(Errno::EIO),
            });
        }
        let f = &mut self.files[ix(slot)];
        f.stale[i] = false;
        let dest = [&mut f.pid, &mut f.stat, &mut f.status];
        *dest.into_iter().nth(i).expect("three files") = Some(bytes.to_vec());
        Ok(())
    }

    /// Whether the wait is woken for nothing this time (an injected EINTR).
    pub fn spurious_wake(&mut self) -> bool {
        self.fault(FaultKind::SpuriousWake, 30)
    }

    /// The earliest virtual time something happens on its own (a natural exit or an
    /// outside event).
    pub fn next_event(&self) -> Option<Mono> {
        let exit = self.procs.values().filter(|p| p.zombie.is_none()).filter_map(|p| p.exit_at).min();
        let ext = self.events.keys().next().map(|k| k.0);
        match (exit, ext) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn set_time(&mut self, t: Mono) {
        if t > self.now.mono {
            self.now = self.now.after(t - self.now.mono);
        }
    }

    /// Lets virtual time pass up to `t`, carrying out every exit and outside event due on
    /// the way, in time order (exits before outside events at the same instant).
    pub fn advance_to(&mut self, t: Mono) {
        while let Some(n) = self.next_event().filter(|&n| n <= t) {
            self.set_time(n);
            let due: Vec<u32> =
                self.procs.iter().filter(|(_, p)| p.zombie.is_none() && p.exit_at.is_some_and(|e| e <= n)).map(|(&pid, _)| pid).collect();
            for pid in due {
                let st = self.procs.get(&pid).map_or(0, |p| p.exit_status);
                self.die(pid, st);
            }
            while let Some(entry) = self.events.first_entry() {
                if entry.key().0 > n {
                    break;
                }
                let e = entry.remove();
                self.outside(e);
            }
        }
        self.set_time(t);
    }

    fn outside(&mut self, e: Ext) {
        match e {
            Ext::Byte(slot, b) => self.fifo[ix(slot)].push_back(b),
            Ext::Term => self.pending |= 1 << SIGTERM,
            Ext::WallStep(d) => {
                *self.faults.entry(FaultKind::ClockStep).or_default() += 1;
                self.now.wall.unix_secs += d;
            }
            Ext::FinishToggle => self.finish_present = !self.finish_present,
            Ext::Quiet => self.faults_on = false,
            Ext::Stray(sig) => self.pending |= 1 << sig,
        }
    }

    /// Takes the latched signals.
    pub fn take_signals(&mut self) -> u64 {
        std::mem::take(&mut self.pending)
    }
}
