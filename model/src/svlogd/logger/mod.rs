//! The logger machine (spec/svlogd.md §2-§12).
//!
//! Bytes come in as [`Input::Data`] chunks; the machine assembles lines exactly as
//! runit does (the first `-l` bytes are "collected": replaced, matched, copied to stderr
//! and UDP, with `...` when the limit is reached; the rest of an over-long line goes
//! straight to the files), and appends each selected line to its directory's batch.
//! Each batch leaves in one [`Action::Write`], so one read becomes one `write(2)` per
//! directory instead of one per line. Size rotation is decided per byte position with
//! runit's two rules (rotate before a write when `current` is full, cap a write at the
//! size, rotate after a line end once within `-l` of the size), so the files hold the
//! same bytes, split at the same places, as runit's.
//!
//! Everything that touches the file system is an *obligation* action answered by a
//! reply input; a failure that runit "pauses" on is retried 3 s later with the same
//! message, and until it succeeds no more input is read, so writers are back-pressured
//! through the pipe and nothing is dropped. Time rotation runs on monotonic time;
//! rotated names come from the wall clock but are forced to increase.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::errno::Errno;
use crate::machine::Machine;
use crate::svlogd::config::{self, Config, ConfigWarning, PatternKind, Udp};
use crate::svlogd::diag;
use crate::svlogd::options::Settings;
use crate::svlogd::pmatch::pmatch_raw;
use crate::svlogd::scan::find_newline;
use crate::svlogd::stamp;
use crate::time::{Mono, Now, Span, Tai64n, Wall};

mod lines;
mod replies;
mod steps;

/// A rotated file name: `@` + 24 hex + `.` + `s`/`u`/`t` (27 bytes).
pub type LogName = [u8; 27];

/// runit's pause before retrying a failed file operation.
pub const PAUSE: Span = Span::from_secs(3);
/// How much the runtime reads at once (runit reads `-b` bytes; we read more).
pub const READ_SIZE: usize = 128 * 1024;
/// A directory batch this big is written out before more input is processed.
const BATCH_LIMIT: usize = 1 << 20;
/// Debug builds' bound on the rounds of one input's work loops (`pump`, the input loop):
/// far above any real input (a read is at most [`READ_SIZE`] bytes), low enough that a
/// loop that never ends fails its test within seconds.
#[cfg(debug_assertions)]
const SPIN_LIMIT: u64 = 4_000_000;

/// The signals svlogd handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sig {
    /// Finish the line, close, exit 0.
    Term,
    /// Reopen every directory (re-read `config`).
    Hup,
    /// Rotate every non-empty `current`.
    Alrm,
    /// A processor may have exited (reaped exits follow as [`Input::ChildExited`]).
    Chld,
}

/// Which step of opening a log directory failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpenStep {
    /// `open(dir)`: `unable to open log directory`.
    Open,
    /// Not a searchable directory: `unable to change directory`.
    Chdir,
    /// `lock` open or flock: `unable to lock directory`.
    Lock,
}

/// Result of one datagram send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UdpOutcome {
    /// Sent whole.
    Sent,
    /// No socket could be made.
    NoSocket,
    /// `sendto` failed or was short.
    Failed,
}

