//! The joint simulation: runsvdir and several runsv over **one** fake kernel, seeded.
//!
//! - runsvdir is its model machine, its obligations answered by the kernel (a directory
//!   of service directories that gains and loses entries, forks that fail).
//! - every runsv is the **production** executor, `runtime::exec::runsv::RunsvIo`, over
//!   [`JointSys`], driven by the production driver's own turn functions
//!   (`runtime::driver::settle` / `woken`); the scheduler here only decides which process
//!   wakes when (one at a time, in a seeded order), as a kernel would.
//! - each service's `./run` writes numbered lines into its log pipe; `log/run` is a fake
//!   consumer that copies the pipe into the service's log (it is not svlogd: svlogd's
//!   executor is not over the fake kernel yet).
//!
//! The outside world changes the directory, writes `sv` command bytes to the control
//! FIFOs while runsvdir rescans, sends signal storms to the tree (TERM to a runsv, which
//! runsvdir then restarts; stray signals; TERM/KILL/STOP/CONT to services; ALRM to
//! runsvdir), crashes services and steps the wall clock; fork failures (runsvdir's and
//! runsv's), status-file open/write/rename failures and control-script failures are
//! injected. After every step the invariants are checked ([`Check`]); after a quiet period
//! every directory must have one runsv whose wanted-up service runs, and every line a
//! service wrote must be in its log, once, in order.
//!
//! Killing runsv outright (SIGKILL, no clean-up: [`JointConfig::kill_runsv`]) is available
//! as a fault: without adoption runsvdir's new runsv starts a second `./run` beside the
//! orphaned one, and the simulation reports it as [`Check::OneChildPerSlot`] — the expected
//! failure until adoption lands.

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::CStr;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use model::errno::Errno;
use model::readiness::Protocol;
use model::runsv::{Config, Input as RsvInput, Phase, Readiness, Runsv, Slot};
use model::runsvdir::machine::{Input as DirInput, Runsvdir};
use model::runsvdir::watch::Effect;
use model::status::Want;
use model::time::{Mono, Now, Span, Wall};
use runtime::driver::{self, Io, Os, Trace, Turn};
use runtime::exec::runsv::{Handled, RunsvIo};
use runtime::exec::runsv_ready::ReadyIo;
use runtime::exec::runsvdir::RunsvdirIo;
use runtime::fs::AtomicWriteError;
use runtime::latch::SignalSet;
use runtime::os::{Datagram, DirSyscalls, FileStat, Syscalls};
use runtime::process::{Reaped, SpawnSpec};
use runtime::wait::{Interest, Ready};

use super::rng::Rng;

const MAIN_CONTROL_FD: i32 = 3;
const LOG_CONTROL_FD: i32 = 4;
const LOG_PIPE_R: i32 = 5;
const LOG_PIPE_W: i32 = 6;
const FINISH_FD: i32 = 7;
const CONTROL_PID: i32 = 900_000;
/// runsv's bound `supervise/notify` socket.
const SOCKET_FD: i32 = 8;
/// The descriptor `./run` gets its notification pipe on (`notification-fd`).
const NOTIFICATION_FD: i32 = 3;
/// A process outside the tree that sends forged notifications.
const STRANGER_PID: i32 = 99_999;
const SIGCHLD: i32 = libc::SIGCHLD;
const SIGTERM: i32 = libc::SIGTERM;
const RUNSVDIR_PID: i32 = 2;
/// runsvdir's descriptors on the fake kernel: the scanned directory, the change notices,
/// the stamp file.
const SCAN_FD: i32 = 40;
const WATCH_FD: i32 = 41;
const STAMP_FD: i32 = 42;

/// How a run is set up.
#[derive(Clone, Debug)]
pub struct JointConfig {
    /// Virtual seconds of activity before the quiet period.
    pub active_secs: u64,
    /// Size of the pool of service names.
    pub names: usize,
    /// Inject faults.
    pub faults: bool,
    /// Also kill runsv with SIGKILL at random points (expected to fail without adoption).
    pub kill_runsv: bool,
    /// A planted bug, to show the checks can fail.
    pub plant: JointPlant,
}

impl Default for JointConfig {
    fn default() -> Self {
        JointConfig { active_secs: 60, names: 5, faults: true, kill_runsv: false, plant: JointPlant::None }
    }
}

/// A deliberately wrong fake behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JointPlant {
    /// Everything as it should be.
    None,
    /// A `log/run` that starts drops what is in the pipe (a pipe handed over badly).
    LoseLogOnHandOver,
    /// runsvdir's forks of runsv are never answered with a process (the fork "succeeds"
    /// but the runsv never runs).
    RunsvNeverRuns,
    /// Forged sd_notify datagrams arrive with the credentials of the service itself (a
    /// kernel that lies about the sender).
    ForgedCredentials,
    /// SIGABRT and SIGKILL to a service are lost (a kernel that drops signals).
    AbortLost,
}

/// The kinds of injected fault, counted for the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JointFault {
    /// runsvdir's fork of a runsv fails.
    RunsvdirFork,
    /// runsv's fork of `./run`, `./finish` or `log/run` fails.
    RunsvFork,
    /// A status file's open, write or rename fails.
    StatusWrite,
    /// A `control/<c>` script's stat fails.
    ControlStat,
    /// A storm: several signals to processes of the tree at once.
    SignalStorm,
    /// SIGTERM to a runsv from outside (runsvdir must start a new one).
    RunsvTerm,
    /// A service crashes on its own.
    ServiceCrash,
    /// The wall clock steps.
    ClockStep,
    /// runsv killed with SIGKILL (only with [`JointConfig::kill_runsv`]).
    RunsvKill,
    /// A service with a readiness protocol never notifies.
    NotifyLost,
    /// A service notifies twice.
    NotifyDuplicated,
    /// `READY=1` from a process that is not the service (its logger, or a stranger).
    NotifyForged,
    /// A watchdog service stops pinging.
    WatchdogLate,
}

/// The invariants checked at every step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// Two live `./run`/`./finish`, or two `log/run`, for one service directory.
    OneChildPerSlot,
    /// Two live runsv for one service directory.
    OneRunsvPerDir,
    /// A signal from runsv to a process that is not its own unreaped child.
    SignalsOnlyToChildren,
    /// A line a service wrote is missing from its log, duplicated or out of order.
    LogBytes,
    /// A runsv's main slot wanted up stayed down past its throttle or fork retry.
    RestartLiveness,
    /// After the quiet period: a directory without its runsv, or a wanted-up service down.
    Converged,
    /// runsv exited with children left, or runsvdir left an obligation unanswered.
    Orderly,
    /// runsv's record says ready while the current `./run` never notified.
    ReadyHonest,
    /// A service that stopped pinging its watchdog was not aborted or killed in time.
    WatchdogActs,
    /// The run hit its step cap.
    StepCap,
}

/// What a run did; equal for equal seeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JointReport {
    /// The seed.
    pub seed: u64,
    /// Failed checks (the run stops at the first).
    pub violations: Vec<(Check, String)>,
    /// Injected faults by kind.
    pub faults: BTreeMap<JointFault, usize>,
    /// Invariant evaluations (checks times steps).
    pub checks: usize,
    /// runsv processes started by runsvdir.
    pub runsv_starts: usize,
    /// runsv processes that exited (and were restarted when their directory remained).
    pub runsv_exits: usize,
    /// `./run` processes started.
    pub service_starts: usize,
    /// Lines services wrote into their log pipes.
    pub lines: usize,
    /// Bytes that reached the logs.
    pub logged_bytes: usize,
    /// Scheduler steps.
    pub steps: usize,
    /// Virtual time covered, in ms.
    pub virtual_ms: u64,
    /// Digest of every event, in order.
    pub digest: u64,
    /// The planted bug took effect.
    pub plant_fired: bool,
    /// Where runsv was killed ([`JointConfig::kill_runsv`]), by point.
    pub kill_points: BTreeMap<&'static str, usize>,
}

