//! The fake kernel of the joint simulation: processes, service directories, pipes,
//! sockets, the clock, the faults and the outside world's effects on them.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::hash::Hash;

use model::readiness::Protocol;
use model::runsv::Readiness;
use model::time::{Mono, Now, Span};
use runtime::os::Datagram;
use runtime::process::SpawnSpec;

use crate::sim::rng::Rng;

use super::logfs::{LogDir, LogProc};
use super::{Check, JointConfig, JointFault, JointPlant};

/// The descriptors every runsv holds on the fake kernel (each process has its own table):
/// the two `control` FIFOs, the log pipe's ends, `./finish` while it is open.
pub(super) const MAIN_CONTROL_FD: i32 = 3;
pub(super) const LOG_CONTROL_FD: i32 = 4;
pub(super) const LOG_PIPE_R: i32 = 5;
pub(super) const LOG_PIPE_W: i32 = 6;
pub(super) const FINISH_FD: i32 = 7;
/// The pid a `control/<c>` script gets (runsv waits for it at once).
pub(super) const CONTROL_PID: i32 = 900_000;
/// runsv's bound `supervise/notify` socket.
pub(super) const SOCKET_FD: i32 = 8;
/// The descriptor `./run` gets its notification pipe on (`notification-fd`).
pub(super) const NOTIFICATION_FD: i32 = 3;
/// A process outside the tree that sends forged notifications.
pub(super) const STRANGER_PID: i32 = 99_999;
/// Linux's numbers for the signals the kernel latches itself.
pub(super) const SIGCHLD: i32 = libc::SIGCHLD;
pub(super) const SIGTERM: i32 = libc::SIGTERM;
/// runsvdir's pid (PID 1 is runit, which reaps orphans).
pub(super) const RUNSVDIR_PID: i32 = 2;
/// runsvdir's descriptors on the fake kernel: the scanned directory, the change notices,
/// the stamp file.
pub(super) const SCAN_FD: i32 = 40;
pub(super) const WATCH_FD: i32 = 41;
pub(super) const STAMP_FD: i32 = 42;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Run,
    Finish,
    LogRun,
}

#[derive(Clone, Debug)]
pub(super) struct Proc {
    pub(super) parent: i32,
    pub(super) svc: u64,
    pub(super) kind: Kind,
    pub(super) exit_at: Option<Mono>,
    pub(super) exit_status: i32,
    pub(super) ignores_term: bool,
    pub(super) stopped: bool,
    pub(super) zombie: Option<i32>,
    /// `./run`: when it writes its next line (into the log pipe when it has it).
    pub(super) next_line: Option<Mono>,
    pub(super) to_pipe: bool,
    pub(super) seq: u32,
    /// `./run`'s readiness behaviour.
    pub(super) notify: Notify,
    /// When it started (its `/proc/PID/stat` start time counts from boot = `Mono(0)`).
    pub(super) started: Mono,
    /// An orphan the new runsv did not take over, where that is runit's documented
    /// behaviour (docs/divergences.md "Adoption"): why. It no longer counts in its slot.
    pub(super) unsupervised: Option<&'static str>,
}

/// The directory id of processes that belong to no service (an unrelated process that
/// got an old pid).
pub(super) const NO_SVC: u64 = 0;

/// `sysconf(_SC_CLK_TCK)` of the fake kernel.
pub(super) const CLK_TCK: u64 = 100;

/// What a descriptor of the adoption calls is on the fake kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AdoptFd {
    /// A pidfd: the process it pins (pid and start time, so a reused pid is not it).
    Pidfd(i32, Mono),
    /// An end of a service's log pipe recovered through `pidfd_getfd` (`true` = write).
    Pipe(u64, bool),
}

/// How a service notifies readiness.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum SvcReady {
    /// No protocol: ready when it runs.
    #[default]
    None,
    /// s6's notification-fd.
    Fd,
    /// sd_notify, maybe with a watchdog.
    Sd(Option<Span>),
}