/// What the machine is told.
#[derive(Debug)]
pub enum Input {
    /// Begin: open every directory.
    Start,
    /// Bytes read from stdin (after an [`Action::ArmRead`]).
    Data(Vec<u8>),
    /// End of stdin.
    Eof,
    /// A read error other than EINTR/EAGAIN (treated as end of input).
    ReadError(Errno),
    /// A handled signal arrived.
    Signal(Sig),
    /// A child was reaped (raw wait status).
    ChildExited {
        /// Its pid.
        pid: i32,
        /// Raw wait status.
        status: i32,
    },
    /// A deadline passed.
    Tick,
    /// Reply to [`Action::OpenDir`]: the greatest existing `@…` name, or the failure.
    DirOpened(Result<Option<Tai64n>, (OpenStep, Errno)>),
    /// Reply to [`Action::ReadConfig`]: `None` when there is no `config`.
    ConfigRead(Result<Option<Vec<u8>>, Errno>),
    /// Reply to [`Action::StatCurrent`]: (size, owner-execute bit), `None` if missing.
    CurrentStat(Result<Option<(u64, bool)>, Errno>),
    /// Reply to [`Action::ScanDir`]: every `@` name of 27 bytes, in directory order.
    Scanned(Result<Vec<LogName>, Errno>),
    /// Reply to the simple file operations.
    Done(Result<(), Errno>),
    /// Reply to [`Action::Write`]: the buffer comes back (for reuse, or the unwritten rest).
    Wrote {
        /// Ok, or the error that stopped the write.
        result: Result<(), Errno>,
        /// Bytes written before the error (all of them on success).
        written: usize,
        /// The buffer that was written.
        buf: Vec<u8>,
    },
    /// Reply to [`Action::StartProcessor`]: pid or fork errno.
    Spawned(Result<i32, Errno>),
    /// Reply to [`Action::SendUdp`].
    UdpSent(UdpOutcome),
}

/// What the machine asks for. Those marked *obligation* must be answered at once.
/// (`dir` is the index of the directory argument.)
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Obligation ([`Input::DirOpened`]): open the directory, check it is one, take `lock`.
    OpenDir { dir: usize },
    /// Obligation ([`Input::ConfigRead`]): read `config`.
    ReadConfig { dir: usize },
    /// Obligation ([`Input::CurrentStat`]): stat `current`.
    StatCurrent { dir: usize },
    /// Obligation ([`Input::Scanned`]): list the `@` names.
    ScanDir { dir: usize },
    /// Obligation ([`Input::Done`]): rename `current` to `to`.
    RenameCurrent { dir: usize, to: LogName },
    /// Obligation ([`Input::Done`]): open-append `current`.
    OpenCurrent { dir: usize },
    /// Obligation ([`Input::Done`]): fchmod `current`.
    ChmodCurrent { dir: usize, mode: u32 },
    /// Obligation ([`Input::Done`]): fsync `current`.
    FsyncCurrent { dir: usize },
    /// Close `current`.
    CloseCurrent { dir: usize },
    /// Close the directory and its lock (and `current` if still open).
    CloseDir { dir: usize },
    /// Obligation ([`Input::Wrote`]): append all of `bytes` to `current`.
    Write { dir: usize, bytes: Vec<u8> },
    /// Obligation ([`Input::Done`]): unlink a file of the directory.
    Unlink { dir: usize, name: LogName },
    /// Obligation ([`Input::Done`]): rename a file of the directory.
    RenameFile { dir: usize, from: LogName, to: LogName },
    /// Obligation ([`Input::Done`]): chmod a file of the directory.
    ChmodFile { dir: usize, name: LogName, mode: u32 },
    /// Obligation ([`Input::Done`]): rename `newstate` to `state`.
    RenameState { dir: usize },
    /// Obligation ([`Input::Spawned`]): run `/bin/sh -c command` on `input` (§7 fds).
    StartProcessor { dir: usize, input: LogName, command: Vec<u8> },
    /// Obligation ([`Input::UdpSent`]): one datagram.
    SendUdp { udp: Udp, bytes: Vec<u8> },
    /// One complete line (or several) for fd 2.
    Stderr(Vec<u8>),
    /// Read stdin once, up to `max` bytes, when it is readable.
    ArmRead { max: usize },
    /// Cancel an armed read.
    DisarmRead,
    /// A read buffer the machine is done with.
    Recycle(Vec<u8>),
    /// Exit the process.
    Exit(i32),
}

