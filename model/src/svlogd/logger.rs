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

/// A rotated file name: `@` + 24 hex + `.` + `s`/`u`/`t` (27 bytes).
pub type LogName = [u8; 27];

/// runit's pause before retrying a failed file operation.
pub const PAUSE: Span = Span::from_secs(3);
/// How much the runtime reads at once (runit reads `-b` bytes; we read more).
pub const READ_SIZE: usize = 128 * 1024;
/// A directory batch this big is written out before more input is processed.
const BATCH_LIMIT: usize = 1 << 20;

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
    /// Some pattern has a `+` (which can read runit's stale line-buffer byte).
    has_plus: bool,
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
    /// A shadow of runit's `-l`-byte line buffer, kept while a `+` pattern exists.
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
                has_plus: false,
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

    /// Whether directory `d` is open (in use).
    pub fn is_open(&self, d: usize) -> bool {
        self.dirs[d].open
    }

    /// Whether the machine is waiting for input with nothing else to do.
    pub fn is_idle(&self) -> bool {
        self.armed && self.queue.is_empty() && self.awaiting.is_none()
    }

    /// Whether a pause (3 s retry) is in progress.
    pub fn is_paused(&self) -> bool {
        self.paused_until.is_some()
    }

    /// Whether the machine has asked to exit.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The next deadline (as [`Machine::poll_deadline`]), for tests.
    pub fn poll_deadline_for_test(&self) -> Option<Mono> {
        self.poll_deadline()
    }

    /// The machine's situation in words, for the golden state table and tests.
    pub fn phase(&self) -> &'static str {
        if self.done {
            "exited"
        } else if !self.started {
            "new"
        } else if let Some(step) = &self.awaiting {
            match step {
                Step::Open(_) => "awaiting dir open",
                Step::ReadConfig(_) => "awaiting config",
                Step::StatCurrent(_) => "awaiting stat current",
                Step::Cleanup(..) | Step::DiskFull(_) => "awaiting dir scan",
                Step::Write(_) => "awaiting write",
                Step::StartProcessor(..) => "awaiting processor spawn",
                Step::Udp(..) => "awaiting udp send",
                _ => "awaiting file operation",
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
        self.stderr(line);
        if let Some(s) = retry {
            self.queue.push_front(s);
        }
        self.paused_until = Some(self.now.mono + PAUSE);
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

    // ---- byte placement and size rotation -------------------------------------------

    /// Appends `bytes` to `d`'s batch with runit's size rules. `unit_end`: these bytes
    /// end a runit write (a line end or a UDP warning), so the "within `-l` of the
    /// size" rule is checked after them.
    fn put(&mut self, d: usize, bytes: &[u8], unit_end: bool) {
        let line_max = self.s.line_max as u64;
        let dir = &mut self.dirs[d];
        if !dir.carry.is_empty() {
            dir.carry.push_back((bytes.to_vec(), unit_end));
            return;
        }
        let max = dir.cfg.size_max;
        let mut b = bytes;
        while !b.is_empty() {
            let take = if max > 0 {
                if dir.size >= max {
                    dir.carry.push_back((b.to_vec(), unit_end));
                    self.queue.push_back(Step::Rotate(d));
                    self.queue.push_back(Step::Carry(d));
                    return;
                }
                ((max - dir.size) as usize).min(b.len())
            } else {
                b.len()
            };
            dir.batch.extend_from_slice(&b[..take]);
            dir.size += take as u64;
            b = &b[take..];
        }
        if unit_end && bytes.last() == Some(&b'\n') && max > 0 {
            if let Some(threshold) = max.checked_sub(line_max) {
                if dir.size >= threshold {
                    self.queue.push_back(Step::Rotate(d));
                }
            }
        }
    }

    fn put_line(&mut self, d: usize, stamp: &[u8], line: &[u8]) {
        let dir = &mut self.dirs[d];
        let total = (stamp.len() + dir.cfg.prefix.len() + line.len()) as u64;
        let max = dir.cfg.size_max;
        if dir.carry.is_empty() && (max == 0 || (dir.size < max && dir.size + total <= max)) {
            dir.batch.extend_from_slice(stamp);
            dir.batch.extend_from_slice(&dir.cfg.prefix);
            dir.batch.extend_from_slice(line);
            dir.size += total;
            return;
        }
        let prefix = core::mem::take(&mut self.dirs[d].cfg.prefix);
        self.put(d, stamp, false);
        self.put(d, &prefix, false);
        self.put(d, line, false);
        self.dirs[d].cfg.prefix = prefix;
    }

    fn writes_file(&self, d: usize) -> bool {
        let dir = &self.dirs[d];
        dir.open && dir.sel && !dir.cfg.udp_only
    }

    fn line_end_all(&mut self) {
        for d in 0..self.dirs.len() {
            if self.writes_file(d) {
                self.put(d, b"\n", true);
            }
        }
    }

    fn put_rest(&mut self, bytes: &[u8]) {
        for d in 0..self.dirs.len() {
            if self.writes_file(d) {
                self.put(d, bytes, false);
            }
        }
    }

    fn logmatch(&mut self, d: usize, line: &[u8], stale: u8) {
        let dir = &mut self.dirs[d];
        if dir.cfg.inst.is_empty() {
            return;
        }
        dir.sel = true;
        dir.to_stderr = false;
        for &(kind, at) in &dir.instr {
            if pmatch_raw(&dir.cfg.inst[at..], line, stale) {
                match kind {
                    PatternKind::Select => dir.sel = true,
                    PatternKind::Deselect => dir.sel = false,
                    PatternKind::Stderr => dir.to_stderr = true,
                    PatternKind::NoStderr => dir.to_stderr = false,
                }
            }
        }
    }

    fn copy_text(&self, d: usize, stamp: &[u8], line: &[u8], dots: bool) -> Vec<u8> {
        let prefix = &self.dirs[d].cfg.prefix;
        let mut v = Vec::with_capacity(stamp.len() + prefix.len() + line.len() + 4);
        v.extend_from_slice(stamp);
        v.extend_from_slice(prefix);
        v.extend_from_slice(line);
        if dots {
            v.extend_from_slice(b"...");
        }
        v.push(b'\n');
        v
    }

    /// Hands one collected line to every open directory. Returns whether datagrams
    /// must be sent first (then file writes wait in `udp_line`).
    fn distribute(&mut self, line: &[u8], full: bool, line_end: bool) -> bool {
        let stamp = self.line_stamp;
        let st = &stamp.0[..stamp.1];
        let mut sends = VecDeque::new();
        let mut stale = 0;
        if self.dirs.iter().any(|d| d.open && d.has_plus) {
            // Grown on demand (never zero-filled up to a huge `-l` at once); bytes no
            // line has reached yet read as NUL, as freshly allocated memory would.
            if self.linebuf.len() < line.len() {
                self.linebuf.resize(line.len(), 0);
            }
            self.linebuf[..line.len()].copy_from_slice(line);
            stale = if line.len() < self.s.line_max { self.linebuf.get(line.len()).copied().unwrap_or(0) } else { 0 };
        }
        for d in 0..self.dirs.len() {
            if !self.dirs[d].open {
                continue;
            }
            self.logmatch(d, line, stale);
            if self.dirs[d].to_stderr {
                let t = self.copy_text(d, st, line, full);
                self.stderr(t);
            }
            if self.dirs[d].sel && self.dirs[d].cfg.udp.port != 0 {
                sends.push_back((d, self.copy_text(d, st, line, full)));
            }
        }
        if !sends.is_empty() {
            self.udp_line = Some(UdpLine { line: line.to_vec(), stamp, sends, outcomes: Vec::new(), line_end });
            return true;
        }
        for d in 0..self.dirs.len() {
            if self.writes_file(d) {
                self.put_line(d, st, line);
            }
        }
        if line_end {
            self.line_end_all();
        }
        false
    }

    fn replace_into(&mut self, bytes: &[u8]) {
        match self.s.repl {
            None => self.collect.extend_from_slice(bytes),
            Some(r) => {
                for &b in bytes {
                    let c = if !(32..=126).contains(&b) || self.s.replace.contains(&b) { r } else { b };
                    self.collect.push(c);
                }
            }
        }
    }

    /// Processes buffered input until it is used up or queued work must run first.
    fn process_input(&mut self) {
        let input = core::mem::take(&mut self.input);
        let mut pos = self.pos;
        let line_max = self.s.line_max;
        while pos < input.len() && self.queue.is_empty() && self.udp_line.is_none() {
            let data = &input[pos..];
            if self.in_rest {
                match find_newline(data) {
                    Some(i) => {
                        self.put_rest(&data[..i]);
                        pos += i + 1;
                        self.in_rest = false;
                        self.line_end_all();
                    }
                    None => {
                        self.put_rest(data);
                        pos = input.len();
                    }
                }
                continue;
            }
            if !self.collecting {
                if let Some(n) = self.bulk(data) {
                    pos += n;
                    continue;
                }
                self.collecting = true;
                self.line_stamp = self.stamp_now();
            }
            let need = line_max - self.collect.len();
            let window = &data[..need.min(data.len())];
            match find_newline(window) {
                Some(i) => {
                    if self.collect.is_empty() && self.s.repl.is_none() {
                        self.distribute(&window[..i], false, true);
                    } else {
                        self.replace_into(&window[..i]);
                        let line = core::mem::take(&mut self.collect);
                        self.distribute(&line, false, true);
                        self.collect = line;
                        self.collect.clear();
                    }
                    self.collecting = false;
                    pos += i + 1;
                }
                None if window.len() == need => {
                    self.replace_into(window);
                    let line = core::mem::take(&mut self.collect);
                    self.distribute(&line, true, false);
                    self.collect = line;
                    self.collect.clear();
                    self.collecting = false;
                    self.in_rest = true;
                    pos += need;
                }
                None => {
                    self.replace_into(window);
                    pos = input.len();
                }
            }
            for d in 0..self.dirs.len() {
                if self.dirs[d].batch.len() >= BATCH_LIMIT && self.queue.is_empty() {
                    self.queue.push_back(Step::Write(d));
                }
            }
        }
        if pos >= input.len() {
            self.pos = 0;
            let mut buf = input;
            buf.clear();
            self.out.push_back(Action::Recycle(buf));
        } else {
            self.pos = pos;
            self.input = input;
        }
    }

    /// The fast path: when no byte is altered or copied elsewhere (no timestamp,
    /// replacement, prefix, pattern, UDP or stderr copy), files receive the input's
    /// complete lines verbatim, so a whole run of lines is appended at once, up to the
    /// last newline that keeps every directory below its rotation point (then no line
    /// end inside the run could have triggered one). Returns the bytes consumed.
    fn bulk(&mut self, data: &[u8]) -> Option<usize> {
        if self.s.repl.is_some() || self.s.stamp != stamp::StampKind::None {
            return None;
        }
        let line_max = self.s.line_max as u64;
        let mut room = usize::MAX;
        for d in &self.dirs {
            if !d.open {
                continue;
            }
            if !d.cfg.inst.is_empty() || d.cfg.udp.port != 0 || d.to_stderr || !d.carry.is_empty() {
                return None;
            }
            if !d.sel || d.cfg.udp_only {
                continue;
            }
            if !d.cfg.prefix.is_empty() {
                return None;
            }
            let max = d.cfg.size_max;
            if max > 0 {
                let limit = match max.checked_sub(line_max) {
                    Some(t) => t.saturating_sub(1),
                    None => max,
                };
                room = room.min(limit.saturating_sub(d.size).min(usize::MAX as u64) as usize);
            }
        }
        let window = &data[..room.min(data.len())];
        let end = crate::svlogd::scan::rfind_newline(window)? + 1;
        let run = &window[..end];
        for d in 0..self.dirs.len() {
            if self.writes_file(d) {
                let dir = &mut self.dirs[d];
                dir.batch.extend_from_slice(run);
                dir.size += end as u64;
            }
        }
        Some(end)
    }

    fn has_input(&self) -> bool {
        self.pos < self.input.len()
    }

    fn finish_udp_line(&mut self) {
        let Some(u) = self.udp_line.take() else { return };
        let st = &u.stamp.0[..u.stamp.1];
        for d in 0..self.dirs.len() {
            if !self.dirs[d].open {
                continue;
            }
            for (od, outcome, dgram) in &u.outcomes {
                if *od != d {
                    continue;
                }
                match outcome {
                    UdpOutcome::Sent => {}
                    UdpOutcome::NoSocket => {
                        let mut w = b"warning: no udp socket available: ".to_vec();
                        w.extend_from_slice(&self.copy_text(d, st, &u.line, false));
                        self.put(d, &w, true);
                    }
                    UdpOutcome::Failed => {
                        let mut w = b"warning: failure sending through udp: ".to_vec();
                        w.extend_from_slice(dgram);
                        self.put(d, &w, true);
                    }
                }
            }
            if self.writes_file(d) {
                self.put_line(d, st, &u.line);
            }
        }
        if u.line_end {
            self.line_end_all();
        }
    }

    // ---- the step executor ------------------------------------------------------------

    fn obligation(&mut self, step: Step, action: Action) {
        self.out.push_back(action);
        self.awaiting = Some(step);
    }

    fn start_shutdown(&mut self) {
        self.shutting_down = true;
        for d in 0..self.dirs.len() {
            self.queue.push_back(Step::AwaitProcessor(d));
            self.queue.push_back(Step::Close(d));
        }
        self.queue.push_back(Step::Exit(0));
    }

    /// Runs one step. Returns false if it blocks (it is then back at the queue head).
    fn run_step(&mut self, step: Step) -> bool {
        match step {
            Step::Open(d) => self.obligation(step, Action::OpenDir { dir: d }),
            Step::ReadConfig(d) => self.obligation(step, Action::ReadConfig { dir: d }),
            Step::StatCurrent(d) => self.obligation(step, Action::StatCurrent { dir: d }),
            Step::Recover(d, name) => self.obligation(step, Action::RenameCurrent { dir: d, to: name }),
            Step::Cleanup(d, _) | Step::DiskFull(d) => self.obligation(step, Action::ScanDir { dir: d }),
            Step::DeleteOldest(d, name) => {
                let n = self.dirs[d].name.clone();
                self.info(&[b"delete: ", &n, b"/", &name]);
                self.obligation(step, Action::Unlink { dir: d, name })
            }
            Step::UnlinkLeftover(d, name) | Step::DiskFullUnlink(d, name) => self.obligation(step, Action::Unlink { dir: d, name }),
            Step::ProcFailedUnlink(d, name) => self.obligation(step, Action::Unlink { dir: d, name: suffixed(name, b't') }),
            Step::OpenCurrent(d, _) => self.obligation(step, Action::OpenCurrent { dir: d }),
            Step::ChmodCurrent(d, mode) => self.obligation(step, Action::ChmodCurrent { dir: d, mode }),
            Step::Opened(d, append) => {
                self.dirs[d].open = true;
                let name = self.dirs[d].name.clone();
                self.info(&[if append { b"append: " } else { b"new: " }, &name, b"/current"]);
            }
            Step::CheckAnyOpen => {
                if !self.dirs.iter().any(|d| d.open) {
                    self.stderr(diag::fatalx("no functional log directories."));
                    self.queue.clear();
                    self.queue.push_front(Step::Exit(111));
                }
            }
            Step::Write(d) => {
                if !self.dirs[d].batch.is_empty() {
                    let bytes = core::mem::take(&mut self.dirs[d].batch);
                    self.obligation(step, Action::Write { dir: d, bytes });
                }
            }
            Step::Rotate(d) => {
                if !self.dirs[d].open {
                    self.dirs[d].deadline = None;
                    self.dirs[d].cfg.t_max = 0;
                } else {
                    self.queue.push_front(Step::RotateNamed(d));
                    self.queue.push_front(Step::AwaitProcessor(d));
                    self.queue.push_front(Step::Write(d));
                }
            }
            Step::AwaitProcessor(d) => {
                if self.dirs[d].proc != Proc::Idle {
                    self.queue.push_front(step);
                    return false;
                }
            }
            Step::RotateNamed(d) => {
                let suffix = if self.dirs[d].cfg.processor.is_some() { b'u' } else { b's' };
                let name = self.next_name(d, suffix);
                let now = self.now.mono;
                let dir = &mut self.dirs[d];
                if dir.cfg.t_max > 0 && dir.deadline.is_some_and(|t| t <= now) {
                    dir.deadline = Some(now + Span::from_secs(dir.cfg.t_max));
                }
                if dir.size > 0 {
                    let mut seq = alloc::vec![
                        Step::Fsync(d),
                        Step::ChmodCurrent(d, 0o744),
                        Step::CloseCurrent(d, Some(name)),
                        Step::RenameCurrent(d, name),
                        Step::OpenCurrent(d, true),
                        Step::ChmodCurrent(d, 0o644),
                        Step::Cleanup(d, (suffix == b'u').then_some(name)),
                    ];
                    if dir.cfg.processor.is_some() {
                        seq.push(Step::StartProcessor(d, name));
                    }
                    for s in seq.into_iter().rev() {
                        self.queue.push_front(s);
                    }
                }
            }
            Step::Fsync(d) => self.obligation(step, Action::FsyncCurrent { dir: d }),
            Step::CloseCurrent(d, renamed) => {
                self.out.push_back(Action::CloseCurrent { dir: d });
                if let Some(name) = renamed {
                    let dname = self.dirs[d].name.clone();
                    let size = fmt_u64(self.dirs[d].size);
                    self.info(&[b"rename: ", &dname, b"/current ", &name, b" ", &size]);
                }
            }
            Step::RenameCurrent(d, name) => self.obligation(step, Action::RenameCurrent { dir: d, to: name }),
            Step::StartProcessor(d, name) => match self.dirs[d].cfg.processor.clone() {
                None => self.dirs[d].proc = Proc::Idle,
                Some(command) => {
                    if matches!(self.dirs[d].proc, Proc::Running { .. }) {
                        let n = self.dirs[d].name.clone();
                        self.stderr(diag::warnx("processor already running", &n));
                    } else {
                        let dname = self.dirs[d].name.clone();
                        self.info(&[b"processing: ", &dname, b"/", &name]);
                        self.obligation(step, Action::StartProcessor { dir: d, input: name, command });
                    }
                }
            },
            Step::Carry(d) => {
                let segs = core::mem::take(&mut self.dirs[d].carry);
                for (b, unit_end) in segs {
                    self.put(d, &b, unit_end);
                }
            }
            Step::ProcRenameT(d, name) => {
                self.obligation(step, Action::RenameFile { dir: d, from: suffixed(name, b't'), to: suffixed(name, b's') })
            }
            Step::ProcChmodS(d, name) => self.obligation(step, Action::ChmodFile { dir: d, name: suffixed(name, b's'), mode: 0o744 }),
            Step::ProcUnlinkU(d, name) => self.obligation(step, Action::Unlink { dir: d, name: suffixed(name, b'u') }),
            Step::ProcRenameState(d, _) => self.obligation(step, Action::RenameState { dir: d }),
            Step::Close(d) => {
                if self.dirs[d].open {
                    let n = self.dirs[d].name.clone();
                    self.info(&[b"close: ", &n]);
                    for s in [Step::Write(d), Step::Fsync(d), Step::ChmodCurrent(d, 0o744), Step::CloseDir(d)].into_iter().rev() {
                        self.queue.push_front(s);
                    }
                }
            }
            Step::CloseDir(d) => {
                self.out.push_back(Action::CloseDir { dir: d });
                self.dirs[d].open = false;
                self.dirs[d].cfg.processor = None;
            }
            Step::Udp(d, ref dgram) => {
                let udp = self.dirs[d].cfg.udp;
                let bytes = dgram.clone();
                self.obligation(step, Action::SendUdp { udp, bytes });
            }
            Step::Exit(code) => {
                self.out.push_back(Action::Exit(code));
                self.queue.clear();
                self.done = true;
            }
        }
        true
    }

    /// Drives queued work, input processing and the idle decisions until an obligation
    /// is outstanding, a pause or block is in effect, or a read is armed.
    fn pump(&mut self) {
        loop {
            if self.done || self.awaiting.is_some() || self.paused_until.is_some() {
                return;
            }
            if (!self.queue.is_empty() || self.udp_line.is_some() || self.has_input()) && self.armed {
                self.armed = false;
                self.out.push_back(Action::DisarmRead);
            }
            if let Some(step) = self.queue.pop_front() {
                if !self.run_step(step) {
                    return;
                }
                continue;
            }
            if let Some(u) = &mut self.udp_line {
                match u.sends.pop_front() {
                    Some((d, dgram)) => self.run_step(Step::Udp(d, dgram)),
                    None => {
                        self.finish_udp_line();
                        true
                    }
                };
                continue;
            }
            if self.has_input() {
                self.process_input();
                continue;
            }
            if !self.idle() {
                continue;
            }
            return;
        }
    }

    /// runit's "about to read" decisions (its `buffer_pread`). Returns true when
    /// nothing more is to be done until an input arrives.
    fn idle(&mut self) -> bool {
        if !self.started || self.shutting_down {
            return true;
        }
        let mut queued = false;
        for d in 0..self.dirs.len() {
            if self.dirs[d].open && !self.dirs[d].batch.is_empty() {
                self.queue.push_back(Step::Write(d));
                queued = true;
            }
        }
        if queued {
            return false;
        }
        if self.rotate_asap {
            self.rotate_asap = false;
            for d in 0..self.dirs.len() {
                self.queue.push_back(Step::Rotate(d));
            }
            return false;
        }
        let line_complete = !self.collecting && !self.in_rest;
        if self.eof || (self.exit_asap && line_complete) {
            self.start_shutdown();
            return false;
        }
        if self.reopen_asap {
            self.reopen_asap = false;
            for d in 0..self.dirs.len() {
                self.queue.push_back(Step::Close(d));
                self.queue.push_back(Step::Open(d));
            }
            self.queue.push_back(Step::CheckAnyOpen);
            return false;
        }
        let now = self.now.mono;
        for d in 0..self.dirs.len() {
            let dir = &self.dirs[d];
            if dir.open && dir.cfg.t_max > 0 && dir.deadline.is_some_and(|t| t <= now) {
                self.queue.push_back(Step::Rotate(d));
                queued = true;
            }
        }
        if queued {
            return false;
        }
        let max = if self.exit_asap { 1 } else { READ_SIZE };
        if !self.armed || self.armed_max != max {
            self.armed = true;
            self.armed_max = max;
            self.out.push_back(Action::ArmRead { max });
        }
        true
    }

    // ---- replies --------------------------------------------------------------------

    fn on_reply(&mut self, step: Step, input: Input) {
        match (step, input) {
            (Step::Open(d), Input::DirOpened(r)) => match r {
                Err((what, e)) => {
                    let n = self.dirs[d].name.clone();
                    if what != OpenStep::Open {
                        self.info(&[b"close: ", &n]);
                    }
                    let msg = match what {
                        OpenStep::Open => "unable to open log directory",
                        OpenStep::Chdir => "unable to change directory",
                        OpenStep::Lock => "unable to lock directory",
                    };
                    self.stderr(diag::warn2(msg, &n, e));
                }
                Ok(max) => {
                    let dir = &mut self.dirs[d];
                    dir.cfg = Config::default();
                    dir.instr.clear();
                    dir.has_plus = false;
                    dir.size = 0;
                    dir.sel = true;
                    dir.deadline = None;
                    if let Some(m) = max {
                        if m > dir.last_name {
                            dir.last_name = m;
                        }
                    }
                    self.queue.push_front(Step::ReadConfig(d));
                }
            },
            (Step::ReadConfig(d), Input::ConfigRead(r)) => {
                let n = self.dirs[d].name.clone();
                match r {
                    Err(e) => self.stderr(diag::warn2("unable to read config", &n, e)),
                    Ok(None) => {}
                    Ok(Some(bytes)) => {
                        self.info(&[b"read: ", &n, b"/config"]);
                        let mut warnings = Vec::new();
                        config::parse_into(&bytes, &mut self.dirs[d].cfg, &mut warnings);
                        for w in warnings {
                            let line = match w {
                                ConfigWarning::BadAddress(v) => diag::warnx("unable to scan ip address", &v),
                                ConfigWarning::BadPort(v) => diag::warnx("unable to scan port number", &v),
                            };
                            self.stderr(line);
                        }
                        let t = self.dirs[d].cfg.t_max;
                        self.dirs[d].deadline = (t > 0).then(|| self.now.mono + Span::from_secs(t));
                        let dir = &mut self.dirs[d];
                        dir.instr = config::instructions(&dir.cfg.inst);
                        dir.has_plus = dir.cfg.inst.contains(&b'+');
                    }
                }
                self.queue.push_front(Step::StatCurrent(d));
            }
            (Step::StatCurrent(d), Input::CurrentStat(r)) => match r {
                Err(e) => {
                    let n = self.dirs[d].name.clone();
                    self.info(&[b"close: ", &n]);
                    self.out.push_back(Action::CloseDir { dir: d });
                    self.stderr(diag::warn2("unable to stat current", &n, e));
                }
                Ok(Some((size, owner_x))) if size > 0 && !owner_x => {
                    let name = self.next_name(d, b'u');
                    for s in [Step::Recover(d, name), Step::Cleanup(d, Some(name)), Step::OpenCurrent(d, false), Step::ChmodCurrent(d, 0o644), Step::Opened(d, false)]
                        .into_iter()
                        .rev()
                    {
                        self.queue.push_front(s);
                    }
                }
                Ok(found) => {
                    let append = found.is_some();
                    self.dirs[d].size = found.map_or(0, |f| f.0);
                    for s in [Step::OpenCurrent(d, false), Step::ChmodCurrent(d, 0o644), Step::Opened(d, append)].into_iter().rev() {
                        self.queue.push_front(s);
                    }
                }
            },
            (step @ Step::Recover(..), Input::Done(Err(e))) | (step @ Step::RenameCurrent(..), Input::Done(Err(e))) => {
                let n = self.dirs[step_dir(&step)].name.clone();
                self.pause(diag::pause2("unable to rename current", &n, e), Some(step));
            }
            (Step::RenameCurrent(d, _), Input::Done(Ok(()))) => self.dirs[d].size = 0,
            (Step::Recover(..), Input::Done(Ok(()))) => {}
            (step @ Step::Cleanup(d, exclude), Input::Scanned(r)) => match r {
                Err(e) => {
                    let n = self.dirs[d].name.clone();
                    self.pause(diag::pause2("unable to open directory, want rotate", &n, e), Some(step));
                }
                Ok(names) => self.cleanup(d, &names, exclude),
            },
            (Step::UnlinkLeftover(_, name), Input::Done(r)) => {
                if let Err(e) = r {
                    self.stderr(diag::warn2("unable to unlink processor leftover", &name, e));
                }
            }
            (Step::DeleteOldest(d, _), Input::Done(r)) => {
                if let Err(e) = r {
                    let n = self.dirs[d].name.clone();
                    self.stderr(diag::warn2("unable to unlink oldest logfile", &n, e));
                }
            }
            (step @ Step::OpenCurrent(d, new), Input::Done(Err(e))) => {
                let n = self.dirs[d].name.clone();
                let msg = if new { "unable to create new current" } else { "unable to open current" };
                self.pause(diag::pause2(msg, &n, e), Some(step));
            }
            (Step::OpenCurrent(..), Input::Done(Ok(()))) => {}
            (step @ Step::ChmodCurrent(d, _), Input::Done(Err(e))) => {
                let n = self.dirs[d].name.clone();
                self.pause(diag::pause2("unable to set mode of current", &n, e), Some(step));
            }
            (Step::ChmodCurrent(..), Input::Done(Ok(()))) => {}
            (step @ Step::Fsync(d), Input::Done(Err(e))) => {
                let n = self.dirs[d].name.clone();
                self.pause(diag::pause2("unable to fsync current logfile", &n, e), Some(step));
            }
            (Step::Fsync(..), Input::Done(Ok(()))) => {}
            (Step::Write(d), Input::Wrote { result, written, mut buf }) => match result {
                Ok(()) => {
                    buf.clear();
                    if self.dirs[d].batch.is_empty() {
                        self.dirs[d].batch = buf;
                    }
                }
                Err(e) => {
                    buf.drain(..written.min(buf.len()));
                    let later = core::mem::take(&mut self.dirs[d].batch);
                    buf.extend_from_slice(&later);
                    self.dirs[d].batch = buf;
                    let cfg = &self.dirs[d].cfg;
                    if e == Errno::ENOSPC && cfg.n_min < cfg.n_max {
                        self.queue.push_front(Step::Write(d));
                        self.queue.push_front(Step::DiskFull(d));
                    } else {
                        let n = self.dirs[d].name.clone();
                        self.pause(diag::pause2("unable to write to current", &n, e), Some(Step::Write(d)));
                    }
                }
            },
            (step @ Step::DiskFull(d), Input::Scanned(r)) => {
                let n = self.dirs[d].name.clone();
                match r {
                    Err(e) => self.pause(diag::pause2("unable to open directory, want remove old logfile", &n, e), Some(step)),
                    Ok(names) => {
                        let protected = self.protected(d);
                        let oldest = names.iter().filter(|x| Some(**x) != protected).min().copied();
                        match oldest {
                            Some(o) if names.len() as u64 > self.dirs[d].cfg.n_min => {
                                let mut l = b"svlogd: warning: out of disk space, delete: ".to_vec();
                                l.extend_from_slice(&n);
                                l.push(b'/');
                                l.extend_from_slice(&o);
                                l.push(b'\n');
                                self.stderr(l);
                                self.queue.push_front(Step::DiskFullUnlink(d, o));
                            }
                            _ => self.pause(diag::pause2("unable to write to current", &n, Errno::ENOSPC), None),
                        }
                    }
                }
            }
            (Step::DiskFullUnlink(d, _), Input::Done(r)) => {
                if let Err(e) = r {
                    let n = self.dirs[d].name.clone();
                    self.stderr(diag::warn2("unable to unlink oldest logfile", &n, e));
                    self.pause(diag::pause2("unable to write to current", &n, Errno::ENOSPC), None);
                }
            }
            (step @ Step::StartProcessor(d, name), Input::Spawned(r)) => match r {
                Ok(pid) => self.dirs[d].proc = Proc::Running { pid, name },
                Err(e) => {
                    let n = self.dirs[d].name.clone();
                    self.pause(diag::pause2("unable to fork for processor", &n, e), Some(step));
                }
            },
            (Step::ProcFailedUnlink(d, name), Input::Done(_)) => {
                self.dirs[d].proc = Proc::RestartAt { name, at: self.now.mono + PAUSE };
            }
            (step @ Step::ProcRenameT(d, _), Input::Done(Err(e))) => {
                let n = self.dirs[d].name.clone();
                self.pause(diag::pause2("unable to rename processed", &n, e), Some(step));
            }
            (step @ Step::ProcChmodS(d, _), Input::Done(Err(e))) => {
                let n = self.dirs[d].name.clone();
                self.pause(diag::pause2("unable to set mode of processed", &n, e), Some(step));
            }
            (Step::ProcRenameT(..), Input::Done(Ok(()))) | (Step::ProcChmodS(..), Input::Done(Ok(()))) => {}
            (Step::ProcUnlinkU(d, name), Input::Done(r)) => {
                if r.is_err() {
                    let n = self.dirs[d].name.clone();
                    let mut l = b"svlogd: warning: unable to unlink: ".to_vec();
                    l.extend_from_slice(&n);
                    l.push(b'/');
                    l.extend_from_slice(&suffixed(name, b'u'));
                    l.push(b'\n');
                    self.stderr(l);
                }
            }
            (step @ Step::ProcRenameState(d, name), Input::Done(r)) => match r {
                Err(e) => {
                    let n = self.dirs[d].name.clone();
                    self.pause(diag::pause2("unable to rename state", &n, e), Some(step));
                }
                Ok(()) => {
                    let n = self.dirs[d].name.clone();
                    self.info(&[b"processed: ", &n, b"/", &suffixed(name, b's')]);
                    self.dirs[d].proc = Proc::Idle;
                }
            },
            (Step::Udp(d, dgram), Input::UdpSent(outcome)) => {
                if let Some(u) = &mut self.udp_line {
                    u.outcomes.push((d, outcome, dgram));
                }
            }
            (step, input) => {
                // A reply that does not belong to the step: a runtime bug. Keep going.
                debug_assert!(false, "unexpected reply {input:?} to {step:?}");
            }
        }
    }

    /// runit's `rmoldest`: unlink processor leftovers (`.t`), count `.s`/`.u`, delete
    /// the oldest when more than `n`. `exclude` is the `.u` just made for the processor
    /// (or recovered at start-up): as Debian's svlogd does, it is neither counted nor
    /// deletable; a `.u` whose processor is still busy is never deleted either.
    fn cleanup(&mut self, d: usize, names: &[LogName], exclude: Option<LogName>) {
        let protected = self.protected(d);
        let mut count = 0u64;
        let mut oldest: Option<LogName> = None;
        let mut steps = Vec::new();
        for n in names {
            if let Some(t) = name_time(n) {
                if t > self.dirs[d].last_name {
                    self.dirs[d].last_name = t;
                }
            }
            if n[26] == b't' {
                steps.push(Step::UnlinkLeftover(d, *n));
            } else if Some(*n) == exclude {
                continue;
            } else {
                count += 1;
                if Some(*n) != protected && !oldest.is_some_and(|o| *n >= o) {
                    oldest = Some(*n);
                }
            }
        }
        let n_max = self.dirs[d].cfg.n_max;
        if n_max > 0 && count > n_max {
            if let Some(o) = oldest {
                steps.push(Step::DeleteOldest(d, o));
            }
        }
        for s in steps.into_iter().rev() {
            self.queue.push_front(s);
        }
    }

    fn on_child_exit(&mut self, pid: i32, status: i32) {
        let Some(d) = self.dirs.iter().position(|x| matches!(x.proc, Proc::Running { pid: p, .. } if p == pid)) else {
            return;
        };
        let Some(name) = self.dirs[d].proc.name() else { return };
        if !self.dirs[d].open {
            self.dirs[d].proc = Proc::Idle;
            return;
        }
        // runit looks only at the exit code, so a processor killed by a signal counts as
        // a success and its partial output replaces the log; we count it as a failure.
        let failed = status & 0x7f != 0 || (status >> 8) & 0xff != 0;
        if failed {
            let n = self.dirs[d].name.clone();
            self.stderr(diag::warnx("processor failed, restart", &n));
            self.dirs[d].proc = Proc::Finishing { name };
            self.queue.push_front(Step::ProcFailedUnlink(d, name));
        } else {
            self.dirs[d].proc = Proc::Finishing { name };
            for s in [Step::ProcRenameT(d, name), Step::ProcChmodS(d, name), Step::ProcUnlinkU(d, name), Step::ProcRenameState(d, name)]
                .into_iter()
                .rev()
            {
                self.queue.push_front(s);
            }
        }
    }

    fn on_tick(&mut self) {
        let now = self.now.mono;
        if self.paused_until.is_some_and(|t| t <= now) {
            self.paused_until = None;
        }
        for d in 0..self.dirs.len() {
            if let Proc::RestartAt { name, at } = self.dirs[d].proc {
                // Taken even while paused (the start then waits behind the pause), so a
                // past restart time never keeps the deadline in the past.
                if at <= now {
                    self.dirs[d].proc = Proc::Finishing { name };
                    self.queue.push_front(Step::StartProcessor(d, name));
                }
            }
        }
    }
}

fn step_dir(s: &Step) -> usize {
    match s {
        Step::Recover(d, _) | Step::RenameCurrent(d, _) => *d,
        _ => 0,
    }
}

fn fmt_u64(v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
    out
}

impl Machine for Logger {
    type Input = Input;
    type Action = Action;

    fn handle(&mut self, now: Now, input: Input) {
        self.now = now;
        if self.done {
            return;
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
