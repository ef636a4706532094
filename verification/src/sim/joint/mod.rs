//! The joint simulation: runsvdir and several runsv over **one** fake kernel, seeded.
//!
//! - runsvdir is the **production** executor, `runtime::exec::runsvdir::RunsvdirIo`, over
//!   `JointDirSys` (a directory of service directories that gains and loses entries,
//!   change notices, forks of runsv that fail); every runsv is the **production**
//!   executor, `runtime::exec::runsv::RunsvIo`, over `JointSys` (`sys`). Both are driven
//!   by the production driver's own turn functions (`runtime::driver::settle` / `woken`);
//!   the scheduler (`sched`) only decides which process wakes when (one at a time, in a
//!   fixed order), as a kernel would; `world` is the kernel's state.
//! - each service's `./run` writes numbered lines into its log pipe; `log/run` is the
//!   **production** svlogd executor, `runtime::exec::svlogd::SvlogdIo`, over `JointLogSys`
//!   (`logfs`: its log directory `main`, rotating at a small size, a disk that fills up,
//!   opens and renames that fail), driven like the others. [`Check::LogBytes`] judges its
//!   files: `current` and the rotated `@…s` files, oldest first, hold exactly the bytes it
//!   read, in order, once, less only what it held when killed and what it reported
//!   dropped after SIGTERM on a full disk (docs/divergences.md).
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
//! as a fault, between events and inside syscalls (mid-fork, mid-status-write, during
//! `./finish`, during a control script). runsvdir's new runsv takes the production
//! adoption path (`RunsvIo::probed`, `Input::Resume`) over the fake kernel's pidfds,
//! `/proc/PID/stat` and `pidfd_getfd`; an unrelated process may get an orphan's pid. After
//! its first turn every live orphan of its directory is either adopted or left for a reason
//! docs/divergences.md documents (a `./finish` running, no record naming it, a stepped
//! wall clock, the log pipe not recoverable): those no longer count in their slot, as
//! runit would leave them; any other orphan not taken over is a [`Check::OneChildPerSlot`]
//! failure.

mod logfs;
mod sched;
mod sys;
mod world;

use std::collections::BTreeMap;

pub use sched::run;

/// How a run is set up.
#[derive(Clone, Debug)]
pub struct JointConfig {
    /// Virtual seconds of activity before the quiet period.
    pub active_secs: u64,
    /// Size of the pool of service names.
    pub names: usize,
    /// Inject faults.
    pub faults: bool,
    /// Also kill runsv with SIGKILL at random points; the new runsv must adopt what it left.
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
    /// Every 50th write to a log file reports success and stores nothing (a disk that
    /// lies): svlogd's files then miss a line.
    LogWriteLost,
    /// An unrelated process that got an orphan's pid shows the orphan's start time in
    /// `/proc/PID/stat` and the orphan's log pipe on its fd 1: what a probe that ignored
    /// the start time would accept in a service whose pipe check cannot tell (the pipe
    /// check alone stops it otherwise).
    ReusedPidLooksSame,
    /// A logger reads EOF once runsv closed its ends of the log pipe, although another
    /// process (an orphan `./run`) still holds the write end: the fake's old rule.
    EofWithWriters,
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
    /// svlogd's write to `current` fails with ENOSPC (the disk stays full a while).
    LogDiskFull,
    /// svlogd's open of `current` fails.
    LogOpen,
    /// svlogd's rename (rotation) fails.
    LogRename,
    /// The orphaned `./run` of a killed runsv ends and an unrelated process gets its pid
    /// (only with [`JointConfig::kill_runsv`]).
    PidReused,
    /// `pidfd_getfd` fails (`EPERM`: a ptrace policy): the log pipe cannot be taken back.
    AdoptNoPipe,
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
    /// A runsv took over (or signalled through a pidfd) a process that is not its
    /// service's: the reference invariant of that name.
    AdoptOnlyTheSame,
    /// A logger read EOF while a process still held the log pipe's write end.
    EofOnlyWithoutWriters,
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
    /// Bytes svlogd read from the log pipes (and must have written).
    pub logged_bytes: usize,
    /// svlogd processes started (the production executor as `log/run`).
    pub svlogd_starts: usize,
    /// Log files rotated by svlogd.
    pub rotations: usize,
    /// Bytes svlogd read and lost because it was killed (SIGKILL, INT, QUIT).
    pub log_lost: usize,
    /// Bytes svlogd dropped and reported after SIGTERM on a full disk.
    pub log_dropped: usize,
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
    /// Orphans a new runsv took over.
    pub adopted: usize,
    /// Orphans left to runit's behaviour (documented: not taken over), by reason.
    pub left_to_runit: BTreeMap<&'static str, usize>,
    /// Loggers that found their log pipe empty after its runsv closed its ends while
    /// another process (an orphan) still held the write end: no EOF, they kept reading.
    pub eof_held_by_writers: usize,
    /// Lines written into a log pipe after its runsv closed its ends (by an orphan).
    pub lines_after_close: usize,
}

impl JointReport {
    /// The first violation, if any.
    pub fn failure(&self) -> Option<String> {
        self.violations.first().map(|(c, m)| format!("{c:?}: {m}"))
    }
}