impl JointReport {
    /// The first violation, if any.
    pub fn failure(&self) -> Option<String> {
        self.violations.first().map(|(c, m)| format!("{c:?}: {m}"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Run,
    Finish,
    LogRun,
}

#[derive(Clone, Debug)]
struct Proc {
    parent: i32,
    svc: u64,
    kind: Kind,
    exit_at: Option<Mono>,
    exit_status: i32,
    ignores_term: bool,
    stopped: bool,
    zombie: Option<i32>,
    /// `./run`: when it writes its next line (into the log pipe when it has it).
    next_line: Option<Mono>,
    to_pipe: bool,
    seq: u32,
    /// `./run`'s readiness behaviour.
    notify: Notify,
}

/// How a service notifies readiness.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum SvcReady {
    /// No protocol: ready when it runs.
    #[default]
    None,
    /// s6's notification-fd.
    Fd,
    /// sd_notify, maybe with a watchdog.
    Sd(Option<Span>),
}

impl SvcReady {
    fn draw(rng: &mut Rng) -> SvcReady {
        match rng.below(4) {
            0 | 1 => SvcReady::None,
            2 => SvcReady::Fd,
            _ => SvcReady::Sd(rng.chance(500).then(|| Span::from_secs(2))),
        }
    }

    fn readiness(self) -> Readiness {
        match self {
            SvcReady::None => Readiness::default(),
            SvcReady::Fd => Readiness { protocol: Protocol::NotificationFd, watchdog: None },
            SvcReady::Sd(watchdog) => Readiness { protocol: Protocol::SdNotify, watchdog },
        }
    }
}

/// Where and when a `./run` notifies, and what it did.
#[derive(Clone, Copy, Debug, Default)]
struct Notify {
    /// Its notification pipe's read end (as runsv holds it).
    pipe: Option<i32>,
    /// It notifies on runsv's socket.
    socket: bool,
    /// When it sends `READY`.
    at: Option<Mono>,
    /// It sends it twice.
    twice: bool,
    /// It has sent it.
    notified: bool,
    /// Its watchdog period.
    watchdog: Option<Span>,
    next_ping: Option<Mono>,
    /// It stops pinging then.
    hang_at: Option<Mono>,
    last_ping: Mono,
}

/// One notification pipe (keyed by its read end).
#[derive(Clone, Debug)]
struct NPipe {
    owner: i32,
    w: i32,
    buf: Vec<u8>,
    writer: Option<i32>,
}

/// One service directory's kernel objects.
#[derive(Clone, Debug, Default)]
struct Svc {
    fifo: [VecDeque<u8>; 2],
    finish_present: bool,
    /// Bytes in the log pipe, not yet read.
    pipe: Vec<u8>,
    /// Lines written into the pipe, in order.
    sent: Vec<u8>,
    /// What `log/run` copied out.
    logged: Vec<u8>,
    /// Status files by name.
    files: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The current runsv has closed its ends of the log pipe.
    pipe_closed: bool,
    /// Its readiness protocol.
    ready: SvcReady,
}

/// The fake kernel (everything but the runsv executors, which live beside it).
struct World {
    cfg: JointConfig,
    rng: Rng,
    now: Now,
    dir: BTreeMap<Vec<u8>, u64>,
    mtime: i64,
    next_ino: u64,
    svcs: BTreeMap<u64, Svc>,
    procs: BTreeMap<i32, Proc>,
    /// Live runsv pids by service directory.
    runsv_of: BTreeMap<i32, u64>,
    /// Latched signals per process.
    pending: BTreeMap<i32, u64>,
    next_pid: i32,
    quiet: bool,
    faults: BTreeMap<JointFault, usize>,
    /// runsv processes started by runsvdir.
    runsv_starts: usize,
    /// Exited runsv processes runsvdir has not reaped yet.
    runsv_zombies: VecDeque<i32>,
    /// A change notice is pending on runsvdir's watch.
    dir_changed: bool,
    /// runsv processes killed inside a syscall: the rest of their turn has no effect.
    dead: BTreeSet<i32>,
    /// Where runsv was killed, by point.
    kill_points: BTreeMap<&'static str, usize>,
    /// Notification pipes by read end.
    npipes: BTreeMap<i32, NPipe>,
    next_fd: i32,
    /// Datagrams queued on each runsv's `supervise/notify`.
    sockets: BTreeMap<i32, VecDeque<Datagram>>,
    /// Per runsv: when the last fork of its main slot failed (until one succeeds).
    fork_failed: BTreeMap<i32, Mono>,
    violations: Vec<(Check, String)>,
    hasher: DefaultHasher,
    service_starts: usize,
    lines: usize,
    stderr_lines: usize,
    plant_fired: bool,
    /// Print every event (`JOINT_SIM_TRACE=1`).
    trace: bool,
}

impl World {
    fn fault(&mut self, f: JointFault, per_mille: u64) -> bool {
        if !self.cfg.faults || self.quiet || !self.rng.chance(per_mille) {
            return false;
        }
        *self.faults.entry(f).or_default() += 1;
        true
    }

    fn violate(&mut self, c: Check, m: String) {
        if self.violations.is_empty() {
            let t = (self.now.mono.0 - T0.0) / 1_000_000;
            self.violations.push((c, format!("{m} (at +{t} ms)")));
        }
    }

    fn note<T: Hash + std::fmt::Debug>(&mut self, x: T) {
        x.hash(&mut self.hasher);
        if self.trace {
            let t = (self.now.mono.0 - T0.0) / 1_000_000;
            eprintln!("+{t} {x:?}");
        }
    }

    fn pid(&mut self) -> i32 {
        self.next_pid += 1;
        self.next_pid
    }

    fn latch(&mut self, pid: i32, sig: i32) {
        *self.pending.entry(pid).or_default() |= 1 << sig;
    }

    fn die(&mut self, pid: i32, status: i32) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        if p.zombie.is_some() {
            return;
        }
        p.zombie = Some(status);
        p.exit_at = None;
        p.next_line = None;
        let parent = p.parent;
        self.latch(parent, SIGCHLD);
    }

    /// A signal to a service process, with Linux's default dispositions (TERM ignored by
    /// some, STOP freezes, KILL always works).
    fn deliver(&mut self, pid: i32, sig: i32) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        if p.zombie.is_some() {
            return;
        }
        match sig {
            libc::SIGKILL => self.die(pid, sig),
            libc::SIGSTOP => p.stopped = true,
            libc::SIGCONT => p.stopped = false,
            libc::SIGTERM if p.ignores_term => {}
            // A stopped process keeps a fatal signal pending; simplified: only KILL ends it.
            libc::SIGTERM | libc::SIGHUP | libc::SIGINT | libc::SIGQUIT | libc::SIGUSR1 | libc::SIGUSR2 | libc::SIGALRM | libc::SIGABRT
                if !p.stopped =>
            {
                self.die(pid, sig)
            }
            _ => {}
        }
    }

    /// With [`JointConfig::kill_runsv`], runsv `me` may be killed (SIGKILL) right here,
    /// inside a syscall: the kernel finishes nothing after this point for it.
    fn crash_point(&mut self, me: i32, point: &'static str, per_mille: u64) -> bool {
        if !self.cfg.kill_runsv || !self.fault(JointFault::RunsvKill, per_mille) {
            return false;
        }
        *self.kill_points.entry(point).or_default() += 1;
        self.dead.insert(me);
        true
    }

