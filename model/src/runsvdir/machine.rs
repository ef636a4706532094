//! The runsvdir machine (spec/runsvdir.md §2–§8, with the divergences recorded in
//! `docs/divergences.md`).
//!
//! A *look* is one `stat` of the directory ([`Action::StatDir`]); when it shows a change
//! (or a rescan is pending) a *scan* follows ([`Action::Scan`]), whose reply lists every
//! entry with what `stat` said about it. The scan starts one runsv per new
//! (device, inode), restarts tracked ones whose runsv died, and TERMs (exactly once)
//! the runsv of every entry that disappeared.
//!
//! When looks happen:
//! - at start-up;
//! - *polling* (inotify unavailable): runit's rhythm, 1 s after a look while `check` is
//!   set, else 5 s; a change in the current second waits 1 s to settle;
//! - *watching* (inotify active): [`DEBOUNCE`] after a change notice, no settle sleep,
//!   and no periodic looks at all while nothing is pending (0 idle wake-ups);
//! - in both: 1 s after a tracked runsv died (it is restarted then), 1 s after a look
//!   that set `check`, 5 s after a failed look (retried until it works), and on SIGALRM
//!   as soon as 1 s has passed since the previous look (a forced rescan, then the
//!   `.forced-rescan` stamp).
//!
//! Replies to obligations ([`Owed`]) must be fed before any other input.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::errno::Errno;
use crate::machine::Machine;
use crate::runsvdir::msg::Warning;
use crate::runsvdir::timer::{Timer, TimerTable};
use crate::runsvdir::title::{self, Title};
use crate::runsvdir::MAX_SERVICES;
use crate::time::{Mono, Now, Span, Tai64n};

/// Wait after a look while `check` is set (a rescan is wanted soon).
pub const WAIT_CHECK: Span = Span::from_secs(1);
/// Wait after a look otherwise (polling mode).
pub const WAIT_IDLE: Span = Span::from_secs(5);
/// Minimum spacing of looks (except change-notice looks).
pub const LOOK_SPACING: Span = Span::from_secs(1);
/// The settle sleep before scanning a directory modified in the current second.
pub const SETTLE: Span = Span::from_secs(1);
/// How long a change notice waits for more notices before the look (coalescing bursts).
pub const DEBOUNCE: Span = Span::from_millis(3);
/// Delay between a tracked runsv's death and its restart (no spinning on exec failure).
pub const RESTART_DELAY: Span = Span::from_secs(1);

/// What `stat(<dir>)` says: runit compares these to decide whether to rescan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DirStamp {
    /// Modification time, whole seconds (wall clock, as stored by the file system).
    pub mtime_secs: i64,
    /// Inode number.
    pub ino: u64,
    /// Device number.
    pub dev: u64,
}

/// What `stat` (following symlinks) said about one directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A directory (or a symlink to one): a service, keyed by its (dev, ino).
    Dir {
        /// Device number.
        dev: u64,
        /// Inode number.
        ino: u64,
    },
    /// Anything else (regular file, device, symlink to a file): ignored.
    NotDir,
    /// `stat` failed (e.g. a dangling symlink): warned about and skipped.
    StatFailed(Errno),
}

/// One directory entry as read by a scan, in readdir order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The entry's name, raw bytes.
    pub name: Vec<u8>,
    /// What `stat` said.
    pub kind: EntryKind,
}

/// The reply to [`Action::Scan`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ScanReply {
    /// The directory could not be entered (runit's `chdir` failure).
    ChdirFailed(Errno),
    /// The directory could not be opened for reading.
    OpenFailed(Errno),
    /// The entries read, and the error that cut reading short, if any.
    Listed {
        /// Entries in readdir order (dot names included; the machine skips them).
        entries: Vec<Entry>,
        /// A readdir error: the scan is abandoned without removals.
        read_error: Option<Errno>,
    },
}

impl ScanReply {
    /// The reply when the executor could not open the directory itself (it stands in
    /// for runit's `chdir` with an `O_PATH` open): running out of descriptors or memory
    /// is what runit hits at its `opendir`, anything else at its `chdir`, and the two
    /// print different warnings.
    pub fn dir_unopenable(e: Errno) -> ScanReply {
        match e {
            Errno::EMFILE | Errno::ENFILE | Errno::ENOMEM => ScanReply::OpenFailed(e),
            other => ScanReply::ChdirFailed(other),
        }
    }
}