/// The reply an obligation waits for, named after its [`Input`] (the driver checks each
/// reply against it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owed {
    /// [`Input::DirOpened`].
    DirOpened,
    /// [`Input::ConfigRead`].
    ConfigRead,
    /// [`Input::CurrentStat`].
    CurrentStat,
    /// [`Input::Scanned`].
    Scanned,
    /// [`Input::Done`].
    Done,
    /// [`Input::Wrote`].
    Wrote,
    /// [`Input::Spawned`].
    Spawned,
    /// [`Input::UdpSent`].
    UdpSent,
}

/// A processor's life (§7).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Proc {
    Idle,
    Running { pid: i32, name: LogName },
    Finishing { name: LogName },
    RestartAt { name: LogName, at: Mono },
}

impl Proc {
    fn name(&self) -> Option<LogName> {
        match self {
            Proc::Idle => None,
            Proc::Running { name, .. } | Proc::Finishing { name } | Proc::RestartAt { name, .. } => Some(*name),
        }
    }
}

/// One log directory's state.
#[derive(Clone, Debug)]
struct Dir {
    name: Vec<u8>,
    open: bool,
    cfg: Config,
    size: u64,
    batch: Vec<u8>,
    carry: VecDeque<(Vec<u8>, bool)>,
    deadline: Option<Mono>,
    last_name: Tai64n,
    proc: Proc,
    sel: bool,
    to_stderr: bool,
    /// runit's instruction list over `cfg.inst`: (kind, offset of the pattern).
    instr: Vec<(PatternKind, usize)>,
}

/// Queued work, executed in order; each step issues at most one obligation.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Open(usize),
    ReadConfig(usize),
    StatCurrent(usize),
    Recover(usize, LogName),
    Cleanup(usize, Option<LogName>),
    UnlinkLeftover(usize, LogName),
    DeleteOldest(usize, LogName),
    OpenCurrent(usize, bool),
    ChmodCurrent(usize, u32),
    Opened(usize, bool),
    CheckAnyOpen,
    Write(usize),
    Rotate(usize),
    AwaitProcessor(usize),
    RotateNamed(usize),
    Fsync(usize),
    CloseCurrent(usize, Option<LogName>),
    RenameCurrent(usize, LogName),
    StartProcessor(usize, LogName),
    Carry(usize),
    DiskFull(usize),
    DiskFullUnlink(usize, LogName),
    ProcFailedUnlink(usize, LogName),
    ProcRenameT(usize, LogName),
    ProcChmodS(usize, LogName),
    ProcUnlinkU(usize, LogName),
    ProcRenameState(usize, LogName),
    Close(usize),
    CloseDir(usize),
    Udp(usize, Vec<u8>),
    Exit(i32),
}

/// A collected line waiting for its datagrams to be sent (slow path, UDP only).
#[derive(Clone, Debug)]
struct UdpLine {
    line: Vec<u8>,
    stamp: ([u8; 26], usize),
    sends: VecDeque<(usize, Vec<u8>)>,
    outcomes: Vec<(usize, UdpOutcome, Vec<u8>)>,
    line_end: bool,
}

/// The svlogd machine: all log directories of one process.
#[derive(Clone, Debug)]
pub struct Logger {
    s: Settings,
    dirs: Vec<Dir>,
    now: Now,
    queue: VecDeque<Step>,
    out: VecDeque<Action>,
    awaiting: Option<Step>,
    paused_until: Option<Mono>,
    input: Vec<u8>,
    pos: usize,
    collect: Vec<u8>,
    collecting: bool,
    in_rest: bool,
    line_stamp: ([u8; 26], usize),
    stamp_cache: Option<(Wall, [u8; 26], usize)>,
    udp_line: Option<UdpLine>,
    /// A shadow of runit's `-l`-byte line buffer, for `+` patterns' stale byte: every line
    /// handled one by one (the verbatim `bulk` path, taken only without patterns, skips it).
    linebuf: Vec<u8>,
    armed: bool,
    armed_max: usize,
    started: bool,
    exit_asap: bool,
    rotate_asap: bool,
    reopen_asap: bool,
    eof: bool,
    shutting_down: bool,
    done: bool,
}