    /// A new `./run`'s readiness behaviour, with the faults drawn for it; `spec` says
    /// which notification pipe it got.
    fn draw_notify(&mut self, svc: u64, pid: i32, spec: &SpawnSpec) -> Notify {
        let now = self.now.mono;
        let ready = self.svcs.get(&svc).map(|s| s.ready).unwrap_or_default();
        let pipe = spec.extra_fd.and_then(|(wfd, n)| {
            if n != NOTIFICATION_FD {
                return None;
            }
            let (&r, p) = self.npipes.iter_mut().find(|(_, p)| p.w == wfd)?;
            p.writer = Some(pid);
            Some(r)
        });
        let socket = matches!(ready, SvcReady::Sd(_));
        if ready == SvcReady::None {
            return Notify::default();
        }
        let lost = self.fault(JointFault::NotifyLost, 100);
        let at = (!lost).then(|| now + Span::from_millis(self.rng.below(2000)));
        let twice = self.fault(JointFault::NotifyDuplicated, 150);
        let watchdog = if let SvcReady::Sd(w) = ready { w } else { None };
        let next_ping = watchdog.map(|p| now + Span(p.0 / 2));
        // Under the planted lost abort every watchdog service hangs, so the plant is reached.
        let late = if self.cfg.plant == JointPlant::AbortLost { 1000 } else { 200 };
        let hang_at =
            watchdog.filter(|_| self.fault(JointFault::WatchdogLate, late)).map(|_| now + Span::from_millis(self.rng.below(8000)));
        Notify { pipe, socket, at, twice, notified: false, watchdog, next_ping, hang_at, last_ping: now }
    }

    /// A `./run` sends `payload` the way its protocol says.
    fn send(&mut self, pid: i32, payload: &[u8]) {
        let Some(p) = self.procs.get(&pid) else { return };
        let (parent, n) = (p.parent, p.notify);
        if let Some(r) = n.pipe {
            if payload == b"READY=1" {
                if let Some(np) = self.npipes.get_mut(&r) {
                    np.buf.push(b'\n');
                }
            }
        } else if n.socket {
            let d = Datagram { payload: payload.to_vec(), pid: Some(pid), fds: 0, truncated: false };
            self.sockets.entry(parent).or_default().push_back(d);
        }
    }

    /// Readiness notifications and watchdog pings that fall due.
    fn notify_due(&mut self) {
        let now = self.now.mono;
        let live: Vec<i32> =
            self.procs.iter().filter(|(_, p)| p.zombie.is_none() && !p.stopped && p.kind == Kind::Run).map(|(&p, _)| p).collect();
        for pid in live {
            let Some(n) = self.procs.get(&pid).map(|p| p.notify) else { continue };
            if n.at.is_some_and(|t| t <= now) {
                self.send(pid, b"READY=1");
                if n.twice {
                    self.send(pid, b"READY=1");
                }
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.notify.at = None;
                    p.notify.notified = true;
                }
            }
            if let (Some(t), Some(period)) = (n.next_ping, n.watchdog) {
                if t <= now {
                    let hung = n.hang_at.is_some_and(|h| h <= now);
                    if !hung {
                        self.send(pid, b"WATCHDOG=1");
                    }
                    if let Some(p) = self.procs.get_mut(&pid) {
                        p.notify.next_ping = (!hung).then(|| now + Span(period.0 / 2));
                        if !hung {
                            p.notify.last_ping = now;
                        }
                    }
                }
            }
        }
    }

    /// `READY=1` on a sd_notify runsv's socket from a process that is not its service.
    fn forge(&mut self, runsvs: &[(i32, u64)]) {
        let targets: Vec<i32> = runsvs
            .iter()
            .filter(|(_, svc)| matches!(self.svcs.get(svc).map(|s| s.ready), Some(SvcReady::Sd(_))))
            .map(|(p, _)| *p)
            .collect();
        if targets.is_empty() || !self.fault(JointFault::NotifyForged, 500) {
            return;
        }
        let runsv = targets[self.rng.below(targets.len() as u64) as usize];
        let logger = self.procs.iter().find(|(_, p)| p.parent == runsv && p.kind == Kind::LogRun && p.zombie.is_none()).map(|(&p, _)| p);
        let from = if self.rng.chance(500) { logger.unwrap_or(STRANGER_PID) } else { STRANGER_PID };
        let d = Datagram { payload: b"READY=1".to_vec(), pid: Some(from), fds: 0, truncated: false };
        self.sockets.entry(runsv).or_default().push_back(d);
    }

    /// `log/run` copies whatever is in the pipe (it reads as soon as data arrives).
    fn drain_pipes(&mut self) {
        let readers: Vec<(u64, bool)> = self
            .procs
            .values()
            .filter(|p| p.kind == Kind::LogRun && p.zombie.is_none() && !p.stopped)
            .map(|p| (p.svc, p.exit_at.is_some()))
            .collect();
        for (svc, _) in readers {
            if let Some(s) = self.svcs.get_mut(&svc) {
                let bytes = std::mem::take(&mut s.pipe);
                s.logged.extend_from_slice(&bytes);
            }
        }
    }
}

const T0: Mono = Mono(1_000_000_000);

/// runsv's view of the fake kernel: each syscall answered for this runsv (`me`) and its
/// service directory (`svc`).
pub struct JointSys {
    w: Rc<RefCell<World>>,
    me: i32,
    svc: u64,
}

impl JointSys {
    fn control_plan(w: &mut World) -> Result<u32, Errno> {
        if w.fault(JointFault::ControlStat, 50) {
            return Err(Errno::EACCES);
        }
        // Most services have no `control/<c>`; some have one that exits 0.
        if w.rng.chance(200) {
            Ok(0o100_755)
        } else {
            Err(Errno::ENOENT)
        }
    }
}

impl Syscalls for JointSys {
    fn spawn(&mut self, spec: &SpawnSpec) -> Result<i32, Errno> {
        let w = &mut *self.w.borrow_mut();
        if w.dead.contains(&self.me) {
            return Err(Errno::EAGAIN);
        }
        w.note(("spawn", self.me, spec.path.as_bytes()));
        if spec.path.as_bytes().starts_with(b"control/") {
            return Ok(CONTROL_PID);
        }
        let kind = match (spec.path.as_bytes(), spec.chdir.is_some()) {
            (_, true) => Kind::LogRun,
            (b"./finish", _) => Kind::Finish,
            _ => Kind::Run,
        };
        if w.fault(JointFault::RunsvFork, 40) {
            if kind != Kind::LogRun {
                w.fork_failed.insert(self.me, w.now.mono);
            }
            return Err(Errno::EAGAIN);
        }
        let now = w.now.mono;
        let exit_at = match kind {
            Kind::Run => match w.rng.below(10) {
                0..=1 => Some(now + Span::from_millis(w.rng.below(900))),
                2..=4 => Some(now + Span::from_millis(1000 + w.rng.below(20_000))),
                _ => None,
            },
            Kind::Finish => Some(now + Span::from_millis(w.rng.below(1500))),
            Kind::LogRun => None,
        };
        let pid = w.pid();
        let ignores_term = kind == Kind::Run && w.rng.chance(100);
        let to_pipe = spec.stdout == Some(LOG_PIPE_W);
        let next_line = (kind == Kind::Run).then(|| now + Span::from_millis(w.rng.below(300)));
        if kind == Kind::Run {
            w.service_starts += 1;
        }
        if kind == Kind::LogRun && w.cfg.plant == JointPlant::LoseLogOnHandOver {
            if let Some(s) = w.svcs.get_mut(&self.svc) {
                if !s.pipe.is_empty() {
                    s.pipe.clear();
                    w.plant_fired = true;
                }
            }
        }
        let notify = if kind == Kind::Run { w.draw_notify(self.svc, pid, spec) } else { Notify::default() };
        let p = Proc {
            parent: self.me,
            svc: self.svc,
            kind,
            exit_at,
            exit_status: 0,
            ignores_term,
            stopped: false,
            zombie: None,
            next_line,
            to_pipe,
            seq: 0,
            notify,
        };
        w.procs.insert(pid, p);
        if kind == Kind::Run && notify.socket && w.cfg.plant == JointPlant::ForgedCredentials {
            // The lie: a stranger's `READY=1` arrives with the new service's credentials.
            let d = Datagram { payload: b"READY=1".to_vec(), pid: Some(pid), fds: 0, truncated: false };
            w.sockets.entry(self.me).or_default().push_back(d);
            w.plant_fired = true;
        }
        if kind != Kind::LogRun {
            w.fork_failed.remove(&self.me);
        }
        // Killed between the fork and recording the child: it runs, nobody knows its pid.
        w.crash_point(self.me, "mid-fork", 3);
        Ok(pid)
    }