/// Why writing `.forced-rescan` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StampError {
    /// open-truncate failed.
    Open,
    /// The write failed or was short.
    Write,
}

/// Why the log pipe could not be set up (runit prints a different warning for each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogFailure {
    /// `pipe(2)` failed.
    Pipe,
    /// Moving the pipe's write end onto fd 2 (`dup2`) failed.
    Dup,
}

/// Whether change notices (inotify) are available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatchState {
    /// Notices will arrive as [`Input::DirChanged`]; periodic looks stop.
    Active,
    /// No notices (inotify missing, limit reached, watch failed): poll like runit.
    Unavailable,
}

/// Facts fed to the machine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// Program start (first input).
    Start,
    /// Reply to [`Action::SetupLog`].
    LogReady(Result<(), LogFailure>),
    /// Reply to [`Action::Watch`], or an unsolicited loss of the watch.
    Watch(WatchState),
    /// Something in the watched directory (or the symlinks leading to it) changed, or
    /// the notice queue overflowed.
    DirChanged,
    /// Reply to [`Action::StatDir`].
    DirStat(Result<DirStamp, Errno>),
    /// Reply to [`Action::Scan`].
    Scanned(ScanReply),
    /// Reply to [`Action::StartRunsv`].
    Spawned {
        /// The service's device.
        dev: u64,
        /// The service's inode.
        ino: u64,
        /// The new pid, or the fork errno.
        result: Result<i32, Errno>,
    },
    /// A child exited (reaped).
    RunsvExited {
        /// Its pid.
        pid: i32,
    },
    /// Reply to [`Action::WriteStamp`].
    StampWritten(Result<(), StampError>),
    /// Bytes read from the log pipe.
    LogBytes(Vec<u8>),
    /// The deadline passed.
    Tick,
    /// SIGTERM.
    Terminate,
    /// SIGHUP.
    Hangup,
    /// SIGALRM ([deb] forced rescan).
    Alarm,
}

/// Decisions for the runtime.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create the log pipe, dup its write end onto fd 2 (obligation: [`Input::LogReady`]).
    SetupLog,
    /// (Re)build the change watches on the directory and the symlinks leading to it
    /// (obligation: [`Input::Watch`]).
    Watch,
    /// `stat(<dir>)` following symlinks (obligation: [`Input::DirStat`]).
    StatDir,
    /// Read the directory and stat every entry (obligation: [`Input::Scanned`]).
    Scan,
    /// Fork and exec `runsv <name>` in the directory (obligation: [`Input::Spawned`]).
    StartRunsv {
        /// Entry name, for argv.
        name: Vec<u8>,
        /// Service device (echoed in the reply).
        dev: u64,
        /// Service inode (echoed in the reply).
        ino: u64,
    },
    /// SIGTERM to a runsv.
    Term {
        /// The runsv's pid.
        pid: i32,
    },
    /// Write the stamp text into `<dir>/.forced-rescan` (obligation: [`Input::StampWritten`]).
    WriteStamp([u8; 25]),
    /// Write bytes into the log pipe (the periodic `.`).
    WriteLog(Vec<u8>),
    /// Show this as the log argument's bytes in the process title.
    ShowTitle(Vec<u8>),
    /// Print a warning to fd 2.
    Warn(Warning),
    /// Exit with this code.
    Exit(i32),
}

/// A reply the machine is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owed {
    /// [`Input::LogReady`].
    LogReady,
    /// [`Input::Watch`].
    Watch,
    /// [`Input::DirStat`].
    DirStat,
    /// [`Input::Scanned`].
    Scanned,
    /// [`Input::Spawned`].
    Spawned,
    /// [`Input::StampWritten`].
    StampWritten,
}

/// One tracked service.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Service {
    /// Name it was first started with (runsv keeps this name after a rename).
    pub name: Vec<u8>,
    /// Device of its directory.
    pub dev: u64,
    /// Inode of its directory.
    pub ino: u64,
    /// Its runsv, if one is running.
    pub pid: Option<i32>,
}

/// What the machine is doing between inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for events or a deadline.
    Idle,
    /// Waiting for [`Input::LogReady`].
    AwaitLog,
    /// Waiting for [`Input::Watch`].
    AwaitWatch,
    /// Waiting for [`Input::DirStat`] of a look.
    AwaitStat,
    /// Sleeping before a scan (directory changed in the current second).
    Settling,
    /// Waiting for [`Input::Scanned`].
    AwaitScan,
    /// Waiting for [`Input::StampWritten`].
    AwaitStamp,
    /// Exited.
    Exited,
}