fn suffixed(mut name: LogName, c: u8) -> LogName {
    name[26] = c;
    name
}

fn next_ns(t: Tai64n) -> Tai64n {
    if t.nanos + 1 >= 1_000_000_000 {
        Tai64n { secs: t.secs.wrapping_add(1), nanos: 0 }
    } else {
        Tai64n { secs: t.secs, nanos: t.nanos + 1 }
    }
}

/// The TAI64N label of a 27-byte name, if it parses.
pub fn name_time(name: &LogName) -> Option<Tai64n> {
    Tai64n::parse_text(&name[..25])
}

impl Logger {
    /// A machine for `settings`; feed [`Input::Start`] first.
    pub fn new(settings: Settings) -> Logger {
        let dirs = settings
            .dirs
            .iter()
            .map(|n| Dir {
                name: n.clone(),
                open: false,
                cfg: Config::default(),
                size: 0,
                batch: Vec::new(),
                carry: VecDeque::new(),
                deadline: None,
                last_name: Tai64n::default(),
                proc: Proc::Idle,
                sel: true,
                to_stderr: false,
                instr: Vec::new(),
            })
            .collect();
        Logger {
            s: settings,
            dirs,
            now: Now::default(),
            queue: VecDeque::new(),
            out: VecDeque::new(),
            awaiting: None,
            paused_until: None,
            input: Vec::new(),
            pos: 0,
            collect: Vec::new(),
            collecting: false,
            in_rest: false,
            line_stamp: ([0; 26], 0),
            stamp_cache: None,
            udp_line: None,
            linebuf: Vec::new(),
            armed: false,
            armed_max: 0,
            started: false,
            exit_asap: false,
            rotate_asap: false,
            reopen_asap: false,
            eof: false,
            shutting_down: false,
            done: false,
        }
    }

    /// Bytes `current` of directory `d` holds (including bytes not yet written out).
    pub fn current_size(&self, d: usize) -> u64 {
        self.dirs[d].size
    }

    /// Whether the machine is waiting for input with nothing else to do.
    pub fn is_idle(&self) -> bool {
        self.armed && self.queue.is_empty() && self.awaiting.is_none()
    }

    /// The reply the runtime owes, if any (it must feed that reply next).
    pub fn owed(&self) -> Option<Owed> {
        self.awaiting.as_ref().map(|step| match step {
            Step::Open(_) => Owed::DirOpened,
            Step::ReadConfig(_) => Owed::ConfigRead,
            Step::StatCurrent(_) => Owed::CurrentStat,
            Step::Cleanup(..) | Step::DiskFull(_) => Owed::Scanned,
            Step::Write(_) => Owed::Wrote,
            Step::StartProcessor(..) => Owed::Spawned,
            Step::Udp(..) => Owed::UdpSent,
            Step::Recover(..)
            | Step::UnlinkLeftover(..)
            | Step::DeleteOldest(..)
            | Step::OpenCurrent(..)
            | Step::ChmodCurrent(..)
            | Step::Fsync(..)
            | Step::RenameCurrent(..)
            | Step::DiskFullUnlink(..)
            | Step::ProcFailedUnlink(..)
            | Step::ProcRenameT(..)
            | Step::ProcChmodS(..)
            | Step::ProcUnlinkU(..)
            | Step::ProcRenameState(..) => Owed::Done,
            // Never awaited (they issue no obligation); named so a new step is placed here.
            Step::Opened(..)
            | Step::CheckAnyOpen
            | Step::Rotate(_)
            | Step::AwaitProcessor(_)
            | Step::RotateNamed(_)
            | Step::CloseCurrent(..)
            | Step::Carry(_)
            | Step::Close(_)
            | Step::CloseDir(_)
            | Step::Exit(_) => Owed::Done,
        })
    }