    fn wait_pid(&mut self, pid: i32) -> Result<i32, Errno> {
        self.w.borrow_mut().crash_point(self.me, "during a control script", 20);
        if pid == CONTROL_PID {
            Ok(0)
        } else {
            Err(Errno::ECHILD)
        }
    }

    fn reap_nohang(&mut self) -> Option<Reaped> {
        let w = &mut *self.w.borrow_mut();
        if w.dead.contains(&self.me) {
            return None;
        }
        let pid = w.procs.iter().find(|(_, p)| p.parent == self.me && p.zombie.is_some()).map(|(&pid, _)| pid)?;
        let p = w.procs.remove(&pid)?;
        w.note(("reap", self.me, pid));
        Some(Reaped { pid, status: p.zombie.unwrap_or(0) })
    }

    fn kill(&mut self, pid: i32, sig: i32) -> Result<(), Errno> {
        let w = &mut *self.w.borrow_mut();
        let target = pid.abs();
        if w.dead.contains(&self.me) {
            return Ok(());
        }
        w.note(("kill", self.me, pid, sig));
        match w.procs.get(&target) {
            Some(p) if p.parent == self.me => {
                let hung = p.notify.hang_at.is_some_and(|h| h <= w.now.mono);
                if w.cfg.plant == JointPlant::AbortLost && (sig == libc::SIGABRT || sig == libc::SIGKILL) && hung {
                    // The signal is lost and the hung service hangs on (no exit of its own).
                    w.plant_fired = true;
                    if let Some(p) = w.procs.get_mut(&target) {
                        (p.exit_at, p.ignores_term) = (None, true);
                    }
                    return Ok(());
                }
                w.deliver(target, sig);
                Ok(())
            }
            _ => {
                w.violate(Check::SignalsOnlyToChildren, format!("runsv {} sent {sig} to {pid}, not its child", self.me));
                Err(Errno::ESRCH)
            }
        }
    }

    fn stat_mode(&mut self, _path: &CStr) -> Result<u32, Errno> {
        Self::control_plan(&mut self.w.borrow_mut())
    }

    fn open_read(&mut self, path: &CStr) -> Result<i32, Errno> {
        let w = self.w.borrow();
        match (path.to_bytes(), w.svcs.get(&self.svc)) {
            (b"finish", Some(s)) if s.finish_present => Ok(FINISH_FD),
            _ => Err(Errno::ENOENT),
        }
    }

    fn read(&mut self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        let w = &mut *self.w.borrow_mut();
        if w.dead.contains(&self.me) {
            return Err(Errno::EAGAIN);
        }
        if let Some(p) = w.npipes.get_mut(&fd) {
            let n = p.buf.len().min(buf.len());
            if n > 0 {
                buf[..n].copy_from_slice(&p.buf[..n]);
                p.buf.drain(..n);
                return Ok(n);
            }
            let writer = p.writer;
            let alive = writer.is_some_and(|pid| w.procs.get(&pid).is_some_and(|p| p.zombie.is_none()));
            return if alive { Err(Errno::EAGAIN) } else { Ok(0) };
        }
        let i = match fd {
            MAIN_CONTROL_FD => 0,
            LOG_CONTROL_FD => 1,
            _ => return Err(Errno::EBADF),
        };
        let byte = w.svcs.get_mut(&self.svc).and_then(|s| s.fifo[i].pop_front());
        match (byte, buf.first_mut()) {
            (Some(b), Some(out)) => {
                *out = b;
                Ok(1)
            }
            _ => Err(Errno::EAGAIN),
        }
    }

    fn close(&mut self, fd: i32) -> Result<(), Errno> {
        let w = &mut *self.w.borrow_mut();
        if w.dead.contains(&self.me) {
            return Ok(());
        }
        if w.npipes.get(&fd).is_some_and(|p| p.owner == self.me) {
            w.npipes.remove(&fd);
        }
        if fd == LOG_PIPE_W {
            let now = w.now.mono;
            if let Some(s) = w.svcs.get_mut(&self.svc) {
                s.pipe_closed = true;
            }
            // Every `log/run` of the service sees EOF once it has drained the pipe.
            w.drain_pipes();
            let svc = self.svc;
            for p in w.procs.values_mut().filter(|p| p.svc == svc && p.kind == Kind::LogRun && p.zombie.is_none()) {
                p.exit_at = Some(now + Span::from_millis(10));
            }
        }
        Ok(())
    }

    fn write_atomic(&mut self, _tmp: &CStr, dest: &CStr, bytes: &[u8]) -> Result<(), AtomicWriteError> {
        let w = &mut *self.w.borrow_mut();
        // Killed after writing `x.new`, before the rename: `x` keeps its old bytes.
        if w.dead.contains(&self.me) || w.crash_point(self.me, "mid-status-write", 3) {
            return Ok(());
        }
        if w.fault(JointFault::StatusWrite, 15) {
            return Err(match w.rng.below(3) {
                0 => AtomicWriteError::Open(Errno::EMFILE),
                1 => AtomicWriteError::Write(Errno::ENOSPC),
                _ => AtomicWriteError::Rename(Errno::EIO),
            });
        }
        if let Some(s) = w.svcs.get_mut(&self.svc) {
            s.files.insert(dest.to_bytes().to_vec(), bytes.to_vec());
        }
        Ok(())
    }

    fn write_stderr(&mut self, line: &[u8]) {
        let w = &mut *self.w.borrow_mut();
        if w.dead.contains(&self.me) {
            return;
        }
        w.stderr_lines += 1;
        w.note(("stderr", line));
    }

    fn pipe(&mut self) -> Result<(i32, i32), Errno> {
        let w = &mut *self.w.borrow_mut();
        let r = w.next_fd;
        w.next_fd += 2;
        w.npipes.insert(r, NPipe { owner: self.me, w: r + 1, buf: Vec::new(), writer: None });
        Ok((r, r + 1))
    }

    fn set_nonblock(&mut self, _fd: i32) -> Result<(), Errno> {
        Ok(())
    }

    fn recv_datagram(&mut self, fd: i32) -> Option<Datagram> {
        let w = &mut *self.w.borrow_mut();
        if fd != SOCKET_FD || w.dead.contains(&self.me) {
            return None;
        }
        let d = w.sockets.get_mut(&self.me)?.pop_front()?;
        w.note(("datagram", self.me, &d.payload, d.pid));
        Some(d)
    }

    fn parent_of(&mut self, pid: i32) -> Option<i32> {
        let w = self.w.borrow();
        match w.procs.get(&pid) {
            Some(p) => Some(p.parent),
            None if w.runsv_of.contains_key(&pid) => Some(RUNSVDIR_PID),
            None if pid == RUNSVDIR_PID => Some(1),
            None => None,
        }
    }
}

/// runsvdir's view of the fake kernel: the services directory `/service`, its runsv
/// children, its change notices.
pub struct JointDirSys(Rc<RefCell<World>>);

/// A scanned directory: the names and inodes at the time of the scan.
pub struct ScannedDir(Vec<(std::ffi::CString, u64)>);