/// The runsvdir machine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Runsvdir {
    phase: Phase,
    services: Vec<Service>,
    /// runit's `check` flag: rescan at the next look even if the stamp is unchanged.
    check: bool,
    /// The stamp recorded at the last successful entry into the directory.
    last: DirStamp,
    /// A look's stat result awaiting the scan's success to be recorded.
    pending_stamp: DirStamp,
    /// Earliest time of the next regular or forced look (runit's look spacing: a floor
    /// for the [`Timer::Look`] deadline, and the forced look's deadline while `forced`).
    stampcheck: Mono,
    /// The deadlines: next look, change-notice look, settle sleep, log dot.
    timers: TimerTable,
    /// The look in progress was asked for by a change notice.
    look_by_change: bool,
    /// A SIGALRM is pending.
    forced: bool,
    /// The scan in progress is a forced one.
    scanning_forced: bool,
    /// The last look or scan failed: retry on the polling rhythm.
    failed: bool,
    watching: bool,
    /// The pending [`Action::Watch`] is a rebuild in the middle of a look.
    rewatch_in_look: bool,
    /// Log argument, if long enough; the buffer shown in the process title.
    title: Option<Title>,
    log_arg: Option<Vec<u8>>,
    owed: VecDeque<Owed>,
    actions: VecDeque<Action>,
}

impl Runsvdir {
    /// A machine for one directory; `log` is the log argument as given, if any.
    pub fn new(log: Option<&[u8]>) -> Runsvdir {
        Runsvdir {
            phase: Phase::Idle,
            services: Vec::new(),
            check: true,
            last: DirStamp::default(),
            pending_stamp: DirStamp::default(),
            stampcheck: Mono(0),
            timers: TimerTable::default(),
            look_by_change: false,
            forced: false,
            scanning_forced: false,
            failed: false,
            watching: false,
            rewatch_in_look: false,
            title: None,
            log_arg: log.map(|l| l.to_vec()),
            owed: VecDeque::new(),
            actions: VecDeque::new(),
        }
    }

    /// The tracked services (at most [`MAX_SERVICES`]).
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The reply the machine is owed next, if any (the driver answers it first).
    pub fn owed(&self) -> Option<Owed> {
        self.owed.front().copied()
    }

    /// Whether change notices are in use.
    pub fn watching(&self) -> bool {
        self.watching
    }

    /// runit's `check` flag.
    pub fn check(&self) -> bool {
        self.check
    }

    /// The process-title buffer, when the log argument is active.
    pub fn title(&self) -> Option<&[u8]> {
        self.title.as_ref().map(|t| t.bytes())
    }

    fn push(&mut self, a: Action) {
        let owed = match &a {
            Action::SetupLog => Some(Owed::LogReady),
            Action::Watch => Some(Owed::Watch),
            Action::StatDir => Some(Owed::DirStat),
            Action::Scan => Some(Owed::Scanned),
            Action::StartRunsv { .. } => Some(Owed::Spawned),
            Action::WriteStamp(_) => Some(Owed::StampWritten),
            Action::Term { .. } | Action::WriteLog(_) | Action::ShowTitle(_) | Action::Warn(_) | Action::Exit(_) => None,
        };
        if let Some(o) = owed {
            self.owed.push_back(o);
        }
        self.actions.push_back(a);
    }

    fn settle_owed(&mut self, o: Owed) {
        if self.owed.front() == Some(&o) {
            self.owed.pop_front();
        }
    }

    fn exit(&mut self, code: i32) {
        self.push(Action::Exit(code));
        self.phase = Phase::Exited;
        self.timers = TimerTable::default();
    }

    fn hangup(&mut self) {
        let pids: Vec<i32> = self.services.iter().filter_map(|s| s.pid).collect();
        for pid in pids {
            self.push(Action::Term { pid });
        }
        self.exit(111);
    }

    /// Whether a look is due at `now`.
    fn look_due(&self, now: Mono) -> bool {
        self.timers.is_due(Timer::Look, now) || self.timers.is_due(Timer::Change, now) || (self.forced && now >= self.stampcheck)
    }