    /// Whether a pause (3 s retry) is in progress.
    pub fn is_paused(&self) -> bool {
        self.paused_until.is_some()
    }

    /// Whether the machine has asked to exit.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The machine's situation in words, for the golden state table and tests.
    pub fn phase(&self) -> &'static str {
        if self.done {
            "exited"
        } else if !self.started {
            "new"
        } else if let Some(owed) = self.owed() {
            match owed {
                Owed::DirOpened => "awaiting dir open",
                Owed::ConfigRead => "awaiting config",
                Owed::CurrentStat => "awaiting stat current",
                Owed::Scanned => "awaiting dir scan",
                Owed::Wrote => "awaiting write",
                Owed::Spawned => "awaiting processor spawn",
                Owed::UdpSent => "awaiting udp send",
                Owed::Done => "awaiting file operation",
            }
        } else if self.paused_until.is_some() {
            "paused (3 s retry)"
        } else if matches!(self.queue.front(), Some(Step::AwaitProcessor(_))) {
            "waiting for processor"
        } else if self.armed && self.exit_asap {
            "reading to end of line (after TERM)"
        } else if self.armed {
            "reading"
        } else if self.shutting_down {
            "shutting down"
        } else {
            "busy"
        }
    }

    fn info(&mut self, pieces: &[&[u8]]) {
        if self.s.verbose {
            self.out.push_back(Action::Stderr(diag::info(pieces)));
        }
    }

    fn stderr(&mut self, line: Vec<u8>) {
        self.out.push_back(Action::Stderr(line));
    }

    fn pause(&mut self, line: Vec<u8>, retry: Option<Step>) {
        if self.exit_asap {
            self.give_up(&line, retry);
            return;
        }
        self.stderr(line);
        if let Some(s) = retry {
            self.queue.push_front(s);
        }
        self.paused_until = Some(self.now.mono + PAUSE);
    }

    /// After SIGTERM svlogd no longer pauses (runit pauses and retries forever, so a
    /// full disk made it ignore SIGTERM): the operation that failed is abandoned, said
    /// as runit's pause line turned into a warning. A failed write drops the bytes it
    /// held (counted in one more warning); an abandoned processor step leaves its files
    /// as a crash would and lets the shutdown go on.
    fn give_up(&mut self, pause_line: &[u8], retry: Option<Step>) {
        let rest = pause_line.strip_prefix(&b"svlogd: pausing: "[..]).unwrap_or(pause_line);
        let mut l = b"svlogd: warning: ".to_vec();
        l.extend_from_slice(rest);
        self.stderr(l);
        // A disk-full retry without deletable files left the write at the queue head.
        let step = match retry {
            Some(s) => Some(s),
            None if matches!(self.queue.front(), Some(Step::Write(_))) => self.queue.pop_front(),
            None => None,
        };
        match step {
            Some(Step::Write(d)) => {
                let n = self.dirs[d].batch.len();
                self.dirs[d].batch.clear();
                self.dirs[d].size = self.dirs[d].size.saturating_sub(n as u64);
                if n > 0 {
                    let name = self.dirs[d].name.clone();
                    let line =
                        crate::msg::line(&[b"svlogd: warning: dropped ", &fmt_u64(n as u64), b" bytes after sigterm: ", &name], None);
                    self.stderr(line);
                }
            }
            Some(Step::OpenCurrent(d, _)) => {
                // No `current`: the directory is given up (its lock freed), like one
                // that failed to open; what it held is dropped: its batch, what waited
                // for the rotation, and what was read and not yet placed.
                self.queue.retain(|s| !matches!(s, Step::ChmodCurrent(x, _) | Step::Opened(x, _) | Step::Carry(x) if *x == d));
                let n = self.held_for(d);
                self.dirs[d].batch.clear();
                self.dirs[d].carry.clear();
                if self.dirs[d].open {
                    let name = self.dirs[d].name.clone();
                    self.info(&[b"close: ", &name]);
                }
                self.dirs[d].open = false;
                self.out.push_back(Action::CloseDir { dir: d });
                if n > 0 {
                    let name = self.dirs[d].name.clone();
                    let line =
                        crate::msg::line(&[b"svlogd: warning: dropped ", &fmt_u64(n as u64), b" bytes after sigterm: ", &name], None);
                    self.stderr(line);
                }
            }
            Some(Step::StartProcessor(d, _) | Step::ProcRenameT(d, _) | Step::ProcChmodS(d, _) | Step::ProcRenameState(d, _)) => {
                // The later steps of this processor's completion would unlink its input.
                self.queue
                    .retain(|s| !matches!(s, Step::ProcChmodS(x, _) | Step::ProcUnlinkU(x, _) | Step::ProcRenameState(x, _) if *x == d));
                self.dirs[d].proc = Proc::Idle;
            }
            _ => {}
        }
    }

    /// The bytes directory `d` would still receive from what was read: its batch, what
    /// waits for a rotation, and (unless patterns or UDP decide line by line) the line
    /// being collected and the input not yet placed.
    fn held_for(&self, d: usize) -> usize {
        let dir = &self.dirs[d];
        let queued = dir.batch.len() + dir.carry.iter().map(|(b, _)| b.len()).sum::<usize>();
        let every_line = dir.cfg.inst.is_empty() && !dir.cfg.udp_only && dir.cfg.udp.port == 0;
        let unplaced = if every_line { self.collect.len() + self.input.len().saturating_sub(self.pos) } else { 0 };
        queued + unplaced
    }

    fn stamp_now(&mut self) -> ([u8; 26], usize) {
        let wall = self.now.wall;
        if let Some((w, b, n)) = self.stamp_cache {
            if w == wall {
                return (b, n);
            }
        }
        let mut b = [0u8; 26];
        let n = stamp::format(self.s.stamp, wall, &mut b);
        self.stamp_cache = Some((wall, b, n));
        (b, n)
    }

    fn next_name(&mut self, d: usize, suffix: u8) -> LogName {
        let mut t = Tai64n::from_wall(self.now.wall);
        let dir = &mut self.dirs[d];
        if t <= dir.last_name {
            // The clock repeated or went back: keep names unique and increasing.
            t = next_ns(dir.last_name);
        }
        dir.last_name = t;
        let mut name = [0u8; 27];
        name[..25].copy_from_slice(&t.to_text());
        name[25] = b'.';
        name[26] = suffix;
        name
    }

    fn protected(&self, d: usize) -> Option<LogName> {
        self.dirs[d].proc.name().map(|n| suffixed(n, b'u'))
    }
}