impl SvcReady {
    pub(super) fn draw(rng: &mut Rng) -> SvcReady {
        match rng.below(4) {
            0 | 1 => SvcReady::None,
            2 => SvcReady::Fd,
            _ => SvcReady::Sd(rng.chance(500).then(|| Span::from_secs(2))),
        }
    }

    pub(super) fn readiness(self) -> Readiness {
        match self {
            SvcReady::None => Readiness::default(),
            SvcReady::Fd => Readiness { protocol: Protocol::NotificationFd, watchdog: None },
            SvcReady::Sd(watchdog) => Readiness { protocol: Protocol::SdNotify, watchdog },
        }
    }
}

/// Where and when a `./run` notifies, and what it did.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Notify {
    /// Its notification pipe's read end (as runsv holds it).
    pub(super) pipe: Option<i32>,
    /// It notifies on runsv's socket.
    pub(super) socket: bool,
    /// When it sends `READY`.
    pub(super) at: Option<Mono>,
    /// It sends it twice.
    pub(super) twice: bool,
    /// It has sent it.
    pub(super) notified: bool,
    /// Its watchdog period.
    pub(super) watchdog: Option<Span>,
    pub(super) next_ping: Option<Mono>,
    /// It stops pinging then.
    pub(super) hang_at: Option<Mono>,
    pub(super) last_ping: Mono,
}

/// One notification pipe (keyed by its read end).
#[derive(Clone, Debug)]
pub(super) struct NPipe {
    pub(super) owner: i32,
    pub(super) w: i32,
    pub(super) buf: Vec<u8>,
    pub(super) writer: Option<i32>,
}

/// One service directory's kernel objects.
#[derive(Clone, Debug, Default)]
pub(super) struct Svc {
    pub(super) fifo: [VecDeque<u8>; 2],
    pub(super) finish_present: bool,
    /// Bytes in the log pipe, not yet read.
    pub(super) pipe: Vec<u8>,
    /// Lines written into the pipe, in order.
    pub(super) sent: Vec<u8>,
    /// What `log/run` (svlogd) read from the pipe, less what it lost (killed) or
    /// dropped (SIGTERM on a full disk): what its log directory must hold, in order.
    pub(super) logged: Vec<u8>,
    /// Bytes read by an svlogd and never written (killed, or dropped and reported).
    pub(super) lost: usize,
    /// The log directory `log/main`.
    pub(super) log: LogDir,
    /// Status files by name.
    pub(super) files: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The current runsv has closed its ends of the log pipe.
    pub(super) pipe_closed: bool,
    /// Its readiness protocol.
    pub(super) ready: SvcReady,
}