impl Syscalls for JointDirSys {
    fn spawn(&mut self, _spec: &SpawnSpec) -> Result<i32, Errno> {
        Err(Errno::EINVAL)
    }
    fn wait_pid(&mut self, _pid: i32) -> Result<i32, Errno> {
        Err(Errno::ECHILD)
    }
    fn reap_nohang(&mut self) -> Option<Reaped> {
        let w = &mut *self.0.borrow_mut();
        let pid = w.runsv_zombies.pop_front()?;
        w.note(("runsvdir reaps", pid));
        Some(Reaped { pid, status: 0 })
    }
    fn kill(&mut self, pid: i32, sig: i32) -> Result<(), Errno> {
        let w = &mut *self.0.borrow_mut();
        w.note(("runsvdir kill", pid, sig));
        if !w.runsv_of.contains_key(&pid) {
            return Err(Errno::ESRCH);
        }
        w.latch(pid, sig);
        Ok(())
    }
    fn stat_mode(&mut self, _path: &CStr) -> Result<u32, Errno> {
        Err(Errno::ENOENT)
    }
    fn open_read(&mut self, _path: &CStr) -> Result<i32, Errno> {
        Err(Errno::ENOENT)
    }
    fn read(&mut self, _fd: i32, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EAGAIN)
    }
    fn close(&mut self, _fd: i32) -> Result<(), Errno> {
        Ok(())
    }
    fn write_atomic(&mut self, _tmp: &CStr, _dest: &CStr, _bytes: &[u8]) -> Result<(), AtomicWriteError> {
        Ok(())
    }
    fn write_stderr(&mut self, line: &[u8]) {
        self.0.borrow_mut().note(("runsvdir stderr", line));
    }
    fn pipe(&mut self) -> Result<(i32, i32), Errno> {
        Err(Errno::EMFILE)
    }
    fn set_nonblock(&mut self, _fd: i32) -> Result<(), Errno> {
        Ok(())
    }
    fn recv_datagram(&mut self, _fd: i32) -> Option<Datagram> {
        None
    }
    fn parent_of(&mut self, _pid: i32) -> Option<i32> {
        None
    }
}

impl DirSyscalls for JointDirSys {
    type Dir = ScannedDir;
    type Watch = ();
    fn stat(&mut self, _path: &CStr) -> Result<FileStat, Errno> {
        let w = self.0.borrow();
        Ok(FileStat { mode: libc::S_IFDIR | 0o755, mtime: w.mtime, ino: 2, dev: 1 })
    }
    fn open(&mut self, _path: &CStr, _flags: i32, _mode: u32) -> Result<i32, Errno> {
        Ok(STAMP_FD)
    }
    fn write(&mut self, _fd: i32, bytes: &[u8]) -> Result<usize, Errno> {
        Ok(bytes.len())
    }
    fn dup2(&mut self, _from: i32, _to: i32) -> Result<(), Errno> {
        Ok(())
    }
    fn pipe_nonblocking(&mut self) -> Result<(i32, i32), Errno> {
        Err(Errno::EMFILE)
    }
    fn spawn_plan(&mut self, plan: &model::spawn::ChildPlan) -> Result<i32, Errno> {
        let w = &mut *self.0.borrow_mut();
        let name = plan.exec.argv.get(1).cloned().unwrap_or_default();
        w.note(("runsvdir fork", &name));
        if w.fault(JointFault::RunsvdirFork, 40) {
            return Err(Errno::EAGAIN);
        }
        // `runsv <name>` after `fchdir` to the scanned directory: the directory of that name.
        let Some(&ino) = w.dir.get(&name) else {
            w.violate(Check::Orderly, format!("runsvdir started runsv for {:?}, not in the directory", String::from_utf8_lossy(&name)));
            return Err(Errno::ENOENT);
        };
        let pid = w.pid();
        w.runsv_of.insert(pid, ino);
        w.runsv_starts += 1;
        Ok(pid)
    }
    fn open_dir(&mut self, _path: &CStr) -> Result<ScannedDir, Errno> {
        let w = self.0.borrow();
        Ok(ScannedDir(w.dir.iter().filter_map(|(n, &ino)| Some((std::ffi::CString::new(n.clone()).ok()?, ino))).collect()))
    }
    fn list_dir(&mut self, dir: &mut ScannedDir) -> (Vec<std::ffi::CString>, Option<Errno>) {
        (dir.0.iter().map(|(n, _)| n.clone()).collect(), None)
    }
    fn dir_fd(&self, _dir: &ScannedDir) -> i32 {
        SCAN_FD
    }
    fn stat_at(&mut self, _dir: i32, name: &CStr) -> Result<FileStat, Errno> {
        let w = self.0.borrow();
        match w.dir.get(name.to_bytes()) {
            Some(&ino) => Ok(FileStat { mode: libc::S_IFDIR | 0o755, mtime: 0, ino, dev: 1 }),
            None => Err(Errno::ENOENT),
        }
    }
    fn watch(&mut self, _dir: &[u8]) -> Option<()> {
        Some(())
    }
    fn watch_fd(&self, _w: &()) -> i32 {
        WATCH_FD
    }
    fn drain_watch(&mut self, _w: &mut ()) -> Effect {
        Effect { changed: std::mem::take(&mut self.0.borrow_mut().dir_changed), rebuild: false }
    }
}

/// The clock for the driver's turn functions (the scheduler does the waiting).
struct JointClock(Rc<RefCell<World>>);

impl Os for JointClock {
    fn now(&mut self) -> Now {
        self.0.borrow().now
    }
    /// Never called: the scheduler decides when a process wakes and calls
    /// `driver::woken` itself.
    fn wait(&mut self, _interests: &[Interest], _now: Now, _deadline: Option<Mono>) -> (Vec<Ready>, SignalSet) {
        (Vec::new(), SignalSet::default())
    }
}

/// One runsv process: the model machine and the production executor.
struct RunsvProc {
    svc: u64,
    machine: Runsv,
    io: RunsvIo<JointSys>,
    queue: VecDeque<RsvInput>,
    deadline: Option<Mono>,
    /// Since when its main slot is wanted up with no process.
    down_since: Option<Mono>,
}

/// The whole joint simulation.
struct Joint {
    w: Rc<RefCell<World>>,
    clock: JointClock,
    /// runsvdir: the model machine and the production executor.
    dir_m: Runsvdir,
    dir_io: RunsvdirIo<JointDirSys>,
    dir_queue: VecDeque<DirInput>,
    /// runsvdir's deadline once it has settled (`None` before its first turn).
    dir_deadline: Option<Mono>,
    runsvs: BTreeMap<i32, RunsvProc>,
    runsv_exits: usize,
    checks: usize,
    steps: usize,
}

fn name_of(i: usize) -> Vec<u8> {
    format!("svc{i}").into_bytes()
}

impl Joint {
    fn now(&self) -> Now {
        self.w.borrow().now
    }

    /// One turn of runsvdir (the production executor through the driver's turn
    /// functions) if something wakes it: a change notice, a signal (SIGCHLD from a runsv
    /// exit, ALRM), its deadline, or its first input. Returns whether it ran.
    fn run_runsvdir(&mut self) -> bool {
        let woke = {
            let w = &mut *self.w.borrow_mut();
            let now = w.now.mono;
            let mut interests = Vec::new();
            self.dir_io.interests(&mut interests);
            let ready: Vec<Ready> = interests
                .iter()
                .filter(|i| i.read && i.fd == WATCH_FD && w.dir_changed)
                .map(|i| Ready { fd: i.fd, readable: true, writable: false })
                .collect();
            let sigs = w.pending.get(&RUNSVDIR_PID).copied().unwrap_or(0);
            let due = self.dir_deadline.is_some_and(|d| d <= now);
            if ready.is_empty() && sigs == 0 && !due {
                None
            } else {
                w.pending.remove(&RUNSVDIR_PID);
                Some((ready, SignalSet(sigs)))
            }
        };
        if self.dir_deadline.is_some() && woke.is_none() && self.dir_queue.is_empty() {
            return false;
        }
        if let Some((ready, signals)) = woke {
            driver::woken::<Runsvdir, _, _>(&mut self.dir_io, &mut self.clock, self.dir_deadline, ready, signals, &mut self.dir_queue);
        }
        match driver::settle(&mut self.dir_m, &mut self.dir_io, &mut self.clock, &mut self.dir_queue, &mut Trace::none()) {
            Turn::Finished(code) => {
                self.w.borrow_mut().violate(Check::Orderly, format!("runsvdir exited {code}"));
                self.dir_deadline = Some(Mono(u64::MAX));
            }
            Turn::Waiting { deadline, .. } => self.dir_deadline = Some(deadline.unwrap_or(Mono(u64::MAX))),
        }
        true
    }