fn fmt_u64(v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    crate::status::push_decimal(&mut out, v);
    out
}

impl Machine for Logger {
    type Input = Input;
    type Action = Action;
    type Owed = Owed;

    fn owed(&self) -> Option<Owed> {
        Logger::owed(self)
    }

    /// Each obligation is answered by the reply input of the same name.
    fn answers(owed: &Owed, input: &Input) -> bool {
        matches!(
            (owed, input),
            (Owed::DirOpened, Input::DirOpened(_))
                | (Owed::ConfigRead, Input::ConfigRead(_))
                | (Owed::CurrentStat, Input::CurrentStat(_))
                | (Owed::Scanned, Input::Scanned(_))
                | (Owed::Done, Input::Done(_))
                | (Owed::Wrote, Input::Wrote { .. })
                | (Owed::Spawned, Input::Spawned(_))
                | (Owed::UdpSent, Input::UdpSent(_))
        )
    }

    fn handle(&mut self, now: Now, input: Input) {
        self.now = now;
        if self.done {
            return;
        }
        if let Some(owed) = self.owed() {
            if !<Logger as Machine>::answers(&owed, &input) {
                // A runtime bug: the reply stays owed (as runsv and runsvdir do).
                debug_assert!(false, "unexpected reply {input:?} while {owed:?} is owed");
                return;
            }
        }
        if let Some(step) = self.awaiting.take() {
            self.on_reply(step, input);
            return;
        }
        match input {
            Input::Start => {
                if !self.started {
                    self.started = true;
                    for d in 0..self.dirs.len() {
                        self.queue.push_back(Step::Open(d));
                    }
                    self.queue.push_back(Step::CheckAnyOpen);
                }
            }
            Input::Data(buf) => {
                self.armed = false;
                if self.has_input() {
                    self.input.extend_from_slice(&buf);
                    let mut b = buf;
                    b.clear();
                    self.out.push_back(Action::Recycle(b));
                } else {
                    self.input = buf;
                    self.pos = 0;
                }
            }
            Input::Eof | Input::ReadError(_) => {
                self.armed = false;
                if let Input::ReadError(e) = input {
                    self.stderr(diag::warn2_noname("unable to read standard input", e));
                }
                if self.in_rest {
                    self.in_rest = false;
                    self.line_end_all();
                }
                self.collecting = false;
                self.collect.clear();
                self.eof = true;
            }
            Input::Signal(sig) => match sig {
                Sig::Term => {
                    self.info(&[b"sigterm received."]);
                    self.exit_asap = true;
                    // Retry what the pause holds at once: once more, then give up.
                    self.paused_until = None;
                }
                Sig::Hup => {
                    self.info(&[b"sighangup received."]);
                    self.reopen_asap = true;
                }
                Sig::Alrm => {
                    self.info(&[b"sigalarm received."]);
                    self.rotate_asap = true;
                }
                Sig::Chld => self.info(&[b"sigchild received."]),
            },
            Input::ChildExited { pid, status } => self.on_child_exit(pid, status),
            Input::Tick => self.on_tick(),
            reply @ (Input::DirOpened(_)
            | Input::ConfigRead(_)
            | Input::CurrentStat(_)
            | Input::Scanned(_)
            | Input::Done(_)
            | Input::Wrote { .. }
            | Input::Spawned(_)
            | Input::UdpSent(_)) => {
                debug_assert!(false, "reply without an obligation: {reply:?}");
            }
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        if self.out.is_empty() {
            self.pump();
        }
        self.out.pop_front()
    }

    fn poll_deadline(&self) -> Option<Mono> {
        let mut best: Option<Mono> = self.paused_until;
        let mut consider = |t: Mono| {
            best = Some(best.map_or(t, |b: Mono| b.min(t)));
        };
        for d in &self.dirs {
            if let Proc::RestartAt { at, .. } = d.proc {
                consider(at);
            }
            // Rotation deadlines matter only while waiting for input; elsewhere a past
            // deadline would wake the loop for nothing.
            if self.armed && d.open && d.cfg.t_max > 0 {
                if let Some(t) = d.deadline {
                    consider(t);
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    /// Kills `next_ns` -> default, `+` -> `-`/`*` and `>=` -> `<`: one nanosecond later,
    /// carrying into the seconds at the end of a second.
    #[test]
    fn next_ns_is_one_nanosecond_later() {
        assert_eq!(next_ns(Tai64n { secs: 5, nanos: 7 }), Tai64n { secs: 5, nanos: 8 });
        assert_eq!(next_ns(Tai64n { secs: 5, nanos: 999_999_999 }), Tai64n { secs: 6, nanos: 0 });
    }

    /// Kills `suffixed` -> default: only the state letter changes.
    #[test]
    fn suffixed_changes_the_last_byte() {
        assert_eq!(&suffixed(*b"@400000000000000500000007.s", b'u'), b"@400000000000000500000007.u");
    }

    /// Kills `name_time` -> `None` / `Some(default)`: the label of a rotated name.
    #[test]
    fn name_time_reads_the_label() {
        assert_eq!(name_time(b"@400000000000000500000007.s"), Some(Tai64n { secs: 0x4000_0000_0000_0005, nanos: 7 }));
    }
}