    fn begin_look(&mut self, now: Now) {
        self.look_by_change = self.timers.is_due(Timer::Change, now.mono);
        if self.look_by_change {
            self.timers.set(Timer::Change, None);
        }
        self.timers.set(Timer::Look, None);
        self.stampcheck = now.mono + LOOK_SPACING;
        self.phase = Phase::AwaitStat;
        self.push(Action::StatDir);
    }

    /// The end of a look (successful or not): schedule the next one.
    fn end_look(&mut self, now: Now) {
        self.phase = Phase::Idle;
        let wait = if self.check { WAIT_CHECK } else { WAIT_IDLE };
        let periodic = !self.watching || self.check || self.failed;
        self.timers.set(Timer::Look, periodic.then(|| now.mono + wait));
        self.after_event(now);
    }

    /// After any event while idle: start a look if one is due; otherwise write the dot if
    /// it is due (as runit, the dot follows the iteration's look: `end_look` comes back
    /// here once the look is over).
    fn after_event(&mut self, now: Now) {
        if self.phase != Phase::Idle {
            return;
        }
        if self.look_due(now.mono) {
            self.begin_look(now);
            return;
        }
        if let (Some(t), Some(_)) = (self.timers.get(Timer::Dot), self.title.as_ref()) {
            if now.mono >= t {
                self.timers.set(Timer::Dot, Some(now.mono + Span::from_secs(title::DOT_INTERVAL_SECS)));
                self.push(Action::WriteLog(b".".to_vec()));
            }
        }
    }

    fn on_stat(&mut self, now: Now, r: Result<DirStamp, Errno>) {
        match r {
            Err(e) => {
                self.push(Action::Warn(Warning::StatDir(e)));
                self.failed = true;
                self.end_look(now);
            }
            Ok(st) => {
                let moved = (st.dev, st.ino) != (self.last.dev, self.last.ino);
                let changed = st != self.last;
                let forced = self.forced;
                if self.check || changed || forced || self.look_by_change || self.failed {
                    if moved && (self.last != DirStamp::default() || (!self.watching && self.failed)) {
                        // The path now leads elsewhere (e.g. runsvchdir): rebuild watches.
                        self.phase = Phase::AwaitWatch;
                        self.rewatch_in_look = true;
                        self.pending_stamp = st;
                        self.scanning_forced = forced;
                        self.push(Action::Watch);
                        return;
                    }
                    self.pending_stamp = st;
                    self.scanning_forced = forced;
                    self.before_scan(now);
                } else {
                    self.end_look(now);
                }
            }
        }
    }

    /// Settle (polling mode, unforced, directory touched this second) or scan now.
    fn before_scan(&mut self, now: Now) {
        let settle = !self.watching && !self.scanning_forced && self.pending_stamp.mtime_secs >= now.wall.unix_secs;
        if settle {
            self.phase = Phase::Settling;
            self.timers.set(Timer::Settle, Some(now.mono + SETTLE));
        } else {
            self.phase = Phase::AwaitScan;
            self.push(Action::Scan);
        }
    }

    fn on_scan(&mut self, now: Now, reply: ScanReply) {
        match reply {
            ScanReply::ChdirFailed(e) => {
                self.push(Action::Warn(Warning::ChdirDir(e)));
                self.failed = true;
            }
            ScanReply::OpenFailed(e) => {
                self.last = self.pending_stamp;
                self.check = false;
                self.push(Action::Warn(Warning::OpenDir(e)));
                self.failed = true;
            }
            ScanReply::Listed { entries, read_error } => {
                self.last = self.pending_stamp;
                self.check = false;
                self.failed = false;
                self.apply_entries(&entries, read_error);
            }
        }
        if self.scanning_forced {
            self.forced = false;
            self.scanning_forced = false;
            self.phase = Phase::AwaitStamp;
            self.push(Action::WriteStamp(Tai64n::from_wall(now.wall).to_text()));
            return;
        }
        self.end_look(now);
    }