/// The fake kernel (everything but the runsv executors, which live beside it).
pub(super) struct World {
    pub(super) cfg: JointConfig,
    pub(super) rng: Rng,
    pub(super) now: Now,
    pub(super) dir: BTreeMap<Vec<u8>, u64>,
    pub(super) mtime: i64,
    pub(super) next_ino: u64,
    pub(super) svcs: BTreeMap<u64, Svc>,
    pub(super) procs: BTreeMap<i32, Proc>,
    /// Live runsv pids by service directory.
    pub(super) runsv_of: BTreeMap<i32, u64>,
    /// Latched signals per process.
    pub(super) pending: BTreeMap<i32, u64>,
    pub(super) next_pid: i32,
    pub(super) quiet: bool,
    pub(super) faults: BTreeMap<JointFault, usize>,
    /// runsv processes started by runsvdir.
    pub(super) runsv_starts: usize,
    /// Exited runsv processes runsvdir has not reaped yet.
    pub(super) runsv_zombies: VecDeque<i32>,
    /// A change notice is pending on runsvdir's watch.
    pub(super) dir_changed: bool,
    /// runsv processes killed inside a syscall: the rest of their turn has no effect.
    pub(super) dead: BTreeSet<i32>,
    /// Where runsv was killed, by point.
    pub(super) kill_points: BTreeMap<&'static str, usize>,
    /// Notification pipes by read end.
    pub(super) npipes: BTreeMap<i32, NPipe>,
    pub(super) next_fd: i32,
    /// Datagrams queued on each runsv's `supervise/notify`.
    pub(super) sockets: BTreeMap<i32, VecDeque<Datagram>>,
    /// Per runsv: when the last fork of its main slot failed (until one succeeds).
    pub(super) fork_failed: BTreeMap<i32, Mono>,
    pub(super) violations: Vec<(Check, String)>,
    pub(super) hasher: DefaultHasher,
    pub(super) service_starts: usize,
    pub(super) lines: usize,
    pub(super) stderr_lines: usize,
    pub(super) plant_fired: bool,
    /// Each live svlogd's kernel state, by pid.
    pub(super) logs: BTreeMap<i32, LogProc>,
    /// Bytes svlogd read and lost when killed.
    pub(super) log_lost: usize,
    /// Bytes svlogd dropped, reported, after SIGTERM on a full disk.
    pub(super) log_dropped: usize,
    /// Print every event (`JOINT_SIM_TRACE=1`).
    pub(super) trace: bool,
    /// Adoption's descriptors (pidfds, recovered pipe ends).
    pub(super) adopt_fds: BTreeMap<i32, AdoptFd>,
    /// runsv processes in their first turn (`Resume`, `Start`), and those whose log pipe is
    /// now a recovered one (their own fresh pipe was closed by `TakeLogPipe`).
    pub(super) first_turn: BTreeSet<i32>,
    pub(super) pipe_taken: BTreeSet<i32>,
    /// runsv processes that got a log pipe end back through `pidfd_getfd`.
    pub(super) pipe_recovered: BTreeSet<i32>,
    /// runsv processes that warned they could not take the log pipe back (nothing adopted).
    pub(super) pipe_refused: BTreeSet<i32>,
    /// Under [`JointPlant::ReusedPidLooksSame`]: the log pipe (service) a stranger's fd 1
    /// shows, by pid.
    pub(super) lying_pipe: BTreeMap<i32, u64>,
    /// When the wall clock last stepped.
    pub(super) clock_stepped: Option<Mono>,
    /// Orphans taken over, and those left to runit's behaviour by reason.
    pub(super) adopted: usize,
    pub(super) left: BTreeMap<&'static str, usize>,
    /// Loggers an orphan writer kept from EOF ([`super::JointReport::eof_held_by_writers`]),
    /// and lines written after runsv closed its ends.
    pub(super) eof_held: BTreeSet<i32>,
    pub(super) lines_after_close: usize,
}

impl World {
    pub(super) fn fault(&mut self, f: JointFault, per_mille: u64) -> bool {
        if !self.cfg.faults || self.quiet || !self.rng.chance(per_mille) {
            return false;
        }
        *self.faults.entry(f).or_default() += 1;
        true
    }

    pub(super) fn violate(&mut self, c: Check, m: String) {
        if self.violations.is_empty() {
            let t = (self.now.mono.0 - T0.0) / 1_000_000;
            self.violations.push((c, format!("{m} (at +{t} ms)")));
        }
    }

    pub(super) fn note<T: Hash + std::fmt::Debug>(&mut self, x: T) {
        x.hash(&mut self.hasher);
        if self.trace {
            let t = (self.now.mono.0 - T0.0) / 1_000_000;
            eprintln!("+{t} {x:?}");
        }
    }

    /// `/proc/PID/stat` of a process on the fake kernel (fields 1-22; start time in
    /// [`CLK_TCK`] ticks since boot).
    pub(super) fn proc_stat(&self, pid: i32) -> Option<Vec<u8>> {
        let p = self.procs.get(&pid)?;
        let state = if p.zombie.is_some() {
            'Z'
        } else if p.stopped {
            'T'
        } else {
            'S'
        };
        let ticks = p.started.0 / (1_000_000_000 / CLK_TCK);
        let filler = "0 ".repeat(16);
        Some(format!("{pid} (run) {state} {} {} {filler}{ticks} 0 0\n", p.parent, p.parent).into_bytes())
    }