    /// Creates the runsv processes runsvdir forked (their start-up is runsv's `setup`,
    /// not simulated: the executor starts with its descriptors open).
    fn start_runsvs(&mut self) {
        let new: Vec<(i32, u64)> = {
            let w = self.w.borrow();
            w.runsv_of.iter().filter(|(pid, _)| !self.runsvs.contains_key(pid)).map(|(&p, &s)| (p, s)).collect()
        };
        for (pid, svc) in new {
            if self.w.borrow().cfg.plant == JointPlant::RunsvNeverRuns {
                self.w.borrow_mut().plant_fired = true;
                continue;
            }
            let now = self.now();
            self.w.borrow_mut().svcs.entry(svc).or_default().pipe_closed = false;
            let dir = format!("/service/{svc}").into_bytes();
            let ready = self.w.borrow().svcs.get(&svc).map(|s| s.ready).unwrap_or_default();
            let config = Config { dir: dir.clone(), down: false, log: Some(false), readiness: ready.readiness() };
            let ready_io =
                ReadyIo::started((ready == SvcReady::Fd).then_some(NOTIFICATION_FD), matches!(ready, SvcReady::Sd(_)).then_some(SOCKET_FD));
            let sys = JointSys { w: self.w.clone(), me: pid, svc };
            let handled = Handled { all: Vec::new(), stray_unblock: Vec::new() };
            let io =
                RunsvIo::started(sys, &dir, (MAIN_CONTROL_FD, Some(LOG_CONTROL_FD)), Some((LOG_PIPE_R, LOG_PIPE_W)), handled, ready_io);
            let queue = VecDeque::from([RsvInput::Start]);
            self.runsvs.insert(pid, RunsvProc { svc, machine: Runsv::new(now, config), io, queue, deadline: None, down_since: None });
        }
    }

    /// Runs every runsv that has something to do until all wait; returns whether any ran.
    fn run_runsvs(&mut self) -> bool {
        let mut any = false;
        let mut cap = model::StepCap::new("joint sim: runsv turns", 100_000);
        loop {
            cap.step();
            self.start_runsvs();
            let mut progressed = false;
            let pids: Vec<i32> = self.runsvs.keys().copied().collect();
            for pid in pids {
                let woke = self.wake_of(pid);
                let Some(r) = self.runsvs.get_mut(&pid) else { continue };
                let settled = r.deadline.is_some();
                if settled && woke.is_none() && r.queue.is_empty() {
                    continue;
                }
                if let Some((ready, signals)) = woke {
                    driver::woken::<Runsv, _, _>(&mut r.io, &mut self.clock, r.deadline, ready, signals, &mut r.queue);
                }
                progressed = true;
                let turn = driver::settle(&mut r.machine, &mut r.io, &mut self.clock, &mut r.queue, &mut Trace::none());
                if self.w.borrow_mut().dead.remove(&pid) {
                    self.kill_runsv(pid);
                    continue;
                }
                match turn {
                    Turn::Finished(code) => self.runsv_exited(pid, code),
                    Turn::Waiting { deadline, .. } => {
                        if let Some(r) = self.runsvs.get_mut(&pid) {
                            r.deadline = Some(deadline.unwrap_or(Mono(u64::MAX)));
                        }
                    }
                }
            }
            if !progressed {
                return any;
            }
            any = true;
        }
    }

    /// What would wake runsv `pid` now: ready FIFOs and latched signals, or a deadline.
    fn wake_of(&mut self, pid: i32) -> Option<(Vec<Ready>, SignalSet)> {
        let r = self.runsvs.get(&pid)?;
        let w = &mut *self.w.borrow_mut();
        let now = w.now.mono;
        let svc = w.svcs.get(&r.svc)?;
        let mut interests = Vec::new();
        r.io.interests(&mut interests);
        let readable = |fd: i32| match fd {
            MAIN_CONTROL_FD => !svc.fifo[0].is_empty(),
            LOG_CONTROL_FD => !svc.fifo[1].is_empty(),
            SOCKET_FD => w.sockets.get(&pid).is_some_and(|q| !q.is_empty()),
            _ => w
                .npipes
                .get(&fd)
                .is_some_and(|p| !p.buf.is_empty() || p.writer.is_none_or(|c| w.procs.get(&c).is_none_or(|c| c.zombie.is_some()))),
        };
        let ready: Vec<Ready> =
            interests.iter().filter(|i| i.read && readable(i.fd)).map(|i| Ready { fd: i.fd, readable: true, writable: false }).collect();
        let sigs = w.pending.get(&pid).copied().unwrap_or(0);
        let due = r.deadline.is_some_and(|d| d <= now);
        if ready.is_empty() && sigs == 0 && !due {
            return None;
        }
        w.pending.remove(&pid);
        Some((ready, SignalSet(sigs)))
    }

    fn runsv_exited(&mut self, pid: i32, code: i32) {
        let Some(_r) = self.runsvs.remove(&pid) else { return };
        self.runsv_exits += 1;
        let w = &mut *self.w.borrow_mut();
        w.note(("runsv-exit", pid, code));
        w.runsv_of.remove(&pid);
        let left: Vec<i32> = w.procs.iter().filter(|(_, p)| p.parent == pid).map(|(&c, _)| c).collect();
        if !left.is_empty() {
            w.violate(Check::Orderly, format!("runsv {pid} exited {code} leaving children {left:?}"));
        }
        w.pending.remove(&pid);
        w.runsv_zombies.push_back(pid);
        w.latch(RUNSVDIR_PID, SIGCHLD);
    }

    /// SIGKILL to runsv: no clean-up, its children are orphaned (to PID 1, which reaps
    /// them) and keep running.
    fn kill_runsv(&mut self, pid: i32) {
        if self.runsvs.remove(&pid).is_none() {
            return;
        }
        let w = &mut *self.w.borrow_mut();
        w.runsv_of.remove(&pid);
        w.pending.remove(&pid);
        for p in w.procs.values_mut().filter(|p| p.parent == pid) {
            p.parent = 1;
        }
        w.runsv_zombies.push_back(pid);
        w.latch(RUNSVDIR_PID, SIGCHLD);
    }