    fn apply_entries(&mut self, entries: &[Entry], read_error: Option<Errno>) {
        let mut seen = alloc::vec![false; self.services.len()];
        for e in entries {
            if e.name.first() == Some(&b'.') {
                continue;
            }
            match e.kind {
                EntryKind::StatFailed(err) => self.push(Action::Warn(Warning::StatEntry(e.name.clone(), err))),
                EntryKind::NotDir => {}
                EntryKind::Dir { dev, ino } => match self.services.iter().position(|s| s.dev == dev && s.ino == ino) {
                    Some(i) => {
                        if seen[i] {
                            // A second name for a directory already handled in this scan.
                            continue;
                        }
                        seen[i] = true;
                        if self.services[i].pid.is_none() {
                            self.push(Action::StartRunsv { name: e.name.clone(), dev, ino });
                        }
                    }
                    None if self.services.len() >= MAX_SERVICES => {
                        self.push(Action::Warn(Warning::TooMany(e.name.clone())));
                    }
                    None => {
                        self.services.push(Service { name: e.name.clone(), dev, ino, pid: None });
                        seen.push(true);
                        self.push(Action::StartRunsv { name: e.name.clone(), dev, ino });
                        self.check = true;
                    }
                },
            }
        }
        if let Some(err) = read_error {
            self.push(Action::Warn(Warning::ReadDir(err)));
            self.check = true;
            return;
        }
        let mut i = 0;
        let mut k = 0;
        while i < self.services.len() {
            if seen[k] {
                i += 1;
            } else {
                let gone = self.services.remove(i);
                if let Some(pid) = gone.pid {
                    self.push(Action::Term { pid });
                }
                self.check = true;
            }
            k += 1;
        }
        debug_assert!(self.services.len() <= MAX_SERVICES);
    }

    fn on_spawned(&mut self, now: Now, dev: u64, ino: u64, result: Result<i32, Errno>) {
        match (self.services.iter().position(|s| s.dev == dev && s.ino == ino), result) {
            (Some(i), Ok(pid)) => {
                debug_assert!(self.services[i].pid.is_none());
                self.services[i].pid = Some(pid);
            }
            (Some(i), Err(e)) => {
                let name = self.services[i].name.clone();
                self.push(Action::Warn(Warning::Fork(name, e)));
                // runit retries only when something else causes a rescan; retry for sure.
                // The reply can arrive after the look that asked for the start has ended,
                // so the retry look is scheduled here, not only in `end_look`.
                self.failed = true;
                self.timers.arm_earliest(Timer::Look, core::cmp::max(self.stampcheck, now.mono + WAIT_CHECK));
            }
            // A process nobody tracks must not be left running.
            (None, Ok(pid)) => self.push(Action::Term { pid }),
            (None, Err(_)) => {}
        }
    }

    fn on_exited(&mut self, now: Now, pid: i32) {
        if let Some(s) = self.services.iter_mut().find(|s| s.pid == Some(pid)) {
            s.pid = None;
            self.check = true;
            self.timers.arm_earliest(Timer::Look, core::cmp::max(self.stampcheck, now.mono + RESTART_DELAY));
        }
    }

    /// The reply to [`Action::SetupLog`]: without a pipe the title and the dots are off.
    fn on_log_ready(&mut self, now: Now, r: Result<(), LogFailure>) {
        match r {
            Err(failure) => {
                self.title = None;
                self.push(Action::Warn(match failure {
                    LogFailure::Pipe => Warning::LogPipe,
                    LogFailure::Dup => Warning::LogDup,
                }));
                self.push(Action::Warn(Warning::LogDisabled));
            }
            Ok(()) => self.timers.set(Timer::Dot, Some(now.mono)),
        }
        self.phase = Phase::AwaitWatch;
        self.push(Action::Watch);
    }

    /// The reply to [`Action::Watch`] (at start-up, or a rebuild in the middle of a look).
    fn on_watch_reply(&mut self, now: Now, w: WatchState) {
        self.watching = w == WatchState::Active;
        if self.rewatch_in_look {
            // A rebuild in the middle of a look: go on with the scan.
            self.rewatch_in_look = false;
            self.before_scan(now);
        } else {
            // Start-up: the first look follows at once.
            self.phase = Phase::Idle;
            self.after_event(now);
        }
    }

    fn on_stamp_written(&mut self, now: Now, r: Result<(), StampError>) {
        let text = Tai64n::from_wall(now.wall).to_text();
        match r {
            Ok(()) => {}
            Err(StampError::Open) => self.push(Action::Warn(Warning::StampOpen(text))),
            Err(StampError::Write) => self.push(Action::Warn(Warning::StampWrite(text))),
        }
        self.end_look(now);
    }