    /// Whether the process a pidfd pins has ended (the pidfd polls readable).
    pub(super) fn pidfd_ended(&self, fd: i32) -> bool {
        match self.adopt_fds.get(&fd) {
            Some(&AdoptFd::Pidfd(pid, started)) => self.procs.get(&pid).is_none_or(|p| p.started != started || p.zombie.is_some()),
            _ => false,
        }
    }

    pub(super) fn pid(&mut self) -> i32 {
        self.next_pid += 1;
        self.next_pid
    }

    pub(super) fn latch(&mut self, pid: i32, sig: i32) {
        *self.pending.entry(pid).or_default() |= 1 << sig;
    }

    pub(super) fn die(&mut self, pid: i32, status: i32) {
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
    pub(super) fn deliver(&mut self, pid: i32, sig: i32) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        if p.zombie.is_some() {
            return;
        }
        if p.kind == Kind::LogRun {
            // svlogd: TERM, HUP, ALRM handled; USR1/USR2 strays caught; INT, QUIT, ABRT default.
            match sig {
                libc::SIGKILL => self.die(pid, sig),
                libc::SIGSTOP => p.stopped = true,
                libc::SIGCONT => p.stopped = false,
                libc::SIGTERM | libc::SIGHUP | libc::SIGALRM => self.latch(pid, sig),
                libc::SIGINT | libc::SIGQUIT | libc::SIGABRT if !p.stopped => self.die(pid, sig),
                _ => {}
            }
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
    pub(super) fn crash_point(&mut self, me: i32, point: &'static str, per_mille: u64) -> bool {
        if !self.cfg.kill_runsv || !self.fault(JointFault::RunsvKill, per_mille) {
            return false;
        }
        *self.kill_points.entry(point).or_default() += 1;
        self.dead.insert(me);
        true
    }

    /// A new `./run`'s readiness behaviour, with the faults drawn for it; `spec` says
    /// which notification pipe it got.
    pub(super) fn draw_notify(&mut self, svc: u64, pid: i32, spec: &SpawnSpec) -> Notify {
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
    pub(super) fn send(&mut self, pid: i32, payload: &[u8]) {
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
    pub(super) fn notify_due(&mut self) {
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
    pub(super) fn forge(&mut self, runsvs: &[(i32, u64)]) {
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
}

/// The log pipe of a service directory, as the kernel counts its ends.
impl World {
    /// How many processes hold the write end of `svc`'s log pipe: its runsv until it closes
    /// its ends, and every live process whose stdout is the pipe, orphans included (a
    /// `./run` left by a killed runsv, reparented to runsvdir, still writes).
    pub(super) fn pipe_writers(&self, svc: u64) -> usize {
        let runsv = self.svcs.get(&svc).map_or(0, |s| usize::from(!s.pipe_closed));
        runsv + self.procs.values().filter(|p| p.svc == svc && p.to_pipe && p.zombie.is_none()).count()
    }

    /// Whether anyone can read `svc`'s log pipe (runsv holds both ends until it closes
    /// them; a live logger holds the read end): a write without a reader fails (EPIPE).
    pub(super) fn pipe_has_reader(&self, svc: u64) -> bool {
        self.svcs.get(&svc).is_some_and(|s| !s.pipe_closed)
            || self.procs.values().any(|p| p.svc == svc && p.kind == Kind::LogRun && p.zombie.is_none())
    }

    /// A read of `svc`'s log pipe gives EOF: it is empty and nobody holds the write end
    /// (under [`JointPlant::EofWithWriters`], once runsv closed its ends).
    pub(super) fn pipe_eof(&self, svc: u64) -> bool {
        let Some(s) = self.svcs.get(&svc) else { return false };
        let closed = if self.cfg.plant == JointPlant::EofWithWriters { s.pipe_closed } else { self.pipe_writers(svc) == 0 };
        s.pipe.is_empty() && closed
    }
}

pub(super) const T0: Mono = Mono(1_000_000_000);