    /// The invariants, after every step.
    fn check(&mut self) {
        // One child per slot, one runsv per directory, log bytes, ready honest, watchdog
        // acted on, restart liveness.
        self.checks += 6;
        let w = &mut *self.w.borrow_mut();
        let now = w.now.mono;
        // One live child per slot, one runsv per directory.
        let mut per: BTreeMap<(u64, bool), Vec<i32>> = BTreeMap::new();
        for (&pid, p) in w.procs.iter().filter(|(_, p)| p.zombie.is_none()) {
            per.entry((p.svc, p.kind == Kind::LogRun)).or_default().push(pid);
        }
        if let Some(((svc, log), pids)) = per.into_iter().find(|(_, v)| v.len() > 1) {
            w.violate(Check::OneChildPerSlot, format!("directory {svc} {}: live {pids:?}", if log { "log" } else { "main" }));
        }
        let mut dirs = BTreeSet::new();
        for (&pid, r) in &self.runsvs {
            if !dirs.insert(r.svc) {
                let svc = r.svc;
                w.violate(Check::OneRunsvPerDir, format!("second runsv {pid} for directory {svc}"));
            }
        }
        // Log bytes: everything written is in the log, then in the pipe, once, in order.
        let bad = w
            .svcs
            .iter()
            .find(|(_, s)| s.sent.len() != s.logged.len() + s.pipe.len() || !s.sent.starts_with(&s.logged) || !s.sent.ends_with(&s.pipe));
        if let Some((svc, s)) = bad {
            let m = format!("directory {svc}: {} bytes written, {} logged, {} in the pipe", s.sent.len(), s.logged.len(), s.pipe.len());
            w.violate(Check::LogBytes, m);
        }
        // Readiness: ready only after the current child notified; a hung watchdog acted on.
        for (&pid, r) in &self.runsvs {
            let protocol = w.svcs.get(&r.svc).map(|s| s.ready).unwrap_or_default();
            if let Some(Phase::Run { pid: child, ready, .. }) = r.machine.slot(Slot::Main).map(|s| s.phase) {
                let notified = w.procs.get(&(child as i32)).is_some_and(|p| p.notify.notified);
                if protocol != SvcReady::None && ready.is_ready() && !notified {
                    w.violate(Check::ReadyHonest, format!("runsv {pid}: {child} recorded ready, never notified"));
                }
            }
        }
        // The watchdog stops once runsv has sent TERM (docs/readiness.md: a stopping service
        // is not aborted), so only children not being stopped are judged.
        let watched = |child: i32, parent: i32| {
            self.runsvs
                .get(&parent)
                .and_then(|r| r.machine.slot(Slot::Main))
                .is_some_and(|s| matches!(s.phase, Phase::Run { pid, got_term: false, .. } if pid as i32 == child))
        };
        let late = w.procs.iter().find(|(&child, p)| {
            p.zombie.is_none()
                && watched(child, p.parent)
                && p.notify.watchdog.is_some_and(|period| now > p.notify.last_ping + Span(2 * period.0) + Span::from_millis(1))
        });
        if let Some((&child, p)) = late {
            let m =
                format!("{child} (runsv {}) stopped pinging at +{} ms and still runs", p.parent, (p.notify.last_ping.0 - T0.0) / 1_000_000);
            w.violate(Check::WatchdogActs, m);
        }
        // Restart liveness of every runsv's main slot.
        for (&pid, r) in self.runsvs.iter_mut() {
            let slot = r.machine.slot(Slot::Main);
            let waiting = slot.is_some_and(|s| s.want == Want::Up && s.pid() == 0);
            if !waiting {
                r.down_since = None;
                continue;
            }
            let since = *r.down_since.get_or_insert(now);
            let retry = w.fork_failed.get(&pid).map(|&t| t + Span::from_secs(5));
            let due = retry.map_or(since + Span::from_secs(1), |t| t.max(since + Span::from_secs(1)));
            if now > due + Span::from_millis(1) {
                let late = (now - due).as_millis();
                let st = r.machine.slot(Slot::Main).cloned();
                w.violate(Check::RestartLiveness, format!("runsv {pid}: main wanted up, down {late} ms past due: {st:?}"));
            }
        }
    }

    /// After the quiet period: every directory has one runsv, its wanted-up service runs,
    /// and every line written is in the log.
    fn converged(&mut self) {
        let w = &mut *self.w.borrow_mut();
        for (name, ino) in w.dir.clone() {
            let n = String::from_utf8_lossy(&name).into_owned();
            let Some((pid, r)) = self.runsvs.iter().find(|(_, r)| r.svc == ino) else {
                w.violate(Check::Converged, format!("{n}: no runsv"));
                return;
            };
            // Up, or its restart scheduled (a throttle or fork retry still running at the end).
            let scheduled = |p: Phase| matches!(p, Phase::Down { not_before: Some(_), .. });
            let up = r.machine.slot(Slot::Main).is_some_and(|s| s.want != Want::Up || s.pid() != 0 || scheduled(s.phase));
            if !up {
                let st = r.machine.slot(Slot::Main).cloned();
                w.violate(Check::Converged, format!("{n}: runsv {pid} wants it up, it is down: {st:?}"));
                return;
            }
        }
        // A directory still served has its log drained (its `log/run` reads it all).
        for (svc, s) in &w.svcs {
            let served = w.dir.values().any(|i| i == svc);
            let reader = w.procs.values().any(|p| p.svc == *svc && p.kind == Kind::LogRun && p.zombie.is_none() && !p.stopped);
            if served && reader && !s.pipe.is_empty() {
                let m = format!("directory {svc}: {} bytes left in the pipe with a reader", s.pipe.len());
                w.violate(Check::LogBytes, m);
                return;
            }
        }
    }

    /// The earliest time something happens on its own.
    fn next_time(&self, outside: Mono) -> Mono {
        let w = self.w.borrow();
        let mut t = outside;
        for p in w.procs.values().filter(|p| p.zombie.is_none() && !p.stopped) {
            for x in [p.exit_at, p.next_line, p.notify.at, p.notify.next_ping].into_iter().flatten() {
                t = t.min(x);
            }
        }
        for r in self.runsvs.values() {
            if let Some(d) = r.deadline {
                t = t.min(d);
            }
        }
        if let Some(d) = self.dir_deadline {
            t = t.min(d);
        }
        t
    }

    /// Lets time pass to `t`: exits, lines written, pipes drained.
    fn advance(&mut self, t: Mono) {
        let w = &mut *self.w.borrow_mut();
        if t > w.now.mono {
            w.now = w.now.after(t - w.now.mono);
        }
        let now = w.now.mono;
        let due: Vec<i32> = w
            .procs
            .iter()
            .filter(|(_, p)| p.zombie.is_none() && !p.stopped && p.exit_at.is_some_and(|e| e <= now))
            .map(|(&p, _)| p)
            .collect();
        for pid in due {
            let st = w.procs.get(&pid).map_or(0, |p| p.exit_status);
            w.die(pid, st);
        }
        let writers: Vec<i32> = w
            .procs
            .iter()
            .filter(|(_, p)| p.zombie.is_none() && !p.stopped && p.next_line.is_some_and(|e| e <= now))
            .map(|(&p, _)| p)
            .collect();
        for pid in writers {
            let gap = Span::from_millis(50 + w.rng.below(400));
            let Some(p) = w.procs.get_mut(&pid) else { continue };
            p.seq += 1;
            p.next_line = Some(now + gap);
            let (svc, seq, to_pipe) = (p.svc, p.seq, p.to_pipe);
            if let Some(s) = w.svcs.get_mut(&svc).filter(|s| to_pipe && !s.pipe_closed) {
                let line = format!("{pid} {seq}\n").into_bytes();
                s.pipe.extend_from_slice(&line);
                s.sent.extend_from_slice(&line);
                w.lines += 1;
            }
        }
        w.notify_due();
        w.drain_pipes();
    }

    /// One random outside event.
    fn outside(&mut self) {
        let pool = self.w.borrow().cfg.names;
        let r = self.w.borrow_mut().rng.below(100);
        match r {
            0..=14 => {
                // The directory changes: a service added or removed; runsvdir is told.
                {
                    let w = &mut *self.w.borrow_mut();
                    let name = name_of(w.rng.below(pool as u64) as usize);
                    if w.dir.remove(&name).is_none() {
                        w.next_ino += 1;
                        let ino = w.next_ino;
                        w.dir.insert(name, ino);
                        let ready = SvcReady::draw(&mut w.rng);
                        let svc = w.svcs.entry(ino).or_default();
                        svc.ready = ready;
                        svc.finish_present = w.rng.chance(300);
                    }
                    w.mtime = w.now.wall.unix_secs;
                    // The change notice runsvdir's watch reports.
                    w.dir_changed = true;
                }
            }
            15..=54 => {
                // `sv` commands, racing the rescans.
                let w = &mut *self.w.borrow_mut();
                let svcs: Vec<u64> = w.dir.values().copied().collect();
                if let Some(&svc) = svcs.get(w.rng.below(svcs.len().max(1) as u64) as usize) {
                    let b = b"uuuddtkocphiax12"[w.rng.below(16) as usize];
                    let slot = usize::from(w.rng.chance(150));
                    w.note(("sv", svc, b, slot));
                    if let Some(s) = w.svcs.get_mut(&svc) {
                        s.fifo[slot].push_back(b);
                    }
                }
            }
            55..=64 => {
                let storm = self.w.borrow_mut().fault(JointFault::SignalStorm, 400);
                if storm {
                    self.storm();
                }
            }
            65..=72 => {
                let w = &mut *self.w.borrow_mut();
                let runs: Vec<i32> = w.procs.iter().filter(|(_, p)| p.kind == Kind::Run && p.zombie.is_none()).map(|(&p, _)| p).collect();
                if !runs.is_empty() && w.fault(JointFault::ServiceCrash, 500) {
                    let pid = runs[w.rng.below(runs.len() as u64) as usize];
                    w.die(pid, 11);
                }
            }
            73..=77 => {
                let w = &mut *self.w.borrow_mut();
                if w.fault(JointFault::ClockStep, 300) {
                    let step = w.rng.below(7200) as i64 - 3600;
                    w.now.wall.unix_secs += step;
                }
            }
            81..=90 => {
                let runsvs: Vec<(i32, u64)> = self.runsvs.iter().map(|(&p, r)| (p, r.svc)).collect();
                self.w.borrow_mut().forge(&runsvs);
            }
            78..=80 => {
                let victim = {
                    let w = &mut *self.w.borrow_mut();
                    let pids: Vec<i32> = self.runsvs.keys().copied().collect();
                    if w.cfg.kill_runsv && !pids.is_empty() && w.fault(JointFault::RunsvKill, 300) {
                        Some(pids[w.rng.below(pids.len() as u64) as usize])
                    } else {
                        None
                    }
                };
                if let Some(pid) = victim {
                    {
                        let w = &mut *self.w.borrow_mut();
                        let finishing = w.procs.values().any(|p| p.parent == pid && p.kind == Kind::Finish && p.zombie.is_none());
                        *w.kill_points.entry(if finishing { "during ./finish" } else { "between events" }).or_default() += 1;
                    }
                    self.kill_runsv(pid);
                }
            }
            _ => {
                let w = &mut *self.w.borrow_mut();
                if let Some(s) = w.dir.values().copied().collect::<Vec<_>>().first().and_then(|i| w.svcs.get_mut(i)) {
                    s.finish_present = !s.finish_present;
                }
            }
        }
    }

