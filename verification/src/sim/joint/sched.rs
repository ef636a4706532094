//! The scheduler of the joint simulation: which process wakes when, the outside world's
//! events, the invariants after every step, and [`run`].

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::hash::Hasher;
use std::rc::Rc;

use model::runsv::{Config, Input as RsvInput, Phase, Runsv, Slot};
use model::runsvdir::machine::{Input as DirInput, Runsvdir};
use model::status::Want;
use model::svlogd::{Input as LogInput, Logger};
use model::time::{Mono, Now, Span, Wall};
use runtime::driver::{self, Io, Trace, Turn};
use runtime::exec::runsv::{Handled, RunsvIo};
use runtime::exec::runsv_ready::ReadyIo;
use runtime::exec::runsvdir::RunsvdirIo;
use runtime::exec::svlogd::SvlogdIo;
use runtime::latch::SignalSet;
use runtime::wait::Ready;

use crate::sim::rng::Rng;

use super::logfs::{JointLogSys, LogDir};
use super::sys::*;
use super::world::*;
use super::{Check, JointConfig, JointFault, JointPlant, JointReport};

/// One runsv process: the model machine and the production executor.
struct RunsvProc {
    svc: u64,
    machine: Runsv,
    io: RunsvIo<JointSys>,
    queue: VecDeque<RsvInput>,
    deadline: Option<Mono>,
    /// Since when its main slot is wanted up with no process.
    down_since: Option<Mono>,
    /// The pids the main and log records named in state run when it started (what its
    /// adoption probe read), for judging the orphans after its first turn.
    named_at_start: [Option<u32>; 2],
}

/// One svlogd process (a service's `log/run`): the model machine and the production
/// executor.
struct LoggerProc {
    svc: u64,
    machine: Logger,
    io: SvlogdIo<JointLogSys>,
    queue: VecDeque<LogInput>,
    deadline: Option<Mono>,
}