    fn on_log_bytes(&mut self, bytes: &[u8]) {
        if let Some(t) = self.title.as_mut() {
            t.feed(bytes);
            let shown = t.bytes().to_vec();
            self.push(Action::ShowTitle(shown));
        }
    }

    fn on_start(&mut self, now: Now) {
        self.stampcheck = now.mono;
        self.timers.set(Timer::Look, Some(now.mono));
        match self.log_arg.take() {
            Some(arg) if title::usable(&arg) => {
                self.title = Some(Title::new(&arg));
                self.phase = Phase::AwaitLog;
                self.push(Action::SetupLog);
            }
            Some(_) => {
                self.push(Action::Warn(Warning::LogTooShort));
                self.push(Action::Warn(Warning::LogDisabled));
                self.phase = Phase::AwaitWatch;
                self.push(Action::Watch);
            }
            None => {
                self.phase = Phase::AwaitWatch;
                self.push(Action::Watch);
            }
        }
    }
}

impl Machine for Runsvdir {
    type Input = Input;
    type Action = Action;
    type Owed = Owed;

    fn owed(&self) -> Option<Owed> {
        Runsvdir::owed(self)
    }

    /// Each obligation is answered by the reply input of the same name.
    fn answers(owed: &Owed, input: &Input) -> bool {
        matches!(
            (owed, input),
            (Owed::LogReady, Input::LogReady(_))
                | (Owed::Watch, Input::Watch(_))
                | (Owed::DirStat, Input::DirStat(_))
                | (Owed::Scanned, Input::Scanned(_))
                | (Owed::Spawned, Input::Spawned { .. })
                | (Owed::StampWritten, Input::StampWritten(_))
        )
    }