    /// Several signals at once to processes of the tree.
    fn storm(&mut self) {
        let w = &mut *self.w.borrow_mut();
        let n = 2 + w.rng.below(6);
        let runsvs: Vec<i32> = self.runsvs.keys().copied().collect();
        let services: Vec<i32> = w.procs.iter().filter(|(_, p)| p.zombie.is_none()).map(|(&p, _)| p).collect();
        for _ in 0..n {
            match w.rng.below(10) {
                0 if !runsvs.is_empty() => {
                    let pid = runsvs[w.rng.below(runsvs.len() as u64) as usize];
                    *w.faults.entry(JointFault::RunsvTerm).or_default() += 1;
                    w.latch(pid, SIGTERM);
                }
                1..=3 if !runsvs.is_empty() => {
                    let pid = runsvs[w.rng.below(runsvs.len() as u64) as usize];
                    let sig = runtime::exec::runsv::STRAY_SIGNALS[w.rng.below(7) as usize];
                    w.latch(pid, sig);
                }
                4 => w.latch(RUNSVDIR_PID, libc::SIGALRM),
                _ if !services.is_empty() => {
                    let pid = services[w.rng.below(services.len() as u64) as usize];
                    let sig =
                        [libc::SIGTERM, libc::SIGKILL, libc::SIGSTOP, libc::SIGCONT, libc::SIGHUP, libc::SIGCONT][w.rng.below(6) as usize];
                    w.deliver(pid, sig);
                }
                _ => {}
            }
        }
    }

    /// PID 1 reaps orphans (children of a killed runsv).
    fn reap_orphans(&mut self) {
        let w = &mut *self.w.borrow_mut();
        w.procs.retain(|_, p| !(p.parent == 1 && p.zombie.is_some()));
    }

    /// One scheduler step: everyone that can run runs (runsvdir's new runsv included),
    /// then time passes to the next event.
    fn step(&mut self, outside_at: &mut Mono, end: Mono) {
        self.steps += 1;
        let mut cap = model::StepCap::new("joint sim: one instant", 10_000);
        loop {
            cap.step();
            let ran = self.run_runsvs();
            if !self.run_runsvdir() && !ran {
                break;
            }
        }
        self.reap_orphans();
        self.check();
        let now = self.now().mono;
        let quiet = self.w.borrow().quiet;
        if !quiet && *outside_at <= now {
            self.outside();
            let gap = self.w.borrow_mut().rng.below(1500);
            *outside_at = now + Span::from_millis(gap);
            return;
        }
        let horizon = if quiet { end } else { *outside_at };
        let t = self.next_time(horizon);
        self.advance(t.max(now));
    }
}

/// Runs one seeded joint simulation.
pub fn run(seed: u64, cfg: &JointConfig) -> JointReport {
    let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9).wrapping_add(17));
    let mut dir = BTreeMap::new();
    let mut svcs = BTreeMap::new();
    let mut next_ino = 100;
    for i in 0..cfg.names {
        if rng.chance(700) {
            next_ino += 1;
            dir.insert(name_of(i), next_ino);
            let ready = SvcReady::draw(&mut rng);
            svcs.insert(next_ino, Svc { finish_present: rng.chance(300), ready, ..Svc::default() });
        }
    }
    let world = World {
        cfg: cfg.clone(),
        rng,
        now: Now { mono: T0, wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } },
        dir,
        mtime: 1_600_000_000,
        next_ino,
        svcs,
        procs: BTreeMap::new(),
        runsv_of: BTreeMap::new(),
        pending: BTreeMap::new(),
        next_pid: 100,
        quiet: false,
        faults: BTreeMap::new(),
        fork_failed: BTreeMap::new(),
        runsv_starts: 0,
        runsv_zombies: VecDeque::new(),
        dir_changed: false,
        dead: BTreeSet::new(),
        kill_points: BTreeMap::new(),
        npipes: BTreeMap::new(),
        next_fd: 1000,
        sockets: BTreeMap::new(),
        violations: Vec::new(),
        hasher: DefaultHasher::new(),
        service_starts: 0,
        lines: 0,
        stderr_lines: 0,
        plant_fired: false,
        trace: std::env::var_os("JOINT_SIM_TRACE").is_some(),
    };
    let w = Rc::new(RefCell::new(world));
    let strays = runtime::signals::Strays { catch: Vec::new(), unblock_in_child: Vec::new() };
    let dir_io = RunsvdirIo::over(JointDirSys(w.clone()), b"/service", false, None, None, &strays).expect("a path without NUL");
    let mut j = Joint {
        w: w.clone(),
        clock: JointClock(w.clone()),
        dir_m: Runsvdir::new(None),
        dir_io,
        dir_queue: VecDeque::from([DirInput::Start]),
        dir_deadline: None,
        runsvs: BTreeMap::new(),
        runsv_exits: 0,
        checks: 0,
        steps: 0,
    };
    let active_end = T0 + Span::from_secs(cfg.active_secs);
    let end = active_end + Span::from_secs(30);
    let mut outside_at = T0;
    let mut cap = model::StepCap::new("joint sim: steps", 2_000_000);
    while j.now().mono < end && w.borrow().violations.is_empty() {
        cap.step();
        if j.now().mono >= active_end {
            w.borrow_mut().quiet = true;
        }
        if j.steps >= 400_000 {
            w.borrow_mut().violate(Check::StepCap, "400 000 steps".into());
            break;
        }
        j.step(&mut outside_at, end);
    }
    if w.borrow().violations.is_empty() {
        j.converged();
    }
    let w = &mut *w.borrow_mut();
    JointReport {
        seed,
        violations: std::mem::take(&mut w.violations),
        faults: std::mem::take(&mut w.faults),
        checks: j.checks,
        runsv_starts: w.runsv_starts,
        runsv_exits: j.runsv_exits,
        service_starts: w.service_starts,
        lines: w.lines,
        logged_bytes: w.svcs.values().map(|s| s.logged.len()).sum(),
        steps: j.steps,
        virtual_ms: (w.now.mono - T0).as_millis(),
        digest: w.hasher.finish(),
        plant_fired: w.plant_fired,
        kill_points: std::mem::take(&mut w.kill_points),
    }
}