/// A new service directory's log: rotation at a size between 100 and 2 000 bytes that
/// depends on the directory (not drawn: the outside world's random stream stays as it
/// was without svlogd), small enough that a run rotates.
fn log_dir(ino: u64) -> LogDir {
    LogDir::with_size(100 + ino.wrapping_mul(7919) % 1900)
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
    loggers: BTreeMap<i32, LoggerProc>,
    svlogd_starts: usize,
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
            // Start-up's probe of what a killed predecessor left, over the fake kernel.
            let mut io =
                RunsvIo::started(sys, &dir, (MAIN_CONTROL_FD, Some(LOG_CONTROL_FD)), Some((LOG_PIPE_R, LOG_PIPE_W)), handled, ready_io)
                    .probed(true);
            let queue: VecDeque<RsvInput> = io.take_resume().into_iter().chain([RsvInput::Start]).collect();
            let named_at_start = {
                let w = &mut *self.w.borrow_mut();
                w.first_turn.insert(pid);
                let files = w.svcs.get(&svc).map(|s| &s.files);
                [&b"supervise/status"[..], b"log/supervise/status"]
                    .map(|f| files.and_then(|fs| fs.get(f)).and_then(|b| model::runsv::candidate(b)))
            };
            self.runsvs.insert(
                pid,
                RunsvProc { svc, machine: Runsv::new(now, config), io, queue, deadline: None, down_since: None, named_at_start },
            );
        }
    }

    /// Runs every runsv that has something to do until all wait; returns whether any ran.
    fn run_runsvs(&mut self) -> bool {
        let mut any = false;
        let mut cap = model::StepCap::new("joint sim: runsv turns", 100_000);
        loop {
            cap.step();
            self.start_runsvs();
            let mut progressed = self.run_loggers();
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
                if self.w.borrow_mut().first_turn.remove(&pid) {
                    self.judge_orphans(pid);
                }
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

    /// Creates the svlogd processes runsv forked as `log/run`.
    fn start_loggers(&mut self) {
        let new: Vec<(i32, u64)> =
            self.w.borrow().logs.iter().filter(|(pid, _)| !self.loggers.contains_key(pid)).map(|(&p, l)| (p, l.svc)).collect();
        for (pid, svc) in new {
            let settings = match model::svlogd::options::parse(&[&b"svlogd"[..], b"main"]) {
                model::svlogd::options::Parsed::Run(s) => s,
                model::svlogd::options::Parsed::Exit(..) => unreachable!("svlogd main parses"),
            };
            let strays = runtime::signals::Strays { catch: Vec::new(), unblock_in_child: Vec::new() };
            let io = SvlogdIo::over(JointLogSys { w: self.w.clone(), me: pid, svc }, settings.dirs.clone(), &strays);
            let queue = VecDeque::from([LogInput::Start]);
            self.loggers.insert(pid, LoggerProc { svc, machine: Logger::new(settings), io, queue, deadline: None });
            self.svlogd_starts += 1;
        }
    }

    /// Runs every svlogd that has something to do, once; returns whether any ran.
    fn run_loggers(&mut self) -> bool {
        self.start_loggers();
        let mut any = false;
        let pids: Vec<i32> = self.loggers.keys().copied().collect();
        for pid in pids {
            let state = self.w.borrow().procs.get(&pid).map(|p| (p.zombie.is_some(), p.stopped));
            match state {
                None | Some((true, _)) => {
                    self.logger_gone(pid, None);
                    any = true;
                    continue;
                }
                Some((false, true)) => continue,
                Some((false, false)) => {}
            }
            let woke = self.logger_wake(pid);
            let Some(l) = self.loggers.get_mut(&pid) else { continue };
            if l.deadline.is_some() && woke.is_none() && l.queue.is_empty() {
                continue;
            }
            if let Some((ready, signals)) = woke {
                driver::woken::<Logger, _, _>(&mut l.io, &mut self.clock, l.deadline, ready, signals, &mut l.queue);
            }
            any = true;
            match driver::settle(&mut l.machine, &mut l.io, &mut self.clock, &mut l.queue, &mut Trace::none()) {
                Turn::Finished(code) => {
                    self.logger_gone(pid, Some(code));
                    self.w.borrow_mut().die(pid, (code & 0xff) << 8);
                }
                Turn::Waiting { deadline, .. } => l.deadline = Some(deadline.unwrap_or(Mono(u64::MAX))),
            }
        }
        any
    }

    /// What would wake svlogd `pid`: its stdin readable (bytes or EOF), a signal, its
    /// deadline.
    fn logger_wake(&mut self, pid: i32) -> Option<(Vec<Ready>, SignalSet)> {
        let l = self.loggers.get(&pid)?;
        let w = &mut *self.w.borrow_mut();
        let s = w.svcs.get(&l.svc)?;
        let mut interests = Vec::new();
        l.io.interests(&mut interests);
        let readable = !s.pipe.is_empty() || w.pipe_eof(l.svc);
        if s.pipe.is_empty() && s.pipe_closed && !readable {
            // Its runsv closed its ends, an orphan still holds the write end: no EOF yet.
            w.eof_held.insert(pid);
        }
        let ready: Vec<Ready> = interests
            .iter()
            .filter(|i| i.read && i.fd == 0 && readable)
            .map(|i| Ready { fd: i.fd, readable: true, writable: false })
            .collect();
        let sigs = w.pending.get(&pid).copied().unwrap_or(0);
        let due = l.deadline.is_some_and(|d| d <= w.now.mono);
        if ready.is_empty() && sigs == 0 && !due {
            return None;
        }
        w.pending.remove(&pid);
        Some((ready, SignalSet(sigs)))
    }

    /// svlogd `pid` is gone: exited with `code`, or killed (`None`). What it read and did
    /// not write is lost; on an exit that is only allowed when it reported it dropped.
    fn logger_gone(&mut self, pid: i32, code: Option<i32>) {
        self.loggers.remove(&pid);
        let w = &mut *self.w.borrow_mut();
        let Some(l) = w.logs.remove(&pid) else { return };
        let held = l.held();
        w.note(("svlogd gone", pid, code, held));
        if let Some(d) = w.svcs.get_mut(&l.svc).map(|s| &mut s.log).filter(|d| d.lock == Some(pid)) {
            d.lock = None;
        }
        if held == 0 {
            return;
        }
        match code {
            None => w.log_lost += held,
            Some(_) if l.dropped == held => w.log_dropped += held,
            Some(c) => {
                let m = format!("svlogd {pid} exited {c} holding {held} bytes, {} reported dropped", l.dropped);
                w.violate(Check::LogBytes, m);
                return;
            }
        }
        if let Some(s) = w.svcs.get_mut(&l.svc) {
            // It writes in order: what it held is the end of what it read.
            let keep = s.logged.len().saturating_sub(held);
            s.logged.truncate(keep);
            s.lost += held;
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
            _ if w.adopt_fds.contains_key(&fd) => w.pidfd_ended(fd),
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
        let mut orphans = Vec::new();
        for (&c, p) in w.procs.iter_mut().filter(|(_, p)| p.parent == pid) {
            p.parent = 1;
            orphans.push(c);
        }
        // The orphaned `./run` may end and its pid go to an unrelated process before the
        // new runsv looks (only a process old enough for the pid space to have wrapped).
        let now = w.now.mono;
        let old = orphans
            .iter()
            .filter_map(|c| Some((*c, w.procs.get(c)?)))
            .find(|(_, p)| p.kind == Kind::Run && p.zombie.is_none() && p.started + Span::from_millis(100) <= now)
            .map(|(c, p)| (c, p.started, p.svc));
        let plant = w.cfg.plant == JointPlant::ReusedPidLooksSame;
        if let Some((child, started, svc)) = old.filter(|_| w.fault(JointFault::PidReused, if plant { 1000 } else { 300 })) {
            w.note(("pid reused", child));
            let stranger = Proc {
                parent: 1,
                svc: NO_SVC,
                kind: Kind::Run,
                exit_at: Some(now + Span::from_secs(30)),
                exit_status: 0,
                ignores_term: false,
                stopped: false,
                zombie: None,
                next_line: None,
                to_pipe: plant,
                seq: 0,
                notify: Notify::default(),
                started: if plant { started } else { now },
                unsupervised: None,
            };
            if plant {
                w.plant_fired = true;
                w.lying_pipe.insert(child, svc);
            }
            w.procs.insert(child, stranger);
        }
        w.runsv_zombies.push_back(pid);
        w.latch(RUNSVDIR_PID, SIGCHLD);
    }

    /// After runsv `pid`'s first turn (its `Resume`): every live orphan of its directory
    /// is adopted, or left where docs/divergences.md says adoption does not take over.
    fn judge_orphans(&mut self, pid: i32) {
        let Some(r) = self.runsvs.get(&pid) else { return };
        let (svc, named) = (r.svc, r.named_at_start);
        let adopted: Vec<i32> = [Slot::Main, Slot::Log]
            .into_iter()
            .filter(|&s| r.machine.adopted(s).is_some())
            .filter_map(|s| r.machine.slot(s))
            .map(|s| s.pid() as i32)
            .collect();
        let w = &mut *self.w.borrow_mut();
        let orphans: Vec<i32> = w
            .procs
            .iter()
            .filter(|(_, p)| p.parent == 1 && p.svc == svc && p.zombie.is_none() && p.unsupervised.is_none())
            .map(|(&c, _)| c)
            .collect();
        if w.trace {
            eprintln!(
                "judge runsv {pid} svc {svc} adopted {adopted:?} orphans {orphans:?} all {:?}",
                w.procs
                    .iter()
                    .filter(|(_, p)| p.svc == svc)
                    .map(|(c, p)| (c, p.parent, p.kind, p.zombie, p.unsupervised))
                    .collect::<Vec<_>>()
            );
        }
        for child in orphans {
            if adopted.contains(&child) {
                w.adopted += 1;
                continue;
            }
            let Some(p) = w.procs.get(&child) else { continue };
            let named = named[usize::from(p.kind == Kind::LogRun)] == Some(child as u32);
            let reason = if p.kind == Kind::Finish {
                "a ./finish running"
            } else if !named {
                "no record names it (killed mid-fork or mid-status-write, or a failed status write)"
            } else if w.clock_stepped.is_some_and(|t| t >= p.started) {
                "the wall clock stepped since it started"
            } else if w.pipe_refused.contains(&pid) {
                "the log pipe could not be taken back"
            } else {
                w.violate(
                    Check::OneChildPerSlot,
                    format!("runsv {pid}: orphan {child} ({:?}) of directory {svc} is named by its record and was not taken over", p.kind),
                );
                continue;
            };
            *w.left.entry(reason).or_default() += 1;
            if let Some(p) = w.procs.get_mut(&child) {
                p.unsupervised = Some(reason);
            }
        }
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
        for (&pid, p) in w.procs.iter().filter(|(_, p)| p.zombie.is_none() && p.unsupervised.is_none() && p.svc != NO_SVC) {
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
        // Log bytes: every byte written into the pipe is still there, or was read by svlogd
        // (or lost with one that was killed, or dropped and reported); svlogd's files, oldest
        // first, hold what it read, in order, once, less what a live svlogd still holds.
        let mut held: BTreeMap<u64, usize> = BTreeMap::new();
        for l in w.logs.values() {
            *held.entry(l.svc).or_default() += l.held();
        }
        let mut bad = None;
        for (svc, s) in &w.svcs {
            if s.sent.len() != s.logged.len() + s.lost + s.pipe.len() || !s.sent.ends_with(&s.pipe) {
                let m = format!(
                    "directory {svc}: {} bytes written, {} read, {} lost, {} in the pipe",
                    s.sent.len(),
                    s.logged.len(),
                    s.lost,
                    s.pipe.len()
                );
                bad = Some(m);
                break;
            }
            let h = held.get(svc).copied().unwrap_or(0);
            let len = s.log.len();
            let differs = if len + h == s.logged.len() { s.log.differs_from(&s.logged) } else { Some(len.min(s.logged.len())) };
            if let Some(at) = differs {
                let m =
                    format!("directory {svc}: log files hold {len} bytes (differ at {at}), svlogd read {} and holds {h}", s.logged.len());
                bad = Some(m);
                break;
            }
        }
        if let Some(m) = bad {
            w.violate(Check::LogBytes, m);
        }
        // Readiness: ready only after the current child notified; a hung watchdog acted on.
        for (&pid, r) in &self.runsvs {
            let protocol = w.svcs.get(&r.svc).map(|s| s.ready).unwrap_or_default();
            // An adopted service is taken as ready (docs/divergences.md "Adoption").
            if let Some(Phase::Run { pid: child, ready, adopted: None, .. }) = r.machine.slot(Slot::Main).map(|s| s.phase) {
                let notified = w.procs.get(&(child as i32)).is_some_and(|p| p.notify.notified);
                if protocol != SvcReady::None && ready.is_ready() && !notified {
                    w.violate(Check::ReadyHonest, format!("runsv {pid}: {child} recorded ready, never notified"));
                }
            }
        }
        // Only the genuine process is adopted: an adopted slot's live process is its own.
        for (&pid, r) in &self.runsvs {
            for slot in [Slot::Main, Slot::Log] {
                let Some(child) = r.machine.adopted(slot).and(r.machine.slot(slot)).map(|s| s.pid() as i32) else { continue };
                if w.procs.get(&child).is_some_and(|p| p.zombie.is_none() && p.svc != r.svc) {
                    w.violate(
                        Check::AdoptOnlyTheSame,
                        format!("runsv {pid} adopted {child} in its {slot:?} slot, a process of another service"),
                    );
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
        // A stopped svlogd's deadline waits for SIGCONT.
        let running = |pid: &i32| w.procs.get(pid).is_some_and(|p| !p.stopped);
        let loggers = self.loggers.iter().filter(|(pid, _)| running(pid)).filter_map(|(_, l)| l.deadline);
        for d in self.runsvs.values().filter_map(|r| r.deadline).chain(loggers) {
            t = t.min(d);
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
            // The write succeeds while anyone reads the pipe (its runsv, a logger, orphaned
            // or not); an orphan's line after runsv closed its ends is counted.
            let reader = to_pipe && w.pipe_has_reader(svc);
            if reader && w.svcs.get(&svc).is_some_and(|s| s.pipe_closed) {
                w.lines_after_close += 1;
            }
            if let Some(s) = w.svcs.get_mut(&svc).filter(|_| reader) {
                let line = format!("{pid} {seq}\n").into_bytes();
                s.pipe.extend_from_slice(&line);
                s.sent.extend_from_slice(&line);
                w.lines += 1;
            }
        }
        w.notify_due();
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
                        svc.log = log_dir(ino);
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
                    w.clock_stepped = Some(w.now.mono);
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

    /// Everyone that can run at this instant runs (runsvdir's new runsv and runsv's new
    /// svlogd included) until all wait.
    fn run_instant(&mut self) {
        let mut cap = model::StepCap::new("joint sim: one instant", 10_000);
        loop {
            cap.step();
            let ran = self.run_runsvs();
            if !self.run_runsvdir() && !ran {
                break;
            }
        }
        self.reap_orphans();
    }

    /// One scheduler step: everyone that can run runs (runsvdir's new runsv included),
    /// then time passes to the next event.
    fn step(&mut self, outside_at: &mut Mono, end: Mono) {
        self.steps += 1;
        self.run_instant();
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
            let finish_present = rng.chance(300);
            svcs.insert(next_ino, Svc { finish_present, ready, log: log_dir(next_ino), ..Svc::default() });
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
        logs: BTreeMap::new(),
        log_lost: 0,
        log_dropped: 0,
        trace: std::env::var_os("JOINT_SIM_TRACE").is_some(),
        adopt_fds: BTreeMap::new(),
        first_turn: BTreeSet::new(),
        pipe_taken: BTreeSet::new(),
        pipe_refused: BTreeSet::new(),
        pipe_recovered: BTreeSet::new(),
        clock_stepped: None,
        lying_pipe: BTreeMap::new(),
        adopted: 0,
        left: BTreeMap::new(),
        eof_held: BTreeSet::new(),
        lines_after_close: 0,
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
        loggers: BTreeMap::new(),
        svlogd_starts: 0,
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
        // What the last instant wrote is read at that instant too.
        j.run_instant();
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
        svlogd_starts: j.svlogd_starts,
        rotations: w.svcs.values().map(|s| s.log.rotations).sum(),
        log_lost: w.log_lost,
        log_dropped: w.log_dropped,
        steps: j.steps,
        virtual_ms: (w.now.mono - T0).as_millis(),
        digest: w.hasher.finish(),
        plant_fired: w.plant_fired,
        kill_points: std::mem::take(&mut w.kill_points),
        adopted: w.adopted,
        left_to_runit: std::mem::take(&mut w.left),
        eof_held_by_writers: w.eof_held.len(),
        lines_after_close: w.lines_after_close,
    }
}