    fn handle(&mut self, now: Now, input: Input) {
        use Input as I;
        use Phase as P;
        match (self.phase, input) {
            (P::Exited, _) => {}
            (P::Idle, I::Start) => self.on_start(now),
            (P::AwaitLog, I::LogReady(r)) => {
                self.settle_owed(Owed::LogReady);
                self.on_log_ready(now, r);
            }
            (P::AwaitWatch, I::Watch(w)) => {
                self.settle_owed(Owed::Watch);
                self.on_watch_reply(now, w);
            }
            (P::AwaitStat, I::DirStat(r)) => {
                self.settle_owed(Owed::DirStat);
                self.on_stat(now, r);
            }
            (P::AwaitScan, I::Scanned(r)) => {
                self.settle_owed(Owed::Scanned);
                self.on_scan(now, r);
            }
            (P::AwaitStamp, I::StampWritten(r)) => {
                self.settle_owed(Owed::StampWritten);
                self.on_stamp_written(now, r);
            }
            // Spawn replies come while the scan's actions drain (phase already moved on).
            (
                P::Idle | P::AwaitStamp | P::AwaitScan | P::AwaitStat | P::AwaitWatch | P::Settling | P::AwaitLog,
                I::Spawned { dev, ino, result },
            ) => {
                self.settle_owed(Owed::Spawned);
                self.on_spawned(now, dev, ino, result);
            }
            (P::Idle | P::Settling, I::Terminate) => self.exit(0),
            (P::Idle | P::Settling, I::Hangup) => self.hangup(),
            (P::Idle | P::Settling, I::Alarm) => {
                self.forced = true;
                self.after_event(now);
            }
            (P::Idle | P::Settling, I::DirChanged) => {
                self.timers.arm_earliest(Timer::Change, now.mono + DEBOUNCE);
                self.after_event(now);
            }
            (P::Idle | P::Settling, I::Watch(w)) => {
                // Unsolicited: the watch was lost (or came back): rescan to be sure.
                self.watching = w == WatchState::Active;
                self.check = true;
                if self.timers.get(Timer::Look).is_none() {
                    self.timers.set(Timer::Look, Some(core::cmp::max(now.mono, self.stampcheck)));
                }
                self.after_event(now);
            }
            (P::Idle | P::Settling, I::RunsvExited { pid }) => {
                self.on_exited(now, pid);
                self.after_event(now);
            }
            (P::Idle | P::Settling, I::LogBytes(b)) => {
                self.on_log_bytes(&b);
                self.after_event(now);
            }
            (P::Idle, I::Tick) => self.after_event(now),
            (P::Settling, I::Tick) => {
                if self.timers.is_due(Timer::Settle, now.mono) {
                    self.timers.set(Timer::Settle, None);
                    self.phase = P::AwaitScan;
                    self.push(Action::Scan);
                }
            }
            // Facts that cannot arrive while an obligation is owed are kept, not lost:
            // exits and log bytes are applied; signals and notices are recorded.
            (P::AwaitLog | P::AwaitWatch | P::AwaitStat | P::AwaitScan | P::AwaitStamp, I::RunsvExited { pid }) => self.on_exited(now, pid),
            (P::AwaitLog | P::AwaitWatch | P::AwaitStat | P::AwaitScan | P::AwaitStamp, I::LogBytes(b)) => self.on_log_bytes(&b),
            (P::AwaitLog | P::AwaitWatch | P::AwaitStat | P::AwaitScan | P::AwaitStamp, I::Alarm) => self.forced = true,
            (P::AwaitLog | P::AwaitWatch | P::AwaitStat | P::AwaitScan | P::AwaitStamp, I::DirChanged) => {
                self.timers.arm_earliest(Timer::Change, now.mono + DEBOUNCE)
            }
            (P::AwaitLog | P::AwaitWatch | P::AwaitStat | P::AwaitScan | P::AwaitStamp, I::Terminate) => self.exit(0),
            (P::AwaitLog | P::AwaitWatch | P::AwaitStat | P::AwaitScan | P::AwaitStamp, I::Hangup) => self.hangup(),
            // Ticks while a reply is owed are early calls: harmless.
            (P::AwaitLog | P::AwaitWatch | P::AwaitStat | P::AwaitScan | P::AwaitStamp, I::Tick) => {}
            // Replies that were not asked for, or a second Start: ignored (a driver bug,
            // never a reason to crash the supervisor).
            (P::Idle | P::AwaitWatch | P::AwaitStat | P::AwaitScan | P::AwaitStamp | P::Settling, I::LogReady(_))
            | (P::AwaitLog | P::AwaitStat | P::AwaitScan | P::AwaitStamp, I::Watch(_))
            | (P::Idle | P::AwaitLog | P::AwaitWatch | P::AwaitScan | P::AwaitStamp | P::Settling, I::DirStat(_))
            | (P::Idle | P::AwaitLog | P::AwaitWatch | P::AwaitStat | P::AwaitStamp | P::Settling, I::Scanned(_))
            | (P::Idle | P::AwaitLog | P::AwaitWatch | P::AwaitStat | P::AwaitScan | P::Settling, I::StampWritten(_))
            | (P::AwaitLog | P::AwaitWatch | P::AwaitStat | P::AwaitScan | P::AwaitStamp | P::Settling, I::Start) => {
                debug_assert!(false, "unexpected input in phase {:?}", self.phase);
            }
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn poll_deadline(&self) -> Option<Mono> {
        match self.phase {
            Phase::Exited => None,
            // Only the end of the sleep wakes a settle; other timers wait for the scan.
            Phase::Settling => self.timers.get(Timer::Settle),
            Phase::Idle | Phase::AwaitLog | Phase::AwaitWatch | Phase::AwaitStat | Phase::AwaitScan | Phase::AwaitStamp => {
                let forced = self.forced.then_some(self.stampcheck);
                // The settle timer runs only while settling; the dot only while the
                // title (the log argument) is active.
                debug_assert!(self.timers.get(Timer::Settle).is_none());
                debug_assert!(self.timers.get(Timer::Dot).is_none() || self.title.is_some());
                [self.timers.next(), forced].into_iter().flatten().min()
            }
        }
    }
}

impl Runsvdir {
    /// A copy with every time made relative to `now` (times already past become 0), so
    /// an explorer can merge states that differ only in when they happened.
    pub fn rebased(&self, now: Mono) -> Runsvdir {
        let shift = |t: Mono| Mono(t.0.saturating_sub(now.0));
        let mut m = self.clone();
        m.stampcheck = shift(m.stampcheck);
        m.timers = m.timers.map(shift);
        m
    }

    /// A copy with every pid renamed by `f` (tracked services and queued actions), so an
    /// explorer can name pids by order of appearance.
    pub fn map_pids(&self, f: &dyn Fn(i32) -> i32) -> Runsvdir {
        let mut m = self.clone();
        for s in &mut m.services {
            s.pid = s.pid.map(f);
        }
        for a in &mut m.actions {
            if let Action::Term { pid } = a {
                *pid = f(*pid);
            }
        }
        m
    }
}
